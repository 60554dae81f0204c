"""Options out of range are refused before anything is asked of the API or storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import RecordingBucket, files_under, finished_job, storage_gets, url_requests

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("integrity", "bogus"),
        ("timeout", 0),
        ("max_attempts", 0),
        ("max_members", 0),
        ("max_total_size", -1),
    ],
)
def test_an_option_out_of_range_is_a_configuration_error_before_any_request(
    sandbox: Sandbox, connect: Connect, workdir: Path, option: str, value: Any
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.requests.clear()

    with pytest.raises(up42.ConfigurationError, match=option):
        job.download_results(workdir / "job", **{option: value})

    assert url_requests(sandbox) == []
    assert storage_gets(sandbox) == []
    assert files_under(workdir) == []


def test_a_bucket_upload_refuses_an_unknown_integrity_mode_before_any_request(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.requests.clear()
    bucket = RecordingBucket()

    with pytest.raises(up42.ConfigurationError, match="integrity"):
        job.upload_results_to_bucket(None, bucket, "folder", integrity="bogus")  # type: ignore[arg-type]

    assert url_requests(sandbox) == []
    assert bucket.blobs == []
