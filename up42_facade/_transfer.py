"""One object at a signed URL, fetched over as many requests as it takes, and verified.

A ``Transfer`` hands out the object's bytes in order and hides what it takes to get them:

- a dropped connection resumes with ``Range`` and ``If-Range``; an answer of 200, or a
  ``Content-Range`` that does not fit, starts over (the consumer is told by ``Restart``);
- waits between attempts, the number of attempts and the deadline follow the session's
  ``RetryPolicy``, ``Retry-After`` included; a request that brought bytes resumes at once;
- a refused signed URL (400/401/403: expired) is replaced once by a fresh one from the API;
- the bytes are checked against ``Content-Length`` and ``x-goog-hash`` (see
  ``_integrity``) before the last chunk is handed out; a mismatch starts over once with a
  fresh URL, then raises ``IntegrityError``.

A transfer can also fetch one slice (a ``span``) of an object whose size and validator are
known: every request then asks for that range with ``If-Range``, at most the slice's crc32c
is computed (whoever assembles the slices checks the whole object, see ``_slices``), and an
answer of the whole object instead of the range raises ``RangeRefused``.

Messages and logs name the URL as ``scheme://host/path``: the query string holds the
signature.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from ._cancel import NEVER, Cancel
from ._errors import DownloadError, IntegrityError
from ._integrity import Digests, RemoteObject, mismatches, wanted_digests
from ._network import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Network
from ._options import DownloadOptions
from ._redact import describe, redact_url
from ._retry import Attempts, RetryPolicy, parse_retry_after
from ._storage import StorageClient, StorageResponse, checked_url

__all__ = ["CHUNK_SIZE", "RangeRefused", "Restart", "SignedUrl", "Transfer", "TransferSettings"]

LOGGER = logging.getLogger("up42_facade")

#: Bytes per read from the socket: 1 MiB reads into reused buffers matched curl's
#: throughput over loopback; smaller reads cost more Python calls per byte.
CHUNK_SIZE = 1 << 20
#: Buffers in flight between the socket reader and the hashing thread (so 4 MiB at most):
#: enough to keep both busy, small enough to keep memory flat.
POOL_BUFFERS = 4
#: Fresh signed URLs asked for after storage refused one (GCS answers 400 ExpiredToken,
#: 403 AccessDenied or SignatureDoesNotMatch for a URL past its expiry).
URL_REFRESHES = 1
#: Fresh downloads after one did not match its size or hash, before IntegrityError.
INTEGRITY_RETRIES = 1
#: Statuses of a refused signed URL.
REFUSED_STATUSES = frozenset({400, 401, 403})
#: Statuses worth another try after a pause; any other 5xx counts too.
TRANSIENT_STATUSES = frozenset({408, 429})


class Restart(Exception):  # noqa: N818 - a signal between this module and its consumers
    """The transfer starts over from byte 0: drop everything received so far."""


class RangeRefused(Exception):  # noqa: N818 - a signal to the one who sliced the object
    """Storage answered a slice's ranged request with the whole object: it ignores ``Range``,
    or the object changed (its ETag no longer matches ``If-Range``)."""


class SignedUrl:
    """The object's signed URL, shared by all the transfers of one download.

    Args:
        get_url: Asks the API for a (fresh) signed URL; called at once.
    """

    def __init__(self, get_url: Callable[[], str]) -> None:
        self._get_url = get_url
        self._lock = threading.Lock()
        self.url = _checked(get_url())

    def fresh(self, stale: str) -> str:
        """A URL other than ``stale``: asks the API unless another transfer already did."""
        with self._lock:
            if self.url == stale:
                self.url = _checked(self._get_url())
            return self.url


@dataclass(frozen=True)
class TransferSettings:
    """What every transfer of a session shares: the storage transport and the retry rules.

    Attributes:
        storage: Connections to storage, over the session's network configuration.
        policy: The session's retry policy.
        sleep: Waits between attempts (the session's, swappable in tests).
        clock: Monotonic clock for deadlines.
        cancel: Set from another thread to stop the transfer at once (the async front
            door's cancellation); its connection is closed and ``Cancelled`` raised.
    """

    storage: StorageClient = field(
        default_factory=lambda: StorageClient(
            Network(), connect_timeout=DEFAULT_CONNECT_TIMEOUT, read_timeout=DEFAULT_READ_TIMEOUT
        )
    )
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    cancel: Cancel = NEVER


class Transfer:
    """One object at a signed URL, fetched over as many requests as it takes.

    ``next_chunk`` hands out the bytes in order; it raises ``Restart`` when the bytes
    handed out so far must be dropped (the server could not resume, or the finished
    download did not verify and is fetched afresh), and returns None at the verified end.

    Args:
        get_url: Asks the API for a (fresh) signed URL, or the download's shared one.
        settings: The session's storage transport, retry policy and sleep.
        options: Integrity, timeout and attempts of this download.
        threaded_hash: Hash md5 on a worker thread (for speed; the consumer must be done
            with each chunk before asking for the next one either way).
        span: Fetch only these bytes of the object (``known`` must give its size and
            validator); ``next_chunk`` returns None once they all came.
        known: What is known of the object (a slice's: from the first answer or a journal).
        span_crc32c: Compute the slice's crc32c (``crc32c`` after the end).

    Example:
        >>> with Transfer(get_url, settings=TransferSettings()) as transfer:  # doctest: +SKIP
        ...     while (chunk := transfer.next_chunk()) is not None:
        ...         sink.write(chunk)
    """

    def __init__(
        self,
        get_url: Callable[[], str] | SignedUrl,
        *,
        settings: TransferSettings,
        options: DownloadOptions,
        threaded_hash: bool = True,
        span: tuple[int, int] | None = None,
        known: RemoteObject | None = None,
        span_crc32c: bool = False,
    ) -> None:
        self._settings = settings
        self._options = options
        self._urls = get_url if isinstance(get_url, SignedUrl) else SignedUrl(get_url)
        self._url = self._urls.url
        self._attempts = Attempts(
            settings.policy, max_attempts=options.max_attempts, clock=settings.clock
        )
        self._refreshes = 0
        self._fresh_downloads = 0
        self._attempt_offset = 0
        self._last_error: BaseException | None = None
        self._answer: StorageResponse | None = None
        self._resp_end: int | None = None
        self._done = False
        self.object = known or RemoteObject()
        self.offset = span[0] if span else 0
        #: Where this transfer stops (None: the object's end); a slice checks no hashes.
        self._end = span[1] if span else None
        self._slice = span is not None
        self.accepts_ranges = False
        self._digests = Digests(threaded=threaded_hash)
        # Buffers are made when first needed: a small object needs one, not the whole pool
        # (zeroing 4 MiB per download was about a third of a small download's CPU: 50
        # downloads of 37 KiB archives took 1.25-1.44 s of CPU before, 0.80-0.97 s after).
        self._pool: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._buffers_left = POOL_BUFFERS if threaded_hash else 1
        self._cancel = settings.cancel
        self._on_cancel = contextlib.ExitStack()
        self._on_cancel.enter_context(self._cancel.hook(self._abort))
        if span is not None:
            self._digests.start(md5=False, crc32c=span_crc32c)

    def _buffer(self) -> bytearray:
        """A free buffer: a returned one, a new one while the pool is not full, else the next
        one the hashing thread gives back."""
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            if self._buffers_left:
                self._buffers_left -= 1
                return bytearray(CHUNK_SIZE)
            return self._pool.get()

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
        self._on_cancel.close()
        self._close_answer()
        self._digests.close()

    def _abort(self) -> None:
        """Cancelled (from another thread): unblock a read of the current answer."""
        answer = self._answer
        if answer is not None:
            answer.abort()

    @property
    def where(self) -> str:
        """The URL without its query, for messages."""
        return redact_url(self._url)

    def open(self) -> RemoteObject:
        """Send the first request (retrying as the policy says) and read what the answer
        announces about the object, before any of its bytes.

        Raises:
            DownloadError: As ``next_chunk``.
        """
        while self._answer is None and not self._done:
            self._cancel.check()
            self._open()
        return self.object

    def stop_at(self, end: int, *, keep_crc32c: bool = False) -> None:
        """Fetch only up to ``end`` (exclusive), as the first slice of the object: no md5, and
        crc32c only with ``keep_crc32c`` (``crc32c`` then gives the slice's)."""
        self._end = end
        self._slice = True
        if keep_crc32c:
            self._digests.drop_md5()
        else:
            self._digests.start(md5=False, crc32c=False)

    @property
    def crc32c(self) -> int | None:
        """The crc32c of the bytes handed out so far, if computed."""
        return self._digests.result()[1]

    # -- the consumer's side -----------------------------------------------------------------

    def next_chunk(self) -> memoryview | None:
        """The next bytes of the object, or None at its verified end.

        The chunk is valid until the next call.

        Returns:
            A view of up to ``CHUNK_SIZE`` bytes at offset ``self.offset - len(chunk)``.

        Raises:
            Restart: Everything handed out so far must be dropped; call again for byte 0.
            DownloadError: The download failed for good (attempts or time used up, refused
                URL, missing object, untrusted certificate).
            IntegrityError: The bytes did not verify, twice.
        """
        while not self._done:
            self._cancel.check()
            if self._answer is None:
                self._open()
                continue
            buffer = self._buffer()
            into = buffer if self._end is None else memoryview(buffer)[: self._end - self.offset]
            try:
                n = self._answer.response.readinto(into)
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
            end = self.object.size if self._end is None else self._end
            if end is not None and self.offset >= end:
                # Verify before the last bytes leave: a sink that commits on the last byte
                # (a bucket upload) must never see a bad download complete.
                self._close_answer()
                self._verify()
            return view
        return None

    # -- requests ----------------------------------------------------------------------------

    def _open(self) -> None:
        """Send the next request and set up its body for reading (or fail, or restart)."""
        resuming = self.offset > 0 or self._slice
        known = self.object
        if resuming and known.validator is None and known.md5 is None and known.crc32c is None:
            # Nothing would tell that a resumed body belongs to the same object.
            self._start_over("the server gave no ETag or hash to resume against")
        self._attempts.begin()
        # "identity": the raw stored bytes, which the announced size and hashes describe.
        headers = {"Accept-Encoding": "identity"}
        if resuming:
            last = "" if self._end is None else str(self._end - 1)
            headers["Range"] = f"bytes={self.offset}-{last}"
            if known.validator is not None:
                headers["If-Range"] = known.validator
        started = self._attempt_offset = self.offset
        try:
            answer = self._settings.storage.get(
                self._url, headers, read_timeout=self._options.timeout
            )
        except (OSError, http.client.HTTPException) as exc:
            self._dropped(exc, progress=False)
            return
        status = answer.status
        LOGGER.debug("-> HTTP %d from %s", status, self.where)
        if status == 200 and self._slice:
            answer.close()
            raise RangeRefused
        if status == 200:
            self._answer = answer
            self.accepts_ranges = (answer.header("Accept-Ranges") or "").strip() == "bytes"
            self._resp_end = _content_length(answer)
            self.object = RemoteObject.from_headers(answer.response.msg, size=self._resp_end)
            md5, crc32c = wanted_digests(self.object, self._options.integrity)
            self._digests.start(md5=md5, crc32c=crc32c)
            if resuming:
                self.offset = 0
                LOGGER.debug("the server sent the whole object again: starting over")
                raise Restart
            return
        if status == 206 and resuming:
            problem = _range_problem(answer, started, self.object.size, self._end)
            if problem is None:
                self._answer = answer
                self._resp_end = self.object.size if self._end is None else self._end
                return
            answer.close()
            self._start_over(problem)
        answer.close()
        if status in REFUSED_STATUSES:
            self._refused(status)
        elif status == 416 and resuming:
            self._start_over("the server cannot serve the rest (HTTP 416)")
        elif status in TRANSIENT_STATUSES or status >= 500:
            retry_after = parse_retry_after(answer.header("Retry-After"))
            self._dropped(DownloadError(f"HTTP {status}"), progress=False, retry_after=retry_after)
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
        self._attempts.give_back()  # the refused request brought nothing and cost nothing
        LOGGER.debug("storage refused the signed URL (HTTP %d): asking for a fresh one", status)
        self._url = self._urls.fresh(self._url)

    def _start_over(self, why: str) -> None:
        LOGGER.debug("starting %s over: %s", self.where, why)
        self._close_answer()
        if self._slice:
            raise RangeRefused(why)
        self.offset = 0
        raise Restart

    def _dropped(
        self, exc: BaseException, *, progress: bool = True, retry_after: float | None = None
    ) -> None:
        """A request failed or its connection dropped: wait as the policy says, or give up.

        Raises:
            DownloadError: Attempts or time ran out.
            Cancelled: The transfer was cancelled (its connection was closed for that).
        """
        self._cancel.check()
        self._close_answer()
        self._last_error = exc
        made_progress = progress and self.offset > self._attempt_offset
        LOGGER.debug(
            "download of %s interrupted at byte %d (%s)", self.where, self.offset, describe(exc)
        )
        wait = self._attempts.next_wait(retry_after=retry_after, progressed=made_progress)
        if wait is None:
            raise DownloadError(
                f"could not download {self.where}: gave up after {self._attempts.made} "
                f"attempt{'s' if self._attempts.made != 1 else ''} "
                f"(last: {describe(self._last_error)}); try again later, or raise "
                "max_attempts or the session's RetryPolicy deadline"
            ) from None
        if wait > 0:
            self._settings.sleep(wait)
            self._cancel.check()

    def _body_ended(self) -> None:
        """The response body has no more bytes: finished, or cut short."""
        if self._resp_end is not None and self.offset < self._resp_end:
            self._dropped(http.client.IncompleteRead(b"", self._resp_end - self.offset))
            return
        self._close_answer()
        self._verify()

    def _close_answer(self) -> None:
        if self._answer is not None:
            self._answer.close()
            self._answer = None

    # -- verification ------------------------------------------------------------------------

    def _verify(self) -> None:
        """Check size and hashes; on a mismatch fetch afresh once, then give up."""
        if self._slice:
            self._done = True  # its bytes all came (206 answers checked); the whole is checked
            return
        md5, crc = self._digests.result()
        problems = mismatches(self.object, self.offset, md5, crc)
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
        self._attempts.reset()
        LOGGER.debug("download did not verify (%s): fetching afresh", "; ".join(problems))
        self._url = self._urls.fresh(self._url)
        self.object = RemoteObject()
        self._start_over("it did not verify")


def _content_length(answer: StorageResponse) -> int | None:
    value = answer.header("Content-Length")
    if value is None or answer.header("Transfer-Encoding"):
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _checked(url: str) -> str:
    checked_url(url)
    return url


def _range_problem(
    answer: StorageResponse, offset: int, size: int | None, stop: int | None = None
) -> str | None:
    """Why a 206 answer does not continue the object at ``offset`` (up to ``stop``, else its
    end), or None if it does."""
    value = answer.header("Content-Range") or ""
    unit, _, spec = value.strip().partition(" ")
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    try:
        start, last_byte = int(first), int(last)
        whole = None if total == "*" else int(total)
    except ValueError:
        return f"an unreadable Content-Range {value!r}"
    if unit != "bytes" or start != offset or last_byte < start:
        return f"Content-Range {value!r} does not start at byte {offset}"
    if size is not None and whole != size:
        return f"Content-Range {value!r} does not end the {size}-byte object"
    wanted = size if stop is None else stop
    if wanted is not None and last_byte != wanted - 1:
        return f"Content-Range {value!r} does not end at byte {wanted - 1}"
    return None
