"""The signed-URL listener: a small cloud-storage look-alike on its own port (another origin).

It is a raw asyncio HTTP/1.1 server rather than a Starlette app for two reasons: ``sendfile``
serves a 256 MiB archive at loopback speed, and faults like "drop the connection after N body
bytes" need byte-exact control of the socket that an ASGI server does not give.

With a bandwidth cap (``StorageNetwork``) a body goes out in paced chunks read from the file
instead of by ``sendfile``; either way the listener counts the body bytes it sends.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import BinaryIO
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from ._archives import CHUNK, Archive
from ._faults import STORAGE_KINDS, Fault, FaultRegistry
from ._network import Pacer, StorageNetwork
from ._records import RequestLog, RequestRecord

__all__ = [
    "BUCKET",
    "Signer",
    "StorageServer",
    "object_path",
    "parse_object_path",
    "parse_range",
    "xml_error",
]

#: The bucket name in every signed URL, like UP42's results bucket.
BUCKET = "up42-results"
#: GCS's V4 signing algorithm name (the sandbox signs with HMAC-SHA256 but keeps the name).
ALGORITHM = "GOOG4-RSA-SHA256"
#: The service account that "signs" the URLs.
SIGNER_EMAIL = "results-signer@up42-sandbox.iam.gserviceaccount.com"
#: GCS refuses V4 signatures valid longer than 7 days.
MAX_EXPIRES = 604_800
#: Largest request head accepted; real clients send well under 4 KiB.
MAX_HEAD = 64 * 1024
#: Bytes flipped by the "corrupt" fault: enough to change any hash, few enough to be sneaky.
CORRUPT_BYTES = 16
REQUIRED = (
    "X-Goog-Algorithm",
    "X-Goog-Credential",
    "X-Goog-Date",
    "X-Goog-Expires",
    "X-Goog-SignedHeaders",
    "X-Goog-Signature",
)
REASONS = {
    200: "OK",
    206: "Partial Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    416: "Requested Range Not Satisfiable",
    431: "Request Header Fields Too Large",
}


class Signer:
    """Makes and checks GCS-style V4 signed URLs (HMAC instead of RSA, same parameters)."""

    def __init__(self, *, key: bytes, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError("url_ttl must be > 0 seconds")
        self._key = key
        self.ttl = ttl
        self._lock = threading.Lock()
        # Exact issue times: X-Goog-Date has one-second resolution, too coarse for short test TTLs.
        self._issued: dict[str, float] = {}

    def _signature(self, path: str, params: dict[str, str]) -> str:
        text = "\n".join([path, *(params[name] for name in REQUIRED[:-1])])
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, path: str) -> str:
        """A signed URL to ``path`` on ``base_url``, valid for ``ttl`` seconds from now."""
        now = datetime.now(UTC)
        params = {
            "X-Goog-Algorithm": ALGORITHM,
            "X-Goog-Credential": f"{SIGNER_EMAIL}/{now:%Y%m%d}/auto/storage/goog4_request",
            "X-Goog-Date": f"{now:%Y%m%dT%H%M%SZ}",
            "X-Goog-Expires": str(max(1, math.ceil(self.ttl))),
            "X-Goog-SignedHeaders": "host",
        }
        params["X-Goog-Signature"] = signature = self._signature(path, params)
        with self._lock:
            self._issued[signature] = time.monotonic() + self.ttl
        return f"{base_url}{quote(path)}?{urlencode(params)}"

    def check(self, path: str, query: dict[str, str]) -> tuple[int, str, str, str] | None:
        """None when the URL is valid, else ``(status, code, message, details)`` as GCS answers."""
        missing = [name for name in REQUIRED if name not in query]
        if "X-Goog-Signature" not in query:
            return 403, "AccessDenied", "Access denied.", "Anonymous caller does not have access."
        if missing:
            return 400, "InvalidArgument", "Invalid argument.", f"Missing {', '.join(missing)}."
        try:
            date = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            expires = int(query["X-Goog-Expires"])
        except ValueError:
            return 400, "InvalidArgument", "Invalid argument.", "Malformed X-Goog-Date or Expires."
        if not 1 <= expires <= MAX_EXPIRES:
            return 400, "InvalidArgument", "Invalid argument.", "X-Goog-Expires out of range."
        expected = self._signature(path, query)
        if query["X-Goog-Algorithm"] != ALGORITHM or not hmac.compare_digest(
            expected, query["X-Goog-Signature"]
        ):
            return (
                403,
                "SignatureDoesNotMatch",
                "Access denied.",
                "The request signature we calculated does not match the signature you provided.",
            )
        with self._lock:
            deadline = self._issued.get(expected)
        end = date + timedelta(seconds=expires)
        # URLs this sandbox signed expire exactly; others (say, from an earlier run with the same
        # seed) by their one-second-resolution X-Goog-Date, as GCS does.
        if deadline is not None:
            return expired_error(end) if time.monotonic() >= deadline else None
        return expired_error(end) if datetime.now(UTC) >= end else None


def expired_error(end: datetime) -> tuple[int, str, str, str]:
    """GCS's answer to an expired signed URL."""
    return (
        400,
        "ExpiredToken",
        "Invalid argument.",
        f"The provided token has expired. Request signature expired at: {end.isoformat()}",
    )


