"""Fault suite fixtures: a sandbox on 127.0.0.1, sessions that are always closed, a clean cwd.

Every fault test tells a user's story against real sockets: the sandbox plays the failure,
the facade is driven only through its public API, and the test checks both what the user
sees (return value, exception, printed text) and what is on disk afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

# A default job (8 sandbox seconds) ends in 0.2 s: polling stories stay well under a second.
FAULT_SPEED = 40.0
# Small backoffs keep the retry stories fast; a deadline long enough never to be what stops them.
FAST_RETRY = up42.RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=0.2, deadline=10.0)

Connect = Callable[..., up42.Up42]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=FAULT_SPEED) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: Sandbox) -> Iterator[None]:
    """Each test starts with no faults and an empty request log, and leaves none behind."""
    sandbox.clear_faults()
    sandbox.requests.clear()
    yield
    sandbox.clear_faults()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory of the test: default download folders land here."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


class RecordingSleep:
    """Records every wait the session asks for; really sleeps ``real`` (None: the full wait)."""

    def __init__(self, real: float | None = 0.001) -> None:
        self.calls: list[float] = []
        self._real = real

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds if self._real is None else min(seconds, self._real))


@pytest.fixture
def connect(sandbox: Sandbox) -> Iterator[Connect]:
    """``connect(**authenticate_kwargs)``: an authenticated session, closed after the test."""
    opened: list[up42.Up42] = []

    def open_session(**kwargs: Any) -> up42.Up42:
        options: dict[str, Any] = {
            "project_id": sandbox.project_id,
            "project_api_key": sandbox.project_api_key,
            "base_url": sandbox.base_url,
            "retry": FAST_RETRY,
            "sleep": RecordingSleep(),
            **kwargs,
        }
        session = up42.authenticate(**options)
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


def files_under(folder: Path) -> list[str]:
    """Every entry under ``folder`` (files, folders, links), as sorted relative paths."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def api_requests(
    sandbox: Sandbox, *, path: str | None = None, method: str | None = None
) -> list[Any]:
    """The API listener's records, optionally of one path substring and method."""
    return sandbox.requests.filter(listener="api", path=path, method=method)
