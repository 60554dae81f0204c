"""Answer dialects and the "body" fault, seen on the wire with raw httpx.

"spec" answers as the sandbox always did; "classic" as the real service of 2019-2020 did;
"next" like a newer API that old clients must survive. The job store stays canonical in all.
"""

from __future__ import annotations

import inspect
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image

from up42_sandbox import Sandbox
from up42_sandbox import _cli as cli
from up42_sandbox._faults import parse_fault_spec

from .helpers import get_token, job_path

#: Slow enough that a new job and its tasks stay NOT STARTED for 4 real seconds.
SLOW = 0.25
#: Headers the "next" dialect adds to every API answer.
NEXT_HEADERS = {"x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-api-version"}
PROBLEM_KEYS = {"type", "title", "status", "detail"}


@dataclass
class Wire:
    """A running sandbox and a client holding one of its tokens."""

    sb: Sandbox
    http: httpx.Client

    def job(self, **kwargs: Any) -> str:
        """The path of a new job."""
        return job_path(self.sb, self.sb.create_job(**kwargs))

    def finished(self) -> tuple[str, str, str]:
        """A SUCCEEDED job: its path, its last task's path and that task's id."""
        job_id = self.sb.create_job(start_status="SUCCEEDED")
        task_id = self.sb.task_ids(job_id)[-1]
        path = job_path(self.sb, job_id)
        return path, f"{path}/tasks/{task_id}", task_id

    def token_answer(self) -> httpx.Response:
        return httpx.post(
            f"{self.sb.base_url}/oauth/token",
            auth=(self.sb.project_id, self.sb.project_api_key),
            data={"grant_type": "client_credentials"},
        )


def _wire(**kwargs: Any) -> Iterator[Wire]:
    with Sandbox(speed=SLOW, seed=7, **kwargs) as sb:
        headers = {"Authorization": f"Bearer {get_token(sb)}"}
        with httpx.Client(base_url=sb.base_url, headers=headers) as http:
            yield Wire(sb, http)


@pytest.fixture(scope="module")
def spec() -> Iterator[Wire]:
    """A sandbox that answers in the default dialect (none given)."""
    yield from _wire()


@pytest.fixture(scope="module")
def classic() -> Iterator[Wire]:
    """A sandbox that answers like the service of 2019-2020."""
    yield from _wire(dialect="classic")


@pytest.fixture(scope="module")
def newer() -> Iterator[Wire]:
    """A sandbox that answers like a newer API (the "next" dialect)."""
    yield from _wire(dialect="next")


def _assert_problem(answer: httpx.Response, status: int, title: str, detail: str) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }


# -- spec: nothing changes -------------------------------------------------------------------


def test_the_default_dialect_is_spec() -> None:
    assert inspect.signature(Sandbox).parameters["dialect"].default == "spec"
    assert Sandbox().dialect == "spec"


def test_spec_answers_exactly_as_before(spec: Wire) -> None:
    token = spec.token_answer()
    assert set(token.json()) == {"data", "access_token", "token_type", "expires_in"}
    path = spec.job()
    job = spec.http.get(path)
    assert set(job.json()) == {"data", "error"}
    assert job.json()["data"]["status"] == "NOT STARTED"
    assert set(job.json()["data"]) == {
        "id",
        "displayId",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
        "status",
        "name",
        "startedAt",
        "finishedAt",
        "inputs",
        "mode",
        "workflowId",
        "workflowName",
    }
    tasks = spec.http.get(f"{path}/tasks/").json()["data"]
    assert {task["status"] for task in tasks} == {"NOT STARTED"}
    assert set(tasks[0]) == {
        "id",
        "name",
        "status",
        "startedAt",
        "finishedAt",
        "block",
        "blockVersion",
    }
    assert NEXT_HEADERS.isdisjoint(job.headers)
    cancel = spec.http.post(f"{path}/cancel/")
    assert (cancel.status_code, cancel.json()) == (200, {"data": {}, "error": None})
    missing = spec.http.get(f"{path}/outputs/data-json/")
    assert missing.headers["content-type"] == "application/json"
    assert set(missing.json()) == {"data", "error"}


