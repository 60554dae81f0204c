"""Every classic member through AsyncJob and AsyncJobTask, against the sandbox.

Each story mirrors one of ``tests/facade/test_job.py``: the async door must answer as the
sync one does, with coroutines.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from geopandas.testing import assert_geodataframe_equal

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import AsyncRecordingSleep, Connect, files_under

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"


async def finished_job(
    sandbox: Sandbox, session: up42.AsyncUp42, **options: object
) -> up42.AsyncJob:
    job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", **options)  # type: ignore[arg-type]
    return await session.initialize_job(job_id)


async def test_the_classic_properties_are_awaited_and_fetched_anew(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(sandbox.create_job("succeeds"))
    first = (await job.info())["status"]
    assert await job.track_status(poll_interval=0.05) == "SUCCEEDED"
    assert (await job.info())["status"] == "SUCCEEDED" != first
    assert await job.status() == "SUCCEEDED"
    assert await job.is_succeeded() is True
    assert await job.job_status() is up42.JobStatus.SUCCEEDED
    model = await job.model()
    assert str(model.id) == job.job_id and model.finished_at is not None


@pytest.mark.parametrize("status", ["RUNNING", "FAILED", "QUEUED_FOR_REVIEW"])
async def test_status_and_is_succeeded_report_every_value(
    sandbox: Sandbox, session: up42.AsyncUp42, status: str
) -> None:
    job = await session.initialize_job(sandbox.create_job("succeeds", status=status))
    assert await job.status() == status
    assert await job.is_succeeded() is False
    assert isinstance(await job.job_status(), up42.JobStatus) is (status != "QUEUED_FOR_REVIEW")


async def test_info_is_the_dict_the_api_sent_and_the_repr_is_classic(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session, name="Berlin scenes")
    with up42.Up42(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
    ) as sync:
        twin = sync.initialize_job(job.job_id)
        assert await job.info() == twin.info
        assert repr(job) == "Async" + repr(twin)
    assert sandbox.project_api_key not in repr(job)


async def test_track_status_polls_with_the_session_sleep_until_succeeded(
    sandbox: Sandbox, session: up42.AsyncUp42, sleeps: AsyncRecordingSleep
) -> None:
    job = await session.initialize_job(sandbox.create_job("succeeds"))
    assert await job.track_status(poll_interval=0.05) == "SUCCEEDED"
    assert sleeps.calls and set(sleeps.calls) == {0.05}


async def test_track_status_raises_job_failed_and_prints_task_logs(
    sandbox: Sandbox, session: up42.AsyncUp42, capsys: pytest.CaptureFixture[str]
) -> None:
    job = await session.initialize_job(sandbox.create_job("fails"))
    with pytest.raises(up42.JobFailedError) as caught:
        await job.track_status(poll_interval=0.05)
    assert isinstance(caught.value, ValueError) and caught.value.status == "FAILED"
    printed = capsys.readouterr().out
    assert "with jobtask_id" in printed and "ERROR" in printed


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("ERROR", up42.JobFailedError),
        ("CANCELLED", up42.JobCancelledError),
        ("CANCELLING", up42.JobCancelledError),
    ],
)
async def test_track_status_raises_a_value_error_for_every_bad_end(
    sandbox: Sandbox, session: up42.AsyncUp42, status: str, error: type[Exception]
) -> None:
    job = await session.initialize_job(sandbox.create_job("succeeds", status=status))
    with pytest.raises(error) as caught:
        await job.track_status(print_logs=False)
    assert isinstance(caught.value, ValueError) and job.job_id in str(caught.value)


async def test_track_status_times_out_naming_the_job(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(sandbox.create_job("long_running"))
    with pytest.raises(up42.JobTimeoutError) as caught:
        await job.track_status(poll_interval=0.02, timeout=0.1, sleep=AsyncRecordingSleep(None))
    assert isinstance(caught.value, TimeoutError) and job.job_id in str(caught.value)
    await job.cancel_job()


async def test_an_unknown_status_is_logged_once_and_polling_goes_on(
    sandbox: Sandbox, session: up42.AsyncUp42, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = sandbox.create_job("succeeds")
    sandbox.inject("unknown_status", count=3, job_id=job_id, value="QUEUED_FOR_REVIEW")
    job = await session.initialize_job(job_id)
    assert await job.track_status(poll_interval=0.05) == "SUCCEEDED"
    warnings = [r for r in caplog.records if "QUEUED_FOR_REVIEW" in r.getMessage()]
    assert len(warnings) == 1


async def test_cancel_job_posts_once_and_cancelling_twice_counts_as_done(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(sandbox.create_job("long_running"))
    await job.cancel_job()
    posts = [r for r in sandbox.requests if r.method == "POST" and job.job_id in r.path]
    assert len(posts) == 1
    await job.cancel_job()
    with pytest.raises(up42.JobCancelledError):
        await job.track_status(poll_interval=0.05)


async def test_get_jobtasks_gives_async_tasks_or_their_json(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session, tasks=3)
    tasks = await job.get_jobtasks()
    as_json = await job.get_jobtasks(return_json=True)
    assert (
        [t.jobtask_id for t in tasks] == [t["id"] for t in as_json] == sandbox.task_ids(job.job_id)
    )
    assert all(isinstance(task, up42.AsyncJobTask) for task in tasks)
    assert (await tasks[0].info())["id"] == tasks[0].jobtask_id
    assert repr(tasks[0]).startswith("AsyncJobTask(name: ") and "block_name" in repr(tasks[0])


async def test_get_logs_prints_every_task_log_in_order_and_returns_them(
    sandbox: Sandbox, session: up42.AsyncUp42, capsys: pytest.CaptureFixture[str]
) -> None:
    job = await finished_job(sandbox, session, tasks=3)
    logs = await job.get_logs(as_print=True, as_return=True)
    assert logs is not None
    task_ids = sandbox.task_ids(job.job_id)
    assert list(logs) == task_ids
    printed = capsys.readouterr().out
    assert printed.startswith(f"Printing logs of 3 JobTasks in Job with job_id {job.job_id}:")
    positions = [printed.index(f"with jobtask_id {task_id}") for task_id in task_ids]
    assert positions == sorted(positions)
    assert await job.get_logs(as_print=False) is None
    assert capsys.readouterr().out == ""


async def test_results_json_and_the_geodataframe_equal_the_sync_ones(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session, features=5)
    collection = await job.get_results_json()
    frame = await job.get_results_json(as_dataframe=True)
    with up42.Up42(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
    ) as sync:
        twin = sync.initialize_job(job.job_id)
        assert collection == twin.get_results_json()
        assert_geodataframe_equal(frame, twin.get_results_json(as_dataframe=True))
    assert frame.crs == "EPSG:4326" and len(frame) == 5


async def test_per_task_results_json_maps_each_task(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session, tasks=2, features=2)
    results = await job.get_jobtasks_results_json()
    assert list(results) == sandbox.task_ids(job.job_id)
    assert all(collection["type"] == "FeatureCollection" for collection in results.values())


async def test_credits_are_reported_like_the_classic_sdk(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session, credits=42)
    assert await job.get_credits() == {"creditsUsed": 42}


async def test_download_results_unpacks_into_the_classic_default_folder(
    sandbox: Sandbox, session: up42.AsyncUp42, workdir: Path
) -> None:
    job = await finished_job(sandbox, session, features=2)
    seen: list[tuple[int, int | None]] = []
    files = await job.download_results(progress=lambda done, total: seen.append((done, total)))
    folder = workdir / f"project_{sandbox.project_id}" / f"job_{job.job_id}"
    assert job.results == files
    assert str(folder / "data.json") in files
    assert json.loads((folder / "data.json").read_text())["type"] == "FeatureCollection"
    assert seen and seen[-1][0] == seen[-1][1]
    assert not [name for name in files_under(workdir) if ".up42-" in name]


async def test_download_results_without_unpacking_keeps_the_archive(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await finished_job(sandbox, session)
    (archive,) = await job.download_results(tmp_path, unpacking=False)
    with tarfile.open(archive) as tar:
        assert any(name.endswith("data.json") for name in tar.getnames())


async def test_download_quicklooks_writes_png_files_named_like_the_classic_sdk(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await finished_job(sandbox, session, features=2)
    paths = await job.download_quicklooks(tmp_path)
    assert job.quicklooks == paths and len(paths) == 2
    for path in paths:
        assert Path(path).name.startswith("quicklook_")
        assert Path(path).read_bytes().startswith(PNG_MAGIC)


async def test_a_task_downloads_its_own_results_and_quicklooks(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await finished_job(sandbox, session, features=2)
    task = await session.initialize_jobtask(sandbox.task_ids(job.job_id)[0], job.job_id)
    assert isinstance(task, up42.AsyncJobTask)
    files = await task.download_results(tmp_path / "results")
    assert str(tmp_path / "results" / "data.json") in files
    assert len(await task.download_quicklooks(tmp_path / "looks")) == 2
    assert (await task.get_results_json())["type"] == "FeatureCollection"


async def test_upload_results_to_bucket_streams_into_the_classic_blob_name(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session)

    class Blob:
        def __init__(self, name: str) -> None:
            self.name, self.data = name, bytearray()

        def open(self, mode: str, **options: object) -> Blob:
            return self

        def write(self, chunk: memoryview) -> None:
            self.data += chunk

        def __enter__(self) -> Blob:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    class Bucket:
        def __init__(self) -> None:
            self.blobs: list[Blob] = []

        def blob(self, name: str) -> Blob:
            self.blobs.append(Blob(name))
            return self.blobs[-1]

    bucket = Bucket()
    await job.upload_results_to_bucket(None, bucket, "folder")
    (blob,) = bucket.blobs
    assert blob.name == f"v0/folder/{job.job_id}.tgz"
    assert bytes(blob.data) == sandbox.archive_path(job.job_id).read_bytes()


async def test_a_job_nobody_has_raises_not_found_and_a_bad_id_sends_nothing(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        await session.initialize_job(UNKNOWN_JOB)
    assert caught.value.status_code == 404
    sandbox.requests.clear()
    with pytest.raises(up42.ConfigurationError):
        await session.initialize_job("not-a-uuid")
    assert len(sandbox.requests) == 0


async def test_refused_credentials_raise_an_authentication_error_without_the_key(
    sandbox: Sandbox, connect: Connect
) -> None:
    with pytest.raises(up42.AuthenticationError) as caught:
        await connect(project_api_key="wrong-key-1234")
    assert "wrong-key-1234" not in str(caught.value)


async def test_credentials_come_from_a_cfg_file_or_the_environment(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"project_id": sandbox.project_id, "project_api_key": sandbox.project_api_key})
    )
    async with up42.AsyncUp42(cfg_file=config, base_url=sandbox.base_url) as session:
        assert session.project_id == sandbox.project_id
    monkeypatch.setenv("UP42_PROJECT_ID", sandbox.project_id)
    monkeypatch.setenv("UP42_PROJECT_API_KEY", sandbox.project_api_key)
    monkeypatch.setenv("UP42_BASE_URL", sandbox.base_url)
    session = up42.AsyncUp42()
    await session.check_credentials()
    await session.aclose()
    monkeypatch.delenv("UP42_PROJECT_ID")
    with pytest.raises(up42.ConfigurationError, match="missing credentials"):
        up42.AsyncUp42()


async def test_transient_errors_are_retried_with_the_session_sleep(
    sandbox: Sandbox, session: up42.AsyncUp42, sleeps: AsyncRecordingSleep
) -> None:
    job = await finished_job(sandbox, session)
    sandbox.inject("error", count=2, job_id=job.job_id, status=503)
    assert await job.status() == "SUCCEEDED"
    assert len(sleeps.calls) == 2


async def test_a_server_error_that_outlasts_the_retries_is_a_server_error(
    sandbox: Sandbox, connect: Connect
) -> None:
    session = await connect(retry=up42.RetryPolicy(max_attempts=2, backoff_base=0.01))
    job = await finished_job(sandbox, session)
    sandbox.inject("error", count=2, job_id=job.job_id, status=502)
    with pytest.raises(up42.ServerError) as caught:
        await job.info()
    assert caught.value.status_code == 502


async def test_a_rate_limit_waits_as_long_as_retry_after_says(
    sandbox: Sandbox, session: up42.AsyncUp42, sleeps: AsyncRecordingSleep
) -> None:
    job = await finished_job(sandbox, session)
    sandbox.inject("rate_limit", count=1, job_id=job.job_id, retry_after=2)
    assert await job.status() == "SUCCEEDED"
    assert sleeps.calls == [2.0]


async def test_a_broken_body_is_an_invalid_response_error(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await finished_job(sandbox, session)
    sandbox.inject("malformed_json", count=1, path="/credits")
    with pytest.raises(up42.InvalidResponseError):
        await job.get_credits()


async def test_a_download_that_keeps_failing_leaves_nothing(
    sandbox: Sandbox, connect: Connect, tmp_path: Path, sleeps: AsyncRecordingSleep
) -> None:
    session = await connect(retry=up42.RetryPolicy(max_attempts=3, backoff_base=0.01))
    job = await finished_job(sandbox, session)
    sandbox.inject("drop", count=None, job_id=job.job_id, at_byte=0)
    with pytest.raises(up42.DownloadError, match="gave up after 3 attempts") as caught:
        await job.download_results(tmp_path / "out")
    assert "X-Goog-Signature" not in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert len(sleeps.calls) == 2  # the download's waits went through the session's sleep


async def test_a_hostile_archive_is_refused_and_nothing_lands(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", hostile="dotdot")
    job = await session.initialize_job(job_id)
    with pytest.raises(up42.UnsafeArchiveError):
        await job.download_results(tmp_path / "out")
    assert not (tmp_path / "out").exists()
