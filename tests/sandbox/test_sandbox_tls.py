"""Storage over TLS: ``Sandbox(storage_tls=...)`` and ``up42-sandbox --storage-cert/--storage-key``.

The signed URLs then point at ``https://127.0.0.1:<port>``, served with a certificate from a
throwaway trustme CA: a client that trusts the CA downloads, one that does not is refused at
the handshake. The job API itself stays plain http.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import trustme

from up42_sandbox import Sandbox

from .helpers import POLL_TIMEOUT, SPEED, get_token, job_path

pytestmark = pytest.mark.sandbox

#: Real seconds the CLI may take to come up (an interpreter start and three small archives).
CLI_START_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority, known to no system trust store."""
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server-side context with a certificate for the loopback address, signed by ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that verifies certificates and trusts ``ca``."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def tls_sandbox(ca: trustme.CA) -> Iterator[Sandbox]:
    """A sandbox whose storage listener speaks https with a certificate from ``ca``."""
    with Sandbox(speed=SPEED, storage_tls=server_context(ca)) as sb:
        yield sb


def signed_url(sb: Sandbox, job_id: str, task_id: str | None = None) -> str:
    """The signed URL the API answers for the job's (or a task's) results."""
    task = f"/tasks/{task_id}" if task_id else ""
    answer = httpx.get(
        f"{sb.base_url}{job_path(sb, job_id)}{task}/downloads/results/",
        headers={"Authorization": f"Bearer {get_token(sb)}"},
    )
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["data"]["url"]
    return url


