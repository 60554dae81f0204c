"""Many jobs, replayed: the jobs listing and its pages, and a collection's download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from tests.replay.recording import Target

pytestmark = pytest.mark.vcr


def listing_pages(cassette: Any) -> list[str]:
    """The ``page`` of every listing request recorded, in order."""
    return [
        dict(request.query)["page"]
        for request, _ in cassette.data
        if request.path.rstrip("/").endswith("/jobs")
    ]


def test_get_jobs_lists_the_projects_jobs_newest_first(
    target: Target, session: up42.Up42, vcr: Any
) -> None:
    older, newer = target.job_id("succeeded"), target.job_id("failed")
    infos = session.get_jobs(return_json=True, limit=2)
    assert isinstance(infos, list)
    assert [job["id"] for job in infos] == [newer, older]
    assert listing_pages(vcr) == ["0"]  # the limit was reached on the first page
    assert dict(vcr.data[-1][0].query)["sort"] == "createdAt,desc"


@pytest.mark.sandbox_options(page_size=2)
@pytest.mark.sandbox_only("a page of two needs the sandbox's page size")
def test_get_jobs_reads_pages_until_an_empty_one(
    target: Target, session: up42.Up42, vcr: Any
) -> None:
    ids = {target.job_id(kind) for kind in ("succeeded", "failed", "cancellable")}
    jobs = session.get_jobs()
    assert isinstance(jobs, up42.JobCollection)
    assert {job.job_id for job in jobs} == ids and len(jobs) == 3
    assert listing_pages(vcr) == ["0", "1", "2"]  # the third page came back empty


def test_a_collection_downloads_each_succeeded_job_and_merges_their_data_json(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    good, bad = target.job_id("succeeded"), target.job_id("failed")
    jobs = session.initialize_jobcollection([good, bad])
    paths = jobs.download_results(tmp_path)
    assert set(paths) == {good, "merged_result"}
    merged = json.loads(Path(paths["merged_result"][0]).read_text())
    assert merged["type"] == "FeatureCollection" and merged["features"]
    for feature in merged["features"]:
        assert feature["properties"]["job_id"] == good
        assert (tmp_path / feature["properties"]["up42.data_path"]).is_file()
