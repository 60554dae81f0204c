"""What the sandbox saw: one record per request, for tests that assert on retries and backoff."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

__all__ = ["RequestLog", "RequestRecord"]


@dataclass
class RequestRecord:
    """One request as a listener received it.

    Attributes:
        listener: "api" (the job API) or "storage" (the signed-URL host).
        method: the HTTP method.
        path: the URL path as it arrived, without the query.
        canonical_path: the path as the API's route spells it. The job API answers each path
            with or without its trailing slash; this is the same for both spellings (and equals
            ``path`` for the spec's spelling, for unknown paths and on the storage listener).
            Faults and ``RequestLog.filter(path=...)`` match against it.
        query: the query parameters (first value of each).
        status: the status code answered; 0 while the answer is pending (records are added when
            requests arrive, so a request whose client timed out is still counted).
        time: ``time.monotonic()`` when the request arrived, to measure backoff between retries.
        headers: the request headers, names in lower case.
        rate_limited: True when the sandbox's standing rate limit refused the request (its
            status is then 429 and no route or fault saw it); an injected ``rate_limit`` fault
            leaves it False.
        bytes_sent: body bytes the storage listener handed to the connection for this request:
            the whole body, the range of a 206, ``at_byte`` of a dropped download, the XML of an
            error, 0 for ``HEAD``. Bytes are counted just before they are handed to the
            connection, so a client holding a whole body finds it counted: a paced body's
            count grows chunk by chunk, an unpaced one (``sendfile``) is counted whole when it
            starts and, if the client hangs up, cut back to what was sent once the listener
            notices. Bytes still in the socket's buffers when a client hangs up count as sent;
            a download cut short by ``Sandbox.stop`` may be under-counted. Always 0 on the API
            listener.
    """

    listener: Literal["api", "storage"]
    method: str
    path: str
    query: dict[str, str]
    status: int
    time: float
    headers: dict[str, str] = field(default_factory=dict)
    canonical_path: str = ""
    rate_limited: bool = False
    bytes_sent: int = 0

    def __post_init__(self) -> None:
        if not self.canonical_path:
            self.canonical_path = self.path


class RequestLog(Sequence[RequestRecord]):
    """A thread-safe, append-only list of records (``clear()`` empties it between test steps)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Add a record (called by the listeners)."""
        with self._lock:
            self._items.append(record)

    def clear(self) -> None:
        """Forget every record so far."""
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the records, safe to iterate while requests keep arriving."""
        with self._lock:
            return list(self._items)

    def filter(
        self, *, listener: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[RequestRecord]:
        """Records of one listener and/or method and/or whose path contains ``path``.

        ``path`` is looked for in each record's ``canonical_path``, so both spellings of a job
        path (with and without its trailing slash) are found alike.
        """
        return [
            r
            for r in self.snapshot()
            if (listener is None or r.listener == listener)
            and (method is None or r.method == method.upper())
            and (path is None or path in r.canonical_path)
        ]

    @overload
    def __getitem__(self, index: int) -> RequestRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[RequestRecord]: ...

    def __getitem__(self, index: int | slice) -> RequestRecord | list[RequestRecord]:
        with self._lock:
            return self._items[index]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())
