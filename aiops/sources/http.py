"""One HTTP client for every connector: the token in one header, rate limits waited out (bounded),
and failures in the user's words (a 401 names the token reference, never the token).

Requests are httpx's requests and responses over a transport: the standard library's
``http.client`` (``transport.StdlibTransport``: a third of httpcore's CPU a request), httpx's
own through a proxy the environment names (``transport.site_transport``), or one injected
(``httpx.MockTransport`` in tests). Rate limits: a 429 (or a 403 with
``X-RateLimit-Remaining: 0``, GitHub's primary limit) is retried after
``Retry-After`` seconds or at ``X-RateLimit-Reset`` (epoch seconds), when that is within
``max_wait_s``; a longer wait stops the pull (nothing written) with the time to try again. Pages
may be fetched by several threads at once (``get`` is thread-safe): a rate limit pauses them all,
and one wait is taken for all the requests it refused. A list read one page at a time
(``paged``) sends each next request before the page before it is handed over: the server's work
and the loopback or network wait overlap the pull's own (decoding, records).

A page is decoded straight into the connector's typed shape (``msgspec``): only the fields a
record needs become Python objects, which is most of a pull's time otherwise; the shapes are
``gc=False`` structs (JSON holds no cycles), which the garbage collector never walks.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec

from aiops.clock import utcnow
from aiops.errors import AiopsError, IngestError, NotFound
from aiops.sources.tokens import TokenRef
from aiops.sources.transport import Sent, send, site_transport

DEFAULT_MAX_WAIT_S = 120.0
MAX_RATE_LIMIT_RETRIES = 5
TIMEOUT_S = 30.0
IN_FLIGHT = 4  # requests to one API at once, at most (pages asked ahead)
T = TypeVar("T")
ANY_JSON = msgspec.json.Decoder()


class SourceUnavailable(IngestError):
    """The tool's API could not be read to the end (connection, server error, rate limit)."""


class AuthRefused(IngestError):
    """The tool refused the token (401) or its permissions (403)."""


class Http:
    """GET JSON from one tool's API with the token of ``token_ref``."""

    def __init__(
        self,
        tool_label: str,
        token_ref: TokenRef,
        auth_header: Callable[[str], dict[str, str]],
        *,
        transport: httpx.BaseTransport | None = None,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tool = tool_label
        self.token_ref = token_ref
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.waited_s = 0.0
        self._gate = threading.Lock()  # held through a rate-limit wait: every request waits with it
        self._pauses = 0  # rate-limit waits taken: a request refused before the last one retries at once
        self._headers = httpx.Headers(
            {"Accept": "application/json", "Accept-Encoding": "gzip, deflate", "User-Agent": "saved-loops"}
            | auth_header(token_ref.read())
        )
        self._timeouts = {"timeout": httpx.Timeout(TIMEOUT_S).as_dict()}
        self._injected = transport
        self._transports: dict[str, httpx.BaseTransport] = {}  # by site: one a pull, in practice
        self._sites = threading.Lock()

    def close(self) -> None:
        with self._sites:
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()

    def _transport(self, url: httpx.URL) -> httpx.BaseTransport:
        if self._injected is not None:
            return self._injected
        site = f"{url.scheme}://{url.netloc.decode('ascii')}"
        with self._sites:
            if site not in self._transports:
                self._transports[site] = site_transport(url)
            return self._transports[site]

    def _start(self, url: str) -> Sent:
        """One GET sent. httpx's request and response models over a transport, without httpx's
        ``Client`` around them: its cookie jar, URL merging, auth and redirect machinery took 0.1 ms
        of CPU a request that a pull uses none of (a fifth of a 1,000-page fetch)."""
        try:
            request = httpx.Request("GET", url, headers=self._headers, extensions=self._timeouts)
            return send(self._transport(request.url), request)
        except (httpx.HTTPError, httpx.InvalidURL) as e:  # a next-page URL a server made up, too
            raise self._unreadable(e) from None

    def _read(self, sent: Sent) -> httpx.Response:
        try:
            return sent.read()
        except httpx.HTTPError as e:
            raise self._unreadable(e) from None

    def _unreadable(self, error: Exception) -> SourceUnavailable:
        return SourceUnavailable(
            f"the {self.tool} API could not be read ({type(error).__name__})",
            "check the base URL and the network, then pull again; nothing was written",
        )

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        decoder: msgspec.json.Decoder[Any] = ANY_JSON,
    ) -> tuple[Any, httpx.Headers]:
        """The body of a successful GET decoded by ``decoder`` (any JSON by default), and its headers."""
        return self.ask(url, params).answer(decoder)

    def ask(self, url: str, params: Mapping[str, str | int] | None = None) -> Asked:
        """A GET sent now; ``Asked.answer`` reads it (what the caller does in between, the server's
        work overlaps)."""
        if params:  # encoded here: httpx would parse the URL, then again to merge the params
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return Asked(self, url)

    def paged(
        self, asked: Asked, decoder: msgspec.json.Decoder[Any], following: Callable[[Answer], Asked | None]
    ) -> Generator[tuple[Any, httpx.Headers], None, None]:
        """The pages of a list read one at a time, from ``asked`` on, each decoded by ``decoder``
        with its headers. ``following(answer)`` asks for the next page (None: the list ends)
        before a page is handed over, so the server serves it while the caller turns this one into
        records; a next page named in the headers (GitHub's Link) is asked before this one is
        decoded, too. Still one request at a time; leaving early drops the request on the wire."""
        try:
            while True:
                answer = Answer(self, asked.response(), decoder)
                coming = following(answer)
                if coming is not None:
                    asked = coming
                yield answer.body, answer.headers
                if coming is None:
                    return
        finally:
            asked.drop()

    def _pause(self, wait: float, pauses_when_sent: int) -> None:
        """Wait out a rate limit, every thread with it; none when another thread already waited one
        out after this request went."""
        with self._gate:
            if self._pauses == pauses_when_sent:
                self.waited_s += wait
                self.sleep(wait)
                self._pauses += 1

    def _refusal(self, response: httpx.Response) -> AiopsError | None:
        """What an unsuccessful answer means, in the user's words (None: a success)."""
        status = response.status_code
        if status == 401:
            return AuthRefused(
                f"the {self.tool} API refused the token from {self.token_ref} (HTTP 401)",
                f"check that {self.token_ref} holds a valid, unexpired token; nothing was written",
            )
        if status == 403:
            return AuthRefused(
                f"the {self.tool} API refused access with the token from {self.token_ref} (HTTP 403)",
                "give that token read access to this project; nothing was written",
            )
        if status == 404:
            return NotFound(
                f"the {self.tool} API has no {response.request.url.path}",
                "check the base URL and the query (repository, project); nothing was written",
            )
        if status >= 400:
            return SourceUnavailable(
                f"the {self.tool} API answered HTTP {status}", "pull again later; nothing was written"
            )
        return None

    def _decoded(self, response: httpx.Response, decoder: msgspec.json.Decoder[Any]) -> Any:
        try:
            return decoder.decode(response.content)
        except msgspec.ValidationError as e:
            raise SourceUnavailable(
                f"the {self.tool} API answered in an unexpected shape ({e})",
                "check the base URL (the API's); nothing was written",
            ) from None
        except msgspec.DecodeError:
            raise SourceUnavailable(
                f"the {self.tool} API answered something that is not JSON",
                "check the base URL (the API's, not the web site's); nothing was written",
            ) from None


