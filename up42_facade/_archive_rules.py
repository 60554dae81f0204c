"""What may come out of a results archive: the safety rules, with no file touched.

Only regular files and folders are unpacked; names may not be absolute, hold ``..`` or a
NUL byte, or take the prefix of this package's temporary files; an archive may hold at
most ``max_members`` members and ``max_total_size`` unpacked bytes. ``_unpack`` applies
these rules while it writes; both front doors share them.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ._errors import UnsafeArchiveError

if TYPE_CHECKING:
    import tarfile
    import zipfile

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_TOTAL_SIZE",
    "HEAD_SIZE",
    "RESERVED_PREFIX",
    "ArchiveBudget",
    "is_zip",
    "member_path",
    "tar_kind",
    "zip_kind",
]

#: A results archive holds data.json plus a few files per feature; 100,000 members is far
#: above any real one, and far below what it takes to exhaust inodes or time.
DEFAULT_MAX_MEMBERS = 100_000
#: 64 GiB unpacked: above the largest UP42 deliveries (a few GB of imagery per job), low
#: enough that a decompression bomb stops long before it fills a usual disk.
DEFAULT_MAX_TOTAL_SIZE = 64 * 1024**3
#: Names of the temporary files and folders this package makes inside a target folder;
#: archive members may not use it at the top level (they could replace the staging folder).
RESERVED_PREFIX = ".up42-"
#: What opens a zip archive (a local file header; an empty archive starts with its end record).
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: Bytes a streaming reader must have before the format is chosen: tarfile's "r|*" looks
#: at its first read only (one 512-byte block), so it must not be a short one.
HEAD_SIZE = 512  # tarfile.BLOCKSIZE
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


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


def tar_kind(member: tarfile.TarInfo) -> str:
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


def zip_kind(info: zipfile.ZipInfo) -> str | None:
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


@dataclass
class ArchiveBudget:
    """Counts an archive's members and unpacked bytes against its caps.

    Args:
        max_members: Refuse archives with more members than this.
        max_total_size: Refuse archives whose files add up to more bytes than this.
    """

    max_members: int = DEFAULT_MAX_MEMBERS
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE
    members: int = field(default=0, init=False)
    total: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.max_members < 1 or self.max_total_size < 0:
            raise ValueError("max_members must be >= 1 and max_total_size >= 0")

    def reset(self) -> None:
        """Forget what was counted (the archive starts over)."""
        self.members = 0
        self.total = 0

    def count(self, name: str) -> None:
        """One more member.

        Raises:
            UnsafeArchiveError: That makes more than ``max_members``.
        """
        self.members += 1
        if self.members > self.max_members:
            raise UnsafeArchiveError(
                f"the archive has more than {self.max_members} members (at {name!r}); "
                "refusing it as a possible decompression bomb (see max_members)",
                member=name,
            )

    def reserve(self, name: str, size: int) -> None:
        """``size`` more unpacked bytes.

        Raises:
            UnsafeArchiveError: That makes more than ``max_total_size``.
        """
        if self.total + size > self.max_total_size:
            raise self.too_big(name)
        self.total += size

    def too_big(self, name: str) -> UnsafeArchiveError:
        """The error for an archive over ``max_total_size`` at member ``name``."""
        return UnsafeArchiveError(
            f"the archive unpacks to more than {self.max_total_size} bytes (at {name!r}); "
            "refusing it as a possible decompression bomb (see max_total_size)",
            member=name,
        )
