"""The public surface: exactly these names, and the promises DESIGN.md makes about them."""

from __future__ import annotations

import inspect

import pytest

import up42_facade
from up42_facade import JobStatus

PUBLIC = {
    "APIError", "AsyncJob", "AsyncJobCollection", "AsyncJobTask", "AsyncUp42",
    "AuthenticationError", "ConfigurationError", "DownloadError", "IntegrityError",
    "InvalidResponseError", "Job", "JobCancelledError", "JobCollection", "JobError",
    "JobFailedError", "JobStatus", "JobTask", "JobTimeoutError", "NotFoundError",
    "RateLimitError", "RetryPolicy", "ServerError", "TransportError", "UnsafeArchiveError",
    "Up42", "Up42Error", "__version__", "authenticate", "get_jobs", "initialize_job",
    "initialize_jobcollection", "initialize_jobtask",
}  # fmt: skip


CLASSIC_COLLECTION_MEMBERS = (
    "apply", "download_results", "__iter__", "__getitem__", "__len__", "__repr__",
    "plot_results", "map_results", "plot_quicklooks",
)  # fmt: skip
NEW_COLLECTION_MEMBERS = ("track_status", "get_logs")


@pytest.mark.parametrize("name", CLASSIC_COLLECTION_MEMBERS + NEW_COLLECTION_MEMBERS)
def test_both_collections_have_every_member_and_fan_out_keyword_only(name: str) -> None:
    sync_member = getattr(up42_facade.JobCollection, name)
    async_member = getattr(up42_facade.AsyncJobCollection, name)
    fans_out = name in {"apply", "download_results", "track_status", "get_logs"}
    for member in (sync_member, async_member):
        parameters = inspect.signature(member).parameters
        if fans_out:
            assert parameters["max_concurrency"].kind is inspect.Parameter.KEYWORD_ONLY
    if fans_out:
        assert inspect.iscoroutinefunction(async_member)
        sync_names = list(inspect.signature(sync_member).parameters)
        assert list(inspect.signature(async_member).parameters) == sync_names


def test_get_jobs_keeps_the_classic_signature_on_the_module_and_both_sessions() -> None:
    expected = [
        ("return_json", False), ("test_jobs", True), ("real_jobs", True), ("limit", 500),
        ("sortby", "createdAt"), ("descending", True),
    ]  # fmt: skip
    for function in (
        up42_facade.get_jobs,
        up42_facade.Up42.get_jobs,
        up42_facade.AsyncUp42.get_jobs,
    ):
        parameters = [
            p for p in inspect.signature(function).parameters.values() if p.name != "self"
        ]
        assert [(p.name, p.default) for p in parameters] == expected


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


CLASSIC_JOB_METHODS = (
    "track_status", "cancel_job", "download_quicklooks", "get_results_json", "download_results",
    "upload_results_to_bucket", "get_logs", "get_jobtasks", "get_jobtasks_results_json",
    "get_credits",
)  # fmt: skip
CLASSIC_JOB_PROPERTIES = ("info", "status", "is_succeeded")
CLASSIC_TASK_METHODS = ("get_results_json", "download_results", "download_quicklooks")


def _same_parameters(sync: object, async_: object, *, drop: tuple[str, ...] = ()) -> None:
    ours = [p for p in inspect.signature(async_).parameters.values() if p.name not in drop]  # type: ignore[arg-type]
    theirs = [p for p in inspect.signature(sync).parameters.values() if p.name not in drop]  # type: ignore[arg-type]
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in theirs
    ]


@pytest.mark.parametrize("name", CLASSIC_JOB_METHODS)
def test_every_classic_job_member_is_a_coroutine_of_async_job_with_the_same_parameters(
    name: str,
) -> None:
    member = getattr(up42_facade.AsyncJob, name)
    assert inspect.iscoroutinefunction(member), name
    # track_status's sleep is awaited on the async side; its name and default stay the same.
    _same_parameters(getattr(up42_facade.Job, name), member)


@pytest.mark.parametrize("name", CLASSIC_JOB_PROPERTIES)
def test_the_classic_properties_are_coroutine_methods_of_async_job(name: str) -> None:
    assert isinstance(inspect.getattr_static(up42_facade.Job, name), property)
    assert inspect.iscoroutinefunction(getattr(up42_facade.AsyncJob, name))
    assert list(inspect.signature(getattr(up42_facade.AsyncJob, name)).parameters) == ["self"]


@pytest.mark.parametrize("name", CLASSIC_TASK_METHODS)
def test_every_classic_jobtask_member_is_a_coroutine_of_async_jobtask(name: str) -> None:
    member = getattr(up42_facade.AsyncJobTask, name)
    assert inspect.iscoroutinefunction(member)
    _same_parameters(getattr(up42_facade.JobTask, name), member)
    assert inspect.iscoroutinefunction(up42_facade.AsyncJobTask.info)


@pytest.mark.parametrize("name", ["plot_results", "plot_quicklooks", "map_results"])
def test_the_viz_members_stay_plain_methods_on_the_async_classes(name: str) -> None:
    for cls in (up42_facade.AsyncJob, up42_facade.AsyncJobTask):
        assert not inspect.iscoroutinefunction(getattr(cls, name))
        _same_parameters(getattr(up42_facade.Job, name), getattr(cls, name))
