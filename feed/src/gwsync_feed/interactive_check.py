"""The `docker run -i` check shared by the feed tools' tests: answers piped in their order."""

from __future__ import annotations

from pathlib import Path

from gwsync.connector import Connector
from gwsync.errors import EXIT_OK
from gwsync.testing.harness import Harness

from .fake import FeedFake

ORDER = ("GATEWAY_SIGNING_KEY", "GATEWAY_SHOP_GUID", "FEED_SOURCE", "FEED_USERNAME", "FEED_PASSWORD")


def assert_answers_piped_in_order(connector_cls: type[Connector], fake_cls: type[FeedFake], workdir: Path) -> None:
    """The signing key, the shop GUID, the feed location, then the feed's user name and password."""
    with fake_cls.running() as fake, Harness(connector_cls, {}, workdir) as gw:
        config = fake.config()
        env = {"GATEWAY_URL": gw.sandbox.url, "GATEWAY_SYNC_STATE_DIR": str(gw.state_dir),
               **({"FEED_GROUP_BY": config["group_by"]} if "group_by" in config else {})}
        answers = [gw.signing_key, gw.shop_guid, config["source"], fake.USERNAME, fake.password]
        result = gw.cli(["import"], env=env, input="\n".join(answers) + "\n")
        assert result.exit_code == EXIT_OK, result.output
        asked = [name for name in ORDER if name in result.stderr]
        assert asked == sorted(asked, key=result.stderr.index) and len(asked) == len(ORDER)
        assert f"created {fake.expected_items()}" in result.stdout
        assert {p["data"]["source"]["platform"] for p in gw.products()} == {connector_cls.platform}
        assert fake.password not in result.output and gw.signing_key not in result.output
