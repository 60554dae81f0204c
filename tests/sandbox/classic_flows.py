"""The classic SDK's ``Job`` flows, run under the classic SDK's own interpreter (up42-py 0.33.1).

Started by ``test_classic_sdk.py`` with ``benchmarks.bench_classic.peer_python()``; it imports
nothing from this project (its interpreter has only up42-py and its dependencies).

Usage: ``python classic_flows.py BASE_URL PROJECT_ID PROJECT_API_KEY SPEED RESULTS``

1. Imports up42, prints ``ready`` and reads one JSON line from stdin: the job ids to use,
   ``{"done", "fresh", "fails", "running"}``. (The jobs are created only then, so that "fresh"
   is still on its way when ``track_status`` starts, however long the import took.)
2. Runs every flow of ``FLOWS`` in order, each on its own: a flow that raises is reported with
   its traceback and the others still run.
3. Writes ``{flow: {"result": ..., "error": null or a traceback}}`` to RESULTS as JSON.

Output directories not given to the SDK are relative to the working directory, as in the
classic SDK. Two things are set up around the SDK, nothing in it is changed:
``Auth._endpoint`` answers the sandbox's URL (the classic SDK knows only
``https://api.up42.<env>``), and the ``sleep`` of ``Job.track_status`` (five real seconds
between polls) is scaled by the sandbox's ``speed`` like everything else in the sandbox.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The classic Job's flows, in the order they run ("cancel_job" last: it ends a job).
FLOWS = (
    "info",
    "status_track_status",
    "get_jobtasks",
    "get_jobtasks_results_json",
    "get_results_json",
    "download_results",
    "download_quicklooks",
    "get_logs",
    "get_credits",
    "get_jobs",
    "jobcollection",
    "cancel_job",
)


def printed(call: Callable[[], Any]) -> tuple[Any, str]:
    """``call()``'s return value and what it printed to stdout (stdout is the handshake)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = call()
    return value, out.getvalue()


def raised(call: Callable[[], Any]) -> dict[str, str | None]:
    """The exception ``call()`` raised (type and message) and what it printed meanwhile."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            call()
    except Exception as exc:  # reported to the test, which checks the type
        return {"type": type(exc).__name__, "message": str(exc), "printed": out.getvalue()}
    return {"type": None, "message": None, "printed": out.getvalue()}


def flows(auth: Any, project_id: str, jobs: dict[str, str]) -> dict[str, Callable[[], Any]]:
    """Each flow as a call that returns what the test checks (JSON-serializable)."""
    from up42.job import Job

    def job(role: str) -> Any:
        return Job(auth, project_id, jobs[role])

    def info() -> Any:
        done = job("done")
        return {"info": done.info, "repr": repr(done), "job_id": done.job_id}

    def status_track_status() -> Any:
        done = job("done")
        fresh = job("fresh")
        return {
            "status": done.status,
            "is_succeeded": done.is_succeeded,
            "fresh_first": fresh._info["status"],
            "tracked": fresh.track_status(report_time=5),
            "failed": raised(job("fails").track_status),
        }

    def get_jobtasks() -> Any:
        tasks = job("done").get_jobtasks()
        return {
            "objects": [
                {"class": type(t).__name__, "jobtask_id": t.jobtask_id, "info": t.info}
                for t in tasks
            ],
            "json": job("done").get_jobtasks(return_json=True),
        }

    def get_jobtasks_results_json() -> Any:
        return job("done").get_jobtasks_results_json()

    def get_results_json() -> Any:
        done = job("done")
        frame = done.get_results_json(as_dataframe=True)
        return {
            "dict": done.get_results_json(),
            "default": done.get_results_json(False),
            # Read column by column: GeoDataFrame.to_json of the geopandas that up42-py 0.33.1
            # resolves today (0.13) breaks on numpy 2; the frame itself is fine.
            "frame": {
                "class": type(frame).__name__,
                "epsg": frame.crs.to_epsg(),
                "geometries": [shape.__geo_interface__ for shape in frame.geometry],
                "properties": json.loads(frame.drop(columns="geometry").to_json(orient="records")),
            },
        }

    def download_results() -> Any:
        done = job("done")
        unpacked = done.download_results(output_directory="results/unpacked")
        packed = done.download_results(output_directory=Path("results/packed"), unpacking=False)
        return {"unpacked": unpacked, "packed": packed, "results": done.results}

    def download_quicklooks() -> Any:
        done = job("done")
        paths = done.download_quicklooks()  # the default directory, under the working directory
        return {"paths": paths, "quicklooks": done.quicklooks}

    def get_logs() -> Any:
        done = job("done")
        returned = done.get_logs(as_print=False, as_return=True)
        default, shown = printed(done.get_logs)
        return {"returned": returned, "default": default, "printed": shown}

    def get_credits() -> Any:
        return job("done").get_credits()

    def get_jobs() -> Any:
        from up42.project import Project

        # Project() fetches the project's info, which the sandbox does not serve; get_jobs
        # needs only the two attributes Project.__init__ sets.
        project = object.__new__(Project)
        project.auth, project.project_id = auth, project_id
        collection = project.get_jobs(limit=3)
        return {
            "json_ids": [j["id"] for j in project.get_jobs(return_json=True)],
            "limited": [j.job_id for j in collection],
            "class": type(collection).__name__,
            "bad_sortby": raised(lambda: project.get_jobs(sortby="size")),
        }

    def jobcollection() -> Any:
        from up42.jobcollection import JobCollection

        collection = JobCollection(auth, project_id, [job("done"), job("fails")])
        paths = collection.download_results(output_directory="collection")
        merged = json.loads(Path(paths["merged_result"][0]).read_text())
        return {
            "info_keys": sorted(collection.info),
            "status": collection.status,
            "applied": collection.apply(lambda j: j.job_id),
            "paths": paths,
            "merged": merged,
            "iterated": [j.job_id for j in collection],
            "first": collection[0].job_id,
        }

    def cancel_job() -> Any:
        running = job("running")
        before = running.status
        returned = running.cancel_job()
        return {
            "before": before,
            "returned": returned,
            "after": running.status,
            "track": raised(running.track_status),
        }

    return {
        "info": info,
        "status_track_status": status_track_status,
        "get_jobtasks": get_jobtasks,
        "get_jobtasks_results_json": get_jobtasks_results_json,
        "get_results_json": get_results_json,
        "download_results": download_results,
        "download_quicklooks": download_quicklooks,
        "get_logs": get_logs,
        "get_credits": get_credits,
        "get_jobs": get_jobs,
        "jobcollection": jobcollection,
        "cancel_job": cancel_job,
    }


def main(base_url: str, project_id: str, key: str, speed: str, results: str) -> None:
    # The classic token flow refuses plain http unless told otherwise; the sandbox is on loopback.
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    import up42.job
    from up42.auth import Auth

    Auth._endpoint = lambda self: base_url  # type: ignore[method-assign]
    up42.job.sleep = lambda seconds: time.sleep(seconds / float(speed))  # type: ignore[attr-defined]
    auth = Auth(project_id=project_id, project_api_key=key, authenticate=False)
    auth._set_credentials({"project_id": project_id, "project_api_key": key})
    auth._get_token()

    print("ready", flush=True)
    jobs = json.loads(sys.stdin.readline())
    calls = flows(auth, project_id, jobs)
    assert tuple(calls) == FLOWS
    report: dict[str, dict[str, Any]] = {}
    for name in FLOWS:
        try:
            report[name] = {"result": calls[name](), "error": None}
        except Exception:  # every flow is reported, failing or not
            report[name] = {"result": None, "error": traceback.format_exc()}
    Path(results).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
