"""download_results against the real sandbox: every storage fault and hostile archive kind.

Each test ends by showing the folder: exactly the archive's files, or nothing at all.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from up42_facade._errors import DownloadError, IntegrityError, UnsafeArchiveError
from up42_facade._transfers import download_results
from up42_sandbox import Sandbox

pytestmark = pytest.mark.sandbox

#: Enough padding that a drop at 1 MiB lands mid-archive, little enough to stay fast.
PADDING = 3 << 20
MiB = 1 << 20


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(speed=1000.0, seed=7) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _clean(sb: Sandbox) -> Iterator[None]:
    sb.clear_faults()
    sb.requests.clear()
    yield
    sb.clear_faults()


class SignedUrls:
    """``get_url`` as the facade does it: a token, then the job's download endpoint (raw httpx)."""

    def __init__(self, sb: Sandbox, job_id: str) -> None:
        self.sb = sb
        self.job_id = job_id
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        token = httpx.post(
            f"{self.sb.base_url}/oauth/token",
            auth=(self.sb.project_id, self.sb.project_api_key),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        answer = httpx.get(
            f"{self.sb.base_url}/projects/{self.sb.project_id}/jobs/{self.job_id}/downloads/results/",
            headers={"Authorization": f"Bearer {token}"},
        )
        answer.raise_for_status()
        url: str = answer.json()["data"]["url"]
        return url


def expected_files(archive: Path) -> dict[str, bytes]:
    """The archive's regular files, ``output/`` dropped, read with the standard library."""
    files: dict[str, bytes] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir():
                    files[info.filename.removeprefix("output/")] = zipped.read(info)
        return files
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            source = tar.extractfile(member) if member.isfile() else None
            if source is not None:
                files[member.name.removeprefix("output/")] = source.read()
    return files


def expected_on_disk(sb: Sandbox, job_id: str, *, unpacking: bool) -> dict[str, bytes]:
    archive = sb.archive_path(job_id)
    return expected_files(archive) if unpacking else {"output.tgz": archive.read_bytes()}


def on_disk(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def everything(folder: Path) -> list[str]:
    return (
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
        if folder.exists()
        else []
    )


def storage_requests(sb: Sandbox) -> list[tuple[int, str | None]]:
    return [(r.status, r.headers.get("range")) for r in sb.requests.filter(listener="storage")]


def fetch(sb: Sandbox, job_id: str, folder: Path, **options: Any) -> tuple[list[str], SignedUrls]:
    urls = SignedUrls(sb, job_id)
    files = download_results(urls, folder, show_progress=False, backoff=0.01, **options)
    return files, urls


# -- the happy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archive", "root"), [("tgz", "output/"), ("zip", "output/"), ("tgz", ""), ("zip", "")]
)
def test_results_unpack_to_exactly_the_archives_files(
    sb: Sandbox, tmp_path: Path, archive: str, root: str
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", archive=archive, archive_root=root)
    target = tmp_path / f"project_{sb.project_id}" / f"job_{job_id}"
    files, urls = fetch(sb, job_id, target)
    expected = expected_files(sb.archive_path(job_id))
    assert any(name.endswith(".tif") for name in expected) and "data.json" in expected
    assert on_disk(target) == expected
    assert sorted(files) == sorted(str(target / name) for name in expected)
    assert not [name for name in everything(target) if name.startswith(".up42-")]
    assert urls.calls == 1
    for request in sb.requests.filter(listener="storage"):
        assert "authorization" not in request.headers


def test_without_unpacking_the_archive_is_kept_byte_for_byte(sb: Sandbox, tmp_path: Path) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)
    files, _ = fetch(sb, job_id, tmp_path, unpacking=False)
    assert files == [str(tmp_path / "output.tgz")]
    assert (tmp_path / "output.tgz").read_bytes() == sb.archive_path(job_id).read_bytes()
    assert everything(tmp_path) == ["output.tgz"]


def test_downloading_again_into_the_same_folder_replaces_the_files(
    sb: Sandbox, tmp_path: Path
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED")
    first, _ = fetch(sb, job_id, tmp_path)
    second, _ = fetch(sb, job_id, tmp_path)
    assert sorted(first) == sorted(second)
    assert on_disk(tmp_path) == expected_files(sb.archive_path(job_id))


# -- storage faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("unpacking", [True, False])
def test_a_dropped_connection_resumes_where_it_stopped(
    sb: Sandbox, tmp_path: Path, unpacking: bool
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)
    sb.inject("drop", job_id=job_id, at_byte=MiB + 123)
    fetch(sb, job_id, tmp_path, unpacking=unpacking)
    requests = storage_requests(sb)
    assert requests == [(200, None), (206, f"bytes={MiB + 123}-")]
    assert on_disk(tmp_path) == expected_on_disk(sb, job_id, unpacking=unpacking)


@pytest.mark.parametrize("unpacking", [True, False])
def test_a_drop_on_a_server_ignoring_range_starts_over(
    sb: Sandbox, tmp_path: Path, unpacking: bool
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)
    sb.inject("drop", job_id=job_id, at_byte=2 * MiB)
    sb.inject("ignore_range", count=None, job_id=job_id)  # a server without Range support
    seen: list[int] = []
    fetch(sb, job_id, tmp_path, unpacking=unpacking, progress=lambda d, t: seen.append(d))
    assert [status for status, _ in storage_requests(sb)] == [200, 200]
    assert 0 in seen[1:]
    assert on_disk(tmp_path) == expected_on_disk(sb, job_id, unpacking=unpacking)


def test_drops_on_every_request_give_up_and_leave_nothing(sb: Sandbox, tmp_path: Path) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)
    sb.inject("drop", count=None, job_id=job_id, at_byte=MiB // 2)
    with pytest.raises(DownloadError, match="3 attempts failed"):
        fetch(sb, job_id, tmp_path / "job", max_attempts=3)
    assert everything(tmp_path / "job") == []


def test_an_expired_url_is_replaced_by_a_fresh_one(sb: Sandbox, tmp_path: Path) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED")
    sb.inject("expired_url", job_id=job_id)
    _, urls = fetch(sb, job_id, tmp_path)
    assert urls.calls == 2
    assert [status for status, _ in storage_requests(sb)] == [400, 200]
    assert on_disk(tmp_path) == expected_files(sb.archive_path(job_id))


def test_a_url_that_stays_expired_is_a_download_error_without_the_signature(
    sb: Sandbox, tmp_path: Path
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED")
    sb.inject("expired_url", count=None, job_id=job_id)
    with pytest.raises(DownloadError, match="HTTP 400") as caught:
        fetch(sb, job_id, tmp_path / "job")
    assert "X-Goog-Signature" not in str(caught.value) and "?" not in str(caught.value)
    assert everything(tmp_path / "job") == []


@pytest.mark.parametrize("unpacking", [True, False])
def test_a_corrupted_download_is_fetched_again_and_then_right(
    sb: Sandbox, tmp_path: Path, unpacking: bool
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)
    sb.inject("corrupt", job_id=job_id)
    _, urls = fetch(sb, job_id, tmp_path, unpacking=unpacking)
    assert urls.calls == 2
    assert on_disk(tmp_path) == expected_on_disk(sb, job_id, unpacking=unpacking)


@pytest.mark.parametrize("unpacking", [True, False])
def test_corruption_on_the_fresh_download_too_is_an_integrity_error(
    sb: Sandbox, tmp_path: Path, unpacking: bool
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)
    sb.inject("corrupt", count=2, job_id=job_id)
    with pytest.raises(IntegrityError):
        fetch(sb, job_id, tmp_path / "job", unpacking=unpacking)
    assert everything(tmp_path / "job") == []


# -- hostile archives --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archive", "hostile", "member_part"),
    [
        ("tgz", "dotdot", "../../sandbox-escape-dotdot.txt"),
        ("tgz", "absolute", "/tmp/sandbox-escape-absolute.txt"),
        ("tgz", "symlink", "escape-symlink"),
        ("tgz", "hardlink", "escape-hardlink"),
        ("zip", "dotdot", "../../sandbox-escape-dotdot.txt"),
        ("zip", "absolute", "/tmp/sandbox-escape-absolute.txt"),
        ("zip", "symlink", "escape-symlink"),
    ],
)
def test_hostile_archives_are_refused_and_leave_nothing(
    sb: Sandbox, tmp_path: Path, archive: str, hostile: str, member_part: str
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", archive=archive, hostile=hostile)
    target = tmp_path / "a" / "b" / "job"
    with pytest.raises(UnsafeArchiveError) as caught:
        fetch(sb, job_id, target)
    assert member_part in caught.value.member
    assert caught.value.member in str(caught.value)
    assert everything(target) == []
    assert not list(tmp_path.rglob("sandbox-escape-*"))
    assert not Path("/tmp/sandbox-escape-absolute.txt").exists()


@pytest.mark.parametrize("archive", ["tgz", "zip"])
def test_a_truncated_archive_is_refused_and_leaves_nothing(
    sb: Sandbox, tmp_path: Path, archive: str
) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", archive=archive, hostile="truncated")
    with pytest.raises(DownloadError, match="truncated") as caught:
        fetch(sb, job_id, tmp_path / "job")
    assert not isinstance(caught.value, IntegrityError)  # the bytes were what storage announced
    assert everything(tmp_path / "job") == []


def test_a_refused_archive_keeps_an_earlier_download_intact(sb: Sandbox, tmp_path: Path) -> None:
    good = sb.create_job(start_status="SUCCEEDED")
    fetch(sb, good, tmp_path)
    before = on_disk(tmp_path)
    bad = sb.create_job(start_status="SUCCEEDED", hostile="symlink")
    with pytest.raises(UnsafeArchiveError):
        fetch(sb, bad, tmp_path)
    assert on_disk(tmp_path) == before
    assert not [name for name in everything(tmp_path) if name.startswith(".up42-")]


def test_ctrl_c_mid_download_leaves_no_temporary_files(sb: Sandbox, tmp_path: Path) -> None:
    job_id = sb.create_job(start_status="SUCCEEDED", padding=PADDING)

    def interrupt(done: int, total: int | None) -> None:
        if done >= MiB:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(sb, job_id, tmp_path / "job", progress=interrupt)
    assert everything(tmp_path / "job") == []
