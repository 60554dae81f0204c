"""The storage transport: GET requests to signed cloud-storage URLs, with no token ever.

A signed URL is not the job API: it needs no bearer token and must never get one, so
storage is spoken to over connections of its own, never the session's httpx client. They
take their TLS context and proxy from the session's ``Network``, so both agree about the
network. ``http.client`` reading into reused buffers keeps up with curl over loopback,
where httpx's ``iter_raw`` reached about half of curl's speed.

Connections are kept alive. One whose answer was read to its end, and which the server did
not ask to close, waits in a small pool for the next request to the same origin through
the same proxy and TLS context; any other is closed. A pooled connection that the server
closed meanwhile is either seen to be closed before it is used, or fails as the request
goes out; either way the request goes again on a fresh connection, once, unseen by the
caller (so it never counts as an attempt of a download).

Redirects are followed up to ``MAX_REDIRECTS`` hops, never from https to http.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.client
import itertools
import logging
import os
import re
import select
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
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
#: Idle connections kept per origin, proxy and TLS context: httpx's default
#: ``max_keepalive_connections``, more than a collection's downloads use at once (8).
MAX_IDLE_PER_ROUTE = 20
#: Seconds an idle connection may wait before it is closed instead of reused: httpcore's
#: default ``keepalive_expiry``. One idle much longer may have been dropped silently on the
#: way (by a NAT or a firewall), and a request on it would hang until the read timeout.
KEEPALIVE_EXPIRY = 5.0
#: What a reused connection raises when the server had closed it: the request cannot go out
#: (reset, broken pipe) or no answer starts (``RemoteDisconnected`` is both a reset and a
#: bad status line). A timeout is not among them: a slow server has not closed anything.
_STALE_ERRORS: tuple[type[Exception], ...] = (ConnectionError, http.client.BadStatusLine)

_Key = tuple[str, str, int | None, ProxyURL | None, ssl.SSLContext | None]


@dataclass(frozen=True)
class _Route:
    """Where a request to a URL goes: its pool key, the request target and proxy headers."""

    key: _Key
    target: str
    extra: dict[str, str] = field(default_factory=dict)


class StorageResponse:
    """An answer from storage whose body is still to be read; close it when done.

    Closing hands the connection back for another request when the body was read to its
    end and the server keeps the connection open; otherwise the connection is closed.

    Attributes:
        response: The ``http.client`` response (status, headers, ``readinto``).
        url: The URL that answered (after redirects).
    """

    def __init__(
        self,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        url: str,
        *,
        release: Callable[[http.client.HTTPConnection], None] | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self._connection = connection
        self.response = response
        self.url = url
        self._release = release
        # The socket the request went out on: http.client forgets it (``connection.sock``
        # becomes None) as soon as an answer says the connection will close.
        self._sock = sock if sock is not None else connection.sock
        self._aborted = False
        self._closed = False

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self.response.status

    def header(self, name: str) -> str | None:
        """A header's value, or None."""
        return self.response.getheader(name)

    def close(self) -> None:
        """Close the response; its connection serves the next request if it can, else it is
        closed. Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        reusable = self._release is not None and self._read_to_end()
        self.response.close()
        if reusable and self._release is not None:
            self._release(self._connection)
        else:
            self._connection.close()

    def _read_to_end(self) -> bool:
        """Whether the whole body was read and the connection may carry another request."""
        response = self.response
        return (
            not self._aborted
            # A real socket (vcrpy replays on a stand-in) that the answer did not close.
            and isinstance(self._connection.sock, socket.socket)
            and not response.will_close
            and not response.chunked
            and response.length == 0
            and response.isclosed()
        )

    def abort(self) -> None:
        """From another thread: make a read that blocks on this answer return at once."""
        self._aborted = True
        sock = self._sock
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # closed already: no read waits on it
                sock.shutdown(socket.SHUT_RDWR)


class _IdleConnections:
    """Kept-alive connections waiting for their next request, by route; thread-safe.

    A forked child must not share its parent's sockets: its pool starts empty.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[_Key, list[tuple[float, http.client.HTTPConnection]]] = {}
        self._pid = os.getpid()

    def take(self, key: _Key) -> http.client.HTTPConnection | None:
        """The most recently used live idle connection for ``key``, or None."""
        stale: list[http.client.HTTPConnection] = []
        found: http.client.HTTPConnection | None = None
        oldest = time.monotonic() - KEEPALIVE_EXPIRY
        with self._lock:
            self._forget_after_fork()
            waiting = self._idle.get(key)
            if waiting:
                since, found = waiting.pop()
                if since < oldest:  # the others waited longer still
                    stale = [found, *(connection for _, connection in waiting)]
                    waiting.clear()
                    found = None
        for connection in stale:
            connection.close()
        if found is not None and _closed_by_peer(found):
            found.close()
            return None
        return found

    def give(self, key: _Key, connection: http.client.HTTPConnection) -> None:
        """Keep ``connection`` for the next request to ``key`` (closed if the pool is full)."""
        with self._lock:
            self._forget_after_fork()
            waiting = self._idle.setdefault(key, [])
            if len(waiting) < MAX_IDLE_PER_ROUTE:
                waiting.append((time.monotonic(), connection))
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle = [connection for waiting in self._idle.values() for _, connection in waiting]
            self._idle.clear()
        for connection in idle:
            connection.close()

    def _forget_after_fork(self) -> None:
        if self._pid != os.getpid():
            self._idle = {}  # the parent's sockets: neither used nor closed here
            self._pid = os.getpid()


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection cannot carry a request: the server closed it (or sent
    something unasked), so its socket reads as ready."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)  # pragma: no cover - Windows
    except (OSError, ValueError):
        return True
    return bool(readable)


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
        self._pool = _IdleConnections()
        # Idle sockets are closed when the client goes, not left to the garbage collector.
        weakref.finalize(self, self._pool.close)

    def __repr__(self) -> str:
        return f"StorageClient(network={self.network!r})"

    def close(self) -> None:
        """Close the idle connections (the client stays usable and connects anew)."""
        self._pool.close()

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
        timeout = self.read_timeout if read_timeout is None else read_timeout
        for hops in itertools.count():
            route = self._route(url)
            LOGGER.debug("GET %s %s", redact_url(url), headers.get("Range", ""))
            connection, response, sock = self._exchange(route, url, headers, timeout)
            location = response.getheader("Location")
            if response.status in REDIRECT_STATUSES and location:
                response.close()
                connection.close()
                url = next_hop(url, location, hops)
                continue
            release = functools.partial(self._pool.give, route.key)
            return StorageResponse(connection, response, url, release=release, sock=sock)
        raise AssertionError("unreachable")  # itertools.count() never ends; next_hop stops

    def _exchange(
        self, route: _Route, url: str, headers: dict[str, str], timeout: float
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, socket.socket | None]:
        """Send the request on an idle connection of its route, else (or if that one turns
        out closed) on a new one; return the connection, the answer and the socket."""
        connection = self._pool.take(route.key)
        if connection is not None:
            try:
                return self._request(connection, route, url, headers, timeout)
            except _STALE_ERRORS as exc:
                LOGGER.debug("a kept-alive storage connection was closed (%s): reconnecting", exc)
        return self._request(self._connect(route, url), route, url, headers, timeout)

    def _request(
        self,
        connection: http.client.HTTPConnection,
        route: _Route,
        url: str,
        headers: dict[str, str],
        timeout: float,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, socket.socket | None]:
        sock = connection.sock
        if sock is not None:  # None under vcrpy, which replays without sockets
            sock.settimeout(timeout)
        try:
            connection.request("GET", route.target, headers={**headers, **route.extra})
            response = connection.getresponse()
        except http.client.InvalidURL:
            connection.close()
            # Final, not a network hiccup; its message would quote the signed query.
            raise DownloadError(f"the download URL is malformed: {redact_url(url)}") from None
        except BaseException:
            connection.close()
            raise
        return connection, response, sock

    def _route(self, url: str) -> _Route:
        """Where a request for ``url`` goes: its pool key, target and proxy headers.

        Raises:
            DownloadError: The URL is malformed or not http(s).
            ConfigurationError: Its proxy cannot be used.
        """
        parts = checked_url(url)
        try:
            # Only the scheme, host and port choose a proxy: parsing the origin alone
            # spares httpx a check of every character of the long signed query.
            proxy = self.network.proxy_for(f"{parts.scheme}://{parts.netloc}")
        except httpx.InvalidURL:
            raise DownloadError(f"the download URL is malformed: {redact_url(url)}") from None
        if proxy is not None and proxy.scheme != "http":
            raise ConfigurationError(
                f"downloads cannot go through the https:// proxy {proxy.url}: storage "
                "connections tunnel through http:// proxies only (CONNECT keeps TLS end to end); "
                "give the proxy as http://"
            )
        context = self.network.ssl_context() if parts.scheme == "https" else None
        key: _Key = (parts.scheme, parts.hostname or "", parts.port, proxy, context)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        if parts.scheme == "http" and proxy is not None:
            # A plain-HTTP request through a proxy names the whole URL as its target.
            return _Route(key, parts._replace(fragment="").geturl(), _proxy_headers(proxy))
        return _Route(key, target)

    def _connect(self, route: _Route, url: str) -> http.client.HTTPConnection:
        """A new open connection for ``route`` (through its proxy, if any).

        Raises:
            DownloadError: The server's certificate is not trusted, or the URL is malformed.
            OSError: The connection failed.
        """
        scheme, host, port, proxy, context = route.key
        connection: http.client.HTTPConnection
        if scheme == "https":
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
            connection = http.client.HTTPConnection(
                proxy.host, proxy.port, timeout=self.connect_timeout
            )
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
        return connection


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
