"""The signed-URL listener: another origin, checked signatures and expiry, ranges, hashes."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

import google_crc32c
import httpx

from up42_sandbox import Sandbox

from .helpers import job_path


def _download_url(sb: Sandbox, api: httpx.Client, job_id: str, task_id: str | None = None) -> str:
    task = f"/tasks/{task_id}" if task_id else ""
    answer = api.get(f"{job_path(sb, job_id)}{task}/downloads/results/")
    assert answer.status_code == 200
    url: str = answer.json()["data"]["url"]
    return url


def test_the_download_url_is_a_gcs_style_signed_url_on_another_origin(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    url = urlsplit(_download_url(sandbox, api, job_id))
    assert f"{url.scheme}://{url.netloc}" == sandbox.storage_url != sandbox.base_url
    assert url.path == f"/up42-results/{job_id}/output.tgz"
    query = parse_qs(url.query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["3600"]
    assert query["X-Goog-SignedHeaders"] == ["host"]
    assert {"X-Goog-Credential", "X-Goog-Date", "X-Goog-Signature"} <= set(query)
    task_id = sandbox.task_ids(job_id)[0]
    task_url = urlsplit(_download_url(sandbox, api, job_id, task_id))
    assert task_url.path == f"/up42-results/{job_id}/{task_id}/output.tgz"


def test_a_download_sends_the_archive_with_gcs_headers_and_matching_hashes(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    answer = httpx.get(_download_url(sandbox, api, job_id))
    assert answer.status_code == 200
    body = answer.content
    assert body == sandbox.archive_path(job_id).read_bytes()
    headers = answer.headers
    assert int(headers["content-length"]) == len(body)
    md5 = hashlib.md5(body).digest()  # noqa: S324 - GCS's content hash
    assert headers["etag"] == f'"{md5.hex()}"'
    crc = google_crc32c.Checksum(body).digest()  # type: ignore[no-untyped-call]
    expected = f"crc32c={base64.b64encode(crc).decode()},md5={base64.b64encode(md5).decode()}"
    assert headers["x-goog-hash"] == expected
    assert headers["content-type"] == "application/x-gzip"
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-disposition"] == 'attachment; filename="output.tgz"'
    assert "authorization" not in answer.request.headers


def test_head_sends_the_headers_without_a_body(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    answer = httpx.head(_download_url(sandbox, api, job_id))
    assert answer.status_code == 200
    assert answer.content == b""
    assert int(answer.headers["content-length"]) == sandbox.archive_path(job_id).stat().st_size


def test_ranges_answer_206_with_content_range(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    url = _download_url(sandbox, api, job_id)
    data = sandbox.archive_path(job_id).read_bytes()
    size = len(data)
    for header, first, last in (
        ("bytes=10-99", 10, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-50", size - 50, size - 1),
        (f"bytes=5-{size * 2}", 5, size - 1),
    ):
        answer = httpx.get(url, headers={"Range": header})
        assert answer.status_code == 206, header
        assert answer.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert answer.content == data[first : last + 1]
        assert int(answer.headers["content-length"]) == last - first + 1
    beyond = httpx.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


def test_if_range_with_a_stale_etag_sends_the_whole_object(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    url = _download_url(sandbox, api, job_id)
    etag = httpx.head(url).headers["etag"]
    fresh = httpx.get(url, headers={"Range": "bytes=10-", "If-Range": etag})
    assert fresh.status_code == 206
    stale = httpx.get(url, headers={"Range": "bytes=10-", "If-Range": '"0000"'})
    assert stale.status_code == 200


def test_a_tampered_or_unsigned_url_is_refused(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    url = urlsplit(_download_url(sandbox, api, job_id))
    other_job = sandbox.create_job(start_status="SUCCEEDED")
    moved = urlunsplit(url._replace(path=url.path.replace(job_id, other_job)))
    answer = httpx.get(moved)
    assert answer.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    unsigned = httpx.get(urlunsplit(url._replace(query="")))
    assert unsigned.status_code == 403
    longer = urlunsplit(url._replace(query=url.query.replace("Expires=3600", "Expires=7200")))
    assert httpx.get(longer).status_code == 403


def test_signed_urls_expire() -> None:
    with Sandbox(url_ttl=0.6) as sb:
        job_id = sb.create_job(start_status="SUCCEEDED")
        url = sb.download_url(job_id)
        assert "X-Goog-Expires=1" in url
        assert httpx.get(url).status_code == 200
        time.sleep(0.7)
        answer = httpx.get(url)
        assert answer.status_code == 400
        assert "<Code>ExpiredToken</Code>" in answer.text


def test_outputs_and_urls_wait_for_the_job_to_succeed(sandbox: Sandbox, api: httpx.Client) -> None:
    for start in ("RUNNING", "FAILED"):
        job_id = sandbox.create_job(start_status=start)
        path = job_path(sandbox, job_id)
        assert api.get(f"{path}/downloads/results/").status_code == 404
        assert api.get(f"{path}/outputs/data-json/").status_code == 404


def test_zip_archives_are_served_as_output_zip(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", archive="zip")
    url = _download_url(sandbox, api, job_id)
    assert urlsplit(url).path.endswith("/output.zip")
    answer = httpx.get(url)
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == 'attachment; filename="output.zip"'
    assert answer.content[:2] == b"PK"


def test_a_big_archive_streams_from_disk_with_its_hashes(sandbox: Sandbox) -> None:
    size = 8 << 20
    job_id = sandbox.create_job(start_status="SUCCEEDED", padding=size)
    md5 = hashlib.md5()  # noqa: S324 - GCS's content hash
    received = 0
    with httpx.stream("GET", sandbox.download_url(job_id)) as answer:
        for chunk in answer.iter_bytes():
            md5.update(chunk)
            received += len(chunk)
        etag = answer.headers["etag"]
    assert received == sandbox.archive_path(job_id).stat().st_size > size
    assert etag == f'"{md5.hexdigest()}"'
