"""``up42-facade``: the command line, a thin wrapper over the Python API.

Every command takes a job id, credentials from the environment or ``--config``,
and ``--json`` for machine-readable output. Failures print one line, never a
traceback, and exit with a code that says what went wrong (see ``EXIT_CODES``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ._archive_rules import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_TOTAL_SIZE
from ._errors import (
    AuthenticationError,
    ConfigurationError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    Up42Error,
)

if TYPE_CHECKING:
    from ._job import Job

__all__ = ["EXIT_CODES", "app", "main"]

# Exit codes: documented in --help and in the README; scripts rely on them.
EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_JOB_FAILED = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_OTHER: "any other error",
    EXIT_USAGE: "usage error (bad arguments, a job id that is not a UUID, missing credentials)",
    EXIT_JOB_FAILED: "the job failed or was cancelled",
    EXIT_AUTH: "authentication failed (wrong project id or API key)",
    EXIT_NOT_FOUND: "the job or task was not found",
}
EPILOG = "Exit codes: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items()) + "."

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

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JobId = Annotated[str, typer.Argument(help="The job's id (a UUID).", show_default=False)]
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="JSON file with project_id and project_api_key "
        "(default: UP42_PROJECT_ID, UP42_PROJECT_API_KEY).",
        dir_okay=False,
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="API address (default: UP42_BASE_URL or the real API)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Folder to write into.")]
Timeout = Annotated[
    float | None,
    typer.Option(
        help="Seconds without an answer (or, downloading, without a byte) before a connection "
        "counts as dropped and is tried again. [default: 60]",
        min=0.001,
        show_default=False,
    ),
]
MaxAttempts = Annotated[
    int | None,
    typer.Option(
        help="Requests in all (the first one and every retry or resume) before giving up. "
        "[default: 5]",
        min=1,
        show_default=False,
    ),
]


def _fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors_as_exit_codes() -> Iterator[None]:
    """Turn every library error into one line on stderr and its exit code."""
    try:
        yield
    except ConfigurationError as exc:
        _fail(EXIT_USAGE, str(exc))
    except AuthenticationError as exc:
        _fail(EXIT_AUTH, str(exc))
    except NotFoundError as exc:
        _fail(EXIT_NOT_FOUND, str(exc))
    except (JobFailedError, JobCancelledError) as exc:
        _fail(EXIT_JOB_FAILED, str(exc))
    except Up42Error as exc:
        _fail(EXIT_OTHER, str(exc))
    except OSError as exc:
        _fail(EXIT_OTHER, f"{exc.strerror or exc} ({exc.filename or 'file system'})")
    except KeyboardInterrupt:
        _fail(130, "interrupted")
    except Exception as exc:
        if os.environ.get("UP42_DEBUG"):
            raise
        _fail(
            EXIT_OTHER,
            f"unexpected {type(exc).__name__}: {exc} (set UP42_DEBUG=1 for a traceback "
            "and please report it)",
        )


def _open_job(job_id: str, config: Path | None, base_url: str | None) -> Job:
    from ._session import check_uuid
    from ._up42 import authenticate

    check_uuid(job_id, "job_id")  # before any request, even the token
    session = authenticate(cfg_file=config, base_url=base_url)
    return session.initialize_job(job_id)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def _command(body: Callable[[], None]) -> None:
    with _errors_as_exit_codes():
        try:
            body()
        finally:
            from ._up42 import close_last_session

            close_last_session()


@job_app.command()
def info(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Show the job's metadata."""

    def body() -> None:
        data = _open_job(job_id, config, base_url).info
        if as_json:
            _print_json(data)
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

    _command(body)


@job_app.command()
def status(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Print the job's current status."""

    def body() -> None:
        current = str(_open_job(job_id, config, base_url).info["status"])
        _print_json({"job_id": job_id, "status": current}) if as_json else out.print(current)

    _command(body)


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
        start = time.monotonic()
        live = err.status("starting", spinner="dots") if err.is_terminal and not as_json else None

        def show(current: str) -> None:
            line = f"{current}  ({time.monotonic() - start:.0f} s)"
            if live is not None:
                live.update(line)

        if live is not None:
            live.start()
        try:
            final = job.track_status(
                report_time=float("inf"),
                poll_interval=poll_interval,
                timeout=timeout,
                callback=show,
                print_logs=not as_json,  # stdout holds only the JSON document
            )
        finally:
            if live is not None:
                live.stop()
        elapsed = time.monotonic() - start
        if as_json:
            _print_json({"job_id": job_id, "status": final, "elapsed_s": round(elapsed, 2)})
        else:
            out.print(f"{final} after {elapsed:.0f} s")

    _command(body)


@job_app.command()
def logs(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Print every task's log, in task order."""

    def body() -> None:
        job = _open_job(job_id, config, base_url)
        if as_json:
            _print_json(job.get_logs(as_print=False, as_return=True))
        else:
            job.get_logs(as_print=True)

    _command(body)


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
) -> None:
    """Download (and unpack) the job's results, verified, with a progress bar."""

    def body() -> None:
        job = _open_job(job_id, config, base_url)
        files = job.download_results(
            output_directory=output,
            unpacking=unpack,
            show_progress=_shows_progress(as_json),
            integrity=integrity,  # type: ignore[arg-type] # checked by DownloadOptions
            timeout=timeout,
            max_attempts=max_attempts,
            max_members=max_members,
            max_total_size=max_total_size,
        )
        _report_files(files, as_json)

    _command(body)


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
            show_progress=_shows_progress(as_json),
            timeout=timeout,
            max_attempts=max_attempts,
        )
        _report_files(files, as_json)

    _command(body)


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
                _print_json({"path": str(output), "features": len(collection["features"])})
            else:
                out.print(f"wrote {len(collection['features'])} features to {output}")
        elif as_json:
            _print_json(collection)
        else:
            out.print(_features_table(collection))

    _command(body)


@job_app.command()
def credits(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Print the credits the job used."""

    def body() -> None:
        used = _open_job(job_id, config, base_url).get_credits()
        _print_json({"job_id": job_id, **used}) if as_json else out.print(
            f"{used['creditsUsed']} credits"
        )

    _command(body)


@job_app.command()
def cancel(
    job_id: JobId, config: Config = None, base_url: BaseUrl = None, as_json: AsJson = False
) -> None:
    """Cancel the job."""

    def body() -> None:
        _open_job(job_id, config, base_url).cancel_job()
        _print_json({"job_id": job_id, "cancelled": True}) if as_json else out.print(
            f"cancellation of {job_id} requested"
        )

    _command(body)


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


def _report_files(files: list[str], as_json: bool) -> None:
    if as_json:
        _print_json({"files": files})
        return
    out.print(f"wrote {len(files)} files:")
    for path in files:
        out.print(f"  {path}", highlight=False)


def _shows_progress(as_json: bool) -> bool:
    """A progress bar on a terminal, never with --json (stdout holds only the document)."""
    return not as_json and err.is_terminal


def main() -> None:
    """Run the command line; no traceback ever reaches the user."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside a command body
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
