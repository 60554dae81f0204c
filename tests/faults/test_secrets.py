"""No secret leaves the process: not in logs at DEBUG, reprs, exception messages or printed text.

A full run (authenticate, track through a rate limit, a 503 and a token expiry, logs,
results, a download through an expired URL and a dropped connection, quicklooks, credits)
and every error a user can meet are captured with logging at DEBUG for the root, httpx and
httpcore loggers. The secrets are what the client really handled: the API key, its HTTP
Basic form, every token the token endpoint handed out and every signature of a signed URL,
read from the answers under the retry layer.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import FAST_RETRY, RecordingSleep

UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"


class CapturingTransport(httpx.HTTPTransport):
    """The real transport, noting every token and signed-URL signature the API hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()
        self.signatures: set[str] = set()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            return response
        response.read()
        try:
            body = response.json()
        except ValueError:
            return response
        with self._lock:
            if request.url.path == "/oauth/token":
                self.tokens.add(body["access_token"])
            elif request.url.path.endswith("/downloads/results/"):
                query = parse_qs(urlsplit(body["data"]["url"]).query)
                self.signatures.update(query["X-Goog-Signature"])
        return response


def caught(errors: list[BaseException], action: Callable[[], object]) -> None:
    """Run ``action``, which must fail with an ``Up42Error``, and keep the error."""
    with pytest.raises(up42.Up42Error) as info:
        action()
    errors.append(info.value)


def shown(error: BaseException) -> str:
    """Everything a user could see of an error: str, repr, args, and the same for its causes."""
    parts = []
    current: BaseException | None = error
    while current is not None:
        parts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def test_no_key_token_or_signature_appears_anywhere_in_a_full_run_at_debug(
    sandbox: Sandbox,
    workdir: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "up42_facade"):
        caplog.set_level(logging.DEBUG, logger=name)
    capturing = CapturingTransport()
    errors: list[BaseException] = []
    reprs: list[str] = []

    with up42.authenticate(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
        retry=FAST_RETRY,
        sleep=RecordingSleep(),
        transport=capturing,
        read_timeout=0.3,
    ) as session:
        job = session.initialize_job(sandbox.create_job("succeeds", tasks=2))
        sandbox.inject("rate_limit", count=1, job_id=job.job_id, retry_after=1)
        sandbox.inject("error", count=1, job_id=job.job_id, status=503)
        polls: list[str] = []

        def expire_once(status: str) -> None:
            polls.append(status)
            if len(polls) == 2:
                sandbox.expire_tokens()

        assert job.track_status(poll_interval=0.02, sleep=time.sleep, callback=expire_once)
        job.get_logs(as_print=True)
        job.get_results_json()
        job.get_jobtasks_results_json()
        sandbox.inject("expired_url", count=1, job_id=job.job_id)
        sandbox.inject("drop", count=1, job_id=job.job_id, at_byte=1000)
        assert job.download_results(workdir / "results")
        assert job.download_quicklooks(workdir / "quicklooks")
        job.get_credits()
        tasks = job.get_jobtasks()
        reprs += [repr(job), str(job), repr(session), str(session), repr(session.tokens)]
        reprs += [repr(task) for task in tasks]

        # Every kind of error a user can meet, each kept for its message.
        caught(errors, lambda: session.initialize_job(UNKNOWN_JOB))
        sandbox.inject("rate_limit", count=1, job_id=job.job_id, retry_after=3600)
        caught(errors, lambda: job.info)
        sandbox.inject("error", count=5, job_id=job.job_id, status=502)
        caught(errors, lambda: job.info)
        sandbox.inject("malformed_json", count=1, job_id=job.job_id)
        caught(errors, lambda: job.info)
        sandbox.inject("wrong_content_type", count=1, job_id=job.job_id)
        caught(errors, lambda: job.info)
        sandbox.inject("delay", count=5, job_id=job.job_id, seconds=0.6)
        caught(errors, lambda: job.info)
        sandbox.clear_faults()
        sandbox.inject("expired_url", count=None, job_id=job.job_id)
        caught(errors, lambda: job.download_results(workdir / "expired"))
        sandbox.clear_faults()
        sandbox.inject("corrupt", count=None, job_id=job.job_id)
        caught(errors, lambda: job.download_results(workdir / "corrupt"))
        sandbox.clear_faults()
        hostile = session.initialize_job(
            sandbox.create_job("succeeds", start_status="SUCCEEDED", hostile="all")
        )
        caught(errors, lambda: hostile.download_results(workdir / "hostile"))
        failing = session.initialize_job(sandbox.create_job("fails"))
        caught(errors, lambda: failing.track_status(poll_interval=0.02, sleep=time.sleep))
        cancelled = session.initialize_job(sandbox.create_job("long_running"))
        caught(
            errors,
            lambda: cancelled.track_status(poll_interval=0.02, sleep=time.sleep, timeout=0.1),
        )
        cancelled.cancel_job()
        caught(errors, lambda: cancelled.track_status(poll_interval=0.02, sleep=time.sleep))
    wrong_key = "sandbox-not-the-key-but-secret-too"
    caught(
        errors,
        lambda: up42.authenticate(
            project_id=sandbox.project_id,
            project_api_key=wrong_key,
            base_url=sandbox.base_url,
            retry=FAST_RETRY,
        ),
    )

    assert len(capturing.tokens) >= 2  # the first token and the one after the expiry
    assert len(capturing.signatures) >= 2  # the expired URL and its replacement
    kinds = {type(error) for error in errors}
    assert kinds >= {
        up42.NotFoundError,
        up42.RateLimitError,
        up42.ServerError,
        up42.InvalidResponseError,
        up42.TransportError,
        up42.DownloadError,
        up42.IntegrityError,
        up42.UnsafeArchiveError,
        up42.JobFailedError,
        up42.JobTimeoutError,
        up42.JobCancelledError,
        up42.AuthenticationError,
    }
    printed = capsys.readouterr()
    assert "ERROR" in printed.out  # the failed job printed its task logs
    records = caplog.records
    requests_logged = [r for r in records if r.name == "up42_facade" and r.levelno == logging.DEBUG]
    assert any(
        r.getMessage() == f"GET /projects/{job.project_id}/jobs/{job.job_id}"
        for r in requests_logged
    )
    assert any(r.name.startswith("httpcore") for r in records)  # DEBUG really reached httpcore

    everything = "\n".join(
        [
            caplog.text,
            *(record.getMessage() for record in records),
            *(str(record.__dict__) for record in records),
            printed.out,
            printed.err,
            *reprs,
            *map(shown, errors),
        ]
    )
    basic = base64.b64encode(f"{sandbox.project_id}:{sandbox.project_api_key}".encode()).decode()
    secrets = {
        "the API key": [sandbox.project_api_key, wrong_key],
        "the HTTP Basic credentials": [basic],
        "a token": sorted(capturing.tokens),
        "a signed-URL signature": sorted(capturing.signatures),
    }
    for what, values in secrets.items():
        for value in values:
            assert value not in everything, f"{what} leaked"
