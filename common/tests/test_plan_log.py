"""A run's plan in bounded memory: spilled past a limit, read back in order, streamed into the report."""

from __future__ import annotations

import io
import json
import threading
from decimal import Decimal

from gwsync.plan import Action, Change, Kind
from gwsync.plan_log import PlanLog
from gwsync.report import write_document


def action(n: int) -> Action:
    return Action(Kind.UPDATE, f"shop|x|{n}|", f"Mug {n} – żółty",
                  (Change("base_price", {"amount": Decimal("10.00")}, {"amount": Decimal(f"{n}.50")}),))


def test_actions_past_the_limit_are_spilled_and_read_back_in_order_as_they_were():
    log = PlanLog(in_memory=3)
    for n in range(10):
        log.append(action(n))
    read = list(log)
    assert len(log) == 10 and len(read) == 10
    assert [type(a).__name__ for a in read[2:4]] == ["Action", "SpilledAction"]
    assert [str(a) for a in read] == [str(action(n)) for n in range(10)]
    as_json = [json.loads(json.dumps(a.as_dict(), default=str)) for a in read]
    assert as_json == [json.loads(json.dumps(action(n).as_dict(), default=str)) for n in range(10)]
    assert {a.kind for a in read} == {Kind.UPDATE}
    log.append(action(10))  # planning goes on after a read: nothing is overwritten
    assert [str(a) for a in log] == [str(action(n)) for n in range(11)]
    log.close()


def test_appends_from_many_threads_while_the_plan_is_read_lose_nothing():
    log = PlanLog(in_memory=5)

    def plan(start: int) -> None:
        for n in range(start, start + 300):
            log.append(action(n))

    threads = [threading.Thread(target=plan, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        assert len({str(a) for a in log}) <= 1200  # a read in the middle sees whole lines only
    assert sorted(str(a) for a in log) == sorted(str(action(k * 1000 + n)) for k in range(4) for n in range(300))


def test_the_report_document_streams_its_plan_and_stays_valid_json():
    log = PlanLog(in_memory=2)
    for n in range(5):
        log.append(action(n))
    out = io.StringIO()
    write_document({"tool": "gateway-x", "counts": {"updated": 5}, "plan": log.entries(), "exit_code": 0}, out)
    document = json.loads(out.getvalue())
    assert document["counts"] == {"updated": 5} and document["exit_code"] == 0
    assert [entry["item"] for entry in document["plan"]] == [f"shop|x|{n}|" for n in range(5)]
    empty = io.StringIO()
    write_document({"tool": "gateway-x", "plan": PlanLog().entries()}, empty)
    assert json.loads(empty.getvalue()) == {"tool": "gateway-x", "plan": []}
    alone = io.StringIO()
    write_document({"plan": log.entries()}, alone)
    assert len(json.loads(alone.getvalue())["plan"]) == 5
