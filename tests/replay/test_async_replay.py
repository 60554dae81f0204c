"""The async door replayed: each test is the twin of a sync replay test and plays its cassette.

An ``AsyncJob`` member sends what its ``Job`` twin sends, so no cassette is recorded for the
async door: ``@replays(module, test)`` names the sync test whose cassette and ``ids.json``
entry a test replays. The whole cassette must be played (``_cassette_tells_the_whole_story``
in ``conftest.py``), in the recorded order unless the member fetches side by side
(``ordered=False``). While recording these tests are skipped before any fixture runs, so
pytest-recording's rewrite mode never deletes the twin's cassette on their account.

Besides the twin's own assertions, values are checked against what the recording got: the
info dicts, statuses, bodies and archives on tape are what the sync twin saw.
"""

from __future__ import annotations

import difflib
import io
import json
import tarfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

import up42_facade as up42
from tests.replay.conformance import CASSETTES
from tests.replay.recording import IDS_FILE, IdBook, Target, open_target

# The values the twins recorded with (the job that polls every POLL_INTERVAL, the 429's
# Retry-After, the unknown id in the recorded path) and their fakes: one definition each.
from tests.replay.test_errors_replay import RETRY_AFTER, UNKNOWN_ID, statuses
from tests.replay.test_job_replay import PNG_MAGIC, POLL_INTERVAL, FakeBucket

pytestmark = [pytest.mark.vcr, pytest.mark.anyio]

JOB = "test_job_replay"
JOBTASK = "test_jobtask_replay"
ERRORS = "test_errors_replay"
#: What the unpacking drops from every member name of a results archive (see DESIGN.md).
ARCHIVE_ROOT = "output"


def replays(module: str, test: str, *, ordered: bool = True) -> pytest.MarkDecorator:
    """Mark the async twin of ``module``'s ``test``: it replays that test's cassette and ids.

    Args:
        module: The sync test's module (its cassette folder), e.g. ``JOB``.
        test: The sync test's name (its cassette and ``ids.json`` entry).
        ordered: The requests must go out in the recorded order; False for members that
            fetch side by side, where only the set of requests is the same.
    """
    return pytest.mark.replays(f"{module}/{test}", ordered=ordered)


# -- the twin's cassette, ids and session ------------------------------------------------------


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """``AsyncUp42`` is built on asyncio (locks, semaphores, ``to_thread``)."""
    return "asyncio"


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    """``tests/cassettes/``: each test names its twin's folder in ``default_cassette_name``."""
    return str(CASSETTES)


@pytest.fixture
def twin(request: pytest.FixtureRequest) -> str:
    """``<module>/<test>`` of the sync test this one replays."""
    marker = request.node.get_closest_marker("replays")
    if marker is None:
        pytest.fail(f"{request.node.name} replays no sync test: mark it @replays(module, test)")
    return str(marker.args[0])


@pytest.fixture
def default_cassette_name(twin: str, record_mode: str) -> str:
    """The twin's cassette, relative to ``vcr_cassette_dir``.

    pytest-recording deletes this file in rewrite mode; the ``replays`` mark skips the test
    before that, and this guard would too.
    """
    if record_mode != "none":
        pytest.skip(f"replay only: {twin} records this cassette")
    return twin


@pytest.fixture
def target(twin: str) -> Iterator[Target]:
    """The replay target with the ids the twin recorded (never written: nothing is recorded)."""
    with open_target("replay", IdBook(IDS_FILE).get(twin)) as target:
        yield target


@pytest.fixture
async def session(target: Target) -> AsyncIterator[up42.AsyncUp42]:
    """An async session against the target (entering it fetches the token), closed after."""
    async with target.async_session() as session:
        yield session


