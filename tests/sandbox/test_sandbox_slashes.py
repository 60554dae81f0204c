"""Every job path answers with or without its trailing slash, the same, without a redirect.

The real API did (the classic SDK called ``.../outputs/data-json`` both ways); only
``/oauth/token`` answers its exact spelling alone. Faults and the request log treat both
spellings of a path as one.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from up42_sandbox import Sandbox

from .helpers import SPEC_PATH, get_token, job_path

#: The spec's paths, with the methods each answers (the sandbox implements every one).
SPEC_ROUTES = [
    (method.upper(), path)
    for path, item in yaml.safe_load(SPEC_PATH.read_text())["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]
JOB_ROUTES = [(method, path) for method, path in SPEC_ROUTES if path != "/oauth/token"]


def other_spelling(path: str) -> str:
    """The path with its trailing slash dropped, or one added."""
    return path[:-1] if path.endswith("/") else path + "/"


@pytest.fixture
def job(sandbox: Sandbox) -> str:
    """A finished job, outputs ready."""
    return sandbox.create_job(start_status="SUCCEEDED", tasks=2, features=2)


@pytest.fixture
def fill(sandbox: Sandbox, job: str, raw: httpx.Client) -> Callable[[str], str]:
    """Turn a spec path template into a path of ``job`` (its first task, its first quicklook)."""
    task_id = sandbox.task_ids(job)[0]
    quicklooks = raw.get(f"{job_path(sandbox, job)}/tasks/{task_id}/outputs/quicklooks/")
    name = quicklooks.json()["data"][0]
    values = {"project_id": sandbox.project_id, "job_id": job, "task_id": task_id, "name": name}
    return lambda template: template.format(**values)


def test_the_spec_paths_are_the_sandbox_routes_and_all_of_them_are_covered() -> None:
    # Guard against a spec change that would leave a route out of the tests below.
    assert len(JOB_ROUTES) == 12
    assert ("GET", "/projects/{project_id}/jobs") in JOB_ROUTES
    assert ("POST", "/projects/{project_id}/jobs/{job_id}/cancel/") in JOB_ROUTES
    assert ("GET", "/projects/{project_id}/jobs/{job_id}/credits") in JOB_ROUTES


@pytest.mark.parametrize(
    ("method", "template"), JOB_ROUTES, ids=[f"{m} {p}" for m, p in JOB_ROUTES]
)
def test_every_job_route_answers_both_spellings_alike(
    api: httpx.Client,
    raw: httpx.Client,
    fill: Callable[[str], str],
    method: str,
    template: str,
) -> None:
    spec_path = fill(template)
    # The spec's spelling goes through the validating client: its answer is on-spec.
    expected = api.request(method, spec_path)
    answer = raw.request(method, other_spelling(spec_path))
    assert expected.status_code == 200
    assert answer.status_code == 200, answer.text
    assert not answer.history  # answered in place, not redirected
    assert answer.headers["content-type"] == expected.headers["content-type"]
    if template.endswith("/downloads/results/"):
        # A signed URL carries its signing time: the same object, signed the same way.
        url = answer.json()["data"]["url"]
        ours, theirs = urlsplit(url), urlsplit(expected.json()["data"]["url"])
        assert (ours.scheme, ours.netloc, ours.path) == (theirs.scheme, theirs.netloc, theirs.path)
        assert parse_qs(ours.query).keys() == parse_qs(theirs.query).keys()
        assert httpx.get(url).status_code == 200
    else:
        assert answer.content == expected.content


def test_the_token_endpoint_answers_its_exact_spelling_only(sandbox: Sandbox) -> None:
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/token/",
        auth=(sandbox.project_id, sandbox.project_api_key),
        data={"grant_type": "client_credentials"},
    )
    assert answer.status_code == 404
    assert answer.json() == {"data": None, "error": {"code": 404, "message": "Not found"}}
    assert get_token(sandbox)  # the exact spelling still works


def test_errors_are_the_same_in_both_spellings(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    path = job_path(sandbox, job)
    unknown_task = f"{path}/tasks/3f772637-09aa-4164-bded-692fcd746d20/logs"
    for spelled in (unknown_task, f"{path}/nothing/here/"):
        expected, answer = raw.get(spelled), raw.get(other_spelling(spelled))
        assert expected.status_code == answer.status_code == 404
        assert expected.json() == answer.json()
    # A known path with the wrong method: 405 both ways, not a 404 for one spelling.
    assert raw.get(f"{path}/cancel/").status_code == raw.get(f"{path}/cancel").status_code == 405
    unauthorized = httpx.get(f"{sandbox.base_url}{path}/credits/")
    assert unauthorized.status_code == 401


@pytest.fixture
def both(raw: httpx.Client, fill: Callable[[str], str]) -> Callable[[str], list[int]]:
    """GET a path template in the spec's spelling, then the other one; the two statuses."""

    def statuses(template: str) -> list[int]:
        path = fill(template)
        return [raw.get(path).status_code, raw.get(other_spelling(path)).status_code]

    return statuses


