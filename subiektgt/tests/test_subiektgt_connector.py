"""The connector over a SQLite Subiekt GT database and the sandbox: incremental runs, photos, prompts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gwsync.connector import ReadContext
from gwsync.errors import EXIT_OK
from gwsync.testing.harness import Harness
from gwsync.testing.images import png
from gwsync_subiektgt.connector import SubiektGTConnector
from gwsync_subiektgt.database import DB_HOST


@pytest.fixture
def gw(subiekt, tmp_path):
    subiekt.seed(12)
    with Harness(SubiektGTConnector, subiekt.config(), tmp_path) as harness:
        yield harness


def db_queries(report) -> dict[str, int]:
    routes = report.as_dict()["calls"]["per_route"]
    return {route.split(" ", 1)[1]: n for route, n in routes.items() if route.startswith(DB_HOST)}


def live(gw: Harness) -> dict[tuple[str, str | None], dict]:
    return {(p["data"]["source"]["product_id"], p["data"]["source"]["variant_id"]): p for p in gw.products()}


def test_a_stock_change_is_one_update_and_reads_no_goods_in_full(gw, subiekt):
    gw.run()
    identity = subiekt.change_stock()
    report = gw.run()
    assert (report.counts["updated"], report.counts["created"], report.writes) == (1, 0, 1)
    queries = db_queries(report)
    assert "tw__Towar products" not in queries and queries["tw_Stan"] == 1
    assert queries["tw__Towar listing"] == 1 and "tw_ZdjecieTw BLOBs" not in queries
    [action] = report.plan
    assert action.kind == "stock" and action.identity.endswith(f"|{identity[0]}|{identity[1]}")


def test_a_price_change_lands_even_without_a_change_log_entry(gw, subiekt):
    gw.run()
    tw_id = subiekt._lone_live()
    before = live(gw)[(str(tw_id), None)]["base_price"]["amount"]
    subiekt.set_price(tw_id, Decimal("7.00"), log=False)
    report = gw.run()
    assert report.counts["updated"] == 1
    assert live(gw)[(str(tw_id), None)]["base_price"]["amount"] == pytest.approx(before + 7.0)


def test_a_logged_change_rereads_its_whole_model(gw, subiekt):
    gw.run()
    model_id, members = next(iter(sorted(subiekt.models.items())))
    subiekt.execute("UPDATE tw__Towar SET tw_Pole1 = 'XS' WHERE tw_Id = ?", (members[0],), log=members[0])
    report = gw.run()
    assert report.counts["updated"] == 1 and report.counts["failed"] == 0
    assert db_queries(report)["tw__Towar products by id"] == 1
    assert "XS" in live(gw)[(f"model-{model_id}", str(members[0]))]["name"]


def test_blocking_a_good_archives_it_even_without_a_log_entry(gw, subiekt):
    gw.run()
    tw_id = subiekt._lone_live()
    subiekt.execute("UPDATE tw__Towar SET tw_Zablokowany = 1 WHERE tw_Id = ?", (tw_id,))
    report = gw.run()
    assert report.counts["archived"] == 1
    assert (str(tw_id), None) not in live(gw)


def test_a_good_moved_into_a_model_becomes_its_variant(gw, subiekt):
    gw.run()
    model_id = next(iter(sorted(subiekt.models)))
    tw_id = subiekt._lone_live()
    subiekt.execute("UPDATE tw__Towar SET tw_Pole1 = 'XXXL' WHERE tw_Id = ?", (tw_id,))
    subiekt.execute("INSERT INTO sl_ModelTowar VALUES (?, ?, ?)", (9000, model_id, tw_id))
    report = gw.run()
    assert (report.counts["created"], report.counts["archived"]) == (1, 1), report.failures
    products = live(gw)
    assert (f"model-{model_id}", str(tw_id)) in products and (str(tw_id), None) not in products


def test_a_replaced_photo_is_uploaded_again_and_nothing_else(gw, subiekt):
    gw.run()
    tw_id = subiekt._lone_live()
    subiekt.execute("DELETE FROM tw_ZdjecieTw WHERE zd_IdTowar = ?", (tw_id,))
    subiekt.execute("INSERT INTO tw_ZdjecieTw VALUES (?, ?, ?, 1, ?)", (4000, tw_id, png((1, 2, 3), 3), 77))
    report = gw.run()
    assert (report.counts["updated"], report.images["uploaded"]) == (1, 1)
    assert db_queries(report)["tw_ZdjecieTw BLOBs"] == 1


def test_photos_are_fetched_in_batches_once_and_never_again(gw, subiekt):
    first = gw.run()
    photos = first.images["uploaded"] + first.images["reused"]
    blob_queries = db_queries(first)["tw_ZdjecieTw BLOBs"]
    assert photos > 10 and blob_queries <= photos // 4
    full = gw.run(full=True)
    assert "tw_ZdjecieTw BLOBs" not in db_queries(full) and full.writes == 0


def test_rows_left_out_by_rule_are_counted_in_the_report(gw, subiekt):
    report = gw.run()
    assert ("Subiekt GT: rows left out by rule (not goods for the e-shop): 1 services, 1 sets, 2 deleted, "
            "1 not for the e-shop (tw_SklepInternet)") in report.notes


def test_an_empty_photo_is_reported_with_the_symbol_and_the_product_goes_on(gw, subiekt):
    report = gw.run()
    [problem] = report.image_problems
    assert "SZAL-1" in problem.reason and "NULL" in problem.reason
    scarf = [p for p in gw.products() if p["name"] == "Szalik w kratę"]
    assert len(scarf) == 1 and len(scarf[0]["images"]) == 1


def test_the_cursor_keeps_the_databases_own_clock_value(subiekt):
    subiekt.seed(3)
    connector = SubiektGTConnector(subiekt.config())
    ctx = ReadContext()
    list(connector.read(ctx))
    clock = connector.db.change_clock()
    assert json.loads(ctx.new_cursor)["meta"]["clock"] == {"text": clock}
    subiekt.change_price()
    again = ReadContext(cursor=ctx.new_cursor, full=False, known_product_ids=frozenset())
    list(connector.read(again))
    assert json.loads(again.new_cursor)["meta"]["clock"] == {"text": connector.db.change_clock()} != {"text": clock}


def test_check_names_what_it_imports_what_it_leaves_out_and_the_warehouses(gw, subiekt):
    result = gw.cli(["check"])
    assert result.exit_code == EXIT_OK, result.output
    line = result.stdout.splitlines()[0]
    for words in ("goods to import", "1 services", "1 sets", "2 deleted", "1 not for the e-shop",
                  "stock from MAG, SKL", "HUR (Hurtownia)", "'Detaliczna'"):
        assert words in line
    assert subiekt.password not in result.output


def test_docker_run_i_answers_url_then_password_only_when_the_url_lacks_one(subiekt, tmp_path):
    subiekt.seed(2)
    with Harness(SubiektGTConnector, subiekt.config(), tmp_path) as gw:
        env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
               "SUBIEKT_WAREHOUSES": "MAG"}
        url_without = f"sqlite://subiekt@/{subiekt.path}"
        answers = "\n".join([gw.signing_key, gw.shop_guid, url_without, subiekt.password]) + "\n"
        result = gw.cli(["import"], env=env, input=answers)
        assert result.exit_code == EXIT_OK, result.output
        assert result.stderr.index("SUBIEKT_DB_URL") < result.stderr.index("SUBIEKT_DB_PASSWORD")
        assert len(gw.products()) == subiekt.expected_items()
        assert subiekt.password not in result.output
        with_password = "\n".join([gw.signing_key, gw.shop_guid, subiekt.config()["db_url"]]) + "\n"
        again = gw.cli(["import"], env=env, input=with_password)
        assert again.exit_code == EXIT_OK and "SUBIEKT_DB_PASSWORD" not in again.stderr
        assert "created 0, updated 0" in again.stdout and subiekt.password not in again.output


def test_the_shop_is_the_server_and_database_without_the_login():
    connector = SubiektGTConnector({"db_url": "mssql+pymssql://reader:Pw-12345@ERP.local:1433/Firma_A",
                                    "schema": "dbo"})
    assert connector.shop == "erp.local:1433/Firma_A#dbo"


def test_sparse_photos_still_come_many_per_query(subiekt, tmp_path):
    subiekt.seed(120, photo_share=0.15, extras=False)
    with Harness(SubiektGTConnector, subiekt.config(), tmp_path) as gw:
        report = gw.run()
    photos = report.images["uploaded"] + report.images["reused"]
    assert photos >= 16 and db_queries(report)["tw_ZdjecieTw BLOBs"] <= -(-photos // 16) + 1


def test_a_renamed_model_is_renamed_on_the_next_run(gw, subiekt):
    gw.run()
    model_id, members = next(iter(sorted(subiekt.models.items())))
    subiekt.execute("UPDATE sl_ModelTw SET mdt_Nazwa = 'Polo premium' WHERE mdt_Id = ?", (model_id,))
    report = gw.run()
    assert report.counts["updated"] == len(members)
    assert all(live(gw)[(f"model-{model_id}", str(m))]["name"].startswith("Polo premium") for m in members)
