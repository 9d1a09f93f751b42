"""`docker run -i`: the signing key, the shop GUID, the feed location, then the feed's user name and password."""

from gwsync.errors import EXIT_OK
from gwsync.testing.harness import Harness
from gwsync_forteca.connector import FortecaConnector
from gwsync_forteca.fake import FortecaFake


def test_answers_piped_in_order(tmp_path):
    with FortecaFake.running() as fake, Harness(FortecaConnector, {}, tmp_path) as gw:
        env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
               **({"FEED_GROUP_BY": fake.config()["group_by"]} if "group_by" in fake.config() else {})}
        answers = [gw.signing_key, gw.shop_guid, fake.config()["source"], fake.USERNAME, fake.password]
        result = gw.cli(["import"], env=env, input="\n".join(answers) + "\n")
        assert result.exit_code == EXIT_OK, result.output
        asked = [name for name in ("GATEWAY_SIGNING_KEY", "GATEWAY_SHOP_GUID", "FEED_SOURCE", "FEED_USERNAME",
                                   "FEED_PASSWORD") if name in result.stderr]
        assert asked == sorted(asked, key=result.stderr.index) and len(asked) == 5
        assert f"created {fake.expected_items()}" in result.stdout
        products = gw.products()
        assert {p["data"]["source"]["platform"] for p in products} == {"forteca"}
        assert fake.password not in result.output and gw.signing_key not in result.output
