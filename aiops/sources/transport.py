"""The pulls' HTTP/1.1 transport: httpx's requests over the standard library's ``http.client``.

A pull of 100,000 Jira issues or GitHub items is 1,000 requests of 100 records. httpx's own
transport (httpcore) costs about 0.26 ms of CPU a request on loopback, ``http.client`` about 0.09
(this transport, measured in one process against the bench's replay server, ``bench/pull.py``):
with 1,000 pages, 0.17 s, half the time the same records take to import from a CSV. The requests
and responses stay httpx's (and its own transport through a proxy, or one tests inject); only the
bytes on the wire go through ``http.client``: keep-alive connections kept per site (one per page
asked at once), a kept one the server closed meanwhile not reused (as httpcore checks before
reusing), ``Content-Encoding`` decoded by httpx, failures raised as httpx's errors (the pull
says them in its own words: ``http.Http``). A request is sent and its response read in two steps
(``send``, ``Sent.read``): a pull asks for the next page, then turns the page it has into
records while the server answers (``http.Http.paged``).
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import urllib.request
from collections.abc import Callable
from functools import cache, partial

import httpx

Site = tuple[str, str, int]  # scheme, host, port


def site_transport(url: httpx.URL) -> httpx.BaseTransport:
    """The transport to one API site: ``http.client``'s, or httpx's own through the proxy the
    environment names for the site (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``; not for a
    host ``NO_PROXY`` lists), as httpx's client would choose."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(url.host):
        return httpx.HTTPTransport(proxy=proxy if "://" in proxy else f"http://{proxy}", verify=tls_context())
    return StdlibTransport()


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context a process (loading the CA bundle costs tens of milliseconds)."""
    return httpx.create_ssl_context()


class Sent:
    """A request sent: ``read()`` waits for its response (its body read); ``drop()`` lets go of a
    response that will not be read (its connection closed, never reused with an answer pending)."""

    def __init__(self, read: Callable[[], httpx.Response], drop: Callable[[], None] | None = None) -> None:
        self._read, self._drop = read, drop
        self._response: httpx.Response | None = None

    def read(self) -> httpx.Response:
        """The response (read once: its connection may serve another request afterwards)."""
        if self._response is None:
            self._drop = None
            self._response = self._read()
        return self._response

    def drop(self) -> None:
        if self._drop is not None:
            self._drop()
            self._drop = None


def send(transport: httpx.BaseTransport, request: httpx.Request) -> Sent:
    """``request`` sent on ``transport``. On the pulls' own, the response is read when asked for:
    the caller works while the server answers. Any other transport answers here and now."""
    if isinstance(transport, StdlibTransport):
        return transport.send(request)
    response = transport.handle_request(request)
    response.request = request
    try:
        response.read()
    finally:
        response.close()
    return Sent(lambda: response)


class StdlibTransport(httpx.BaseTransport):
    """GET requests on kept ``http.client`` connections (thread-safe: each request holds its own)."""

    def __init__(self) -> None:
        self._idle: dict[Site, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.send(request).read()

    def send(self, request: httpx.Request) -> Sent:
        """``request`` written on a kept connection (or a new one); its response read by ``read()``."""
        site = self.site(request.url)
        timeouts = request.extensions.get("timeout", {})
        connection = self._take(site) or _connect(site, timeouts.get("connect"))
        try:
            _send(connection, request, timeouts.get("read"))
        except (http.client.HTTPException, OSError) as e:
            raise _failure(e, connection, request) from e
        return Sent(partial(self._receive, site, connection, request), connection.close)

    def site(self, url: httpx.URL) -> Site:
        """Where ``url``'s request goes: its host as sent (IDNA-encoded, an IPv6 address without its
        brackets: http.client's own) and port."""
        return (url.scheme, url.raw_host.decode("ascii"), url.port or (443 if url.scheme == "https" else 80))

    def _receive(
        self, site: Site, connection: http.client.HTTPConnection, request: httpx.Request
    ) -> httpx.Response:
        try:
            response = connection.getresponse()
            body = response.read()
        except (http.client.HTTPException, OSError) as e:
            raise _failure(e, connection, request) from e
        if response.will_close:
            connection.close()
        else:
            self._keep(site, connection)
        answer = httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1")},
            request=request,
        )
        answer.read()  # Content-Encoding decoded by httpx
        return answer

    def _take(self, site: Site) -> http.client.HTTPConnection | None:
        """A kept connection to ``site`` the server has not closed meanwhile, if any."""
        while True:
            with self._lock:
                idle = self._idle.get(site)
                connection = idle.pop() if idle else None
            if connection is None or not _readable(connection):
                return connection
            connection.close()  # closed by the server (or it sent something unasked): not reused

    def _keep(self, site: Site, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(site, []).append(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()


def _readable(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection's socket has something to read: the server closed it."""
    if connection.sock is None:
        return True
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN)
    return bool(poller.poll(0))


def _connect(site: Site, timeout: float | None) -> http.client.HTTPConnection:
    scheme, host, port = site
    if scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=tls_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.connect()
    except TimeoutError as e:
        raise httpx.ConnectTimeout(str(e)) from e
    except OSError as e:
        raise httpx.ConnectError(f"{type(e).__name__}: {e}") from e
    return connection  # with TCP_NODELAY (http.client sets it): a request goes out at once


def _failure(
    error: http.client.HTTPException | OSError, connection: http.client.HTTPConnection, request: httpx.Request
) -> httpx.TransportError:
    """A failed exchange as httpx's error; its connection closed (never reused mid-answer)."""
    connection.close()
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout(str(error), request=request)
    return httpx.RemoteProtocolError(f"{type(error).__name__}: {error}", request=request)


def _send(connection: http.client.HTTPConnection, request: httpx.Request, timeout: float | None) -> None:
    """The request as httpx built it (its Host, Accept-Encoding and the rest of its headers)."""
    connection.putrequest(request.method, request.url.raw_path.decode("ascii"), skip_host=True,
                          skip_accept_encoding=True)  # fmt: skip
    for name, value in request.headers.raw:
        connection.putheader(name.decode("latin-1"), value.decode("latin-1"))
    connection.endheaders()
    if connection.sock is not None:
        connection.sock.settimeout(timeout)
