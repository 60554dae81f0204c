"""``up42-facade``: the command line, a thin wrapper over the Python API.

Every command takes a job id, credentials from the environment or ``--config``,
and ``--json`` for machine-readable output. Failures print one line, never a
traceback, and exit with a code that says what went wrong (see ``EXIT_CODES``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ._archive_rules import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_TOTAL_SIZE
from ._cli_common import (
    EPILOG,
    EXIT_CODES,
    AsJson,
    BaseUrl,
    Config,
    JobId,
    LiveLine,
    MaxAttempts,
    Output,
    Timeout,
    command,
    err,
    out,
    print_json,
    report_files,
    shows_progress,
)
from ._cli_jobs import jobs_app
from ._options import DEFAULT_MAX_CONNECTIONS, MAX_CONNECTIONS_LIMIT

if TYPE_CHECKING:
    from ._job import Job

__all__ = ["EXIT_CODES", "app", "main"]

# Exit codes: documented in --help and in the README; scripts rely on them.
app = typer.Typer(
    name="up42-facade",
    help="Work with UP42 processing jobs from the command line.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
job_app = typer.Typer(
    help="Inspect, track, download and cancel one job.", epilog=EPILOG, no_args_is_help=True
)
app.add_typer(job_app, name="job")
app.add_typer(jobs_app, name="jobs")


def _open_job(job_id: str, config: Path | None, base_url: str | None) -> Job:
    from ._session import check_uuid
    from ._up42 import authenticate

    check_uuid(job_id, "job_id")  # before any request, even the token
    session = authenticate(cfg_file=config, base_url=base_url)
    return session.initialize_job(job_id)


@job_app.command()
def info(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Show the job's metadata."""

    def body() -> None:
        data = _open_job(job_id, config, base_url).info
        if as_json:
            print_json(data)
            return
        table = Table(show_header=False, box=None)
        for key in (
            "name",
            "id",
            "status",
            "mode",
            "workflowName",
            "createdAt",
            "startedAt",
            "finishedAt",
        ):
            table.add_row(f"[bold]{key}[/]", str(data.get(key)))
        out.print(table)

    command(body)


