"""The async API's connections: one lane, one connection, per request in flight.

httpcore's async pool (1.0.9) hands one idle connection to every request queued in the same
pass; all but one of them fail with ``ConnectionNotAvailable`` and queue again, each pass
walking every connection. With 16 requests in flight, 100 log fetches cost 400 attempts on
the pool and 500 passes over it (measured with the pool's own counters). Here each lane is a
transport with a pool of one connection, and a lane serves one request at a time: a request
takes the most recently freed lane (its connection is warm) or opens a new one, and gives it
back when the response is closed. How many lanes are in use at once is bounded by the caller
(``AsyncRetryTransport``'s ``max_in_flight``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

__all__ = ["AsyncLanes", "on_close"]


class _Closing(httpx.AsyncByteStream):
    """A response body that calls ``done`` once, when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


def on_close(response: httpx.Response, done: Callable[[], None]) -> httpx.Response:
    """``response``, made to call ``done`` when it is closed (at once if it already is: a
    transport may read the body itself)."""
    if response.is_closed:
        done()
    else:
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Closing(response.stream, done)
    return response


class AsyncLanes(httpx.AsyncBaseTransport):
    """Sends each request on a lane of its own (see the module's docstring).

    Args:
        new_lane: Makes a transport whose pool holds one connection.
    """

    def __init__(self, new_lane: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._new_lane = new_lane
        self._free: list[httpx.AsyncBaseTransport] = []  # the last freed is the warmest
        self._lanes: list[httpx.AsyncBaseTransport] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        lane = self._free.pop() if self._free else self._open()
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            self._free.append(lane)
            raise
        return on_close(response, lambda: self._free.append(lane))

    def _open(self) -> httpx.AsyncBaseTransport:
        lane = self._new_lane()
        self._lanes.append(lane)
        return lane

    async def aclose(self) -> None:
        lanes, self._lanes, self._free = self._lanes, [], []
        for lane in lanes:
            await lane.aclose()
