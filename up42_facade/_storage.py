"""The storage transport: GET requests to signed cloud-storage URLs, with no token ever.

A signed URL is not the job API: it needs no bearer token and must never get one, so
storage is spoken to over connections of its own, never the session's httpx client. They
take their TLS context and proxy from the session's ``Network``, so both agree about the
network. ``http.client`` reading into reused buffers keeps up with curl over loopback,
where httpx's ``iter_raw`` reached about half of curl's speed.

Redirects are followed up to ``MAX_REDIRECTS`` hops, never from https to http.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import logging
import re
import socket
import ssl
from urllib.parse import SplitResult, urlsplit

import httpx

from ._errors import ConfigurationError, DownloadError
from ._network import Network, ProxyURL, next_hop
from ._redact import redact_url
from ._version import __version__

__all__ = ["REDIRECT_STATUSES", "StorageClient", "StorageResponse", "checked_url"]

LOGGER = logging.getLogger("up42_facade")

USER_AGENT = f"up42-facade/{__version__} (transfers)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class StorageResponse:
    """An answer from storage whose body is still to be read; close it when done.

    Attributes:
        response: The ``http.client`` response (status, headers, ``readinto``).
        url: The URL that answered (after redirects).
    """

    def __init__(
        self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse, url: str
    ) -> None:
        self._connection = connection
        self.response = response
        self.url = url

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self.response.status

    def header(self, name: str) -> str | None:
        """A header's value, or None."""
        return self.response.getheader(name)

    def close(self) -> None:
        """Close the response and its connection."""
        self.response.close()
        self._connection.close()

    def abort(self) -> None:
        """From another thread: make a read that blocks on this answer return at once."""
        sock = self._connection.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


class StorageClient:
    """Sends GET requests to storage over the session's network configuration.

    Args:
        network: TLS trust and proxies (the session's).
        connect_timeout: Seconds to wait for a connection (and TLS handshake).
        read_timeout: Seconds of silence before a read counts as dropped.
    """

    def __init__(self, network: Network, *, connect_timeout: float, read_timeout: float) -> None:
        self.network = network
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def __repr__(self) -> str:
        return f"StorageClient(network={self.network!r})"

    def get(
        self, url: str, headers: dict[str, str], *, read_timeout: float | None = None
    ) -> StorageResponse:
        """GET ``url``, following redirects; the body is left to read.

        Raises:
            DownloadError: A final problem: an unusable URL, a certificate that is not
                trusted, a redirect loop or a downgrade to http.
            ConfigurationError: The proxy for this URL cannot be used.
            OSError: The connection failed or dropped (worth another attempt).
            http.client.HTTPException: The answer was garbled (worth another attempt).
        """
        headers = {"User-Agent": USER_AGENT, **headers}
        for hops in itertools.count():
            connection, target, extra = self._connect(url, read_timeout)
            LOGGER.debug("GET %s %s", redact_url(url), headers.get("Range", ""))
            try:
                connection.request("GET", target, headers={**headers, **extra})
                response = connection.getresponse()
            except http.client.InvalidURL:
                connection.close()
                # Final, not a network hiccup; its message would quote the signed query.
                raise DownloadError(f"the download URL is malformed: {redact_url(url)}") from None
            except BaseException:
                connection.close()
                raise
            location = response.getheader("Location")
            if response.status in REDIRECT_STATUSES and location:
                response.close()
                connection.close()
                url = next_hop(url, location, hops)
                continue
            return StorageResponse(connection, response, url)
        raise AssertionError("unreachable")  # itertools.count() never ends; next_hop stops

    def _connect(
        self, url: str, read_timeout: float | None
    ) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
        """An open connection for ``url`` (through its proxy, if any), the request target to
        send on it, and the headers the proxy needs."""
        parts = checked_url(url)
        port, host = parts.port, parts.hostname or ""
        try:
            proxy = self.network.proxy_for(url)
        except httpx.InvalidURL:
            raise DownloadError(f"the download URL is malformed: {redact_url(url)}") from None
        if proxy is not None and proxy.scheme != "http":
            raise ConfigurationError(
                f"downloads cannot go through the https:// proxy {proxy.url}: storage "
                "connections tunnel through http:// proxies only (CONNECT keeps TLS end to end); "
                "give the proxy as http://"
            )
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        extra: dict[str, str] = {}
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = self.network.ssl_context()
            if proxy is None:
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.connect_timeout, context=context
                )
            else:
                connection = http.client.HTTPSConnection(
                    proxy.host, proxy.port, timeout=self.connect_timeout, context=context
                )
                connection.set_tunnel(host, port or 443, headers=_proxy_headers(proxy))
        elif proxy is None:
            connection = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        else:
            # A plain-HTTP request through a proxy names the whole URL as its target.
            connection = http.client.HTTPConnection(
                proxy.host, proxy.port, timeout=self.connect_timeout
            )
            target = parts._replace(fragment="").geturl()
            extra = _proxy_headers(proxy)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            raise DownloadError(
                f"the TLS certificate of {host} was not accepted ({exc.verify_message}); if your "
                "network uses its own certificate authority, set SSL_CERT_FILE or SSL_CERT_DIR, "
                "or pass verify=<CA bundle or ssl.SSLContext> to Up42"
            ) from None
        except http.client.InvalidURL:
            connection.close()
            # Final, not a network hiccup; its message would quote the signed query.
            raise DownloadError(f"the download URL is malformed: {redact_url(url)}") from None
        except BaseException:
            connection.close()
            raise
        if connection.sock is not None:  # None under vcrpy, which replays without sockets
            connection.sock.settimeout(self.read_timeout if read_timeout is None else read_timeout)
        return connection, target, extra


#: Control characters and spaces: no HTTP request line can carry them.
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


def checked_url(url: str) -> SplitResult:
    """The parts of a download URL that a request can be sent to.

    Raises:
        DownloadError: The URL is malformed (a bad port, a control character or space) or
            not http(s); the message never shows its query (the signature).
    """
    if _UNSENDABLE.search(url):
        # No HTTP request can carry it; retrying would not help.
        raise DownloadError(f"the API gave a malformed download URL: {redact_url(url)}")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise DownloadError(f"the API gave a malformed download URL: {redact_url(url)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"the API gave a download URL that is not http(s): {redact_url(url)}")
    return parts


def _proxy_headers(proxy: ProxyURL) -> dict[str, str]:
    if proxy.username is None:
        return {}
    credentials = f"{proxy.username}:{proxy.password or ''}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
