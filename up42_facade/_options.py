"""The options of a download, checked once, shared by both front doors and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._archive_rules import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_TOTAL_SIZE
from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_INTEGRITY",
    "DEFAULT_MAX_CONNECTIONS",
    "INTEGRITY_MODES",
    "MAX_CONNECTIONS_LIMIT",
    "DownloadOptions",
    "IntegrityMode",
]

IntegrityMode = Literal["auto", "all", "size"]
"""What a download is checked against (see ``_integrity``)."""
INTEGRITY_MODES: tuple[IntegrityMode, ...] = ("auto", "all", "size")
DEFAULT_INTEGRITY: IntegrityMode = "auto"
#: Connections a large download uses at once (see ``_slices``). A 256 MiB object from storage
#: at 16 MiB/s per connection and 40 ms away took 16.05 s over 1, 4.21 s over 4, 2.28 s over 8,
#: 1.61 s over 12 and 1.40 s over 16 (sandbox, median of 3): past 8 each connection brings
#: less, while storage and the line carry more of them; aria2c's -x8 is the same choice.
DEFAULT_MAX_CONNECTIONS = 8
#: More connections than this to one object only burden storage.
MAX_CONNECTIONS_LIMIT = 32


@dataclass(frozen=True, kw_only=True)
class DownloadOptions:
    """How one download behaves; every field is a keyword of ``download_results``.

    Attributes:
        integrity: What the bytes are checked against: ``"auto"`` (crc32c, else md5, and
            the size), ``"all"`` (every announced hash) or ``"size"``.
        timeout: Seconds without a byte before a connection counts as dropped and is
            resumed; None takes the session's ``read_timeout``.
        max_attempts: Requests per download (the first one and every resume) before giving
            up; None takes the session's ``RetryPolicy.max_attempts``.
        max_members: Refuse archives with more members than this.
        max_total_size: Refuse archives that unpack to more bytes than this.
        max_connections: Ranged connections a large object is fetched over at once (1: a
            single stream); None takes ``DEFAULT_MAX_CONNECTIONS``.
        resume: Keep an interrupted download's bytes on disk and continue from them on the
            next call into the same folder (see ``_journal``).

    Raises:
        ConfigurationError: A value is out of range.
    """

    integrity: IntegrityMode = DEFAULT_INTEGRITY
    timeout: float | None = None
    max_attempts: int | None = None
    max_members: int = DEFAULT_MAX_MEMBERS
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE
    max_connections: int | None = None
    resume: bool = True

    def __post_init__(self) -> None:
        if self.integrity not in INTEGRITY_MODES:
            raise ConfigurationError(
                f"integrity must be one of {', '.join(INTEGRITY_MODES)}, not {self.integrity!r}"
            )
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigurationError(
                f"timeout must be a number of seconds > 0, not {self.timeout!r}"
            )
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be >= 1, not {self.max_attempts!r}")
        if self.max_members < 1:
            raise ConfigurationError(f"max_members must be >= 1, not {self.max_members!r}")
        if self.max_total_size < 0:
            raise ConfigurationError(f"max_total_size must be >= 0, not {self.max_total_size!r}")
        connections = self.max_connections
        if connections is not None and not (
            isinstance(connections, int) and 1 <= connections <= MAX_CONNECTIONS_LIMIT
        ):
            raise ConfigurationError(
                f"max_connections must be a whole number from 1 to {MAX_CONNECTIONS_LIMIT}, "
                f"not {connections!r}"
            )

    @property
    def connections(self) -> int:
        """The connections a large object is fetched over."""
        return self.max_connections or DEFAULT_MAX_CONNECTIONS
