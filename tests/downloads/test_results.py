"""A download that goes well: exactly the archive's files, under the names the server gives."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    EARLIER,
    PADDING,
    assert_complete,
    expected_files,
    finished_job,
    leftovers,
    regular_files,
    small_job,
    storage_gets,
    url_requests,
)
from .servers import LocalStorage

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("archive", "root"), [("tgz", "output/"), ("zip", "output/"), ("tgz", ""), ("zip", "")]
)
def test_results_unpack_to_exactly_the_archives_files_and_are_listed(
    sandbox: Sandbox, connect: Connect, out: Path, archive: str, root: str
) -> None:
    job = finished_job(sandbox, connect(), archive=archive, archive_root=root)

    paths = job.download_results(out)

    expected = expected_files(sandbox, job.job_id)
    assert "data.json" in expected and any(name.endswith(".tif") for name in expected)
    assert_complete(out, paths, expected)
    assert job.results == paths
    assert len(url_requests(sandbox)) == 1


def test_storage_gets_no_bearer_token_and_is_asked_for_the_bytes_as_stored(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect())

    job.download_results(out)

    (get,) = storage_gets(sandbox)
    assert "authorization" not in get.headers
    assert get.headers["accept-encoding"] == "identity"


def test_a_gzip_content_encoding_is_not_undone(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    data = gzip.compress(b"already gzipped bytes " * 1000)
    storage.put(job.job_id, data, extra_headers={"Content-Encoding": "gzip"})

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data


def test_without_unpacking_the_archive_is_kept_byte_for_byte_under_the_servers_name(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)

    paths = job.download_results(out, unpacking=False)

    assert paths == [str(out / "output.tgz")]
    assert regular_files(out) == {
        "output.tgz": sandbox.archive_path(job.job_id).read_bytes(),
        **EARLIER,
    }
    assert leftovers(out.parent) == []


@pytest.mark.parametrize(
    ("disposition", "url_path", "expected"),
    [
        ("job-results.tgz", "/bucket/job/output.tgz", "job-results.tgz"),
        (None, "/bucket/job/from-url.tgz", "from-url.tgz"),
        ("../../../etc/evil.tgz", "/b/o.tgz", "evil.tgz"),
        ("..", "/b/from-url.tgz", "from-url.tgz"),
        (".up42-sneaky.tgz", "/b/from-url.tgz", "from-url.tgz"),
        (None, "/", "output.tgz"),
    ],
)
def test_the_archive_is_named_by_content_disposition_else_the_url_and_stays_in_the_folder(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    workdir: Path,
    disposition: str | None,
    url_path: str,
    expected: str,
) -> None:
    job = small_job(sandbox, via_storage())
    storage.put(job.job_id, b"archive", filename=disposition, url_path=url_path)

    paths = job.download_results(workdir / "job", unpacking=False)

    assert paths == [str(workdir / "job" / expected)]
    assert regular_files(workdir) == {f"job/{expected}": b"archive"}


def test_downloading_again_replaces_the_files_without_nesting_or_stale_entries(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect())
    job.download_results(out)
    expected = expected_files(sandbox, job.job_id)
    feature_folder = next(name.split("/")[0] for name in expected if "/" in name)
    (out / "data.json").write_bytes(b"edited since")
    (out / feature_folder / "stale.txt").write_bytes(b"not in the archive")

    paths = job.download_results(out)

    assert_complete(out, paths, expected)


def test_progress_reaches_the_callback_in_order_and_a_bar_when_asked(
    sandbox: Sandbox, connect: Connect, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    size = sandbox.archive_info(job.job_id).size
    seen: list[tuple[int, int | None]] = []

    job.download_results(out, progress=lambda d, t: seen.append((d, t)), show_progress=True)

    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert seen[-1] == (size, size)
    assert "results" in capsys.readouterr().err


def test_without_a_terminal_no_bar_is_shown(
    sandbox: Sandbox, connect: Connect, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)

    job.download_results(out)

    assert capsys.readouterr().err == ""


def test_an_empty_object_downloads_as_an_empty_file(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    storage.put(job.job_id, b"")

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == b""
    assert leftovers(out.parent) == []
