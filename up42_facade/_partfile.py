"""The part file a download grows in, and readers that follow it while it grows.

Bytes may arrive out of order (several connections each write their slice of the object at
its offset); the file keeps which ranges are on disk, and its ``size`` is the contiguous
prefix from byte 0, which is all a reader can use. The unpacker and the in-order hasher
read the archive from the part file while the download is still writing it (like
``curl | tar xz``); when the download starts over, the file is emptied and every reader of
the old bytes is told to stop (``Superseded``).

A part file is either temporary (a random hidden name, deleted when done) or named (the
resumable ``.up42-download.part``): a named one is opened as it is, locked against a second
download into the same folder, and can be ``keep``-t on disk after a failure.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
from pathlib import Path
from types import TracebackType

from ._errors import DownloadError
from ._files import PART_PREFIX, open_temporary

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, one download per folder
    fcntl = None  # type: ignore[assignment]

__all__ = ["READ_SIZE", "FollowReader", "PartFile", "Span", "Superseded"]

#: ``(start, end)``: the bytes from ``start`` up to, not including, ``end``.
Span = tuple[int, int]

#: Bytes a follower reads at a time when asked for "everything".
READ_SIZE = 1 << 20


class Superseded(Exception):  # noqa: N818 - a signal to a reader thread, never shown
    """A reader of a part file that started over (or was abandoned) must stop."""


class PartFile:
    """The temporary file a download grows in, which readers may follow as it grows.

    It lives in the destination folder (so the final rename stays on one device) under a
    hidden ``.up42-*.part`` name; ``discard`` removes it, unless it was ``keep``-t.

    Args:
        directory: Where to create a temporary one.
        path: The name of a resumable one instead: opened as it is (created if missing) and
            locked; its ranges on disk are declared with ``adopt``.

    Raises:
        DownloadError: Another download holds the named file (into the same folder).
    """

    def __init__(self, directory: Path | None = None, *, path: Path | None = None) -> None:
        if path is None:
            assert directory is not None
            fd, self.path = open_temporary(directory, PART_PREFIX, ".part")
        else:
            fd, self.path = _open_locked(path), path
        self._fd: int | None = fd
        self._cond = threading.Condition()
        #: The ranges on disk, sorted and merged.
        self._spans: list[Span] = []
        self.size = 0
        self.generation = 0
        self.finished = False
        self.abandoned = False
        self.kept = False

    def __enter__(self) -> PartFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    def write_at(self, offset: int, view: memoryview) -> None:
        """Write bytes at ``offset`` (from any thread; slices never overlap)."""
        assert self._fd is not None
        start = offset
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n
        with self._cond:
            self._add((start, offset))

    def adopt(self, spans: list[Span]) -> None:
        """Declare ranges a previous run left on disk (they must lie inside the file)."""
        assert self._fd is not None
        length = os.fstat(self._fd).st_size
        with self._cond:
            for span in spans:
                if 0 <= span[0] < span[1] <= length:
                    self._add(span)

    def _add(self, span: Span) -> None:
        """Record ``span`` as on disk and wake the readers (under the lock)."""
        spans = self._spans
        at = bisect.bisect_left(spans, span)
        spans.insert(at, span)
        merged: list[Span] = []
        for first, last in spans:  # short: one span per connection at most, plus gaps
            if merged and first <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        self._spans = merged
        prefix = merged[0][1] if merged[0][0] == 0 else 0
        if prefix != self.size:
            self.size = prefix
            self._cond.notify_all()

    @property
    def spans(self) -> list[Span]:
        """The ranges on disk."""
        with self._cond:
            return list(self._spans)

    @property
    def bytes_on_disk(self) -> int:
        """How many bytes of the object are on disk, in order or not."""
        with self._cond:
            return sum(last - first for first, last in self._spans)

    def missing(self, size: int) -> list[Span]:
        """The ranges of a ``size``-byte object that are not on disk yet."""
        gaps, at = [], 0
        for first, last in self.spans:
            if first > at:
                gaps.append((at, min(first, size)))
            at = max(at, last)
        if at < size:
            gaps.append((at, size))
        return [gap for gap in gaps if gap[0] < gap[1]]

    def reset(self) -> None:
        """Drop everything written: the download starts over."""
        assert self._fd is not None
        with self._cond:
            os.ftruncate(self._fd, 0)
            self._spans = []
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
        """Close the file (it stays on disk); closing releases a named file's lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def keep(self) -> None:
        """Leave the file on disk for the next run (``discard`` then only stops readers)."""
        self.kept = True

    def supersede(self) -> None:
        """Tell the current readers to stop, keeping the bytes (a failed attempt's)."""
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def abandon(self) -> None:
        """Tell followers to stop (the download failed or was interrupted)."""
        with self._cond:
            self.abandoned = True
            self._cond.notify_all()

    def discard(self) -> None:
        """Stop any follower, close and delete the file (unless it is kept)."""
        self.abandon()
        if not self.kept:
            # Deleted while still open (and locked): no second download can take it over
            # between the two steps.
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.close()

    def follow(self, end: int | None = None) -> FollowReader:
        """A reader of the current generation of the file, from its first byte.

        Args:
            end: Stop at this offset, without waiting for ``finish`` (the in-order hasher
                reads the object's bytes as soon as they are all there).
        """
        return FollowReader(self, self.generation, end)


class FollowReader:
    """Reads a ``PartFile`` while it grows: waits for bytes, ends when it is finished.

    Raises ``Superseded`` from ``read`` once the file starts over or is abandoned.
    """

    def __init__(self, part: PartFile, generation: int, end: int | None = None) -> None:
        self._part = part
        self._generation = generation
        self._file = part.path.open("rb", buffering=0)
        self._pos = 0
        self._end = end

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
                size = part.size if self._end is None else min(part.size, self._end)
                available = size - self._pos
                if available >= at_least or part.finished or self._pos == self._end:
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
        """Up to ``size`` bytes (``READ_SIZE`` when negative); ``b""`` at the verified end."""
        want = READ_SIZE if size < 0 else size
        available = self._available(1)
        if available <= 0:
            return b""
        data = self._file.read(min(want, available)) or b""
        # The file may have started over while we read: those bytes belong to nobody.
        self._check()
        self._pos += len(data)
        return data


def _open_locked(path: Path) -> int:
    """Open (or create) a resumable part file and lock it for this download.

    Raises:
        DownloadError: Another download (of this or another process) holds it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    if fcntl is None:  # pragma: no cover - Windows
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise DownloadError(
            f"another download into {path.parent} is running (it holds {path.name}); wait for "
            "it to end, or download into another folder"
        ) from None
    return fd
