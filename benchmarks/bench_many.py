"""Many jobs: ``JobCollection.download_results`` against the classic SDK's, and 500 jobs
tracked to the end under a standing rate limit.

Row 1: 50 finished jobs with small archives, 30 ms of API latency on every call; ours is
``get_jobs(limit=50).download_results(...)`` in a child process, the baseline the classic SDK
(up42-py 0.33.1, ``Project.get_jobs`` + ``JobCollection.download_results``) in its own
interpreter (``bench_classic.peer_python`` installs it when missing).

Row 2: 500 jobs that end together, a sandbox limited to 20 requests a second, a session with
``max_requests_per_second=20``: ``get_jobs(limit=500)`` then ``track_status``. The baseline is
the lower bound the limit allows from the moment tracking starts: the last job's end, plus
one request at the limit to see it (1/20 s). The row also counts the 429s the sandbox sent
against the requests it received. For the choice of how to poll: a round of one call per
job is 500 calls, 25 s at the limit, against 25 pages of the listing, 1.25 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._child import Measurement, gnu_time, python_child, report, run_once

__all__ = ["run"]

COLLECTION_JOBS = 50
LATENCY = 0.03
TRACKED_JOBS = 500
RATE = 20.0
PAGE_SIZE = 20
#: Sandbox seconds before a job ends: NOT STARTED 1 + PENDING 1 + RUNNING this.
RUN_SECONDS = 6.0
#: Rounds of track_status a second apart at most, as a user would poll hundreds of jobs.
POLL_INTERVAL = 0.5

CLASSIC_CHILD = """
import json, os, sys, time
base_url, project_id, key, limit, folder = sys.argv[1:]
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
from up42.auth import Auth
from up42.project import Project
Auth._endpoint = lambda self: base_url
auth = Auth(project_id=project_id, project_api_key=key, authenticate=False)
auth._set_credentials({"project_id": project_id, "project_api_key": key})
auth._get_token()
# Project() fetches the project's info, which the sandbox does not serve; get_jobs needs
# only these two attributes, set as Project.__init__ sets them.
project = object.__new__(Project)
project.auth, project.project_id = auth, project_id
start = time.perf_counter()
jobs = project.get_jobs(limit=int(limit))
jobs.download_results(output_directory=folder)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def _ours_download(base_url: str, project_id: str, key: str, limit: str, folder: str) -> None:
    import up42_facade

    with up42_facade.Up42(project_id=project_id, project_api_key=key, base_url=base_url) as s:
        s.check_credentials()
        start = time.perf_counter()
        jobs = s.get_jobs(limit=int(limit))
        assert isinstance(jobs, up42_facade.JobCollection)
        paths = jobs.download_results(folder)
        assert len(paths) == int(limit) + 1
        report(time.perf_counter() - start)


def _ours_track(
    base_url: str, project_id: str, key: str, limit: str, ends_at: str, out: str
) -> None:
    import up42_facade

    with up42_facade.Up42(
        project_id=project_id,
        project_api_key=key,
        base_url=base_url,
        max_requests_per_second=RATE,
    ) as s:
        jobs = s.get_jobs(limit=int(limit))
        assert isinstance(jobs, up42_facade.JobCollection) and len(jobs) == int(limit)
        started_wall, start = time.time(), time.perf_counter()
        final = jobs.track_status(poll_interval=POLL_INTERVAL)
        seconds = time.perf_counter() - start
    assert set(final.values()) == {"SUCCEEDED"}
    lower = max(0.0, float(ends_at) - started_wall) + 1 / RATE
    Path(out).write_text(json.dumps({"seconds": seconds, "lower_bound": lower}))
    report(seconds)


