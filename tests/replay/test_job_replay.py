"""Every member of the classic ``Job``, replayed from ``tests/cassettes/test_job_replay/``."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import up42_facade as up42
from tests.replay.recording import Target

pytestmark = pytest.mark.vcr

# up42_facade/_viz.py composes affine transforms with `*`, which affine 3 deprecates (a
# PendingDeprecationWarning, an error here); drop this mark once it uses `@`.

#: track_status's default wait between polls; a replay only counts the waits.
POLL_INTERVAL = 5.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_a_finished_job_shows_its_info_status_model_and_repr(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    assert (job.job_id, job.project_id) == (target.job_id("succeeded"), target.project_id)
    info = job.info
    assert info["id"] == job.job_id
    assert {"name", "mode", "startedAt", "finishedAt", "workflowName", "inputs"} <= set(info)
    assert job.status == "SUCCEEDED"
    assert job.is_succeeded is True
    assert job.job_status is up42.JobStatus.SUCCEEDED
    model = job.model
    assert str(model.id) == job.job_id
    assert model.finished_at is not None
    shown = repr(job)
    assert job.job_id in shown
    assert "status: SUCCEEDED" in shown
    assert (job.results, job.quicklooks) == (None, None)


def test_track_status_polls_a_running_job_to_succeeded_without_real_sleeps(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("running"))
    seen: list[str] = []
    started = time.monotonic()
    assert job.track_status(poll_interval=POLL_INTERVAL, callback=seen.append) == "SUCCEEDED"
    assert len(seen) >= 2, "the job was already over: the cassette shows no polling"
    assert seen[-1] == "SUCCEEDED"
    assert "SUCCEEDED" not in seen[:-1]
    assert target.sleep.calls == [POLL_INTERVAL] * (len(seen) - 1)
    if target.mode == "replay":
        assert time.monotonic() - started < POLL_INTERVAL


def test_track_status_raises_job_failed_and_prints_every_task_log(
    target: Target, session: up42.Up42, capsys: pytest.CaptureFixture[str]
) -> None:
    job = session.initialize_job(target.job_id("failed"))
    with pytest.raises(up42.JobFailedError) as caught:
        job.track_status(poll_interval=POLL_INTERVAL)
    assert isinstance(caught.value, ValueError)
    assert (caught.value.job_id, caught.value.status) == (job.job_id, "FAILED")
    printed = capsys.readouterr().out
    for task in job.get_jobtasks(return_json=True):
        assert f"with jobtask_id {task['id']}" in printed
    assert " - ERROR - " in printed
    assert target.sleep.calls == []


def test_get_logs_returns_every_task_log_in_task_order(
    target: Target, session: up42.Up42, capsys: pytest.CaptureFixture[str]
) -> None:
    job = session.initialize_job(target.job_id("failed"))
    logs = job.get_logs(as_print=False, as_return=True)
    assert logs is not None
    task_ids = [task["id"] for task in job.get_jobtasks(return_json=True)]
    assert list(logs) == task_ids
    assert " - ERROR - " in logs[task_ids[-1]]
    assert capsys.readouterr().out == ""
    assert job.get_logs() is None
    printed = capsys.readouterr().out
    headers = [printed.index(f"with jobtask_id {task_id}") for task_id in task_ids]
    assert headers == sorted(headers)


def test_cancel_job_ends_a_running_job_as_cancelled(target: Target, session: up42.Up42) -> None:
    job = session.initialize_job(target.job_id("cancellable"))
    job.cancel_job()
    with pytest.raises(up42.JobCancelledError) as caught:
        job.track_status(poll_interval=POLL_INTERVAL)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status in {"CANCELLING", "CANCELLED"}


def test_get_jobtasks_gives_jobtask_objects_or_their_json(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    tasks = job.get_jobtasks()
    as_json = job.get_jobtasks(return_json=True)
    assert [task.jobtask_id for task in tasks] == [task["id"] for task in as_json]
    assert all(isinstance(task, up42.JobTask) for task in tasks)
    assert all((task.job_id, task.project_id) == (job.job_id, job.project_id) for task in tasks)
    assert {"id", "name", "status", "startedAt", "finishedAt", "block", "blockVersion"} <= set(
        as_json[0]
    )


def test_get_results_json_gives_the_feature_collection_or_a_geodataframe(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    collection = job.get_results_json()
    assert collection["type"] == "FeatureCollection"
    assert collection["features"]
    frame = job.get_results_json(as_dataframe=True)
    assert len(frame) == len(collection["features"])
    assert frame.crs.to_epsg() == 4326


def test_get_jobtasks_results_json_maps_each_task_to_its_feature_collection(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    per_task = job.get_jobtasks_results_json()
    assert list(per_task) == [task["id"] for task in job.get_jobtasks(return_json=True)]
    assert all(collection["type"] == "FeatureCollection" for collection in per_task.values())


def test_get_credits_reports_the_credits_used_like_the_classic_sdk(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    credits = job.get_credits()
    assert list(credits) == ["creditsUsed"]
    assert isinstance(credits["creditsUsed"], int)


def test_download_results_unpacks_into_the_classic_default_folder(
    target: Target, session: up42.Up42, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = session.initialize_job(target.job_id("succeeded"))
    files = job.download_results()
    folder = tmp_path / f"project_{job.project_id}" / f"job_{job.job_id}"
    assert job.results == files
    assert folder / "data.json" in map(Path, files)
    assert any(name.endswith(".tif") for name in files)
    assert all(Path(name).is_file() and folder in Path(name).parents for name in files)


def test_download_results_without_unpacking_keeps_the_archive(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    files = job.download_results(output_directory=tmp_path, unpacking=False)
    assert len(files) == 1
    archive = Path(files[0])
    assert archive.suffix == ".tgz"
    assert archive.read_bytes()[:2] == b"\x1f\x8b"  # gzip


def test_download_quicklooks_writes_the_png_images(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    paths = job.download_quicklooks(output_directory=tmp_path)
    assert paths
    assert job.quicklooks == paths
    for path in map(Path, paths):
        assert path.name.startswith("quicklook_")
        assert path.read_bytes().startswith(PNG_MAGIC)


class FakeBlob:
    """The part of ``google.cloud.storage.Blob`` the upload uses: ``open("wb")``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.data: bytes | None = None
        self.options: dict[str, object] = {}

    @contextmanager
    def open(self, mode: str, **options: object) -> Iterator[io.BytesIO]:
        assert mode == "wb"
        self.options = options
        buffer = io.BytesIO()
        yield buffer
        self.data = buffer.getvalue()  # like a resumable upload: committed only on a clean close


