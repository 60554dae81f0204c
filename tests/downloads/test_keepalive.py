"""Storage connections are kept alive between downloads, and never trusted blindly.

A connection whose answer was read to its end serves the next request to the same storage;
one the server closed, one whose answer was left half read, or one idle too long does not.
A kept-alive connection that turns out closed as a request goes out is replaced once,
unseen: the download does not count it as an attempt.

``KeepAliveStorage`` is an HTTP/1.1 server on 127.0.0.1 that counts the connections it
accepted and the requests each carried, and can close every connection right after its
answer without saying so (as a server does whose keep-alive timeout ran out).
"""

from __future__ import annotations

import logging
import socketserver
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from up42_facade import _storage
from up42_facade._network import Network
from up42_facade._storage import StorageClient
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import assert_complete, small_job, tgz, unpacked
from .servers import StorageRoute

BODY = bytes(range(256)) * 64  # 16 KiB
ARCHIVE = {"output/data.json": b'{"type": "FeatureCollection", "features": []}'}


class KeepAliveStorage:
    """Serves ``body`` at every path (``/moved`` redirects to ``/object``) over HTTP/1.1.

    Attributes:
        connections: How many connections were accepted.
        hung_up: How many of them the client closed (or the server, after its answer).
        requests: ``(connection number, path)`` of every request, in order.
        close_after_answer: Close each connection right after its answer, with no
            ``Connection: close`` header.
    """

    def __init__(self, body: bytes = BODY) -> None:
        self.body = body
        self.connections = 0
        self.hung_up = 0
        self.requests: list[tuple[int, str]] = []
        self.close_after_answer = False
        self._lock = threading.Lock()
        storage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def setup(self) -> None:
                super().setup()
                with storage._lock:
                    storage.connections += 1
                    self.number = storage.connections

            def finish(self) -> None:
                super().finish()
                with storage._lock:
                    storage.hung_up += 1

            def do_GET(self) -> None:
                with storage._lock:
                    storage.requests.append((self.number, self.path.split("?")[0]))
                if self.path.startswith("/moved"):
                    self.send_response(302)
                    self.send_header("Location", "/object")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(storage.body)))
                self.end_headers()
                self.wfile.write(storage.body)
                if storage.close_after_answer:
                    self.close_connection = True

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def url(self, path: str = "/object") -> str:
        return f"http://127.0.0.1:{self.port}{path}?X-Goog-Signature=abc"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[KeepAliveStorage]:
    storage = KeepAliveStorage()
    yield storage
    storage.close()


@pytest.fixture
def client() -> Iterator[StorageClient]:
    storage = StorageClient(Network(trust_env=False), connect_timeout=5.0, read_timeout=5.0)
    yield storage
    storage.close()


def fetch(client: StorageClient, url: str) -> bytes:
    """GET ``url`` and read the whole answer, as a download does."""
    answer = client.get(url, {})
    try:
        assert answer.status == 200
        return answer.response.read()
    finally:
        answer.close()


def test_downloads_from_one_storage_share_one_kept_alive_connection(
    server: KeepAliveStorage, client: StorageClient
) -> None:
    assert [fetch(client, server.url()) for _ in range(3)] == [BODY] * 3

    assert server.connections == 1
    assert server.requests == [(1, "/object")] * 3


def test_downloads_side_by_side_each_get_a_connection_and_keep_it(
    server: KeepAliveStorage, client: StorageClient
) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = list(pool.map(lambda _: fetch(client, server.url()), range(40)))

    assert bodies == [BODY] * 40
    assert len(server.requests) == 40
    assert server.connections <= 4


def test_an_answer_closed_before_its_end_takes_its_connection_with_it(
    server: KeepAliveStorage, client: StorageClient
) -> None:
    answer = client.get(server.url(), {})
    assert answer.response.read(100) == BODY[:100]
    answer.close()

    assert fetch(client, server.url()) == BODY
    assert [number for number, _ in server.requests] == [1, 2]


def test_a_connection_the_server_closed_after_its_answer_is_not_used_again(
    server: KeepAliveStorage, client: StorageClient
) -> None:
    server.close_after_answer = True

    assert [fetch(client, server.url()) for _ in range(3)] == [BODY] * 3

    # Every request reached the server once, each on a connection of its own.
    assert server.requests == [(1, "/object"), (2, "/object"), (3, "/object")]


def test_a_kept_alive_connection_found_closed_as_the_request_goes_out_is_replaced_once(
    server: KeepAliveStorage,
    client: StorageClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The idle check cannot see it (the server closed it a moment after the check, say).
    monkeypatch.setattr(_storage, "_closed_by_peer", lambda connection: False)
    server.close_after_answer = True

    with caplog.at_level(logging.DEBUG, logger="up42_facade"):
        assert [fetch(client, server.url()) for _ in range(3)] == [BODY] * 3

    assert server.requests == [(1, "/object"), (2, "/object"), (3, "/object")]
    reconnects = [r for r in caplog.records if "kept-alive storage connection" in r.message]
    assert len(reconnects) == 2


def test_a_connection_idle_past_the_keepalive_expiry_is_closed_not_reused(
    server: KeepAliveStorage, client: StorageClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch(client, server.url())
    monkeypatch.setattr(_storage, "KEEPALIVE_EXPIRY", -1.0)

    fetch(client, server.url())

    assert [number for number, _ in server.requests] == [1, 2]


def test_a_redirect_is_followed_and_the_answer_at_its_end_keeps_its_connection(
    server: KeepAliveStorage, client: StorageClient
) -> None:
    assert fetch(client, server.url("/moved")) == BODY
    assert fetch(client, server.url()) == BODY

    # The redirect's connection was closed with it; the final answer's one was kept.
    assert server.requests == [(1, "/moved"), (2, "/object"), (2, "/object")]


def test_connections_are_kept_apart_by_origin_proxy_and_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = StorageClient(Network(), connect_timeout=1.0, read_timeout=1.0)

    direct = client._route("http://127.0.0.1:8000/a?sig=1").key
    proxied = client._route("http://localhost:8000/a?sig=1").key
    tls = client._route("https://127.0.0.1:8000/a?sig=1").key

    assert direct != proxied and direct != tls and proxied != tls
    assert client._route("http://127.0.0.1:8000/other?sig=2").key == direct


def test_a_job_download_on_a_stale_kept_alive_connection_costs_no_attempt(
    sandbox: Sandbox, connect: Connect, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = KeepAliveStorage(tgz(ARCHIVE))
    try:
        monkeypatch.setattr(_storage, "_closed_by_peer", lambda connection: False)
        storage.close_after_answer = True
        job = small_job(sandbox, connect(transport=StorageRoute(lambda url: storage.url())))

        for _ in range(2):  # the second one finds the first one's connection closed
            files = job.download_results(out, max_attempts=1)
            assert_complete(out, files, unpacked(ARCHIVE))
    finally:
        storage.close()
    assert [number for number, _ in storage.requests] == [1, 2]


def test_closing_the_session_closes_its_kept_alive_storage_connections(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    storage = KeepAliveStorage(tgz(ARCHIVE))
    try:
        session = connect(transport=StorageRoute(lambda url: storage.url()))
        small_job(sandbox, session).download_results(out)
        time.sleep(0.1)
        assert (storage.connections, storage.hung_up) == (1, 0)  # kept for the next download

        session.close()

        deadline = time.monotonic() + 5
        while storage.hung_up < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert storage.hung_up == 1
    finally:
        storage.close()
