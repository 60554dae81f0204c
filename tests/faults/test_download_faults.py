"""Results downloads when storage and archives misbehave: the right bytes or nothing on disk.

Every story goes through ``job.download_results`` against the sandbox's storage listener and
then looks at the folder: after a success it holds exactly the archive's files with exactly
its bytes; after a failure it holds no file of the archive, no temporary ``.up42-*`` entry,
nothing outside the folder, and whatever was there before is untouched.
"""

from __future__ import annotations

import tarfile
import types
import zipfile
from pathlib import Path

import pytest

import up42_facade as up42
from up42_facade import _download
from up42_sandbox import Sandbox

from .conftest import Connect, RecordingSleep, api_requests, files_under

# Large enough for several 1 MiB chunks, so a drop or a Ctrl-C lands mid-download.
PADDING = 3 * 1024 * 1024
DROP_AT = 1024 * 1024 + 12_345
# What a hostile archive tries to write outside the folder (see up42_sandbox._archives).
ESCAPES = (
    Path("/tmp/sandbox-escape-absolute.txt"),
    Path("/tmp/sandbox-escape-symlink.txt"),
)
TEMPORARY_PREFIX = ".up42-"


def expected_files(sandbox: Sandbox, job_id: str) -> dict[str, bytes]:
    """The archive's regular files by their unpacked path (a leading ``output/`` dropped)."""
    path = sandbox.archive_path(job_id)
    files: dict[str, bytes] = {}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    files[info.filename] = archive.read(info)
    else:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    source = archive.extractfile(member)
                    assert source is not None
                    files[member.name] = source.read()
    return {name.removeprefix("output/"): data for name, data in files.items()}


def regular_files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary entries (part files, staging folders) and links anywhere under ``folder``."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.name.startswith(TEMPORARY_PREFIX) or path.is_symlink()
    )


def storage_gets(sandbox: Sandbox) -> list[tuple[int, str | None]]:
    """(status, Range header) of every GET the storage listener answered."""
    return [
        (r.status, r.headers.get("range"))
        for r in sandbox.requests.filter(listener="storage", method="GET")
    ]


def finished_job(sandbox: Sandbox, session: up42.Up42, **options: object) -> up42.Job:
    job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", **options)  # type: ignore[arg-type]
    return session.initialize_job(job_id)


@pytest.fixture
def out(workdir: Path) -> Path:
    """The download folder, with a file of an earlier run that must survive any failure."""
    folder = workdir / "results"
    folder.mkdir()
    (folder / "earlier.txt").write_bytes(b"from an earlier run\n")
    return folder


def assert_untouched(out: Path) -> None:
    assert regular_files(out) == {"earlier.txt": b"from an earlier run\n"}
    assert leftovers(out.parent) == []


def assert_complete(out: Path, paths: list[str], expected: dict[str, bytes]) -> None:
    assert regular_files(out) == {**expected, "earlier.txt": b"from an earlier run\n"}
    assert sorted(Path(p).relative_to(out).as_posix() for p in paths) == sorted(expected)
    assert leftovers(out.parent) == []


def test_a_plain_download_writes_exactly_the_archives_files(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect())
    paths = job.download_results(out)
    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    assert job.results == paths