def test_spec_outputs_are_as_before(spec: Wire) -> None:
    path, task, _ = spec.finished()
    collection = spec.http.get(f"{path}/outputs/data-json/").json()
    assert set(collection) == {"type", "features"}
    assert set(collection["features"][0]) == {"type", "bbox", "geometry", "properties"}
    assert set(spec.http.get(f"{path}/downloads/results/").json()["data"]) == {"url"}
    credits = spec.http.get(f"{path}/credits").json()["data"]
    assert set(credits) == {"projectId", "projectDisplayId", "jobId", "jobDisplayId", "creditsUsed"}
    names = spec.http.get(f"{task}/outputs/quicklooks/").json()["data"]
    assert all(name.endswith(".png") for name in names)
    image = spec.http.get(f"{task}/outputs/quicklooks/{names[0]}")
    assert image.headers["content-type"] == "image/png"


# -- classic ---------------------------------------------------------------------------------


def test_classic_cancel_answers_200_with_an_empty_body(classic: Wire) -> None:
    path = classic.job(outcome="long_running", start_status="RUNNING")
    answer = classic.http.post(f"{path}/cancel/")
    assert answer.status_code == 200
    assert answer.content == b""
    assert "content-type" not in answer.headers
    assert classic.sb.job_status(path.rsplit("/", 1)[1]) == "CANCELLING"


def test_classic_spells_not_started_with_an_underscore_for_jobs_and_tasks(classic: Wire) -> None:
    path = classic.job()
    assert classic.http.get(path).json()["data"]["status"] == "NOT_STARTED"
    tasks = classic.http.get(f"{path}/tasks/").json()["data"]
    assert [task["status"] for task in tasks] == ["NOT_STARTED", "NOT_STARTED"]
    # The store itself stays canonical.
    assert classic.sb.job_status(path.rsplit("/", 1)[1]) == "NOT STARTED"


def test_classic_keeps_the_other_statuses(classic: Wire) -> None:
    path, _, _ = classic.finished()
    assert classic.http.get(path).json()["data"]["status"] == "SUCCEEDED"
    tasks = classic.http.get(f"{path}/tasks/").json()["data"]
    assert {task["status"] for task in tasks} == {"SUCCEEDED"}


def test_classic_answers_the_routes_400_and_404_with_rfc7807_problem_bodies(
    classic: Wire,
) -> None:
    path = classic.job()
    job_id = path.rsplit("/", 1)[1]
    nobody = classic.sb.project_id  # a well-formed id of no job
    _assert_problem(
        classic.http.get(job_path(classic.sb, nobody)),
        404,
        "Not Found",
        f"Job with id {nobody} not found",
    )
    _assert_problem(
        classic.http.get(f"{path}/outputs/data-json/"),
        404,
        "Not Found",
        f"No outputs of job {job_id} yet",
    )
    _assert_problem(
        classic.http.get(f"/projects/{classic.sb.project_id}/jobs/nope"),
        400,
        "Bad Request",
        "Invalid job id",
    )
    _assert_problem(
        classic.http.get(f"{path}/tasks/nope/logs"), 400, "Bad Request", "Invalid task id"
    )
    _assert_problem(classic.http.get("/no/such/path"), 404, "Not Found", "Not found")


