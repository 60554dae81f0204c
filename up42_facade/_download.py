"""Streaming, resumable, verified downloads from signed cloud-storage URLs.

The signed URL is not the job API: it needs no bearer token (and must never get one), so
this module talks to it with its own ``http.client`` connection rather than the session's
httpx client. ``http.client`` reading into reused buffers keeps up with curl over loopback,
where httpx's ``iter_raw`` reached about half of curl's speed.

A ``Transfer`` hands out the object's bytes in order and hides what it takes to get them:

- a dropped connection resumes with ``Range`` and ``If-Range``; an answer of 200, or a
  ``Content-Range`` that does not fit, starts over (the consumer is told by ``Restart``);
- a refused signed URL (400/401/403: expired) is replaced once by a fresh one from the API;
- the bytes are checked against ``Content-Length`` and ``x-goog-hash`` before the last
  chunk is handed out: crc32c when ``google-crc32c`` is installed, else md5
  (``verify="all"``: both, at md5's speed); a mismatch starts over once with a fresh URL,
  then raises ``IntegrityError``.

Messages and logs name the URL as ``scheme://host/path``: the query string holds the
signature.

Example:
    >>> path = download_file(get_url, Path("project_x/job_y"))  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'output.tgz'
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import http.client
import logging
import os
import queue
import secrets
import ssl
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Literal
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from ._errors import ConfigurationError, DownloadError, IntegrityError
from ._http import SECRET_FILTER

__all__ = [
    "BLOB_CHUNK_SIZE",
    "CHUNK_SIZE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_VERIFY",
    "VERIFY_MODES",
    "PartFile",
    "ProgressCallback",
    "RemoteObject",
    "Restart",
    "Superseded",
    "Transfer",
    "VerifyMode",
    "copy_to_part",
    "download_file",
    "progress_reporter",
    "redact_url",
    "stream_to_blob",
]

LOGGER = logging.getLogger("up42_facade")

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)``; ``bytes_done`` drops back to 0
when a download starts over."""

#: Bytes per read from the socket: 1 MiB reads into reused buffers matched curl's
#: throughput over loopback; smaller reads cost more Python calls per byte.
CHUNK_SIZE = 1 << 20
#: Buffers in flight between the socket reader and the hashing thread (so 4 MiB at most):
#: enough to keep both busy, small enough to keep memory flat.
POOL_BUFFERS = 4
#: Seconds without a byte before a connection counts as dropped (and is resumed).
DEFAULT_TIMEOUT = 60.0
#: Requests per download (the first one and the resumes after drops) before giving up.
DEFAULT_MAX_ATTEMPTS = 5
#: First wait, in seconds, after a failed request that brought no bytes; it doubles up to
#: ``BACKOFF_MAX``. A request that made progress is resumed at once.
DEFAULT_BACKOFF = 0.5
BACKOFF_MAX = 8.0
#: Redirects followed per request; storage does not redirect, but a proxy or CDN may.
MAX_REDIRECTS = 5
#: Fresh signed URLs asked for after storage refused one (GCS answers 400 ExpiredToken,
#: 403 AccessDenied or SignatureDoesNotMatch for a URL past its expiry).
URL_REFRESHES = 1
#: Fresh downloads after one did not match its size or hash, before IntegrityError.
INTEGRITY_RETRIES = 1
#: Statuses of a refused signed URL.
REFUSED_STATUSES = frozenset({400, 401, 403})
#: Statuses worth another try after a pause; any other 5xx counts too.
TRANSIENT_STATUSES = frozenset({408, 429})
#: Chunk size of uploads to a bucket: a multiple of 256 KiB as GCS requires, and small
#: enough that the upload buffer stays a few MiB (the library's default is 40-100 MiB).
BLOB_CHUNK_SIZE = 8 * 1024 * 1024
VerifyMode = Literal["auto", "all"]
"""Which announced hashes a download is checked against (see ``DEFAULT_VERIFY``)."""
VERIFY_MODES: tuple[VerifyMode, ...] = ("auto", "all")
#: "auto": crc32c when storage announced one and google-crc32c's C extension is installed
#: (GCS's recommended check, and what gcloud does), else md5; "all": every announced hash.
#: md5 runs at 0.6-0.75 GB/s on one core here, below loopback speed: checking it too took
#: a 256 MiB download from 0.4-0.5x curl's time to 1.1-1.7x (benchmarks/bench_download.py).
DEFAULT_VERIFY: VerifyMode = "auto"
#: The name used when neither Content-Disposition nor the URL path gives one.
FALLBACK_NAME = "output.tgz"
#: Prefix of temporary files inside a target folder.
PART_PREFIX = ".up42-"
USER_AGENT = "up42-facade (transfers)"


