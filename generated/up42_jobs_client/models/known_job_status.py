from typing import Literal

KnownJobStatus = Literal[
    "CANCELLED",
    "CANCELLING",
    "ERROR",
    "FAILED",
    "NOT STARTED",
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
]

KNOWN_JOB_STATUS_VALUES: set[KnownJobStatus] = {
    "CANCELLED",
    "CANCELLING",
    "ERROR",
    "FAILED",
    "NOT STARTED",
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
}


def check_known_job_status(value: str) -> KnownJobStatus:
    if value in KNOWN_JOB_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_JOB_STATUS_VALUES!r}"
    )
