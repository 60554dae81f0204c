"""An async session against the sandbox: real sockets on 127.0.0.1, jobs that end in under a second.

The tests are coroutines run by anyio's pytest plugin (it comes with httpx) on asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

# Fast enough that a whole job lifecycle takes a fraction of a second.
TEST_SPEED = 40.0
FAST_RETRY = up42.RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_cap=0.1, deadline=10.0)


class AsyncRecordingSleep:
    """The session's async sleep: remembers every wait and sleeps only a little of it."""

    def __init__(self, real: float | None = 0.0) -> None:
        self.calls: list[float] = []
        self._real = real

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(seconds if self._real is None else min(seconds, self._real))


Connect = Callable[..., Awaitable[up42.AsyncUp42]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=TEST_SPEED) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: Sandbox) -> Iterator[None]:
    sandbox.clear_faults()
    sandbox.requests.clear()
    yield
    sandbox.clear_faults()


@pytest.fixture
def sleeps() -> AsyncRecordingSleep:
    return AsyncRecordingSleep()


@pytest.fixture
async def connect(sandbox: Sandbox, sleeps: AsyncRecordingSleep) -> AsyncIterator[Connect]:
    """Opens async sessions against the sandbox (fast retries, recorded sleep); closes them."""
    opened: list[up42.AsyncUp42] = []

    async def open_session(**options: object) -> up42.AsyncUp42:
        settings: dict[str, object] = {
            "project_id": sandbox.project_id,
            "project_api_key": sandbox.project_api_key,
            "base_url": sandbox.base_url,
            "retry": FAST_RETRY,
            "sleep": sleeps,
            **options,
        }
        session = up42.AsyncUp42(**settings)  # type: ignore[arg-type]
        opened.append(session)
        return await session.__aenter__()

    yield open_session
    for session in opened:
        await session.aclose()


@pytest.fixture
async def session(connect: Connect) -> up42.AsyncUp42:
    return await connect()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory of the test: default download folders land here."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def files_under(folder: Path) -> list[str]:
    """Every path under ``folder``, relative, sorted (hidden temporary files included)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))
