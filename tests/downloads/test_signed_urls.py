"""The signed URL: refreshed once when storage refuses it, never shown, never sent unencrypted."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import up42_facade as up42
from up42_facade._network import MAX_REDIRECTS
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    RecordingSleep,
    assert_complete,
    assert_untouched,
    blob_of,
    expected_files,
    files_under,
    finished_job,
    small_job,
    storage_gets,
    url_requests,
)
from .servers import LocalStorage, StorageRoute

pytestmark = pytest.mark.sandbox


def test_an_expired_signed_url_is_replaced_by_a_fresh_one_without_a_pause(
    sandbox: Sandbox, connect: Connect, out: Path, sleeps: RecordingSleep
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.inject("expired_url", job_id=job.job_id)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    assert len(url_requests(sandbox)) == 2
    assert [get.status for get in storage_gets(sandbox)] == [400, 200]
    assert sleeps.calls == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_signed_url_refused_as_unauthorised_is_replaced_once_too(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path, status: int
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(1000)
    storage.put(job.job_id, data)
    storage.inject("status", status=status)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert len(url_requests(sandbox)) == 2


def test_a_signed_url_that_stays_refused_is_a_download_error_that_never_shows_its_signature(
    sandbox: Sandbox, connect: Connect, out: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = finished_job(sandbox, connect())
    sandbox.inject("expired_url", count=None, job_id=job.job_id)
    caplog.set_level(logging.DEBUG, logger="up42_facade")

    with pytest.raises(up42.DownloadError, match="HTTP 400") as caught:
        job.download_results(out)

    gets = storage_gets(sandbox)
    assert len(gets) == 2 and len(url_requests(sandbox)) == 2
    message = str(caught.value)
    assert f"{sandbox.storage_url}{gets[0].path}" in message
    assert "?" not in message
    for signature in {get.query["X-Goog-Signature"] for get in gets}:
        assert signature not in message
        assert signature not in caplog.text
    assert f"GET {sandbox.storage_url}{gets[0].path}" in caplog.text  # logged, redacted
    assert_untouched(out)


@pytest.mark.parametrize("status", [404, 410])
def test_a_missing_archive_is_a_download_error_after_one_request(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    out: Path,
    sleeps: RecordingSleep,
    status: int,
) -> None:
    job = small_job(sandbox, via_storage())
    storage.put(job.job_id, blob_of(1000))
    storage.inject("status", count=None, status=status)

    with pytest.raises(up42.DownloadError, match="no results archive"):
        job.download_results(out)

    assert len(storage.requests) == 1
    assert sleeps.calls == []
    assert_untouched(out)


def test_a_download_url_that_is_not_http_is_refused_before_any_request(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    job = small_job(sandbox, connect(transport=StorageRoute(lambda url: "file:///etc/passwd")))

    with pytest.raises(up42.DownloadError, match="not http"):
        job.download_results(workdir / "job")

    assert files_under(workdir) == []


@pytest.mark.parametrize("trust_env", [True, False])
def test_a_malformed_signed_url_fails_at_once_without_showing_its_signature(
    sandbox: Sandbox,
    connect: Connect,
    storage: LocalStorage,
    out: Path,
    sleeps: RecordingSleep,
    trust_env: bool,
) -> None:
    url = f"{storage.origin}/b/o.tgz?X-Goog-Signature=deadbeefcafe\x01"
    session = connect(transport=StorageRoute(lambda _: url), trust_env=trust_env)
    job = small_job(sandbox, session)

    with pytest.raises(up42.DownloadError, match="malformed") as caught:
        job.download_results(out)

    shown = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
    assert "deadbeefcafe" not in shown
    assert sleeps.calls == []
    assert_untouched(out)


def test_storage_redirects_are_followed(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(1000)
    stored = storage.put(job.job_id, data)
    storage.objects["/moved/output.tgz"] = stored
    storage.inject("redirect", location="/moved/output.tgz")

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert [r.path for r in storage.requests] == [stored.url_path, "/moved/output.tgz"]


def test_a_redirect_loop_is_a_download_error_without_retries(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    out: Path,
    sleeps: RecordingSleep,
) -> None:
    job = small_job(sandbox, via_storage())
    storage.put(job.job_id, blob_of(1000))
    storage.inject("redirect", count=None, location="/round/and/round")

    with pytest.raises(up42.DownloadError, match="redirects"):
        job.download_results(out)

    assert len(storage.requests) == MAX_REDIRECTS + 1
    assert sleeps.calls == []
    assert_untouched(out)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_storage(ca: trustme.CA) -> Iterator[LocalStorage]:
    """A test-local storage server speaking https with a certificate from ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = LocalStorage(tls=context)
    yield server
    server.close()


def test_a_redirect_from_https_to_http_is_refused_and_nothing_is_written(
    sandbox: Sandbox,
    connect: Connect,
    ca: trustme.CA,
    tls_storage: LocalStorage,
    storage: LocalStorage,
    out: Path,
) -> None:
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    job = small_job(sandbox, connect(transport=StorageRoute(tls_storage.url_for), verify=trusted))
    data = blob_of(1000)
    tls_storage.put(job.job_id, data)
    plain = storage.put(job.job_id, data)  # the same object, over plain http
    tls_storage.inject("redirect", location=storage.url_for(f"{storage.origin}{plain.url_path}"))

    with pytest.raises(up42.DownloadError, match="from https to http") as caught:
        job.download_results(out)

    assert "X-Goog-Signature" not in str(caught.value)
    assert len(tls_storage.requests) == 1
    assert storage.requests == []  # the signed URL never went over the wire unencrypted
    assert_untouched(out)


def test_the_environments_http_proxy_carries_the_download(
    sandbox: Sandbox,
    connect: Connect,
    storage: LocalStorage,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("http_proxy", f"http://user:pw@127.0.0.1:{storage.port}")
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # the sandbox's job API stays direct
    # Nothing listens on localhost:9: only the proxy can answer for it.
    route = StorageRoute(lambda url: storage.url_for(url, host="localhost:9"))
    job = small_job(sandbox, connect(transport=route))
    data = blob_of(1000)
    storage.put(job.job_id, data)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    (request,) = storage.requests
    assert request.target.startswith("http://localhost:9/bucket/")
    assert request.headers["proxy-authorization"] == (
        "Basic " + base64.b64encode(b"user:pw").decode()
    )
