"""The house stays easy to live in: no import cycle, and each layer knows only what it must.

Imports inside functions count; imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "up42_facade"

# The core both front doors share: no sockets, no files of the user's, no waiting.
CORE = {
    "_api_retry",
    "_archive_rules",
    "_cancel",
    "_collection_rules",
    "_errors",
    "_gc",
    "_html",
    "_integrity",
    "_job_rules",
    "_json_slices",
    "_network",
    "_options",
    "_paths",
    "_redact",
    "_responses",
    "_results",
    "_rate",
    "_retry",
    "_status",
    "_version",
}
# Downloads know files and URLs, never jobs or the API session.
TRANSFERS = {
    "_download",
    "_files",
    "_inflate",
    "_journal",
    "_partfile",
    "_progress",
    "_slices",
    "_storage",
    "_transfer",
    "_unpack",
    "_upload",
}
JOB_LEVEL = {
    "_cli_common",
    "_cli_jobs",
    "_job",
    "_jobtask",
    "_outputs",
    "_up42",
    "_cli",
    "_viz",
    "_collection_base",
    "_jobcollection",
    "_async_jobcollection",
}
# What both sessions share (settings, tokens, judging a call): the core and transfers below.
SHARED_SESSION = {"_session_base", "_auth"}
# The two front doors: each stands on the layers above, never on the other.
SYNC_DOOR = {"_session", "_transport", "_up42", "_job", "_jobtask", "_outputs", "_jobcollection"}
ASYNC_DOOR = {
    "_async_session",
    "_async_transport",
    "_lanes",
    "_async_up42",
    "_async_job",
    "_async_jobcollection",
}


def _imports(path: Path, package: str) -> set[str]:
    """The modules of ``package`` that the file at ``path`` imports when it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + "."):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == package:
            found.update(alias.name for alias in node.names if alias.name.startswith("_"))
    return found


@functools.cache
def _graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return {name: _imports(path, "up42_facade") & set(modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if not state.get(nxt) and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if not state.get(node) and (found := visit(node)):
            return found
    return None


def test_the_facade_has_no_import_cycle_counting_imports_inside_functions() -> None:
    assert _cycle(_graph()) is None


def test_the_cycle_finder_would_see_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_module_is_placed_in_a_layer() -> None:
    placed = CORE | TRANSFERS | JOB_LEVEL | SYNC_DOOR | ASYNC_DOOR | SHARED_SESSION
    assert set(_graph()) == placed


@pytest.mark.parametrize(("door", "other"), [("sync", "async"), ("async", "sync")])
def test_neither_front_door_imports_the_other(door: str, other: str) -> None:
    doors = {"sync": SYNC_DOOR, "async": ASYNC_DOOR}
    graph = _graph()
    for module in doors[door]:
        assert not graph[module] & doors[other], module


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_imports_only_the_core(module: str) -> None:
    assert _graph()[module] <= CORE


@pytest.mark.parametrize("module", sorted(TRANSFERS))
def test_transfers_know_files_and_urls_but_no_jobs_and_no_session(module: str) -> None:
    assert _graph()[module] <= CORE | TRANSFERS


@pytest.mark.parametrize("module", sorted(SHARED_SESSION))
def test_what_both_sessions_share_stands_on_the_core_and_transfers_only(module: str) -> None:
    assert _graph()[module] <= CORE | TRANSFERS | SHARED_SESSION


def test_the_session_knows_no_job() -> None:
    reachable = set()
    todo = ["_session"]
    graph = _graph()
    while todo:
        for nxt in graph[todo.pop()] - reachable:
            reachable.add(nxt)
            todo.append(nxt)
    assert not reachable & JOB_LEVEL


def test_the_sandbox_knows_no_client_code() -> None:
    for path in (ROOT / "up42_sandbox").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert not {
            name for name in names if name.split(".")[0] in ("up42_facade", "up42_jobs_client")
        }, path
