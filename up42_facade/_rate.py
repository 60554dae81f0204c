"""A session's request rate: requests paced evenly, at most ``per_second`` of them a second.

Shared by every request of a session, threads and coroutines alike: ``reserve`` claims the
next free moment under a lock that is never held while waiting, and says how long the
caller must wait for it. The waiting is the caller's (``time.sleep`` or ``asyncio.sleep``).
Together with the session's quiet period after a 429 (``_api_retry.QuietPeriod``) this is
the session's rate budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ._errors import ConfigurationError

__all__ = ["RateBudget"]


class RateBudget:
    """Evenly spaced sends: one every ``1 / per_second`` seconds at most; None sends at once.

    Examples:
        >>> clock = iter([0.0, 0.0, 0.0]).__next__
        >>> budget = RateBudget(4.0, clock=clock)
        >>> [budget.reserve() for _ in range(3)]
        [0.0, 0.25, 0.5]
    """

    def __init__(
        self, per_second: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_second is not None and not per_second > 0:
            raise ConfigurationError(
                f"max_requests_per_second must be > 0 or None, not {per_second!r}"
            )
        self.per_second = per_second
        self._interval = 0.0 if per_second is None else 1.0 / per_second
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next moment a request may go; return the seconds until then."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = self._clock()
            moment = max(now, self._next)
            self._next = moment + self._interval
        return moment - now

    def __repr__(self) -> str:
        return f"RateBudget(per_second={self.per_second!r})"
