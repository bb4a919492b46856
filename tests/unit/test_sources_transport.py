"""The pulls' transport (httpx's requests over ``http.client``): kept connections, a connection the
server closed meanwhile, compressed answers, TLS, proxies, and failures in the pull's own words."""

from __future__ import annotations

import gc
import gzip
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from aiops.sources import http as http_module
from aiops.sources import transport
from aiops.sources.connector import bearer_or_basic
from aiops.sources.github import PAGE as GITHUB_PAGE
from aiops.sources.http import Http, SourceUnavailable
from aiops.sources.jira import CLOUD_PAGE as JIRA_PAGE
from aiops.sources.tokens import parse_token_ref
from aiops.sources.zendesk import page_decoder

Answer = Callable[[BaseHTTPRequestHandler, int], None]  # (handler, request number from 1)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (a refused certificate, a timeout) is what some tests do


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token, and no proxy (the machine's own would be asked instead of the test's servers)."""
    monkeypatch.setenv("TRANSPORT_TOKEN", "t0ken")
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server() -> Iterator[Callable[[Answer], tuple[str, list[int]]]]:
    """Start a loopback server answering with ``answer``; returns its URL and the client port of
    each request (one port per connection)."""
    servers: list[QuietServer] = []

    def start(answer: Answer) -> tuple[str, list[int]]:
        ports: list[int] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
                ports.append(self.client_address[1])
                answer(self, len(ports))

            def log_message(self, *args: object) -> None:
                pass

        httpd = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", ports

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def send(handler: BaseHTTPRequestHandler, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def client() -> Http:
    return Http("Test API", parse_token_ref("env:TRANSPORT_TOKEN"), bearer_or_basic)


def test_requests_reuse_a_kept_connection_and_one_the_server_closed_is_replaced(server):
    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        send(handler, json.dumps({"n": number, "auth": handler.headers["Authorization"]}).encode())
        if number == 2:  # closed after answering, without saying so (an idle timeout on the server)
            handler.close_connection = True

    url, ports = server(answer)
    with client() as http:
        bodies = [http.get(f"{url}/items", {"page": n, "q": "a b&c"})[0] for n in (1, 2, 3, 4)]
    assert [b["n"] for b in bodies] == [1, 2, 3, 4]
    assert {b["auth"] for b in bodies} == {"Bearer t0ken"}
    assert ports[0] == ports[1] != ports[2] == ports[3]  # kept; then a new one, kept again


def test_the_query_is_encoded_as_httpx_encodes_params(server):
    paths: list[str] = []

    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        paths.append(handler.path)
        send(handler, b"{}")

    url, _ = server(answer)
    with client() as http:
        http.get(f"{url}/rest/api/3/search", {"jql": '(project = "A B") ORDER BY updated', "startAt": 100})
        http.get(f"{url}/next?cursor=abc", {"include": "metric_sets"})
    assert paths == [
        "/rest/api/3/search?jql=%28project+%3D+%22A+B%22%29+ORDER+BY+updated&startAt=100",
        "/next?cursor=abc&include=metric_sets",
    ]


def test_a_compressed_answer_is_decoded(server):
    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        assert "gzip" in handler.headers["Accept-Encoding"]
        send(handler, gzip.compress(b'{"tickets": []}'), {"Content-Encoding": "gzip"})

    url, _ = server(answer)
    with client() as http:
        assert http.get(f"{url}/t")[0] == {"tickets": []}


def test_an_unreachable_site_stops_the_pull_in_its_own_words():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed when the test asks: nothing listens there
    with client() as http, pytest.raises(SourceUnavailable, match=r"could not be read \(ConnectError\)"):
        http.get(f"http://127.0.0.1:{port}/x")


def test_a_url_no_request_can_hold_stops_the_pull_in_its_own_words():
    """A next-page URL a server made up (a control character in it): httpx refuses to build the
    request with its own text, which never reaches the user."""
    with client() as http, pytest.raises(SourceUnavailable, match=r"could not be read \(InvalidURL\)"):
        http.get("http://127.0.0.1:9/x\x00y")


def test_an_answer_slower_than_the_timeout_stops_the_pull(server, monkeypatch):
    monkeypatch.setattr(http_module, "TIMEOUT_S", 0.2)

    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        time.sleep(0.6)
        send(handler, b"{}")

    url, _ = server(answer)
    with client() as http, pytest.raises(SourceUnavailable, match=r"could not be read \(ReadTimeout\)"):
        http.get(f"{url}/slow")


def test_decoded_pages_are_not_tracked_by_the_garbage_collector():
    """A pull holds 100,000 decoded records: tracked, they made a quarter of a Zendesk fetch
    collections (see bench/pull.py)."""
    jira = JIRA_PAGE.decode(b'{"issues": [{"key": "A-1", "fields": {"created": "x"}}], "nextPageToken": "t"}')
    github = GITHUB_PAGE.decode(b'[{"number": 1, "pull_request": {"merged_at": null}}]')
    zendesk = page_decoder({"tags": "x"}).decode(
        b'{"tickets": [{"id": 1, "tags": ["x"]}], "metric_sets": [{"ticket_id": 1}], "end_of_stream": true}'
    )
    decoded = [jira, jira.issues[0], jira.issues[0].fields, github[0], github[0].pull_request]
    decoded += [zendesk, zendesk.tickets[0], zendesk.metric_sets[0]]
    assert not any(gc.is_tracked(value) for value in decoded)


@pytest.fixture
def secure_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTPS server with a self-signed certificate for 127.0.0.1: its URL and the
    certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = QuietServer(("127.0.0.1", 0), _Secure)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/x", cert
    httpd.shutdown()
    httpd.server_close()


class _Secure(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        send(self, b'{"secure": true}')

    def log_message(self, *args: object) -> None:
        pass


def test_https_verifies_the_site_certificate(secure_url, monkeypatch):
    url, cert = secure_url
    with client() as http, pytest.raises(SourceUnavailable, match=r"could not be read \(ConnectError\)"):
        http.get(url)  # a certificate no known authority signed: refused
    monkeypatch.setattr(transport, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    with client() as http:
        assert http.get(url)[0] == {"secure": True}


def test_a_proxy_the_environment_names_is_used_as_httpx_would(server, monkeypatch):
    asked: list[str] = []

    def proxy(handler: BaseHTTPRequestHandler, number: int) -> None:
        asked.append(handler.path)  # a forward proxy is asked the whole URL
        send(handler, b'{"via": "proxy"}')

    proxy_url, _ = server(proxy)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "direct.example")
    assert isinstance(transport.site_transport(httpx.URL("http://api.example/x")), httpx.HTTPTransport)
    assert isinstance(
        transport.site_transport(httpx.URL("http://direct.example/x")), transport.StdlibTransport
    )
    with client() as http:
        assert http.get("http://api.example/rest?q=1")[0] == {"via": "proxy"}
    assert asked == ["http://api.example/rest?q=1"]
    monkeypatch.delenv("HTTP_PROXY")
    assert isinstance(transport.site_transport(httpx.URL("http://api.example/x")), transport.StdlibTransport)


def pages_of(url: str, http: Http, last: int):
    """``Http.paged`` over pages 1..``last`` of ``url`` (each page's body is its number)."""

    def following(answer: http_module.Answer) -> http_module.Asked | None:
        number = int(answer.body)
        return http.ask(f"{url}/p", {"page": number + 1}) if number < last else None

    return http.paged(http.ask(f"{url}/p", {"page": 1}), http_module.ANY_JSON, following)


def test_the_next_page_is_on_the_wire_while_a_page_is_handed_over(server):
    """One request at a time, but the next one sent before the caller turns a page into records:
    the server answers it meanwhile (here page 2's answer waits until the test has page 1)."""
    seen, answered, release = [], [], threading.Event()

    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        seen.append(handler.path)
        if number == 2:
            release.wait(5)
        answered.append(number)  # before the answer goes: a client that has it finds it here
        send(handler, handler.path.rpartition("=")[2].encode())

    url, ports = server(answer)
    with client() as http:
        pages = pages_of(url, http, 3)
        assert next(pages)[0] == 1 and answered == [1]  # handed over, page 2 not answered yet
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == ["/p?page=1", "/p?page=2"]  # asked already
        release.set()
        assert [body for body, _ in pages] == [2, 3]
        assert len(seen) == 3 and len(set(ports)) == 1  # nothing asked past the last; one connection
        assert http.get(f"{url}/p", {"page": 9})[0] == 9 and len(set(ports)) == 1  # still kept after


def test_a_page_left_unread_is_not_taken_for_the_next_answer(server):
    # The client port of each page, by page: the server's threads record in whatever order they
    # run, not the order the pages were asked in (the dropped page 2 may be seen after page 7).
    ports_by_path, lock = {}, threading.Lock()

    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        with lock:
            ports_by_path[handler.path] = handler.client_address[1]
        send(handler, handler.path.rpartition("=")[2].encode())

    url, _ = server(answer)
    with client() as http:
        pages = pages_of(url, http, 3)
        assert next(pages)[0] == 1
        pages.close()  # page 2 was asked and is never read: its connection is closed, not kept
        assert http.get(f"{url}/p", {"page": 7})[0] == 7
    deadline = time.monotonic() + 5
    while len(ports_by_path) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ports_by_path["/p?page=1"] == ports_by_path["/p?page=2"] != ports_by_path["/p?page=7"]


def test_a_next_page_named_in_the_headers_is_asked_before_the_page_is_decoded(server):
    """GitHub's Link header names the next page: it goes on the wire before this page is decoded."""
    events: list[str] = []

    class Decoder:  # msgspec's, noting when it decodes
        def decode(self, content: bytes) -> object:
            events.append("decoded")
            return json.loads(content)

    def answer(handler: BaseHTTPRequestHandler, number: int) -> None:
        send(handler, str(number).encode(), {"Link": '</p?page=2>; rel="next"'} if number == 1 else {})

    url, _ = server(answer)

    def following(answer: http_module.Answer) -> http_module.Asked | None:
        if "link" not in answer.headers:
            return None
        events.append("asked")
        return http.ask(f"{url}/p", {"page": 2})

    with client() as http:
        pages = http.paged(http.ask(f"{url}/p", {"page": 1}), Decoder(), following)  # type: ignore[arg-type]
        assert [body for body, _ in pages] == [1, 2]
    assert events == ["asked", "decoded", "decoded"]
