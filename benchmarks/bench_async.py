"""Async benchmarks: ``AsyncJob.info`` against raw ``httpx.AsyncClient``, async ``get_logs``
against the facade's own sync ``Job.get_logs``.

The info row gathers every call at once and relies on the session's ``max_in_flight=50``
to bound them, as a user's ``asyncio.gather`` would; the raw baseline bounds its calls
with an ``asyncio.Semaphore(50)`` and the same connection limits the session sets. The
logs row uses ``bench_api``'s sandbox setup and its sync child as the baseline.

Run ``python -m benchmarks.bench_async`` for the rows; ``run()`` gives them to
``python -m benchmarks``. Each client runs in its own process (``_child``); the two sides
of a row take turns, run by run, so that other load on the machine slows both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import httpx

from benchmarks._child import Measurement, measure, python_child, report
from benchmarks.bench_api import DEFAULT_INFO_CALLS, DEFAULT_LATENCY, DEFAULT_TASKS

__all__ = ["run"]

# The figure of AsyncUp42's default max_in_flight (Planet's MAX_ACTIVE against its live API).
IN_FLIGHT = 50

MODES = {"info-async-httpx", "info-async-facade", "logs-async-facade"}


async def _raw_info(base_url: str, project_id: str, key: str, job_id: str, calls: int) -> float:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
        answer = await client.post(
            "/oauth/token",
            auth=(project_id, key),
            data={"grant_type": "client_credentials"},
        )
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        job_path = f"/projects/{project_id}/jobs/{job_id}"
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def info() -> object:
            async with slots:
                response = await client.get(job_path)
            return response.raise_for_status().json()["data"]

        start = time.perf_counter()
        answers = await asyncio.gather(*(info() for _ in range(calls)))
        seconds = time.perf_counter() - start
    assert len(answers) == calls
    return seconds


async def _facade(
    mode: str, base_url: str, project_id: str, key: str, job_id: str, calls: int
) -> float:
    import up42_facade

    async with up42_facade.AsyncUp42(
        project_id=project_id, project_api_key=key, base_url=base_url, max_in_flight=IN_FLIGHT
    ) as session:
        job = await session.initialize_job(job_id)
        start = time.perf_counter()
        if mode == "logs-async-facade":
            logs = await job.get_logs(as_print=False, as_return=True)
            assert logs
        else:
            infos = await asyncio.gather(*(job.info() for _ in range(calls)))
            assert len(infos) == calls
        return time.perf_counter() - start


def _child(mode: str, base_url: str, project_id: str, key: str, job_id: str, calls: int) -> None:
    if mode == "info-async-httpx":
        seconds = asyncio.run(_raw_info(base_url, project_id, key, job_id, calls))
    else:
        seconds = asyncio.run(_facade(mode, base_url, project_id, key, job_id, calls))
    report(seconds)


def run(
    tasks: int = DEFAULT_TASKS,
    latency: float = DEFAULT_LATENCY,
    info_calls: int = DEFAULT_INFO_CALLS,
    runs: int = 3,
) -> list[dict[str, object]]:
    """Measure both comparisons against one sandbox; return the table rows."""
    from up42_sandbox import Sandbox

    rows: list[dict[str, object]] = []
    # bench_api's setup, so the sync and async rows of the table measure the same job.
    with Sandbox(speed=1000.0) as sandbox:
        job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=tasks, features=1)
        args = [sandbox.base_url, sandbox.project_id, sandbox.project_api_key, job_id]

        def client(mode: str, calls: int = 0) -> list[str]:
            module = "benchmarks.bench_async" if mode in MODES else "benchmarks.bench_api"
            return python_child(module, mode, *args, str(calls))

        sandbox.inject("delay", count=None, path="/logs", seconds=latency)
        baseline, ours = _alternating(client("logs-facade"), client("logs-async-facade"), runs)
        sandbox.clear_faults()
        rows.append(
            _row(
                f"async get_logs of {tasks} tasks, {latency * 1000:.0f} ms each",
                "sync Job.get_logs (this facade)",
                baseline,
                ours,
                goal="ratio <= 1.0 (sync get_logs)",
            )
        )
        baseline, ours = _alternating(
            client("info-async-httpx", info_calls), client("info-async-facade", info_calls), runs
        )
        rows.append(
            _row(
                f"{info_calls:,} await job.info() with {IN_FLIGHT} in flight",
                f"raw httpx.AsyncClient, {IN_FLIGHT} in flight",
                baseline,
                ours,
                goal="ratio <= 1.3",
            )
        )
    return rows


def _alternating(
    baseline: list[str], ours: list[str], runs: int
) -> tuple[Measurement, Measurement]:
    """Both sides measured in turns, so a busy spell of the machine falls on both alike."""
    pairs = [(measure(baseline, 1), measure(ours, 1)) for _ in range(runs)]

    def merged(side: list[Measurement]) -> Measurement:
        times = [m.seconds for m in side]
        return Measurement(statistics.median(times), max(m.rss_mb for m in side), times)

    return merged([pair[0] for pair in pairs]), merged([pair[1] for pair in pairs])


def _row(
    what: str, baseline_name: str, baseline: Measurement, ours: Measurement, *, goal: str
) -> dict[str, object]:
    return {
        "what": what,
        "baseline": baseline_name,
        "baseline_s": baseline.seconds,
        "ours_s": ours.seconds,
        "ratio": ours.seconds / baseline.seconds,
        "ratio_kind": "time ratio",
        "goal": goal,
        "baseline_rss_mb": baseline.rss_mb,
        "ours_rss_mb": ours.rss_mb,
        "baseline_runs_s": baseline.runs,
        "ours_runs_s": ours.runs,
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] in MODES:
        mode, base_url, project_id, key, job_id, calls = argv
        _child(mode, base_url, project_id, key, job_id, int(calls))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    for row in run(runs=options.runs):
        print(row)


if __name__ == "__main__":
    main(sys.argv[1:])
