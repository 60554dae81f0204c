"""Safe unpacking of results archives (tar, tar.gz and zip) into a folder.

Every member is checked before a byte of it is written: only regular files and folders,
no absolute names, no ``..`` anywhere, at most ``max_members`` members and
``max_total_size`` unpacked bytes. The tarfile ``data`` filter then runs on each member as
a second layer. Everything lands in a staging folder inside the target first and is moved
into place only when the whole archive passed, so a refused, damaged or interrupted
archive leaves the target as it was.

Example:
    >>> files = unpack_archive(Path("output.tgz"), Path("project_x/job_y"))  # doctest: +SKIP
    >>> files[0]  # doctest: +SKIP
    PosixPath('project_x/job_y/data.json')
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Protocol

from ._errors import DownloadError, UnsafeArchiveError

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_TOTAL_SIZE",
    "HEAD_SIZE",
    "RESERVED_PREFIX",
    "ArchiveReader",
    "Staging",
    "is_zip",
    "unpack_archive",
]

LOGGER = logging.getLogger("up42_facade")

#: A results archive holds data.json plus a few files per feature; 100,000 members is far
#: above any real one, and far below what it takes to exhaust inodes or time.
DEFAULT_MAX_MEMBERS = 100_000
#: 64 GiB unpacked: above the largest UP42 deliveries (a few GB of imagery per job), low
#: enough that a decompression bomb stops long before it fills a usual disk.
DEFAULT_MAX_TOTAL_SIZE = 64 * 1024**3
#: Names of the temporary files and folders this package makes inside a target folder;
#: archive members may not use it at the top level (they could replace the staging folder).
RESERVED_PREFIX = ".up42-"
#: Bytes copied per read while unpacking: 1 MiB keeps Python's per-call cost negligible
#: against the copy itself (tarfile's own 16 KiB is several times slower on big files).
COPY_SIZE = 1 << 20
#: What opens a zip archive (a local file header; an empty archive starts with its end record).
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: Bytes a streaming reader must have before the format is chosen: tarfile's "r|*" looks
#: at its first read only (one 512-byte block), so it must not be a short one.
HEAD_SIZE = tarfile.BLOCKSIZE
#: Errors the tar, gzip, bz2, lzma and zip readers raise on damaged or truncated input.
DAMAGED_ERRORS: tuple[type[Exception], ...] = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    gzip.BadGzipFile,
    EOFError,
    NotImplementedError,  # zip: a compression method Python does not support
    RuntimeError,  # zip: an encrypted member
)
_O_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_TRUNC
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


class ArchiveReader(Protocol):
    """What the streaming tar reader needs from its input: sequential ``read``."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


def is_zip(head: bytes) -> bool:
    """Whether the first bytes of an archive are a zip's.

    Args:
        head: The first bytes of the archive (4 are enough).

    Returns:
        True for a zip archive; anything else is left to the tar reader.
    """
    return head.startswith(ZIP_MAGIC)


