"""Adaptive Gateway rate (B12): shared pause, halving on 429/503, growth, ceiling, concurrency.

Time is a fake clock shared by the limiter and, where a sandbox is involved, by the
sandbox's rate-limit fault: sleeping advances it, so nothing here depends on timing.
"""

from __future__ import annotations

import base64
import threading

import pytest
from gwsync.gateway.client import GatewayClient
from gwsync.http import CallStats, HttpClient
from gwsync.ratecontrol import BETA, AdaptiveRate
from gwsync.sandbox import Faults, start_in_thread
from gwsync.sandbox.testkit import new_test_shop, sample_item

TAGS = "tags/"


class FakeClock:
    """`sleep` moves time on; every wait is remembered."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def limiter(clock: FakeClock, **kwargs) -> AdaptiveRate:
    return AdaptiveRate(clock=clock, sleep=clock.sleep, **kwargs)


def send_at_rate(pacer: AdaptiveRate, clock: FakeClock, per_second: float, count: int) -> list[float]:
    sent = []
    for _ in range(count):
        sent.append(pacer.send())
        pacer.answer(200, sent[-1])
        clock.advance(1 / per_second)
    return sent


# -- the limiter alone ----------------------------------------------------------------------

def test_no_rate_until_the_gateway_complains(clock):
    pacer = limiter(clock)
    for _ in range(500):
        pacer.answer(200, pacer.send())
    assert pacer.rate is None and clock.waits == []


def test_an_overload_halves_the_rate_actually_sent(clock):
    pacer = limiter(clock)
    send_at_rate(pacer, clock, per_second=40, count=200)
    pacer.answer(429, pacer.send(), retry_after=1)
    assert pacer.rate == pytest.approx(40 * BETA, rel=0.05)
    assert pacer.figures.cuts == 1


def test_many_answers_of_one_overload_make_one_pause_and_one_cut(clock):
    pacer = limiter(clock, concurrency=8)
    send_at_rate(pacer, clock, per_second=40, count=80)
    in_flight = [pacer.send() for _ in range(8)]  # eight workers' requests, all answered 429
    for sent in in_flight:
        pacer.answer(429, sent, retry_after=5)
    assert pacer.figures.cuts == 1 and pacer.figures.overloads == 8
    assert pacer.figures.paused_seconds == pytest.approx(5)
    paused_at = clock.now
    resent = pacer.send()
    assert resent >= paused_at + 5  # every worker waits for the one shared pause
    assert sum(clock.waits) == pytest.approx(5)


def test_a_pause_set_by_one_worker_holds_another(clock):
    pacer = limiter(clock)
    answered = []

    def worker_a() -> None:
        pacer.answer(503, pacer.send(), retry_after=2)
        answered.append("a")

    thread = threading.Thread(target=worker_a)
    thread.start()
    thread.join()
    sent = pacer.send()  # worker b never saw an overload, yet it waits
    assert answered == ["a"] and sent == pytest.approx(2.0)


def test_each_new_overload_after_a_pause_halves_again(clock):
    pacer = limiter(clock)
    send_at_rate(pacer, clock, per_second=40, count=200)
    pacer.answer(429, pacer.send(), retry_after=1)
    first = pacer.rate
    pacer.answer(429, pacer.send(), retry_after=1)  # sent after the pause: a new signal
    assert pacer.rate == pytest.approx(first * BETA) and pacer.figures.cuts == 2


def test_the_rate_grows_back_step_by_step_while_answers_are_fine(clock):
    pacer = limiter(clock)
    send_at_rate(pacer, clock, per_second=40, count=200)
    pacer.answer(429, pacer.send(), retry_after=1)
    halved = pacer.rate
    rates = []
    for _ in range(300):
        pacer.answer(200, pacer.send())
        rates.append(pacer.rate)
    assert rates == sorted(rates)  # never down while answers are fine
    assert rates[0] < 1.2 * halved  # no jump back at once
    assert rates[-1] > 1.8 * halved  # back near the rate that was overloaded, and probing above


def test_a_5xx_that_is_not_overload_does_not_cut(clock):
    pacer = limiter(clock)
    send_at_rate(pacer, clock, per_second=40, count=50)
    pacer.answer(500, pacer.send())
    pacer.answer(None, pacer.send())  # no answer at all (timeout)
    assert pacer.rate is None and pacer.figures.cuts == 0


def test_the_ceiling_spaces_calls_and_caps_growth(clock):
    pacer = limiter(clock, ceiling=4)
    sent = [pacer.send() for _ in range(21)]
    for at in sent:
        pacer.answer(200, at)
    assert sent[-1] - sent[0] == pytest.approx(5.0)  # 20 gaps of 1/4 s
    clock.advance(3600)
    pacer.answer(200, pacer.send())
    assert pacer.rate == 4


def test_an_overload_under_a_ceiling_still_halves(clock):
    pacer = limiter(clock, ceiling=10)
    for _ in range(40):
        pacer.answer(200, pacer.send())
    pacer.answer(429, pacer.send(), retry_after=1)
    assert pacer.rate == pytest.approx(5.0, rel=0.05)


def test_never_more_in_flight_than_the_concurrency(clock):
    pacer = limiter(clock, concurrency=3)
    inside = threading.Semaphore(0)
    release = threading.Event()
    entered = []

    def call() -> None:
        with pacer.slot():
            entered.append(1)
            inside.release()
            release.wait(10)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        assert inside.acquire(timeout=10)
    assert not inside.acquire(timeout=0.2)  # the fourth waits for a free place
    assert pacer.in_flight == 3
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(entered) == 6 and pacer.figures.max_in_flight == 3


# -- through HTTP, driven by the sandbox's fault injection ---------------------------------------

@pytest.fixture
def gateway(tmp_path, clock):
    faults = Faults(clock=clock)
    with start_in_thread(tmp_path / "gw.db", faults=faults) as server:
        yield server


@pytest.fixture
def shop(gateway):
    return new_test_shop(gateway.store)


def gateway_client(gateway, shop, pacer: AdaptiveRate) -> GatewayClient:
    return GatewayClient(gateway.url, shop.guid, base64.b64decode(shop.key), pacer=pacer)


def test_a_create_answered_429_is_resent_after_the_pause_and_stored_once(gateway, shop, clock):
    pacer = limiter(clock)
    client = gateway_client(gateway, shop, pacer)
    gateway.faults.configure(throttle_next=2, retry_after=3, fail_paths=r"/products$")
    stored = client.create_products([sample_item()])
    statuses = [e["status"] for e in gateway.store.journal("create_products")]
    assert len(stored) == 1 and statuses == [429, 429, 200]
    assert client.count_products() == 1
    assert clock.waits.count(3) == 2 and pacer.figures.cuts == 2
    assert client.http.stats.throttled == 2


def test_a_503_pauses_halves_and_is_resent(gateway, shop, clock):
    pacer = limiter(clock)
    client = gateway_client(gateway, shop, pacer)
    for _ in range(30):
        client.category_tags()
        clock.advance(0.05)  # 20 calls a second
    gateway.faults.configure(fail_next=1, error_status=503, fail_paths=r"/products$")
    client.create_products([sample_item()])
    assert pacer.rate == pytest.approx(20 * BETA, rel=0.1) and pacer.figures.cuts == 1
    assert client.count_products() == 1


def test_a_pause_from_one_call_holds_the_next_call_of_another_worker(gateway, shop, clock):
    pacer = limiter(clock)
    http = HttpClient(gateway.url, service="gateway", stats=CallStats(), retries=0, pacer=pacer,
                      resend_overload=True, headers=shop.headers)
    gateway.faults.configure(throttle_next=1, retry_after=4)
    assert http.get(TAGS).status_code == 429  # no retries left: this caller gives up
    response = http.get(TAGS, params={"type": "category"})
    assert response.status_code == 200 and clock.waits == [pytest.approx(4.0)]


def test_against_a_rate_limited_gateway_everything_lands_with_few_429s(gateway, shop, clock):
    """A sandbox allowing 10 requests a second: sequential calls, 0.02 s each on the fake clock."""
    pacer = limiter(clock)
    stats = CallStats()
    http = HttpClient(gateway.url, service="gateway", stats=stats, pacer=pacer, resend_overload=True,
                      headers=shop.headers, retries=10)
    gateway.faults.configure(rate_limit=10, retry_after=1)
    started = clock()
    for _ in range(400):
        assert http.get(TAGS).status_code == 200
        clock.advance(0.02)
    admitted = gateway.faults.rate_figures
    assert admitted.admitted == 400
    assert stats.throttled <= 0.05 * 400  # few overloads once the rate is found
    assert 400 / (clock() - started) >= 8.0  # and the allowed rate is mostly used
    assert pacer.figures.cuts >= 1


def test_a_ceiling_below_the_gateways_limit_never_meets_a_429(gateway, shop, clock):
    pacer = limiter(clock, ceiling=8)
    stats = CallStats()
    http = HttpClient(gateway.url, service="gateway", stats=stats, pacer=pacer, resend_overload=True,
                      headers=shop.headers)
    gateway.faults.configure(rate_limit=10, rate_limit_burst=1)
    sent = []
    for _ in range(50):
        assert http.get(TAGS).status_code == 200
        sent.append(pacer.last_sent())
    assert stats.throttled == 0 and gateway.faults.rate_figures.refused == 0
    assert (sent[-1] - sent[0]) == pytest.approx(49 / 8)


def test_a_streamed_answer_holds_its_place_until_it_is_closed(gateway, shop, clock):
    pacer = limiter(clock, concurrency=2)
    http = HttpClient(gateway.url, service="platform", stats=CallStats(), pacer=pacer, headers=shop.headers)
    response = http.get(TAGS, stream=True)
    assert pacer.in_flight == 1  # the body is still to be read: part of the transfer
    with response:
        assert response.json() is not None
    response.close()
    assert pacer.in_flight == 0
    http.get(TAGS)
    assert pacer.in_flight == 0


def test_urllib3s_own_retries_take_their_turn_in_the_limiter(gateway, shop, clock):
    pacer = limiter(clock, ceiling=2)
    stats = CallStats()
    http = HttpClient(gateway.url, service="gateway", stats=stats, pacer=pacer, resend_overload=True,
                      headers=shop.headers)
    gateway.faults.configure(fail_next=1, error_status=500)
    first = pacer.send()  # another caller's turn, just taken
    assert http.get(TAGS).status_code == 200
    assert stats.retries == 1 and pacer.figures.sends == 3  # the retry was paced like any call
    assert pacer.last_sent() == pytest.approx(first + 2 * 0.5)  # two turns at 2 a second
    assert pacer.figures.cuts == 0  # a 500 is no overload