def test_classic_401_keeps_the_envelope(classic: Wire) -> None:
    answer = httpx.get(
        f"{classic.sb.base_url}{classic.job()}", headers={"Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"data": None, "error": {"code": 401, "message": "Unauthorized"}}


def test_classic_faults_answer_as_they_always_do(classic: Wire) -> None:
    path = classic.job()
    classic.sb.inject("error", status=404, path=path)
    answer = classic.http.get(path)
    assert answer.status_code == 404
    assert answer.json() == {"data": None, "error": {"code": 404, "message": "Not found"}}


def test_classic_token_answer_is_minimal(classic: Wire) -> None:
    answer = classic.token_answer()
    token = answer.json()["access_token"]
    assert answer.json() == {"access_token": token, "data": {"accessToken": token}}


def test_classic_tokens_still_expire_after_their_ttl() -> None:
    with Sandbox(dialect="classic", token_ttl=0.3) as sb:
        token = get_token(sb)
        headers = {"Authorization": f"Bearer {token}"}
        path = f"{sb.base_url}{job_path(sb, sb.create_job())}"
        assert httpx.get(path, headers=headers).status_code == 200
        time.sleep(0.4)
        assert httpx.get(path, headers=headers).status_code == 401


def test_classic_quicklooks_are_jpegs_named_jpg(classic: Wire) -> None:
    _, task, _ = classic.finished()
    names = classic.http.get(f"{task}/outputs/quicklooks/").json()["data"]
    features = classic.http.get(f"{task}/outputs/data-json/").json()["features"]
    assert names == [f"{feature['properties']['uid']}.jpg" for feature in features]
    first = classic.http.get(f"{task}/outputs/quicklooks/{names[0]}")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(first.content)) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (128, 128), "RGB")
    again = classic.http.get(f"{task}/outputs/quicklooks/{names[0]}")
    assert again.content == first.content


def test_classic_png_quicklook_names_answer_404(classic: Wire) -> None:
    _, task, _ = classic.finished()
    name = classic.http.get(f"{task}/outputs/quicklooks/").json()["data"][0]
    png = name.removesuffix(".jpg") + ".png"
    answer = classic.http.get(f"{task}/outputs/quicklooks/{png}")
    assert answer.status_code == 404
    assert answer.json()["detail"] == f"Quicklook {png} not found"


# -- next ------------------------------------------------------------------------------------


def test_next_reports_queued_jobs_and_waiting_tasks(newer: Wire) -> None:
    path = newer.job()
    assert newer.http.get(path).json()["data"]["status"] == "QUEUED"
    tasks = newer.http.get(f"{path}/tasks/").json()["data"]
    assert [task["status"] for task in tasks] == ["WAITING", "WAITING"]
    assert newer.sb.job_status(path.rsplit("/", 1)[1]) == "NOT STARTED"


def test_next_keeps_the_other_statuses_so_clients_see_the_end(newer: Wire) -> None:
    path, _, _ = newer.finished()
    assert newer.http.get(path).json()["data"]["status"] == "SUCCEEDED"
    tasks = newer.http.get(f"{path}/tasks/").json()["data"]
    assert {task["status"] for task in tasks} == {"SUCCEEDED"}


def test_next_adds_unknown_fields_to_jobs_tasks_credits_and_envelopes(newer: Wire) -> None:
    path, _, _ = newer.finished()
    answer = newer.http.get(path).json()
    assert answer["meta"] == {"requestId": answer["meta"]["requestId"]}
    job = answer["data"]
    assert job["priority"] == "normal"
    assert job["labels"] == ["sandbox"]
    assert job["costEstimate"]["credits"] == 3
    for task in newer.http.get(f"{path}/tasks/").json()["data"]:
        assert task["retries"] == 0
        assert task["resources"] == {"cpu": 2, "memoryMb": 4096}
    credits = newer.http.get(f"{path}/credits").json()
    assert credits["data"]["currency"] == "credits"
    assert credits["data"]["creditsUsed"] == 100
    assert "requestId" in credits["meta"]


def test_next_adds_unknown_fields_to_features_and_their_collection(newer: Wire) -> None:
    path, _, _ = newer.finished()
    collection = newer.http.get(f"{path}/outputs/data-json/").json()
    assert collection["numberMatched"] == len(collection["features"]) == 3
    for feature in collection["features"]:
        assert feature["links"] == []
        properties = feature["properties"]
        assert (
            properties["cloudCoverage"] == properties["contentDescription"]["cloudCoverPercentage"]
        )
    # The store's data.json stays as it was.
    job = newer.sb.store.get(path.rsplit("/", 1)[1])
    assert job is not None
    assert "links" not in job.tasks[-1].features[0]


