"""Cancelling an async member (``task.cancel()``, ``asyncio.timeout``) stops it at once,
closes its connections and leaves nothing half-written: with ``resume=False`` nothing at
all, with ``resume`` (the default) only the part file and journal the next call resumes from."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import AsyncRecordingSleep, files_under

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]

BIG = 32 << 20  # large enough that the download is still running when it is cancelled


def transfer_threads() -> list[str]:
    """Threads of a download that are still busy (the executor's idle workers do not count)."""
    busy = ("up42-unpack", "up42-md5", "up42-slice")
    return [t.name for t in threading.enumerate() if t.name.startswith(busy)]


def resumable_under(folder: str) -> set[str]:
    """What a cancelled resumable download may leave: its folders, part file and journal."""
    parts = folder.split("/")
    folders = {"/".join(parts[: i + 1]) for i in range(len(parts))}
    return folders | {f"{folder}/.up42-download.part", f"{folder}/.up42-download.part.json"}


async def big_job(sandbox: Sandbox, session: up42.AsyncUp42) -> up42.AsyncJob:
    job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", padding=BIG)
    return await session.initialize_job(job_id)


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("unpacking", [True, False])
async def test_cancelling_a_download_midway_stops_it_and_leaves_nothing(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path, unpacking: bool, resume: bool
) -> None:
    job = await big_job(sandbox, session)
    target = tmp_path / "a" / "b"
    reports: list[int] = []

    def cancel_on_first_bytes(done: int, total: int | None) -> None:
        reports.append(done)
        if len(reports) == 1:
            download.cancel()

    download = asyncio.create_task(
        job.download_results(
            target, unpacking=unpacking, progress=cancel_on_first_bytes, resume=resume
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await download

    assert reports and reports[0] < BIG
    if resume:
        assert set(files_under(tmp_path)) <= resumable_under("a/b")
    else:
        assert files_under(tmp_path) == []  # not even the folders it made
    assert transfer_threads() == []
    assert job.results is None


async def test_a_timeout_around_a_download_raises_timeout_error_and_leaves_nothing(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await big_job(sandbox, session)
    loop = asyncio.get_running_loop()

    async def download_with_a_deadline_at_the_first_bytes() -> None:
        async with asyncio.timeout(None) as deadline:

            def expire_on_first_bytes(done: int, total: int | None) -> None:
                if deadline.when() is None:
                    deadline.reschedule(loop.time())

            await job.download_results(
                tmp_path / "out", progress=expire_on_first_bytes, resume=False
            )

    with pytest.raises(TimeoutError):
        await download_with_a_deadline_at_the_first_bytes()

    assert files_under(tmp_path) == []
    assert transfer_threads() == []


async def test_an_earlier_download_survives_a_cancelled_one_into_the_same_folder(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    small = await session.initialize_job(
        sandbox.create_job("succeeds", start_status="SUCCEEDED", features=2)
    )
    await small.download_results(tmp_path)
    earlier = files_under(tmp_path)
    job = await big_job(sandbox, session)
    download = asyncio.create_task(
        job.download_results(tmp_path, progress=lambda *_: download.cancel())
    )
    with pytest.raises(asyncio.CancelledError):
        await download  # cancelled again by every progress report while it winds down
    assert set(files_under(tmp_path)) - set(earlier) <= {
        ".up42-download.part",
        ".up42-download.part.json",
    }


async def test_cancelling_track_status_stops_polling_at_once(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(sandbox.create_job("long_running"))
    tracking = asyncio.create_task(
        job.track_status(poll_interval=30, sleep=AsyncRecordingSleep(real=None))
    )
    while not sandbox.requests.snapshot():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    tracking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(tracking, timeout=1)
    await job.cancel_job()


async def test_cancelling_a_bucket_upload_never_publishes_the_object(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await big_job(sandbox, session)
    upload: asyncio.Task[None]
    loop = asyncio.get_running_loop()

    class Writer:
        def __init__(self) -> None:
            self.committed = False
            self.written = 0

        def write(self, chunk: memoryview) -> None:
            self.written += len(chunk)
            if self.written == len(chunk):
                loop.call_soon_threadsafe(upload.cancel)

        def __enter__(self) -> Writer:
            return self

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.committed = exc_type is None

    writer = Writer()

    class Blob:
        name = "v0/f/x.tgz"

        def open(self, mode: str, **options: object) -> Writer:
            return writer

    class Bucket:
        def blob(self, name: str) -> Blob:
            return Blob()

    upload = asyncio.create_task(job.upload_results_to_bucket(None, Bucket(), "f"))
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert writer.written > 0
    assert writer.committed is False


async def test_a_progress_callback_that_raises_stops_the_download_with_its_error(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await big_job(sandbox, session)

    def refuse(done: int, total: int | None) -> None:
        raise RuntimeError("the app's own problem")

    with pytest.raises(RuntimeError, match="the app's own problem"):
        await job.download_results(tmp_path / "out", progress=refuse, resume=False)
    assert files_under(tmp_path) == []
    assert transfer_threads() == []


async def test_a_cancelled_download_goes_on_from_its_bytes_when_awaited_again(
    sandbox: Sandbox, session: up42.AsyncUp42, tmp_path: Path
) -> None:
    job = await big_job(sandbox, session)
    size = sandbox.archive_info(job.job_id).size

    def cancel_past_a_quarter(done: int, total: int | None) -> None:
        if done >= size // 4:
            download.cancel()

    download = asyncio.create_task(
        job.download_results(tmp_path, progress=cancel_past_a_quarter, max_connections=2)
    )
    with pytest.raises(asyncio.CancelledError):
        await download
    assert ".up42-download.part" in files_under(tmp_path)
    sandbox.requests.clear()

    files = await job.download_results(tmp_path, max_connections=2)

    assert all(Path(name).is_file() for name in files)
    assert (tmp_path / "padding.bin").stat().st_size == BIG
    assert ".up42-download.part" not in files_under(tmp_path)
    resumed = sandbox.requests.filter(listener="storage", method="GET")
    assert resumed and all(record.headers.get("range") for record in resumed)
    assert sum(record.bytes_sent for record in resumed) < size
