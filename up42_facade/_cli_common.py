"""What every ``up42-facade`` command shares: exit codes, consoles, common options, and the
wrapper that turns every error into one line on stderr and its exit code."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from ._errors import (
    AuthenticationError,
    ConfigurationError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    Up42Error,
)

__all__ = [
    "EPILOG",
    "EXIT_CODES",
    "AsJson",
    "BaseUrl",
    "Config",
    "JobId",
    "LiveLine",
    "MaxAttempts",
    "Output",
    "Timeout",
    "command",
    "err",
    "fail",
    "out",
    "print_json",
    "report_files",
    "shows_progress",
]

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


def fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors_as_exit_codes() -> Iterator[None]:
    """Turn every library error into one line on stderr and its exit code."""
    try:
        yield
    except typer.Exit:
        raise  # a command's own exit code
    except ConfigurationError as exc:
        fail(EXIT_USAGE, str(exc))
    except AuthenticationError as exc:
        fail(EXIT_AUTH, str(exc))
    except NotFoundError as exc:
        fail(EXIT_NOT_FOUND, str(exc))
    except (JobFailedError, JobCancelledError) as exc:
        fail(EXIT_JOB_FAILED, str(exc))
    except Up42Error as exc:
        fail(EXIT_OTHER, str(exc))
    except OSError as exc:
        fail(EXIT_OTHER, f"{exc.strerror or exc} ({exc.filename or 'file system'})")
    except KeyboardInterrupt:
        fail(130, "interrupted")
    except Exception as exc:
        if os.environ.get("UP42_DEBUG"):
            raise
        fail(
            EXIT_OTHER,
            f"unexpected {type(exc).__name__}: {exc} (set UP42_DEBUG=1 for a traceback "
            "and please report it)",
        )


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def command(body: Callable[[], None]) -> None:
    with _errors_as_exit_codes():
        try:
            body()
        finally:
            from ._up42 import close_last_session

            close_last_session()


def report_files(files: list[str], as_json: bool) -> None:
    if as_json:
        print_json({"files": files})
        return
    out.print(f"wrote {len(files)} files:")
    for path in files:
        out.print(f"  {path}", highlight=False)


def shows_progress(as_json: bool) -> bool:
    """A progress bar on a terminal, never with --json (stdout holds only the document)."""
    return not as_json and err.is_terminal


class LiveLine:
    """One line on stderr that a terminal redraws in place (nothing when not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self._status = err.status("starting", spinner="dots") if enabled else None
        self.started = time.monotonic()

    def show(self, text: str) -> None:
        if self._status is not None:
            self._status.update(f"{text}  ({time.monotonic() - self.started:.0f} s)")

    def __enter__(self) -> LiveLine:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
