"""The storage listener's network: a per-connection bandwidth cap, an added latency, a byte count.

Over loopback a download runs at memory speed, so nothing shows what fetching an object over
several connections buys on a real link, where one TCP connection to cloud storage is capped
well below the line's speed. ``Sandbox(storage_bandwidth=..., storage_latency=...)`` makes the
storage listener behave like such a link:

- The bandwidth is a cap of each connection, not of the listener: N connections get N times
  the cap together, as they do from cloud storage. Each connection paces its response bodies
  with its own token bucket (``Pacer``), sending chunks of at most ``MAX_CHUNK`` bytes and
  sleeping in the event loop between them; response heads are not paced.
- The latency is added before the first byte of every response (errors and ``HEAD`` included),
  and once more when a connection is set up, before its first request is read: a fresh
  connection pays a round trip for the TCP handshake, a kept-alive one does not. TLS
  handshakes are not delayed further.
- Settings are read when a connection opens (its setup delay) and when a response starts (its
  delay and pace), so a change applies to the responses that start after it.

The listener also counts the body bytes it sends (``bytes_sent`` of each storage record, and
``StorageNetwork.bytes_sent`` over all of them), throttled or not, so a benchmark can say how
much of an object a resumed download fetched again.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable

from ._numbers import positive_or_none

__all__ = [
    "Pacer",
    "StorageNetwork",
    "check_bandwidth",
    "check_latency",
    "parse_bandwidth",
    "parse_latency",
]

#: Largest chunk a paced connection sends at once: small enough that a pause between chunks is
#: short at every cap worth emulating (4 ms at 16 MiB/s), large enough to keep the sends cheap.
MAX_CHUNK = 64 * 1024
#: Fewest chunks a paced connection sends a second, so slow caps still flow evenly (a 500 KiB/s
#: connection sends 10 KiB every 20 ms rather than 64 KiB every 128 ms).
MIN_CHUNKS_PER_SECOND = 50
#: The bucket holds two chunks: one to send now and room to credit the time ``asyncio.sleep``
#: overshoots (up to a millisecond or two), which the pace would otherwise lose on every chunk.
BUCKET_CHUNKS = 2
#: Bytes per unit of ``--storage-bandwidth``: decimal kB/MB/GB and binary KiB/MiB/GiB.
BANDWIDTH_UNITS = {
    "": 1,
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
#: ``16MiB/s``, ``500 KiB/s``, ``2MB``, ``1048576``: bytes a second.
BANDWIDTH_SPEC = re.compile(rf"\s*(?P<number>{NUMBER})\s*(?P<unit>[kKMG]i?B|B)?\s*(?:/\s*s)?\s*")
#: ``40ms``, ``0.04s``, ``0.04``: seconds.
LATENCY_SPEC = re.compile(rf"\s*(?P<number>{NUMBER})\s*(?P<unit>ms|s)?\s*")


def check_bandwidth(bandwidth: float | None) -> float | None:
    """``bandwidth`` as a float of bytes a second when positive and finite; None stays None.

    Raises:
        ValueError: ``bandwidth`` is zero, negative, infinite or NaN.
        TypeError: ``bandwidth`` is not a number (or is a bool).
    """
    return positive_or_none(
        bandwidth, name="storage_bandwidth", unit="bytes per second", off="no cap"
    )


def check_latency(latency: float | None) -> float:
    """``latency`` in seconds as a float; None and 0 both mean none (0.0).

    Raises:
        ValueError: ``latency`` is negative, infinite or NaN.
        TypeError: ``latency`` is not a number (or is a bool).
    """
    if latency is None:
        return 0.0
    if isinstance(latency, bool) or not isinstance(latency, int | float):
        raise TypeError(f"storage_latency must be a number of seconds or None, not {latency!r}")
    if not (math.isfinite(latency) and latency >= 0):
        raise ValueError(f"storage_latency must be >= 0 seconds (or None: none), not {latency}")
    return float(latency)


def parse_bandwidth(spec: str) -> float:
    """Bytes a second from ``--storage-bandwidth``: ``16MiB/s`` gives 16777216.0.

    Units are B, kB (or KB), MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024); a
    plain number is bytes; ``/s`` is optional. Bits (``Mb/s``, ``Mbit/s``) are refused rather
    than guessed.

    Raises:
        ValueError: the text is no such bandwidth, or it is not > 0.
    """
    match = BANDWIDTH_SPEC.fullmatch(spec)
    if match is None or (match["unit"] or "") not in BANDWIDTH_UNITS:
        raise ValueError(
            f"bad storage bandwidth {spec!r}: give bytes per second, e.g. 16MiB/s, 500KiB/s, "
            "2MB/s or 1048576 (units B, kB, MB, GB, KiB, MiB, GiB)"
        )
    bandwidth = check_bandwidth(float(match["number"]) * BANDWIDTH_UNITS[match["unit"] or ""])
    assert bandwidth is not None
    return bandwidth


def parse_latency(spec: str) -> float:
    """Seconds from ``--storage-latency``: ``40ms``, ``0.04s`` and ``0.04`` all give 0.04.

    Raises:
        ValueError: the text is no such duration, or it is negative.
    """
    match = LATENCY_SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(
            f"bad storage latency {spec!r}: give a duration, e.g. 40ms, 0.04s or 0.04 (seconds)"
        )
    seconds = float(match["number"]) / (1000 if match["unit"] == "ms" else 1)
    return check_latency(seconds)


class StorageNetwork:
    """The storage listener's link settings and byte count, shared with the caller's thread.

    Example:
        >>> network = StorageNetwork(bandwidth=16 * 2**20, latency=0.04)
        >>> network.set(bandwidth=None, latency=0)  # loopback speed again
        >>> (network.bandwidth, network.latency)
        (None, 0.0)

    Args:
        bandwidth: bytes a second each connection may send in response bodies; None: no cap.
        latency: seconds added before every response and once per new connection; None or 0:
            none.
    """

    def __init__(self, *, bandwidth: float | None = None, latency: float | None = None) -> None:
        self._lock = threading.Lock()
        self._bandwidth = check_bandwidth(bandwidth)
        self._latency = check_latency(latency)
        self._sent = 0

    @property
    def bandwidth(self) -> float | None:
        """Bytes a second per connection, or None for no cap."""
        with self._lock:
            return self._bandwidth

    @property
    def latency(self) -> float:
        """Seconds added before every response (0.0: none)."""
        with self._lock:
            return self._latency

    def set(self, *, bandwidth: float | None, latency: float | None) -> None:
        """Change both settings at once; responses that start afterwards follow them.

        Raises:
            ValueError: a setting is out of range (see ``check_bandwidth``, ``check_latency``).
            TypeError: a setting is not a number.
        """
        checked = check_bandwidth(bandwidth), check_latency(latency)
        with self._lock:
            self._bandwidth, self._latency = checked

    @property
    def bytes_sent(self) -> int:
        """Body bytes the listener has handed to its connections so far (never reset)."""
        with self._lock:
            return self._sent

    def count(self, size: int) -> None:
        """Add ``size`` body bytes to the total (called by the listener)."""
        with self._lock:
            self._sent += size


class Pacer:
    """One connection's token bucket: ``rate`` bytes a second on average, short bursts only.

    The bucket holds ``BUCKET_CHUNKS`` chunks and starts with one, so the first chunk of a
    response goes out at once. ``take`` may leave the bucket in debt; the caller sleeps the
    seconds it returns, after which the refill has paid the debt back.

    Example:
        >>> clock = iter([0.0, 0.0, 0.0]).__next__
        >>> pacer = Pacer(1000.0, clock=clock)  # 1000 B/s: chunks of 20 bytes, 50 a second
        >>> pacer.chunk, pacer.take(20), pacer.take(20)
        (20, 0.0, 0.02)

    Args:
        rate: bytes a second.
        clock: the monotonic clock, swappable for tests.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.chunk = max(1, min(MAX_CHUNK, int(rate / MIN_CHUNKS_PER_SECOND)))
        self._clock = clock
        self._capacity = float(BUCKET_CHUNKS * self.chunk)
        self._tokens = float(self.chunk)
        self._last = clock()

    def take(self, size: int) -> float:
        """Take ``size`` bytes from the bucket; the seconds to wait before sending them."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self.rate) - size
        self._last = now
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