def fetch(url: str, context: ssl.SSLContext, **headers: str) -> tuple[int, bytes]:
    """GET with urllib over ``context``: the status and the body."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https to loopback
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
        status: int = answer.status
        return status, answer.read()


def test_signed_urls_point_at_an_https_storage_listener(tls_sandbox: Sandbox) -> None:
    sb = tls_sandbox
    assert sb.base_url.startswith("http://127.0.0.1:")
    assert sb.storage_url.startswith("https://127.0.0.1:")
    assert sb.info()["storage_url"] == sb.storage_url
    job_id = sb.create_job(start_status="SUCCEEDED")
    task_id = sb.task_ids(job_id)[0]
    for url in (signed_url(sb, job_id), signed_url(sb, job_id, task_id), sb.download_url(job_id)):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == sb.storage_url
        assert "X-Goog-Signature=" in parts.query


def test_a_client_trusting_the_ca_downloads_and_one_that_does_not_is_refused(
    tls_sandbox: Sandbox, trusting: ssl.SSLContext
) -> None:
    sb = tls_sandbox
    job_id = sb.create_job(start_status="SUCCEEDED")
    url = signed_url(sb, job_id)
    status, body = fetch(url, trusting)
    assert status == 200
    assert body == sb.archive_path(job_id).read_bytes()

    sb.requests.clear()
    # The system's trust store does not know the throwaway CA.
    untrusting = ssl.create_default_context()
    with pytest.raises(urllib.error.URLError) as refused:
        fetch(url, untrusting)
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    assert "certificate verify failed" in str(refused.value.reason)
    # http.client, the layer under urllib, raises the verification error itself.
    parts = urlsplit(url)
    assert parts.hostname is not None
    connection = http.client.HTTPSConnection(
        parts.hostname, parts.port, context=untrusting, timeout=10
    )
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            connection.request("GET", f"{parts.path}?{parts.query}")
    finally:
        connection.close()
    # Refused during the handshake: no request ever reached the listener.
    assert sb.requests.filter(listener="storage") == []

    # Plain http to the TLS port gets no answer it could mistake for the archive.
    plain = url.replace("https://", "http://", 1)
    with pytest.raises((httpx.HTTPError, ssl.SSLError)):
        httpx.get(plain, timeout=5)
    assert fetch(url, trusting)[0] == 200  # and the listener is still fine


def test_ranges_hashes_and_a_big_archive_over_tls(
    tls_sandbox: Sandbox, trusting: ssl.SSLContext
) -> None:
    sb = tls_sandbox
    job_id = sb.create_job(start_status="SUCCEEDED", padding=4 << 20)
    url = signed_url(sb, job_id)
    data = sb.archive_path(job_id).read_bytes()
    status, part = fetch(url, trusting, Range="bytes=100-1099")
    assert (status, part) == (206, data[100:1100])
    with httpx.Client(verify=trusting) as client, client.stream("GET", url) as answer:
        md5 = hashlib.md5()  # noqa: S324 - GCS's content hash
        for chunk in answer.iter_bytes():
            md5.update(chunk)
        assert answer.status_code == 200
        assert answer.headers["etag"] == f'"{md5.hexdigest()}"'
        assert int(answer.headers["content-length"]) == len(data)


def test_storage_faults_still_happen_over_tls(
    tls_sandbox: Sandbox, trusting: ssl.SSLContext
) -> None:
    sb = tls_sandbox
    job_id = sb.create_job(start_status="SUCCEEDED")
    sb.inject("drop", at_byte=500)
    received = bytearray()

    def download() -> None:
        with httpx.stream("GET", sb.download_url(job_id), verify=trusting) as answer:
            for chunk in answer.iter_raw():
                received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError):
        download()
    assert bytes(received) == sb.archive_path(job_id).read_bytes()[:500]
    sb.inject("expired_url")
    with pytest.raises(urllib.error.HTTPError) as expired:
        fetch(sb.download_url(job_id), trusting)
    assert expired.value.code == 400
    expired.value.close()


def test_an_open_tls_connection_does_not_hold_the_stop_up(
    ca: trustme.CA, trusting: ssl.SSLContext
) -> None:
    with Sandbox(storage_tls=server_context(ca)) as sb:
        job_id = sb.create_job(start_status="SUCCEEDED")
        client = httpx.Client(verify=trusting)
        assert client.head(sb.download_url(job_id)).status_code == 200
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert not sb.running
    client.close()


def test_storage_tls_must_be_a_server_side_context() -> None:
    with pytest.raises(ValueError, match="server-side context"):
        Sandbox(storage_tls=ssl.create_default_context())
    with pytest.raises(TypeError, match=r"ssl\.SSLContext"):
        Sandbox(storage_tls="cert.pem")  # type: ignore[arg-type]


def _run_cli(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "up42_sandbox", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_file(path: Path, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + CLI_START_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            info: dict[str, object] = json.loads(path.read_text())
            return info
        if process.poll() is not None:
            raise AssertionError(f"the CLI exited early: {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError("the CLI never wrote its info file")


def test_the_cli_serves_storage_over_tls_with_a_pem_certificate_and_key(
    tmp_path: Path, ca: trustme.CA, trusting: ssl.SSLContext
) -> None:
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    info_file = tmp_path / "sandbox.json"
    process = _run_cli(
        "--info-file",
        str(info_file),
        "--speed",
        "100",
        "--storage-cert",
        str(cert_file),
        "--storage-key",
        str(key_file),
    )
    try:
        info = _wait_for_file(info_file, process)
        base_url, storage_url = str(info["base_url"]), str(info["storage_url"])
        assert base_url.startswith("http://127.0.0.1:")
        assert storage_url.startswith("https://127.0.0.1:")
        jobs = info["jobs"]
        assert isinstance(jobs, dict)
        credentials = (str(info["project_id"]), str(info["project_api_key"]))
        token = httpx.post(
            f"{base_url}/oauth/token", auth=credentials, data={"grant_type": "client_credentials"}
        ).json()["access_token"]
        path = f"{base_url}/projects/{info['project_id']}/jobs/{jobs['succeeds']}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + POLL_TIMEOUT
        answer = httpx.get(f"{path}/downloads/results/", headers=headers)
        while answer.status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.05)
            answer = httpx.get(f"{path}/downloads/results/", headers=headers)
        url = answer.json()["data"]["url"]
        assert url.startswith(storage_url + "/")
        status, body = fetch(url, trusting)
        assert status == 200
        assert body[:2] == b"\x1f\x8b"  # the gzip magic of output.tgz
        with pytest.raises(urllib.error.URLError, match="certificate verify failed"):
            fetch(url, ssl.create_default_context())
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.communicate()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--storage-key", "key.pem"], "--storage-key needs --storage-cert"),
        (["--storage-cert", "missing.pem"], "cannot load the storage certificate"),
        (["--storage-cert", "cert.pem", "--storage-key", "cert.pem"], "cannot load"),
    ],
    ids=["key-without-cert", "missing-cert", "no-key"],
)
def test_the_cli_refuses_unusable_certificate_options(
    tmp_path: Path, ca: trustme.CA, args: list[str], message: str
) -> None:
    ca.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    process = subprocess.run(
        [sys.executable, "-m", "up42_sandbox", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=CLI_START_TIMEOUT,
        check=False,
    )
    assert process.returncode == 2
    assert message in process.stderr
