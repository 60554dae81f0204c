"""The storage listener as a WAN link: a bandwidth cap per connection, a latency, a byte log.

The timings are behaviour checks of the throttle on a shared machine, so their bounds are
loose: wide enough for a busy CI runner, narrow enough to tell a cap from no cap and one
connection's cap from two.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from up42_sandbox import RequestRecord, Sandbox
from up42_sandbox import _cli as cli
from up42_sandbox._network import Pacer, parse_bandwidth, parse_latency

MiB = 1 << 20
#: The cap of most tests: 2 MiB take half a second.
CAP = 4 * MiB
#: Real seconds to wait for the listener to notice a client that hung up.
SETTLE_TIMEOUT = 5.0


@pytest.fixture
def capped() -> Iterator[Sandbox]:
    """A sandbox whose storage sends 4 MiB/s per connection, without added latency."""
    with Sandbox(storage_bandwidth=CAP) as sb:
        yield sb


def _big_job(sb: Sandbox, size: int) -> str:
    """A finished job whose archive holds ``size`` incompressible bytes (and a little more)."""
    return sb.create_job(start_status="SUCCEEDED", padding=size, features=0)


def _timed_get(client: httpx.Client, url: str, **headers: str) -> tuple[float, bytes]:
    start = time.monotonic()
    answer = client.get(url, headers=headers)
    elapsed = time.monotonic() - start
    assert answer.status_code in {200, 206}, answer.text
    return elapsed, answer.content


def _storage_records(sb: Sandbox) -> list[RequestRecord]:
    return sb.requests.filter(listener="storage")


def _settled_below(sb: Sandbox, size: int) -> int:
    """The one storage record's byte count once it is below ``size`` and stops changing.

    The listener learns of a client that hung up on its next send: until then a paced body's
    count may still grow by a chunk, and an unpaced body is counted whole.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last = -1
    while time.monotonic() < deadline:
        (record,) = _storage_records(sb)
        if record.bytes_sent == last and 0 < last < size:
            return last
        last = record.bytes_sent
        time.sleep(0.1)
    raise AssertionError(f"the byte count never settled below {size}: {last}")


# -- the bandwidth cap -----------------------------------------------------------------------


def test_a_capped_connection_sends_2_mib_in_about_half_a_second_at_4_mib_per_second(
    capped: Sandbox,
) -> None:
    job_id = _big_job(capped, 2 * MiB)
    with httpx.Client() as client:
        elapsed, body = _timed_get(client, capped.download_url(job_id))
    assert body == capped.archive_path(job_id).read_bytes()
    assert 0.35 < elapsed < 1.0


def test_a_range_is_paced_like_a_whole_object(capped: Sandbox) -> None:
    job_id = _big_job(capped, 4 * MiB)
    data = capped.archive_path(job_id).read_bytes()
    with httpx.Client() as client:
        elapsed, body = _timed_get(
            client, capped.download_url(job_id), Range=f"bytes=1000-{1000 + 2 * MiB - 1}"
        )
    assert body == data[1000 : 1000 + 2 * MiB]
    assert 0.35 < elapsed < 1.0


def test_each_connection_gets_the_cap_so_two_halves_in_parallel_take_as_long_as_one(
    capped: Sandbox,
) -> None:
    job_id = _big_job(capped, 4 * MiB)
    url = capped.download_url(job_id)
    data = capped.archive_path(job_id).read_bytes()
    half = len(data) // 2
    ranges = [f"bytes=0-{half - 1}", f"bytes={half}-"]
    bodies: dict[int, bytes] = {}

    def fetch(index: int) -> None:
        with httpx.Client() as client:
            bodies[index] = _timed_get(client, url, Range=ranges[index])[1]

    start = time.monotonic()
    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    assert bodies[0] + bodies[1] == data
    # One shared cap would need about 1 s for the 4 MiB; two connections about 0.5 s.
    assert 0.35 < elapsed < 0.8


def test_without_a_cap_nothing_is_slowed(sandbox: Sandbox) -> None:
    assert sandbox.storage_bandwidth is None
    assert sandbox.storage_latency == 0.0
    job_id = _big_job(sandbox, 8 * MiB)
    with httpx.Client() as client:
        elapsed, body = _timed_get(client, sandbox.download_url(job_id))
    assert len(body) > 8 * MiB
    assert elapsed < 0.5  # at 4 MiB/s it would take 2 s