def test_next_adds_unknown_fields_to_the_token_and_signed_url_answers(newer: Wire) -> None:
    token = newer.token_answer().json()
    assert token["scope"] == "jobs"
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 300
    path, _, _ = newer.finished()
    signed = newer.http.get(f"{path}/downloads/results/").json()["data"]
    expires = datetime.strptime(signed["expiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert 3590 < (expires - datetime.now(UTC)).total_seconds() <= 3600
    assert httpx.get(signed["url"]).status_code == 200


def test_next_adds_a_trace_id_to_error_envelopes(newer: Wire) -> None:
    missing = newer.http.get(job_path(newer.sb, newer.sb.project_id))
    assert missing.status_code == 404
    body = missing.json()
    assert body["data"] is None
    assert body["error"]["code"] == 404
    assert body["error"]["message"] == f"Job with id {newer.sb.project_id} not found"
    assert len(body["error"]["traceId"]) == 32
    assert body["meta"]["requestId"] == missing.headers["x-request-id"]
    unauthorized = httpx.get(
        f"{newer.sb.base_url}{newer.job()}", headers={"Authorization": "Bearer nope"}
    )
    assert unauthorized.status_code == 401
    assert "traceId" in unauthorized.json()["error"]


def test_next_puts_extra_headers_on_every_api_answer(newer: Wire) -> None:
    path, task, _ = newer.finished()
    newer.sb.inject("rate_limit", path="/credits")
    answers = [
        newer.token_answer(),
        newer.http.get(path),
        newer.http.get(f"{task}/logs"),
        newer.http.get(f"{path}/credits"),  # the fault's 429
        newer.http.get("/no/such/path"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 404]
    for answer in answers:
        assert set(answer.headers) >= NEXT_HEADERS
    assert int(answers[0].headers["x-ratelimit-remaining"]) > 0
    assert len({a.headers["x-request-id"] for a in answers}) == len(answers)
    assert answers[1].json()["meta"]["requestId"] == answers[1].headers["x-request-id"]
    # The fault's body is the spec's, whatever the dialect.
    assert answers[3].json() == {
        "data": None,
        "error": {"code": 429, "message": "Too many requests"},
    }


def test_next_keeps_cancel_logs_quicklooks_and_archives(newer: Wire) -> None:
    path, task, task_id = newer.finished()
    job = newer.sb.store.get(path.rsplit("/", 1)[1])
    assert job is not None
    logs = newer.http.get(f"{task}/logs")
    assert logs.headers["content-type"].startswith("text/plain")
    assert logs.text == newer.sb.store.snapshot(job).log_text(job.tasks[-1])
    names = newer.http.get(f"{task}/outputs/quicklooks/").json()["data"]
    assert names == list(job.tasks[-1].quicklooks)
    image = newer.http.get(f"{task}/outputs/quicklooks/{names[0]}")
    assert image.headers["content-type"] == "image/png"
    assert image.content == job.tasks[-1].quicklooks[names[0]]
    signed = newer.http.get(f"{task}/downloads/results/").json()["data"]["url"]
    assert httpx.get(signed).content == newer.sb.archive_path(job.id, task_id).read_bytes()
    cancel = newer.http.post(f"{path}/cancel/")
    assert cancel.status_code == 200
    assert cancel.json()["data"] == {}


def test_a_seeded_next_sandbox_gives_the_same_request_ids() -> None:
    ids = []
    for _ in range(2):
        with Sandbox(dialect="next", seed=11) as sb:
            ids.append(httpx.get(f"{sb.base_url}/nothing").headers["x-request-id"])
    assert ids[0] == ids[1]


# -- choosing a dialect ----------------------------------------------------------------------


def test_an_unknown_dialect_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown dialect 'legacy'; choose one of spec, classic"):
        Sandbox(dialect="legacy")


def test_the_dialect_is_in_the_connection_info(classic: Wire) -> None:
    assert classic.sb.dialect == "classic"
    assert classic.sb.info()["dialect"] == "classic"


def test_the_cli_refuses_an_unknown_dialect_with_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--dialect", "legacy"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'legacy'" in capsys.readouterr().err


def test_the_cli_hands_its_dialect_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_sandbox(**kwargs: Any) -> Sandbox:
        seen.update(kwargs)
        raise OSError("not started in this test")

    monkeypatch.setattr(cli, "Sandbox", fake_sandbox)
    assert cli.main(["--dialect", "next"]) == 1
    assert seen["dialect"] == "next"
    assert cli.main([]) == 1
    assert seen["dialect"] == "spec"


def test_the_cli_help_describes_every_dialect(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("spec (default)", "classic:", "NOT_STARTED", "next:", "QUEUED", "WAITING"):
        assert words in text


# -- the "body" fault ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("null", None),
        ("{}", {}),
        ('{"data": null, "error": "Job is gone"}', {"data": None, "error": "Job is gone"}),
    ],
)
def test_the_body_fault_sends_any_json_on_the_matching_path(
    sandbox: Sandbox, raw: httpx.Client, content: str, expected: Any
) -> None:
    path = job_path(sandbox, sandbox.create_job())
    fault = sandbox.inject("body", path="/cancel/", content=content)
    assert raw.get(path).json()["data"]["id"]  # another path: not consumed
    answer = raw.post(f"{path}/cancel/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == content.encode()
    assert answer.json() == expected
    assert fault.hits == 1
    assert raw.post(f"{path}/cancel/").json() == {"data": {}, "error": None}


def test_the_body_fault_sends_a_problem_with_its_status_and_content_type(
    sandbox: Sandbox, raw: httpx.Client
) -> None:
    path = job_path(sandbox, sandbox.create_job())
    problem = '{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "gone"}'
    sandbox.inject(
        "body",
        method="GET",
        status=404,
        content=problem,
        content_type="application/problem+json",
        count=2,
    )
    assert raw.post(f"{path}/cancel/").status_code == 200  # another method: not consumed
    answers = [raw.get(path) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 200]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert answers[0].json()["detail"] == "gone"


def test_the_body_fault_defaults_to_an_empty_200_and_takes_bytes(
    sandbox: Sandbox, raw: httpx.Client
) -> None:
    path = job_path(sandbox, sandbox.create_job())
    sandbox.inject("body", job_id=path.rsplit("/", 1)[1])
    empty = raw.get(path)
    assert (empty.status_code, empty.content) == (200, b"")
    assert empty.headers["content-type"] == "application/json"
    sandbox.inject("body", content=b"\xff\x00", content_type=None)
    binary = raw.get(path)
    assert binary.content == b"\xff\x00"
    assert "content-type" not in binary.headers


def test_the_body_fault_answers_the_same_in_every_dialect(classic: Wire, newer: Wire) -> None:
    for wire in (classic, newer):
        path = wire.job()
        wire.sb.inject("body", path="/cancel/", content='{"data": null}')
        assert wire.http.post(f"{path}/cancel/").json() == {"data": None}


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"status": 101}, ValueError, "body status must be"),
        ({"status": 600}, ValueError, "body status must be"),
        ({"status": 204, "content": "{}"}, ValueError, "has no body"),
        ({"content": {"data": None}}, TypeError, "str or bytes"),
        ({"content_type": 1}, TypeError, "content_type"),
        ({"retry_after": 2}, ValueError, "takes status, content and content_type"),
    ],
)
def test_bad_body_fault_settings_are_refused(
    settings: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Sandbox().inject("body", **settings)


def test_the_command_line_keeps_a_body_fault_content_verbatim() -> None:
    assert parse_fault_spec('body:path=/cancel/,status=404,content={"a": null, "b": 1}') == (
        "body",
        {"path": "/cancel/", "status": 404, "content": '{"a": null, "b": 1}'},
    )
    assert parse_fault_spec("body:content=null") == ("body", {"content": "null"})
    assert parse_fault_spec("body:content_type=application/problem+json,count=2") == (
        "body",
        {"content_type": "application/problem+json", "count": 2},
    )