def _load_crc32c() -> Callable[[int, bytes], int] | None:
    """google-crc32c's ``extend`` when its C extension is there (the pure-Python one is
    far too slow to run on every byte); None otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import google_crc32c
    except ImportError:
        return None
    if google_crc32c.implementation != "c":
        LOGGER.debug("google-crc32c has no C extension here: crc32c is not checked")
        return None
    extend: Callable[[int, bytes], int] = google_crc32c.extend
    return extend


_CRC32C_EXTEND = _load_crc32c()


class Restart(Exception):  # noqa: N818 - a signal between this module and its consumers
    """The transfer starts over from byte 0: drop everything received so far."""


class Superseded(Exception):  # noqa: N818 - a signal to a reader thread, never shown
    """A reader of a part file that started over (or was abandoned) must stop."""


def redact_url(url: str) -> str:
    """``scheme://host/path`` of a URL: no query (it holds the signature), no credentials.

    Args:
        url: Any URL.

    Returns:
        The URL without query, fragment and user info.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


@dataclass
class RemoteObject:
    """What the server announced about the object (from its last full answer).

    Attributes:
        size: Content-Length of the whole object, if announced.
        md5: The md5 digest from ``x-goog-hash``, if announced.
        crc32c: The crc32c value from ``x-goog-hash``, if announced.
        validator: A strong ETag (or Last-Modified) to send as ``If-Range``.
        filename: The name from Content-Disposition, unchecked.
        content_type: The Content-Type.
    """

    size: int | None = None
    md5: bytes | None = None
    crc32c: int | None = None
    validator: str | None = None
    filename: str | None = None
    content_type: str | None = None

    @classmethod
    def from_headers(cls, headers: http.client.HTTPMessage, *, size: int | None) -> RemoteObject:
        """Read what a 200 (or 206) answer says about the whole object."""
        md5: bytes | None = None
        crc32c: int | None = None
        for value in headers.get_all("x-goog-hash") or []:
            for item in value.split(","):
                name, _, encoded = item.strip().partition("=")
                try:
                    digest = base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    LOGGER.debug("ignoring a malformed x-goog-hash item %r", item)
                    continue
                if name.lower() == "md5" and len(digest) == 16:
                    md5 = digest
                elif name.lower() == "crc32c" and len(digest) == 4:
                    crc32c = int.from_bytes(digest, "big")
        etag = headers.get("ETag")
        validator = etag if etag and not etag.startswith("W/") else headers.get("Last-Modified")
        disposition = headers.get("Content-Disposition")
        filename = None
        if disposition:
            message = Message()
            message["Content-Disposition"] = disposition
            filename = message.get_filename()
        return cls(
            size=size,
            md5=md5,
            crc32c=crc32c,
            validator=validator,
            filename=filename,
            content_type=headers.get_content_type() if headers.get("Content-Type") else None,
        )


def safe_filename(name: str | None) -> str | None:
    """The last component of a server-given name, or None if nothing usable is left."""
    if not name:
        return None
    last = PurePosixPath(name.replace("\\", "/")).name.strip()
    last = "".join(ch for ch in last if ch.isprintable())
    if last in ("", ".", "..") or last.startswith(PART_PREFIX):
        return None
    return last