class Asked:
    """A GET on the wire: ``answer`` reads it, waiting out a rate limit (then asking again)."""

    def __init__(self, http: Http, url: str) -> None:
        self._http, self._url = http, url
        self._sent = self._send()

    def _send(self) -> Sent:
        with self._http._gate:  # not while another request's rate limit is waited out
            self._pauses = self._http._pauses
        return self._http._start(self._url)

    def answer(self, decoder: msgspec.json.Decoder[Any] = ANY_JSON) -> tuple[Any, httpx.Headers]:
        """The body decoded by ``decoder`` (any JSON by default), and its headers."""
        response = self.response()
        return self._http._decoded(response, decoder), response.headers

    def response(self) -> httpx.Response:
        """The successful response, its body read (a refusal raised in the user's words)."""
        http = self._http
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            response = http._read(self._sent)
            wait = rate_limit_wait(response)
            if wait is None:
                refusal = http._refusal(response)
                if refusal is not None:
                    raise refusal
                return response
            if wait > http.max_wait_s:
                until = utcnow() + timedelta(seconds=wait)
                raise SourceUnavailable(
                    f"the {http.tool} API is rate limited for {wait:.0f} s more (until {until:%H:%M} UTC)",
                    "pull again after that; nothing was written",
                )
            if attempt == MAX_RATE_LIMIT_RETRIES:
                break
            http._pause(wait, self._pauses)
            self._sent = self._send()
        raise SourceUnavailable(
            f"the {http.tool} API kept answering 'rate limited'", "pull again later; nothing was written"
        )

    def drop(self) -> None:
        """Let go of an answer not read (its connection closed)."""
        self._sent.drop()


class Answer:
    """A page answered: its headers, and its body decoded when first asked for."""

    def __init__(self, http: Http, response: httpx.Response, decoder: msgspec.json.Decoder[Any]) -> None:
        self.headers = response.headers
        self._http, self._response, self._decoder = http, response, decoder

    @cached_property
    def body(self) -> Any:
        return self._http._decoded(self._response, self._decoder)


def rate_limit_wait(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait before retrying, or None when the response is not a rate limit."""
    headers = response.headers
    limited = response.status_code == 429 or (
        response.status_code == 403 and headers.get("x-ratelimit-remaining") == "0"
    )
    if not limited:
        return None
    now = time.time() if now is None else now
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _retry_after_seconds(retry_after, now)
        if seconds is not None:
            return seconds
    reset = headers.get("x-ratelimit-reset")
    if reset is not None and reset.strip().isdigit():
        return max(0.0, float(reset) - now) + 1.0  # GitHub's reset is a whole second
    return 60.0  # limited without saying until when: GitHub's documented advice is a minute


def _retry_after_seconds(value: str, now: float) -> float | None:
    """``Retry-After`` in seconds or as an HTTP date (RFC 9110)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def asked_ahead(ask: Callable[[int], T], numbers: Iterable[int]) -> Generator[T, None, None]:
    """``ask(n)`` for each of ``numbers``, ``IN_FLIGHT`` at once, the answers in order (pages whose
    place the API lets a pull know ahead). Leaving early (a failed answer, the caller done) cancels
    the asks not started and waits for those running: no request outlives the pull."""
    todo = iter(numbers)
    with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="page") as pool:
        asked: deque[Future[T]] = deque(pool.submit(ask, n) for n in islice(todo, IN_FLIGHT))
        try:
            while asked:
                answer = asked.popleft().result()
                asked.extend(pool.submit(ask, n) for n in islice(todo, 1))
                yield answer
        finally:
            for future in asked:
                future.cancel()