def _download_row(runs: int, jobs: int, latency: float) -> dict[str, Any]:
    from benchmarks.bench_classic import peer_python
    from up42_sandbox import Sandbox

    with Sandbox(speed=1000.0) as sandbox, tempfile.TemporaryDirectory() as scratch:
        for _ in range(jobs):
            sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=1, features=2)
        sandbox.inject("delay", count=None, seconds=latency)
        common = [sandbox.base_url, sandbox.project_id, sandbox.project_api_key, str(jobs)]
        classic = [str(peer_python()), "-c", CLASSIC_CHILD, *common]
        ours = python_child("benchmarks.bench_many", "download", *common)
        baseline: list[float] = []
        mine: list[float] = []
        rss = [0.0, 0.0]
        timer = gnu_time()
        for run in range(runs):  # the two sides take turns
            for index, (command, times) in enumerate(((classic, baseline), (ours, mine))):
                folder = str(Path(scratch) / f"{index}-{run}")
                seconds, _, peak = run_once([*command, folder], None, timer)
                times.append(seconds)
                rss[index] = max(rss[index], peak)
    base = Measurement(statistics.median(baseline), rss[0], baseline)
    us = Measurement(statistics.median(mine), rss[1], mine)
    return {
        "what": f"JobCollection.download_results of {jobs} finished jobs, "
        f"{latency * 1000:.0f} ms API latency",
        "baseline": "classic SDK get_jobs + JobCollection.download_results",
        "baseline_s": base.seconds,
        "ours_s": us.seconds,
        "ratio": base.seconds / us.seconds,
        "ratio_kind": "speed-up",
        "baseline_rss_mb": base.rss_mb,
        "ours_rss_mb": us.rss_mb,
        "baseline_runs_s": baseline,
        "ours_runs_s": mine,
    }


def _track_row(runs: int, jobs: int, run_seconds: float) -> dict[str, Any]:
    from up42_sandbox import Sandbox

    seconds: list[float] = []
    lowers: list[float] = []
    sent = refused = 0
    rss = 0.0
    timer = gnu_time()
    speed = 1.0
    with Sandbox(speed=speed, rate_limit=RATE, page_size=PAGE_SIZE) as sandbox:
        for _ in range(runs):
            for _ in range(jobs):
                sandbox.create_job("succeeds", tasks=1, features=1, duration=run_seconds)
            ends_at = time.time() + (2.0 + run_seconds) / speed
            sandbox.requests.clear()
            before = sandbox.rate_limited
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                command = python_child(
                    "benchmarks.bench_many",
                    "track",
                    sandbox.base_url,
                    sandbox.project_id,
                    sandbox.project_api_key,
                    str(jobs),
                    repr(ends_at),
                    out.name,
                )
                _, _, peak = run_once(command, None, timer)
                result = json.loads(Path(out.name).read_text())
            seconds.append(result["seconds"])
            lowers.append(result["lower_bound"])
            sent += len(sandbox.requests.snapshot())
            refused += sandbox.rate_limited - before
            rss = max(rss, peak)
            sandbox.set_rate_limit(RATE)
    ours, lower = statistics.median(seconds), statistics.median(lowers)
    return {
        "what": f"{jobs} jobs tracked to the end at {RATE:.0f} requests/s "
        f"({refused} of {sent} requests answered 429)",
        "baseline": "the lower bound the limit allows",
        "baseline_s": lower,
        "ours_s": ours,
        "ratio": ours / lower,
        "ratio_kind": "time ratio",
        "refused_share": refused / max(sent, 1),
        "baseline_rss_mb": 0.0,
        "ours_rss_mb": rss,
        "baseline_runs_s": lowers,
        "ours_runs_s": seconds,
    }


def run(
    runs: int = 3,
    *,
    collection_jobs: int = COLLECTION_JOBS,
    latency: float = LATENCY,
    tracked_jobs: int = TRACKED_JOBS,
    run_seconds: float = RUN_SECONDS,
) -> list[dict[str, Any]]:
    """Both rows (the classic SDK is installed for the first when missing)."""
    return [
        _download_row(runs, collection_jobs, latency),
        _track_row(runs, tracked_jobs, run_seconds),
    ]


def main(argv: list[str]) -> None:
    if argv and argv[0] == "download":
        _ours_download(*argv[1:])
        return
    if argv and argv[0] == "track":
        _ours_track(*argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    for row in run(runs=options.runs):
        print({k: v for k, v in row.items() if not k.endswith("runs_s")})


if __name__ == "__main__":
    main(sys.argv[1:])