class _Digests:
    """The digests a download is checked with, computed as its bytes go by.

    crc32c (hardware accelerated, about 10 GB/s) runs on the caller's thread. md5 runs at
    0.6-0.75 GB/s on one core here, slower than a loopback download: on the socket thread
    it halved the speed, so with ``threaded`` it runs on a worker thread (hashlib releases
    the GIL) and overlaps the network.

    Args:
        threaded: Compute md5 on a worker thread.
    """

    def __init__(self, *, threaded: bool) -> None:
        self._threaded = threaded
        self._executor: ThreadPoolExecutor | None = None
        self._md5: Any = None
        self._crc: int | None = None

    def start(self, *, md5: bool, crc32c: bool) -> None:
        """Start from no bytes, computing the digests asked for (after what is queued)."""
        self._crc = 0 if crc32c and _CRC32C_EXTEND is not None else None
        if md5 and self._threaded and self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="up42-md5")
        self._run(lambda: self._set_md5(md5))

    def _set_md5(self, wanted: bool) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False) if wanted else None

    def _run(self, task: Callable[[], None]) -> None:
        """Run ``task`` after the queued md5 work, and wait for it."""
        if self._executor is None:
            task()
        else:
            self._executor.submit(task).result()

    def update(self, view: memoryview, done: Callable[[], None]) -> None:
        """Hash ``view``, then call ``done`` (the buffer may be reused after that)."""
        if self._crc is not None and _CRC32C_EXTEND is not None:
            # google-crc32c takes only bytes; the copy costs about half of the crc itself.
            self._crc = _CRC32C_EXTEND(self._crc, bytes(view))
        md5 = self._md5
        if md5 is None or self._executor is None:
            if md5 is not None:
                md5.update(view)
            done()
            return

        def task() -> None:
            try:
                md5.update(view)
            finally:
                done()

        self._executor.submit(task)

    def result(self) -> tuple[bytes | None, int | None]:
        """md5 digest and crc32c value of everything so far; None for one not computed."""
        digest: list[bytes | None] = [None]

        def read() -> None:
            digest[0] = None if self._md5 is None else self._md5.digest()

        self._run(read)
        return digest[0], self._crc

    def close(self) -> None:
        """Stop the worker thread (waiting for queued work, which is bounded by the pool)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def _proxy_for(parts: SplitResult) -> SplitResult | None:
    """The proxy the environment sets for this URL (HTTPS_PROXY, NO_PROXY, ...), if any."""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urlsplit(proxy if "://" in proxy else f"http://{proxy}")


def _proxy_headers(proxy: SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


class Transfer:
    """One object at a signed URL, fetched over as many requests as it takes.

    ``next_chunk`` hands out the bytes in order; it raises ``Restart`` when the bytes
    handed out so far must be dropped (the server could not resume, or the finished
    download did not verify and is fetched afresh), and returns None at the verified end.

    Args:
        get_url: Asks the API for a (fresh) signed URL.
        timeout: Seconds of silence before a connection counts as dropped.
        max_attempts: Requests per download before giving up.
        backoff: First pause in seconds after a request that brought no bytes.
        threaded_hash: Hash md5 on a worker thread (for speed; the consumer must be done
            with each chunk before asking for the next one either way).
        verify: "auto" checks crc32c when storage announced one and google-crc32c is
            installed, else md5; "all" checks every announced hash (see ``VERIFY_MODES``).

    Example:
        >>> with Transfer(get_url) as transfer:  # doctest: +SKIP
        ...     while (chunk := transfer.next_chunk()) is not None:
        ...         sink.write(chunk)
    """

    def __init__(
        self,
        get_url: Callable[[], str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
        threaded_hash: bool = True,
        verify: VerifyMode = DEFAULT_VERIFY,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if verify not in VERIFY_MODES:
            raise ValueError(f"verify must be one of {VERIFY_MODES}, not {verify!r}")
        self._verify_all = verify == "all"
        self._get_url = get_url
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._url = self._checked(get_url())
        self._refreshes = 0
        self._fresh_downloads = 0
        self._attempts = 0
        self._failures = 0
        self._attempt_offset = 0
        self._last_error: BaseException | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._resp_end: int | None = None
        self._done = False
        self._ssl: ssl.SSLContext | None = None
        self.object = RemoteObject()
        self.offset = 0
        self._digests = _Digests(threaded=threaded_hash)
        self._pool: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(POOL_BUFFERS if threaded_hash else 1):
            self._pool.put(bytearray(CHUNK_SIZE))

    def __enter__(self) -> Transfer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and stop the hashing thread."""
        self._close_response()
        self._digests.close()

    @property
    def where(self) -> str:
        """The URL without its query, for messages."""
        return redact_url(self._url)

    @property
    def url_filename(self) -> str | None:
        """The last component of the URL path, if any."""
        return safe_filename(unquote(urlsplit(self._url).path))

    def _checked(self, url: str) -> str:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            raise DownloadError(
                f"the API gave a malformed download URL: {redact_url(url)}"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DownloadError(
                f"the API gave a download URL that is not http(s): {redact_url(url)}"
            )
        return url

    # -- the consumer's side -----------------------------------------------------------------

    def next_chunk(self) -> memoryview | None:
        """The next bytes of the object, or None at its verified end.

        The chunk is valid until the next call.

        Returns:
            A view of up to ``CHUNK_SIZE`` bytes at offset ``self.offset - len(chunk)``.

        Raises:
            Restart: Everything handed out so far must be dropped; call again for byte 0.
            DownloadError: The download failed for good (attempts used up, refused URL,
                missing object).
            IntegrityError: The bytes did not verify, twice.
        """
        while not self._done:
            if self._resp is None:
                self._open()
                continue
            buffer = self._pool.get()
            try:
                n = self._resp.readinto(buffer)
            except (OSError, http.client.HTTPException) as exc:
                self._pool.put(buffer)
                self._dropped(exc)
                continue
            if n == 0:
                self._pool.put(buffer)
                self._body_ended()
                continue
            view = memoryview(buffer)[:n]
            self.offset += n
            self._digests.update(view, functools.partial(self._pool.put, buffer))
            if self.object.size is not None and self.offset >= self.object.size:
                # Verify before the last bytes leave: a sink that commits on the last byte
                # (a bucket upload) must never see a bad download complete.
                self._close_response()
                self._verify()
            return view
        return None

    # -- requests ----------------------------------------------------------------------------

    def _connect(
        self, parts: SplitResult
    ) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
        """A connection for ``parts`` (through the environment's proxy, if any), the request
        target to send on it, and the headers the proxy needs."""
        host = parts.hostname or ""
        proxy = _proxy_for(parts)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        if parts.scheme == "https":
            if self._ssl is None:
                self._ssl = _ssl_context()
            if proxy is None:
                https = http.client.HTTPSConnection(
                    host, parts.port, timeout=self._timeout, context=self._ssl
                )
            else:
                https = http.client.HTTPSConnection(
                    proxy.hostname or "",
                    proxy.port or 8080,
                    timeout=self._timeout,
                    context=self._ssl,
                )
                https.set_tunnel(host, parts.port or 443, headers=_proxy_headers(proxy))
            return https, target, {}
        if proxy is None:
            return http.client.HTTPConnection(host, parts.port, timeout=self._timeout), target, {}
        # A plain-HTTP proxy gets the whole URL as the request target.
        conn = http.client.HTTPConnection(
            proxy.hostname or "", proxy.port or 8080, timeout=self._timeout
        )
        return conn, parts._replace(fragment="").geturl(), _proxy_headers(proxy)

    def _request(self, headers: dict[str, str]) -> http.client.HTTPResponse:
        """GET the URL (following redirects); the connection stays in ``self._conn``."""
        url = self._url
        for _ in range(MAX_REDIRECTS + 1):
            conn, target, proxy_headers = self._connect(urlsplit(url))
            self._conn = conn
            LOGGER.debug("GET %s %s", redact_url(url), headers.get("Range", ""))
            conn.request("GET", target, headers={**headers, **proxy_headers})
            resp = conn.getresponse()
            location = resp.getheader("Location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                self._close_response(resp)
                url = urljoin(url, location)
                continue
            return resp
        raise DownloadError(f"more than {MAX_REDIRECTS} redirects from {self.where}")

    def _open(self) -> None:
        """Send the next request and set up its body for reading (or fail, or restart)."""
        if self._attempts >= self._max_attempts:
            raise DownloadError(
                f"could not download {self.where}: {self._attempts} attempts failed "
                f"(last: {_describe(self._last_error)})"
            ) from None
        resuming = self.offset > 0
        known = self.object
        if resuming and known.validator is None and known.md5 is None and known.crc32c is None:
            # Nothing would tell that a resumed body belongs to the same object.
            self._start_over("the server gave no ETag or hash to resume against")
        if self._failures:
            time.sleep(min(self._backoff * 2 ** (self._failures - 1), BACKOFF_MAX))
        self._attempts += 1
        # "identity": the raw stored bytes, which the announced size and hashes describe.
        headers = {"Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        if resuming:
            headers["Range"] = f"bytes={self.offset}-"
            if known.validator is not None:
                headers["If-Range"] = known.validator
        started = self._attempt_offset = self.offset
        try:
            resp = self._request(headers)
        except http.client.InvalidURL:
            # Final, not a network hiccup; its message would quote the signed query.
            raise DownloadError(f"the download URL is malformed: {self.where}") from None
        except (OSError, http.client.HTTPException) as exc:
            self._dropped(exc, progress=False)
            return
        status = resp.status
        LOGGER.debug("-> HTTP %d from %s", status, self.where)
        if status == 200:
            self._resp = resp
            self._resp_end = _content_length(resp)
            self.object = RemoteObject.from_headers(resp.msg, size=self._resp_end)
            self._start_digests()
            if resuming:
                self.offset = 0
                LOGGER.debug("the server sent the whole object again: starting over")
                raise Restart
            return
        if status == 206 and resuming:
            problem = _range_problem(resp, started, self.object.size)
            if problem is None:
                self._resp = resp
                self._resp_end = self.object.size
                return
            self._close_response(resp)
            self._start_over(problem)
        self._close_response(resp)
        if status in REFUSED_STATUSES:
            self._refused(status)
        elif status == 416 and resuming:
            self._start_over("the server cannot serve the rest (HTTP 416)")
        elif status in TRANSIENT_STATUSES or status >= 500:
            self._dropped(DownloadError(f"HTTP {status}"), progress=False)
        elif status in (404, 410):
            raise DownloadError(
                f"there is no results archive at {self.where} (HTTP {status}); the job may "
                "have no results, or they were deleted"
            )
        else:
            raise DownloadError(f"storage answered HTTP {status} for {self.where}")

    def _refused(self, status: int) -> None:
        if self._refreshes >= URL_REFRESHES:
            raise DownloadError(
                f"storage refused the signed URL {self.where} (HTTP {status}) even after a fresh "
                "one was asked for; check the computer's clock and the project's access"
            )
        self._refreshes += 1
        self._attempts -= 1  # the refused request brought nothing and cost nothing
        LOGGER.debug("storage refused the signed URL (HTTP %d): asking for a fresh one", status)
        self._url = self._checked(self._get_url())

    def _start_over(self, why: str) -> None:
        LOGGER.debug("starting %s over: %s", self.where, why)
        self._close_response()
        self.offset = 0
        raise Restart

    def _start_digests(self) -> None:
        """Choose the digests for the object just announced (the body starts at byte 0)."""
        known = self.object
        crc32c = known.crc32c is not None and _CRC32C_EXTEND is not None
        md5 = known.md5 is not None and (self._verify_all or not crc32c)
        self._digests.start(md5=md5, crc32c=crc32c)

    def _dropped(self, exc: BaseException, *, progress: bool = True) -> None:
        """A request failed or its connection dropped: the next ``_open`` resumes."""
        self._close_response()
        self._last_error = exc
        made_progress = progress and self.offset > self._attempt_offset
        self._failures = 0 if made_progress else self._failures + 1
        LOGGER.debug(
            "download of %s interrupted at byte %d (%s)", self.where, self.offset, _describe(exc)
        )

    def _body_ended(self) -> None:
        """The response body has no more bytes: finished, or cut short."""
        if self._resp_end is not None and self.offset < self._resp_end:
            self._dropped(http.client.IncompleteRead(b"", self._resp_end - self.offset))
            return
        self._close_response()
        self._verify()

    def _close_response(self, resp: http.client.HTTPResponse | None = None) -> None:
        if resp is not None:
            resp.close()
        if self._resp is not None:
            self._resp.close()
            self._resp = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- verification ------------------------------------------------------------------------

    def _verify(self) -> None:
        """Check size and hashes; on a mismatch fetch afresh once, then give up."""
        problems = []
        expected = self.object
        if expected.size is not None and self.offset != expected.size:
            problems.append(f"{self.offset} bytes instead of {expected.size}")
        md5, crc = self._digests.result()
        if expected.md5 is not None and md5 is not None and md5 != expected.md5:
            problems.append(
                f"md5 {base64.b64encode(md5).decode()} instead of "
                f"{base64.b64encode(expected.md5).decode()}"
            )
        if expected.crc32c is not None and crc is not None and crc != expected.crc32c:
            problems.append(f"crc32c {crc:08x} instead of {expected.crc32c:08x}")
        if not problems:
            checked = [n for n, v in (("md5", md5), ("crc32c", crc)) if v is not None]
            LOGGER.debug(
                "verified %s: %d bytes, %s", self.where, self.offset, ", ".join(checked) or "size"
            )
            self._done = True
            return
        if self._fresh_downloads >= INTEGRITY_RETRIES:
            raise IntegrityError(
                f"the download of {self.where} did not match what the server announced "
                f"({'; '.join(problems)}), also after a fresh download; nothing was kept"
            )
        self._fresh_downloads += 1
        self._attempts = 0
        self._failures = 0
        LOGGER.debug("download did not verify (%s): fetching afresh", "; ".join(problems))
        self._url = self._checked(self._get_url())
        self.object = RemoteObject()
        self._start_over("it did not verify")


def _describe(exc: BaseException | None) -> str:
    """A one-line account of a failure, with any signature in it redacted."""
    if exc is None:
        return "no answer"
    text = SECRET_FILTER.redact(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ssl_context() -> ssl.SSLContext:
    """Certificates as httpx finds them: certifi's bundle (httpx depends on it)."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _content_length(resp: http.client.HTTPResponse) -> int | None:
    value = resp.getheader("Content-Length")
    if value is None or resp.getheader("Transfer-Encoding"):
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _range_problem(resp: http.client.HTTPResponse, offset: int, size: int | None) -> str | None:
    """Why a 206 answer does not continue the object at ``offset``, or None if it does."""
    value = resp.getheader("Content-Range") or ""
    unit, _, spec = value.strip().partition(" ")
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    try:
        start, end = int(first), int(last)
        whole = None if total == "*" else int(total)
    except ValueError:
        return f"an unreadable Content-Range {value!r}"
    if unit != "bytes" or start != offset or end < start:
        return f"Content-Range {value!r} does not start at byte {offset}"
    if size is not None and (whole != size or end != size - 1):
        return f"Content-Range {value!r} does not end the {size}-byte object"
    return None


# -- the part file ---------------------------------------------------------------------------


class PartFile:
    """The temporary file a download grows in, which readers may follow as it grows.

    It lives in the destination folder (so the final rename stays on one device) under a
    hidden ``.up42-*.part`` name; ``discard`` removes it.

    Args:
        directory: Where to create it.
    """

    def __init__(self, directory: Path) -> None:
        fd, self.path = open_temporary(directory, PART_PREFIX, ".part")
        self._fd: int | None = fd
        self._cond = threading.Condition()
        self.size = 0
        self.generation = 0
        self.finished = False
        self.abandoned = False

    def __enter__(self) -> PartFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    def write(self, view: memoryview) -> None:
        """Append bytes."""
        assert self._fd is not None
        n = len(view)
        while view:
            view = view[os.write(self._fd, view) :]
        with self._cond:
            self.size += n
            self._cond.notify_all()

    def reset(self) -> None:
        """Drop everything written: the download starts over."""
        assert self._fd is not None
        with self._cond:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self.size = 0
            self.generation += 1
            self._cond.notify_all()

    def finish(self) -> None:
        """Mark the file complete and verified (followers see its end) and close it."""
        self.close()
        with self._cond:
            self.finished = True
            self._cond.notify_all()

    def close(self) -> None:
        """Close the file (it stays on disk)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def abandon(self) -> None:
        """Tell followers to stop (the download failed or was interrupted)."""
        with self._cond:
            self.abandoned = True
            self._cond.notify_all()

    def discard(self) -> None:
        """Stop any follower, close and delete the file."""
        self.abandon()
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def follow(self) -> FollowReader:
        """A reader of the current generation of the file, from its first byte."""
        return FollowReader(self, self.generation)


class FollowReader:
    """Reads a ``PartFile`` while it grows: waits for bytes, ends when it is finished.

    Raises ``Superseded`` from ``read`` once the file starts over or is abandoned.
    """

    def __init__(self, part: PartFile, generation: int) -> None:
        self._part = part
        self._generation = generation
        self._file = part.path.open("rb", buffering=0)
        self._pos = 0

    def __enter__(self) -> FollowReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._file.close()

    def _available(self, at_least: int) -> int:
        """Bytes readable at the current position once ``at_least`` are (or the end is) there."""
        part = self._part
        with part._cond:
            while True:
                if part.generation != self._generation or part.abandoned:
                    raise Superseded
                available = part.size - self._pos
                if available >= at_least or part.finished:
                    return available
                part._cond.wait()

    def _check(self) -> None:
        with self._part._cond:
            if self._part.generation != self._generation or self._part.abandoned:
                raise Superseded

    def peek(self, n: int) -> bytes:
        """The first ``n`` bytes (fewer if the file is shorter) without moving on."""
        self._available(n)
        self._file.seek(0)
        head = self._file.read(n) or b""
        self._file.seek(self._pos)
        self._check()
        return head

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (``CHUNK_SIZE`` when negative); ``b""`` at the verified end."""
        want = CHUNK_SIZE if size < 0 else size
        available = self._available(1)
        if available <= 0:
            return b""
        data = self._file.read(min(want, available)) or b""
        # The file may have started over while we read: those bytes belong to nobody.
        self._check()
        self._pos += len(data)
        return data


# -- progress --------------------------------------------------------------------------------


@contextlib.contextmanager
def progress_reporter(
    progress: ProgressCallback | None, show_progress: bool | None, label: str
) -> Iterator[ProgressCallback]:
    """A ``(done, total)`` callback feeding the app's callback and, if wanted, a rich bar.

    Args:
        progress: The app's callback, if any.
        show_progress: Show a bar on stderr; None shows it when stderr is a terminal.
        label: The bar's description.

    Yields:
        The callback to call as bytes arrive.
    """
    if show_progress is None:
        show_progress = sys.stderr is not None and sys.stderr.isatty()
    if not show_progress:
        if progress is None:
            yield _ignore
        else:
            yield progress
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(label, total=None)

    def report(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)
        if progress is not None:
            progress(done, total)

    with bar:
        yield report


def _ignore(done: int, total: int | None) -> None:
    """A progress callback that does nothing."""


# -- consumers -------------------------------------------------------------------------------


def copy_to_part(
    transfer: Transfer,
    part: PartFile,
    report: ProgressCallback,
    *,
    on_restart: Callable[[], None] | None = None,
    after_chunk: Callable[[], None] | None = None,
) -> None:
    """Write the whole verified object into ``part``, starting over when told to.

    Args:
        transfer: The transfer to drain.
        part: The file to write.
        report: Progress callback.
        on_restart: Called after the part file was emptied for a new start.
        after_chunk: Called after each chunk (may raise to stop the download).

    Raises:
        DownloadError: See ``Transfer.next_chunk``.
        IntegrityError: See ``Transfer.next_chunk``.
    """
    while True:
        try:
            chunk = transfer.next_chunk()
        except Restart:
            part.reset()
            report(0, transfer.object.size)
            if on_restart is not None:
                on_restart()
            continue
        if chunk is None:
            break
        try:
            part.write(chunk)
        except OSError as exc:
            raise DownloadError(
                f"could not write the download to {part.path.parent}: {exc}"
            ) from exc
        report(transfer.offset, transfer.object.size)
        if after_chunk is not None:
            after_chunk()
    part.finish()


def make_folder(directory: Path) -> None:
    """Create the download folder (and its parents).

    Raises:
        DownloadError: It cannot be created (a file of that name, no permission, ...).
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot use {directory} as the download folder: {exc}") from exc


def archive_name(transfer: Transfer) -> str:
    """The name the server gives the archive: Content-Disposition, else the URL path."""
    return safe_filename(transfer.object.filename) or transfer.url_filename or FALLBACK_NAME


def download_file(
    get_url: Callable[[], str],
    directory: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    show_progress: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: float = DEFAULT_BACKOFF,
    verify: VerifyMode = DEFAULT_VERIFY,
) -> Path:
    """Download the object at a signed URL into ``directory``, verified, under its own name.

    The bytes go to a hidden temporary file in ``directory`` that is renamed into place
    only once complete and verified; on any failure (or Ctrl-C) it is removed.

    Args:
        get_url: Asks the API for a (fresh) signed URL; called once at the start, and again
            after storage refused the URL or a download did not verify.
        directory: The folder; created if missing.
        progress: Called with ``(bytes done, bytes total or None)`` as bytes arrive.
        show_progress: Show a progress bar; None shows one when stderr is a terminal.
        timeout: Seconds of silence before a connection counts as dropped.
        max_attempts: Requests per download (first one plus resumes) before giving up.
        backoff: First pause in seconds after a request that brought no bytes.
        verify: "auto" checks crc32c when storage announced one and google-crc32c is
            installed, else md5; "all" checks every announced hash (slower: md5).

    Returns:
        The path of the archive, named as Content-Disposition (or the URL path) says.

    Raises:
        DownloadError: The download could not be completed.
        IntegrityError: The bytes did not match the announced size or hash, also after a
            fresh download.
    """
    directory = Path(directory)
    make_folder(directory)
    with (
        Transfer(
            get_url, timeout=timeout, max_attempts=max_attempts, backoff=backoff, verify=verify
        ) as transfer,
        PartFile(directory) as part,
        progress_reporter(progress, show_progress, "results") as report,
    ):
        copy_to_part(transfer, part, report)
        final = directory / archive_name(transfer)
        try:
            part.path.replace(final)
        except OSError as exc:
            raise DownloadError(f"could not move the archive to {final}: {exc}") from exc
    LOGGER.debug("downloaded %s to %s", transfer.where, final)
    return final


def stream_to_blob(
    get_url: Callable[[], str],
    blob: Any,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: float = DEFAULT_BACKOFF,
    chunk_size: int = BLOB_CHUNK_SIZE,
    verify: VerifyMode = DEFAULT_VERIFY,
) -> None:
    """Stream the object at a signed URL into a google-cloud-storage blob, chunk by chunk.

    Uses ``blob.open("wb", chunk_size=...)``: a resumable upload that holds one chunk in
    memory and is cancelled when the download fails, so a bad or partial download never
    becomes an object. The download is verified before its last bytes are handed over.

    Args:
        get_url: Asks the API for a (fresh) signed URL.
        blob: A ``google.cloud.storage.Blob`` (or anything with a compatible ``open``).
        timeout: Seconds of silence before a connection counts as dropped.
        max_attempts: Requests per download before giving up.
        backoff: First pause in seconds after a request that brought no bytes.
        chunk_size: Bytes per upload request (a multiple of 256 KiB).
        verify: "auto" or "all", as for ``download_file``.

    Raises:
        DownloadError: The download could not be completed; the upload was cancelled.
        IntegrityError: The bytes did not verify, also after a fresh download; the upload
            was cancelled.
    """
    _require_cancellable_uploads(blob)
    with Transfer(
        get_url,
        timeout=timeout,
        max_attempts=max_attempts,
        backoff=backoff,
        threaded_hash=False,
        verify=verify,
    ) as transfer:
        while True:
            try:
                chunk = transfer.next_chunk()
                options: dict[str, Any] = {"chunk_size": chunk_size}
                if transfer.object.content_type:
                    options["content_type"] = transfer.object.content_type
                with blob.open("wb", **options) as writer:
                    while chunk is not None:
                        writer.write(chunk)
                        chunk = transfer.next_chunk()
            except Restart:
                LOGGER.debug("upload cancelled: the download of %s starts over", transfer.where)
                continue
            LOGGER.debug("streamed %s (%d bytes) to a blob", transfer.where, transfer.offset)
            return


def _require_cancellable_uploads(blob: Any) -> None:
    """Refuse google-cloud-storage before 3.0, whose writer commits even when a ``with`` fails.

    From 3.0 on, leaving ``blob.open("wb")`` with an exception cancels the resumable upload
    (``BlobWriter.terminate``); 2.x closes it instead, which would publish a partial object.

    Raises:
        ConfigurationError: The blob comes from google-cloud-storage older than 3.0.
    """
    if not type(blob).__module__.startswith("google.cloud.storage"):
        return  # a stand-in: it brings its own semantics
    from google.cloud import storage

    major = int(str(getattr(storage, "__version__", "0")).split(".")[0] or 0)
    if major < 3:
        raise ConfigurationError(
            f"upload_results_to_bucket needs google-cloud-storage >= 3.0 (found "
            f"{storage.__version__}): older versions publish a partial object when a download "
            "fails; upgrade with: pip install -U 'google-cloud-storage>=3'"
        )


def open_temporary(directory: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new file to fill and rename into place: like ``mkstemp``, but readable as a plain
    ``open`` would make it (0666 less the umask), since it becomes the user's file.

    Returns:
        The open descriptor (read-write) and the file's path.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = directory / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    fd, temporary = open_temporary(path.parent, f".{path.name}.", ".part")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
