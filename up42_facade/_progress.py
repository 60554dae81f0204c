"""Progress of a transfer: the app's callback, and one rich progress bar for terminals.

Downloads, quicklooks and the CLI all report through ``progress_reporter``; there is no
other bar in the package.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["ProgressCallback", "progress_reporter"]

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)``; ``bytes_done`` drops back to 0
when a download starts over."""


@contextlib.contextmanager
def progress_reporter(
    progress: ProgressCallback | None, show_progress: bool | None, label: str
) -> Iterator[ProgressCallback]:
    """A ``(done, total)`` callback feeding the app's callback and, if wanted, a rich bar.

    Args:
        progress: The app's callback, if any.
        show_progress: Show a bar on stderr; None shows it when stderr is a terminal.
        label: The bar's description.

    Yields:
        The callback to call as bytes arrive.
    """
    if show_progress is None:
        show_progress = sys.stderr is not None and sys.stderr.isatty()
    if not show_progress:
        if progress is None:
            yield _ignore
        else:
            yield progress
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(label, total=None)

    def report(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)
        if progress is not None:
            progress(done, total)

    with bar:
        yield report


def _ignore(done: int, total: int | None) -> None:
    """A progress callback that does nothing."""
