"""Files that appear whole or not at all: temporary names, atomic writes, folders made for a call.

Everything this package writes into a user's folder is first written under a hidden
``.up42-`` name beside its final place and renamed into place only when it is complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ._archive_rules import RESERVED_PREFIX
from ._errors import DownloadError

__all__ = [
    "PART_PREFIX",
    "folders_made_for",
    "make_folder",
    "open_temporary",
    "write_atomically",
]

#: Prefix of temporary files inside a target folder (archive members may not use it).
PART_PREFIX = RESERVED_PREFIX


def open_temporary(directory: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new file to fill and rename into place: like ``mkstemp``, but readable as a plain
    ``open`` would make it (0666 less the umask), since it becomes the user's file.

    Returns:
        The open descriptor (read-write) and the file's path.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = directory / f"{prefix}{os.urandom(8).hex()}{suffix}"
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


def make_folder(directory: Path) -> None:
    """Create a download folder (and its parents).

    Raises:
        DownloadError: It cannot be created (a file of that name, no permission, ...).
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot use {directory} as the download folder: {exc}") from exc


@contextlib.contextmanager
def folders_made_for(target: Path) -> Iterator[None]:
    """On failure, remove the folders from ``target`` up that did not exist before (if empty).

    A failed download leaves nothing, not even the folders it created for itself.
    """
    missing = []
    for folder in (target, *target.parents):
        if folder.exists():
            break
        missing.append(folder)
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        raise