def test_the_network_changes_while_running_for_the_responses_that_start_after(
    sandbox: Sandbox,
) -> None:
    job_id = _big_job(sandbox, 1 * MiB)
    url = sandbox.download_url(job_id)
    one_mib = {"Range": f"bytes=0-{MiB - 1}"}
    with httpx.Client() as client:
        sandbox.set_storage_network(bandwidth=CAP)
        assert _timed_get(client, url, **one_mib)[0] > 0.15  # about 0.25 s
        sandbox.set_storage_network(latency=0.2)  # the cap stays
        assert (sandbox.storage_bandwidth, sandbox.storage_latency) == (CAP, 0.2)
        assert _timed_get(client, url, **one_mib)[0] > 0.35  # about 0.45 s
        sandbox.set_storage_network(bandwidth=None, latency=None)
        assert _timed_get(client, url, **one_mib)[0] < 0.15
    assert (sandbox.storage_bandwidth, sandbox.storage_latency) == (None, 0.0)
    assert sandbox.info()["storage_bandwidth"] is None
    assert sandbox.info()["storage_latency"] == 0.0


# -- the latency -----------------------------------------------------------------------------


def test_latency_delays_every_answer_and_a_new_connection_once_more() -> None:
    with Sandbox(storage_latency=0.2) as sb:
        job_id = _big_job(sb, 0)
        url = sb.download_url(job_id)
        with httpx.Client() as client:
            first, _ = _timed_get(client, url)  # handshake and request: two round trips
            again, _ = _timed_get(client, url)  # kept alive: one round trip
            start = time.monotonic()
            refused = client.get(url.replace("X-Goog-Signature=", "X-Goog-Signature=0"))
            error = time.monotonic() - start
            start = time.monotonic()
            client.head(url)
            head = time.monotonic() - start
        assert refused.status_code == 403
        assert first >= 0.4
        assert 0.2 <= again < 0.4
        assert 0.2 <= error < 0.4
        assert 0.2 <= head < 0.4
        assert sb.info()["storage_latency"] == 0.2


def test_latency_comes_before_the_first_byte_of_a_paced_body() -> None:
    with Sandbox(storage_bandwidth=CAP, storage_latency=0.2) as sb:
        job_id = _big_job(sb, 1 * MiB)
        with httpx.Client() as client:
            client.head(sb.download_url(job_id))  # the connection is set up
            start = time.monotonic()
            with client.stream("GET", sb.download_url(job_id)) as answer:
                chunks = answer.iter_raw()
                next(chunks)
                first_byte = time.monotonic() - start
                received = sum(len(chunk) for chunk in chunks)
            total = time.monotonic() - start
        assert received > 0
        assert 0.2 <= first_byte < 0.35
        assert total > 0.4  # the latency, then about 0.25 s of body


# -- the byte log ----------------------------------------------------------------------------


@pytest.mark.parametrize("bandwidth", [None, 64 * MiB], ids=["sendfile", "paced"])
def test_each_storage_request_records_the_body_bytes_it_sent(bandwidth: float | None) -> None:
    with Sandbox(storage_bandwidth=bandwidth) as sb:
        job_id = _big_job(sb, 1 * MiB)
        url = sb.download_url(job_id)
        size = sb.archive_info(job_id).size
        with httpx.Client() as client:
            assert len(client.get(url).content) == size
            assert client.get(url, headers={"Range": "bytes=100-1099"}).status_code == 206
            assert client.head(url).status_code == 200
            refused = client.get(url.replace("X-Goog-Signature=", "X-Goog-Signature=0"))
            sb.inject("drop", at_byte=5000)
            with pytest.raises(httpx.TransportError):
                client.get(url)
        counts = [r.bytes_sent for r in _storage_records(sb)]
        assert counts == [size, 1000, 0, len(refused.content), 5000]
        assert sb.storage_bytes_sent == sum(counts)
        assert all(r.bytes_sent == 0 for r in sb.requests.filter(listener="api"))


@pytest.mark.parametrize("bandwidth", [None, CAP], ids=["sendfile", "paced"])
def test_a_client_that_hangs_up_is_counted_for_what_was_sent_not_the_whole_object(
    bandwidth: float | None,
) -> None:
    # Loopback buffers hold a few MiB, so the object is large enough to outlast them.
    size = 32 * MiB if bandwidth is None else 2 * MiB
    with Sandbox(storage_bandwidth=bandwidth) as sb:
        job_id = _big_job(sb, size)
        received = 0
        with httpx.Client() as client, client.stream("GET", sb.download_url(job_id)) as answer:
            for chunk in answer.iter_raw():
                received += len(chunk)
                if received >= 256 * 1024:
                    break
        sent = _settled_below(sb, size)
        assert received <= sent < size
        assert sb.storage_bytes_sent == sent


def test_the_byte_total_outlives_clearing_the_request_log(capped: Sandbox) -> None:
    job_id = _big_job(capped, 0)
    size = capped.archive_info(job_id).size
    httpx.get(capped.download_url(job_id))
    capped.requests.clear()
    httpx.get(capped.download_url(job_id), headers={"Range": "bytes=0-9"})
    assert [r.bytes_sent for r in _storage_records(capped)] == [10]
    assert capped.storage_bytes_sent == size + 10


