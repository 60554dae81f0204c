"""One network configuration: TLS trust and proxies read as httpx reads them."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

import up42_facade as up42
from up42_facade._errors import DownloadError
from up42_facade._network import MAX_REDIRECTS, Network, ProxyURL, next_hop

PROJECT = "5ac4a1b6-6c2b-4b4e-8a3e-2b1e2f0c9d11"


def test_a_proxy_url_without_a_port_gets_its_schemes_default_port() -> None:
    assert ProxyURL.parse("http://proxy.corp").port == 80
    assert ProxyURL.parse("https://proxy.corp").port == 443
    assert ProxyURL.parse("proxy.corp:3128").url == "http://proxy.corp:3128"


def test_proxy_credentials_are_kept_but_never_shown() -> None:
    proxy = ProxyURL.parse("http://alice:s%40cret@proxy.corp:3128")
    assert (proxy.username, proxy.password) == ("alice", "s@cret")
    assert "s@cret" not in repr(proxy) and "alice" not in proxy.url


@pytest.mark.parametrize("url", ["socks5://proxy.corp:1080", "socks5h://proxy.corp"])
def test_a_socks_proxy_is_a_clear_configuration_error(url: str) -> None:
    with pytest.raises(up42.ConfigurationError, match=r"socks5h?://, which this client cannot use"):
        Network(proxy=url)


def test_the_environment_chooses_proxies_by_scheme_and_all_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://secure.proxy:3128")
    monkeypatch.setenv("ALL_PROXY", "http://any.proxy")
    network = Network()
    assert network.proxy_for("https://storage.example/b/o.tgz") == ProxyURL(
        "http", "secure.proxy", 3128
    )
    assert network.proxy_for("http://storage.example/b/o.tgz") == ProxyURL("http", "any.proxy", 80)


def test_no_proxy_exempts_a_domain_and_its_subdomains_as_httpx_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://any.proxy:8888")
    monkeypatch.setenv("NO_PROXY", "example.com,10.0.0.7")
    network = Network()
    assert network.proxy_for("https://storage.example.com/o") is None
    assert network.proxy_for("https://example.com/o") is None
    assert network.proxy_for("http://10.0.0.7:9000/o") is None
    assert network.proxy_for("https://notexample.com/o") is not None
    with httpx.Client(trust_env=True) as client:  # the reference: httpx's own choice
        for url in ("https://storage.example.com/o", "https://notexample.com/o"):
            theirs = client._transport_for_url(httpx.URL(url))
            assert (network.proxy_for(url) is None) == (theirs is client._transport)


def test_an_explicit_proxy_wins_over_the_environment_and_no_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    assert Network(proxy="http://mine:1").proxy_for("https://a.b/c") == ProxyURL("http", "mine", 1)


def test_trust_env_false_ignores_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://any.proxy")
    assert Network(trust_env=False).proxy_for("https://a.b/c") is None


def test_a_socks_proxy_in_the_environment_fails_the_session_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1")
    with pytest.raises(up42.ConfigurationError, match="socks5://"):
        up42.Up42(project_id=PROJECT, project_api_key="key", base_url="http://127.0.0.1:9")


def test_verify_takes_a_ca_file_a_folder_or_a_context(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(bundle))
    assert isinstance(Network(verify=bundle).ssl_context(), ssl.SSLContext)
    assert isinstance(Network(verify=str(tmp_path)).ssl_context(), ssl.SSLContext)
    context = ssl.create_default_context()
    assert Network(verify=context).ssl_context() is context
    assert Network(verify=False).ssl_context().verify_mode == ssl.CERT_NONE


def test_a_missing_ca_bundle_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(up42.ConfigurationError, match=r"missing\.pem"):
        up42.Up42(project_id=PROJECT, project_api_key="key", verify=tmp_path / "missing.pem")


def test_ssl_cert_file_is_read_with_trust_env_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(up42.ConfigurationError, match="SSL_CERT_FILE"):
        Network().ssl_context()
    with pytest.raises(up42.ConfigurationError, match="SSL_CERT_FILE"):
        up42.Up42(project_id=PROJECT, project_api_key="key")  # a session checks at once
    assert Network(trust_env=False).ssl_context().verify_mode == ssl.CERT_REQUIRED


def test_a_redirect_from_https_to_http_is_refused() -> None:
    with pytest.raises(DownloadError, match="from https to http") as caught:
        next_hop("https://s.example/o?X-Goog-Signature=abc", "http://s.example/o?sig=1", 0)
    assert "X-Goog-Signature" not in str(caught.value) and "abc" not in str(caught.value)


def test_redirects_stop_after_a_few_hops_and_relative_locations_resolve() -> None:
    assert next_hop("https://s.example/a/o", "../b/o", 0) == "https://s.example/b/o"
    assert next_hop("http://s.example/o", "https://t.example/o", 1) == "https://t.example/o"
    with pytest.raises(DownloadError, match=f"more than {MAX_REDIRECTS} redirects"):
        next_hop("https://s.example/o", "/p", MAX_REDIRECTS)
