"""Job and task status values, as an enum that still accepts what the server adds later."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CANCELLED_STATUSES", "FAILED_STATUSES", "TERMINAL_STATUSES", "JobStatus"]


class JobStatus(StrEnum):
    """The status values the API documents; members compare equal to their strings.

    Example:
        >>> JobStatus.SUCCEEDED == "SUCCEEDED"
        True
        >>> JobStatus.parse("QUEUED_FOR_REVIEW")  # a value added by the server later
        'QUEUED_FOR_REVIEW'
    """

    NOT_STARTED = "NOT STARTED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    CANCELLING = "CANCELLING"

    @classmethod
    def parse(cls, value: str) -> JobStatus | str:
        """The member for a known value, or the plain string for a value nobody knows yet."""
        try:
            return cls(value)
        except ValueError:
            return value

    @classmethod
    def is_known(cls, value: str) -> bool:
        """Tell whether ``value`` is one of the documented statuses."""
        return value in cls._value2member_map_


FAILED_STATUSES = frozenset({JobStatus.FAILED, JobStatus.ERROR})
CANCELLED_STATUSES = frozenset({JobStatus.CANCELLED, JobStatus.CANCELLING})
TERMINAL_STATUSES = FAILED_STATUSES | CANCELLED_STATUSES | {JobStatus.SUCCEEDED}
