"""Jobs move over time: NOT STARTED -> PENDING -> RUNNING -> an end, and cancellation."""

from __future__ import annotations

import time

import httpx

from up42_sandbox import Sandbox

from .helpers import job_path, wait_for


def test_a_succeeding_job_passes_through_every_status_and_ends_succeeded(
    slow_sandbox: Sandbox, slow_api: httpx.Client
) -> None:
    job_id = slow_sandbox.create_job("succeeds", duration=2.0)
    path = job_path(slow_sandbox, job_id)
    seen = wait_for(slow_api, path, {"SUCCEEDED"})
    assert seen == ["NOT STARTED", "PENDING", "RUNNING", "SUCCEEDED"]
    assert slow_sandbox.job_status(job_id) == "SUCCEEDED"
    job = slow_api.get(path).json()["data"]
    assert job["startedAt"] < job["finishedAt"]


def test_a_default_job_finishes_well_under_two_seconds_at_test_speed(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    started = time.monotonic()
    job_id = sandbox.create_job()
    wait_for(api, job_path(sandbox, job_id), {"SUCCEEDED"})
    assert time.monotonic() - started < 1.5


def test_a_failing_job_ends_failed_with_an_error_at_the_end_of_the_failing_task_log(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job("fails")
    path = job_path(sandbox, job_id)
    assert wait_for(api, path, {"FAILED", "SUCCEEDED"})[-1] == "FAILED"
    tasks = api.get(f"{path}/tasks/").json()["data"]
    assert [t["status"] for t in tasks] == ["SUCCEEDED", "FAILED"]
    log = api.get(f"{path}/tasks/{tasks[-1]['id']}/logs").text
    assert log.rstrip("\n").splitlines()[-1].split(" - ")[1] == "ERROR"
    assert " - ERROR - " not in api.get(f"{path}/tasks/{tasks[0]['id']}/logs").text


def test_cancelling_a_running_job_moves_it_to_cancelling_then_cancelled(
    slow_sandbox: Sandbox, slow_api: httpx.Client
) -> None:
    sandbox, api = slow_sandbox, slow_api
    job_id = sandbox.create_job("long_running")
    path = job_path(sandbox, job_id)
    wait_for(api, path, {"RUNNING"})
    answer = api.post(f"{path}/cancel/")
    assert answer.status_code == 200
    assert answer.json() == {"data": {}, "error": None}
    seen = wait_for(api, path, {"CANCELLED"})
    assert seen == ["CANCELLING", "CANCELLED"]
    tasks = api.get(f"{path}/tasks/").json()["data"]
    assert tasks[-1]["status"] == "CANCELLED"


def test_cancelling_an_ended_job_answers_200_and_changes_nothing(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    path = job_path(sandbox, job_id)
    assert api.post(f"{path}/cancel/").status_code == 200
    assert api.get(path).json()["data"]["status"] == "SUCCEEDED"


def test_a_long_running_job_keeps_running_and_its_log_keeps_growing(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job("long_running", tasks=1, duration=1.0)
    path = job_path(sandbox, job_id)
    wait_for(api, path, {"RUNNING"})
    task_id = sandbox.task_ids(job_id)[0]
    first = api.get(f"{path}/tasks/{task_id}/logs").text
    time.sleep(0.3)  # 6 sandbox seconds at test speed: several progress lines
    later = api.get(f"{path}/tasks/{task_id}/logs").text
    assert later.startswith(first)
    assert len(later.splitlines()) > len(first.splitlines())
    assert api.get(path).json()["data"]["status"] == "RUNNING"


def test_log_lines_look_like_the_real_ones(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    task_id = sandbox.task_ids(job_id)[0]
    log = api.get(f"{job_path(sandbox, job_id)}/tasks/{task_id}/logs")
    assert log.headers["content-type"].startswith("text/plain")
    for line in log.text.splitlines():
        stamp, level, message = line.split(" - ", 2)
        time.strptime(stamp.split(",")[0], "%Y-%m-%d %H:%M:%S")
        assert len(stamp.split(",")[1]) == 3
        assert level in {"INFO", "WARNING", "ERROR"}
        assert message


def test_credits_are_zero_until_the_job_ends(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(credits=42)
    path = job_path(sandbox, job_id)
    assert api.get(f"{path}/credits").json()["data"]["creditsUsed"] == 0
    wait_for(api, path, {"SUCCEEDED"})
    credits = api.get(f"{path}/credits").json()["data"]
    assert credits["creditsUsed"] == 42
    assert credits["jobId"] == job_id
    assert credits["projectId"] == sandbox.project_id


def test_start_status_puts_a_job_straight_into_that_status(sandbox: Sandbox) -> None:
    for status in ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLING", "CANCELLED"):
        assert sandbox.job_status(sandbox.create_job(start_status=status)) == status


def test_a_forced_status_is_reported_whatever_the_timeline_says(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job(status="QUEUED_FOR_REVIEW")
    assert api.get(job_path(sandbox, job_id)).json()["data"]["status"] == "QUEUED_FOR_REVIEW"
    assert sandbox.job_status(job_id) == "QUEUED_FOR_REVIEW"


def test_unknown_or_foreign_jobs_answer_404_with_an_envelope(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job()
    missing = "d62c27c0-24e9-433d-b509-ae080504d5c6"
    answer = api.get(job_path(sandbox, missing))
    assert answer.status_code == 404
    assert answer.json() == {
        "data": None,
        "error": {"code": 404, "message": f"Job with id {missing} not found"},
    }
    foreign = api.get(f"/projects/20adecb9-97f6-42c0-8ba8-f1e2fa0bff39/jobs/{job_id}")
    assert foreign.status_code == 404


def test_a_seeded_sandbox_makes_the_same_ids_every_time() -> None:
    def ids() -> list[str]:
        with Sandbox(seed=7) as sb:
            job_id = sb.create_job()
            return [sb.project_id, sb.project_api_key, job_id, *sb.task_ids(job_id)]

    assert ids() == ids()