class Wire:
    """The interactions played for a test, in the order its requests went out.

    Shaped like a vcrpy cassette (``data`` holds ``(request, response)`` pairs), so the sync
    tests' helpers such as ``statuses`` read it as they read a cassette. vcrpy matches a
    request on method, path and query; ``differences`` lists what else of a request is not
    what the twin sent (body, header names, auth scheme).
    """

    def __init__(self, cassette: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data: list[tuple[Any, dict[str, Any]]] = []
        self.differences: list[str] = []
        play = cassette.play_response

        def play_and_note(request: Any) -> dict[str, Any]:
            counts = dict(cassette.play_counts)
            response: dict[str, Any] = play(request)
            [index] = [i for i, count in cassette.play_counts.items() if counts.get(i) != count]
            self.data.append((request, response))
            sent, twin = shape(request), shape(cassette.data[index][0])
            if sent != twin:
                what = f"{request.method} {request.path}"
                self.differences.append(f"{what}: sent {sent}, the twin sent {twin}")
            return response

        # Both stubs (httpx and http.client, the downloads' worker threads) play through it.
        monkeypatch.setattr(cassette, "play_response", play_and_note)

    def requests(self) -> list[str]:
        return [f"{request.method} {request.path}" for request, _ in self.data]


def shape(request: Any) -> tuple[Any, ...]:
    """What of a request vcrpy does not match on: body, header names, auth scheme (the token
    itself differs, and a cassette holds it scrubbed)."""
    authorization = request.headers.get("authorization")
    scheme = authorization.partition(" ")[0] if authorization else None
    return request.body or b"", sorted(name.lower() for name in request.headers), scheme


@pytest.fixture(autouse=True)
def wire(
    request: pytest.FixtureRequest, vcr: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Wire]:
    """What the test sent; a passing test must have sent what the twin did, in its order."""
    wire = Wire(vcr, monkeypatch)
    yield wire
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.passed:
        return
    if wire.differences:
        pytest.fail("requests unlike the twin's:\n" + "\n".join(wire.differences))
    marker = request.node.get_closest_marker("replays")
    assert marker is not None  # the cassette came from it (`twin`)
    recorded = [f"{sent.method} {sent.path}" for sent, _ in vcr.data]
    if marker.kwargs["ordered"] and wire.requests() != recorded:
        diff = difflib.unified_diff(recorded, wire.requests(), "recorded", "sent", lineterm="")
        pytest.fail("sent in another order than the twin recorded:\n" + "\n".join(diff))


# -- what the recording got ------------------------------------------------------------------


def recorded(cassette: Any, ending: str) -> list[bytes]:
    """The bodies of the recorded answers to GETs whose path ends with ``ending``, in order."""
    bodies = [
        response["body"]["string"]
        for request, response in cassette.data
        if request.method == "GET" and request.path.endswith(ending)
    ]
    return [body.encode() if isinstance(body, str) else body for body in bodies]


def recorded_json(cassette: Any, ending: str) -> list[Any]:
    return [json.loads(body) for body in recorded(cassette, ending)]


def archive_files(archive: bytes) -> dict[str, bytes]:
    """``{path: bytes}`` of the archive's files as unpacking writes them (no ``output/``)."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            content = tar.extractfile(member) if member.isfile() else None
            if content is not None:
                files[str(PurePosixPath(member.name).relative_to(ARCHIVE_ROOT))] = content.read()
    return files


def files_under(folder: Path, paths: list[str]) -> dict[str, bytes]:
    return {Path(path).relative_to(folder).as_posix(): Path(path).read_bytes() for path in paths}


def geodataframe_of(collection: dict[str, Any]) -> Any:
    """What the classic SDK (and the sync door) make of a FeatureCollection."""
    import geopandas

    return geopandas.GeoDataFrame.from_features(collection, crs="EPSG:4326")


# -- Job (tests/replay/test_job_replay.py) -----------------------------------------------------


@replays(JOB, "test_a_finished_job_shows_its_info_status_model_and_repr")
async def test_a_finished_job_shows_its_info_status_model_and_repr(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    assert isinstance(job, up42.AsyncJob)
    assert (job.job_id, job.project_id) == (target.job_id("succeeded"), target.project_id)
    info = await job.info()
    assert info["id"] == job.job_id
    assert {"name", "mode", "startedAt", "finishedAt", "workflowName", "inputs"} <= set(info)
    assert info == recorded_json(vcr, f"/jobs/{job.job_id}")[1]["data"]
    assert await job.status() == "SUCCEEDED"
    assert await job.is_succeeded() is True
    assert await job.job_status() is up42.JobStatus.SUCCEEDED
    model = await job.model()
    assert str(model.id) == job.job_id
    assert model.finished_at is not None
    shown = repr(job)
    assert shown.startswith("AsyncJob")
    assert job.job_id in shown
    assert "status: SUCCEEDED" in shown
    assert (job.results, job.quicklooks) == (None, None)


@replays(JOB, "test_track_status_polls_a_running_job_to_succeeded_without_real_sleeps")
async def test_track_status_polls_a_running_job_to_succeeded_without_real_sleeps(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("running"))
    seen: list[str] = []
    started = time.monotonic()
    assert await job.track_status(poll_interval=POLL_INTERVAL, callback=seen.append) == "SUCCEEDED"
    assert len(seen) >= 2, "the job was already over: the cassette shows no polling"
    assert seen[-1] == "SUCCEEDED"
    assert "SUCCEEDED" not in seen[:-1]
    polled = recorded_json(vcr, f"/jobs/{job.job_id}")[1:]
    assert seen == [answer["data"]["status"] for answer in polled]
    assert target.sleep.calls == [POLL_INTERVAL] * (len(seen) - 1)
    assert time.monotonic() - started < POLL_INTERVAL


@replays(JOB, "test_track_status_raises_job_failed_and_prints_every_task_log")
async def test_track_status_raises_job_failed_and_prints_every_task_log(
    target: Target, session: up42.AsyncUp42, vcr: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = await session.initialize_job(target.job_id("failed"))
    with pytest.raises(up42.JobFailedError) as caught:
        await job.track_status(poll_interval=POLL_INTERVAL)
    assert isinstance(caught.value, ValueError)
    assert (caught.value.job_id, caught.value.status) == (job.job_id, "FAILED")
    printed = capsys.readouterr().out
    tasks = await job.get_jobtasks(return_json=True)
    for task in tasks:
        assert f"with jobtask_id {task['id']}" in printed
        [log] = recorded(vcr, f"/tasks/{task['id']}/logs")
        assert log.decode() in printed
    assert " - ERROR - " in printed
    assert target.sleep.calls == []


@replays(JOB, "test_get_logs_returns_every_task_log_in_task_order", ordered=False)
async def test_get_logs_returns_every_task_log_in_task_order(
    target: Target, session: up42.AsyncUp42, vcr: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = await session.initialize_job(target.job_id("failed"))
    logs = await job.get_logs(as_print=False, as_return=True)
    assert logs is not None
    task_ids = [task["id"] for task in await job.get_jobtasks(return_json=True)]
    assert list(logs) == task_ids
    assert " - ERROR - " in logs[task_ids[-1]]
    for task_id in task_ids:
        assert logs[task_id].encode() in recorded(vcr, f"/tasks/{task_id}/logs")
    assert capsys.readouterr().out == ""
    assert await job.get_logs() is None
    printed = capsys.readouterr().out
    headers = [printed.index(f"with jobtask_id {task_id}") for task_id in task_ids]
    assert headers == sorted(headers)
    assert all(logs[task_id] in printed for task_id in task_ids)


@replays(JOB, "test_cancel_job_ends_a_running_job_as_cancelled")
async def test_cancel_job_ends_a_running_job_as_cancelled(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("cancellable"))
    await job.cancel_job()
    with pytest.raises(up42.JobCancelledError) as caught:
        await job.track_status(poll_interval=POLL_INTERVAL)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status in {"CANCELLING", "CANCELLED"}
    assert caught.value.status == recorded_json(vcr, f"/jobs/{job.job_id}")[-1]["data"]["status"]


@replays(JOB, "test_get_jobtasks_gives_jobtask_objects_or_their_json")
async def test_get_jobtasks_gives_jobtask_objects_or_their_json(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    tasks = await job.get_jobtasks()
    as_json = await job.get_jobtasks(return_json=True)
    assert [task.jobtask_id for task in tasks] == [task["id"] for task in as_json]
    assert all(isinstance(task, up42.AsyncJobTask) for task in tasks)
    assert all((task.job_id, task.project_id) == (job.job_id, job.project_id) for task in tasks)
    assert {"id", "name", "status", "startedAt", "finishedAt", "block", "blockVersion"} <= set(
        as_json[0]
    )
    assert as_json == recorded_json(vcr, "/tasks/")[-1]["data"]


@replays(JOB, "test_get_results_json_gives_the_feature_collection_or_a_geodataframe")
async def test_get_results_json_gives_the_feature_collection_or_a_geodataframe(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    from geopandas.testing import assert_geodataframe_equal

    job = await session.initialize_job(target.job_id("succeeded"))
    collection = await job.get_results_json()
    assert collection["type"] == "FeatureCollection"
    assert collection["features"]
    assert collection == recorded_json(vcr, "/outputs/data-json/")[0]
    frame = await job.get_results_json(as_dataframe=True)
    assert len(frame) == len(collection["features"])
    assert frame.crs.to_epsg() == 4326
    assert_geodataframe_equal(frame, geodataframe_of(collection))


@replays(
    JOB, "test_get_jobtasks_results_json_maps_each_task_to_its_feature_collection", ordered=False
)
async def test_get_jobtasks_results_json_maps_each_task_to_its_feature_collection(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    per_task = await job.get_jobtasks_results_json()
    assert list(per_task) == [task["id"] for task in await job.get_jobtasks(return_json=True)]
    assert all(collection["type"] == "FeatureCollection" for collection in per_task.values())
    for task_id, collection in per_task.items():
        assert [collection] == recorded_json(vcr, f"/tasks/{task_id}/outputs/data-json/")


@replays(JOB, "test_get_credits_reports_the_credits_used_like_the_classic_sdk")
async def test_get_credits_reports_the_credits_used_like_the_classic_sdk(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    credits = await job.get_credits()
    assert list(credits) == ["creditsUsed"]
    assert isinstance(credits["creditsUsed"], int)
    [answer] = recorded_json(vcr, "/credits")
    assert credits["creditsUsed"] == answer["data"]["creditsUsed"]


@replays(JOB, "test_download_results_unpacks_into_the_classic_default_folder")
async def test_download_results_unpacks_into_the_classic_default_folder(
    target: Target,
    session: up42.AsyncUp42,
    vcr: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    job = await session.initialize_job(target.job_id("succeeded"))
    files = await job.download_results()
    folder = tmp_path / f"project_{job.project_id}" / f"job_{job.job_id}"
    assert job.results == files
    assert folder / "data.json" in map(Path, files)
    assert any(name.endswith(".tif") for name in files)
    assert all(Path(name).is_file() and folder in Path(name).parents for name in files)
    [archive] = recorded(vcr, ".tgz")
    assert files_under(folder, files) == archive_files(archive)


@replays(JOB, "test_download_results_without_unpacking_keeps_the_archive")
async def test_download_results_without_unpacking_keeps_the_archive(
    target: Target, session: up42.AsyncUp42, vcr: Any, tmp_path: Path
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    files = await job.download_results(output_directory=tmp_path, unpacking=False)
    assert len(files) == 1
    archive = Path(files[0])
    assert archive.suffix == ".tgz"
    assert archive.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert [archive.read_bytes()] == recorded(vcr, ".tgz")


@replays(JOB, "test_download_quicklooks_writes_the_png_images")
async def test_download_quicklooks_writes_the_png_images(
    target: Target, session: up42.AsyncUp42, vcr: Any, tmp_path: Path
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    paths = await job.download_quicklooks(output_directory=tmp_path)
    assert paths
    assert job.quicklooks == paths
    for path in map(Path, paths):
        assert path.name.startswith("quicklook_")
        assert path.read_bytes().startswith(PNG_MAGIC)
    [names] = [answer["data"] for answer in recorded_json(vcr, "/outputs/quicklooks/")]
    expected = {f"quicklook_{name}": recorded(vcr, f"/quicklooks/{name}")[0] for name in names}
    assert files_under(tmp_path, paths) == expected


@replays(JOB, "test_upload_results_to_bucket_streams_the_archive_into_the_classic_blob_name")
async def test_upload_results_to_bucket_streams_the_archive_into_the_classic_blob_name(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    bucket = FakeBucket()
    await job.upload_results_to_bucket(gs_client=None, bucket=bucket, folder="berlin")
    blob = bucket.blobs[f"v0/berlin/{job.job_id}.tgz"]
    assert blob.data is not None
    assert blob.data[:2] == b"\x1f\x8b"  # gzip
    assert [blob.data] == recorded(vcr, ".tgz")


@replays(JOB, "test_plot_results_map_results_and_plot_coverage_show_the_downloaded_results")
@pytest.mark.usefixtures("pyplot")
async def test_plot_results_map_results_and_plot_coverage_show_the_downloaded_results(
    target: Target, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    pytest.importorskip("rasterio", reason="the viz extra is not installed")
    pytest.importorskip("folium", reason="the viz extra is not installed")
    job = await session.initialize_job(target.job_id("succeeded"))
    await job.download_results(output_directory=tmp_path / "results")
    figure = job.plot_results()
    assert figure.axes
    fmap = job.map_results(save_html=tmp_path / "maps")
    assert (tmp_path / "maps" / "final_map.html").is_file()
    assert fmap is not None
    frame = await job.get_results_json(as_dataframe=True)
    coverage = job.plot_coverage(frame, legend_column="uid")
    assert coverage.axes


@replays(JOB, "test_plot_quicklooks_shows_the_downloaded_quicklooks")
@pytest.mark.usefixtures("pyplot")
async def test_plot_quicklooks_shows_the_downloaded_quicklooks(
    target: Target, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    await job.download_quicklooks(output_directory=tmp_path)
    figure = job.plot_quicklooks()
    assert len([ax for ax in figure.axes if ax.images]) == len(job.quicklooks or [])


# -- JobTask (tests/replay/test_jobtask_replay.py) ---------------------------------------------


# The sync twin goes through the module-level session of authenticate(), which the async door
# does not have; the requests are the same through the session's initialize_jobtask.
@replays(JOBTASK, "test_initialize_jobtask_uses_the_last_authenticated_session")
async def test_initialize_jobtask_gives_a_task_of_the_sessions_project(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    job_id = target.job_id("succeeded")
    job = await session.initialize_job(job_id)
    first = (await job.get_jobtasks(return_json=True))[0]
    task = await session.initialize_jobtask(first["id"], job_id)
    assert isinstance(task, up42.AsyncJobTask)
    assert (task.jobtask_id, task.job_id, task.project_id) == (
        first["id"],
        job_id,
        target.project_id,
    )
    info = await task.info()
    assert (info["id"], info["name"], info["block"]) == (
        first["id"],
        first["name"],
        first["block"],
    )
    assert info == recorded_json(vcr, "/tasks/")[-1]["data"][0]
    shown = repr(task)
    assert shown.startswith("AsyncJobTask")
    assert first["id"] in shown
    assert f"block_name: {first['block']['name']}" in shown
    assert (task.results, task.quicklooks) == (None, None)


@replays(JOBTASK, "test_a_task_gives_its_results_json_as_a_feature_collection_or_a_geodataframe")
async def test_a_task_gives_its_results_json_as_a_feature_collection_or_a_geodataframe(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    from geopandas.testing import assert_geodataframe_equal

    job = await session.initialize_job(target.job_id("succeeded"))
    task = (await job.get_jobtasks())[0]
    collection = await task.get_results_json()
    assert collection["type"] == "FeatureCollection"
    assert collection == recorded_json(vcr, f"/tasks/{task.jobtask_id}/outputs/data-json/")[0]
    frame = await task.get_results_json(as_dataframe=True)
    assert len(frame) == len(collection["features"])
    assert frame.crs.to_epsg() == 4326
    assert_geodataframe_equal(frame, geodataframe_of(collection))


@replays(JOBTASK, "test_a_task_downloads_and_unpacks_its_own_results")
async def test_a_task_downloads_and_unpacks_its_own_results(
    target: Target,
    session: up42.AsyncUp42,
    vcr: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    job = await session.initialize_job(target.job_id("succeeded"))
    task = (await job.get_jobtasks())[0]
    files = await task.download_results()
    folder = (
        tmp_path / f"project_{job.project_id}" / f"job_{job.job_id}" / f"jobtask_{task.jobtask_id}"
    )
    assert task.results == files
    assert folder / "data.json" in map(Path, files)
    assert all(Path(name).is_file() for name in files)
    [archive] = recorded(vcr, f"/{task.jobtask_id}/output.tgz")
    assert files_under(folder, files) == archive_files(archive)


@replays(JOBTASK, "test_a_task_downloads_its_quicklooks_into_the_jobs_folder_like_the_classic_sdk")
async def test_a_task_downloads_its_quicklooks_into_the_jobs_folder_like_the_classic_sdk(
    target: Target,
    session: up42.AsyncUp42,
    vcr: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    job = await session.initialize_job(target.job_id("succeeded"))
    task = (await job.get_jobtasks())[0]
    paths = await task.download_quicklooks()
    assert paths
    assert task.quicklooks == paths
    folder = tmp_path / f"project_{job.project_id}" / f"job_{job.job_id}"
    assert all(Path(path).parent == folder for path in paths)
    assert all(Path(path).read_bytes().startswith(PNG_MAGIC) for path in paths)
    [names] = [answer["data"] for answer in recorded_json(vcr, "/outputs/quicklooks/")]
    expected = {f"quicklook_{name}": recorded(vcr, f"/quicklooks/{name}")[0] for name in names}
    assert files_under(folder, paths) == expected


@replays(JOBTASK, "test_a_task_plots_and_maps_its_downloaded_results_and_quicklooks")
@pytest.mark.usefixtures("pyplot")
async def test_a_task_plots_and_maps_its_downloaded_results_and_quicklooks(
    target: Target, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    pytest.importorskip("rasterio", reason="the viz extra is not installed")
    pytest.importorskip("folium", reason="the viz extra is not installed")
    task = (await (await session.initialize_job(target.job_id("succeeded"))).get_jobtasks())[0]
    await task.download_results(output_directory=tmp_path / "results")
    await task.download_quicklooks(output_directory=tmp_path / "quicklooks")
    assert task.plot_results().axes
    assert task.plot_quicklooks().axes
    task.map_results(save_html=tmp_path / "map.html")
    assert (tmp_path / "map.html").is_file()
    frame = await task.get_results_json(as_dataframe=True)
    assert task.plot_coverage(frame, legend_column="uid").axes


# -- errors (tests/replay/test_errors_replay.py) -----------------------------------------------


@replays(ERRORS, "test_a_job_id_nobody_has_raises_not_found_naming_the_path")
async def test_a_job_id_nobody_has_raises_not_found_naming_the_path(
    target: Target, session: up42.AsyncUp42, vcr: Any
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        await session.initialize_job(UNKNOWN_ID)
    assert caught.value.status_code == 404
    assert caught.value.path == f"/projects/{target.project_id}/jobs/{UNKNOWN_ID}"
    assert UNKNOWN_ID in str(caught.value)
    [answer] = recorded_json(vcr, f"/jobs/{UNKNOWN_ID}")
    assert answer["error"]["message"] in str(caught.value)


@replays(ERRORS, "test_a_task_id_the_job_does_not_have_raises_not_found")
async def test_a_task_id_the_job_does_not_have_raises_not_found(
    target: Target, session: up42.AsyncUp42
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        await session.initialize_jobtask(UNKNOWN_ID, target.job_id("succeeded"))
    assert UNKNOWN_ID in str(caught.value)


@replays(ERRORS, "test_refused_credentials_raise_an_authentication_error_without_the_key")
async def test_refused_credentials_raise_an_authentication_error_without_the_key(
    target: Target,
) -> None:
    key = "not-the-project-api-key"
    session = up42.AsyncUp42(
        project_id=target.project_id,
        project_api_key=key,
        base_url=target.base_url,
        sleep=target.sleep.asleep,
    )
    with pytest.raises(up42.AuthenticationError) as caught:
        async with session:
            pytest.fail("the session opened with a refused key")
    assert caught.value.status_code == 401
    assert target.project_id in str(caught.value)
    assert key not in str(caught.value)


@replays(ERRORS, "test_an_expired_token_is_renewed_once_and_the_call_sent_again")
async def test_an_expired_token_is_renewed_once_and_the_call_sent_again(
    target: Target, session: up42.AsyncUp42, wire: Wire
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    target.expire_tokens()
    assert await job.status() == "SUCCEEDED"
    assert session.tokens.renewals == 2
    job_id = job.job_id
    assert statuses(wire) == [
        ("POST token", 200),
        (f"GET {job_id}", 200),
        (f"GET {job_id}", 401),
        ("POST token", 200),
        (f"GET {job_id}", 200),
    ]


@replays(ERRORS, "test_a_rate_limited_call_waits_as_long_as_retry_after_says_then_succeeds")
async def test_a_rate_limited_call_waits_as_long_as_retry_after_says_then_succeeds(
    target: Target, session: up42.AsyncUp42, vcr: Any, wire: Wire
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    target.inject("rate_limit", count=1, retry_after=RETRY_AFTER, job_id=job.job_id)
    assert (await job.get_credits())["creditsUsed"] >= 0
    assert statuses(wire)[-2:] == [("GET credits", 429), ("GET credits", 200)]
    rate_limited = vcr.data[-2][1]
    assert target.sleep.calls == [float(rate_limited["headers"]["retry-after"][0])]
    assert target.sleep.calls == [RETRY_AFTER]


@replays(ERRORS, "test_a_rate_limit_that_outlasts_the_retries_raises_with_retry_after")
async def test_a_rate_limit_that_outlasts_the_retries_raises_with_retry_after(
    target: Target, wire: Wire
) -> None:
    async with target.async_session(retry=up42.RetryPolicy(max_attempts=2)) as session:
        job = await session.initialize_job(target.job_id("succeeded"))
        target.inject("rate_limit", count=2, retry_after=RETRY_AFTER, job_id=job.job_id)
        with pytest.raises(up42.RateLimitError) as caught:
            await job.get_credits()
    assert caught.value.retry_after == RETRY_AFTER
    assert statuses(wire)[-2:] == [("GET credits", 429), ("GET credits", 429)]
    assert target.sleep.calls == [RETRY_AFTER]


# -- what the real service sent (test_classic_replay) ------------------------------------------

CLASSIC = "test_classic_replay"


@replays(CLASSIC, "test_a_cancel_answered_with_an_empty_body_succeeds")
async def test_a_cancel_answered_with_an_empty_body_succeeds(
    target: Target, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(target.job_id("cancellable"))
    await job.cancel_job()
    assert await job.status() in {"CANCELLING", "CANCELLED"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            body,
            marks=replays(
                CLASSIC, f"test_a_cancel_answered_with_null_or_an_empty_object_succeeds[{body}]"
            ),
        )
        for body in ("null", "empty-object", "envelope")
    ],
)
async def test_a_cancel_answered_with_null_or_an_empty_object_succeeds(
    target: Target, session: up42.AsyncUp42, body: str
) -> None:
    job = await session.initialize_job(target.job_id("cancellable"))
    await job.cancel_job()


@replays(CLASSIC, "test_a_job_spelled_not_started_is_the_known_status")
async def test_a_job_spelled_not_started_is_the_known_status(
    target: Target, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(target.jobs["held"])
    assert (await job.info())["status"] == "NOT_STARTED"
    assert await job.job_status() is up42.JobStatus.NOT_STARTED
    assert up42.JobStatus.is_known(await job.status())
    assert await job.is_succeeded() is False


@replays(CLASSIC, "test_a_problem_body_gives_not_found_in_its_title_and_detail")
async def test_a_problem_body_gives_not_found_in_its_title_and_detail(
    session: up42.AsyncUp42,
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        await session.initialize_job(UNKNOWN_ID)
    assert f"Not Found: Job with id {UNKNOWN_ID} not found (check" in str(caught.value)


@replays(CLASSIC, "test_jpeg_quicklooks_download_as_jpg_files", ordered=False)
async def test_jpeg_quicklooks_download_as_jpg_files(
    target: Target, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await session.initialize_job(target.job_id("succeeded"))
    paths = await job.download_quicklooks(tmp_path / "looks")
    assert paths and all(path.endswith(".jpg") for path in paths)
    assert all(Path(path).read_bytes()[:3] == b"\xff\xd8\xff" for path in paths)
