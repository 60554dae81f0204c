"""The job API listener: a Starlette app with the real API's paths, envelopes and status codes.

A pure ASGI middleware in front records every request and plays the API-side faults (rate
limits, proxy errors, delays, broken bodies) before the routes see the request, the way a
gateway in front of the real service would.

Like the real API, every job path answers with or without its trailing slash (the classic SDK
called ``.../outputs/data-json`` both ways), the same and without a redirect; only
``/oauth/token`` answers its exact spelling alone. The middleware maps either spelling to the
spec's before anything else looks at the path, so routes and faults see one path per endpoint.

The routes word every answer through the sandbox's dialect (``_dialects``: "spec", "classic" or
"next"); faults answer the same whatever the dialect.

A standing rate limit (``_ratelimit``), when set, is the gateway's first word: a request it
refuses is answered 429 with ``Retry-After`` before any fault or route sees it (it is still
recorded, with ``rate_limited=True``). Every request to the API listener counts, the token
endpoint and unknown paths included; the storage listener has no such limit.

``GET /projects/{project_id}/jobs`` lists the project's jobs a page at a time (``page`` from 0,
``sort=FIELD,asc|desc``, default ``createdAt,desc``), each job worded exactly as
``GET .../jobs/{job_id}`` words it. The order is that of the values on the wire, compared as
strings (the timestamps all have one fixed-width UTC format, so they sort in time order);
``asc`` puts jobs without the value (``startedAt``/``finishedAt`` null) last and breaks ties by
job id, and ``desc`` is exactly the reverse of ``asc`` (nulls first, ties by descending id).
A page past the last is an empty list. A ``page`` that is no whole number >= 0, a ``sort`` that
is not one field and ``asc`` or ``desc`` in lower case (an empty value included), or either
given twice, answers 400; a project id that is not this sandbox's answers 404, like a job of
another project.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._auth import TokenStore
from ._dialects import Dialect, error
from ._faults import Fault, FaultRegistry
from ._jobs import Job, JobStore, Snapshot, Task
from ._ratelimit import RateLimiter, retry_after_seconds
from ._records import RequestLog, RequestRecord
from ._storage import Signer, object_path

__all__ = ["DEFAULT_PAGE_SIZE", "SORT_FIELDS", "Context", "Spellings", "create_app"]

#: The one path that answers only its exact spelling (the token endpoint is not a job path).
EXACT_PATHS = frozenset({"/oauth/token"})

#: API faults that replace the whole answer (first match wins, in injection order).
ANSWER_FAULTS = frozenset({"rate_limit", "error", "malformed_json", "wrong_content_type", "body"})
#: Default ``Retry-After`` of the rate-limit fault: UP42's gateway asks for a couple of seconds.
DEFAULT_RETRY_AFTER = 2
#: Jobs per page of the listing. The real page size is the service's and undocumented; 20 is
#: Spring Data's default, which the API's ``page``/``sort`` parameters are shaped after.
DEFAULT_PAGE_SIZE = 20
#: The fields the listing sorts by (the spec's ``sort`` pattern), and its default order.
SORT_FIELDS = ("createdAt", "name", "id", "mode", "status", "startedAt", "finishedAt")
DEFAULT_SORT = "createdAt,desc"
SORT_PATTERN = re.compile(rf"(?P<field>{'|'.join(SORT_FIELDS)}),(?P<order>asc|desc)")
PAGE_PATTERN = re.compile(r"[0-9]+")
#: Pages with more digits than this are past the end of any list the sandbox can hold.
MAX_PAGE_DIGITS = 18
#: The HTML pages proxies answer with (the real API's 502/504s come from its load balancer).
HTML_PAGES = {
    status: f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    for status, title in ((502, "502 Bad Gateway"), (504, "504 Gateway Time-out"))
}


@dataclass
class Context:
    """What the routes need: the sandbox's shared state, and the dialect its answers speak."""

    store: JobStore
    tokens: TokenStore
    faults: FaultRegistry
    requests: RequestLog
    signer: Signer
    storage_url: str
    dialect: Dialect = field(default_factory=Dialect)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    page_size: int = DEFAULT_PAGE_SIZE


