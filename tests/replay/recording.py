"""Where a replay test's traffic goes, in every mode, and the ids it works with.

Replay (the default, ``--record-mode=none``) starts nothing: the ids a test needs come from
``tests/cassettes/ids.json``, written when the test was recorded, and the session points at
an address that is never reached, because vcrpy answers every request from the cassette.

Recording (``make record``, i.e. any other record mode) goes to the real API when
``UP42_PROJECT_ID``, ``UP42_PROJECT_API_KEY`` and ``UP42_BASE_URL`` are set, using the jobs
the ``UP42_JOB_ID_*`` variables of ``JOB_KINDS`` name; otherwise to a fresh sandbox per test,
seeded, so every recording sees the same ids whichever tests run.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

import up42_facade as up42
from tests.replay.conformance import CASSETTES
from up42_sandbox import Sandbox

__all__ = [
    "IDS_FILE",
    "JOB_KINDS",
    "REPLAY_API_KEY",
    "REPLAY_BASE_URL",
    "SANDBOX_SLEEP_CAP",
    "SANDBOX_SPEED",
    "SEED",
    "IdBook",
    "JobKind",
    "Mode",
    "Sleeper",
    "Target",
    "mode_of",
    "open_target",
]

#: Any fixed seed: project, job and task ids then repeat on every sandbox recording.
SEED = 4242
#: Fast enough that a polled job ends after a few polls, slow enough that it is seen RUNNING.
SANDBOX_SPEED = 20.0
#: Longest real wait per sleep while recording against the sandbox (the polled job moves on
#: meanwhile); the real API gets every second it asks for.
SANDBOX_SLEEP_CAP = 0.05
#: The discard port: replay never connects, and if something tried, nothing would answer.
REPLAY_BASE_URL = "http://127.0.0.1:9"
REPLAY_API_KEY = "replay-without-a-key"
IDS_FILE = CASSETTES / "ids.json"
REAL_API_ENV = ("UP42_PROJECT_ID", "UP42_PROJECT_API_KEY", "UP42_BASE_URL")
#: Small outputs keep cassettes small: one feature per task, so one GeoTIFF and one quicklook.
SMALL_JOB: dict[str, Any] = {"tasks": 2, "features": 1, "padding": 0}

Mode = Literal["replay", "sandbox", "real"]


@dataclass(frozen=True)
class JobKind:
    """A kind of job the tests need: how the sandbox makes one, which variable names a real one."""

    env: str
    description: str
    sandbox: dict[str, Any]


JOB_KINDS = {
    "succeeded": JobKind(
        "UP42_JOB_ID_SUCCEEDED",
        "a job that SUCCEEDED, with results and quicklooks",
        {"outcome": "succeeds", "start_status": "SUCCEEDED"},
    ),
    "failed": JobKind(
        "UP42_JOB_ID_FAILED", "a job that FAILED", {"outcome": "fails", "start_status": "FAILED"}
    ),
    "running": JobKind(
        "UP42_JOB_ID_RUNNING",
        "a job still running that will succeed (the recording polls it to the end)",
        {"outcome": "succeeds", "duration": 2.0},
    ),
    "cancellable": JobKind(
        "UP42_JOB_ID_TO_CANCEL",
        "a running job the recording cancels (a new one for every recording)",
        {"outcome": "long_running"},
    ),
}


def mode_of(config: pytest.Config) -> Mode:
    """The mode of this run: replay for ``--record-mode=none`` (the default), else by the env."""
    if (config.getoption("--record-mode") or "none") == "none":
        return "replay"
    present = [name for name in REAL_API_ENV if os.environ.get(name)]
    if not present:
        return "sandbox"
    if len(present) < len(REAL_API_ENV):
        missing = ", ".join(sorted(set(REAL_API_ENV) - set(present)))
        pytest.exit(
            f"recording against the real API needs all of {', '.join(REAL_API_ENV)}; "
            f"missing {missing}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    if not all(os.environ.get(kind.env) for kind in JOB_KINDS.values()):
        needed = "; ".join(f"{kind.env}: {kind.description}" for kind in JOB_KINDS.values())
        pytest.exit(
            f"recording against the real API needs job ids: {needed}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    return "real"


class Sleeper:
    """Stands in for ``time.sleep`` (``asleep`` for ``asyncio.sleep``): remembers every wait;
    only a recording really waits.

    Args:
        cap: Longest real wait per call; 0 never waits (replay), None waits in full.
    """

    def __init__(self, cap: float | None) -> None:
        self.calls: list[float] = []
        self._cap = cap

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        wait = self._capped(seconds)
        if wait > 0:
            time.sleep(wait)

    async def asleep(self, seconds: float) -> None:
        """Stands in for ``asyncio.sleep`` (an ``AsyncUp42``'s sleep); same ``calls``, same cap."""
        self.calls.append(seconds)
        wait = self._capped(seconds)
        if wait > 0:
            await asyncio.sleep(wait)

    def _capped(self, seconds: float) -> float:
        return seconds if self._cap is None else min(seconds, self._cap)


class IdBook:
    """``ids.json``: the project and job ids each test used when it was recorded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        loaded: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return loaded

    def get(self, test: str) -> dict[str, Any]:
        """The entry of ``test``; fails the test when it was never recorded."""
        entry = self._read().get(test)
        if entry is None:
            pytest.fail(f"{test} has no recorded ids in {self.path.name}: run `make record`")
        return dict(entry)

    def put(self, test: str, entry: dict[str, Any]) -> None:
        """Record the entry of ``test``, keeping every other test's."""
        book = self._read()
        book[test] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(book, indent=2, sort_keys=True)
        self.path.write_text(text + "\n", encoding="utf-8")


@dataclass
class Target:
    """Where a test's traffic goes and the ids it works with, in any mode.

    Attributes:
        mode: "replay" (cassettes only), "sandbox" or "real" (recording).
        project_id: The project of every job.
        sleep: The session's sleep; ``sleep.calls`` lists every wait.
        sandbox: The running sandbox when recording against one, else None.
    """

    mode: Mode
    project_id: str
    project_api_key: str
    base_url: str
    sleep: Sleeper
    sandbox: Sandbox | None = None
    jobs: dict[str, str] = field(default_factory=dict)

    def job_id(self, kind: str) -> str:
        """The id of this test's job of ``kind`` (see ``JOB_KINDS``), created on first use."""
        if kind not in self.jobs:
            if self.mode == "replay":
                pytest.fail(f"no {kind!r} job was recorded for this test: run `make record`")
            self.jobs[kind] = self._new_job(JOB_KINDS[kind])
        return self.jobs[kind]

    def sandbox_job(self, name: str, outcome: str, **options: Any) -> str:
        """The id of a job only a sandbox can make (in ``sandbox_only`` tests), for example one
        held in a status; created on first use, read from ``ids.json`` in a replay."""
        if name not in self.jobs:
            if self.sandbox is None:
                pytest.fail(f"no {name!r} job was recorded for this test: run `make record`")
            self.jobs[name] = self.sandbox.create_job(outcome, **{**SMALL_JOB, **options})
        return self.jobs[name]

    def _new_job(self, kind: JobKind) -> str:
        if self.sandbox is None:
            return os.environ[kind.env]
        options = {**SMALL_JOB, **kind.sandbox}
        return self.sandbox.create_job(options.pop("outcome"), **options)

    def entry(self) -> dict[str, Any]:
        """What replay needs to know of this recording (an ``ids.json`` entry)."""
        return {"recorded_against": self.mode, "project_id": self.project_id, "jobs": self.jobs}

    def session(self, **options: Any) -> up42.Up42:
        """A session against the target whose waits go to ``self.sleep``."""
        return up42.Up42(
            project_id=self.project_id,
            project_api_key=self.project_api_key,
            base_url=self.base_url,
            sleep=self.sleep,
            **options,
        )

    def async_session(self, **options: Any) -> up42.AsyncUp42:
        """An async session against the target (enter it with ``async with``, which fetches a
        token) whose waits go to ``self.sleep``."""
        return up42.AsyncUp42(
            project_id=self.project_id,
            project_api_key=self.project_api_key,
            base_url=self.base_url,
            sleep=self.sleep.asleep,
            **options,
        )

    def expire_tokens(self) -> None:
        """Make every token answer 401 (the sandbox's trick; a replay has the 401 on tape)."""
        if self.sandbox is not None:
            self.sandbox.expire_tokens()

    def inject(self, kind: str, **options: Any) -> None:
        """Switch a sandbox fault on (a replay has its effect on tape)."""
        if self.sandbox is not None:
            self.sandbox.inject(kind, **options)


@contextmanager
def open_target(
    mode: Mode, recorded: dict[str, Any] | None = None, **sandbox_options: Any
) -> Iterator[Target]:
    """The target of one test: a replay of ``recorded`` (an ``ids.json`` entry), the real API,
    or a fresh seeded sandbox (made with ``sandbox_options``) that stops when the test ends."""
    if mode == "replay":
        assert recorded is not None
        yield Target(
            mode=mode,
            project_id=recorded["project_id"],
            project_api_key=REPLAY_API_KEY,
            base_url=REPLAY_BASE_URL,
            sleep=Sleeper(cap=0),
            jobs=dict(recorded["jobs"]),
        )
    elif mode == "real":
        yield Target(
            mode=mode,
            project_id=os.environ["UP42_PROJECT_ID"],
            project_api_key=os.environ["UP42_PROJECT_API_KEY"],
            base_url=os.environ["UP42_BASE_URL"],
            sleep=Sleeper(cap=None),
        )
    else:
        with Sandbox(seed=SEED, speed=SANDBOX_SPEED, **sandbox_options) as sandbox:
            yield Target(
                mode=mode,
                project_id=sandbox.project_id,
                project_api_key=sandbox.project_api_key,
                base_url=sandbox.base_url,
                sleep=Sleeper(cap=SANDBOX_SLEEP_CAP),
                sandbox=sandbox,
            )
