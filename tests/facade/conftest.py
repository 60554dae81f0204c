"""A sandbox for the facade tests: real sockets on 127.0.0.1, jobs that end in under a second."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

# Fast enough that a whole job lifecycle takes a fraction of a second.
TEST_SPEED = 40.0


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=TEST_SPEED) as sb:
        yield sb


@pytest.fixture
def session(sandbox: Sandbox) -> Iterator[up42.Up42]:
    sandbox.clear_faults()
    with up42.authenticate(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
        retry=up42.RetryPolicy(backoff_base=0.01, deadline=10.0),
    ) as session:
        yield session
    sandbox.clear_faults()


class RecordingSleep:
    """Counts the waits of track_status instead of sleeping through all of them."""

    def __init__(self, real: float = 0.02) -> None:
        self.calls: list[float] = []
        self._real = real

    def __call__(self, seconds: float) -> None:
        import time

        self.calls.append(seconds)
        time.sleep(self._real)