@job_app.command()
def status(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Print the job's current status."""

    def body() -> None:
        current = str(_open_job(job_id, config, base_url).info["status"])
        print_json({"job_id": job_id, "status": current}) if as_json else out.print(current)

    command(body)


@job_app.command()
def track(
    job_id: JobId,
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls.", min=0.01)] = 5.0,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
) -> None:
    """Follow the job until it ends; exit 3 if it fails or is cancelled."""

    def body() -> None:
        job = _open_job(job_id, config, base_url)
        with LiveLine(shows_progress(as_json)) as live:
            final = job.track_status(
                report_time=float("inf"),
                poll_interval=poll_interval,
                timeout=timeout,
                callback=live.show,
                print_logs=not as_json,  # stdout holds only the JSON document
            )
        elapsed = time.monotonic() - live.started
        if as_json:
            print_json({"job_id": job_id, "status": final, "elapsed_s": round(elapsed, 2)})
        else:
            out.print(f"{final} after {elapsed:.0f} s")

    command(body)


@job_app.command()
def logs(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Print every task's log, in task order."""

    def body() -> None:
        job = _open_job(job_id, config, base_url)
        if as_json:
            print_json(job.get_logs(as_print=False, as_return=True))
        else:
            job.get_logs(as_print=True)

    command(body)


@job_app.command()
def download(
    job_id: JobId,
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    output: Output = None,
    unpack: Annotated[bool, typer.Option(help="Unpack the archive.")] = True,
    integrity: Annotated[
        str,
        typer.Option(
            help="What the download is checked against: auto (crc32c, else md5, and the "
            "size), all (every hash storage announces; slower) or size.",
        ),
    ] = "auto",
    timeout: Timeout = None,
    max_attempts: MaxAttempts = None,
    max_members: Annotated[
        int, typer.Option(help="Refuse archives with more members than this.", min=1)
    ] = DEFAULT_MAX_MEMBERS,
    max_total_size: Annotated[
        int,
        typer.Option(help="Refuse archives that unpack to more bytes than this.", min=0),
    ] = DEFAULT_MAX_TOTAL_SIZE,
    max_connections: Annotated[
        int | None,
        typer.Option(
            help="Ranged connections a large archive is fetched over at once "
            f"(default {DEFAULT_MAX_CONNECTIONS}; 1: one stream).",
            min=1,
            max=MAX_CONNECTIONS_LIMIT,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue an interrupted download from the bytes it left in the folder "
            "(--no-resume: start afresh, keep nothing after a failure).",
        ),
    ] = True,
) -> None:
    """Download (and unpack) the job's results, verified, with a progress bar."""

    def body() -> None:
        job = _open_job(job_id, config, base_url)
        files = job.download_results(
            output_directory=output,
            unpacking=unpack,
            show_progress=shows_progress(as_json),
            integrity=integrity,  # type: ignore[arg-type] # checked by DownloadOptions
            timeout=timeout,
            max_attempts=max_attempts,
            max_members=max_members,
            max_total_size=max_total_size,
            max_connections=max_connections,
            resume=resume,
        )
        report_files(files, as_json)

    command(body)


@job_app.command()
def quicklooks(
    job_id: JobId,
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    output: Output = None,
    timeout: Timeout = None,
    max_attempts: MaxAttempts = None,
) -> None:
    """Download the quicklook images of the job's data task, with a progress bar."""

    def body() -> None:
        job = _open_job(job_id, config, base_url)
        files = job.download_quicklooks(
            output_directory=output,
            show_progress=shows_progress(as_json),
            timeout=timeout,
            max_attempts=max_attempts,
        )
        report_files(files, as_json)

    command(body)


@job_app.command()
def results(
    job_id: JobId,
    config: Config = None,
    base_url: BaseUrl = None,
    as_json: AsJson = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the GeoJSON to this file.")
    ] = None,
) -> None:
    """Show the job's result features as a table, or write them as GeoJSON."""

    def body() -> None:
        collection = _open_job(job_id, config, base_url).get_results_json()
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(collection), encoding="utf-8")
            if as_json:
                print_json({"path": str(output), "features": len(collection["features"])})
            else:
                out.print(f"wrote {len(collection['features'])} features to {output}")
        elif as_json:
            print_json(collection)
        else:
            out.print(_features_table(collection))

    command(body)


@job_app.command()
def credits(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Print the credits the job used."""

    def body() -> None:
        used = _open_job(job_id, config, base_url).get_credits()
        print_json({"job_id": job_id, **used}) if as_json else out.print(
            f"{used['creditsUsed']} credits"
        )

    command(body)


@job_app.command()
def cancel(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Cancel the job."""

    def body() -> None:
        _open_job(job_id, config, base_url).cancel_job()
        print_json({"job_id": job_id, "cancelled": True}) if as_json else out.print(
            f"cancellation of {job_id} requested"
        )

    command(body)


def _features_table(collection: dict[str, Any]) -> Table:
    table = Table(title=f"{len(collection['features'])} features")
    for column in ("uid", "geometry", "mission", "cloud cover %", "data path"):
        table.add_column(column)
    for feature in collection["features"]:
        props = feature.get("properties") or {}
        geometry = (feature.get("geometry") or {}).get("type", "none")
        table.add_row(
            str(props.get("uid", "")),
            geometry,
            str((props.get("acquisition") or {}).get("mission", "")),
            str((props.get("contentDescription") or {}).get("cloudCoverPercentage", "")),
            str(props.get("up42.data_path", "")),
        )
    return table


def main() -> None:
    """Run the command line; no traceback ever reaches the user."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside a command body
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