def xml_error(code: str, message: str, details: str) -> bytes:
    """A GCS XML error body."""
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Details>{details}</Details></Error>"
    ).encode()


def parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """``(first, last)`` of a single ``bytes=`` range, None to serve everything, "unsatisfiable".

    Multiple ranges and malformed headers are ignored (200 with the whole object), as GCS does.
    """
    if not value or not value.strip().lower().startswith("bytes=") or "," in value:
        return None
    spec = value.strip()[6:].strip()
    first_text, sep, last_text = spec.partition("-")
    if not sep:
        return None
    try:
        if not first_text:
            suffix = int(last_text)
            if suffix <= 0:
                return "unsatisfiable"
            return max(size - suffix, 0), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size:
        return "unsatisfiable"
    if first < 0 or last < first:
        return None
    return first, min(last, size - 1)


class StorageServer:
    """Serves archives at signed URLs; faults from the registry bend its behaviour."""

    def __init__(
        self,
        *,
        resolve: Callable[[str], Archive | None],
        signer: Signer,
        faults: FaultRegistry,
        requests: RequestLog,
        network: StorageNetwork,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._resolve = resolve
        self._signer = signer
        self._faults = faults
        self._requests = requests
        self._network = network
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, sock: socket.socket) -> None:
        """Accept connections on an already bound, listening socket (over TLS with ``tls``).

        Over TLS, archives go through asyncio's read-and-write fallback instead of ``sendfile``
        (the kernel cannot encrypt), and a client that refuses the certificate ends its
        connection during the handshake, before any request is read or recorded.
        """
        self._server = await asyncio.start_server(
            self._handle, sock=sock, limit=MAX_HEAD, ssl=self._tls
        )

    async def stop(self) -> None:
        """Stop listening and end every open connection, even mid-download."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = _Connection()
        try:
            # The TCP handshake's round trip: a new connection waits once more than a kept-alive
            # one before its first answer.
            await self._wait_latency()
            while await self._one_request(reader, writer, connection):
                pass
            writer.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
        except asyncio.CancelledError:
            # The sandbox is stopping: drop the connection now instead of flushing a download.
            writer.transport.abort()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _wait_latency(self) -> None:
        latency = self._network.latency
        if latency:
            await asyncio.sleep(latency)

    async def _one_request(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: _Connection,
    ) -> bool:
        """Answer one request; False when the connection must close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            await self._wait_latency()
            await self._simple(writer, 431, b"", "text/plain", keep=False)
            return False
        arrived = time.monotonic()
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await self._wait_latency()
            await self._simple(writer, 400, b"", "text/plain", keep=False)
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        url = urlsplit(target)
        record = RequestRecord(
            listener="storage",
            method=method,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            status=0,
            time=arrived,
            headers=headers,
        )
        self._requests.append(record)
        await self._wait_latency()
        return await self._respond(writer, record, keep, connection) and keep

    def _count(self, record: RequestRecord | None, size: int) -> None:
        """Add ``size`` body bytes (fewer when negative) to the request's count and the total."""
        if record is not None:
            record.bytes_sent += size
        self._network.count(size)

    async def _simple(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        content_type: str,
        *,
        keep: bool,
        extra: dict[str, str] | None = None,
        head_only: bool = False,
        record: RequestRecord | None = None,
    ) -> None:
        """A small answer in one write; error bodies are neither paced nor sent in chunks."""
        fields = {"Content-Type": content_type, "Content-Length": str(len(body)), **(extra or {})}
        sent = b"" if head_only else body
        self._count(record, len(sent))
        writer.write(_head(status, fields, keep) + sent)
        await writer.drain()

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        record: RequestRecord,
        keep: bool,
        connection: _Connection,
    ) -> bool:
        method, path, query = record.method, record.path, record.query
        head_only = method == "HEAD"
        faults = self._faults.take("storage", method, path, STORAGE_KINDS)
        kinds = {f.kind: f for f in faults}
        xml = "application/xml; charset=UTF-8"

        async def error(status: int, code: str, message: str, details: str) -> bool:
            record.status = status
            body = xml_error(code, message, details)
            await self._simple(
                writer, status, body, xml, keep=keep, head_only=head_only, record=record
            )
            return True

        if method not in {"GET", "HEAD"}:
            return await error(405, "MethodNotAllowed", "Method not allowed.", method)
        if "expired_url" in kinds:
            return await error(*expired_error(datetime.now(UTC) - timedelta(seconds=1)))
        problem = self._signer.check(path, query)
        if problem is not None:
            return await error(*problem)
        archive = self._resolve(path)
        if archive is None:
            return await error(404, "NoSuchKey", "The specified key does not exist.", path)
        size = archive.size
        wanted = None if "ignore_range" in kinds else record.headers.get("range")
        if_range = record.headers.get("if-range")
        if if_range is not None and if_range != archive.etag:
            wanted = None
        chosen = parse_range(wanted, size)
        if chosen == "unsatisfiable":
            record.status = 416
            body = xml_error(
                "InvalidRange", "The requested range cannot be satisfied.", wanted or ""
            )
            extra = {"Content-Range": f"bytes */{size}"}
            await self._simple(
                writer, 416, body, xml, keep=keep, extra=extra, head_only=head_only, record=record
            )
            return True
        first, last = chosen if isinstance(chosen, tuple) else (0, size - 1)
        status = 206 if isinstance(chosen, tuple) else 200
        count = last - first + 1 if size else 0
        fields = _object_headers(archive)
        fields["Content-Length"] = str(count)
        if status == 206:
            fields["Content-Range"] = f"bytes {first}-{last}/{size}"
        record.status = status
        drop = kinds.get("drop")
        writer.write(_head(status, fields, keep and drop is None))
        if head_only:
            await writer.drain()
            return drop is None
        limit = count if drop is None else min(count, int(drop.params.get("at_byte", 0)))
        corrupt = kinds.get("corrupt")
        pacer = connection.pacer(self._network.bandwidth)
        if corrupt is None and drop is None and pacer is None:
            await writer.drain()
            with archive.path.open("rb") as source:
                # Counted before the bytes leave: a client holding the whole body finds it
                # counted. sendfile leaves the file after the last byte it sent, even when the
                # client hangs up mid-way, which takes back what was not sent.
                self._count(record, count)
                source.seek(first)
                try:
                    await asyncio.get_running_loop().sendfile(
                        writer.transport, source, first, count
                    )
                except BaseException:
                    self._count(record, source.tell() - first - count)
                    raise
            return True
        with archive.path.open("rb") as source:
            await _copy(
                writer,
                source,
                first,
                limit,
                _flip_at(corrupt, size, first, last),
                pacer=pacer,
                sent=functools.partial(self._count, record),
            )
        if drop is not None:
            # close() (not abort()) sends every buffered byte first: exactly `limit` body bytes
            # reach the client, then the connection ends before Content-Length is met.
            writer.close()
            return False
        return True


