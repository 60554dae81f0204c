"""``upload_results_to_bucket``: the archive streamed into a blob, never a partial object."""

from __future__ import annotations

import base64
import tracemalloc
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import MiB, RecordingBucket, finished_job, storage_gets, url_requests
from .servers import FakeGCS

pytestmark = pytest.mark.sandbox


def test_the_archive_is_streamed_into_the_blob_without_being_held_in_memory(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = finished_job(sandbox, connect(), padding=48 * MiB)
    archive = sandbox.archive_info(job.job_id)
    bucket = RecordingBucket()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        job.upload_results_to_bucket(None, bucket, "folder")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    (blob,) = bucket.blobs
    assert blob.name == f"v0/folder/{job.job_id}.tgz"
    (upload,) = blob.uploads
    assert upload.state == "finalized"
    assert (upload.md5.digest(), upload.size) == (archive.md5, archive.size)
    assert upload.options == {"chunk_size": 8 * MiB, "content_type": "application/x-gzip"}
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB for a {archive.size / MiB:.0f} MiB archive"


def test_the_upload_starts_over_when_the_download_starts_over(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = finished_job(sandbox, connect(), padding=3 * MiB)
    sandbox.inject("drop", job_id=job.job_id, at_byte=2 * MiB)
    sandbox.inject("ignore_range", count=2, job_id=job.job_id)
    bucket = RecordingBucket()

    job.upload_results_to_bucket(None, bucket, "folder")

    uploads = bucket.blobs[0].uploads
    assert [upload.state for upload in uploads] == ["cancelled", "finalized"]
    assert uploads[-1].md5.digest() == sandbox.archive_info(job.job_id).md5


def test_a_download_that_stays_corrupt_never_becomes_an_object(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = finished_job(sandbox, connect(), padding=3 * MiB)
    sandbox.inject("corrupt", count=None, job_id=job.job_id)
    bucket = RecordingBucket()

    with pytest.raises(up42.IntegrityError):
        job.upload_results_to_bucket(None, bucket, "folder")

    assert [upload.state for upload in bucket.blobs[0].uploads] == ["cancelled", "cancelled"]


def test_the_archive_goes_through_the_real_google_cloud_storage_blob_chunk_by_chunk(
    sandbox: Sandbox, connect: Connect, gcs_bucket: tuple[Any, FakeGCS]
) -> None:
    bucket, gcs = gcs_bucket
    job = finished_job(sandbox, connect(), padding=20 * MiB)
    archive = sandbox.archive_info(job.job_id)

    job.upload_results_to_bucket(None, bucket, "folder")

    stored = gcs.objects[f"v0/folder/{job.job_id}.tgz"]
    assert stored["md5Hash"] == base64.b64encode(archive.md5).decode()
    assert stored["size"] == str(archive.size)
    assert stored["contentType"] == "application/x-gzip"
    assert gcs.peak_request <= 8 * MiB  # one chunk per request, never the whole archive


def test_a_failed_download_cancels_the_real_upload(
    sandbox: Sandbox, connect: Connect, gcs_bucket: tuple[Any, FakeGCS]
) -> None:
    bucket, gcs = gcs_bucket
    job = finished_job(sandbox, connect(), padding=20 * MiB)
    sandbox.inject("corrupt", count=None, job_id=job.job_id)

    with pytest.raises(up42.IntegrityError):
        job.upload_results_to_bucket(None, bucket, "folder")

    assert gcs.objects == {}
    assert gcs.cancelled == 2


def test_google_cloud_storage_before_3_is_refused_before_any_request(
    sandbox: Sandbox, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import storage as gcs_lib

    job = finished_job(sandbox, connect())
    sandbox.requests.clear()
    monkeypatch.setattr(gcs_lib, "__version__", "2.18.2")
    bucket = gcs_lib.Bucket(client=None, name="results")

    with pytest.raises(up42.ConfigurationError, match=r"google-cloud-storage >= 3\.0"):
        job.upload_results_to_bucket(None, bucket, "folder")

    assert url_requests(sandbox) == []
    assert storage_gets(sandbox) == []