class Spellings:
    """Maps a path with or without its trailing slash to the spelling of the route it names.

    The spec spells most job paths with a trailing slash (``.../tasks/``) and a few without
    (``.../credits``, ``.../logs``, the job itself); the real API answers both spellings of
    each, the same, without a redirect.
    """

    def __init__(self, routes: Sequence[Route], exact: frozenset[str] = EXACT_PATHS) -> None:
        self._routes = [route for route in routes if route.path not in exact]
        self._all = list(routes)

    def _known(self, path: str, routes: Sequence[Route]) -> bool:
        return any(route.path_regex.match(path) for route in routes)

    def canonical(self, path: str) -> str:
        """The route's spelling of ``path``; ``path`` itself when it names no route."""
        if self._known(path, self._all):
            return path
        other = path[:-1] if path.endswith("/") else path + "/"
        if other.startswith("/") and self._known(other, self._routes):
            return other
        return path


def _respelled(scope: Scope, path: str) -> Scope:
    """The scope of the same request with ``path`` (one trailing slash added or dropped)."""
    if path == scope["path"]:
        return scope
    scope = dict(scope, path=path)
    raw = scope.get("raw_path")
    if raw is not None:
        scope["raw_path"] = raw + b"/" if path.endswith("/") else raw.removesuffix(b"/")
    return scope


class FaultsAndRecords:
    """ASGI middleware: record each request, then delay or replace the answer as faults say.

    Faults and the routes see the route's spelling of the path (``Spellings``), so a request
    without the trailing slash the spec has, or with one it lacks, is answered, faulted and
    filtered exactly like the spec's spelling; its record keeps the path as it arrived.
    """

    def __init__(self, app: ASGIApp, ctx: Context, spellings: Spellings) -> None:
        self.app = app
        self.ctx = ctx
        self.spellings = spellings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, received = scope["method"], scope["path"]
        path = self.spellings.canonical(received)
        scope = _respelled(scope, path)
        record = RequestRecord(
            listener="api",
            method=method,
            path=received,
            canonical_path=path,
            query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
            status=0,
            time=time.monotonic(),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        )

        # Recorded on arrival, so a request whose client gave up (timeout) still counts.
        self.ctx.requests.append(record)

        with self.ctx.dialect.answering() as extra_headers:

            async def recording_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    record.status = message["status"]
                    if extra_headers:
                        headers = [*message.get("headers", ()), *extra_headers]
                        message = {**message, "headers": headers}
                await send(message)

            wait = self.ctx.limiter.admit()
            if wait is not None:
                record.rate_limited = True
                refusal = error(429, headers={"Retry-After": str(retry_after_seconds(wait))})
                await refusal(scope, receive, recording_send)
                return
            faults = self.ctx.faults
            for delay in faults.take("api", method, path, {"delay"}):
                await asyncio.sleep(float(delay.params.get("seconds", 1.0)))
            fault = faults.first("api", method, path, ANSWER_FAULTS)
            if fault is not None:
                await fault_response(fault)(scope, receive, recording_send)
                return
            await self.app(scope, receive, recording_send)


def fault_response(fault: Fault) -> Response:
    """The answer an API-side fault gives instead of the real one, in every dialect."""
    params = fault.params
    if fault.kind == "rate_limit":
        return error(429, headers={"Retry-After": retry_after(params)})
    if fault.kind == "error":
        status = int(params.get("status", 503))
        body = params.get("body", "html" if status in HTML_PAGES else "json")
        headers = {"Retry-After": retry_after(params)} if "retry_after" in params else None
        if body == "html":
            page = HTML_PAGES.get(status, f"<html><body><h1>{status} Error</h1></body></html>")
            return Response(page, status_code=status, media_type="text/html", headers=headers)
        if status == 403:
            # The real API's 403 carries a plain-string error (api-examples/error-string.json).
            body_json = {"data": {}, "error": "Access denied for project"}
            return JSONResponse(body_json, status_code=403, headers=headers)
        return error(status, headers=headers)
    if fault.kind == "malformed_json":
        return Response(b'{"data": {"id": "', media_type="application/json")
    if fault.kind == "body":
        return Response(
            params.get("content", ""),
            status_code=int(params.get("status", 200)),
            media_type=params.get("content_type", "application/json"),
        )
    return Response(
        "<html><body><h1>Maintenance</h1><p>Back soon.</p></body></html>", media_type="text/html"
    )


