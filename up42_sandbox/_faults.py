"""Faults on demand: the failures a client must survive, switched on from tests or the CLI.

A fault is a rule ("the next 3 requests whose path contains X answer 429") kept in a
lock-protected registry that both listeners consult for every request. Rules are consumed
in the order they were injected, so a test can script a sequence of failures.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "API_KINDS",
    "FAULT_KINDS",
    "STORAGE_KINDS",
    "Fault",
    "FaultRegistry",
    "parse_fault_spec",
]

Listener = Literal["api", "storage"]

#: Faults of the API listener (what api.up42.com or a proxy in front of it does).
API_KINDS = frozenset(
    {
        "rate_limit",
        "error",
        "delay",
        "malformed_json",
        "wrong_content_type",
        "unknown_status",
        "body",
    }
)
#: Faults of the signed-URL listener (what cloud storage and the network do to downloads).
STORAGE_KINDS = frozenset({"drop", "ignore_range", "expired_url", "corrupt"})
FAULT_KINDS = API_KINDS | STORAGE_KINDS

#: Statuses the "error" fault can answer with; others would not be a believable failure.
ERROR_STATUSES = frozenset({400, 403, 404, 500, 502, 503, 504})
#: Statuses the "body" fault can answer with: any final status h11 can send. 1xx are not final
#: answers, and 204/304 must stay empty (checked with the content).
BODY_STATUSES = range(200, 600)
#: On the command line ``content=`` takes the rest of the spec verbatim, commas included: a body
#: is free text such as ``{"data": null, "error": "Job not found"}``.
VERBATIM_CONTENT = re.compile(r"(?:^|,)\s*content=")


@dataclass(eq=False)
class Fault:
    """One injected fault; a handle tests keep to see how often it fired.

    Attributes:
        kind: one of ``FAULT_KINDS``.
        count: requests it still applies to when created; ``None`` means forever.
        job_id: only requests whose path contains this job id.
        path: only requests whose path contains this substring. On the API listener the path
            is matched as its route spells it, so both spellings of a job path (with and
            without its trailing slash) are selected alike.
        method: only requests with this HTTP method.
        params: kind-specific settings (``retry_after``, ``status``, ``seconds``, ``at_byte``...).
        listener: the listener it applies to ("api" or "storage").
    """

    kind: str
    count: int | None = 1
    job_id: str | None = None
    path: str | None = None
    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    listener: Listener = "api"
    hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def remaining(self) -> int | None:
        """Requests it will still apply to (``None``: forever)."""
        with self._lock:
            return None if self.count is None else max(self.count - self.hits, 0)

    @property
    def active(self) -> bool:
        """Whether it will apply to another matching request."""
        remaining = self.remaining
        return remaining is None or remaining > 0

    def matches(self, listener: Listener, method: str, path: str) -> bool:
        """Whether this fault's filters select the request (consumes nothing)."""
        return (
            self.listener == listener
            and self.active
            and (self.job_id is None or self.job_id in path)
            and (self.path is None or self.path in path)
            and (self.method is None or self.method.upper() == method.upper())
        )

    def take(self) -> bool:
        """Consume one use; False when another thread took the last one first."""
        with self._lock:
            if self.count is not None and self.hits >= self.count:
                return False
            self.hits += 1
            return True


class FaultRegistry:
    """The faults currently switched on, shared by both listeners."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self,
        kind: str,
        *,
        count: int | None = 1,
        job_id: str | None = None,
        path: str | None = None,
        method: str | None = None,
        **params: Any,
    ) -> Fault:
        """Switch a fault on; see ``Sandbox.inject``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {sorted(FAULT_KINDS)}")
        if count is not None and count < 0:
            raise ValueError("count must be >= 0 or None (forever)")
        if kind == "error" and int(params.get("status", 503)) not in ERROR_STATUSES:
            raise ValueError(f"error status must be one of {sorted(ERROR_STATUSES)}")
        if kind == "drop" and int(params.get("at_byte", 0)) < 0:
            raise ValueError("at_byte must be >= 0")
        if kind == "body":
            _check_body(params)
        listener: Listener = "storage" if kind in STORAGE_KINDS else "api"
        fault = Fault(
            kind=kind,
            count=count,
            job_id=job_id,
            path=path,
            method=method,
            params=dict(params),
            listener=listener,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._faults.clear()

    def take(
        self, listener: Listener, method: str, path: str, kinds: frozenset[str] | set[str]
    ) -> list[Fault]:
        """Consume and return every active fault of ``kinds`` that selects this request.

        Matching faults are consumed together so that, say, a delay and an error injected for
        the same request both happen.
        """
        with self._lock:
            candidates = [f for f in self._faults if f.kind in kinds]
        return [f for f in candidates if f.matches(listener, method, path) and f.take()]

    def first(
        self, listener: Listener, method: str, path: str, kinds: frozenset[str] | set[str]
    ) -> Fault | None:
        """Consume and return the oldest active fault of ``kinds`` that selects this request."""
        with self._lock:
            candidates = [f for f in self._faults if f.kind in kinds]
        for fault in candidates:
            if fault.matches(listener, method, path) and fault.take():
                return fault
        return None


def _check_body(params: dict[str, Any]) -> None:
    """The "body" fault's settings: a final status, text or bytes, a content type or None."""
    unknown = set(params) - {"status", "content", "content_type"}
    if unknown:
        raise ValueError(f"the body fault takes status, content and content_type, not {unknown}")
    status = params.get("status", 200)
    if not isinstance(status, int) or status not in BODY_STATUSES:
        raise ValueError(f"body status must be an int from 200 to 599, not {status!r}")
    content = params.get("content", "")
    if not isinstance(content, str | bytes):
        raise TypeError(f"body content must be str or bytes (JSON as text), not {type(content)}")
    if status in {204, 304} and content:
        raise ValueError(f"a {status} answer has no body; give content='' or another status")
    content_type = params.get("content_type", "application/json")
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError("body content_type must be a string, or None for no Content-Type header")


def _coerce(value: str) -> Any:
    """Command-line values: ints, floats, booleans and ``none`` become Python values."""
    lowered = value.lower()
    if lowered in {"true", "yes"}:
        return True
    if lowered in {"false", "no"}:
        return False
    if lowered in {"none", "null", "forever"}:
        return None
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


def parse_fault_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse ``KIND[:k=v,...]`` from the command line into ``(kind, kwargs)`` for ``inject``.

    Example: ``rate_limit:count=3,retry_after=2`` gives
    ``("rate_limit", {"count": 3, "retry_after": 2})``.

    ``content=`` comes last and keeps the rest of the spec as it is, commas included and
    nothing converted: ``body:path=/cancel/,content={"data": null, "error": "x"}`` gives
    ``("body", {"path": "/cancel/", "content": '{"data": null, "error": "x"}'})``.
    """
    kind, _, rest = spec.partition(":")
    kind = kind.strip()
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; choose one of {sorted(FAULT_KINDS)}")
    kwargs: dict[str, Any] = {}
    content = VERBATIM_CONTENT.search(rest)
    if content is not None:
        kwargs["content"] = rest[content.end() :]
        rest = rest[: content.start()]
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"bad fault setting {item!r} in {spec!r}: expected key=value")
        kwargs[key.strip()] = _coerce(value.strip())
    return kind, kwargs
