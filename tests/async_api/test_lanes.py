"""The async API's lanes: one connection per request in flight, reused warmest first, given
back however the request ends."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from up42_facade._lanes import AsyncLanes

pytestmark = pytest.mark.anyio


class _Body(httpx.AsyncByteStream):
    """A body on the wire: the response stays open until it is read or closed."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield self._data


class _Lanes:
    """Makes mock lanes and remembers them; ``gate`` holds every answer until it is set."""

    def __init__(self) -> None:
        self.made: list[httpx.MockTransport] = []
        self.closed = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False

    def new(self) -> httpx.AsyncBaseTransport:
        index = len(self.made)

        async def answer(request: httpx.Request) -> httpx.Response:
            await self.gate.wait()
            if self.fail_next:
                self.fail_next = False
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(200, stream=_Body(f"lane {index}".encode()))

        lane = httpx.MockTransport(answer)
        lanes = self

        class Counted(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                return await lane.handle_async_request(request)

            async def aclose(self) -> None:
                lanes.closed += 1

        self.made.append(lane)
        return Counted()


async def test_one_request_after_another_uses_one_lane() -> None:
    lanes = _Lanes()
    async with httpx.AsyncClient(transport=AsyncLanes(lanes.new)) as client:
        answers = [(await client.get("http://api.test/")).text for _ in range(5)]
    assert answers == ["lane 0"] * 5
    assert len(lanes.made) == 1


async def test_requests_side_by_side_each_get_a_lane_and_later_ones_reuse_them() -> None:
    lanes = _Lanes()
    lanes.gate.clear()
    async with httpx.AsyncClient(transport=AsyncLanes(lanes.new)) as client:
        first = [asyncio.create_task(client.get("http://api.test/")) for _ in range(4)]
        await asyncio.sleep(0.01)
        lanes.gate.set()
        assert sorted(r.text for r in await asyncio.gather(*first)) == [
            f"lane {i}" for i in range(4)
        ]
        again = await asyncio.gather(*(client.get("http://api.test/") for _ in range(4)))
    assert len(lanes.made) == 4
    assert {r.text for r in again} <= {f"lane {i}" for i in range(4)}
    assert lanes.closed == 4


async def test_a_lane_is_free_again_after_a_transport_error() -> None:
    lanes = _Lanes()
    lanes.fail_next = True
    async with httpx.AsyncClient(transport=AsyncLanes(lanes.new)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://api.test/")
        assert (await client.get("http://api.test/")).text == "lane 0"
    assert len(lanes.made) == 1


async def test_a_lane_is_busy_until_its_response_is_closed() -> None:
    lanes = _Lanes()
    async with httpx.AsyncClient(transport=AsyncLanes(lanes.new)) as client:
        request = client.build_request("GET", "http://api.test/")
        open_response = await client.send(request, stream=True)
        assert (await client.get("http://api.test/")).text == "lane 1"
        await open_response.aclose()
        assert (await client.get("http://api.test/")).text == "lane 0"  # the last freed
    assert len(lanes.made) == 2


async def test_a_cancelled_request_gives_its_lane_back() -> None:
    lanes = _Lanes()
    lanes.gate.clear()
    async with httpx.AsyncClient(transport=AsyncLanes(lanes.new)) as client:
        stuck = asyncio.create_task(client.get("http://api.test/"))
        await asyncio.sleep(0.01)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        lanes.gate.set()
        assert (await client.get("http://api.test/")).text == "lane 0"
    assert len(lanes.made) == 1
