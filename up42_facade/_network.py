"""One network configuration for API calls and downloads: TLS trust, proxies, redirects.

``Network(verify=..., proxy=..., trust_env=...)`` means what httpx's options of the same
names mean, and both the API's httpx transport and the storage connections take their TLS
context and their proxy from it, so a corporate CA or proxy that works for one works for
the other:

- ``verify``: True (certifi's bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when
  ``trust_env``), False (no checks), a CA bundle file or folder, or an ``ssl.SSLContext``;
- ``proxy``: one proxy URL for every request, ignoring the environment;
- ``trust_env``: read ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (and
  the lower-case spellings) exactly as httpx's ``Client`` does.

A proxy URL without a port gets its scheme's default port (80 for http://, 443 for
https://). A socks proxy cannot be used (httpx needs an extra package for it, and storage
downloads speak plain HTTP CONNECT): it gets a ``ConfigurationError``.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from ._errors import ConfigurationError, DownloadError
from ._redact import redact_url

if TYPE_CHECKING:
    from httpx._utils import URLPattern

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "MAX_REDIRECTS",
    "Network",
    "ProxyURL",
    "VerifyTypes",
    "is_certificate_error",
    "next_hop",
]

VerifyTypes = bool | str | os.PathLike[str] | ssl.SSLContext
"""What ``verify`` accepts: as httpx's ``verify``, plus a path to a CA bundle file or folder."""

#: Connecting should be quick; reads wait for a busy API (or a slow storage) but not forever.
#: The defaults of every session, for API calls and downloads alike.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
#: Redirects followed per storage request: storage does not redirect, a CDN or proxy may once
#: or twice; more than this is a loop.
MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ProxyURL:
    """A proxy to send requests through.

    Attributes:
        scheme: ``http`` or ``https``.
        host: The proxy's host.
        port: Its port (the scheme's default when the URL gave none).
        username: For ``Proxy-Authorization``, if the URL carried one.
        password: Likewise.
    """

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> ProxyURL:
        """Read a proxy URL (``host:port`` alone means ``http://host:port``).

        Raises:
            ConfigurationError: A socks or otherwise unusable proxy, or a malformed URL.
        """
        parsed = httpx.URL(url if "://" in url else f"http://{url}")
        shown = redact_url(str(parsed.copy_with(query=None)))
        if parsed.scheme not in _DEFAULT_PORTS:
            raise ConfigurationError(
                f"the proxy {shown} uses {parsed.scheme}://, which this client cannot use; "
                "use an http:// proxy (it tunnels https with CONNECT), or unset "
                "ALL_PROXY/HTTPS_PROXY for this program"
            )
        if not parsed.host:
            raise ConfigurationError(f"the proxy URL {shown} has no host")
        return cls(
            scheme=parsed.scheme,
            host=parsed.host,
            port=parsed.port or _DEFAULT_PORTS[parsed.scheme],
            username=parsed.username or None,
            password=parsed.password or None,
        )

    @property
    def url(self) -> str:
        """``scheme://host:port`` (no credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def to_httpx(self) -> httpx.Proxy:
        """The same proxy for an httpx transport."""
        auth = (self.username, self.password or "") if self.username is not None else None
        return httpx.Proxy(self.url, auth=auth)


@dataclass(frozen=True)
class Network:
    """TLS trust and proxies, shared by API calls and downloads.

    Args:
        verify: True, False, a CA bundle (file or folder), or an ``ssl.SSLContext``.
        proxy: A proxy URL for every request; None reads the environment (``trust_env``).
        trust_env: Read ``SSL_CERT_FILE``/``SSL_CERT_DIR`` and the proxy variables.

    Raises:
        ConfigurationError: ``verify`` names a missing or unreadable CA bundle, or the
            proxy cannot be used.
    """

    verify: VerifyTypes = True
    proxy: str | None = None
    trust_env: bool = True
    _context: ssl.SSLContext | None = field(default=None, init=False, repr=False, compare=False)
    _proxies: dict[tuple[str, str, int | None], ProxyURL | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.proxy is not None:
            ProxyURL.parse(str(self.proxy))

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of every https connection, API and storage alike.

        Built on first use (loading a CA bundle takes tens of milliseconds) and shared from
        then on; a session builds it at once, so a bad CA bundle fails there.

        Raises:
            ConfigurationError: ``verify`` names a missing or unreadable CA bundle.
        """
        if self._context is None:
            object.__setattr__(self, "_context", self._build_context())
        assert self._context is not None
        return self._context

    def _build_context(self) -> ssl.SSLContext:
        verify = self.verify
        if isinstance(verify, str | os.PathLike):
            path = Path(verify)
            try:
                if path.is_dir():
                    return ssl.create_default_context(capath=str(path))
                return ssl.create_default_context(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"verify={str(path)!r} is not a readable CA bundle file or folder ({exc})"
                ) from None
        try:
            return httpx.create_ssl_context(verify=verify, trust_env=self.trust_env)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"the CA bundle named by SSL_CERT_FILE or SSL_CERT_DIR is not readable ({exc}); "
                "fix or unset it"
            ) from None

    def proxy_for(self, url: str) -> ProxyURL | None:
        """The proxy a request to ``url`` goes through, as httpx's ``Client`` would choose it.

        The environment is read once per scheme, host and port, as an httpx ``Client`` reads
        it once when it is made (every download asked anew before: about 1.5 ms each).

        Raises:
            ConfigurationError: That proxy cannot be used (socks).
        """
        if self.proxy is not None:
            return ProxyURL.parse(str(self.proxy))
        if not self.trust_env:
            return None
        target = httpx.URL(url)
        origin = (target.scheme, target.host, target.port)
        if origin not in self._proxies:
            self._proxies[origin] = _environment_proxy(target)
        return self._proxies[origin]


def _environment_proxy(target: httpx.URL) -> ProxyURL | None:
    for pattern, proxy in _environment_proxies():
        if pattern.matches(target):
            return None if proxy is None else ProxyURL.parse(proxy)
    return None


def _environment_proxies() -> list[tuple[URLPattern, str | None]]:
    """The proxy rules of the environment, most specific first, as httpx reads them.

    httpx builds its ``Client`` mounts from the same two helpers; the facade cannot use those
    mounts because its retry transport wraps the connection pool. httpx is pinned below
    0.29, and ``tests/unit/test_network.py`` holds the behaviour in place.
    """
    from httpx._utils import URLPattern, get_environment_proxies

    rules = get_environment_proxies()
    return sorted((URLPattern(key), value) for key, value in rules.items())


def next_hop(current: str, location: str, hops: int) -> str:
    """The URL a storage redirect leads to, if following it is safe.

    Args:
        current: The URL that answered with the redirect.
        location: Its ``Location`` header.
        hops: Redirects followed so far for this request.

    Raises:
        DownloadError: Too many redirects, or one from https to http (which would expose
            the signed URL on the wire).
    """
    if hops >= MAX_REDIRECTS:
        raise DownloadError(f"more than {MAX_REDIRECTS} redirects from {redact_url(current)}")
    target = urljoin(current, location)
    parts = urlsplit(target)
    if urlsplit(current).scheme == "https" and parts.scheme != "https":
        raise DownloadError(
            f"storage redirected {redact_url(current)} to {redact_url(target)}, from https to "
            f"{parts.scheme or 'no scheme'}; refusing to send the signed URL unencrypted"
        )
    return target


def is_certificate_error(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate was not trusted."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
