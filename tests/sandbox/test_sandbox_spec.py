"""Every endpoint answers what the spec says (openapi-core), and a bounded schemathesis run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from up42_sandbox import Sandbox
from up42_sandbox._app import SORT_FIELDS

from .helpers import SPEC_PATH, get_token, job_path


def test_every_endpoint_validates_against_the_spec_in_every_phase_of_a_job(
    validate: Callable[[httpx.Response], None],
) -> None:
    # Real time (speed 1): a fresh job stays NOT STARTED for the whole first round.
    with Sandbox(speed=1) as sb, httpx.Client(base_url=sb.base_url) as api:
        api.headers["Authorization"] = f"Bearer {get_token(sb)}"
        api.event_hooks["response"] = [validate]  # every request and response, checked
        for start in (None, "RUNNING", "SUCCEEDED", "FAILED", "CANCELLING", "CANCELLED"):
            job_id = sb.create_job(start_status=start, tasks=2, features=2)
            _call_every_endpoint(api, job_path(sb, job_id), sb.task_ids(job_id))


def _call_every_endpoint(api: httpx.Client, path: str, task_ids: list[str]) -> None:
    for suffix in ("", "/tasks/", "/credits", "/outputs/data-json/", "/downloads/results/"):
        api.get(path + suffix)
    for task_id in task_ids:
        task = f"{path}/tasks/{task_id}"
        api.get(f"{task}/logs")
        api.get(f"{task}/outputs/data-json/")
        api.get(f"{task}/downloads/results/")
        for name in api.get(f"{task}/outputs/quicklooks/").json()["data"]:
            image = api.get(f"{task}/outputs/quicklooks/{name}")
            assert image.headers["content-type"] == "image/png"
    assert api.post(f"{path}/cancel/").status_code == 200


def test_unknown_statuses_bad_ids_and_missing_tasks_validate_too(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    failed = job_path(sandbox, sandbox.create_job(start_status="FAILED"))
    unknown = job_path(sandbox, sandbox.create_job(status="QUEUED_FOR_REVIEW"))
    api.get(unknown)
    # The request breaks the spec on purpose (job_id is no uuid): check the answer by hand.
    bad = httpx.get(sandbox.base_url + job_path(sandbox, "not-a-uuid"), headers=api.headers)
    assert bad.status_code == 400
    assert bad.json() == {"data": None, "error": {"code": 400, "message": "Invalid job id"}}
    missing_task = api.get(failed + "/tasks/3f772637-09aa-4164-bded-692fcd746d20/logs")
    assert missing_task.status_code == 404


@pytest.mark.parametrize("dialect", ["spec", "classic", "next"])
def test_the_listing_validates_in_every_order_on_every_page_and_in_every_dialect(
    validate: Callable[[httpx.Response], None],
    validate_response: Callable[[httpx.Response], None],
    dialect: str,
) -> None:
    with (
        Sandbox(speed=1, page_size=3, dialect=dialect) as sb,
        httpx.Client(base_url=sb.base_url) as api,
    ):
        for start in (None, "RUNNING", "SUCCEEDED", "FAILED", "CANCELLING", "CANCELLED"):
            sb.create_job(start_status=start, features=0)
        sb.create_job(status="QUEUED_FOR_REVIEW", mode="SOMETHING_NEW", features=0)
        listing = f"/projects/{sb.project_id}/jobs"
        api.headers["Authorization"] = f"Bearer {get_token(sb)}"
        api.event_hooks["response"] = [validate]  # every request and response, checked
        assert len(api.get(listing).json()["data"]) == 3
        for field in SORT_FIELDS:
            for order in ("asc", "desc"):
                sizes = [
                    len(
                        api.get(listing, params={"page": n, "sort": f"{field},{order}"}).json()[
                            "data"
                        ]
                    )
                    for n in range(4)
                ]
                assert sizes == [3, 3, 1, 0]
        assert api.get(f"/projects/{uuid.UUID(int=1)}/jobs").status_code == 404
        api.event_hooks["response"] = []
        # These requests break the spec on purpose (a bad page or sort, no token): check the
        # answers alone.
        for params in ({"page": "-1"}, {"sort": "size,asc"}):
            bad = api.get(listing, params=params)
            assert bad.status_code == 400
            validate_response(bad)
        anonymous = httpx.get(sb.base_url + listing)
        assert anonymous.status_code == 401
        validate_response(anonymous)


def test_the_standing_rate_limit_answers_the_429_the_spec_documents(
    validate: Callable[[httpx.Response], None],
) -> None:
    with Sandbox() as sb:
        headers = {"Authorization": f"Bearer {get_token(sb)}"}
        sb.set_rate_limit(1)
        listing = f"{sb.base_url}/projects/{sb.project_id}/jobs"
        assert httpx.get(listing, headers=headers).status_code == 200
        for answer in (
            httpx.get(listing, headers=headers),
            httpx.post(
                f"{sb.base_url}/oauth/token",
                auth=(sb.project_id, sb.project_api_key),
                data={"grant_type": "client_credentials"},
            ),
        ):
            assert answer.status_code == 429
            validate(answer)


@pytest.mark.parametrize(
    ("kind", "params", "status"),
    [
        ("rate_limit", {}, 429),
        ("rate_limit", {"retry_after_date": True}, 429),
        ("error", {"status": 500}, 500),
        ("error", {"status": 502}, 502),
        ("error", {"status": 503, "retry_after": 1}, 503),
        ("error", {"status": 504}, 504),
        ("error", {"status": 403}, 403),
    ],
)
def test_fault_answers_the_spec_documents_validate(
    sandbox: Sandbox,
    validate: Callable[[httpx.Response], None],
    kind: str,
    params: dict[str, Any],
    status: int,
) -> None:
    path = sandbox.base_url + job_path(sandbox, sandbox.create_job())
    headers = {"Authorization": f"Bearer {get_token(sandbox)}"}
    sandbox.inject(kind, **params)
    answer = httpx.get(path, headers=headers)
    assert answer.status_code == status
    validate(answer)


def test_a_bounded_schemathesis_run_from_the_spec_passes(sandbox: Sandbox) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_path(SPEC_PATH)
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    task_id = sandbox.task_ids(job_id)[-1]
    known = {"project_id": sandbox.project_id, "job_id": job_id, "task_id": task_id}
    headers = {"Authorization": f"Bearer {get_token(sandbox)}"}
    # Half the cases hit a real job and task, half random ids (404s, 400s) as generated.
    strategy = schema.as_strategy(path_parameters=known) | schema.as_strategy()
    seen: list[int] = []

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call_and_validate(base_url=sandbox.base_url, headers=headers)
        seen.append(response.status_code)

    run()
    assert len(seen) == 40
    assert 200 in seen, seen
