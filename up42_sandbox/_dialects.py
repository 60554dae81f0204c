"""Answer dialects: how the job API words its answers, over one canonical job store.

The job store speaks the spec (statuses such as "NOT STARTED", PNG quicklooks); a dialect only
decides what goes over the wire. The route handlers hand it canonical objects and get back the
bodies and answers to send:

- ``spec`` (the default): the answers of ``openapi/up42-jobs.yaml``, exactly as the sandbox
  gave them before dialects existed.
- ``classic``: the real service as the classic SDK up42-py met it in 2019-2020 (its tests and
  public captures): ``POST .../cancel/`` answers 200 with an empty body; "NOT STARTED" is spelled
  "NOT_STARTED" for jobs and tasks; the routes' 400 and 404 errors are RFC 7807 problem bodies
  (``application/problem+json``; 401 keeps the envelope); the token answer is only
  ``{"access_token": t, "data": {"accessToken": t}}``; quicklooks are JPEGs named
  ``<uid>.jpg`` (the ``.png`` names answer 404).
- ``next``: what a newer API may send without breaking old clients: unknown fields in every
  JSON object (envelopes, jobs, tasks, credits, features and their collection, the token and
  signed-URL answers, errors), new status values where the job or a task would be
  "NOT STARTED" ("QUEUED" for jobs, "WAITING" for tasks), and extra headers on every API
  answer (``X-Request-Id``, matching the envelope's ``meta.requestId``, rate-limit counters
  and an API version). Paths, status codes, archives, logs and quicklook PNGs stay the same.

Injected faults answer the same in every dialect: they stand for a gateway in front of the
service, which does not change with it. (The ``next`` dialect's extra headers go on every API
answer, faults included.) The token endpoint's own OAuth errors keep RFC 6749's shape in every
dialect.
"""

from __future__ import annotations

import contextlib
import io
import random
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, ClassVar

from PIL import Image
from starlette.responses import JSONResponse, Response

from ._jobs import iso

__all__ = ["DIALECTS", "Classic", "Dialect", "Next", "check_dialect", "make_dialect"]

#: The error messages of the spec's envelopes, by status.
MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
#: JPEG quality of the classic quicklooks: Pillow's default, what a tile server would send.
JPEG_QUALITY = 75

Headers = list[tuple[bytes, bytes]]


def envelope(data: Any, status: int = 200, **kwargs: Any) -> JSONResponse:
    """``{"data": data, "error": null}``, the spec's envelope."""
    return JSONResponse({"data": data, "error": None}, status_code=status, **kwargs)


def error(status: int, message: str | None = None, **kwargs: Any) -> JSONResponse:
    """``{"data": null, "error": {"code": status, "message": ...}}``, the spec's error."""
    body = {"data": None, "error": {"code": status, "message": message or MESSAGES[status]}}
    return JSONResponse(body, status_code=status, **kwargs)