class _Connection:
    """What one connection keeps between its requests: its token bucket."""

    def __init__(self) -> None:
        self._pacer: Pacer | None = None

    def pacer(self, bandwidth: float | None) -> Pacer | None:
        """The bucket for a response at ``bandwidth`` (None: unpaced), kept while it holds."""
        if bandwidth is None:
            self._pacer = None
        elif self._pacer is None or self._pacer.rate != bandwidth:
            self._pacer = Pacer(bandwidth)
        return self._pacer


def _flip_at(fault: Fault | None, size: int, first: int, last: int) -> int | None:
    """The object offset where the "corrupt" fault flips bytes (inside the served range)."""
    if fault is None or size == 0:
        return None
    at = int(fault.params.get("at_byte", size // 2))
    return at if first <= at <= last else first


async def _copy(
    writer: asyncio.StreamWriter,
    source: BinaryIO,
    first: int,
    count: int,
    flip: int | None,
    *,
    pacer: Pacer | None,
    sent: Callable[[int], None],
) -> None:
    """Send ``count`` bytes from ``first``, flipping a few bytes at object offset ``flip``.

    With a ``pacer`` the bytes go in its chunks at its pace; ``sent`` hears of every chunk
    just before it is handed to the connection.
    """
    source.seek(first)
    offset = first
    size = CHUNK if pacer is None else pacer.chunk
    while count > 0:
        chunk = source.read(min(size, count))
        if not chunk:
            break
        wait = 0.0 if pacer is None else pacer.take(len(chunk))
        if wait > 0:
            await asyncio.sleep(wait)
        if flip is not None and offset <= flip < offset + len(chunk) + CORRUPT_BYTES:
            data = bytearray(chunk)
            for i in range(max(flip - offset, 0), min(flip - offset + CORRUPT_BYTES, len(data))):
                data[i] ^= 0xFF
            chunk = bytes(data)
        sent(len(chunk))
        writer.write(chunk)
        await writer.drain()
        offset += len(chunk)
        count -= len(chunk)


def _object_headers(archive: Archive) -> dict[str, str]:
    """The headers GCS sends with an object (hashes are of the whole object, even for ranges)."""
    modified = datetime.fromtimestamp(archive.path.stat().st_mtime, UTC)
    return {
        "Content-Type": archive.content_type,
        "ETag": archive.etag,
        "x-goog-hash": archive.goog_hash,
        "x-goog-generation": str(int(modified.timestamp() * 1_000_000)),
        "x-goog-metageneration": "1",
        "x-goog-stored-content-encoding": "identity",
        "x-goog-stored-content-length": str(archive.size),
        "x-goog-storage-class": "STANDARD",
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{archive.filename}"',
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "private, max-age=0",
    }


def _head(status: int, fields: dict[str, str], keep: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}"]
    lines.append(f"Date: {format_datetime(datetime.now(UTC), usegmt=True)}")
    lines.append("Server: UploadServer")
    lines.extend(f"{name}: {value}" for name, value in fields.items())
    lines.append(f"Connection: {'keep-alive' if keep else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def object_path(job_id: str, filename: str, task_id: str | None = None) -> str:
    """The URL path of a job's (or a task's) archive in the bucket."""
    parts = [BUCKET, job_id, *([task_id] if task_id else []), filename]
    return "/" + "/".join(parts)


def parse_object_path(path: str) -> tuple[str, str | None, str] | None:
    """``(job_id, task_id or None, filename)`` of an object path, None if it is not one."""
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == BUCKET:
        return parts[1], None, parts[2]
    if len(parts) == 4 and parts[0] == BUCKET:
        return parts[1], parts[2], parts[3]
    return None
