"""A collection's listing and downloads, paced: the last listing pages a limit needs come
together, and downloads run at most ``max_concurrency`` at once, each job's signed URL asked
for once, before a download slot is free."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_facade import _download
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import url_requests


def listing_pages(sandbox: Sandbox) -> list[str]:
    records = sandbox.requests.filter(listener="api")
    return sorted(r.query["page"] for r in records if r.path.rstrip("/").endswith("/jobs"))


def test_the_listing_reads_the_last_pages_a_limit_needs_together(
    sandbox: Sandbox, connect: Connect
) -> None:
    for _ in range(50):
        sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=1, features=1)
    session = connect()
    sandbox.requests.clear()

    jobs = session.get_jobs(limit=50)

    assert isinstance(jobs, up42.JobCollection) and len(jobs) == 50
    assert listing_pages(sandbox) == ["0", "1", "2"]  # 20 a page: the first, then two at once


def test_a_collection_downloads_at_most_max_concurrency_jobs_at_once(
    sandbox: Sandbox, connect: Connect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = connect()
    ids = [
        sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=1, features=1)
        for _ in range(6)
    ]
    jobs = session.initialize_jobcollection(ids)
    active, most = [0], [0]
    lock = threading.Lock()
    real = _download.download_results

    def counted(*args: Any, **kwargs: Any) -> list[str]:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            time.sleep(0.05)  # long enough for the others to try to start
            return real(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(_download, "download_results", counted)
    sandbox.requests.clear()

    paths = jobs.download_results(tmp_path, max_concurrency=2)

    assert set(paths) == {*ids, "merged_result"}
    assert all(jobs[n].results == paths[job_id] for n, job_id in enumerate(ids))
    assert most[0] <= 2
    assert len(url_requests(sandbox)) == len(ids)  # each job's URL asked for once
