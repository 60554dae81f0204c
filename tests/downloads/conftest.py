"""Download stories: ``job.download_results`` (and ``upload_results_to_bucket``) end to end.

Every story runs against the sandbox's job API on 127.0.0.1 with a session made as a user
makes one (``up42.Up42``). Storage is the sandbox's signed-URL listener, with its fault
injection, wherever it can play the story; what it cannot play (stalls, 5xx and 429 with
``Retry-After``, redirects, wrong hashes, a changed object, TLS) a ``LocalStorage`` plays,
reached through the same ``job.download_results`` (see ``servers.StorageRoute``). Each story
ends by looking at the folder: exactly the archive's files, or nothing new at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .helpers import EARLIER, RecordingSleep
from .servers import FakeGCS, LocalStorage, StorageRoute

# Small backoffs keep the retry stories fast; a deadline long enough never to be what stops them.
FAST_RETRY = up42.RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=0.2, deadline=10.0)

Connect = Callable[..., up42.Up42]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=40.0) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: Sandbox) -> Iterator[None]:
    """Each story starts with no faults and an empty request log, and leaves no fault behind."""
    sandbox.clear_faults()
    sandbox.requests.clear()
    yield
    sandbox.clear_faults()


@pytest.fixture
def sleeps() -> RecordingSleep:
    """The session's ``sleep``: every wait of the story, API calls and downloads alike."""
    return RecordingSleep()


@pytest.fixture
def connect(sandbox: Sandbox, sleeps: RecordingSleep) -> Iterator[Connect]:
    """``connect(**Up42_kwargs)``: a session on the sandbox, closed after the story."""
    opened: list[up42.Up42] = []

    def open_session(**kwargs: Any) -> up42.Up42:
        options: dict[str, Any] = {
            "project_id": sandbox.project_id,
            "project_api_key": sandbox.project_api_key,
            "base_url": sandbox.base_url,
            "retry": FAST_RETRY,
            "sleep": sleeps,
            **kwargs,
        }
        session = up42.Up42(**options)
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


@pytest.fixture
def storage() -> Iterator[LocalStorage]:
    server = LocalStorage()
    yield server
    server.close()


@pytest.fixture
def via_storage(connect: Connect, storage: LocalStorage) -> Connect:
    """``connect``, but the session's download URLs lead to the test-local ``storage``."""

    def open_session(**kwargs: Any) -> up42.Up42:
        return connect(transport=StorageRoute(storage.url_for), **kwargs)

    return open_session


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The story's current directory: default download folders land here."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.fixture
def out(workdir: Path) -> Path:
    """The download folder, with a file of an earlier run that must survive any failure."""
    folder = workdir / "results"
    folder.mkdir()
    for name, data in EARLIER.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def gcs_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, FakeGCS]]:
    """A real ``google.cloud.storage`` bucket whose uploads go to a local stand-in of GCS."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage as gcs_lib

    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    gcs = FakeGCS()
    client = gcs_lib.Client(
        project="sandbox",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": f"http://127.0.0.1:{gcs.port}"},
    )
    yield client.bucket("results"), gcs
    gcs.close()
