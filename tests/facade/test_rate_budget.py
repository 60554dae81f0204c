"""One rate budget per session: its threads and coroutines share one request rate, and a 429
pauses all of them, so a limited API sees no storm of refused requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import up42_facade as up42
from up42_facade._rate import RateBudget
from up42_sandbox import Sandbox

pytestmark = pytest.mark.sandbox

LIMIT = 20.0
THREADS = 16


@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    with Sandbox(speed=40.0, rate_limit=LIMIT) as sb:
        yield sb


def open_session(sandbox: Sandbox, **options: object) -> up42.Up42:
    return up42.Up42(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
        **options,  # type: ignore[arg-type]
    )


def jobs_of(sandbox: Sandbox, session: up42.Up42, count: int) -> up42.JobCollection:
    ids = [sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=1) for _ in range(count)]
    return up42.JobCollection(session, sandbox.project_id, [
        up42.Job(session, sandbox.project_id, job_id, job_info={"id": job_id}) for job_id in ids
    ])  # fmt: skip


def test_threads_of_a_session_share_its_budget_and_meet_no_429(limited: Sandbox) -> None:
    with open_session(limited, max_requests_per_second=LIMIT) as session:
        session.check_credentials()
        limited.set_rate_limit(LIMIT)  # a full bucket, as after a quiet second
        before = limited.rate_limited
        statuses = jobs_of(limited, session, 60).apply(
            lambda job: job.status, only_succeeded=False, max_concurrency=THREADS
        )
    assert set(statuses.values()) == {"SUCCEEDED"}
    assert limited.rate_limited - before == 0


def test_without_a_budget_a_429_pauses_every_thread_instead_of_a_storm(limited: Sandbox) -> None:
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(seconds)
        threading.Event().wait(seconds)

    with open_session(limited, sleep=sleep) as session:
        session.check_credentials()
        jobs = jobs_of(limited, session, 60)
        limited.set_rate_limit(LIMIT)
        limited.requests.clear()
        statuses = jobs.apply(lambda job: job.status, only_succeeded=False, max_concurrency=THREADS)
    assert set(statuses.values()) == {"SUCCEEDED"}  # every call got through in the end
    records = sorted(limited.requests.snapshot(), key=lambda record: record.time)
    first_429 = next(record.time for record in records if record.status == 429)
    # Those already on their way when the 429 came arrive at once; then the whole session
    # waits out the Retry-After (1 s): no thread sends meanwhile.
    meanwhile = [r for r in records if first_429 + 0.2 < r.time < first_429 + 0.9]
    assert meanwhile == []
    assert max(waits) >= 1.0


def test_coroutines_of_an_async_session_share_its_budget(limited: Sandbox) -> None:
    asyncio.run(_gather_statuses(limited))


async def _gather_statuses(limited: Sandbox) -> None:
    async with up42.AsyncUp42(
        project_id=limited.project_id,
        project_api_key=limited.project_api_key,
        base_url=limited.base_url,
        max_requests_per_second=LIMIT,
    ) as session:
        job = await session.initialize_job(
            limited.create_job("succeeds", start_status="SUCCEEDED", tasks=1)
        )
        limited.set_rate_limit(LIMIT)
        before = limited.rate_limited
        statuses = await asyncio.gather(*(job.status() for _ in range(60)))
    assert statuses == ["SUCCEEDED"] * 60
    assert limited.rate_limited - before == 0


def test_the_budget_spaces_requests_evenly_across_threads() -> None:
    now = [0.0]
    budget = RateBudget(10.0, clock=lambda: now[0])
    waits: list[float] = []
    lock = threading.Lock()

    def claim() -> None:
        wait = budget.reserve()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=claim) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([i / 10 for i in range(20)])


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(up42.ConfigurationError, match="max_requests_per_second"):
        RateBudget(0)