class Dialect:
    """The ``spec`` dialect: the spec's answers, word for word; the others override it.

    Example:
        >>> make_dialect("classic").job({"id": "j", "status": "NOT STARTED"})
        {'id': 'j', 'status': 'NOT_STARTED'}
    """

    name: ClassVar[str] = "spec"
    #: Reported spellings of canonical job and task statuses (others are sent as they are).
    job_statuses: ClassVar[Mapping[str, str]] = {}
    task_statuses: ClassVar[Mapping[str, str]] = {}

    @contextlib.contextmanager
    def answering(self) -> Iterator[Headers]:
        """Around one API request: yields the extra headers of its answer (none here)."""
        yield []

    def envelope(self, data: Any, status: int = 200, **kwargs: Any) -> Response:
        """A successful answer: ``data`` in an envelope."""
        return envelope(data, status, **kwargs)

    def error(self, status: int, message: str | None = None, **kwargs: Any) -> Response:
        """An error the routes answer (not a fault's)."""
        return error(status, message, **kwargs)

    def token(self, token: str, ttl: float) -> dict[str, Any]:
        """The body of ``POST /oauth/token``."""
        return {
            "data": {"accessToken": token},
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(ttl),
        }

    def job(self, body: dict[str, Any]) -> dict[str, Any]:
        """The job object."""
        return self._status(body, self.job_statuses)

    def job_status(self, status: str) -> str:
        """How ``job`` spells a canonical job status (the listing sorts by what is sent)."""
        return self.job_statuses.get(status, status)

    def task(self, body: dict[str, Any]) -> dict[str, Any]:
        """One task object."""
        return self._status(body, self.task_statuses)

    @staticmethod
    def _status(body: dict[str, Any], spellings: Mapping[str, str]) -> dict[str, Any]:
        spelled = spellings.get(body["status"])
        return body if spelled is None else {**body, "status": spelled}

    def credits(self, body: dict[str, Any]) -> dict[str, Any]:
        """The credits object."""
        return body

    def feature_collection(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The data-json answer (no envelope); ``features`` are the store's, left untouched."""
        return {"type": "FeatureCollection", "features": features}

    def signed_url(self, url: str, ttl: float) -> dict[str, Any]:
        """The object of a download answer, for a URL valid ``ttl`` seconds from now."""
        return {"url": url}

    def cancelled(self) -> Response:
        """The answer of ``POST .../cancel/``."""
        return self.envelope({})

    def quicklook_names(self, names: Sequence[str]) -> list[str]:
        """The quicklook list, from the store's PNG names."""
        return list(names)

    def quicklook(self, pngs: Mapping[str, bytes], name: str) -> Response | None:
        """The image called ``name``, from the store's PNGs; None when there is none."""
        data = pngs.get(name)
        return None if data is None else Response(data, media_type="image/png")


class Classic(Dialect):
    """The ``classic`` dialect: the real service of 2019-2020, as up42-py met it.

    Cancel answers 200 with an empty body; "NOT STARTED" is "NOT_STARTED"; the routes' 400 and
    404 are RFC 7807 problem bodies; the token answer has no ``token_type``/``expires_in`` (the
    token still expires); quicklooks are ``<uid>.jpg`` JPEGs.
    """

    name: ClassVar[str] = "classic"
    job_statuses: ClassVar[Mapping[str, str]] = {"NOT STARTED": "NOT_STARTED"}
    task_statuses: ClassVar[Mapping[str, str]] = {"NOT STARTED": "NOT_STARTED"}
    #: Statuses answered as problem bodies; a 401 kept the envelope (the gateway answered it).
    PROBLEM_STATUSES: ClassVar[frozenset[int]] = frozenset({400, 404})

    def __init__(self) -> None:
        self._jpegs: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def error(self, status: int, message: str | None = None, **kwargs: Any) -> Response:
        if status not in self.PROBLEM_STATUSES:
            return super().error(status, message, **kwargs)
        body = {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": message or MESSAGES[status],
        }
        return JSONResponse(
            body, status_code=status, media_type="application/problem+json", **kwargs
        )

    def token(self, token: str, ttl: float) -> dict[str, Any]:
        return {"access_token": token, "data": {"accessToken": token}}

    def cancelled(self) -> Response:
        return Response(status_code=200)

    def quicklook_names(self, names: Sequence[str]) -> list[str]:
        return [f"{name.removesuffix('.png')}.jpg" for name in names]

    def quicklook(self, pngs: Mapping[str, bytes], name: str) -> Response | None:
        if not name.endswith(".jpg"):
            return None
        png = pngs.get(f"{name.removesuffix('.jpg')}.png")
        return None if png is None else Response(self._jpeg(png), media_type="image/jpeg")

    def _jpeg(self, png: bytes) -> bytes:
        """The PNG as a JPEG, converted once per quicklook (the store's PNGs never change)."""
        with self._lock:
            cached = self._jpegs.get(png)
        if cached is not None:
            return cached
        buffer = io.BytesIO()
        with Image.open(io.BytesIO(png)) as image:
            image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
        with self._lock:
            return self._jpegs.setdefault(png, buffer.getvalue())


class Next(Dialect):
    """The ``next`` dialect: a newer API that old clients must still understand.

    Every JSON object carries fields no client knows yet, jobs report "QUEUED" and tasks
    "WAITING" where the spec says "NOT STARTED", and every API answer has extra headers.

    Args:
        seed: with an int, the request ids are reproducible (for cassettes).
    """

    name: ClassVar[str] = "next"
    job_statuses: ClassVar[Mapping[str, str]] = {"NOT STARTED": "QUEUED"}
    task_statuses: ClassVar[Mapping[str, str]] = {"NOT STARTED": "WAITING"}
    #: Harmless headers a newer gateway adds; the remaining budget never runs low, so a client
    #: that throttles on it keeps its pace.
    EXTRA_HEADERS: ClassVar[Headers] = [
        (b"x-ratelimit-limit", b"600"),
        (b"x-ratelimit-remaining", b"599"),
        (b"x-api-version", b"2"),
    ]

    def __init__(self, *, seed: int | None = None) -> None:
        self._rng = random.Random(None if seed is None else f"{seed}/requests")
        self._lock = threading.Lock()
        # Each request runs in its own asyncio task, so the id set for one never leaks into
        # another; ``answering`` resets it anyway.
        self._request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

    def _new_request_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    @property
    def request_id(self) -> str:
        """The id of the request being answered (a fresh one outside a request)."""
        return self._request_id.get() or self._new_request_id()

    @contextlib.contextmanager
    def answering(self) -> Iterator[Headers]:
        request_id = self._new_request_id()
        token = self._request_id.set(request_id)
        try:
            yield [(b"x-request-id", request_id.encode()), *self.EXTRA_HEADERS]
        finally:
            self._request_id.reset(token)

    def envelope(self, data: Any, status: int = 200, **kwargs: Any) -> Response:
        body = {"data": data, "error": None, "meta": {"requestId": self.request_id}}
        return JSONResponse(body, status_code=status, **kwargs)

    def error(self, status: int, message: str | None = None, **kwargs: Any) -> Response:
        request_id = self.request_id
        body = {
            "data": None,
            "error": {
                "code": status,
                "message": message or MESSAGES[status],
                "traceId": uuid.UUID(request_id).hex,
            },
            "meta": {"requestId": request_id},
        }
        return JSONResponse(body, status_code=status, **kwargs)

    def token(self, token: str, ttl: float) -> dict[str, Any]:
        return {**super().token(token, ttl), "scope": "jobs"}

    def job(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().job(body),
            "priority": "normal",
            "labels": ["sandbox"],
            "costEstimate": {"credits": 3, "currency": "credits"},
        }

    def task(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**super().task(body), "retries": 0, "resources": {"cpu": 2, "memoryMb": 4096}}

    def credits(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "currency": "credits"}

    def feature_collection(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "features": [self._feature(feature) for feature in features],
            "numberMatched": len(features),
        }

    @staticmethod
    def _feature(feature: dict[str, Any]) -> dict[str, Any]:
        properties = feature.get("properties") or {}
        cloud = (properties.get("contentDescription") or {}).get("cloudCoverPercentage", 0.0)
        return {**feature, "properties": {**properties, "cloudCoverage": cloud}, "links": []}

    def signed_url(self, url: str, ttl: float) -> dict[str, Any]:
        return {"url": url, "expiresAt": iso(datetime.now(UTC) + timedelta(seconds=ttl))}


#: Every dialect, by name.
DIALECTS: Mapping[str, type[Dialect]] = {"spec": Dialect, "classic": Classic, "next": Next}


def check_dialect(name: str) -> str:
    """``name`` when it is a dialect's.

    Raises:
        ValueError: no dialect has that name (the message lists those that do).
    """
    if name not in DIALECTS:
        raise ValueError(f"unknown dialect {name!r}; choose one of {', '.join(DIALECTS)}")
    return name


def make_dialect(name: str, *, seed: int | None = None) -> Dialect:
    """A fresh dialect of that name (``seed`` makes the ``next`` request ids reproducible).

    Raises:
        ValueError: no dialect has that name.
    """
    kind = DIALECTS[check_dialect(name)]
    return Next(seed=seed) if kind is Next else kind()
