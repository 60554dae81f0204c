"""Progress of a transfer: the app's callback, and one rich progress bar for terminals and
notebooks.

Downloads, quicklooks and the CLI all report through ``progress_reporter``; there is no
other bar in the package. In a terminal the bar is rich's live display on stderr. In a
Jupyter notebook stderr is no terminal and rich's live display needs ipywidgets, so the
same bar is rendered to HTML and redrawn in place through an IPython display handle: it
works in Jupyter, JupyterLab and VS Code with nothing more installed, and a saved or
executed notebook keeps the bar's last state.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["NOTEBOOK_REDRAW_INTERVAL", "ProgressCallback", "in_notebook", "progress_reporter"]

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)``; ``bytes_done`` drops back to 0
when a download starts over."""

#: Seconds between two redraws of a notebook bar: each redraw sends the bar's HTML to the
#: notebook, and a download reports every 1 MiB chunk.
NOTEBOOK_REDRAW_INTERVAL = 0.2
# Wide enough for the label, the bar, sizes, speed and time left on one line.
_NOTEBOOK_WIDTH = 100


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab).

    Asks IPython only when something already imported it: no import, so no cost elsewhere.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


@contextlib.contextmanager
def progress_reporter(
    progress: ProgressCallback | None, show_progress: bool | None, label: str
) -> Iterator[ProgressCallback]:
    """A ``(done, total)`` callback feeding the app's callback and, if wanted, a rich bar.

    Args:
        progress: The app's callback, if any.
        show_progress: Show a bar; None shows it when stderr is a terminal or this runs in
            a notebook. The bar goes to stderr, or into the notebook's cell output.
        label: The bar's description.

    Yields:
        The callback to call as bytes arrive.
    """
    notebook = in_notebook()
    if show_progress is None:
        show_progress = notebook or (sys.stderr is not None and sys.stderr.isatty())
    if not show_progress:
        if progress is None:
            yield _ignore
        else:
            yield progress
        return
    if notebook:
        with _notebook_bar(label) as draw:

            def report_in_notebook(done: int, total: int | None) -> None:
                draw(done, total)
                if progress is not None:
                    progress(done, total)

            yield report_in_notebook
        return
    from rich.console import Console

    bar = _bar(Console(stderr=True))
    task = bar.add_task(label, total=None)

    def report(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)
        if progress is not None:
            progress(done, total)

    with bar:
        yield report


def _bar(console: Any, *, auto_refresh: bool = True) -> Progress:
    """The package's one progress bar: label, bar, bytes, speed and time left."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        auto_refresh=auto_refresh,
    )


@contextlib.contextmanager
def _notebook_bar(
    label: str, clock: Callable[[], float] = time.monotonic
) -> Iterator[ProgressCallback]:
    """The bar as HTML in the running cell's output, redrawn in place at most every
    ``NOTEBOOK_REDRAW_INTERVAL`` seconds and once more at the end."""
    import importlib
    import io

    from rich.console import Console

    # Any-typed on purpose: IPython is there whenever in_notebook() said so, and its
    # display functions carry no annotations for mypy --strict.
    ipython_display: Any = importlib.import_module("IPython.display")

    console = Console(
        file=io.StringIO(),
        record=True,
        width=_NOTEBOOK_WIDTH,
        force_terminal=True,
        force_jupyter=False,
        color_system="truecolor",
    )
    # Never started as a live display: it is only rendered, on draw.
    bar = _bar(console, auto_refresh=False)
    task = bar.add_task(label, total=None)

    def drawing() -> dict[str, str]:
        """The bar as HTML, and as text for frontends that show no HTML."""
        console.print(bar.get_renderable())
        text = console.export_text(clear=False).rstrip()
        html = console.export_html(
            inline_styles=True,
            clear=True,
            code_format='<pre style="line-height: 1.3; margin: 0">{code}</pre>',
        )
        return {"text/plain": text, "text/html": html}

    handle = ipython_display.display(drawing(), raw=True, display_id=True)
    last = clock()

    def draw(done: int, total: int | None) -> None:
        nonlocal last
        bar.update(task, completed=done, total=total)
        now = clock()
        if now - last >= NOTEBOOK_REDRAW_INTERVAL:
            last = now
            handle.update(drawing(), raw=True)

    try:
        yield draw
    finally:
        handle.update(drawing(), raw=True)


def _ignore(done: int, total: int | None) -> None:
    """A progress callback that does nothing."""
