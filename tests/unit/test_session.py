"""The session: credentials, tokens (cached, renewed once per 401), call checking."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import up42_facade
from up42_facade import (
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    RetryPolicy,
    Up42,
)

PROJECT = "20adecb9-97f6-42c0-8ba8-f1e2fa0bff39"
KEY = "project-api-key-do-not-show"
JOB = "d62c27c0-24e9-433d-b509-ae080504d5c6"
JOB_PATH = f"/projects/{PROJECT}/jobs/{JOB}"


class FakeAPI:
    """Just enough of the API for the session: tokens and a job."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.valid: set[str] = set()
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()
        self.job_body: Callable[[], httpx.Response] = lambda: httpx.Response(
            200, json={"data": {"id": JOB, "status": "RUNNING"}, "error": None}
        )
        self.token_failures: list[int] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
        if request.url.path == "/oauth/token":
            if self.token_failures:
                return httpx.Response(self.token_failures.pop(0), text="<html>oops</html>")
            if request.headers["Authorization"] != httpx.BasicAuth(PROJECT, KEY)._auth_header:
                return httpx.Response(401, json={"error": "invalid_client"})
            with self.lock:
                self.tokens_issued += 1
                token = f"token-{self.tokens_issued}"
                self.valid.add(token)
            return httpx.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": 300}
            )
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.valid:
            return httpx.Response(
                401, json={"data": None, "error": {"code": 401, "message": "Unauthorized"}}
            )
        if request.url.path == JOB_PATH:
            return self.job_body()
        return httpx.Response(
            404, json={"data": None, "error": {"code": 404, "message": "not found"}}
        )

    def expire_all(self) -> None:
        with self.lock:
            self.valid.clear()


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def session_for(api: FakeAPI, key: str = KEY) -> Up42:
    return Up42(
        project_id=PROJECT,
        project_api_key=key,
        base_url="http://api.test",
        transport=httpx.MockTransport(api.handler),
        retry=RetryPolicy(backoff_base=0.0),
        sleep=lambda _: None,
    )


def test_a_token_is_fetched_once_and_reused(api: FakeAPI) -> None:
    session = session_for(api)
    job = session.initialize_job(JOB)
    assert job.status == "RUNNING"
    assert job.info["id"] == JOB
    assert api.tokens_issued == 1


def test_an_expired_token_is_renewed_once_and_the_call_succeeds(api: FakeAPI) -> None:
    session = session_for(api)
    job = session.initialize_job(JOB)
    api.expire_all()
    assert job.status == "RUNNING"
    assert api.tokens_issued == 2


def test_concurrent_401s_renew_the_token_once(api: FakeAPI) -> None:
    session = session_for(api)
    job = session.initialize_job(JOB)
    api.expire_all()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def poll() -> None:
        barrier.wait()
        try:
            job.info  # noqa: B018 - the request is the point
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert api.tokens_issued == 2


def test_wrong_credentials_raise_authentication_error_naming_the_project_not_the_key(
    api: FakeAPI,
) -> None:
    session = session_for(api, key="wrong-key-value")
    with pytest.raises(AuthenticationError) as caught:
        session.initialize_job(JOB)
    assert PROJECT in str(caught.value)
    assert "wrong-key-value" not in str(caught.value)
    token_calls = [r for r in api.requests if r.url.path == "/oauth/token"]
    assert len(token_calls) == 1  # not retried


def test_a_token_endpoint_5xx_is_retried(api: FakeAPI) -> None:
    api.token_failures = [503, 502]
    session = session_for(api)
    assert session.initialize_job(JOB).job_id == JOB
    assert api.tokens_issued == 1


def test_a_job_id_that_is_not_a_uuid_is_refused_before_any_request(api: FakeAPI) -> None:
    session = session_for(api)
    with pytest.raises(ConfigurationError, match="not a UUID"):
        session.initialize_job("../../etc/passwd")
    assert api.requests == []


def test_an_unknown_job_raises_not_found(api: FakeAPI) -> None:
    session = session_for(api)
    with pytest.raises(NotFoundError) as caught:
        session.initialize_job("00000000-0000-4000-8000-000000000000")
    assert caught.value.status_code == 404


def test_an_html_page_with_200_becomes_invalid_response_error(api: FakeAPI) -> None:
    session = session_for(api)
    job = session.initialize_job(JOB)
    api.job_body = lambda: httpx.Response(200, text="<html><body>Maintenance</body></html>")
    with pytest.raises(InvalidResponseError, match="Maintenance"):
        job.info  # noqa: B018


def test_a_json_body_of_the_wrong_shape_becomes_invalid_response_error(api: FakeAPI) -> None:
    session = session_for(api)
    job = session.initialize_job(JOB)
    api.job_body = lambda: httpx.Response(200, json={"data": {"unexpected": True}})
    with pytest.raises(InvalidResponseError):
        job.info  # noqa: B018


def test_no_secret_in_reprs(api: FakeAPI) -> None:
    session = session_for(api)
    job = session.initialize_job(JOB)
    shown = " ".join([repr(session), str(session), repr(session.tokens), repr(job)])
    assert KEY not in shown
    assert "token-1" not in shown


def test_requests_carry_a_user_agent_naming_the_facade(api: FakeAPI) -> None:
    session_for(api).initialize_job(JOB)
    assert (
        api.requests[-1].headers["User-Agent"].startswith(f"up42-facade/{up42_facade.__version__}")
    )


def test_authenticate_reads_a_cfg_file_and_the_environment(
    api: FakeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"project_id": PROJECT, "project_api_key": KEY}))
    transport = httpx.MockTransport(api.handler)
    with up42_facade.authenticate(
        cfg_file=cfg, base_url="http://api.test", transport=transport
    ) as session:
        assert session.project_id == PROJECT
        assert up42_facade.initialize_job(job_id=JOB).job_id == JOB

    monkeypatch.setenv("UP42_PROJECT_ID", PROJECT)
    monkeypatch.setenv("UP42_PROJECT_API_KEY", KEY)
    monkeypatch.setenv("UP42_BASE_URL", "http://api.test")
    with up42_facade.authenticate(transport=transport) as from_env:
        assert from_env.base_url == "http://api.test"


def test_authenticate_without_credentials_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UP42_PROJECT_ID", raising=False)
    monkeypatch.delenv("UP42_PROJECT_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="UP42_PROJECT_ID"):
        up42_facade.authenticate()


def test_a_missing_cfg_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        up42_facade.authenticate(cfg_file=tmp_path / "nope.json")


def test_a_project_id_that_is_not_a_uuid_is_refused_before_any_request(api: FakeAPI) -> None:
    with pytest.raises(ConfigurationError, match="project_id"):
        Up42(
            project_id="my-project",
            project_api_key=KEY,
            base_url="http://api.test",
            transport=httpx.MockTransport(api.handler),
        )
    assert api.requests == []
