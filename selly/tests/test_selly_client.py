"""Selly's table API: damaged answers, the handshake, token renewal, bounded retries, secrets."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses

from gwsync.errors import AuthError, EXIT_CANNOT_RUN
from gwsync.http import CallStats, HttpClient
from gwsync.testing.harness import Harness
from gwsync_selly.client import TABLE_ATTEMPTS, SellyClient, TableUnreadable
from gwsync_selly.connector import SellyConnector
from gwsync_selly.decoding import DamagedAnswer, decode_table
from gwsync_selly.fake import API_ID, APP_KEY, OTHER_KEY, SellyFake

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def encoded(name: str) -> bytes:
    """A recorded table as the API sends it: base64 of the JSON text."""
    return base64.b64encode((FIXTURES / name).read_bytes())


# -- decoding ---------------------------------------------------------------------------------

def test_recorded_table_decodes_from_base64():
    table = decode_table(encoded("variants.json"))
    assert table.rows == load("variants.json") and table.trailing_bytes == 0


def test_garbage_after_the_json_is_cut_at_the_end_of_the_json_value():
    rows = [{"opis": "a ] b", "tags": [[1, 2], [3]]}, {"opis": "[x]"}]  # "cut at the first ]" breaks here
    body = base64.b64encode(json.dumps(rows).encode() + b"\xff\xfe]} trailing\x00")
    table = decode_table(body)
    assert table.rows == rows and table.trailing_bytes > 0


def test_utf8_garbage_after_the_json_is_cut_too():
    body = base64.b64encode(json.dumps([{"nazwa": "Żółć"}], ensure_ascii=False).encode() + b"]]}xyz")
    assert decode_table(body).rows == [{"nazwa": "Żółć"}]


def test_a_plain_json_answer_is_read_as_well():
    body = (FIXTURES / "categories.json").read_bytes() + b"\xff garbage"
    assert decode_table(body).rows == load("categories.json")


def test_garbage_after_the_base64_text_is_ignored():
    assert decode_table(encoded("products.json") + b"\x00\x17#garbage").rows == load("products.json")
    padded = base64.b64encode(b'[{"a": 1}] ')  # ends in "=" padding
    assert decode_table(padded + b"QUJD").rows == [{"a": 1}]


@pytest.mark.parametrize("body, reason", [
    (base64.b64encode(b'[{"a": 1}, {"b": [1, 2'), "no complete JSON"),
    (b"\x00\x01<html>upstream error</html>", "no complete JSON|not base64"),
    (base64.b64encode(b'{"error": "x"}'), "expected a JSON array"),
    (b"", "empty answer"),
])
def test_an_answer_without_a_complete_array_is_damaged(body, reason):
    with pytest.raises(DamagedAnswer) as error:
        decode_table(body)
    assert any(part in str(error.value) for part in reason.split("|"))


# -- the client against the fake ------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def make_client(url: str, api_id: str = API_ID, key: str = APP_KEY, clock=None) -> SellyClient:
    http = HttpClient(url, service="selly", stats=CallStats(), retries=1)
    return SellyClient(http, api_id, key, clock=clock or Clock(), sleep=lambda s: None)


@pytest.fixture
def fake():
    with SellyFake.running() as fake:
        fake.seed(6)
        yield fake


def test_handshake_sends_only_the_hash_of_coin_and_key(fake):
    seen: list = []
    client = make_client(fake.url)
    client.http.on_response = seen.append
    client.authenticate()
    assert len(seen) == 2 and seen[0].url.endswith("/?api=" + API_ID)
    coin = seen[0].json()["coin"]
    assert seen[1].url.endswith("/?key=" + hashlib.sha256(f"{coin}{APP_KEY}".encode()).hexdigest())
    assert all(APP_KEY not in r.url and APP_KEY not in r.request.headers.get("Authorization", "") for r in seen)
    assert client.token is not None and client.token.expires > datetime.now(UTC)


def test_whole_table_in_one_call(fake):
    client = make_client(fake.url)
    rows = client.table("produkty")
    assert [r["product_id"] for r in rows] == list(range(1, 7))
    assert fake.shop.calls["table produkty"] == 1


def test_token_is_renewed_before_it_expires(fake):
    clock = Clock()
    client = make_client(fake.url, clock=clock)
    client.table("kategorie")
    clock.now += timedelta(minutes=59)  # the fake's tokens live an hour: less than the margin left
    client.table("kategorie")
    assert client.handshakes == 2 and fake.shop.calls["table kategorie"] == 2


def test_refused_token_is_renewed_once(fake):
    client = make_client(fake.url)
    client.table("kategorie")
    fake.shop.expire_tokens()
    assert client.table("kategorie")
    assert client.handshakes == 2


def test_token_refused_again_after_renewal_is_an_auth_error(fake):
    client = make_client(fake.url)
    fake.shop.token_lifetime = timedelta(seconds=-1)  # every token is dead on arrival
    with pytest.raises(AuthError, match="refused a fresh token"):
        client.table("kategorie")


def test_wrong_key_and_wrong_api_id_say_what_to_fix(fake):
    with pytest.raises(AuthError, match="SELLY_APP_KEY") as error:
        make_client(fake.url, key=OTHER_KEY).authenticate()
    assert OTHER_KEY not in str(error.value)
    with pytest.raises(AuthError, match="SELLY_API_ID"):
        make_client(fake.url, api_id="999").authenticate()


@pytest.mark.parametrize("kind", ["garbage", "tail"])
def test_answer_damaged_after_the_json_is_repaired_without_asking_again(fake, kind):
    client = make_client(fake.url)
    fake.shop.damage("produkty_warianty", kind)
    rows = client.table("produkty_warianty")
    assert len(rows) == len(fake.shop.tables["produkty_warianty"])
    assert fake.shop.calls["table produkty_warianty"] == 1 and client.damaged == {"produkty_warianty": 1}


@pytest.mark.parametrize("kind", ["truncated", "not-base64"])
def test_unreadable_answer_is_asked_again(fake, kind):
    client = make_client(fake.url)
    fake.shop.damage("produkty", kind, times=TABLE_ATTEMPTS - 1)
    assert len(client.table("produkty")) == 6
    assert fake.shop.calls["table produkty"] == TABLE_ATTEMPTS


def test_retries_are_bounded(fake):
    client = make_client(fake.url)
    fake.shop.damage("produkty", "truncated", times=TABLE_ATTEMPTS + 3)
    with pytest.raises(TableUnreadable, match="could not be read in 4 attempts"):
        client.table("produkty")
    assert fake.shop.calls["table produkty"] == TABLE_ATTEMPTS


@responses.activate
def test_token_never_appears_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    base = "https://api.selly.example"
    token = "f" * 32
    responses.get(f"{base}/", json={"coin": 12}, match=[responses.matchers.query_param_matcher({"api": "7"})])
    responses.get(f"{base}/", json={"success": {"token": token, "expire_at": "2999-01-01T00:00:00.000Z"}})
    responses.get(f"{base}/apig", status=400, body=f"bad request for token={token}")
    client = make_client(base, api_id="7", key="k" * 20)
    with pytest.raises(Exception) as error:
        client.table("produkty")
    assert token not in str(error.value)
    assert all(token not in r.getMessage() and "k" * 20 not in r.getMessage() for r in caplog.records)


# -- the connector ----------------------------------------------------------------------------

def test_one_run_costs_two_handshake_calls_and_one_call_per_table(tmp_path):
    with SellyFake.running() as fake:
        fake.seed(30)
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            before = fake.shop.calls["total"]
            gw.run()
            table_calls = sum(n for k, n in fake.shop.calls.items() if k.startswith("table "))
            counts = (fake.shop.calls["coin"], fake.shop.calls["token"], table_calls, fake.shop.calls["picture check"])
            assert counts == (1, 1, 8, 1)
            # the rest are the Gateway copying pictures from the shop's site
            assert fake.shop.calls["total"] - before - 11 == fake.shop.calls["site"]


def test_unreadable_table_stops_the_run_without_archiving(tmp_path):
    with SellyFake.running() as fake:
        fake.seed(8)
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            gw.run()
            removed = fake.remove_product()
            fake.shop.damage("produkty_zdjecia", "truncated", times=TABLE_ATTEMPTS)
            result = gw.cli(["import"])
            assert result.exit_code == EXIT_CANNOT_RUN
            assert "produkty_zdjecia could not be read" in result.output and "Traceback" not in result.output
            live = {p["data"]["source"]["product_id"] for p in gw.products()}
            assert removed in live  # nothing archived on a partial read
            report = gw.run()
            assert report.counts["archived"] == 1 and report.exit_code == 0


def test_check_reports_what_it_sees(tmp_path):
    with SellyFake.running() as fake:
        fake.seed(2)
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            result = gw.cli(["check"])
            assert result.exit_code == 0, result.output
            assert f"Selly API id {API_ID}: key accepted" in result.stdout and "5 categories" in result.stdout
        with Harness(SellyConnector, {**fake.config(), "shop_url": fake.url + "/nowhere"}, tmp_path / "b") as gw:
            result = gw.cli(["check"])
            assert result.exit_code == EXIT_CANNOT_RUN and "SELLY_SHOP_URL" in result.output


def test_piped_answers_come_in_the_readme_order(tmp_path):
    """docker run -i: signing key, shop GUID, API id, application key; shop URL from the environment."""
    with SellyFake.running() as fake:
        fake.seed(3)
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
                   "SELLY_SHOP_URL": fake.url, "SELLY_API_URL": fake.url}
            answers = "\n".join([gw.signing_key, gw.shop_guid, API_ID, APP_KEY]) + "\n"
            result = gw.cli(["import"], env=env, input=answers)
            assert result.exit_code == 0, result.output
            assert len(gw.products()) == fake.expected_items() and APP_KEY not in result.output


def test_api_id_must_be_a_number(tmp_path):
    with SellyFake.running() as fake, Harness(SellyConnector, {**fake.config(), "api_id": "abc"}, tmp_path) as gw:
        result = gw.cli(["check"])
        assert result.exit_code == 2 and "SELLY_API_ID must be the numeric API id" in result.stderr
        assert fake.shop.calls["total"] == 0


def test_tokens_stay_out_of_output_report_and_state(tmp_path):
    with SellyFake.running() as fake:
        fake.seed(4)
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            report_file = tmp_path / "report.json"
            fake.shop.damage("produkty", "truncated")  # a logged retry on the way
            output = gw.cli(["import", "-v", "--report", str(report_file)]).output
            tokens = list(fake.shop.tokens)
            assert tokens and "Selly: table produkty answer 1 of 4 unreadable" in output
            files = [report_file.read_bytes()] + [p.read_bytes() for p in gw.state_dir.rglob("*") if p.is_file()]
            for token in tokens:
                assert token not in output and all(token.encode() not in blob for blob in files)


def test_picture_extension_is_checked_once_per_run(tmp_path):
    with SellyFake.running() as fake:
        fake.seed(4)
        fake.shop.picture_extension = "png"  # a shop whose files are not .jpg
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            report = gw.run()
            assert any("pictures are .png files" in note for note in report.notes)
            assert report.images["copied"] == len(fake.shop.tables["produkty_zdjecia"])
            assert not report.image_problems
            assert gw.run().writes == 0


def test_a_shop_without_the_pictures_keeps_jpg_and_says_so(tmp_path):
    with SellyFake.running() as fake:
        fake.seed(3)
        fake.shop.picture_extension = "tif"
        with Harness(SellyConnector, fake.config(), tmp_path) as gw:
            report = gw.run()
            assert any("did not serve the picture" in note and note.endswith("(pictures are addressed as .jpg)")
                       for note in report.notes)