def test_a_dropped_connection_resumes_with_a_range_request(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("drop", count=1, job_id=job.job_id, at_byte=DROP_AT)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    gets = storage_gets(sandbox)
    assert len(gets) == 2
    assert gets[1] == (206, f"bytes={DROP_AT}-")


def test_a_dropped_connection_to_a_server_ignoring_range_starts_over_and_still_succeeds(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("drop", count=1, job_id=job.job_id, at_byte=DROP_AT)
    sandbox.inject("ignore_range", count=2, job_id=job.job_id)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    statuses = [status for status, _ in storage_gets(sandbox)]
    assert statuses == [200, 200]


def test_a_download_that_keeps_dropping_gives_up_after_growing_pauses_leaving_nothing(
    sandbox: Sandbox, connect: Connect, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Downloads pause on their own clock (not the session's sleep): record instead of waiting.
    pauses = RecordingSleep()
    monkeypatch.setattr(_download, "time", types.SimpleNamespace(sleep=pauses))
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("drop", count=None, job_id=job.job_id, at_byte=0)

    with pytest.raises(up42.DownloadError) as caught:
        job.download_results(out)

    assert "X-Goog-Signature" not in str(caught.value)
    assert_untouched(out)
    assert 2 <= len(storage_gets(sandbox)) <= 10
    assert pauses.calls == sorted(pauses.calls)
    assert pauses.calls[-1] > pauses.calls[0]


def test_corrupt_bytes_are_fetched_afresh_once_and_the_result_is_exact(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("corrupt", count=1, job_id=job.job_id)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    assert len(storage_gets(sandbox)) == 2


def test_bytes_that_stay_corrupt_raise_an_integrity_error_leaving_nothing(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.inject("corrupt", count=None, job_id=job.job_id)

    with pytest.raises(up42.IntegrityError) as caught:
        job.download_results(out)

    assert "X-Goog-Signature" not in str(caught.value)
    assert_untouched(out)


def test_a_failed_download_into_the_default_folder_leaves_no_folder_behind(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.inject("corrupt", count=None, job_id=job.job_id)

    with pytest.raises(up42.IntegrityError):
        job.download_results()

    assert files_under(workdir) == []


def test_an_expired_signed_url_is_replaced_by_a_fresh_one(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.inject("expired_url", count=1, job_id=job.job_id)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    assert len(api_requests(sandbox, path="/downloads/results/")) == 2
    assert [status for status, _ in storage_gets(sandbox)] == [400, 200]


def test_a_signed_url_that_stays_expired_raises_a_download_error_leaving_nothing(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.inject("expired_url", count=None, job_id=job.job_id)

    with pytest.raises(up42.DownloadError) as caught:
        job.download_results(out)

    message = str(caught.value)
    assert "X-Goog-Signature" not in message
    assert "?" not in message
    assert_untouched(out)


@pytest.mark.parametrize(
    ("hostile", "archive"),
    [
        ("dotdot", "tgz"),
        ("absolute", "tgz"),
        ("symlink", "tgz"),
        ("hardlink", "tgz"),
        ("all", "tgz"),
        ("dotdot", "zip"),
        ("absolute", "zip"),
        ("symlink", "zip"),
    ],
)
def test_a_hostile_archive_is_refused_and_nothing_lands_anywhere(
    sandbox: Sandbox, connect: Connect, out: Path, hostile: str, archive: str
) -> None:
    before = {path: path.exists() for path in ESCAPES}
    job = finished_job(sandbox, connect(), hostile=hostile, archive=archive)

    with pytest.raises(up42.UnsafeArchiveError) as caught:
        job.download_results(out)

    assert caught.value.member
    assert_untouched(out)
    assert not (out.parent.parent / "sandbox-escape-dotdot.txt").exists()
    assert not (out.parent / "sandbox-escape-dotdot.txt").exists()
    assert {path: path.exists() for path in ESCAPES} == before
    assert job.results is None


def test_a_truncated_archive_raises_a_download_error_leaving_nothing(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), hostile="truncated")

    with pytest.raises(up42.DownloadError) as caught:
        job.download_results(out)

    assert not isinstance(caught.value, up42.IntegrityError)  # the bytes were as announced
    assert_untouched(out)


def test_without_unpacking_the_archive_is_kept_byte_for_byte(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("drop", count=1, job_id=job.job_id, at_byte=DROP_AT)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == sandbox.archive_path(job.job_id).read_bytes()
    assert leftovers(out.parent) == []


def test_ctrl_c_during_a_download_leaves_no_temporary_files_and_no_half_unpacked_folder(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    seen: list[int] = []

    def interrupt_midway(done: int, total: int | None) -> None:
        seen.append(done)
        if done >= 1024 * 1024:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.download_results(out, progress=interrupt_midway)

    assert seen[-1] < sandbox.archive_info(job.job_id).size
    assert_untouched(out)


def test_ctrl_c_during_a_download_without_unpacking_leaves_no_part_file(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)

    def interrupt_midway(done: int, total: int | None) -> None:
        if done >= 1024 * 1024:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.download_results(out, unpacking=False, progress=interrupt_midway)

    assert_untouched(out)


def test_a_download_into_the_default_folder_after_a_failure_leaves_no_archive_file(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    job = finished_job(sandbox, connect(), hostile="dotdot")

    with pytest.raises(up42.UnsafeArchiveError):
        job.download_results()

    assert regular_files(workdir) == {}
    assert leftovers(workdir) == []
