"""Every classic member against the sandbox's other dialects: the answers the real service
sent in 2019-2020 (``classic``) and what a newer API may send (``next``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

pytestmark = pytest.mark.sandbox

#: Slow enough that a new job is still NOT STARTED (0.5 s) when the first call reads it.
DIALECT_SPEED = 2.0
#: A short RUNNING phase: a job then ends about 1.5 s after it is created.
RUN_SECONDS = 1.0


@pytest.fixture(scope="module", params=["classic", "next"])
def dialect_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(speed=DIALECT_SPEED, dialect=request.param) as sb:
        yield sb


@pytest.fixture
def dialect_session(dialect_sandbox: Sandbox) -> Iterator[up42.Up42]:
    dialect_sandbox.clear_faults()
    with up42.authenticate(
        project_id=dialect_sandbox.project_id,
        project_api_key=dialect_sandbox.project_api_key,
        base_url=dialect_sandbox.base_url,
        retry=up42.RetryPolicy(backoff_base=0.01, deadline=10.0),
    ) as session:
        yield session


def new_job(sandbox: Sandbox, outcome: str = "succeeds") -> str:
    return sandbox.create_job(outcome, tasks=2, features=2, duration=RUN_SECONDS)


def test_a_new_job_reads_as_not_started_or_as_a_status_nobody_knows_yet(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox))
    if dialect_sandbox.dialect == "classic":
        assert job.info["status"] == "NOT_STARTED"  # the classic dict keeps what was sent
        assert job.job_status is up42.JobStatus.NOT_STARTED
    else:
        assert job.job_status == "QUEUED" and not isinstance(job.job_status, up42.JobStatus)


def test_every_classic_job_member_works(
    dialect_sandbox: Sandbox,
    dialect_session: up42.Up42,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox))
    with caplog.at_level(logging.WARNING, logger="up42_facade"):
        assert job.track_status(report_time=0.05, poll_interval=0.05) == "SUCCEEDED"
    unknown = [r.getMessage() for r in caplog.records if "status" in r.getMessage()]
    if dialect_sandbox.dialect == "classic":
        assert unknown == []  # NOT_STARTED is a status the facade knows
    assert job.is_succeeded and job.status == "SUCCEEDED"

    tasks = job.get_jobtasks()
    assert len(tasks) == 2 and all(isinstance(task, up42.JobTask) for task in tasks)
    assert [task["id"] for task in job.get_jobtasks(return_json=True)] == [
        task.jobtask_id for task in tasks
    ]
    collections = job.get_jobtasks_results_json()
    assert all(len(fc["features"]) == 2 for fc in collections.values())
    frame = job.get_results_json(as_dataframe=True)
    assert len(frame) == 2 and frame.crs.to_epsg() == 4326

    paths = job.download_results(tmp_path / "results")
    assert any(path.endswith(".tif") for path in paths)
    assert all(Path(path).is_file() for path in paths)
    looks = job.download_quicklooks(tmp_path / "looks")
    expected = ".jpg" if dialect_sandbox.dialect == "classic" else ".png"
    assert len(looks) == 2 and all(look.endswith(expected) for look in looks)
    assert all(Path(look).stat().st_size > 0 for look in looks)

    logs = job.get_logs(as_print=False, as_return=True)
    assert logs is not None and set(logs) == {task.jobtask_id for task in tasks}
    assert job.get_credits() == {"creditsUsed": 100}

    task = tasks[0]
    assert task.info["id"] == task.jobtask_id
    assert task.get_results_json()["type"] == "FeatureCollection"
    assert any(p.endswith("data.json") for p in task.download_results(tmp_path / "task"))
    assert len(task.download_quicklooks(tmp_path / "task-looks")) == 2


def test_cancel_job_succeeds_whatever_the_dialect_answers(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox, "long_running"))
    job.cancel_job()
    assert job.status in {"CANCELLING", "CANCELLED"}


def test_quicklooks_in_either_format_plot(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42, tmp_path: Path, pyplot: Any
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox))
    job.track_status(report_time=0.05, poll_interval=0.05)
    job.download_quicklooks(tmp_path / "looks")
    figure = job.plot_quicklooks(figsize=(4, 4))
    assert len([axes for axes in figure.axes if axes.get_visible()]) == 2


def test_a_missing_job_gives_not_found_in_the_servers_words(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(up42.NotFoundError) as caught:
        dialect_session.initialize_job(missing)
    message = str(caught.value)
    assert f"Job with id {missing} not found" in message
    assert "{" not in message  # words, not the raw JSON of a problem body
    if dialect_sandbox.dialect == "classic":
        assert "Not Found: " in message


@pytest.mark.parametrize("dialect_sandbox", ["next"], indirect=True)
def test_unknown_fields_survive_in_info_tasks_and_models(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42
) -> None:
    from up42_jobs_client.models import JobTask as TaskModel

    job = dialect_session.initialize_job(new_job(dialect_sandbox))
    unknown = set(job.model.additional_properties)
    assert unknown and unknown <= set(job.info)
    for task in job.get_jobtasks(return_json=True):
        extra = set(TaskModel.from_dict(task).additional_properties)
        assert extra and extra <= set(task)


@pytest.mark.parametrize("dialect_sandbox", ["classic"], indirect=True)
@pytest.mark.parametrize("body", ["", "null", "{}", '{"data": {}, "error": null}'])
def test_a_cancel_succeeds_on_any_2xx_body(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42, body: str
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox, "long_running"))
    fault = dialect_sandbox.inject("body", job_id=job.job_id, path="/cancel/", content=body)
    job.cancel_job()
    assert fault.hits == 1


@pytest.mark.parametrize("dialect_sandbox", ["classic"], indirect=True)
@pytest.mark.parametrize(
    ("error", "words"),
    [('"Job is archived"', "Job is archived"), ('{"code": 410, "message": "Gone"}', "Gone")],
)
def test_a_200_without_data_but_with_an_error_is_an_api_error_in_the_servers_words(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42, error: str, words: str
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox))
    body = f'{{"data": null, "error": {error}}}'
    dialect_sandbox.inject("body", job_id=job.job_id, path="/tasks/", content=body)
    with pytest.raises(up42.APIError) as caught:
        job.get_jobtasks()
    assert type(caught.value) is up42.APIError and words in str(caught.value)


@pytest.mark.parametrize("dialect_sandbox", ["classic"], indirect=True)
def test_an_empty_error_beside_real_data_is_no_error(
    dialect_sandbox: Sandbox, dialect_session: up42.Up42
) -> None:
    job = dialect_session.initialize_job(new_job(dialect_sandbox))
    tasks = job.get_jobtasks(return_json=True)
    dialect_sandbox.inject(
        "body", job_id=job.job_id, path="/tasks/", content=json.dumps({"data": tasks, "error": {}})
    )
    assert [task.jobtask_id for task in job.get_jobtasks()] == [task["id"] for task in tasks]
