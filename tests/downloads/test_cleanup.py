"""A download that does not finish leaves nothing half-unpacked, and with ``resume=False``
nothing at all: no part file, not even the folders it created for itself. With ``resume``
(the default) the bytes downloaded so far stay in ``.up42-download.part`` and its journal."""

from __future__ import annotations

from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    PADDING,
    RESUMABLE,
    MiB,
    assert_resumable,
    assert_untouched,
    files_under,
    finished_job,
)

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("unpacking", [True, False])
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_exception_in_the_progress_callback_stops_the_download_and_leaves_nothing(
    sandbox: Sandbox,
    connect: Connect,
    out: Path,
    unpacking: bool,
    error: type[BaseException],
    resume: bool,
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    seen: list[int] = []

    def interrupt_midway(done: int, total: int | None) -> None:
        seen.append(done)
        if done >= MiB:
            raise error("stop")

    with pytest.raises(error):
        job.download_results(out, unpacking=unpacking, progress=interrupt_midway, resume=resume)

    assert seen[-1] < sandbox.archive_info(job.job_id).size
    if resume:
        assert assert_resumable(out) >= MiB
    else:
        assert_untouched(out)
    assert job.results is None


@pytest.mark.parametrize(
    ("failure", "folder", "unpacking"),
    [
        ("corrupt", None, True),  # None: the classic default, project_<id>/job_<id> in the cwd
        ("hostile", None, True),
        ("drops", "a/b/job", True),
        ("drops", "a/b/job", False),
        ("interrupt", "a/b/job", True),
    ],
)
def test_a_failed_download_removes_the_folders_it_created(
    sandbox: Sandbox,
    connect: Connect,
    workdir: Path,
    failure: str,
    folder: str | None,
    unpacking: bool,
) -> None:
    job = finished_job(
        sandbox, connect(), padding=PADDING, hostile="dotdot" if failure == "hostile" else None
    )
    if failure == "corrupt":
        sandbox.inject("corrupt", count=None, job_id=job.job_id)
    if failure == "drops":
        sandbox.inject("drop", count=None, job_id=job.job_id, at_byte=1000)

    def progress(done: int, total: int | None) -> None:
        if failure == "interrupt" and done >= MiB:
            raise KeyboardInterrupt

    with pytest.raises((up42.Up42Error, KeyboardInterrupt)):
        job.download_results(
            workdir / folder if folder else None,
            unpacking=unpacking,
            progress=progress,
            resume=False,
        )

    assert files_under(workdir) == []


@pytest.mark.parametrize("failure", ["drops", "interrupt"])
def test_a_resumable_download_keeps_its_folder_and_bytes_and_nothing_else(
    sandbox: Sandbox, connect: Connect, workdir: Path, failure: str
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    if failure == "drops":
        sandbox.inject("drop", count=None, job_id=job.job_id, at_byte=MiB + 1000)

    def progress(done: int, total: int | None) -> None:
        if failure == "interrupt" and done >= MiB:
            raise KeyboardInterrupt

    with pytest.raises((up42.Up42Error, KeyboardInterrupt)):
        job.download_results(workdir / "a/b/job", progress=progress, max_attempts=2)

    assert files_under(workdir) == ["a", "a/b", "a/b/job", *(f"a/b/job/{n}" for n in RESUMABLE)]
