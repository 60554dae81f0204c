"""Job and task status values, as an enum that still accepts what the server adds later."""

from __future__ import annotations

from enum import StrEnum

from ._errors import JobCancelledError, JobError, JobFailedError

__all__ = [
    "CANCELLED_STATUSES",
    "FAILED_STATUSES",
    "SPELLINGS",
    "TERMINAL_STATUSES",
    "JobStatus",
    "ended_badly",
]


class JobStatus(StrEnum):
    """The status values the API documents; members compare equal to their strings.

    Examples:
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
        """The member for a known value or one of its other spellings (``SPELLINGS``), or
        the plain string for a value nobody knows yet.

        Examples:
            >>> JobStatus.parse("NOT_STARTED")  # how the service spelled it in 2020
            <JobStatus.NOT_STARTED: 'NOT STARTED'>
        """
        try:
            return cls(value)
        except ValueError:
            return value

    @classmethod
    def _missing_(cls, value: object) -> JobStatus | None:
        spelled = SPELLINGS.get(value) if isinstance(value, str) else None
        return None if spelled is None else cls(spelled)

    @classmethod
    def is_known(cls, value: str) -> bool:
        """Tell whether ``value`` is one of the documented statuses, in any of its spellings."""
        return isinstance(cls.parse(value), cls)


#: Other spellings the service used for a known status (the spec's ``KnownJobStatus`` names
#: each): a real create-job answer of 2020 spelled NOT STARTED with an underscore.
SPELLINGS = {"NOT_STARTED": "NOT STARTED"}


FAILED_STATUSES = frozenset({JobStatus.FAILED, JobStatus.ERROR})
CANCELLED_STATUSES = frozenset({JobStatus.CANCELLED, JobStatus.CANCELLING})
TERMINAL_STATUSES = FAILED_STATUSES | CANCELLED_STATUSES | {JobStatus.SUCCEEDED}


def ended_badly(job_id: str, status: str) -> JobError | None:
    """The error ``track_status`` raises for a job in ``status``, or None if it may go on.

    Args:
        job_id: The job's id (named in the message).
        status: The status just polled.

    Returns:
        ``JobFailedError`` for FAILED and ERROR, ``JobCancelledError`` for CANCELLED and
        CANCELLING, None for every other status (SUCCEEDED and unknown ones included).
    """
    if status in FAILED_STATUSES:
        return JobFailedError(
            f"job {job_id} ended {status}; see its task logs (get_logs)",
            job_id=job_id,
            status=status,
        )
    if status in CANCELLED_STATUSES:
        return JobCancelledError(
            f"job {job_id} was cancelled ({status})", job_id=job_id, status=status
        )
    return None
