"""``AsyncJobCollection`` (``await session.get_jobs(...)``): JobCollection's members as
coroutines, against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]

SMALL = {"tasks": 1, "features": 2, "duration": 1.0}


def finished(sandbox: Sandbox, outcome: str = "succeeds") -> str:
    start = "SUCCEEDED" if outcome == "succeeds" else "FAILED"
    return sandbox.create_job(outcome, start_status=start, **SMALL)  # type: ignore[arg-type]


async def test_get_jobs_gives_an_async_collection_or_dicts(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    newest = [finished(sandbox) for _ in range(3)][-1]
    jobs = await session.get_jobs(limit=3)
    assert isinstance(jobs, up42.AsyncJobCollection) and len(jobs) == 3
    assert jobs[0].job_id == newest and all(isinstance(job, up42.AsyncJob) for job in jobs)
    assert repr(jobs).startswith("AsyncJobCollection(len: 3, jobs: [AsyncJob(")
    dicts = await session.get_jobs(return_json=True, limit=2, sortby="name", descending=False)
    assert isinstance(dicts, list) and len(dicts) == 2
    with pytest.raises(ValueError, match="sortby"):
        await session.get_jobs(sortby="size")


async def test_every_member_is_a_coroutine_that_fans_out(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    good, bad = finished(sandbox), finished(sandbox, "fails")
    jobs = await session.initialize_jobcollection([good, bad])
    assert await jobs.status() == {good: "SUCCEEDED", bad: "FAILED"}
    assert set(await jobs.info()) == {good, bad}

    async def name(job: up42.AsyncJob) -> str:
        return str((await job.info())["name"])

    assert set(await jobs.apply(name)) == {good}
    assert await jobs.apply(lambda job: job.job_id, only_succeeded=False) == {good: good, bad: bad}
    paths = await jobs.download_results(tmp_path, max_concurrency=1)
    merged = json.loads(Path(paths["merged_result"][0]).read_text())
    assert {f["properties"]["job_id"] for f in merged["features"]} == {good}
    logs = await jobs.get_logs(as_print=False, as_return=True)
    assert logs is not None and set(logs) == {good, bad}


async def test_track_status_follows_every_job_to_the_end(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    ids = [sandbox.create_job("succeeds", **SMALL) for _ in range(3)]
    ids.append(sandbox.create_job("fails", **SMALL))
    jobs = await session.initialize_jobcollection(ids)
    rounds: list[dict[str, str]] = []

    async def seen(statuses: dict[str, str]) -> None:
        rounds.append(statuses)

    final = await jobs.track_status(poll_interval=0.05, callback=seen)
    assert sorted(final.values()) == ["FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]
    assert rounds[-1] == final
    with pytest.raises(up42.JobFailedError):
        await jobs.track_status(poll_interval=0.05, raise_on_failure=True)
