"""Jobs, tasks and collections show a compact HTML view in Jupyter, drawn from what they hold
(no request), while their plain repr stays the classic SDK's."""

from __future__ import annotations

from typing import Any

import pytest

from up42_facade import AsyncJob, AsyncJobCollection, AsyncJobTask, Job, JobCollection, JobTask
from up42_facade._html import MAX_ROWS, duration

PROJECT = "20adecb9-4a96-4b1f-a6a4-3f6e0c1e7a51"
JOB = "d62c27c0-24e9-433d-b509-ae080504d5c6"
TASK = "3f77ddc5-5c30-4d2a-8d35-6b3f8a0e3a11"

INFO: dict[str, Any] = {
    "id": JOB,
    "name": "Berlin <scenes>",
    "status": "SUCCEEDED",
    "mode": "DEFAULT",
    "startedAt": "2020-03-02T10:00:00.000Z",
    "finishedAt": "2020-03-02T10:01:05.500Z",
    "workflowName": "workflow & friends",
    "inputs": {},
}
TASK_INFO: dict[str, Any] = {
    "id": TASK,
    "name": "oneatlas-pleiades-aoiclipped:1",
    "status": "SUCCEEDED",
    "startedAt": "2020-03-02T10:00:00.000Z",
    "finishedAt": "2020-03-02T10:00:30.000Z",
    "block": {"name": "oneatlas-pleiades-aoiclipped"},
    "blockVersion": "2.2.3",
}


class NoNetwork:
    """A session that fails the test on any use: the views must not send requests."""

    project_id = PROJECT

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the HTML view used the session ({name})")


class TasksOnly(NoNetwork):
    """A session that answers the task listing and nothing else."""

    def call_json(self, operation: Any, **kwargs: Any) -> dict[str, Any]:
        return {"data": [TASK_INFO]}


def test_a_job_shows_its_status_timings_and_asks_for_tasks_without_a_request() -> None:
    job = Job(NoNetwork(), PROJECT, JOB, job_info=dict(INFO))  # type: ignore[arg-type]
    html = job._repr_html_()
    assert "SUCCEEDED" in html
    assert JOB in html
    assert "2020-03-02T10:00:00.000Z" in html
    assert "1 min 06 s" in html  # 65.5 s rounded
    assert "not fetched yet" in html
    # Names from the API are text, never markup.
    assert "Berlin &lt;scenes&gt;" in html
    assert "workflow &amp; friends" in html
    assert "<scenes>" not in html


def test_a_job_lists_the_tasks_of_its_last_get_jobtasks() -> None:
    job = Job(TasksOnly(), PROJECT, JOB, job_info=dict(INFO))  # type: ignore[arg-type]
    job.get_jobtasks()
    html = job._repr_html_()
    assert "oneatlas-pleiades-aoiclipped:1" in html
    assert "2.2.3" in html
    assert "30.0 s" in html
    assert "not fetched yet" not in html


def test_the_plain_repr_stays_the_classic_one() -> None:
    job = Job(NoNetwork(), PROJECT, JOB, job_info=dict(INFO))  # type: ignore[arg-type]
    assert repr(job) == (
        f"Job(name: Berlin <scenes>, job_id: {JOB}, mode: DEFAULT, status: SUCCEEDED, "
        "startedAt: 2020-03-02T10:00:00.000Z, finishedAt: 2020-03-02T10:01:05.500Z, "
        "workflow_name: workflow & friends, input_parameters: {})"
    )
    task = JobTask(NoNetwork(), PROJECT, JOB, TASK, jobtask_info=dict(TASK_INFO))  # type: ignore[arg-type]
    assert repr(task).startswith(
        f"JobTask(name: oneatlas-pleiades-aoiclipped:1, jobtask_id: {TASK}"
    )


def test_a_task_shows_its_block_status_and_timings() -> None:
    task = JobTask(NoNetwork(), PROJECT, JOB, TASK, jobtask_info=dict(TASK_INFO))  # type: ignore[arg-type]
    html = task._repr_html_()
    for text in ("JobTask", TASK, "oneatlas-pleiades-aoiclipped 2.2.3", "SUCCEEDED", "30.0 s"):
        assert text in html, text


def test_a_collection_sums_up_its_jobs_and_lists_them() -> None:
    infos = [
        {**INFO, "id": f"{i:08d}-0000-4000-8000-000000000000", "status": status}
        for i, status in enumerate(["SUCCEEDED", "RUNNING", "FAILED", "CANCELLED"])
    ]
    jobs = [Job(NoNetwork(), PROJECT, info["id"], job_info=info) for info in infos]  # type: ignore[arg-type]
    html = JobCollection(NoNetwork(), PROJECT, jobs)._repr_html_()
    assert "JobCollection</strong> of 4 jobs: 1 done, 1 running, 2 failed" in html
    for info in infos:
        assert info["id"] in html


def test_a_big_collection_lists_its_first_jobs_and_counts_the_rest() -> None:
    infos = [{**INFO, "id": f"{i:08d}-0000-4000-8000-000000000000"} for i in range(MAX_ROWS + 7)]
    jobs = [Job(NoNetwork(), PROJECT, info["id"], job_info=info) for info in infos]  # type: ignore[arg-type]
    html = JobCollection(NoNetwork(), PROJECT, jobs)._repr_html_()
    assert f"of {MAX_ROWS + 7} jobs" in html
    assert html.count("<tr>") == MAX_ROWS + 1  # the header and MAX_ROWS jobs
    assert "... and 7 more" in html
    assert infos[-1]["id"] not in html


def test_the_async_twins_show_the_same_views_under_their_own_names() -> None:
    job = AsyncJob(NoNetwork(), PROJECT, JOB, dict(INFO))  # type: ignore[arg-type]
    task = AsyncJobTask(NoNetwork(), PROJECT, JOB, TASK, dict(TASK_INFO))  # type: ignore[arg-type]
    collection = AsyncJobCollection(NoNetwork(), PROJECT, [job])
    assert "<strong>AsyncJob</strong>" in job._repr_html_()
    assert "<strong>AsyncJobTask</strong>" in task._repr_html_()
    assert "<strong>AsyncJobCollection</strong> of 1 jobs: 1 done" in collection._repr_html_()
    assert repr(job).startswith("AsyncJob(name: Berlin <scenes>")


@pytest.mark.parametrize(
    ("started", "finished", "shown"),
    [
        ("2020-03-02T10:00:00Z", "2020-03-02T10:00:04.25Z", "4.2 s"),
        ("2020-03-02T10:00:00Z", "2020-03-02T12:05:00Z", "2 h 05 min"),
        ("2020-03-02T10:00:00Z", None, ""),  # still running
        ("2020-03-02T10:00:00Z", "yesterday", ""),
        ("2020-03-02T10:00:00Z", "2020-03-02T10:00:00", ""),  # aware against naive
        ("2020-03-02T10:00:05Z", "2020-03-02T10:00:00Z", ""),  # a clock that went back
    ],
)
def test_durations_read_iso_timestamps_and_leave_out_what_they_cannot_read(
    started: str, finished: str | None, shown: str
) -> None:
    assert duration(started, finished) == shown