# -- the pace itself -------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_sends_one_chunk_at_once_then_keeps_the_pace() -> None:
    clock = FakeClock()
    pacer = Pacer(CAP, clock=clock)
    assert pacer.chunk == 64 * 1024  # 4 MiB/50 is more than the largest chunk
    assert pacer.take(pacer.chunk) == 0.0
    assert pacer.take(pacer.chunk) == pytest.approx(1 / 64)
    clock.now += 1 / 64 + 0.001  # the sleep overshot by a millisecond ...
    assert pacer.take(pacer.chunk) == pytest.approx(1 / 64 - 0.001)  # ... and is credited
    clock.now += 60  # idle: the bucket fills to two chunks, no more
    assert [pacer.take(pacer.chunk) for _ in range(3)] == [0.0, 0.0, pytest.approx(1 / 64)]


def test_slow_caps_send_smaller_chunks_at_least_fifty_times_a_second() -> None:
    assert Pacer(500 * 1024).chunk == 10 * 1024
    assert Pacer(10.0).chunk == 1


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"storage_bandwidth": 0}, ValueError, "storage_bandwidth must be > 0"),
        ({"storage_bandwidth": -1.0}, ValueError, "storage_bandwidth must be > 0"),
        ({"storage_bandwidth": math.inf}, ValueError, "storage_bandwidth must be > 0"),
        ({"storage_bandwidth": "16MiB/s"}, TypeError, "storage_bandwidth must be a number"),
        ({"storage_bandwidth": True}, TypeError, "storage_bandwidth must be a number"),
        ({"storage_latency": -0.04}, ValueError, "storage_latency must be >= 0"),
        ({"storage_latency": math.nan}, ValueError, "storage_latency must be >= 0"),
        ({"storage_latency": "40ms"}, TypeError, "storage_latency must be a number"),
    ],
)
def test_bad_network_settings_are_refused_when_made_and_when_changed(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Sandbox(**kwargs)
    sb = Sandbox()
    setting = {key.removeprefix("storage_"): value for key, value in kwargs.items()}
    with pytest.raises(error, match=message):
        sb.set_storage_network(**setting)
    assert (sb.storage_bandwidth, sb.storage_latency) == (None, 0.0)


@pytest.mark.parametrize(
    ("text", "bandwidth"),
    [
        ("16MiB/s", 16 * MiB),
        ("500KiB/s", 500 * 1024),
        ("2MB/s", 2_000_000),
        ("64kB", 64_000),
        ("1048576", 1_048_576),
        ("100B/s", 100),
        (" 1.5 GiB / s ", 1.5 * 1024**3),
    ],
)
def test_bandwidths_from_the_command_line(text: str, bandwidth: float) -> None:
    assert parse_bandwidth(text) == bandwidth


@pytest.mark.parametrize(
    "text",
    ["", "fast", "16Mb/s", "16Mbit/s", "16M", "16MiB/m", "16MiB/s/s", "0", "0MiB/s", "-1MiB/s"],
)
def test_bad_bandwidths_from_the_command_line_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bandwidth"):
        parse_bandwidth(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("40ms", 0.04), ("0.04s", 0.04), ("0.04", 0.04), (" 200 ms ", 0.2), ("0", 0.0)],
)
def test_latencies_from_the_command_line(text: str, seconds: float) -> None:
    assert parse_latency(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "40us", "40 m", "-40ms", "nan", "40ms/s"])
def test_bad_latencies_from_the_command_line_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        parse_latency(text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--storage-bandwidth", "16Mb/s"], "bad storage bandwidth '16Mb/s'"),
        (["--storage-bandwidth", "0"], "storage_bandwidth must be > 0"),
        (["--storage-latency", "soon"], "bad storage latency 'soon'"),
    ],
)
def test_the_cli_refuses_bad_network_settings_with_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_cli_hands_its_network_settings_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_sandbox(**kwargs: Any) -> Sandbox:
        seen.update(kwargs)
        raise OSError("not started in this test")

    monkeypatch.setattr(cli, "Sandbox", fake_sandbox)
    assert cli.main(["--storage-bandwidth", "16MiB/s", "--storage-latency", "40ms"]) == 1
    assert (seen["storage_bandwidth"], seen["storage_latency"]) == (16 * MiB, 0.04)
    assert cli.main([]) == 1
    assert (seen["storage_bandwidth"], seen["storage_latency"]) == (None, None)


def test_the_cli_help_describes_the_network_settings() -> None:
    text = " ".join(cli._parser().format_help().split())
    assert "--storage-bandwidth RATE" in text and "16MiB/s" in text
    assert "--storage-latency TIME" in text and "40ms" in text
