from typing import Literal

KnownJobMode = Literal["DEFAULT", "DRY_RUN"]

KNOWN_JOB_MODE_VALUES: set[KnownJobMode] = {
    "DEFAULT",
    "DRY_RUN",
}


def check_known_job_mode(value: str) -> KnownJobMode:
    if value in KNOWN_JOB_MODE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KNOWN_JOB_MODE_VALUES!r}"
    )
