"""The part file a download grows in, and readers that follow it while it grows.

The unpacker reads the archive from the part file while the download is still writing it
(like ``curl | tar xz``); when the download starts over, the file is emptied and every
reader of the old bytes is told to stop (``Superseded``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from types import TracebackType

from ._files import PART_PREFIX, open_temporary

__all__ = ["READ_SIZE", "FollowReader", "PartFile", "Superseded"]

#: Bytes a follower reads at a time when asked for "everything".
READ_SIZE = 1 << 20


class Superseded(Exception):  # noqa: N818 - a signal to a reader thread, never shown
    """A reader of a part file that started over (or was abandoned) must stop."""


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
