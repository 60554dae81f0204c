"""Progress bars show in notebooks as well as in terminals: in a Jupyter kernel the bar is
drawn as HTML into the cell's output and redrawn in place."""

from __future__ import annotations

import sys
import types

import pytest

from up42_facade import _progress
from up42_facade._progress import in_notebook, progress_reporter


class ZMQInteractiveShell:
    """Named as ipykernel's shell: what a notebook kernel runs."""


class TerminalInteractiveShell:
    """Named as IPython's terminal shell."""


class Handle:
    def __init__(self, shown: list[str], texts: list[str]) -> None:
        self.shown = shown
        self.texts = texts

    def update(self, drawing: dict[str, str], *, raw: bool) -> None:
        assert raw
        self.shown.append(drawing["text/html"])
        self.texts.append(drawing["text/plain"])


def fake_ipython(
    monkeypatch: pytest.MonkeyPatch, shell: object | None, texts: list[str] | None = None
) -> list[str]:
    """Put a stand-in IPython in ``sys.modules``; the HTML it was shown lands in the list it
    returns, the plain text beside it in ``texts``."""
    shown: list[str] = []
    texts = [] if texts is None else texts
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    display = types.ModuleType("IPython.display")

    def show(drawing: dict[str, str], *, raw: bool, display_id: bool) -> Handle:
        assert raw and display_id
        shown.append(drawing["text/html"])
        texts.append(drawing["text/plain"])
        return Handle(shown, texts)

    display.display = show  # type: ignore[attr-defined]
    ipython.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return shown


def test_a_notebook_kernel_is_recognised_and_a_terminal_ipython_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()
    fake_ipython(monkeypatch, None)
    assert not in_notebook()
    fake_ipython(monkeypatch, TerminalInteractiveShell())
    assert not in_notebook()
    fake_ipython(monkeypatch, ZMQInteractiveShell())
    assert in_notebook()


def test_in_a_notebook_the_bar_is_drawn_in_the_cell_and_ends_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts: list[str] = []
    shown = fake_ipython(monkeypatch, ZMQInteractiveShell(), texts)
    seen: list[tuple[int, int | None]] = []
    with progress_reporter(lambda d, t: seen.append((d, t)), None, "results") as report:
        for done in range(0, 3_000_001, 1_000_000):
            report(done, 3_000_000)
    assert seen[-1] == (3_000_000, 3_000_000)  # the app's callback still hears everything
    assert len(shown) >= 2  # drawn at the start, redrawn at the end
    assert all("<pre" in html and "results" in html for html in shown)
    assert "3.0/3.0 MB" in shown[-1]
    # Frontends without HTML get the same bar as text, without markup.
    assert texts[-1].startswith("results") and "3.0/3.0 MB" in texts[-1]
    assert "<" not in texts[-1]


def test_a_notebook_bar_is_redrawn_at_most_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = fake_ipython(monkeypatch, ZMQInteractiveShell())
    now = [0.0]
    with _progress._notebook_bar("results", clock=lambda: now[0]) as draw:
        for step in range(100):  # 100 chunks in 0.99 s: about five redraws, not 100
            now[0] = step / 100
            draw(step * 1000, 100_000)
    redraws = len(shown) - 2  # the first drawing and the final one
    assert 3 <= redraws <= int(0.99 / _progress.NOTEBOOK_REDRAW_INTERVAL) + 1


def test_outside_notebooks_and_terminals_no_bar_is_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    with progress_reporter(None, None, "results") as report:
        report(10, 10)
    assert capsys.readouterr() == ("", "")


def test_show_progress_false_shows_nothing_even_in_a_notebook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown = fake_ipython(monkeypatch, ZMQInteractiveShell())
    with progress_reporter(None, False, "results") as report:
        report(10, 10)
    assert shown == []
