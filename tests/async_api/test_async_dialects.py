"""Every classic member of ``AsyncJob``/``AsyncJobTask`` against the sandbox's other dialects:
the real service's answers of 2019-2020 (``classic``) and a newer API's (``next``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import FAST_RETRY

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]

#: Slow enough that a new job is still NOT STARTED (0.5 s) when the first call reads it.
DIALECT_SPEED = 2.0


@pytest.fixture(scope="module", params=["classic", "next"])
def dialect_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(speed=DIALECT_SPEED, dialect=request.param) as sb:
        yield sb


@pytest.fixture
async def dialect_session(dialect_sandbox: Sandbox) -> AsyncIterator[up42.AsyncUp42]:
    async with up42.AsyncUp42(
        project_id=dialect_sandbox.project_id,
        project_api_key=dialect_sandbox.project_api_key,
        base_url=dialect_sandbox.base_url,
        retry=FAST_RETRY,
    ) as session:
        yield session


def new_job(sandbox: Sandbox, outcome: str = "succeeds") -> str:
    return sandbox.create_job(outcome, tasks=2, features=2, duration=1.0)


async def test_every_classic_member_works_through_the_async_door(
    dialect_sandbox: Sandbox, dialect_session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await dialect_session.initialize_job(new_job(dialect_sandbox))
    first = await job.job_status()
    if dialect_sandbox.dialect == "classic":
        assert first is up42.JobStatus.NOT_STARTED
    else:
        assert first == "QUEUED"
    assert await job.track_status(report_time=0.05, poll_interval=0.05) == "SUCCEEDED"
    assert await job.is_succeeded()

    tasks = await job.get_jobtasks()
    assert len(tasks) == 2
    collections = await job.get_jobtasks_results_json()
    assert all(len(fc["features"]) == 2 for fc in collections.values())
    frame = await job.get_results_json(as_dataframe=True)
    assert len(frame) == 2

    paths = await job.download_results(tmp_path / "results")
    assert any(path.endswith(".tif") for path in paths)
    looks = await job.download_quicklooks(tmp_path / "looks")
    expected = ".jpg" if dialect_sandbox.dialect == "classic" else ".png"
    assert len(looks) == 2 and all(look.endswith(expected) for look in looks)
    logs = await job.get_logs(as_print=False, as_return=True)
    assert logs is not None and len(logs) == 2
    assert await job.get_credits() == {"creditsUsed": 100}

    task = tasks[0]
    assert (await task.get_results_json())["type"] == "FeatureCollection"
    assert len(await task.download_quicklooks(tmp_path / "task-looks")) == 2


async def test_cancel_job_succeeds_whatever_the_dialect_answers(
    dialect_sandbox: Sandbox, dialect_session: up42.AsyncUp42
) -> None:
    job = await dialect_session.initialize_job(new_job(dialect_sandbox, "long_running"))
    await job.cancel_job()
    assert await job.status() in {"CANCELLING", "CANCELLED"}


async def test_a_missing_job_gives_not_found_in_the_servers_words(
    dialect_sandbox: Sandbox, dialect_session: up42.AsyncUp42
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(up42.NotFoundError) as caught:
        await dialect_session.initialize_job(missing)
    assert f"Job with id {missing} not found" in str(caught.value)
    assert "{" not in str(caught.value)


@pytest.mark.parametrize("dialect_sandbox", ["next"], indirect=True)
async def test_unknown_fields_survive_through_the_async_door(
    dialect_sandbox: Sandbox, dialect_session: up42.AsyncUp42
) -> None:
    job = await dialect_session.initialize_job(new_job(dialect_sandbox))
    unknown = set((await job.model()).additional_properties)
    assert unknown and unknown <= set(await job.info())