class FakeBucket:
    """The part of ``google.cloud.storage.Bucket`` the upload uses: ``blob(name)``."""

    def __init__(self) -> None:
        self.blobs: dict[str, FakeBlob] = {}

    def blob(self, name: str) -> FakeBlob:
        return self.blobs.setdefault(name, FakeBlob(name))


def test_upload_results_to_bucket_streams_the_archive_into_the_classic_blob_name(
    target: Target, session: up42.Up42
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    bucket = FakeBucket()
    job.upload_results_to_bucket(gs_client=None, bucket=bucket, folder="berlin")
    blob = bucket.blobs[f"v0/berlin/{job.job_id}.tgz"]
    assert blob.data is not None
    assert blob.data[:2] == b"\x1f\x8b"  # gzip


@pytest.mark.usefixtures("pyplot")
def test_plot_results_map_results_and_plot_coverage_show_the_downloaded_results(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    pytest.importorskip("rasterio", reason="the viz extra is not installed")
    pytest.importorskip("folium", reason="the viz extra is not installed")
    job = session.initialize_job(target.job_id("succeeded"))
    job.download_results(output_directory=tmp_path / "results")
    figure = job.plot_results()
    assert figure.axes
    fmap = job.map_results(save_html=tmp_path / "maps")
    assert (tmp_path / "maps" / "final_map.html").is_file()
    assert fmap is not None
    coverage = job.plot_coverage(job.get_results_json(as_dataframe=True), legend_column="uid")
    assert coverage.axes


def test_plot_quicklooks_shows_the_downloaded_quicklooks(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    job.download_quicklooks(output_directory=tmp_path)
    figure = job.plot_quicklooks()
    assert len([ax for ax in figure.axes if ax.images]) == len(job.quicklooks or [])
