"""Bytes that do not match what storage announced: fetched afresh once, then IntegrityError.

``integrity`` chooses the check: "auto" (crc32c, else md5; and the size), "all" (every
announced hash) or "size".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_facade import _integrity
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    EARLIER,
    PADDING,
    MiB,
    assert_untouched,
    blob_of,
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


@pytest.mark.parametrize("unpacking", [True, False])
def test_corrupt_bytes_are_fetched_afresh_with_a_fresh_url_and_the_result_is_exact(
    sandbox: Sandbox, connect: Connect, out: Path, unpacking: bool
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("corrupt", job_id=job.job_id)

    job.download_results(out, unpacking=unpacking)

    expected = (
        expected_files(sandbox, job.job_id)
        if unpacking
        else {"output.tgz": sandbox.archive_path(job.job_id).read_bytes()}
    )
    assert regular_files(out) == {**expected, **EARLIER}
    assert leftovers(out.parent) == []
    _, fresh_url = url_requests(sandbox)
    first_get, second_get = storage_gets(sandbox)
    assert first_get.time < fresh_url.time < second_get.time  # asked anew before fetching anew


@pytest.mark.parametrize("unpacking", [True, False])
def test_bytes_that_stay_corrupt_are_an_integrity_error_leaving_nothing(
    sandbox: Sandbox, connect: Connect, out: Path, unpacking: bool
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("corrupt", count=None, job_id=job.job_id)

    with pytest.raises(up42.IntegrityError, match="also after a fresh download") as caught:
        job.download_results(out, unpacking=unpacking)

    assert "X-Goog-Signature" not in str(caught.value)
    assert len(storage_gets(sandbox)) == 2
    assert len(url_requests(sandbox)) == 2
    assert_untouched(out)
    assert job.results is None


@pytest.mark.parametrize(
    ("integrity", "crc32c_installed", "checked"),
    [
        ("auto", True, {"crc32c"}),
        ("auto", False, {"md5"}),  # google-crc32c without its C extension, or missing
        ("all", True, {"crc32c", "md5"}),
        ("all", False, {"md5"}),
    ],
)
def test_the_integrity_mode_chooses_the_hashes_a_corrupt_download_fails(
    sandbox: Sandbox,
    connect: Connect,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    integrity: str,
    crc32c_installed: bool,
    checked: set[str],
) -> None:
    if not crc32c_installed:
        monkeypatch.setattr(_integrity, "_CRC32C_EXTEND", None)
    job = finished_job(sandbox, connect())
    sandbox.inject("corrupt", count=None, job_id=job.job_id)

    with pytest.raises(up42.IntegrityError) as caught:
        job.download_results(out, integrity=integrity)  # type: ignore[arg-type]

    named = {name for name in ("crc32c", "md5") if name in str(caught.value)}
    assert named == checked
    assert_untouched(out)


@pytest.mark.parametrize(
    ("announced", "integrity", "verifies"),
    [
        ({"announced_md5": bytes(16)}, "auto", True),  # crc32c right: md5 is not looked at
        ({"announced_md5": bytes(16)}, "all", False),
        ({"announced_md5": bytes(16), "announced_crc32c": bytes(4)}, "auto", False),
        ({"announced_md5": bytes(16), "announced_crc32c": bytes(4)}, "size", True),
        ({"crc32c": False, "announced_md5": bytes(16)}, "auto", False),  # md5 alone announced
    ],
)
def test_what_storage_announces_is_checked_as_the_integrity_mode_says(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    out: Path,
    announced: dict[str, Any],
    integrity: str,
    verifies: bool,
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(2 * MiB)
    storage.put(job.job_id, data, **announced)

    if verifies:
        [path] = job.download_results(out, unpacking=False, integrity=integrity)  # type: ignore[arg-type]
        assert Path(path).read_bytes() == data
        assert len(storage.requests) == 1
    else:
        with pytest.raises(up42.IntegrityError):
            job.download_results(out, unpacking=False, integrity=integrity)  # type: ignore[arg-type]
        assert len(storage.requests) == 2  # fetched afresh once before giving up
        assert_untouched(out)


def test_a_download_of_unknown_length_is_verified_by_its_hash(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    storage.put(job.job_id, blob_of(2 * MiB + 17), chunked=True)
    storage.inject("corrupt", count=None)

    with pytest.raises(up42.IntegrityError):
        job.download_results(out, unpacking=False)

    assert_untouched(out)
