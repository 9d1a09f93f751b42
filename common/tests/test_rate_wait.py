"""Rate-limit waits are reported as wall time: two workers waiting the same second is one second."""

from __future__ import annotations

import threading

from gwsync.http import RateLimiter


def test_rate_limit_waits_are_wall_time_not_summed_across_workers():
    now = [0.0]
    lock = threading.Lock()
    both = threading.Barrier(2)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            start = now[0]
            sleeps.append(seconds)
            first_two = len(sleeps) <= 2
        if first_two:
            both.wait(timeout=10)  # the two workers wait at the same time
        with lock:
            now[0] = max(now[0], start + seconds)

    limiter = RateLimiter(1, burst=1, clock=lambda: now[0], sleep=sleep)
    limiter.acquire()  # the bucket is empty now
    workers = [threading.Thread(target=limiter.acquire) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert sum(sleeps) == 3.0  # 1 s each side by side, then 1 s for the one left behind
    assert limiter.waited == 2.0 and now[0] == 2.0