@pytest.mark.parametrize(
    ("template", "fault_path"),
    [
        ("/projects/{project_id}/jobs/{job_id}/outputs/data-json/", "/outputs/data-json/"),
        ("/projects/{project_id}/jobs/{job_id}/tasks/{task_id}/outputs/data-json/", "data-json/"),
        ("/projects/{project_id}/jobs/{job_id}/credits", "/credits"),
        ("/projects/{project_id}/jobs/{job_id}/tasks/", "/tasks/"),
        ("/projects/{project_id}/jobs/{job_id}/tasks/{task_id}/logs", "/logs"),
    ],
)
def test_a_path_fault_selects_both_spellings(
    sandbox: Sandbox, both: Callable[[str], list[int]], template: str, fault_path: str
) -> None:
    fault = sandbox.inject("error", status=500, count=None, path=fault_path)
    assert both(template) == [500, 500]
    assert fault.hits == 2
    sandbox.clear_faults()
    assert both(template) == [200, 200]


def test_counted_and_job_faults_are_consumed_by_either_spelling(
    sandbox: Sandbox, raw: httpx.Client, job: str, both: Callable[[str], list[int]]
) -> None:
    sandbox.inject("rate_limit", count=1, path="/tasks/")
    sandbox.inject("rate_limit", count=1, path="/tasks/")
    assert both("/projects/{project_id}/jobs/{job_id}/tasks/") == [429, 429]
    assert both("/projects/{project_id}/jobs/{job_id}/tasks/") == [200, 200]
    sandbox.inject("error", status=503, count=None, job_id=job, method="GET")
    assert both("/projects/{project_id}/jobs/{job_id}") == [503, 503]
    sandbox.clear_faults()
    path = job_path(sandbox, job)
    sandbox.inject("unknown_status", value="QUEUED_FOR_REVIEW")
    assert raw.get(f"{path}/").json()["data"]["status"] == "QUEUED_FOR_REVIEW"
    assert raw.get(f"{path}/").json()["data"]["status"] == "SUCCEEDED"


def test_the_request_log_keeps_the_spelling_and_filters_both_alike(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    path = job_path(sandbox, job)
    sandbox.requests.clear()
    raw.get(f"{path}/outputs/data-json/")
    raw.get(f"{path}/outputs/data-json")
    raw.get(f"{path}/credits/")
    records = list(sandbox.requests)
    assert [r.path for r in records] == [
        f"{path}/outputs/data-json/",
        f"{path}/outputs/data-json",
        f"{path}/credits/",
    ]
    assert [r.canonical_path for r in records] == [
        f"{path}/outputs/data-json/",
        f"{path}/outputs/data-json/",
        f"{path}/credits",
    ]
    assert [r.status for r in records] == [200, 200, 200]
    assert len(sandbox.requests.filter(path="/outputs/data-json/")) == 2
    assert len(sandbox.requests.filter(path="/credits")) == 1
