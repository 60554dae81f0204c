"""Every member of the classic ``JobTask``, replayed from ``cassettes/test_jobtask_replay/``."""

from __future__ import annotations

from pathlib import Path

import pytest

import up42_facade as up42
from tests.replay.recording import Target

pytestmark = pytest.mark.vcr

# up42_facade/_viz.py composes affine transforms with `*`, which affine 3 deprecates (a
# PendingDeprecationWarning, an error here); drop this mark once it uses `@`.


def test_initialize_jobtask_uses_the_last_authenticated_session(target: Target) -> None:
    job_id = target.job_id("succeeded")
    with up42.authenticate(
        project_id=target.project_id,
        project_api_key=target.project_api_key,
        base_url=target.base_url,
        sleep=target.sleep,
    ):
        job = up42.initialize_job(job_id=job_id)
        first = job.get_jobtasks(return_json=True)[0]
        task = up42.initialize_jobtask(first["id"], job_id)
        assert isinstance(task, up42.JobTask)
        assert (task.jobtask_id, task.job_id, task.project_id) == (
            first["id"],
            job_id,
            target.project_id,
        )
        info = task.info
        assert (info["id"], info["name"], info["block"]) == (
            first["id"],
            first["name"],
            first["block"],
        )
        shown = repr(task)
        assert first["id"] in shown
        assert f"block_name: {first['block']['name']}" in shown
        assert (task.results, task.quicklooks) == (None, None)


def test_a_task_gives_its_results_json_as_a_feature_collection_or_a_geodataframe(
    target: Target, session: up42.Up42
) -> None:
    task = session.initialize_job(target.job_id("succeeded")).get_jobtasks()[0]
    collection = task.get_results_json()
    assert collection["type"] == "FeatureCollection"
    frame = task.get_results_json(as_dataframe=True)
    assert len(frame) == len(collection["features"])
    assert frame.crs.to_epsg() == 4326


def test_a_task_downloads_and_unpacks_its_own_results(
    target: Target, session: up42.Up42, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = session.initialize_job(target.job_id("succeeded"))
    task = job.get_jobtasks()[0]
    files = task.download_results()
    folder = (
        tmp_path / f"project_{job.project_id}" / f"job_{job.job_id}" / f"jobtask_{task.jobtask_id}"
    )
    assert task.results == files
    assert folder / "data.json" in map(Path, files)
    assert all(Path(name).is_file() for name in files)


def test_a_task_downloads_its_quicklooks_into_the_jobs_folder_like_the_classic_sdk(
    target: Target, session: up42.Up42, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = session.initialize_job(target.job_id("succeeded"))
    task = job.get_jobtasks()[0]
    paths = task.download_quicklooks()
    assert paths
    assert task.quicklooks == paths
    folder = tmp_path / f"project_{job.project_id}" / f"job_{job.job_id}"
    assert all(Path(path).parent == folder for path in paths)
    assert all(Path(path).read_bytes().startswith(b"\x89PNG") for path in paths)


@pytest.mark.usefixtures("pyplot")
def test_a_task_plots_and_maps_its_downloaded_results_and_quicklooks(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    pytest.importorskip("rasterio", reason="the viz extra is not installed")
    pytest.importorskip("folium", reason="the viz extra is not installed")
    task = session.initialize_job(target.job_id("succeeded")).get_jobtasks()[0]
    task.download_results(output_directory=tmp_path / "results")
    task.download_quicklooks(output_directory=tmp_path / "quicklooks")
    assert task.plot_results().axes
    assert task.plot_quicklooks().axes
    task.map_results(save_html=tmp_path / "map.html")
    assert (tmp_path / "map.html").is_file()
    frame = task.get_results_json(as_dataframe=True)
    assert task.plot_coverage(frame, legend_column="uid").axes