def member_path(name: str) -> PurePosixPath | None:
    """Where an archive member goes, relative to the target, with a leading ``output/`` dropped.

    Args:
        name: The member's name as stored in the archive.

    Returns:
        The relative path, or None for the ``output`` folder itself (nothing to create).

    Raises:
        UnsafeArchiveError: The name is absolute, has a ``..`` component or a NUL byte, or
            uses the prefix of this package's temporary files.
    """
    if "\x00" in name:
        raise UnsafeArchiveError(f"archive member {name!r} has a NUL byte in its name", member=name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise UnsafeArchiveError(
            f"archive member {name!r} has an absolute name; refusing to unpack it", member=name
        )
    # Backslashes count as separators too: zip files made on Windows use them.
    parts = [part for part in _SEPARATORS.split(name) if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(
            f"archive member {name!r} has '..' in its name; refusing to unpack it", member=name
        )
    if parts and parts[0] == "output":
        parts = parts[1:]
    if not parts:
        return None
    if parts[0].startswith(RESERVED_PREFIX):
        raise UnsafeArchiveError(
            f"archive member {name!r} uses the reserved prefix {RESERVED_PREFIX!r}", member=name
        )
    return PurePosixPath(*parts)


def _tar_kind(member: tarfile.TarInfo) -> str:
    """What a tar member that is neither a file nor a folder is, for the error message."""
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    return "not a regular file or folder"


def _zip_kind(info: zipfile.ZipInfo) -> str | None:
    """None for a zip member that is a plain file or folder, else what it is."""
    mode = info.external_attr >> 16
    # Many zip writers set permission bits only, without a file type: a plain file.
    if not stat.S_IFMT(mode) or stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return "not a regular file or folder"


class Staging:
    """A hidden folder inside the target that an archive is unpacked into before it counts.

    ``commit`` moves the unpacked top-level entries into the target, replacing entries of
    the same name (so downloading again replaces the previous files, without nesting);
    leaving the context removes whatever is still staged.

    Args:
        target: The folder the files end up in; created if missing.
        max_members: Refuse archives with more members than this.
        max_total_size: Refuse archives whose files add up to more bytes than this.

    Example:
        >>> with Staging(Path("out")) as staging:  # doctest: +SKIP
        ...     staging.extract(Path("output.tgz"))
        ...     files = staging.commit()
    """

    def __init__(
        self,
        target: Path,
        *,
        max_members: int = DEFAULT_MAX_MEMBERS,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    ) -> None:
        if max_members < 1 or max_total_size < 0:
            raise ValueError("max_members must be >= 1 and max_total_size >= 0")
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"cannot use {target} as the download folder: {exc}") from exc
        self.target = target
        self.max_members = max_members
        self.max_total_size = max_total_size
        self.path = Path(tempfile.mkdtemp(prefix=f"{RESERVED_PREFIX}unpack-", dir=target))
        self.root = self.path / "root"
        self.root.mkdir()
        self._files: dict[PurePosixPath, None] = {}
        self._members = 0
        self._total = 0

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the staging folder and everything still in it."""
        shutil.rmtree(self.path, ignore_errors=True)

    def clear(self) -> None:
        """Forget everything unpacked so far (the archive is about to start over)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir()
        self._files.clear()
        self._members = 0
        self._total = 0

    # -- checks shared by both formats -------------------------------------------------------

    def _count(self, name: str) -> None:
        self._members += 1
        if self._members > self.max_members:
            raise UnsafeArchiveError(
                f"the archive has more than {self.max_members} members (at {name!r}); "
                "refusing it as a possible decompression bomb (see max_members)",
                member=name,
            )

    def _reserve(self, name: str, size: int) -> None:
        if self._total + size > self.max_total_size:
            raise self._too_big(name)
        self._total += size

    def _too_big(self, name: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"the archive unpacks to more than {self.max_total_size} bytes (at {name!r}); "
            "refusing it as a possible decompression bomb (see max_total_size)",
            member=name,
        )

    def _make_dir(self, name: str, rel: PurePosixPath) -> None:
        try:
            (self.root / rel).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(
                f"could not create folder for archive member {name!r}: {exc}"
            ) from exc

    def _write_file(self, name: str, rel: PurePosixPath, source: IO[bytes], size: int) -> Path:
        """Copy exactly ``size`` bytes of ``source`` to ``rel`` in the staging root."""
        dest = self.root / rel
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(dest, _O_FLAGS, 0o644)
        except OSError as exc:
            raise DownloadError(f"could not write archive member {name!r}: {exc}") from exc
        try:
            remaining = size
            while remaining > 0:
                chunk = source.read(min(COPY_SIZE, remaining))
                if not chunk:
                    raise DownloadError(
                        f"the archive is truncated: member {name!r} ends {remaining} bytes early"
                    )
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
                remaining -= len(chunk)
            if source.read(1):
                # A zip member that unpacks to more than it declared: a bomb's trick.
                raise UnsafeArchiveError(
                    f"archive member {name!r} unpacks to more than its declared {size} bytes",
                    member=name,
                )
        except OSError as exc:
            raise DownloadError(f"could not write archive member {name!r}: {exc}") from exc
        finally:
            os.close(fd)
        # A later member of the same name replaced the file: report it once, at its last place.
        self._files.pop(rel, None)
        self._files[rel] = None
        return dest

    # -- tar ---------------------------------------------------------------------------------

    def extract_tar(self, source: ArchiveReader) -> None:
        """Unpack a tar stream (plain, gzip, bz2 or xz) read strictly sequentially.

        Args:
            source: The archive bytes from the start; read once, front to back.

        Raises:
            UnsafeArchiveError: A member is not a plain file or folder, would land outside
                the target, or the archive is over a cap.
            DownloadError: The archive is damaged or truncated, or is not a tar at all.
        """
        try:
            with tarfile.open(fileobj=source, mode="r|*", bufsize=COPY_SIZE) as tar:  # type: ignore[call-overload]
                for member in tar:
                    self._extract_tar_member(tar, member)
        except (UnsafeArchiveError, DownloadError):
            raise
        except DAMAGED_ERRORS as exc:
            raise DownloadError(
                f"the archive is damaged, truncated, or not a tar.gz or zip archive ({exc}); "
                "download it with unpacking=False to look at it"
            ) from exc

    def _extract_tar_member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = member.name
        self._count(name)
        if not (member.isreg() or member.isdir()):
            raise UnsafeArchiveError(
                f"archive member {name!r} is {_tar_kind(member)}; only regular files and "
                "folders are unpacked",
                member=name,
            )
        rel = member_path(name)
        try:
            # Second layer: Python's own rules for untrusted archives (PEP 706).
            checked = tarfile.data_filter(member, str(self.root))
        except tarfile.FilterError as exc:
            raise UnsafeArchiveError(
                f"archive member {name!r} was refused by the tarfile data filter: {exc}",
                member=name,
            ) from exc
        if rel is None:
            return
        if member.isdir():
            self._make_dir(name, rel)
            return
        self._reserve(name, member.size)
        source = tar.extractfile(member)
        if source is None:  # pragma: no cover - isreg() members always have data
            raise DownloadError(f"archive member {name!r} has no data")
        with source:
            dest = self._write_file(name, rel, source, member.size)
        with contextlib.suppress(OSError):
            if checked.mode is not None:
                dest.chmod(checked.mode & 0o777)
            os.utime(dest, (member.mtime, member.mtime))

    # -- zip ---------------------------------------------------------------------------------

    def extract_zip(self, archive: Path) -> None:
        """Unpack a zip file; every member is checked before anything is written.

        Args:
            archive: The zip file.

        Raises:
            UnsafeArchiveError: A member is not a plain file or folder, would land outside
                the target, or the archive is over a cap.
            DownloadError: The archive is damaged or truncated.
        """
        try:
            with zipfile.ZipFile(archive) as zipped:
                plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
                declared = 0
                for info in zipped.infolist():
                    name = info.filename
                    self._count(name)
                    kind = _zip_kind(info)
                    if kind is not None:
                        raise UnsafeArchiveError(
                            f"archive member {name!r} is {kind}; only regular files and "
                            "folders are unpacked",
                            member=name,
                        )
                    rel = member_path(name)
                    if not info.is_dir():
                        declared += info.file_size
                        if declared > self.max_total_size:
                            raise self._too_big(name)
                    if rel is not None:
                        plan.append((info, rel))
                for info, rel in plan:
                    if info.is_dir():
                        self._make_dir(info.filename, rel)
                        continue
                    self._reserve(info.filename, info.file_size)
                    with zipped.open(info) as source:
                        self._write_file(info.filename, rel, source, info.file_size)
        except (UnsafeArchiveError, DownloadError):
            raise
        except DAMAGED_ERRORS as exc:
            raise DownloadError(
                f"the zip archive is damaged or truncated ({exc}); "
                "download it with unpacking=False to look at it"
            ) from exc

    # -- both --------------------------------------------------------------------------------

    def extract(self, archive: Path) -> None:
        """Unpack an archive file, choosing zip or tar by its first bytes.

        Args:
            archive: The archive.

        Raises:
            UnsafeArchiveError: See ``extract_tar`` and ``extract_zip``.
            DownloadError: The archive is damaged, truncated or of another kind.
        """
        with archive.open("rb") as file:
            if not is_zip(file.read(HEAD_SIZE)):
                file.seek(0)
                self.extract_tar(file)
                return
        self.extract_zip(archive)

    def commit(self) -> list[Path]:
        """Move what was unpacked into the target, replacing entries of the same name.

        Returns:
            The paths (under the target) of the regular files unpacked, in archive order.

        Raises:
            DownloadError: An entry could not be moved (the target is on another device,
                or a file in it is in use).
        """
        trash = self.path / "replaced"
        done: list[tuple[Path, Path]] = []  # (from, to) of every rename, to undo them
        try:
            for entry in sorted(self.root.iterdir()):
                dest = self.target / entry.name
                if dest.is_symlink() or dest.exists():
                    trash.mkdir(exist_ok=True)
                    dest.rename(trash / entry.name)
                    done.append((dest, trash / entry.name))
                entry.rename(dest)
                done.append((entry, dest))
        except OSError as exc:
            # All or nothing: put the old entries back before the staging folder goes.
            for source, moved in reversed(done):
                with contextlib.suppress(OSError):
                    moved.rename(source)
            raise DownloadError(
                f"could not move the unpacked files into {self.target}: {exc}"
            ) from exc
        LOGGER.debug("unpacked %d files into %s", len(self._files), self.target)
        return [self.target / rel for rel in self._files]


def unpack_archive(
    archive: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
) -> list[Path]:
    """Unpack a tar(.gz) or zip archive into ``target``, safely and all or nothing.

    A leading ``output/`` folder is dropped (archives without one work too). Top-level
    entries already in ``target`` with the same name are replaced.

    Args:
        archive: The archive file.
        target: The folder to unpack into; created if missing.
        max_members: Refuse archives with more members than this.
        max_total_size: Refuse archives that unpack to more bytes than this.

    Returns:
        The paths of the regular files written, in archive order.

    Raises:
        UnsafeArchiveError: A member is a link or device, has an absolute name or ``..``,
            or the archive is over a cap; nothing was written to ``target``.
        DownloadError: The archive is damaged or truncated; nothing was written to ``target``.
    """
    with Staging(Path(target), max_members=max_members, max_total_size=max_total_size) as staging:
        staging.extract(Path(archive))
        return staging.commit()
