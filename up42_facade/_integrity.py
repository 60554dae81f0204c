"""Is it the object the server announced? Size and ``x-goog-hash`` checks of a download.

Storage announces the object's size and its md5 and crc32c (``x-goog-hash``); the bytes
are hashed as they go by and compared at the end. ``integrity`` chooses what is checked:

- ``"auto"`` (default): crc32c when storage announced one and google-crc32c's C extension
  is installed (GCS's recommended check, and what gcloud does), else md5; and the size;
- ``"all"``: every announced hash, and the size. md5 runs at 0.6-0.75 GB/s on one core
  here, below loopback speed: checking it too took a 256 MiB download from 0.4-0.5x curl's
  time to 1.1-1.7x (``benchmarks/bench_download.py``);
- ``"size"``: the size alone (for a machine where hashing is too slow, or a server whose
  hashes are known to be wrong).

The name is not ``verify``: that is the TLS option, as in httpx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import urllib.parse
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ._options import IntegrityMode

__all__ = [
    "Digests",
    "RemoteObject",
    "mismatches",
    "wanted_digests",
]

LOGGER = logging.getLogger("up42_facade")

# filename*=charset'language'percent-encoded (RFC 8187), as Content-Disposition carries it.
_ENCODED_FILENAME = re.compile(r"""filename\*\s*=\s*([\w!#$%&+^`{}~-]*)'[^']*'([^;\s]+)""", re.I)


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

#: crc32c's polynomial, bit-reversed (as the CRC is computed).
_CRC32C_POLY = 0x82F63B78
#: ``_ZEROS[k]``: the GF(2) operator that runs a crc32c over 2**k zero bytes (made on first use).
_ZEROS: list[list[int]] = []


def crc32c_combine(crc1: int, crc2: int, length2: int) -> int:
    """The crc32c of ``A + B`` from ``crc1`` of A, ``crc2`` of B and B's length: slices
    fetched side by side are checked against the whole object's crc32c without reading
    them again (zlib's ``crc32_combine``, for crc32c's polynomial).

    Example:
        >>> import google_crc32c
        >>> a, b = b"slice one,", b" slice two"
        >>> crc = crc32c_combine(google_crc32c.value(a), google_crc32c.value(b), len(b))
        >>> crc == google_crc32c.value(a + b)
        True
    """
    if not _ZEROS:
        one_bit = [_CRC32C_POLY] + [1 << n for n in range(31)]
        operator = _gf2_square(_gf2_square(_gf2_square(one_bit)))  # 8 zero bits: a byte
        for _ in range(64):
            _ZEROS.append(operator)
            operator = _gf2_square(operator)
    power = 0
    while length2:
        if length2 & 1:
            crc1 = _gf2_times(_ZEROS[power], crc1)
        length2 >>= 1
        power += 1
    return crc1 ^ crc2


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, column) for column in matrix]


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
    def from_headers(cls, headers: Message, *, size: int | None) -> RemoteObject:
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
        return cls(
            size=size,
            md5=md5,
            crc32c=crc32c,
            validator=validator,
            filename=_disposition_filename(disposition) if disposition else None,
            content_type=headers.get_content_type() if headers.get("Content-Type") else None,
        )


def _disposition_filename(disposition: str) -> str | None:
    """The file name of a Content-Disposition: ``filename*`` when given (RFC 6266, 4.3)."""
    encoded = _ENCODED_FILENAME.search(disposition)
    if encoded is not None:
        charset, value = encoded.group(1), encoded.group(2)
        try:
            return urllib.parse.unquote(value, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass  # a charset nobody knows: the plain filename= below, if any
    message = Message()
    message["Content-Disposition"] = disposition
    plain = message.get_param("filename", header="Content-Disposition")
    return plain if isinstance(plain, str) else None


class Digests:
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

    def drop_md5(self) -> None:
        """Stop computing md5 (crc32c goes on)."""
        self._run(lambda: self._set_md5(False))

    def _set_md5(self, wanted: bool) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False) if wanted else None

    def _run(self, task: Callable[[], None]) -> None:
        """Run ``task`` after the queued md5 work, and wait for it."""
        if self._executor is None:
            task()
        else:
            self._executor.submit(task).result()

    def update(self, view: memoryview | bytes, done: Callable[[], None]) -> None:
        """Hash ``view``, then call ``done`` (the buffer may be reused after that)."""
        if self._crc is not None and _CRC32C_EXTEND is not None:
            # google-crc32c takes only bytes; the copy costs about half of the crc itself.
            data = view if isinstance(view, bytes) else bytes(view)
            self._crc = _CRC32C_EXTEND(self._crc, data)
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


def wanted_digests(known: RemoteObject, integrity: IntegrityMode) -> tuple[bool, bool]:
    """Which digests to compute for an announced object: ``(md5, crc32c)``."""
    if integrity == "size":
        return False, False
    crc32c = known.crc32c is not None and _CRC32C_EXTEND is not None
    md5 = known.md5 is not None and (integrity == "all" or not crc32c)
    return md5, crc32c


def mismatches(
    expected: RemoteObject, size: int, md5: bytes | None, crc32c: int | None
) -> list[str]:
    """How the received bytes differ from what was announced; empty when they match.

    Args:
        expected: What the server announced.
        size: Bytes received.
        md5: Their md5 digest, if computed.
        crc32c: Their crc32c value, if computed.
    """
    problems = []
    if expected.size is not None and size != expected.size:
        problems.append(f"{size} bytes instead of {expected.size}")
    if expected.md5 is not None and md5 is not None and md5 != expected.md5:
        problems.append(
            f"md5 {base64.b64encode(md5).decode()} instead of "
            f"{base64.b64encode(expected.md5).decode()}"
        )
    if expected.crc32c is not None and crc32c is not None and crc32c != expected.crc32c:
        problems.append(f"crc32c {crc32c:08x} instead of {expected.crc32c:08x}")
    return problems
