"""Jobs to create at start-up: ``Sandbox(jobs=...)`` and ``up42-sandbox --jobs SPEC``.

A spec says how many jobs of each outcome to create, in that order, and optionally settings
that apply to every one of them: ``succeeds=40,fails=5,long_running=5,duration=3``. The jobs
are named ``job 001``, ``job 002``... in creation order (wider numbers past 999 jobs).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._jobs import OUTCOMES

__all__ = ["JOB_SETTINGS", "JobsSpec", "parse_jobs_spec"]

#: The order outcomes are listed in messages (``OUTCOMES`` is a set).
OUTCOME_ORDER = ("succeeds", "fails", "long_running")
#: Settings that apply to every job of a spec: ``create_job``'s arguments of the same name.
#: ``features`` is there because the images of each feature are most of a job's creation time
#: (about 40 ms a job at the default 3 features, 7 ms at 0).
JOB_SETTINGS = ("duration", "features")
#: Digits of the numbers in job names: ``job 001``.
NAME_DIGITS = 3


@dataclass(frozen=True)
class JobsSpec:
    """How many jobs of each outcome to create, in order, with settings for all of them.

    Example:
        >>> spec = parse_jobs_spec("succeeds=2,fails=1,duration=3")
        >>> [(outcome, kwargs["name"]) for outcome, kwargs in spec.jobs()]
        [('succeeds', 'job 001'), ('succeeds', 'job 002'), ('fails', 'job 003')]
    """

    counts: tuple[tuple[str, int], ...]
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many jobs the spec creates."""
        return sum(count for _, count in self.counts)

    def jobs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each job to create: its outcome and the other ``create_job`` arguments."""
        digits = max(NAME_DIGITS, len(str(self.total)))
        number = 0
        for outcome, count in self.counts:
            for _ in range(count):
                number += 1
                yield outcome, {"name": f"job {number:0{digits}d}", **self.settings}


def _problem(message: str) -> ValueError:
    keys = ", ".join(OUTCOME_ORDER)
    return ValueError(
        f"{message}; a jobs spec is OUTCOME=COUNT pairs ({keys}) and optionally "
        f"duration=SECONDS and features=N for all, e.g. succeeds=40,fails=5,long_running=5"
    )


def _count(key: str, value: Any) -> int:
    """A whole number >= 0, from an int or its text."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise _problem(f"{key} must be a whole number >= 0, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _problem(f"{key} must be a whole number >= 0, not {value!r}")
    return value


def _seconds(key: str, value: Any) -> float:
    """A finite number of seconds >= 0, from a number or its text."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _problem(f"{key} must be a number of seconds >= 0, not {value!r}") from None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise _problem(f"{key} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _problem(f"bad jobs setting {item!r} in {spec!r}: expected key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def parse_jobs_spec(spec: str | Mapping[str, Any]) -> JobsSpec:
    """The jobs of ``succeeds=40,fails=5,long_running=5`` or ``{"succeeds": 40, ...}``.

    Outcomes are created in the order given; ``duration`` (sandbox seconds of each job's
    RUNNING phase) and ``features`` (features per task) apply to every job.

    Raises:
        ValueError: an empty spec, no outcome, an unknown or repeated key, or a bad number
            (the message says what a spec looks like).
        TypeError: ``spec`` is neither a string nor a mapping.
    """
    if isinstance(spec, str):
        pairs: list[tuple[str, Any]] = _pairs(spec)
    elif isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        raise TypeError(f"jobs must be a spec string, a mapping or None, not {type(spec)!r}")
    counts: list[tuple[str, int]] = []
    settings: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if not isinstance(key, str) or key not in OUTCOMES | set(JOB_SETTINGS):
            raise _problem(f"unknown jobs setting {key!r}")
        if key in seen:
            raise _problem(f"{key} is given twice")
        seen.add(key)
        if key in OUTCOMES:
            counts.append((key, _count(key, value)))
        elif key == "duration":
            settings[key] = _seconds(key, value)
        else:
            settings[key] = _count(key, value)
    if not counts:
        raise _problem(f"the jobs spec {spec!r} names no outcome")
    return JobsSpec(counts=tuple(counts), settings=settings)
