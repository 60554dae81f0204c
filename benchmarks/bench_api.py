"""API-call benchmarks: get_logs against sequential calls, job.info against raw httpx.

Run ``python -m benchmarks.bench_api`` for the table; ``run()`` gives the rows to
``python -m benchmarks``. Each client runs in its own process (``_child``).
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx

from benchmarks._child import measure, python_child, report

__all__ = ["run"]

# The figures: 100 tasks whose logs each take 30 ms to serve, 1,000 info calls.
DEFAULT_TASKS = 100
DEFAULT_LATENCY = 0.03
DEFAULT_INFO_CALLS = 1000


def _raw_client(base_url: str, project_id: str, key: str) -> httpx.Client:
    token = httpx.post(
        f"{base_url}/oauth/token",
        auth=(project_id, key),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


def _child(mode: str, base_url: str, project_id: str, key: str, job_id: str, calls: int) -> None:
    job_path = f"/projects/{project_id}/jobs/{job_id}"
    if mode.endswith("httpx") or mode == "logs-sequential":
        client = _raw_client(base_url, project_id, key)
        start = time.perf_counter()
        if mode == "logs-sequential":
            tasks = client.get(f"{job_path}/tasks/").json()["data"]
            logs = {t["id"]: client.get(f"{job_path}/tasks/{t['id']}/logs").text for t in tasks}
            assert len(logs) == len(tasks)
        else:
            for _ in range(calls):
                client.get(job_path).raise_for_status().json()["data"]
        report(time.perf_counter() - start)
        return
    import up42_facade

    session = up42_facade.authenticate(
        project_id=project_id, project_api_key=key, base_url=base_url
    )
    job = session.initialize_job(job_id)
    start = time.perf_counter()
    if mode == "logs-facade":
        logs = job.get_logs(as_print=False, as_return=True)
        assert logs
    else:
        for _ in range(calls):
            job.info  # noqa: B018 - the call is the measurement
    report(time.perf_counter() - start)


def run(
    tasks: int = DEFAULT_TASKS,
    latency: float = DEFAULT_LATENCY,
    info_calls: int = DEFAULT_INFO_CALLS,
    runs: int = 3,
) -> list[dict[str, object]]:
    """Measure both comparisons against one sandbox; return the table rows."""
    from up42_sandbox import Sandbox

    rows: list[dict[str, object]] = []
    with Sandbox(speed=1000.0) as sandbox:
        job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=tasks, features=1)
        args = [sandbox.base_url, sandbox.project_id, sandbox.project_api_key, job_id]

        def client(mode: str, calls: int = 0) -> list[str]:
            return python_child("benchmarks.bench_api", mode, *args, str(calls))

        sandbox.inject("delay", count=None, path="/logs", seconds=latency)
        baseline = measure(client("logs-sequential"), runs)
        ours = measure(client("logs-facade"), runs)
        sandbox.clear_faults()
        rows.append(
            _row(
                f"get_logs of {tasks} tasks, {latency * 1000:.0f} ms each",
                "sequential httpx calls",
                baseline,
                ours,
                goal=">= 10x faster",
                speedup=True,
            )
        )
        baseline = measure(client("info-httpx", info_calls), runs)
        ours = measure(client("info-facade", info_calls), runs)
        rows.append(
            _row(
                f"{info_calls:,} job.info calls",
                "raw httpx, same connection reuse",
                baseline,
                ours,
                goal="ratio <= 1.3",
            )
        )
    return rows


def _row(
    what: str,
    baseline_name: str,
    baseline: object,
    ours: object,
    *,
    goal: str,
    speedup: bool = False,
) -> dict[str, object]:
    from benchmarks._child import Measurement

    assert isinstance(baseline, Measurement) and isinstance(ours, Measurement)
    ratio = baseline.seconds / ours.seconds if speedup else ours.seconds / baseline.seconds
    return {
        "what": what,
        "baseline": baseline_name,
        "baseline_s": baseline.seconds,
        "ours_s": ours.seconds,
        "ratio": ratio,
        "ratio_kind": "speed-up" if speedup else "time ratio",
        "goal": goal,
        "baseline_rss_mb": baseline.rss_mb,
        "ours_rss_mb": ours.rss_mb,
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] in {"logs-sequential", "logs-facade", "info-httpx", "info-facade"}:
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
