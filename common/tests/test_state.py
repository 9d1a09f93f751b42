import sqlite3

import pytest
from gwsync.errors import ConfigError, LockHeld
from gwsync.state import MIGRATIONS, RUNS_KEPT, SCHEMA_VERSION, ShopLock, SqliteState, state_file
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)


def test_items_intents_images_and_tags_survive_reopening(tmp_path):
    path = tmp_path / "s.sqlite"
    state = SqliteState(path)
    state.add_intents([("p|s|1|", "1")])
    state.save_item("p|s|1|", "1", None, "guid-1", {"stock_level": 2}, "h1")
    state.save_images([("image:7", "https://img/1", "abc")])
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


OLD_SCHEMA = """
CREATE TABLE items (identity TEXT PRIMARY KEY, product_id TEXT NOT NULL, variant_id TEXT,
    guid TEXT, hash TEXT, payload TEXT, archived INTEGER NOT NULL DEFAULT 0, updated REAL);
CREATE TABLE intents (identity TEXT PRIMARY KEY, product_id TEXT NOT NULL, created REAL);
CREATE TABLE image_keys (cache_key TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE image_blobs (sha256 TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE variant_tags (group_key TEXT PRIMARY KEY, guid TEXT NOT NULL, name TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs (id INTEGER PRIMARY KEY, started REAL, finished REAL, status TEXT, summary TEXT);
INSERT INTO items VALUES ('p|s|1|', '1', NULL, 'guid-1', 'h1', '{"stock_level": 3}', 0, 0);
INSERT INTO image_keys VALUES ('https://shop.example/img/1.jpg', 'https://gw/storage/1');
INSERT INTO variant_tags VALUES ('p|s|2|', 'tag-2', 'Shirt');
INSERT INTO meta VALUES ('cursor', '2026-11-01');
"""


