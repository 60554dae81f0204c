"""The public surface: exactly these names, and the promises DESIGN.md makes about them."""

from __future__ import annotations

import up42_facade
from up42_facade import JobStatus

PUBLIC = {
    "APIError", "AuthenticationError", "ConfigurationError", "DownloadError", "IntegrityError",
    "InvalidResponseError", "Job", "JobCancelledError", "JobError", "JobFailedError", "JobStatus",
    "JobTask", "JobTimeoutError", "NotFoundError", "RateLimitError", "RetryPolicy", "ServerError",
    "TransportError", "UnsafeArchiveError", "Up42", "Up42Error", "__version__", "authenticate",
    "initialize_job", "initialize_jobtask",
}  # fmt: skip


def test_all_is_exactly_the_public_names() -> None:
    assert set(up42_facade.__all__) == PUBLIC
    assert all(hasattr(up42_facade, name) for name in PUBLIC)


def test_every_error_is_an_up42_error_and_job_errors_are_value_errors() -> None:
    for name in PUBLIC:
        obj = getattr(up42_facade, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, up42_facade.Up42Error), name
    assert issubclass(up42_facade.JobFailedError, ValueError)
    assert issubclass(up42_facade.JobCancelledError, ValueError)
    assert issubclass(up42_facade.JobTimeoutError, TimeoutError)


def test_the_error_module_docstring_draws_every_class() -> None:
    tree = up42_facade._errors.__doc__ or ""
    for name in up42_facade._errors.__all__:
        assert name in tree, name


def test_job_status_members_compare_equal_to_the_api_strings() -> None:
    assert JobStatus.NOT_STARTED == "NOT STARTED"
    assert JobStatus("SUCCEEDED") is JobStatus.SUCCEEDED
    assert {s.value for s in JobStatus} == {
        "NOT STARTED", "PENDING", "RUNNING", "SUCCEEDED",
        "FAILED", "ERROR", "CANCELLED", "CANCELLING",
    }  # fmt: skip


def test_a_status_the_server_adds_later_parses_to_a_plain_string() -> None:
    assert JobStatus.parse("QUEUED_FOR_REVIEW") == "QUEUED_FOR_REVIEW"
    assert not isinstance(JobStatus.parse("QUEUED_FOR_REVIEW"), JobStatus)
    assert JobStatus.is_known("RUNNING") and not JobStatus.is_known("QUEUED_FOR_REVIEW")
