"""Load: 50 jobs tracked at once from threads of one session, against a rate-limiting sandbox.

The sandbox has no standing rate limiter, so a background thread switches one on in waves: a
few requests answer 429 with ``Retry-After``, then the next wave, for a bounded number of
waves. Every job must finish, and after each 429 the session must send nothing until the
``Retry-After`` has passed, whichever thread got it: the limit is the project's, not the
request's. Sends are timed on the client, under the retry layer, so server-side queueing
does not blur them. The run is bounded in time (pytest-timeout, join timeouts) and requests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import api_requests

pytestmark = pytest.mark.slow

JOBS = 50
# Jobs run 2.5 s of real time (NOT STARTED and PENDING included) at the suite's speed of 40.
JOB_SANDBOX_SECONDS = 98.0
POLL_INTERVAL = 0.1
# The waves of 429s: how many, how far apart, how many requests each limits, the wait asked.
WAVES = 5
WAVE_EVERY = 0.4
PER_WAVE = 3
RETRY_AFTER = 0.3
# Another thread may pass the session's gate just before the 429 is acted on, then wait for
# the interpreter lock: a send this soon after the 429 arrived was already on its way.
IN_FLIGHT = 0.1
# Upper bounds of the whole run: requests (about 25 polls per job plus retries) and seconds.
MAX_REQUESTS = 2_500
MAX_SECONDS = 30.0


@dataclass(frozen=True)
class Exchange:
    """One request as the client sent it: when it left, when the answer came, the status."""

    path: str
    sent: float
    answered: float
    status: int


class TimingTransport(httpx.HTTPTransport):
    """The real transport under the retry layer, timing every single attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = super().handle_request(request)
        exchange = Exchange(request.url.path, sent, time.monotonic(), response.status_code)
        with self._lock:
            self.exchanges.append(exchange)
        return response


def inject_waves(sandbox: Sandbox, stop: threading.Event) -> None:
    for _ in range(WAVES):
        sandbox.inject("rate_limit", count=PER_WAVE, method="GET", retry_after=RETRY_AFTER)
        if stop.wait(WAVE_EVERY):
            return


@pytest.mark.timeout(90)
def test_fifty_jobs_tracked_at_once_all_finish_and_respect_every_retry_after(
    sandbox: Sandbox,
) -> None:
    policy = up42.RetryPolicy(max_attempts=20, deadline=MAX_SECONDS, backoff_base=0.05)
    timing = TimingTransport()
    with up42.authenticate(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
        retry=policy,
        transport=timing,
    ) as session:
        jobs = [
            session.initialize_job(
                sandbox.create_job("succeeds", tasks=1, features=1, duration=JOB_SANDBOX_SECONDS)
            )
            for _ in range(JOBS)
        ]
        sandbox.requests.clear()
        timing.exchanges.clear()
        results: dict[str, str | BaseException] = {}
        stop = threading.Event()

        def track(job: up42.Job) -> None:
            try:
                results[job.job_id] = job.track_status(
                    poll_interval=POLL_INTERVAL, timeout=MAX_SECONDS, sleep=time.sleep
                )
            except BaseException as exc:  # reported by the assertions below
                results[job.job_id] = exc

        injector = threading.Thread(target=inject_waves, args=(sandbox, stop))
        threads = [threading.Thread(target=track, args=(job,)) for job in jobs]
        started = time.monotonic()
        injector.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=MAX_SECONDS)
        elapsed = time.monotonic() - started
        stop.set()
        injector.join(timeout=5)
        sandbox.clear_faults()

    assert not any(thread.is_alive() for thread in threads)
    assert results == {job.job_id: "SUCCEEDED" for job in jobs}
    assert elapsed < MAX_SECONDS

    served = sorted(api_requests(sandbox), key=lambda r: r.time)
    assert len(served) <= MAX_REQUESTS
    limited = [r for r in served if r.status == 429]
    assert len(limited) == WAVES * PER_WAVE  # the limiter bit in every wave

    # Server side: the thread that got a 429 asked again only after the full Retry-After.
    for record in limited:
        later = [r.time for r in served if r.path == record.path and r.time > record.time]
        assert later and later[0] - record.time >= RETRY_AFTER - 0.01

    # Client side: after each 429 arrived, no thread of the session sent anything until the
    # Retry-After had passed, but requests that were already leaving.
    sends = sorted(timing.exchanges, key=lambda e: e.sent)
    rate_limited = [e for e in sends if e.status == 429]
    in_flight = {
        id(hit): [e for e in sends if hit.answered < e.sent <= hit.answered + IN_FLIGHT]
        for hit in rate_limited
    }
    inside = {
        id(hit): [
            e for e in sends if hit.answered + IN_FLIGHT < e.sent < hit.answered + RETRY_AFTER
        ]
        for hit in rate_limited
    }
    span = sends[-1].sent - sends[0].sent
    print(
        f"\n{len(sends)} requests in {span:.2f} s ({len(sends) / span:.0f}/s on average), "
        f"{len(rate_limited)} answered 429 with Retry-After {RETRY_AFTER} s; after a 429, "
        f"at most {max(map(len, in_flight.values()))} sends within {IN_FLIGHT} s and "
        f"{max(map(len, inside.values()))} in the rest of the window"
    )
    assert all(found == [] for found in inside.values())
