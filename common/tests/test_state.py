import pytest
from gwsync.errors import LockHeld
from gwsync.state import ShopLock, SqliteState, state_file


def test_items_intents_images_and_tags_survive_reopening(tmp_path):
    path = tmp_path / "s.sqlite"
    state = SqliteState(path)
    state.add_intents([("p|s|1|", "1")])
    state.save_item("p|s|1|", "1", None, "guid-1", {"stock_level": 2}, "h1")
    state.save_image("image:7", "https://img/1", "abc")
    state.save_variant_tag("p|s|2|", "tag-1", "Shirt")
    state.close()
    state = SqliteState(path)
    item = state.item("p|s|1|")
    assert (item.guid, item.hash, item.payload, item.archived) == ("guid-1", "h1", {"stock_level": 2}, False)
    assert state.intents() == []  # a saved item clears its create intent
    assert state.image_by_key("image:7") == state.image_by_hash("abc") == "https://img/1"
    assert state.variant_tag("p|s|2|") == "tag-1"
    state.set_archived("p|s|1|", True)
    assert list(state.live_items()) == []
    assert state.product_ids() == frozenset({"1"})


def test_state_file_is_private_and_scoped(tmp_path):
    a = state_file(tmp_path, "feed", "shop-a", "https://gw", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
    b = state_file(tmp_path, "feed", "shop-b", "https://gw", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
    assert a != b
    SqliteState(a).close()
    assert a.stat().st_mode & 0o077 == 0


def test_second_run_for_the_same_shop_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    with ShopLock(path), pytest.raises(LockHeld, match="another run"), ShopLock(path):
        pass
    with ShopLock(path):
        pass
