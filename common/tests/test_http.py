import socket

import pytest
from gwsync.errors import Unreachable
from gwsync.http import CallStats, HttpClient, RateLimiter, route_of
from gwsync.redact import redact, register_secret
from gwsync.testing import serve
from werkzeug.wrappers import Request, Response


class Flaky:
    """Answers `status` to the first `failures` requests, then 200; remembers what it saw."""

    def __init__(self, failures: int, status: int = 503, headers: dict | None = None) -> None:
        self.failures, self.status, self.headers = failures, status, headers or {}
        self.seen: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.seen.append(request.method)
        if len(self.seen) <= self.failures:
            return Response("busy", status=self.status, headers=self.headers)(environ, start_response)
        return Response('{"ok": true}', content_type="application/json")(environ, start_response)


def client(url: str, stats: CallStats | None = None) -> HttpClient:
    return HttpClient(url, service="test", stats=stats or CallStats(), retries=3)


def test_get_is_retried_and_every_attempt_is_counted():
    app = Flaky(2)
    stats = CallStats()
    with serve(app) as server:
        response = client(server.url, stats).get("items/12")
    assert response.status_code == 200 and app.seen == ["GET"] * 3
    assert stats.total() == 3 and stats.retries == 2
    assert list(stats.per_route()) == [f"127.0.0.1:{server.url.rsplit(':', 1)[1]} GET /items/{{id}}"]


def test_plain_post_is_sent_once_but_a_search_post_is_retried():
    app = Flaky(2)
    with serve(app) as server:
        http = client(server.url)
        assert http.post("create", json={}).status_code == 503
        assert app.seen == ["POST"]
        assert http.post("search", json={}, idempotent=True).status_code == 200
    assert app.seen == ["POST", "POST", "POST"]


def test_429_waits_for_retry_after_then_goes_on():
    app = Flaky(1, status=429, headers={"Retry-After": "0"})
    stats = CallStats()
    with serve(app) as server:
        assert client(server.url, stats).get("x").status_code == 200
    assert stats.throttled == 1


def test_unreachable_host_is_one_clean_error_without_secrets():
    register_secret("topsecretvalue123")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = HttpClient(f"http://127.0.0.1:{port}", service="shop", retries=0)
    with pytest.raises(Unreachable) as err:
        http.get("api/products?ws_key=topsecretvalue123")
    assert "connection refused" in str(err.value) and "topsecretvalue123" not in str(err.value)


def test_user_agent_names_the_tool_and_service():
    seen = {}

    def app(environ, start_response):
        seen["ua"] = environ.get("HTTP_USER_AGENT")
        return Response("ok")(environ, start_response)

    with serve(app) as server:
        client(server.url).get("/")
    assert seen["ua"].startswith("gateway-sync/") and seen["ua"].endswith(" test")


def test_rate_limiter_spaces_calls_and_honours_hold():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.acquire()
    assert now[0] == pytest.approx(1.0)
    limiter.hold(5)
    limiter.acquire()
    assert now[0] >= 6.0


def test_route_of_hides_ids_and_redact_hides_query_secrets():
    assert route_of("PUT", "http://h/organizations/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f/products/7/") == \
        "PUT /organizations/{id}/products/{id}/"
    assert redact("GET /api?output_format=JSON&ws_key=ABCDEF") == "GET /api?output_format=JSON&ws_key=***"
    assert redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer ***"
    assert redact("used as standalone Bearer tokens") == "used as standalone Bearer tokens"


def test_retry_false_sends_even_a_get_once():
    app = Flaky(1)
    with serve(app) as server:
        assert client(server.url).get("probe", retry=False).status_code == 503
    assert app.seen == ["GET"]


def test_user_info_in_a_url_never_reaches_an_error_message():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = HttpClient(f"http://vendor:pa55word-xyz@127.0.0.1:{port}/", service="feed", retries=0)
    with pytest.raises(Unreachable) as err:
        http.get("feed.xml")
    assert "pa55word-xyz" not in str(err.value) and "vendor" not in str(err.value)


def test_a_host_that_does_not_resolve_is_asked_for_once_not_after_backoffs(monkeypatch):
    lookups = []

    def unknown_host(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown_host)
    client = HttpClient("https://shop.invalid/", service="shop")
    with pytest.raises(Unreachable, match="host not found"):
        client.get("products")  # an idempotent GET: any other connection failure would be retried
    assert lookups == ["shop.invalid"]
