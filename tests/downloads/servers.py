"""Test-local servers for what the sandbox cannot play, and the route that leads downloads there.

The sandbox's storage listener knows four faults (drop, ignore_range, expired_url, corrupt).
Everything else a download must survive (stalls, 5xx and 429 with ``Retry-After``,
redirects, wrong hashes, a changed object, TLS) is played by ``LocalStorage``. Its scenarios
still run through ``job.download_results`` against the sandbox's job API: ``StorageRoute``
is the API's httpx transport with one change, the signed URL in a download answer leads to
``LocalStorage`` (path and signed query kept).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import google_crc32c
import httpx

__all__ = ["FakeGCS", "LocalStorage", "Seen", "StorageRoute", "StoredObject"]

#: Bytes per chunk of a chunked (unknown-length) answer: the facade's read size.
CHUNK = 1 << 20
#: Longest a "stall" holds a connection when nothing ends it sooner: long enough that a
#: client which does not time out on its own is caught waiting, short enough to fail fast.
STALL_LIMIT = 10.0


@dataclass
class StoredObject:
    """An object and what storage announces about it."""

    data: bytes
    url_path: str
    filename: str | None = "output.tgz"
    etag: bool = True
    md5: bool = True
    crc32c: bool = True
    chunked: bool = False
    announced_md5: bytes | None = None  # announce this md5 instead of the real one
    announced_crc32c: bytes | None = None  # likewise, 4 bytes big-endian
    content_type: str = "application/x-gzip"
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag_value(self) -> str:
        return f'"{hashlib.md5(self.data, usedforsecurity=False).hexdigest()}"'


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    target: str
    headers: dict[str, str]
    status: int = 0
    during_stall: bool = False  # another connection of this server was stalled meanwhile

    @property
    def range(self) -> str | None:
        return self.headers.get("range")


@dataclass
class Fault:
    kind: str
    count: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)


class LocalStorage:
    """Serves objects at 'signed' URLs; injected faults apply to the next requests, in order.

    One fault per request, the oldest active one first. Kinds:

    - ``drop`` (``at_byte``; ``replace_with=bytes`` replaces the object for later requests)
    - ``stall`` (``at_byte``): hold the connection until another request arrives (or the
      server closes, or ``STALL_LIMIT``), then cut it
    - ``ignore_range``, ``corrupt`` (one byte flipped mid-body)
    - ``bad_content_range`` (``shift``): a 206 whose Content-Range starts elsewhere
    - ``status`` (``status``, ``headers``), ``redirect`` (``location``)

    Args:
        tls: Serve https with this server-side context.
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.by_job: dict[str, StoredObject] = {}
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._stalls = 0
        self._wake = threading.Event()
        storage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                storage._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "http" if tls is None else "https"
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._wake.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def put(
        self, job_id: str, data: bytes, *, url_path: str | None = None, **options: Any
    ) -> StoredObject:
        """Store the results archive of ``job_id`` (served at ``url_path``)."""
        obj = StoredObject(data, url_path or f"/bucket/{job_id}/output.tgz", **options)
        self.objects[obj.url_path] = obj
        self.by_job[job_id] = obj
        return obj

    def inject(self, kind: str, count: int | None = 1, **params: Any) -> None:
        self.faults.append(Fault(kind, count, params))

    def url_for(self, signed_url: str, *, host: str | None = None) -> str:
        """The sandbox's signed URL pointed here: the job's object path, the same query."""
        parts = urlsplit(signed_url)
        obj = next((o for job, o in self.by_job.items() if job in parts.path), None)
        path = obj.url_path if obj is not None else parts.path
        return urlunsplit((self.scheme, host or f"127.0.0.1:{self.port}", path, parts.query, ""))

    def _take(self) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count is None or fault.count > 0:
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        target = handler.path
        with self._lock:
            seen = Seen(
                urlsplit(target).path,
                target,
                {k.lower(): v for k, v in handler.headers.items()},
                during_stall=self._stalls > 0,
            )
            self.requests.append(seen)
        if seen.during_stall:
            self._wake.set()
        fault = self._take()
        kind = fault.kind if fault else None
        params = fault.params if fault else {}

        def simple(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            seen.status = status
            handler.send_response(status)
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        if kind == "status":
            body = b"<Error><Code>Nope</Code></Error>"
            simple(params["status"], body, params.get("headers"))
            return
        if kind == "redirect":
            simple(302, headers={"Location": params["location"]})
            return
        obj = self.objects.get(seen.path)
        if obj is None:
            simple(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return
        data, etag = obj.data, obj.etag_value
        if kind == "drop" and "replace_with" in params:
            obj.data = params["replace_with"]  # later requests see another object
        first = 0
        wanted = handler.headers.get("Range")
        if_range = handler.headers.get("If-Range")
        if kind != "ignore_range" and wanted and (if_range is None or if_range == etag):
            first = int(wanted.removeprefix("bytes=").rstrip("-"))
        body = data[first:]
        if kind == "corrupt":
            flipped = bytearray(body)
            flipped[len(flipped) // 2] ^= 0xFF
            body = bytes(flipped)
        status = 206 if first else 200
        seen.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", obj.content_type)
        if obj.etag:
            handler.send_header("ETag", etag)
        hashes = []
        if obj.crc32c:
            crc = obj.announced_crc32c or google_crc32c.value(data).to_bytes(4, "big")
            hashes.append(f"crc32c={base64.b64encode(crc).decode()}")
        if obj.md5:
            md5 = obj.announced_md5 or hashlib.md5(data, usedforsecurity=False).digest()
            hashes.append(f"md5={base64.b64encode(md5).decode()}")
        if hashes:
            handler.send_header("x-goog-hash", ",".join(hashes))
        if obj.filename is not None:
            handler.send_header("Content-Disposition", f'attachment; filename="{obj.filename}"')
        if status == 206:
            start = first + params.get("shift", 0) if kind == "bad_content_range" else first
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        for name, value in obj.extra_headers.items():
            handler.send_header(name, value)
        cut = kind in ("drop", "stall")
        limit = min(params.get("at_byte", len(body)), len(body)) if cut else len(body)
        if obj.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(len(body)))
        if cut:
            handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            if obj.chunked:
                for i in range(0, limit, CHUNK):
                    piece = body[i : min(i + CHUNK, limit)]
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                if limit == len(body):
                    handler.wfile.write(b"0\r\n\r\n")
            else:
                handler.wfile.write(body[:limit])
            handler.wfile.flush()
            if kind == "stall":
                self._stall()
            if cut:
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            handler.close_connection = True

    def _stall(self) -> None:
        with self._lock:
            self._stalls += 1
            self._wake.clear()
        try:
            self._wake.wait(STALL_LIMIT)
        finally:
            with self._lock:
                self._stalls -= 1


class StorageRoute(httpx.BaseTransport):
    """The job API's transport, with the signed URL of every download answer rewritten.

    Args:
        url_for: Maps the sandbox's signed URL to the one the client is given.
    """

    def __init__(self, url_for: Callable[[str], str]) -> None:
        self._inner = httpx.HTTPTransport()
        self._url_for = url_for

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        is_download = request.url.path.rstrip("/").endswith("/downloads/results")
        if response.status_code != 200 or not is_download:
            return response
        body = json.loads(response.read())
        response.close()
        body["data"]["url"] = self._url_for(body["data"]["url"])
        return httpx.Response(200, json=body)

    def close(self) -> None:
        self._inner.close()


class FakeGCS:
    """Just enough of the GCS JSON API's resumable uploads for google-cloud-storage's Blob."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.cancelled = 0
        self.peak_request = 0
        self.uploads: dict[str, dict[str, Any]] = {}
        gcs = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                name = (
                    json.loads(body or b"{}").get("name")
                    or parse_qs(urlsplit(self.path).query)["name"][0]
                )
                upload_id = f"u{len(gcs.uploads)}"
                gcs.uploads[upload_id] = {
                    "name": name,
                    "md5": hashlib.md5(usedforsecurity=False),
                    "crc": 0,
                    "size": 0,
                    "type": self.headers.get("X-Upload-Content-Type"),
                }
                self.send_response(200)
                self.send_header("Location", f"http://127.0.0.1:{gcs.port}/upload/{upload_id}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_PUT(self) -> None:
                upload = gcs.uploads[urlsplit(self.path).path.rsplit("/", 1)[1]]
                length = int(self.headers.get("Content-Length", 0))
                gcs.peak_request = max(gcs.peak_request, length)
                remaining = length
                while remaining:
                    piece = self.rfile.read(min(remaining, CHUNK))
                    upload["md5"].update(piece)
                    upload["crc"] = google_crc32c.extend(upload["crc"], piece)
                    upload["size"] += len(piece)
                    remaining -= len(piece)
                total = self.headers["Content-Range"].rsplit("/", 1)[1]
                if total == "*":
                    self.send_response(308)
                    self.send_header("Range", f"bytes=0-{upload['size'] - 1}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                resource = {
                    "name": upload["name"],
                    "bucket": "results",
                    "size": str(upload["size"]),
                    "contentType": upload["type"],
                    "md5Hash": base64.b64encode(upload["md5"].digest()).decode(),
                    "crc32c": base64.b64encode(upload["crc"].to_bytes(4, "big")).decode(),
                }
                gcs.objects[upload["name"]] = resource
                body = json.dumps(resource).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_DELETE(self) -> None:
                gcs.cancelled += 1
                self.send_response(499)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
