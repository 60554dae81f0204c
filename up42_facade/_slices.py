"""One object into a part file: one stream, or slices over several connections; verified.

Over a real network one TCP connection to cloud storage runs well below the line's speed,
so a large object (``SLICE_THRESHOLD`` or more, from storage that announces
``Accept-Ranges: bytes`` and an ETag) that the first connection would take more than
``SLICE_AFTER`` seconds to bring is fetched as slices over up to ``max_connections`` ranged
connections at once, each written at its offset into the one part file:

- the first request is a plain GET; its answer says how large the object is, its first
  bytes how fast one connection is, and it becomes the first slice (it stops at the
  slice's end), so slicing costs no extra round trip;
- each slice is a ``Transfer`` of its span: it resumes on its own after a drop, under the
  session's ``RetryPolicy``, and asks with ``If-Range``, so an object that changed (or
  storage that ignores ``Range``) answers with all of itself: then the download starts over
  as one stream;
- the whole object is still checked against its size and ``x-goog-hash``: each slice
  computes its crc32c as it arrives and the object's is composed from them
  (``crc32c_combine``), so nothing is read twice; when md5 is checked (``integrity="all"``,
  or storage announced no crc32c), a hasher follows the part file's contiguous prefix, as
  the unpacker does, and the slices are smaller so that the prefix grows steadily;
- memory stays at one 1 MiB buffer per connection.

Smaller objects, storage without ranges and ``max_connections=1`` take one stream, hashed as
it arrives (``Transfer``). With a journal (``_journal``) a download continues from the bytes
a previous run left: only the missing ranges are fetched.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import errno
import functools
import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._cancel import Cancel, Cancelled
from ._errors import DownloadError, IntegrityError
from ._integrity import Digests, RemoteObject, crc32c_combine, mismatches, wanted_digests
from ._journal import Journal
from ._options import DownloadOptions
from ._partfile import PartFile, Span, Superseded
from ._progress import ProgressCallback
from ._redact import redact_url
from ._transfer import (
    CHUNK_SIZE,
    INTEGRITY_RETRIES,
    RangeRefused,
    Restart,
    SignedUrl,
    Transfer,
    TransferSettings,
)

__all__ = ["SLICE_THRESHOLD", "PartFetch", "disk_full", "plan_slices"]

LOGGER = logging.getLogger("up42_facade")

#: Objects from this size on are sliced. Measured against the sandbox (median of 3, slicing
#: forced on, 8 connections against 1): at 16 MiB/s per connection and 40 ms, 4 MiB took
#: 0.99x the time of one stream (one slice), 8 MiB 0.64x, 16 MiB 0.34x, 32 MiB 0.21x; over
#: loopback, where nothing caps a connection, slicing cost 5 ms at 8 MiB and 16 ms at 16 MiB.
SLICE_THRESHOLD = 8 << 20
#: Slice only when the first connection would take longer than this for the rest of the
#: object, at the speed of its first ``PROBE_BYTES`` (or ``PROBE_SECONDS``). On a WAN link
#: that is every object past the threshold (16 MiB/s: 60 ms for the first MiB); over
#: loopback, where one connection brings 256 MiB in 0.3 s, a slicing's extra connections,
#: threads and hashing cost more than they bring (0.32 s against 0.28 s for 256 MiB; 0.80 s
#: against 0.51 s with md5 checked, which then reads the file again).
SLICE_AFTER = 1.0
PROBE_BYTES = 2 << 20
PROBE_SECONDS = 0.05
#: Bounds of one slice: small enough that the contiguous prefix (which the unpacker follows)
#: keeps growing on a many-GiB object, large enough that a request's round trip is a small
#: part of a slice's time.
MIN_SLICE = 4 << 20
MAX_SLICE = 64 << 20
#: Slices of a download hashed in order (md5): small, so the contiguous prefix the hasher
#: follows grows with the download rather than at its end.
IN_ORDER_SLICE = 8 << 20
#: How often the journal is rewritten at most, and the longest the waiting thread goes
#: without checking the unpacker, in seconds.
TICK = 0.1


def plan_slices(missing: list[Span], connections: int, *, max_slice: int = MAX_SLICE) -> list[Span]:
    """The slices to fetch ``missing`` over ``connections`` connections, in object order.

    Each connection gets about one slice (the connections are capped alike, so they end
    together), within ``MIN_SLICE`` and ``max_slice`` and whole MiBs.

    Example:
        >>> plan_slices([(0, 64 << 20)], 4) == [(i << 24, (i + 1) << 24) for i in range(4)]
        True
    """
    total = sum(last - first for first, last in missing)
    size = min(max(math.ceil(total / max(connections, 1)), MIN_SLICE), max_slice)
    size = math.ceil(size / CHUNK_SIZE) * CHUNK_SIZE
    return [
        (start, min(start + size, last))
        for first, last in missing
        for start in range(first, last, size)
    ]


def disk_full(
    folder: Path,
    needed: int | None,
    *,
    kept: bool,
    doing: str = "the download",
    in_all: bool = False,
) -> DownloadError:
    """The error for a disk that filled up while writing into ``folder``.

    Args:
        folder: Where the bytes went.
        needed: The bytes needed (a lower bound), if known.
        kept: Whether the bytes downloaded so far wait for the next call.
        doing: What filled the disk.
        in_all: ``needed`` counts everything ``doing`` writes, not only what is left.
    """
    try:
        free = f" ({_human(shutil.disk_usage(folder).free)} free)"
    except OSError:
        free = ""
    need = (
        f"needs at least {_human(needed)} {'in all' if in_all else 'more'}"
        if needed is not None
        else "needs more space"
    )
    after = (
        "the bytes downloaded so far are kept and will not be fetched again"
        if kept
        else "nothing was kept"
    )
    return DownloadError(
        f"the disk is full: {doing} into {folder} {need}{free}; free some space and "
        f"download again ({after})"
    )


def _human(size: int) -> str:
    """``size`` bytes in MiB, or GiB from 10 GiB on."""
    if size >= 10 << 30:
        return f"{size / (1 << 30):.1f} GiB"
    return f"{size / (1 << 20):.1f} MiB"


class PartFetch:
    """Fetches one object into a part file, verified: one stream or slices.

    Args:
        urls: The object's signed URL (shared by every connection).
        part: The file to fill (a named one when resuming).
        settings: The session's storage transport, retry policy, sleep and cancel.
        options: Integrity, timeout, attempts and connections.
        journal: Where to record (and find) the ranges on disk; None: no resume.
        report: Progress callback, ``(bytes on disk, size)``.
        on_restart: Called after the part file was emptied for a new start.
        after_chunk: Called between chunks (may raise to stop the download).
    """

    def __init__(
        self,
        urls: SignedUrl,
        part: PartFile,
        *,
        settings: TransferSettings,
        options: DownloadOptions,
        journal: Journal | None,
        report: ProgressCallback,
        on_restart: Callable[[], None] | None = None,
        after_chunk: Callable[[], None] | None = None,
    ) -> None:
        self._urls = urls
        self._part = part
        self._settings = settings
        self._options = options
        self._journal = journal
        self._report = report
        self._on_restart = on_restart
        self._after_chunk = after_chunk
        self._saved_at = time.monotonic()
        #: Set by a slice's thread after each chunk it wrote: wakes the waiting thread.
        self._progressed = threading.Event()
        #: ``(start, end, crc32c)`` of each slice fetched, when crc32c is composed.
        self._slice_crcs: list[tuple[int, int, int | None]] = []
        #: What storage announced about the object (after ``run`` started).
        self.object = RemoteObject()
        #: Whether the object is complete and verified in the part file.
        self.completed = False
        self.where = redact_url(urls.url)

    # -- the whole download ------------------------------------------------------------------

    def run(self) -> RemoteObject:
        """Fetch the object into the part file and verify it; the part file is finished.

        Raises:
            DownloadError: The download failed for good, or the disk is full.
            IntegrityError: The bytes did not verify, also after a fresh download.
            Cancelled: The session's cancel was set.
        """
        resumed = self._resumed()
        single = self._options.connections == 1
        fresh_downloads = 0
        while True:
            try:
                with self._attempt() as stop:
                    if resumed is not None:
                        problems = self._resume(resumed, stop)
                    else:
                        fetched = self._fetch(stop, single=single)
                        if fetched is None:
                            return self._finish()  # one stream, verified as it arrived
                        problems = fetched
            except RangeRefused as refused:
                LOGGER.debug("storage answered a slice with the whole object (%s)", refused)
                # A resumed download whose object changed starts afresh (and may slice); a
                # fresh one whose slices were refused continues as one stream.
                single = single or resumed is None
                resumed = None
                self._start_over()
                continue
            if not problems:
                return self._finish()
            if fresh_downloads >= INTEGRITY_RETRIES:
                raise IntegrityError(
                    f"the download of {self.where} did not match what the server announced "
                    f"({'; '.join(problems)}), also after a fresh download; nothing was kept"
                )
            fresh_downloads += 1
            LOGGER.debug("download did not verify (%s): fetching afresh", "; ".join(problems))
            self._urls.fresh(self._urls.url)
            resumed = None
            self._start_over()

    def _resume(self, known: RemoteObject, stop: Cancel) -> list[str]:
        """Fetch what a previous run did not leave on disk; the mismatches of the whole,
        read again in order (the earlier bytes were never hashed in this process)."""
        size = known.size or 0
        missing = self._part.missing(size)
        LOGGER.debug(
            "resuming %s: %d of %d bytes on disk", self.where, self._part.bytes_on_disk, size
        )
        # Nothing missing: fetch the last byte again, so storage confirms the ETag.
        slices = plan_slices(missing or [(size - 1, size)], self._options.connections)
        self._slices(slices, stop, probe=None)
        md5, crc32c = wanted_digests(known, self._options.integrity)
        return self._verify(*self._hash_in_order(md5=md5, crc32c=crc32c))

    def _fetch(self, stop: Cancel, *, single: bool) -> list[str] | None:
        """A fresh download: one stream (None: verified as it came) or slices (the
        mismatches of the whole object)."""
        # The first request uses the session's settings as they are (its sleep included);
        # ``stop`` aborts its connection when another slice fails.
        probe = Transfer(
            self._urls,
            settings=dataclasses.replace(self._settings, cancel=stop),
            options=self._options,
        )
        with probe:
            self.object = probe.open()
            if single or not self._sliceable(probe) or not self._slow(probe):
                self._stream(probe)
                return None
            md5, crc32c = wanted_digests(self.object, self._options.integrity)
            slices = plan_slices(
                [(0, self.object.size or 0)],
                self._options.connections,
                max_slice=IN_ORDER_SLICE if md5 else MAX_SLICE,
            )
            probe.stop_at(slices[0][1], keep_crc32c=crc32c)
            in_order = self._slices(slices, stop, probe=probe, crc32c=crc32c, in_order=md5)
        digest, hashed = in_order or (None, self._part.bytes_on_disk)
        return self._verify(digest, self._composed_crc32c() if crc32c else None, hashed)

    def _slow(self, probe: Transfer) -> bool:
        """Read the first bytes as one stream; whether one connection would take longer
        than ``SLICE_AFTER`` for the rest at their speed."""
        clock = self._settings.clock
        started = clock()
        self._stream(
            probe,
            until=lambda: probe.offset >= PROBE_BYTES or clock() - started >= PROBE_SECONDS,
        )
        elapsed = max(clock() - started, 1e-6)
        left = (self.object.size or 0) - probe.offset
        slow = left * elapsed > SLICE_AFTER * max(probe.offset, 1)
        LOGGER.debug(
            "%s: %d bytes in %.3f s over one connection; %s",
            self.where,
            probe.offset,
            elapsed,
            "slicing the rest" if slow else "one stream is fast enough",
        )
        return slow

    def _composed_crc32c(self) -> int | None:
        """The object's crc32c from its slices' (in object order)."""
        total: int | None = None
        for first, last, crc in sorted(self._slice_crcs):
            if crc is None:
                return None
            total = crc if total is None else crc32c_combine(total, crc, last - first)
        return total

    def _finish(self) -> RemoteObject:
        self._part.finish()
        self.completed = True
        return self.object

    def keep(self, *, worth_it: bool = True) -> bool:
        """After a failure: record what is on disk so the next run can resume, or remove the
        journal; whether the part file is kept (it has bytes of an object with an ETag).

        Args:
            worth_it: False when the bytes must not be used again (they did not verify, or
                the archive was refused).
        """
        journal = self._journal
        if journal is None:
            return False
        known = self.object
        if worth_it and known.validator and known.size and self._part.bytes_on_disk:
            try:
                journal.save(known, self._part.spans)
            except OSError as exc:  # a full disk, say: without a journal the part is useless
                LOGGER.debug("could not write the journal %s: %s", journal.path, exc)
            else:
                self._part.keep()
                return True
        journal.remove()
        return False

    def _resumed(self) -> RemoteObject | None:
        """What a previous run left in the part file, adopted; None to start afresh."""
        if self._journal is None:
            return None
        found = self._journal.load()
        if found is not None:
            self._part.adopt(found[1])
        if found is None or self._part.bytes_on_disk == 0:
            if self._part.path.stat().st_size:  # bytes without a usable journal
                self._start_over()
            return None
        known = found[0]
        self.object = known
        return known

    def _start_over(self) -> None:
        self._part.reset()
        if self._journal is not None:
            self._journal.remove()
        self._report(0, self.object.size)
        if self._on_restart is not None:
            self._on_restart()

    def _sliceable(self, probe: Transfer) -> bool:
        known = probe.object
        return (
            probe.accepts_ranges
            and known.validator is not None
            and known.size is not None
            and known.size >= SLICE_THRESHOLD
        )

    @contextlib.contextmanager
    def _attempt(self) -> Iterator[Cancel]:
        """A cancel for the transfers of one attempt, set when the session's is: stops them
        all together."""
        stop = Cancel()
        with self._settings.cancel.hook(stop.set):
            yield stop

    # -- one stream ----------------------------------------------------------------------------

    def _stream(self, transfer: Transfer, until: Callable[[], bool] | None = None) -> None:
        """Write the object from one transfer (hashed by it as it arrives), to its end or
        until ``until()`` says so after a chunk."""
        while until is None or not until():
            try:
                chunk = transfer.next_chunk()
            except Restart:
                self._start_over()
                continue
            if chunk is None:
                return
            self._write(transfer.offset - len(chunk), chunk)
            self._report(transfer.offset, self.object.size)
            self._tick()
            if self._after_chunk is not None:
                self._after_chunk()

    # -- slices --------------------------------------------------------------------------------

    def _slices(
        self,
        slices: list[Span],
        stop: Cancel,
        *,
        probe: Transfer | None,
        crc32c: bool = False,
        in_order: bool = False,
    ) -> tuple[bytes | None, int] | None:
        """Fetch ``slices`` over up to ``max_connections`` connections (``probe``'s answer
        is the first one's), while this thread reports progress and keeps the journal.

        Args:
            slices: The spans to fetch, in object order.
            stop: Stops every connection of this attempt.
            probe: The first request's transfer, stopped at the first slice's end.
            crc32c: Compute each slice's crc32c (into ``_slice_crcs``).
            in_order: Compute the object's md5 meanwhile, in order.

        Returns:
            With ``in_order``: the md5 digest and the number of bytes hashed.

        Raises:
            RangeRefused: A slice was answered with the whole object.
            DownloadError: A slice failed for good (the others are stopped).
        """
        queue = collections.deque(slices[1:] if probe is not None else slices)
        lock = threading.Lock()

        def next_slice() -> Span | None:
            with lock:
                return queue.popleft() if queue else None

        connections = min(self._options.connections, len(slices))
        LOGGER.debug(
            "fetching %s as %d slices over %d connections", self.where, len(slices), connections
        )
        # A stopped slice notices at once, also in the middle of a wait between attempts.
        settings = dataclasses.replace(
            self._settings, cancel=stop, sleep=functools.partial(_sleep, self._settings.sleep, stop)
        )
        self._slice_crcs = []
        with concurrent.futures.ThreadPoolExecutor(
            connections + (1 if in_order else 0), thread_name_prefix="up42-slice"
        ) as pool:
            work = [
                pool.submit(
                    self._fetch_slices,
                    next_slice,
                    settings,
                    crc32c,
                    slices[0] if i == 0 else None,
                    probe if i == 0 else None,
                )
                for i in range(connections)
            ]
            hasher = pool.submit(self._hash_in_order, md5=True) if in_order else None
            try:
                self._wait(work if hasher is None else [*work, hasher])
            except BaseException:
                stop.set()
                self._part.supersede()  # the hasher stops waiting for bytes
                raise
        if hasher is None:
            return None
        digest, _, hashed = hasher.result()
        return digest, hashed

    def _fetch_slices(
        self,
        next_slice: Callable[[], Span | None],
        settings: TransferSettings,
        crc32c: bool,
        first_span: Span | None,
        first: Transfer | None,
    ) -> None:
        """One connection's work: slices until none are left (``first`` is already open)."""
        transfer, span = first, first_span
        while True:
            if transfer is None or span is None:
                span = next_slice()
                if span is None:
                    return
                transfer = Transfer(
                    self._urls,
                    settings=settings,
                    options=self._options,
                    threaded_hash=False,
                    span=span,
                    known=self.object,
                    span_crc32c=crc32c,
                )
            with transfer:
                while (chunk := transfer.next_chunk()) is not None:
                    self._write(transfer.offset - len(chunk), chunk)
                if crc32c:
                    self._slice_crcs.append((*span, transfer.crc32c))
            transfer = None

    def _wait(self, work: list[concurrent.futures.Future[Any]]) -> None:
        """Wait for every connection, reporting progress after each chunk (on this thread,
        as a one-stream download does); raise the first real failure."""
        for future in work:
            future.add_done_callback(lambda _: self._progressed.set())
        while True:
            self._progressed.wait(TICK)
            self._progressed.clear()
            failures = [future.exception() for future in work if future.done()]
            # A connection stopped because another failed raises Cancelled: name the cause.
            for failure in sorted(filter(None, failures), key=_cancelled_last):
                raise failure
            self._report(self._part.bytes_on_disk, self.object.size)
            if all(future.done() for future in work):
                return
            self._tick()
            if self._after_chunk is not None:
                self._after_chunk()

    # -- the part file -------------------------------------------------------------------------

    def _write(self, offset: int, chunk: memoryview) -> None:
        try:
            self._part.write_at(offset, chunk)
            self._progressed.set()
        except OSError as exc:
            folder = self._part.path.parent
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                size = self.object.size
                needed = None if size is None else size - self._part.bytes_on_disk
                raise disk_full(folder, needed, kept=self._journal is not None) from None
            raise DownloadError(f"could not write the download to {folder}: {exc}") from exc

    def _tick(self) -> None:
        """Record the ranges on disk in the journal, a few times a second at most."""
        now = time.monotonic()
        if self._journal is None or now - self._saved_at < TICK:
            return
        self._saved_at = now
        try:
            self._journal.save(self.object, self._part.spans)
        except OSError as exc:  # the download goes on; only a resume would miss it
            LOGGER.debug("could not update the journal %s: %s", self._journal.path, exc)

    def _verify(self, md5: bytes | None, crc32c: int | None, size: int) -> list[str]:
        return mismatches(self.object, size, md5, crc32c)

    def _hash_in_order(
        self, *, md5: bool, crc32c: bool = False
    ) -> tuple[bytes | None, int | None, int]:
        """Hash the part file from its first byte to its last, waiting for the bytes as
        they arrive: the md5 digest and crc32c asked for, and the bytes hashed.

        Raises:
            Cancelled: The attempt stopped (the part file was superseded).
        """
        digests = Digests(threaded=False)
        digests.start(md5=md5, crc32c=crc32c)
        hashed = 0
        try:
            with self._part.follow(end=self.object.size) as reader:
                while data := reader.read():
                    digests.update(data, _nothing)
                    hashed += len(data)
        except Superseded:
            raise Cancelled from None
        finally:
            result = digests.result()
            digests.close()
        return (*result, hashed)


def _nothing() -> None:
    return None


def _cancelled_last(exc: BaseException) -> bool:
    return isinstance(exc, Cancelled)


#: Longest single pause of a slice's wait between attempts before it checks its cancel.
SLEEP_STEP = 0.25


def _sleep(sleep: Callable[[float], None], stop: Cancel, seconds: float) -> None:
    """``sleep(seconds)`` in steps, ending early once ``stop`` is set."""
    while seconds > 0 and not stop.is_set:
        step = min(seconds, SLEEP_STEP)
        sleep(step)
        seconds -= step
