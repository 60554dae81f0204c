"""Many jobs: the listing pages and sorts them, and ``jobs=``/``--jobs`` create them at start-up.

``GET /projects/{project_id}/jobs?page=N&sort=FIELD,asc|desc`` answers one page of the project's
jobs, each exactly as ``GET .../jobs/{job_id}`` answers it; an empty page means the end.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from up42_sandbox import Sandbox
from up42_sandbox import _cli as cli
from up42_sandbox._app import SORT_FIELDS
from up42_sandbox._jobspec import parse_jobs_spec

from .helpers import POLL_TIMEOUT, get_token, job_path

#: Slow enough that no job of the sort tests changes status (or timestamps) while they run.
FROZEN = 0.05
#: Jobs without images are quick to make (the images are most of a job's creation time).
QUICK: dict[str, Any] = {"features": 0}


def list_path(sb: Sandbox) -> str:
    return f"/projects/{sb.project_id}/jobs"


def client(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {get_token(sb)}"})


def read_all(http: httpx.Client, sb: Sandbox, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page up to and including the first empty one."""
    pages: list[list[dict[str, Any]]] = []
    while not pages or pages[-1]:
        answer = http.get(list_path(sb), params={**params, "page": len(pages)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["error"] is None
        pages.append(answer.json()["data"])
    return pages


def flat(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [job for page in pages for job in page]


# -- paging ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seven() -> Iterator[tuple[Sandbox, httpx.Client]]:
    """Seven jobs on pages of three."""
    with Sandbox(speed=20, jobs={"succeeds": 7, **QUICK}, page_size=3) as sb, client(sb) as http:
        yield sb, http


def test_pages_hold_page_size_jobs_until_an_empty_page_ends_the_list(
    seven: tuple[Sandbox, httpx.Client],
) -> None:
    sb, http = seven
    pages = read_all(http, sb)
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    ids = [job["id"] for job in flat(pages)]
    assert sorted(ids) == sorted(sb.created_jobs)  # each job once, none left out


def test_the_default_order_is_newest_first_and_page_0_is_the_first(
    seven: tuple[Sandbox, httpx.Client],
) -> None:
    sb, http = seven
    default = http.get(list_path(sb)).json()["data"]
    explicit = http.get(list_path(sb), params={"page": 0, "sort": "createdAt,desc"}).json()
    assert [job["id"] for job in default] == [job["id"] for job in explicit["data"]]
    assert [job["id"] for job in default] == sb.created_jobs[::-1][:3]
    assert [job["name"] for job in default] == ["job 007", "job 006", "job 005"]


@pytest.mark.parametrize("page", ["4", "99", "000004", "9" * 40])
def test_any_page_past_the_last_is_empty(seven: tuple[Sandbox, httpx.Client], page: str) -> None:
    sb, http = seven
    answer = http.get(f"{list_path(sb)}?page={page}")
    assert (answer.status_code, answer.json()) == (200, {"data": [], "error": None})


def test_the_default_page_size_is_20() -> None:
    assert inspect.signature(Sandbox).parameters["page_size"].default == 20
    with Sandbox(speed=20, jobs={"succeeds": 21, **QUICK}) as sb, client(sb) as http:
        assert [len(page) for page in read_all(http, sb)] == [20, 1, 0]


def test_a_listed_job_is_exactly_what_get_job_answers() -> None:
    with Sandbox(speed=FROZEN, seed=3) as frozen, client(frozen) as api:
        for start in (None, "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"):
            frozen.create_job(start_status=start, **QUICK)
        listed = api.get(list_path(frozen)).json()["data"]
        assert len(listed) == 5
        for job in listed:
            assert api.get(job_path(frozen, job["id"])).json()["data"] == job


def test_both_spellings_of_the_path_answer_the_same(seven: tuple[Sandbox, httpx.Client]) -> None:
    sb, http = seven
    bare = http.get(list_path(sb), params={"sort": "id,asc"})
    slashed = http.get(list_path(sb) + "/", params={"sort": "id,asc"})
    assert bare.status_code == slashed.status_code == 200
    assert [j["id"] for j in bare.json()["data"]] == [j["id"] for j in slashed.json()["data"]]


# -- sorting ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def varied() -> Iterator[tuple[Sandbox, httpx.Client]]:
    """Jobs that differ in every sort field, frozen in their statuses; two share a name."""
    with Sandbox(speed=FROZEN, seed=11) as sb, client(sb) as http:
        for name, mode, start in [
            ("bravo", "DEFAULT", None),  # NOT STARTED: no startedAt, no finishedAt
            ("alpha", "DRY_RUN", "RUNNING"),  # startedAt, no finishedAt
            ("delta", "DEFAULT", "SUCCEEDED"),
            ("alpha", "DEFAULT", "FAILED"),
            ("charlie", "DRY_RUN", "CANCELLED"),
            ("echo", "DRY_RUN", "PENDING"),
        ]:
            sb.create_job(name=name, mode=mode, start_status=start, **QUICK)
        yield sb, http


def _asc_key(job: dict[str, Any], field: str) -> tuple[bool, str, str]:
    return (job[field] is None, job[field] or "", job["id"])


@pytest.mark.parametrize("field", SORT_FIELDS)
def test_each_field_sorts_ascending_with_nulls_last_and_descending_as_its_exact_reverse(
    varied: tuple[Sandbox, httpx.Client], field: str
) -> None:
    sb, http = varied
    asc = flat(read_all(http, sb, sort=f"{field},asc"))
    desc = flat(read_all(http, sb, sort=f"{field},desc"))
    assert len(asc) == 6
    assert len({job[field] for job in asc}) >= 2, "the jobs must differ in this field"
    assert asc == sorted(asc, key=lambda job: _asc_key(job, field))
    assert desc == asc[::-1]


def test_the_orders_are_the_ones_a_person_expects(varied: tuple[Sandbox, httpx.Client]) -> None:
    sb, http = varied

    def order(sort: str, field: str) -> list[Any]:
        return [job[field] for job in http.get(list_path(sb), params={"sort": sort}).json()["data"]]

    assert order("name,asc", "name") == ["alpha", "alpha", "bravo", "charlie", "delta", "echo"]
    assert order("mode,desc", "mode")[:3] == ["DRY_RUN"] * 3
    assert order("status,asc", "status") == [
        "CANCELLED",
        "FAILED",
        "NOT STARTED",
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
    ]
    started = order("startedAt,asc", "startedAt")
    assert started[-2:] == [None, None]  # NOT STARTED and PENDING: nulls last when ascending
    assert order("startedAt,desc", "startedAt")[:2] == [None, None]  # and first descending
    stamps = [datetime.fromisoformat(s) for s in started[:-2]]
    assert stamps == sorted(stamps)
    created = order("createdAt,asc", "createdAt")
    assert created == sorted(created) and len(set(created)) == 6


def test_equal_values_are_ordered_by_id_and_the_order_holds_across_pages(
    varied: tuple[Sandbox, httpx.Client],
) -> None:
    sb, http = varied
    alphas = [job for job in flat(read_all(http, sb, sort="name,asc")) if job["name"] == "alpha"]
    assert [job["id"] for job in alphas] == sorted(job["id"] for job in alphas)
    with Sandbox(speed=FROZEN, page_size=4) as paged, client(paged) as api:
        made = [paged.create_job(name="same", **QUICK) for _ in range(9)]
        pages = read_all(api, paged, sort="name,desc")
        assert [len(page) for page in pages] == [4, 4, 1, 0]
        assert [job["id"] for job in flat(pages)] == sorted(made, reverse=True)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("page=-1", "page"),
        ("page=x", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
        ("page=%201", "page"),
        ("page=0&page=1", "page"),
        ("sort=name", "sort"),
        ("sort=name,up", "sort"),
        ("sort=NAME,asc", "sort"),
        ("sort=name,ASC", "sort"),
        ("sort=size,asc", "sort"),
        ("sort=name,asc,id", "sort"),
        ("sort=", "sort"),
        ("sort=name,asc&sort=id,desc", "sort"),
    ],
)
def test_a_bad_page_or_sort_answers_400_with_the_error_envelope(
    seven: tuple[Sandbox, httpx.Client], query: str, what: str
) -> None:
    sb, http = seven
    answer = http.get(f"{list_path(sb)}?{query}")
    assert answer.status_code == 400
    body = answer.json()
    assert body["data"] is None
    assert body["error"]["code"] == 400
    assert body["error"]["message"].startswith(f"Invalid {what} ")


def test_the_sort_error_names_the_fields_and_orders(seven: tuple[Sandbox, httpx.Client]) -> None:
    sb, http = seven
    message = http.get(f"{list_path(sb)}?sort=size,asc").json()["error"]["message"]
    assert message == (
        "Invalid sort 'size,asc': expected one FIELD,asc or FIELD,desc with FIELD one of "
        "createdAt, name, id, mode, status, startedAt, finishedAt"
    )


def test_the_listing_needs_a_valid_token(seven: tuple[Sandbox, httpx.Client]) -> None:
    sb, _ = seven
    url = sb.base_url + list_path(sb)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answer = httpx.get(url, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"data": None, "error": {"code": 401, "message": "Unauthorized"}}
    with Sandbox() as other, client(other) as http:
        token = http.headers["Authorization"]
        other.expire_tokens()
        assert (
            httpx.get(
                other.base_url + list_path(other), headers={"Authorization": token}
            ).status_code
            == 401
        )


def test_another_project_answers_404_and_a_bad_project_id_400(
    seven: tuple[Sandbox, httpx.Client],
) -> None:
    _, http = seven
    stranger = "3f772637-09aa-4164-bded-692fcd746d20"
    answer = http.get(f"/projects/{stranger}/jobs")
    assert answer.status_code == 404
    assert answer.json()["error"] == {"code": 404, "message": f"Project {stranger} not found"}
    bad = http.get("/projects/not-a-uuid/jobs")
    assert bad.status_code == 400
    assert bad.json()["error"] == {"code": 400, "message": "Invalid project id"}


# -- dialects --------------------------------------------------------------------------------


def test_the_classic_dialect_words_listed_jobs_and_errors_as_it_words_everything() -> None:
    with Sandbox(speed=FROZEN, dialect="classic") as sb, client(sb) as http:
        sb.create_job(**QUICK)
        sb.create_job(start_status="SUCCEEDED", **QUICK)
        listed = http.get(list_path(sb), params={"sort": "status,asc"})
        assert set(listed.json()) == {"data", "error"}
        assert [job["status"] for job in listed.json()["data"]] == ["NOT_STARTED", "SUCCEEDED"]
        bad = http.get(list_path(sb), params={"sort": "size,asc"})
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["status"] == 400
        assert bad.json()["detail"].startswith("Invalid sort 'size,asc'")
        missing = http.get("/projects/3f772637-09aa-4164-bded-692fcd746d20/jobs")
        assert (missing.status_code, missing.json()["title"]) == (404, "Not Found")


def test_the_next_dialect_adds_its_fields_to_listed_jobs_and_sorts_what_it_sends() -> None:
    with Sandbox(speed=FROZEN, dialect="next") as sb, client(sb) as http:
        sb.create_job(**QUICK)
        sb.create_job(start_status="RUNNING", **QUICK)
        listed = http.get(list_path(sb), params={"sort": "status,asc"})
        body = listed.json()
        assert body["meta"]["requestId"] == listed.headers["x-request-id"]
        # "QUEUED" is what goes on the wire, and the order is that of the wire's values.
        assert [job["status"] for job in body["data"]] == ["QUEUED", "RUNNING"]
        assert {"priority", "labels", "costEstimate"} <= set(body["data"][0])


# -- jobs at start-up ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "counts", "settings"),
    [
        (
            "succeeds=40,fails=5,long_running=5",
            [("succeeds", 40), ("fails", 5), ("long_running", 5)],
            {},
        ),
        (" fails = 2 , succeeds=1 ,", [("fails", 2), ("succeeds", 1)], {}),
        ("succeeds=3,duration=2.5,features=0", [("succeeds", 3)], {"duration": 2.5, "features": 0}),
        ("long_running=0", [("long_running", 0)], {}),
        ({"succeeds": 2, "duration": 1}, [("succeeds", 2)], {"duration": 1.0}),
        ({"fails": "4"}, [("fails", 4)], {}),
    ],
)
def test_jobs_specs_parse_into_counts_in_order_and_settings_for_all(
    spec: Any, counts: list[tuple[str, int]], settings: dict[str, Any]
) -> None:
    parsed = parse_jobs_spec(spec)
    assert list(parsed.counts) == counts
    assert dict(parsed.settings) == settings


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "names no outcome"),
        ("duration=3", "names no outcome"),
        ("explodes=3", "unknown jobs setting 'explodes'"),
        ("succeeded=3", "unknown jobs setting 'succeeded'"),
        ("succeeds", "expected key=value"),
        ("=3", "expected key=value"),
        ("succeeds=-1", "succeeds must be a whole number >= 0"),
        ("succeeds=2.5", "succeeds must be a whole number >= 0"),
        ("succeeds=many", "succeeds must be a whole number >= 0"),
        ("succeeds=1,succeeds=2", "succeeds is given twice"),
        ("succeeds=1,duration=-1", "duration must be a number of seconds >= 0"),
        ("succeeds=1,duration=inf", "duration must be a number of seconds >= 0"),
        ("succeeds=1,features=x", "features must be a whole number >= 0"),
        ({"succeeds": True}, "succeeds must be a whole number >= 0"),
        ({"succeeds": 1.0}, "succeeds must be a whole number >= 0"),
        ({}, "names no outcome"),
    ],
)
def test_a_bad_jobs_spec_is_refused_with_a_message_that_shows_a_good_one(
    spec: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_jobs_spec(spec)
    assert "e.g. succeeds=40,fails=5,long_running=5" in str(caught.value)
    with pytest.raises(ValueError, match=message):
        Sandbox(jobs=spec)  # refused when made, not when started


def test_jobs_must_be_a_spec_string_or_a_mapping() -> None:
    with pytest.raises(TypeError, match="jobs must be"):
        Sandbox(jobs=5)  # type: ignore[arg-type]


def test_the_spec_jobs_exist_before_the_listeners_accept_with_names_and_times_in_order() -> None:
    spec = "succeeds=2,fails=1,long_running=1,duration=1,features=0"
    with Sandbox(speed=20, jobs=spec, seed=5) as sb, client(sb) as http:
        created = sb.created_jobs
        assert sb.info()["created"] == created
        assert len(created) == 4
        jobs = [http.get(job_path(sb, job_id)).json()["data"] for job_id in created]
        assert [job["name"] for job in jobs] == ["job 001", "job 002", "job 003", "job 004"]
        stamps = [datetime.fromisoformat(job["createdAt"]) for job in jobs]
        assert stamps == sorted(stamps) and len(set(stamps)) == 4
        deadline = time.monotonic() + POLL_TIMEOUT
        # Each job ends on its own schedule: wait for the three that end, not only the first.
        while time.monotonic() < deadline and any(
            sb.job_status(job_id) not in ("SUCCEEDED", "FAILED") for job_id in created[:3]
        ):
            time.sleep(0.05)
        assert [sb.job_status(job_id) for job_id in created] == [
            "SUCCEEDED",
            "SUCCEEDED",
            "FAILED",
            "RUNNING",
        ]
        # duration=1 and features=0 applied to every one of them
        data = http.get(f"{job_path(sb, created[0])}/outputs/data-json/").json()
        assert data == {"type": "FeatureCollection", "features": []}
    with Sandbox(jobs=spec, seed=5) as again:
        assert again.created_jobs == created  # a seeded sandbox makes the same ids


def test_without_jobs_a_sandbox_starts_empty_and_wide_specs_number_wider() -> None:
    assert parse_jobs_spec("succeeds=1000").total == 1000
    names = [kwargs["name"] for _, kwargs in parse_jobs_spec("succeeds=1000").jobs()]
    assert names[0] == "job 0001" and names[-1] == "job 1000"
    with Sandbox() as sb, client(sb) as http:
        assert sb.created_jobs == [] == sb.info()["created"]
        assert http.get(list_path(sb)).json() == {"data": [], "error": None}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"page_size": 0}, ValueError, "page_size must be >= 1"),
        ({"page_size": 2.0}, TypeError, "page_size must be an int"),
        ({"rate_limit": 0}, ValueError, "rate_limit must be > 0"),
        ({"rate_limit": "20/s"}, TypeError, "rate_limit must be a number"),
    ],
)
def test_bad_listing_and_limit_settings_are_refused_when_made(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Sandbox(**kwargs)


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--jobs", "explodes=1"], "unknown jobs setting 'explodes'"),
        (["--jobs", "succeeds=1,succeeds=2"], "succeeds is given twice"),
        (["--page-size", "0"], "--page-size must be >= 1"),
        (["--rate-limit", "fast"], "bad rate limit 'fast'"),
        (["--rate-limit", "0/s"], "rate_limit must be > 0"),
    ],
)
def test_the_cli_refuses_bad_jobs_page_sizes_and_rates_before_starting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_cli_help_describes_jobs_page_size_and_rate_limit() -> None:
    text = " ".join(cli._parser().format_help().split())
    assert "--jobs SPEC" in text and "succeeds=40,fails=5,long_running=5" in text
    assert "--page-size N" in text and "default 20" in text
    assert "--rate-limit RATE" in text and "20/s" in text
