"""Checking the sandbox's numeric settings: rates and bandwidths are positive finite numbers,
or None for "off"."""

from __future__ import annotations

import math

__all__ = ["positive_or_none"]


def positive_or_none(value: float | None, *, name: str, unit: str, off: str) -> float | None:
    """``value`` as a float when it is a positive, finite number; None stays None.

    Args:
        value: The setting.
        name: Its name, for the messages (``rate_limit``).
        unit: What it counts (``requests per second``).
        off: What None means (``off``).

    Raises:
        ValueError: ``value`` is zero, negative, infinite or NaN.
        TypeError: ``value`` is not a number (or is a bool).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of {unit} or None, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be > 0 {unit} (or None: {off}), not {value}")
    return float(value)
