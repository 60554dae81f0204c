"""What the real service sent in 2019-2020, replayed: the sandbox's ``classic`` dialect (empty
cancel bodies, ``NOT_STARTED``, problem bodies, minimal token answers, JPEG quicklooks) and
the bodies it sent now and then (JSON ``null``, ``data: null`` beside an ``error``).

Recorded against the sandbox only: the jobs platform these answers come from was
discontinued in 2024, and the odd bodies are injected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from tests.replay.recording import Target

pytestmark = [
    pytest.mark.vcr,
    pytest.mark.sandbox_options(dialect="classic"),
    pytest.mark.sandbox_only("the classic dialect and injected bodies are the sandbox's"),
]

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
JPEG_MAGIC = b"\xff\xd8\xff"


def answers(cassette: Any, path_end: str) -> list[dict[str, Any]]:
    """The recorded responses to requests whose path ends with ``path_end``."""
    return [
        response
        for request, response in cassette.data
        if request.path.rstrip("/").endswith(path_end.rstrip("/"))
    ]


def test_a_cancel_answered_with_an_empty_body_succeeds(
    target: Target, session: up42.Up42, vcr: Any
) -> None:
    job = session.initialize_job(target.job_id("cancellable"))
    job.cancel_job()
    (answer,) = answers(vcr, "/cancel")
    assert answer["status"]["code"] == 200 and answer["body"]["string"] in ("", b"")
    assert job.status in {"CANCELLING", "CANCELLED"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("null", id="null"),
        pytest.param("{}", id="empty-object"),
        pytest.param('{"data": null, "error": null}', id="envelope"),
    ],
)
def test_a_cancel_answered_with_null_or_an_empty_object_succeeds(
    target: Target, session: up42.Up42, body: str
) -> None:
    job = session.initialize_job(target.job_id("cancellable"))
    target.inject("body", path="/cancel/", count=1, content=body)
    job.cancel_job()


def test_a_job_spelled_not_started_is_the_known_status(target: Target, session: up42.Up42) -> None:
    job = session.initialize_job(target.sandbox_job("held", "succeeds", status="NOT STARTED"))
    assert job.info["status"] == "NOT_STARTED"
    assert job.job_status is up42.JobStatus.NOT_STARTED
    assert up42.JobStatus.is_known(job.status)
    assert job.is_succeeded is False


def test_a_problem_body_gives_not_found_in_its_title_and_detail(
    target: Target, session: up42.Up42, vcr: Any
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        session.initialize_job(UNKNOWN_ID)
    (answer,) = answers(vcr, UNKNOWN_ID)
    assert answer["headers"]["content-type"] == ["application/problem+json"]
    assert f"Not Found: Job with id {UNKNOWN_ID} not found (check" in str(caught.value)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        pytest.param('"Job is archived"', "Job is archived", id="string"),
        pytest.param('{"code": 410, "message": "Gone for good"}', "Gone for good", id="object"),
    ],
)
def test_a_success_without_data_but_with_an_error_raises_the_servers_words(
    target: Target, session: up42.Up42, error: str, words: str
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    target.inject(
        "body",
        job_id=job.job_id,
        path="/credits",
        count=1,
        content=f'{{"data": null, "error": {error}}}',
    )
    with pytest.raises(up42.APIError) as caught:
        job.get_credits()
    assert type(caught.value) is up42.APIError
    assert caught.value.status_code == 200
    assert words in str(caught.value)


def test_an_empty_error_beside_real_data_is_no_error(target: Target, session: up42.Up42) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    credits = {
        "projectId": target.project_id,
        "projectDisplayId": target.project_id[:8],
        "jobId": job.job_id,
        "jobDisplayId": job.job_id[:8],
        "creditsUsed": 7,
    }
    target.inject(
        "body", job_id=job.job_id, path="/credits", count=1,
        content=json.dumps({"data": credits, "error": {}}),
    )  # fmt: skip
    assert job.get_credits() == {"creditsUsed": 7}


def test_a_minimal_token_answer_is_enough(target: Target, session: up42.Up42, vcr: Any) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    assert job.status == "SUCCEEDED"
    (token,) = answers(vcr, "/oauth/token")
    assert set(json.loads(token["body"]["string"])) == {"access_token", "data"}
    assert session.tokens.renewals == 1


def test_jpeg_quicklooks_download_as_jpg_files(
    target: Target, session: up42.Up42, tmp_path: Path
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    paths = job.download_quicklooks(tmp_path / "looks")
    assert paths and all(path.endswith(".jpg") for path in paths)
    assert all(Path(path).read_bytes()[:3] == JPEG_MAGIC for path in paths)