def test_a_state_file_without_a_version_is_migrated_in_order(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    with SqliteState(path) as state:
        assert state.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
        assert state.item("p|s|1|").payload == {"stock_level": 3}
        assert state.image_by_key("https://shop.example/img/1.jpg") == "https://gw/storage/1"
        assert state.variant_tag_group("tag-2") == "p|s|2|"
        assert state.get_meta("cursor") == "2026-11-01"
        state.add_retry("1", "product", "{}", "HTTP 507")
        assert [e.product_id for e in state.retries()] == ["1"]
    raw = sqlite3.connect(path).execute("SELECT cache_key FROM image_keys").fetchone()[0]
    assert "shop.example" not in raw  # source image keys are kept as digests


def test_a_newer_state_file_is_refused_with_one_line(tmp_path):
    path = tmp_path / "new.sqlite"
    SqliteState(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match="newer than this tool knows"):
        SqliteState(path)


def test_a_corrupt_file_is_moved_aside_and_a_fresh_state_opens(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"garbage, not SQLite" * 500)
    with SqliteState(path) as state:
        assert state.recovered_from is not None and state.recovered_from.exists()
        assert state.get_meta("rebuilt_from_gateway") is None and state.schema_version() == SCHEMA_VERSION
    assert b"garbage" in state.recovered_from.read_bytes()


def test_durability_settings_file_modes_and_bounded_runs(tmp_path):
    path = tmp_path / "s.sqlite"
    with SqliteState(path) as state:
        assert state._rows("PRAGMA synchronous")[0][0] == 2  # FULL
        for n in range(RUNS_KEPT + 20):
            state.record_run(float(n), "complete", {"n": n})
        assert state._rows("SELECT COUNT(*), MIN(started) FROM runs")[0] == (RUNS_KEPT, 20.0)
        for suffix in ("", "-wal", "-shm"):
            extra = tmp_path / f"s.sqlite{suffix}"
            assert extra.exists() and extra.stat().st_mode & 0o077 == 0


def test_a_dry_run_state_changes_nothing_on_disk(tmp_path):
    path = tmp_path / "s.sqlite"
    with SqliteState(path) as state:
        state.save_item("p|s|1|", "1", None, "guid-1", {"a": 1}, "h1")
    with SqliteState(path, dry_run=True) as dry:
        dry.save_item("p|s|2|", "2", None, "guid-2", {"a": 2}, "h2")
        dry.set_archived("p|s|1|", True)
        assert dry.item("p|s|2|").guid == "guid-2" and dry.count_live() == 1
    with SqliteState(path) as state:
        assert state.item("p|s|2|") is None and state.count_live() == 1
    missing = tmp_path / "never.sqlite"
    with SqliteState(missing, dry_run=True) as dry:
        dry.set_meta("k", "v")
    assert not missing.exists()


def test_postgres_store_keeps_retries_tags_by_guid_and_image_digests(postgres_url):  # noqa: F811
    from gwsync.state import DryRunOverlay
    from gwsync.state_pg import MIGRATIONS as PG_MIGRATIONS
    from gwsync.state_pg import PostgresState, Scope, connect_pool, migrate

    pool = connect_pool(postgres_url, 2)
    try:
        with pool.connection() as conn:  # a store from before version 2: raw image keys
            conn.execute("CREATE TABLE gwsync_schema (version INTEGER NOT NULL)")
            conn.execute(PG_MIGRATIONS[0])
            conn.execute("INSERT INTO gwsync_schema VALUES (1)")
        scope = Scope("feed", "shop-a", "https://gw", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
        old = PostgresState(pool, scope, owns_pool=False)
        old._write("INSERT INTO gwsync_image_keys VALUES (%s,%s,%s)", ("https://shop/1.jpg", "https://gw/1"))
        assert migrate(pool) == len(PG_MIGRATIONS) == 2
        state = PostgresState(pool, scope, owns_pool=False)
        assert state.image_by_key("https://shop/1.jpg") == "https://gw/1"
        state.save_item("p|s|1|", "1", None, "g1", {"a": 1}, "h1")
        state.save_item("p|s|1|v", "1", "v", "g2", {"a": 2}, "h2", archived=True)
        state.save_variant_tag("p|s|1|", "tag-1", "Shirt")
        state.add_retry("2", "product", "{}", "HTTP 507")
        state.add_retry("2", "product", "{}", "HTTP 507 again")
        assert [(e.product_id, e.attempts, e.reason) for e in state.retries()] == [("2", 2, "HTTP 507 again")]
        assert state.variant_tag_group("tag-1") == "p|s|1|" and state.count_live() == 1
        assert [i.identity for i in state.items_of_products(["1", "9"])["1"]] == ["p|s|1|", "p|s|1|v"]
        dry = DryRunOverlay(state)
        dry.save_item("p|s|3|", "3", None, "g3", None, "h3")
        dry.clear_retries(["2"])
        dry.set_archived("p|s|1|", True)
        assert (dry.count_live(), dry.retries()) == (1, [])
        assert (state.count_live(), len(state.retries())) == (1, 1) and state.item("p|s|3|") is None
        state.clear_retries(["2"])
        assert state.retries() == []
    finally:
        pool.close()


@pytest.fixture(params=["sqlite", "postgres", "dry-run overlay"])
def any_store(request, tmp_path):
    from gwsync.state import DryRunOverlay
    from gwsync.state_pg import PostgresState, Scope

    if request.param == "postgres":
        scope = Scope("feed", "shop-a", "https://gw", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
        store = PostgresState.open(request.getfixturevalue("postgres_url"), scope)
    else:
        store = SqliteState(tmp_path / "s.sqlite")
    yield DryRunOverlay(store) if request.param == "dry-run overlay" else store
    store.close()


def test_a_page_is_read_and_saved_in_bulk_on_every_store(any_store):
    state = any_store
    rows = [(f"p|s|{i}|", str(i), None, f"guid-{i}", {"i": i}, f"h{i}", False) for i in range(600)]
    state.add_intents((r[0], r[1]) for r in rows[:10])
    state.save_items(rows[:300])
    state.save_items(rows[300:])  # the base and (for the overlay) its own changes, read together
    found = state.items([r[0] for r in rows] + ["p|s|missing|"])
    assert len(found) == 600 and found["p|s|599|"].payload == {"i": 599}
    assert state.intents() == []  # saved with their items
    state.save_images([("image:7", "https://img/7", None)])
    state.save_variant_tag("p|s|2|", "tag-2", "Shirt")
    assert state.images_by_keys(["image:7", "image:8"]) == {"image:7": "https://img/7"}
    assert state.variant_tags(["p|s|2|", "p|s|3|"]) == {"p|s|2|": "tag-2"}
    assert state.images_by_keys([]) == {} and state.variant_tags([]) == {} and state.items([]) == {}
