"""``up42-facade jobs``: many jobs at once (list, track, download), with a live summary.

Tracking and downloading go through ``JobCollection``, so the session's rate budget and
``Retry-After`` pauses hold for every job together. Exit codes are the ``job`` commands'.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ._cli_common import (
    EPILOG,
    EXIT_JOB_FAILED,
    AsJson,
    BaseUrl,
    Config,
    LiveLine,
    command,
    fail,
    out,
    print_json,
    shows_progress,
)
from ._collection_rules import Summary
from ._status import TERMINAL_STATUSES, JobStatus

if TYPE_CHECKING:
    from ._jobcollection import JobCollection
    from ._up42 import Up42

__all__ = ["jobs_app"]

jobs_app = typer.Typer(
    help="List, track and download many jobs at once.", epilog=EPILOG, no_args_is_help=True
)

JobIds = Annotated[list[str] | None, typer.Argument(help="Job ids (UUIDs).", show_default=False)]
PollInterval = Annotated[float, typer.Option(help="Seconds between polls.", min=0.01)]
MaxRate = Annotated[
    float | None,
    typer.Option("--max-rate", help="Requests per second at most, all jobs together.", min=0.01),
]


def _session(config: Path | None, base_url: str | None, max_rate: float | None = None) -> Up42:
    from ._up42 import authenticate

    return authenticate(cfg_file=config, base_url=base_url, max_requests_per_second=max_rate)


def _collection(session: Up42, job_ids: list[str]) -> JobCollection:
    from ._session_base import check_uuid

    for job_id in job_ids:
        check_uuid(job_id, "job_id")  # before any request
    return session.initialize_jobcollection(job_ids)


@jobs_app.command("list")
def list_jobs(
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    limit: Annotated[int, typer.Option(help="At most this many jobs, newest first.", min=1)] = 100,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only jobs in this status (repeatable).", show_default=False),
    ] = None,
) -> None:
    """List the project's jobs, newest first."""

    def body() -> None:
        infos = _session(config, base_url).get_jobs(return_json=True, limit=limit)
        assert isinstance(infos, list)
        if status:
            wanted = {str(JobStatus.parse(s)) for s in status}
            infos = [job for job in infos if str(JobStatus.parse(str(job["status"]))) in wanted]
        if as_json:
            print_json(infos)
            return
        table = Table(title=f"{len(infos)} jobs")
        for column in ("id", "name", "status", "mode", "created"):
            table.add_column(column, overflow="fold")
        for job in infos:
            table.add_row(
                str(job["id"]),
                str(job.get("name") or ""),
                str(job["status"]),
                str(job.get("mode") or ""),
                str(job.get("createdAt") or ""),
            )
        out.print(table)

    command(body)


@jobs_app.command()
def track(
    job_ids: JobIds = None,
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    all_running: Annotated[
        bool, typer.Option("--all-running", help="Track every job of the project not ended yet.")
    ] = False,
    poll_interval: PollInterval = 5.0,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    max_rate: MaxRate = None,
) -> None:
    """Follow jobs until each has ended; exit 3 if any failed or was cancelled."""

    def body() -> None:
        if not job_ids and not all_running:
            fail(2, "name the jobs to track, or pass --all-running")
        session = _session(config, base_url, max_rate)
        ids = list(job_ids or [])
        if all_running:
            infos = session.get_jobs(return_json=True, limit=10_000)
            assert isinstance(infos, list)
            ids += [str(j["id"]) for j in infos if j["status"] not in TERMINAL_STATUSES]
        if not ids:
            out.print("no jobs to track")
            return
        jobs = _collection(session, list(dict.fromkeys(ids)))
        with LiveLine(shows_progress(as_json)) as live:
            final = jobs.track_status(
                poll_interval=poll_interval,
                timeout=timeout,
                callback=lambda statuses: live.show(str(Summary.of(statuses.values()))),
            )
            elapsed = time.monotonic() - live.started
        summary = Summary.of(final.values())
        if as_json:
            print_json(
                {"statuses": final, "summary": vars(summary), "elapsed_s": round(elapsed, 2)}
            )
        else:
            for job_id, final_status in final.items():
                out.print(f"{job_id}  {final_status}", highlight=False)
            out.print(f"{summary} after {elapsed:.0f} s")
        if summary.failed:
            fail(EXIT_JOB_FAILED, f"{summary.failed} of {len(final)} jobs failed or were cancelled")

    command(body)


@jobs_app.command()
def download(
    job_ids: JobIds = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write into (job_<id>/ each).")
    ] = Path(),
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    merge: Annotated[bool, typer.Option(help="Write one data.json of all features.")] = True,
    unpack: Annotated[bool, typer.Option(help="Unpack each archive.")] = True,
    max_rate: MaxRate = None,
) -> None:
    """Download (and unpack) the results of succeeded jobs side by side, each into job_<id>/."""

    def body() -> None:
        if not job_ids:
            fail(2, "name the jobs to download")
        jobs = _collection(_session(config, base_url, max_rate), list(dict.fromkeys(job_ids)))
        with LiveLine(shows_progress(as_json)) as live:
            done: list[str] = []

            def finished(job_id: str, files: list[str]) -> None:
                done.append(job_id)
                live.show(str(Summary(len(done), len(jobs) - len(done), 0)))

            paths = jobs.download_results(output, merge=merge, unpacking=unpack, callback=finished)
        if as_json:
            print_json(paths)
            return
        for job_id, files in paths.items():
            out.print(f"{job_id}: {len(files)} files", highlight=False)
        skipped = len(jobs) - len(done)
        out.print(f"{len(done)} downloaded" + (f", {skipped} not succeeded" if skipped else ""))

    command(body)
