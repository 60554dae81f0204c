"""The classic Job and JobTask members, through the public API, against the sandbox."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

import up42_facade as up42
from tests.facade.conftest import RecordingSleep
from up42_sandbox import Sandbox

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALL_STATUSES = [
    "NOT STARTED", "PENDING", "RUNNING", "SUCCEEDED",
    "FAILED", "ERROR", "CANCELLED", "CANCELLING",
]  # fmt: skip


def finished_job(sandbox: Sandbox, session: up42.Up42, **options: object) -> up42.Job:
    job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", **options)  # type: ignore[arg-type]
    return session.initialize_job(job_id)


def test_info_is_fetched_anew_on_every_access(sandbox: Sandbox, session: up42.Up42) -> None:
    job = session.initialize_job(sandbox.create_job("succeeds"))
    first = job.info["status"]
    job.track_status(poll_interval=0.05)
    assert job.info["status"] == "SUCCEEDED" != first
    assert job.info["id"] == job.job_id


def test_the_module_level_entry_points_use_the_last_session(sandbox: Sandbox) -> None:
    with up42.authenticate(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
    ):
        job = up42.initialize_job(job_id=sandbox.create_job("succeeds"))
        assert isinstance(job, up42.Job)
        task = up42.initialize_jobtask(job.get_jobtasks()[0].jobtask_id, job.job_id)
        assert isinstance(task, up42.JobTask)


@pytest.mark.parametrize("status", [*ALL_STATUSES, "QUEUED_FOR_REVIEW"])
def test_status_reports_every_value_and_is_succeeded_only_for_succeeded(
    sandbox: Sandbox, session: up42.Up42, status: str
) -> None:
    job = session.initialize_job(sandbox.create_job("succeeds", status=status))
    assert job.status == status
    assert job.is_succeeded is (status == "SUCCEEDED")
    assert job.job_status == status
    assert isinstance(job.job_status, up42.JobStatus) is (status in ALL_STATUSES)


def test_the_typed_model_sits_beside_the_dict(sandbox: Sandbox, session: up42.Up42) -> None:
    job = finished_job(sandbox, session)
    model = job.model
    assert str(model.id) == job.job_id
    assert model.status == up42.JobStatus.SUCCEEDED
    assert model.finished_at is not None


def test_repr_shows_name_id_mode_status_times_workflow_and_inputs(
    sandbox: Sandbox, session: up42.Up42
) -> None:
    job = finished_job(sandbox, session, name="Berlin scenes")
    shown = repr(job)
    for part in ("Berlin scenes", job.job_id, "mode: DEFAULT", "status: SUCCEEDED", "startedAt",
                 "finishedAt", "workflow_name", "input_parameters: {"):  # fmt: skip
        assert part in shown
    assert sandbox.project_api_key not in shown


def test_track_status_returns_succeeded_as_soon_as_it_is_seen(
    sandbox: Sandbox, session: up42.Up42
) -> None:
    sleep = RecordingSleep()
    job = finished_job(sandbox, session)
    assert job.track_status(sleep=sleep) == "SUCCEEDED"
    assert sleep.calls == []


def test_track_status_polls_a_running_job_to_succeeded(
    sandbox: Sandbox, session: up42.Up42
) -> None:
    sleep = RecordingSleep()
    job = session.initialize_job(sandbox.create_job("succeeds"))
    assert job.track_status(poll_interval=0.05, sleep=sleep) == "SUCCEEDED"
    assert sleep.calls and set(sleep.calls) == {0.05}


def test_track_status_raises_job_failed_and_prints_task_logs_when_the_job_fails(
    sandbox: Sandbox, session: up42.Up42, capsys: pytest.CaptureFixture[str]
) -> None:
    job = session.initialize_job(sandbox.create_job("fails"))
    with pytest.raises(up42.JobFailedError) as caught:
        job.track_status(poll_interval=0.05)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == "FAILED"
    printed = capsys.readouterr().out
    assert "with jobtask_id" in printed
    assert "ERROR" in printed


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("FAILED", up42.JobFailedError),
        ("ERROR", up42.JobFailedError),
        ("CANCELLED", up42.JobCancelledError),
        ("CANCELLING", up42.JobCancelledError),
    ],
)
def test_track_status_raises_a_value_error_for_every_bad_end(
    sandbox: Sandbox, session: up42.Up42, status: str, error: type[Exception]
) -> None:
    job = session.initialize_job(sandbox.create_job("succeeds", status=status))
    with pytest.raises(error) as caught:
        job.track_status(sleep=RecordingSleep())
    assert isinstance(caught.value, ValueError)
    assert job.job_id in str(caught.value)


def test_track_status_times_out_naming_the_job_and_its_last_status(
    sandbox: Sandbox, session: up42.Up42
) -> None:
    job = session.initialize_job(sandbox.create_job("long_running"))
    with pytest.raises(up42.JobTimeoutError) as caught:
        job.track_status(poll_interval=0.05, timeout=0.3)
    assert caught.value.job_id == job.job_id
    assert caught.value.status in {"NOT STARTED", "PENDING", "RUNNING"}
    assert job.job_id in str(caught.value)
    job.cancel_job()


def test_a_timeout_shorter_than_the_poll_interval_still_waits_until_the_timeout(
    sandbox: Sandbox, session: up42.Up42
) -> None:
    job = session.initialize_job(sandbox.create_job("long_running"))
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with pytest.raises(up42.JobTimeoutError):
        job.track_status(poll_interval=10.0, timeout=3.0, sleep=sleep, clock=lambda: now[0])
    assert waits == [3.0]  # one shortened wait, then the last poll right at the timeout
    job.cancel_job()


def test_an_unknown_status_is_logged_once_and_polling_goes_on(
    sandbox: Sandbox, session: up42.Up42, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = sandbox.create_job("succeeds")
    sandbox.inject("unknown_status", count=4, job_id=job_id, value="QUEUED_FOR_REVIEW")
    job = session.initialize_job(job_id)
    caplog.set_level(logging.WARNING, logger="up42_facade")
    assert job.track_status(poll_interval=0.02, sleep=RecordingSleep(0.01)) == "SUCCEEDED"
    warnings = [r for r in caplog.records if "QUEUED_FOR_REVIEW" in r.getMessage()]
    assert len(warnings) == 1


def test_transient_errors_while_polling_are_retried(sandbox: Sandbox, session: up42.Up42) -> None:
    job_id = sandbox.create_job("succeeds")
    job = session.initialize_job(job_id)
    sandbox.inject("error", count=2, job_id=job_id, status=503)
    sandbox.inject("error", count=1, job_id=job_id, status=502)
    assert job.track_status(poll_interval=0.05) == "SUCCEEDED"


def test_ctrl_c_stops_track_status_at_once(sandbox: Sandbox, session: up42.Up42) -> None:
    job = session.initialize_job(sandbox.create_job("long_running"))

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.track_status(sleep=interrupted)
    job.cancel_job()


def test_cancel_job_posts_once_and_the_job_ends_cancelled(
    sandbox: Sandbox, session: up42.Up42
) -> None:
    job = session.initialize_job(sandbox.create_job("long_running"))
    job.cancel_job()
    posts = [r for r in sandbox.requests if r.method == "POST" and job.job_id in r.path]
    assert len(posts) == 1
    assert posts[0].path.endswith("/cancel/")
    with pytest.raises(up42.JobCancelledError):
        job.track_status(poll_interval=0.05)


def test_cancel_twice_counts_as_done(sandbox: Sandbox, session: up42.Up42) -> None:
    job = session.initialize_job(sandbox.create_job("long_running"))
    job.cancel_job()
    job.cancel_job()
    assert job.status in {"CANCELLING", "CANCELLED"}


def test_a_wrong_job_id_raises_not_found(sandbox: Sandbox, session: up42.Up42) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        session.initialize_job("00000000-0000-4000-8000-000000000000")
    assert caught.value.status_code == 404
    assert "/jobs/00000000-0000-4000-8000-000000000000" in caught.value.path


def test_get_jobtasks_gives_objects_and_json(sandbox: Sandbox, session: up42.Up42) -> None:
    job = finished_job(sandbox, session, tasks=3)
    tasks = job.get_jobtasks()
    as_json = job.get_jobtasks(return_json=True)
    assert (
        [t.jobtask_id for t in tasks] == [t["id"] for t in as_json] == sandbox.task_ids(job.job_id)
    )
    assert all(isinstance(t, up42.JobTask) for t in tasks)
    assert {"id", "name", "status", "block", "blockVersion"} <= set(as_json[0])
    assert tasks[0].info["id"] == tasks[0].jobtask_id
    assert "block_name" in repr(tasks[0])


def test_get_logs_prints_every_task_log_in_order_and_returns_them(
    sandbox: Sandbox, session: up42.Up42, capsys: pytest.CaptureFixture[str]
) -> None:
    job = finished_job(sandbox, session, tasks=3)
    logs = job.get_logs(as_print=True, as_return=True)
    assert logs is not None
    task_ids = sandbox.task_ids(job.job_id)
    assert list(logs) == task_ids
    assert all(" - INFO - " in text for text in logs.values())
    printed = capsys.readouterr().out
    positions = [printed.index(f"with jobtask_id {task_id}") for task_id in task_ids]
    assert positions == sorted(positions)
    assert job.get_logs(as_print=False) is None
    assert capsys.readouterr().out == ""


def test_get_logs_fetches_task_logs_concurrently(
    sandbox: Sandbox, session: up42.Up42, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished_job(sandbox, session, tasks=4)
    barrier = threading.Barrier(4, timeout=5)
    original = up42.Job._task_log

    def meet_then_fetch(self: up42.Job, task_id: str) -> str:
        barrier.wait()  # breaks (BrokenBarrierError) unless four fetches run at once
        return original(self, task_id)

    monkeypatch.setattr(up42.Job, "_task_log", meet_then_fetch)
    logs = job.get_logs(as_print=False, as_return=True)
    assert logs is not None and len(logs) == 4


def test_results_json_is_the_feature_collection(sandbox: Sandbox, session: up42.Up42) -> None:
    job = finished_job(sandbox, session, features=5)
    collection = job.get_results_json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 5
    assert "up42.data_path" in collection["features"][0]["properties"]


def test_results_as_a_geodataframe_in_epsg_4326(sandbox: Sandbox, session: up42.Up42) -> None:
    job = finished_job(sandbox, session, features=4)
    frame = job.get_results_json(as_dataframe=True)
    assert len(frame) == 4
    assert frame.crs.to_epsg() == 4326
    assert "uid" in frame.columns
    assert frame.geometry.geom_type.unique().tolist() == ["Polygon"]


def test_per_task_results_json(sandbox: Sandbox, session: up42.Up42) -> None:
    job = finished_job(sandbox, session, tasks=2)
    per_task = job.get_jobtasks_results_json()
    assert list(per_task) == sandbox.task_ids(job.job_id)
    assert all(fc["type"] == "FeatureCollection" for fc in per_task.values())


def test_quicklooks_are_png_files_named_like_the_classic_sdk(
    sandbox: Sandbox, session: up42.Up42, tmp_path: Path
) -> None:
    job = finished_job(sandbox, session, features=2)
    paths = job.download_quicklooks(output_directory=tmp_path)
    assert paths and job.quicklooks == paths
    for path in map(Path, paths):
        assert path.name.startswith("quicklook_") and path.suffix == ".png"
        assert path.read_bytes().startswith(PNG_MAGIC)
    assert not list(tmp_path.glob("*.part"))


def test_quicklooks_default_to_the_classic_folder(
    sandbox: Sandbox, session: up42.Up42, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = finished_job(sandbox, session)
    task = job.get_jobtasks()[0]
    paths = task.download_quicklooks()
    # As in the classic SDK: the job's folder, since only the data task has quicklooks.
    expected = tmp_path / f"project_{session.project_id}" / f"job_{job.job_id}"
    assert paths and all(Path(p).parent == expected for p in paths)


def test_credits_are_reported_like_the_classic_sdk(sandbox: Sandbox, session: up42.Up42) -> None:
    job = finished_job(sandbox, session, credits=42)
    assert job.get_credits() == {"creditsUsed": 42}


def test_download_results_unpacks_into_the_classic_default_folder(
    sandbox: Sandbox, session: up42.Up42, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = finished_job(sandbox, session, features=2)
    files = job.download_results()
    folder = tmp_path / f"project_{session.project_id}" / f"job_{job.job_id}"
    assert job.results == files
    assert folder / "data.json" in map(Path, files)
    tifs = [Path(f) for f in files if f.endswith(".tif")]
    assert len(tifs) == 2
    assert all(t.parent.parent == folder for t in tifs)
    assert all(Path(f).is_file() for f in files)


def test_download_results_without_unpacking_keeps_the_archive(
    sandbox: Sandbox, session: up42.Up42, tmp_path: Path
) -> None:
    job = finished_job(sandbox, session)
    files = job.download_results(output_directory=tmp_path, unpacking=False)
    assert [Path(f).name for f in files] == ["output.tgz"]
    assert Path(files[0]).read_bytes() == sandbox.archive_path(job.job_id).read_bytes()


def test_a_task_downloads_its_own_results(
    sandbox: Sandbox, session: up42.Up42, tmp_path: Path
) -> None:
    job = finished_job(sandbox, session)
    task = job.get_jobtasks()[0]
    files = task.download_results(output_directory=tmp_path)
    assert task.results == files
    assert any(Path(f).name == "data.json" for f in files)
    assert task.get_results_json()["type"] == "FeatureCollection"
