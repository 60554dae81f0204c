"""API calls and downloads agree about the network: a corporate CA and a proxy work for both.

The sandbox's storage speaks TLS with a certificate from a throwaway CA (trustme) that
nothing trusts by default, as behind a TLS-inspecting corporate proxy.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

import up42_facade as up42
from up42_sandbox import Sandbox

from .proxy import _Server

pytestmark = pytest.mark.sandbox


def connect(sandbox: Sandbox, **options: object) -> up42.Up42:
    return up42.Up42(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
        retry=up42.RetryPolicy(max_attempts=2, backoff_base=0.01),
        **options,  # type: ignore[arg-type]
    )


def finished_job(sandbox: Sandbox, session: up42.Up42) -> up42.Job:
    return session.initialize_job(sandbox.create_job("succeeds", start_status="SUCCEEDED"))


def test_storage_over_tls_is_untrusted_by_default_with_a_clear_error_and_nothing_on_disk(
    tls_sandbox: Sandbox, tmp_path: Path
) -> None:
    assert tls_sandbox.storage_url.startswith("https://")
    with connect(tls_sandbox) as session:
        job = finished_job(tls_sandbox, session)
        with pytest.raises(up42.DownloadError) as caught:
            job.download_results(tmp_path / "out")
    message = str(caught.value)
    assert "TLS certificate of 127.0.0.1 was not accepted" in message
    assert "(unable to get local issuer certificate)" in message  # what OpenSSL found wrong
    assert "SSL_CERT_FILE" in message and "X-Goog-Signature" not in message
    assert not (tmp_path / "out").exists()


def test_ssl_cert_file_makes_the_download_work_as_it_does_for_httpx(
    tls_sandbox: Sandbox, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with connect(tls_sandbox) as session:
        files = finished_job(tls_sandbox, session).download_results(tmp_path)
    assert (tmp_path / "data.json").is_file()
    assert str(tmp_path / "data.json") in files


@pytest.mark.parametrize("kind", ["path", "context"])
def test_verify_takes_the_ca_as_a_path_or_an_ssl_context(
    tls_sandbox: Sandbox, ca: trustme.CA, ca_file: Path, tmp_path: Path, kind: str
) -> None:
    verify: object = ca_file
    if kind == "context":
        verify = ssl.create_default_context()
        ca.configure_trust(verify)
    with connect(tls_sandbox, verify=verify) as session:
        finished_job(tls_sandbox, session).download_results(tmp_path)
    assert (tmp_path / "data.json").is_file()


def test_verify_false_turns_checks_off_for_downloads_too(
    tls_sandbox: Sandbox, tmp_path: Path
) -> None:
    with connect(tls_sandbox, verify=False) as session:
        finished_job(tls_sandbox, session).download_results(tmp_path)
    assert (tmp_path / "data.json").is_file()


def test_an_explicit_proxy_carries_api_calls_and_a_tls_download_through_connect(
    tls_sandbox: Sandbox, ca_file: Path, proxy: _Server, tmp_path: Path
) -> None:
    address = f"http://127.0.0.1:{proxy.server_address[1]}"
    with connect(tls_sandbox, verify=ca_file, proxy=address) as session:
        job = finished_job(tls_sandbox, session)
        job.download_results(tmp_path)
    assert (tmp_path / "data.json").is_file()
    storage_port = tls_sandbox.storage_url.rsplit(":", 1)[1]
    api = [seen for seen in proxy.seen if seen.target.startswith(tls_sandbox.base_url)]
    tunnels = [seen for seen in proxy.seen if seen.method == "CONNECT"]
    assert any(seen.target.endswith("/oauth/token") for seen in api)
    assert any(f"/jobs/{job.job_id}/downloads/results" in seen.target for seen in api)
    assert [seen.target for seen in tunnels] == [f"127.0.0.1:{storage_port}"]
    # The bearer token stays with the API: the proxy never sees one on the storage tunnel.
    assert all("Authorization" not in seen.headers for seen in tunnels)


def test_http_proxy_from_the_environment_carries_api_calls_and_plain_http_downloads(
    proxy: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{proxy.server_address[1]}")  # no scheme
    with Sandbox(speed=40.0) as sandbox, connect(sandbox) as session:
        job = finished_job(sandbox, session)
        job.download_results(tmp_path)
    assert (tmp_path / "data.json").is_file()
    targets = [seen.target for seen in proxy.seen]
    assert any(target.startswith(sandbox.base_url) for target in targets)
    storage = [target for target in targets if target.startswith(sandbox.storage_url)]
    assert len(storage) == 1 and "X-Goog-Signature=" in storage[0]
    authorized = [seen for seen in proxy.seen if "Authorization" in seen.headers]
    assert authorized and all(seen.target.startswith(sandbox.base_url) for seen in authorized)


def test_no_proxy_sends_matching_hosts_direct(
    proxy: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with Sandbox(speed=40.0) as sandbox, connect(sandbox) as session:
        finished_job(sandbox, session).download_results(tmp_path)
    assert (tmp_path / "data.json").is_file()
    assert proxy.seen == []


def test_an_https_proxy_for_storage_is_a_clear_configuration_error_leaving_nothing(
    tls_sandbox: Sandbox, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "https://127.0.0.1:9")
    with connect(tls_sandbox, verify=ca_file) as session:
        job = finished_job(tls_sandbox, session)
        with pytest.raises(up42.ConfigurationError, match="give the proxy as http://"):
            job.download_results(tmp_path / "out")
    assert not (tmp_path / "out").exists()