def retry_after(params: dict[str, Any]) -> str:
    """The ``Retry-After`` value: seconds, or an HTTP date when ``retry_after_date`` is set."""
    seconds = params.get("retry_after", DEFAULT_RETRY_AFTER)
    if params.get("retry_after_date"):
        moment = datetime.now(UTC) + timedelta(seconds=float(seconds))
        return format_datetime(moment, usegmt=True)
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Api:
    """The route handlers, bound to the sandbox's state."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.dialect = ctx.dialect

    async def token(self, request: Request) -> Response:
        """``POST /oauth/token``: client credentials (HTTP Basic) for a bearer token."""
        tokens = self.ctx.tokens
        if not tokens.check_basic(request.headers.get("authorization")):
            body = {"error": "invalid_client", "error_description": "Bad client credentials"}
            return JSONResponse(body, status_code=401)
        form = parse_qs((await request.body()).decode("latin-1"))
        if form.get("grant_type") != ["client_credentials"]:
            body = {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            }
            return JSONResponse(body, status_code=400)
        body = self.dialect.token(tokens.issue(), tokens.ttl)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def _project(self, request: Request) -> Response | None:
        """Authenticate and check the project id of the path: the error answer, or None."""
        if not self.ctx.tokens.valid(request.headers.get("authorization")):
            return self.dialect.error(
                401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        if not _is_uuid(request.path_params["project_id"]):
            return self.dialect.error(400, "Invalid project id")
        return None

    def _job(self, request: Request) -> tuple[Snapshot, Job] | Response:
        """Authenticate and find the job of the path, or the error answer."""
        refused = self._project(request)
        if refused is not None:
            return refused
        params = request.path_params
        if not _is_uuid(params["job_id"]):
            return self.dialect.error(400, "Invalid job id")
        job = self.ctx.store.get(params["job_id"])
        if job is None or job.project_id != params["project_id"]:
            return self.dialect.error(404, f"Job with id {params['job_id']} not found")
        return self.ctx.store.snapshot(job), job

    def _task(self, request: Request) -> tuple[Snapshot, Task] | Response:
        found = self._job(request)
        if isinstance(found, Response):
            return found
        snap, job = found
        task_id = request.path_params["task_id"]
        if not _is_uuid(task_id):
            return self.dialect.error(400, "Invalid task id")
        for task in job.tasks:
            if task.id == task_id:
                return snap, task
        return self.dialect.error(404, f"Task with id {task_id} not found")

    async def list_jobs(self, request: Request) -> Response:
        """``GET /projects/{p}/jobs?page=N&sort=FIELD,asc|desc``: one page of the project's jobs."""
        refused = self._project(request)
        if refused is not None:
            return refused
        project_id = request.path_params["project_id"]
        if project_id != self.ctx.store.project_id:
            return self.dialect.error(404, f"Project {project_id} not found")
        query = request.query_params
        pages, sorts = query.getlist("page"), query.getlist("sort")
        if len(pages) > 1 or (pages and PAGE_PATTERN.fullmatch(pages[0]) is None):
            return self.dialect.error(
                400, f"Invalid page {'&'.join(pages)!r}: expected one whole number >= 0"
            )
        sort = SORT_PATTERN.fullmatch(sorts[0] if sorts else DEFAULT_SORT)
        if len(sorts) > 1 or sort is None:
            return self.dialect.error(
                400,
                f"Invalid sort {'&'.join(sorts)!r}: expected one FIELD,asc or FIELD,desc "
                f"with FIELD one of {', '.join(SORT_FIELDS)}",
            )
        snaps = [s for s in self.ctx.store.snapshots() if s.job.project_id == project_id]
        snaps.sort(key=lambda snap: self._sort_key(snap, sort["field"]))
        if sort["order"] == "desc":
            snaps.reverse()
        size = self.ctx.page_size
        # Past MAX_PAGE_DIGITS the page is past any list (and int() refuses 4,300+ digits).
        digits = pages[0].lstrip("0") if pages else ""
        start = int(digits or 0) * size if len(digits) <= MAX_PAGE_DIGITS else len(snaps)
        return self.dialect.envelope(
            [self.dialect.job(snap.job_json()) for snap in snaps[start : start + size]]
        )

    def _sort_key(self, snap: Snapshot, field: str) -> tuple[bool, Any, str]:
        """Orders jobs as their JSON's ``field`` would, without writing the JSON of every job.

        Timestamps are compared as the datetimes their strings are made from (one fixed-width
        UTC format, so the strings sort the same); the status as the dialect spells it. Jobs
        without the value (None) go after every job with one; the id breaks ties.
        """
        job = snap.job
        value: Any
        if field == "createdAt":
            value = job.created
        elif field in {"startedAt", "finishedAt"}:
            offset = snap.start_offset() if field == "startedAt" else snap.end_offset()
            value = None if offset is None else snap.wall(offset)
        elif field == "status":
            value = self.dialect.job_status(snap.status)
        else:
            value = {"name": job.name, "id": job.id, "mode": job.mode}[field]
        return (value is None, "" if value is None else value, job.id)

    async def get_job(self, request: Request) -> Response:
        """``GET /projects/{p}/jobs/{j}``."""
        found = self._job(request)
        if isinstance(found, Response):
            return found
        snap, _ = found
        body = self.dialect.job(snap.job_json())
        unknown = self.ctx.faults.first("api", request.method, request.url.path, {"unknown_status"})
        if unknown is not None:
            body["status"] = str(unknown.params.get("value", "QUEUED_FOR_REVIEW"))
        return self.dialect.envelope(body)

    async def cancel(self, request: Request) -> Response:
        """``POST .../cancel/``: accepted for running and ended jobs alike."""
        found = self._job(request)
        if isinstance(found, Response):
            return found
        self.ctx.store.cancel(found[1])
        return self.dialect.cancelled()

    async def job_results_json(self, request: Request) -> Response:
        """``GET .../outputs/data-json/``: the last task's FeatureCollection, no envelope."""
        found = self._job(request)
        if isinstance(found, Response):
            return found
        snap, job = found
        return self._feature_collection(snap, job.tasks[-1], f"job {job.id}")

    def _feature_collection(self, snap: Snapshot, task: Task, what: str) -> Response:
        if not snap.task_outputs_ready(task):
            return self.dialect.error(404, f"No outputs of {what} yet")
        return JSONResponse(self.dialect.feature_collection(task.features))

    async def job_download(self, request: Request) -> Response:
        """``GET .../downloads/results/``: a signed URL on the storage listener."""
        found = self._job(request)
        if isinstance(found, Response):
            return found
        snap, job = found
        return self._signed(snap, job, None)

    def _signed(self, snap: Snapshot, job: Job, task: Task | None) -> Response:
        target = task or job.tasks[-1]
        if not snap.task_outputs_ready(target) or target.archive is None:
            what = f"task {task.id}" if task else f"job {job.id}"
            return self.dialect.error(404, f"No results of {what} yet")
        filename = f"output.{job.archive_format}"
        path = object_path(job.id, filename, task.id if task else None)
        url = self.ctx.signer.sign(self.ctx.storage_url, path)
        return self.dialect.envelope(self.dialect.signed_url(url, self.ctx.signer.ttl))

    async def tasks(self, request: Request) -> Response:
        """``GET .../tasks/``."""
        found = self._job(request)
        if isinstance(found, Response):
            return found
        snap, job = found
        return self.dialect.envelope(
            [self.dialect.task(snap.task_json(task)) for task in job.tasks]
        )

    async def logs(self, request: Request) -> Response:
        """``GET .../tasks/{t}/logs``: plain text that grows while the task runs."""
        found = self._task(request)
        if isinstance(found, Response):
            return found
        snap, task = found
        return PlainTextResponse(snap.log_text(task))

    async def task_results_json(self, request: Request) -> Response:
        """``GET .../tasks/{t}/outputs/data-json/``."""
        found = self._task(request)
        if isinstance(found, Response):
            return found
        snap, task = found
        return self._feature_collection(snap, task, f"task {task.id}")

    async def quicklooks(self, request: Request) -> Response:
        """``GET .../tasks/{t}/outputs/quicklooks/``: empty until the task succeeded."""
        found = self._task(request)
        if isinstance(found, Response):
            return found
        snap, task = found
        ready = snap.task_outputs_ready(task)
        return self.dialect.envelope(
            self.dialect.quicklook_names(list(task.quicklooks)) if ready else []
        )

    async def quicklook(self, request: Request) -> Response:
        """``GET .../tasks/{t}/outputs/quicklooks/{name}``: the image (PNG in the spec)."""
        found = self._task(request)
        if isinstance(found, Response):
            return found
        snap, task = found
        name = request.path_params["name"]
        ready = snap.task_outputs_ready(task)
        image = self.dialect.quicklook(task.quicklooks, name) if ready else None
        if image is None:
            return self.dialect.error(404, f"Quicklook {name} not found")
        return image

    async def task_download(self, request: Request) -> Response:
        """``GET .../tasks/{t}/downloads/results/``."""
        found = self._task(request)
        if isinstance(found, Response):
            return found
        snap, task = found
        job = self.ctx.store.get(request.path_params["job_id"])
        assert job is not None
        return self._signed(snap, job, task)

    async def credits(self, request: Request) -> Response:
        """``GET .../credits``: 0 until the job has ended."""
        found = self._job(request)
        if isinstance(found, Response):
            return found
        snap, job = found
        return self.dialect.envelope(
            self.dialect.credits(
                {
                    "projectId": job.project_id,
                    "projectDisplayId": job.project_id[:8],
                    "jobId": job.id,
                    "jobDisplayId": job.id[:8],
                    "creditsUsed": snap.credits_used(),
                }
            )
        )

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Unknown paths answer the dialect's JSON error too, not Starlette's plain text."""
        await self.dialect.error(404)(scope, receive, send)


def create_app(ctx: Context) -> ASGIApp:
    """The API listener's ASGI app."""
    api = Api(ctx)
    job = "/projects/{project_id}/jobs/{job_id}"
    task = job + "/tasks/{task_id}"
    routes = [
        Route("/oauth/token", api.token, methods=["POST"]),  # EXACT_PATHS: only this spelling
        Route("/projects/{project_id}/jobs", api.list_jobs, methods=["GET"]),
        Route(job, api.get_job, methods=["GET"]),
        Route(job + "/cancel/", api.cancel, methods=["POST"]),
        Route(job + "/outputs/data-json/", api.job_results_json, methods=["GET"]),
        Route(job + "/downloads/results/", api.job_download, methods=["GET"]),
        Route(job + "/tasks/", api.tasks, methods=["GET"]),
        Route(job + "/credits", api.credits, methods=["GET"]),
        Route(task + "/logs", api.logs, methods=["GET"]),
        Route(task + "/outputs/data-json/", api.task_results_json, methods=["GET"]),
        Route(task + "/outputs/quicklooks/", api.quicklooks, methods=["GET"]),
        Route(task + "/outputs/quicklooks/{name}", api.quicklook, methods=["GET"]),
        Route(task + "/downloads/results/", api.task_download, methods=["GET"]),
    ]
    # Each route is registered in the spec's spelling only; the middleware maps the other
    # spelling onto it (Spellings), so both answer the same with no redirect in between.
    router = Router(routes=routes, redirect_slashes=False, default=api.not_found)
    return FaultsAndRecords(router, ctx, Spellings(routes))
