"""``get_jobs`` and ``JobCollection`` against the sandbox: the classic members as up42-py 0.33.1
has them (``project.py``, ``jobcollection.py``), and what is new (``track_status``,
``get_logs``, ``max_concurrency``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

pytestmark = pytest.mark.sandbox

SPEED = 40.0
#: A project of its own per module: the listing shows every job of the project.
SMALL = {"tasks": 1, "features": 2, "duration": 1.0}


@pytest.fixture(scope="module")
def project() -> Iterator[Sandbox]:
    with Sandbox(speed=SPEED) as sb:
        yield sb


@pytest.fixture
def session(project: Sandbox) -> Iterator[up42.Up42]:
    project.clear_faults()
    with up42.Up42(
        project_id=project.project_id,
        project_api_key=project.project_api_key,
        base_url=project.base_url,
        retry=up42.RetryPolicy(backoff_base=0.01, deadline=10.0),
    ) as session:
        yield session


def finished(project: Sandbox, outcome: str = "succeeds", **options: object) -> str:
    start = "SUCCEEDED" if outcome == "succeeds" else "FAILED"
    return project.create_job(outcome, start_status=start, **{**SMALL, **options})  # type: ignore[arg-type]


def collection_of(session: up42.Up42, ids: list[str]) -> up42.JobCollection:
    return session.initialize_jobcollection(ids)


def test_get_jobs_pages_through_the_listing_newest_first_and_filters_by_mode(
    project: Sandbox, session: up42.Up42
) -> None:
    real = [finished(project) for _ in range(23)]  # more than one page (20)
    test = [finished(project, mode="DRY_RUN") for _ in range(3)]
    everything = session.get_jobs(return_json=True)
    assert isinstance(everything, list)
    ids = [job["id"] for job in everything]
    assert len(ids) == len(set(ids))  # no job twice across pages
    assert ids.index(test[-1]) < ids.index(real[-1]) < ids.index(real[0])  # newest first
    only_test = session.get_jobs(return_json=True, real_jobs=False)
    assert {job["id"] for job in only_test} >= set(test)
    assert all(job["mode"] == "DRY_RUN" for job in only_test)
    oldest = session.get_jobs(return_json=True, limit=2, descending=False)
    assert len(oldest) == 2 and oldest[0]["createdAt"] <= oldest[1]["createdAt"]


def test_get_jobs_gives_a_job_collection_of_jobs_that_need_no_second_fetch(
    project: Sandbox, session: up42.Up42
) -> None:
    finished(project, name="listed")
    project.requests.clear()
    collection = session.get_jobs(limit=5)
    assert isinstance(collection, up42.JobCollection)
    assert len(collection) == 5 and collection.project_id == project.project_id
    assert all(isinstance(job, up42.Job) for job in collection)
    assert "name: listed" in repr(collection[0])  # the info came with the listing...
    assert collection.jobs_id == [job.job_id for job in collection]
    assert repr(collection).startswith("JobCollection(len: 5, jobs: [Job(")
    sent = [r.path for r in project.requests.snapshot()]
    assert sent[1:] == [f"/projects/{project.project_id}/jobs"]  # ...one page, after the token


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_jobs(sortby="size"),
        lambda s: s.get_jobs(test_jobs=False, real_jobs=False),
    ],
    ids=["bad sortby", "no mode"],
)
def test_get_jobs_refuses_bad_arguments_before_sending(
    project: Sandbox, session: up42.Up42, call: object
) -> None:
    project.requests.clear()
    with pytest.raises(ValueError):
        call(session)  # type: ignore[operator]
    assert [r for r in project.requests.snapshot() if r.path.endswith("/jobs")] == []


def test_the_module_level_get_jobs_uses_the_last_session(project: Sandbox) -> None:
    finished(project)
    with up42.authenticate(
        project_id=project.project_id,
        project_api_key=project.project_api_key,
        base_url=project.base_url,
    ):
        assert len(up42.get_jobs(limit=3)) == 3
        jobs = up42.initialize_jobcollection([finished(project)])
        assert jobs.status == {jobs[0].job_id: "SUCCEEDED"}


def test_info_status_and_apply_are_keyed_by_job_id(project: Sandbox, session: up42.Up42) -> None:
    good, bad = finished(project), finished(project, "fails")
    jobs = collection_of(session, [good, bad])
    assert set(jobs.info) == {good, bad} and jobs.info[good]["id"] == good
    assert jobs.status == {good: "SUCCEEDED", bad: "FAILED"}
    assert jobs.apply(lambda job, suffix: job.job_id + suffix, suffix="!") == {good: good + "!"}
    assert set(jobs.apply(lambda job: 1, only_succeeded=False, max_concurrency=1)) == {good, bad}


def test_apply_refuses_an_empty_collection_and_one_without_a_success(
    project: Sandbox, session: up42.Up42
) -> None:
    with pytest.raises(ValueError, match="empty JobCollection"):
        up42.JobCollection(session, project.project_id, []).apply(lambda job: job)
    with pytest.raises(ValueError, match="All jobs have failed"):
        collection_of(session, [finished(project, "fails")]).apply(lambda job: job)


def test_download_results_writes_each_job_and_a_merged_geojson(
    project: Sandbox, session: up42.Up42, tmp_path: Path
) -> None:
    import geopandas

    good = [finished(project) for _ in range(3)]
    jobs = collection_of(session, [*good, finished(project, "fails")])
    paths = jobs.download_results(tmp_path)
    assert set(paths) == {*good, "merged_result"}  # the failed job is skipped, as classic did
    assert all(
        p.startswith(str(tmp_path / f"job_{job_id}")) for job_id in good for p in paths[job_id]
    )
    (merged,) = paths["merged_result"]
    assert merged == str(tmp_path / "data.json") and jobs.results == paths
    collection = json.loads(Path(merged).read_text())
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 6
    for feature in collection["features"]:
        job_id = feature["properties"]["job_id"]
        data_path = feature["properties"]["up42.data_path"]
        assert data_path.startswith(f"job_{job_id}/")
        assert (tmp_path / data_path).is_file()  # the prefix points at the downloaded file
    frame = geopandas.read_file(merged)  # valid GeoJSON
    assert len(frame) == 6 and set(frame["job_id"]) == set(good)


def test_download_results_defaults_to_a_project_folder_in_the_working_directory(
    project: Sandbox, session: up42.Up42, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job_id = finished(project)
    paths = collection_of(session, [job_id]).download_results(merge=False, unpacking=False)
    assert "merged_result" not in paths
    (archive,) = paths[job_id]
    assert Path(archive).parent == tmp_path / f"project_{project.project_id}" / f"job_{job_id}"


def test_track_status_follows_every_job_and_reports_failures_without_raising(
    project: Sandbox, session: up42.Up42
) -> None:
    good = [project.create_job("succeeds", **SMALL) for _ in range(4)]
    bad = project.create_job("fails", **SMALL)
    seen: list[dict[str, str]] = []
    final = collection_of(session, [*good, bad]).track_status(
        poll_interval=0.05, callback=seen.append
    )
    assert final == {**dict.fromkeys(good, "SUCCEEDED"), bad: "FAILED"}
    assert len(seen) >= 2 and seen[-1] == final
    assert any(status not in {"SUCCEEDED", "FAILED"} for status in seen[0].values())


def test_track_status_raises_on_failure_when_asked_and_times_out(
    project: Sandbox, session: up42.Up42
) -> None:
    jobs = collection_of(session, [finished(project), finished(project, "fails")])
    with pytest.raises(up42.JobFailedError):
        jobs.track_status(poll_interval=0.05, raise_on_failure=True)
    endless = collection_of(session, [project.create_job("long_running")])
    with pytest.raises(up42.JobTimeoutError, match="1 of 1 jobs still running"):
        endless.track_status(poll_interval=0.05, timeout=0.2)


def test_track_status_reads_many_jobs_from_the_listing_a_few_one_by_one(
    project: Sandbox, session: up42.Up42
) -> None:
    many = collection_of(session, [project.create_job("succeeds", **SMALL) for _ in range(30)])
    project.requests.clear()
    many.track_status(poll_interval=0.05)
    paths = [r.path for r in project.requests.snapshot()]
    per_job = [p for p in paths if "/jobs/" in p]
    # Pages while many are pending; the last few stragglers, one by one if that is cheaper.
    assert paths[0].endswith("/jobs") and len(per_job) < len(many)
    few = collection_of(session, [finished(project)])
    project.requests.clear()
    few.track_status(poll_interval=0.05)
    assert [r.path.endswith("/jobs") for r in project.requests.snapshot()] == [False]


def test_get_logs_gives_every_jobs_task_logs_and_prints_them_job_by_job(
    project: Sandbox, session: up42.Up42, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = finished(project), finished(project, "fails")
    logs = collection_of(session, [first, second]).get_logs(as_print=True, as_return=True)
    assert logs is not None and set(logs) == {first, second}
    assert all(isinstance(text, str) for job_logs in logs.values() for text in job_logs.values())
    printed = capsys.readouterr().out
    assert printed.index(f"job_id {first}") < printed.index(f"job_id {second}")


def test_the_viz_members_plot_what_the_collection_downloaded(
    project: Sandbox, session: up42.Up42, tmp_path: Path, pyplot: object
) -> None:
    jobs = collection_of(session, [finished(project), finished(project)])
    paths = jobs.download_results(tmp_path)
    figure = jobs.plot_results(figsize=(4, 4))
    assert figure is not None and len([ax for ax in figure.axes if ax.get_visible()]) == 4
    jobs.map_results(save_html=tmp_path / "map.html", show_images=False)
    shown = (tmp_path / "map.html").read_text()
    merged = json.loads(Path(paths["merged_result"][0]).read_text())
    assert all(f["properties"]["uid"] in shown for f in merged["features"])  # every job's
