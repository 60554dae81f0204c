"""A forward HTTP proxy on 127.0.0.1 for the tests: CONNECT tunnels and absolute-form requests.

It records what it was asked for, so a test can tell which requests went through it.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

BUFFER = 1 << 16


@dataclass
class Seen:
    """One request the proxy handled: ``method`` and ``target`` as the client sent them."""

    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        head = self._read_head()
        if head is None:
            return
        request_line, headers = head
        method, target, _ = request_line.split(" ", 2)
        self.server.seen.append(Seen(method, target, headers))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(upstream)
            return
        parts = urlsplit(target)
        upstream = socket.create_connection((parts.hostname or "", parts.port or 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = {
            name: value
            for name, value in headers.items()
            if name.lower() not in ("proxy-authorization", "proxy-connection", "connection")
        }
        lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in kept.items())]
        lines.append("Connection: close")
        upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        length = int(headers.get("Content-Length", headers.get("content-length", "0")))
        if length:
            upstream.sendall(self.rfile.read(length))
        with upstream:
            while chunk := upstream.recv(BUFFER):
                self.wfile.write(chunk)

    def _read_head(self) -> tuple[str, dict[str, str]] | None:
        request_line = self.rfile.readline().decode("latin-1").strip()
        if not request_line:
            return None
        headers: dict[str, str] = {}
        while line := self.rfile.readline().decode("latin-1").strip():
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        return request_line, headers

    def _pipe(self, upstream: socket.socket) -> None:
        client = self.connection

        def forward(source: socket.socket, sink: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while chunk := source.recv(BUFFER):
                    sink.sendall(chunk)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=forward, args=(upstream, client), daemon=True)
        back.start()
        forward(client, upstream)
        back.join()
        upstream.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[Seen] = []


@contextlib.contextmanager
def forward_proxy() -> Iterator[_Server]:
    """A running proxy; its URL is ``f"http://127.0.0.1:{server.server_address[1]}"``."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
