"""The PostgreSQL store against a real server: scoping, batching, migrations, the lease."""

import threading

import pytest
from gwsync.errors import ConfigError, LockHeld
from gwsync.state_pg import MIGRATIONS, RUNS_KEPT, PgLease, PostgresState, Scope, connect_pool, migrate
from gwsync.testing.postgres import postgres_url  # noqa: F401  (fixture)

SHOP_A = Scope("feed", "shop-a", "https://gw", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")
SHOP_B = Scope("feed", "shop-b", "https://gw", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")


@pytest.fixture
def pool(postgres_url):  # noqa: F811
    pool = connect_pool(postgres_url, 4)
    migrate(pool)
    yield pool
    pool.close()


def store(pool, scope=SHOP_A):
    return PostgresState(pool, scope, owns_pool=False)


def test_items_intents_images_tags_and_meta_round_trip(pool):
    state = store(pool)
    state.add_intents([("p|s|1|", "1"), ("p|s|2|", "2")])
    state.save_item("p|s|1|", "1", None, "guid-1", {"stock_level": 2, "name": "Zażółć"}, "h1")
    state.save_images([("image:7", "https://img/1", "abc")])
    state.save_blob("def", "https://img/2")
    state.save_variant_tag("p|s|2|", "tag-1", "Shirt")
    state.set_meta("cursor", "2026-11-30T10:00:00Z")
    again = store(pool)
    item = again.item("p|s|1|")
    assert (item.guid, item.hash, item.payload, item.archived) == \
        ("guid-1", "h1", {"stock_level": 2, "name": "Zażółć"}, False)
    assert again.intents() == [("p|s|2|", "2")]  # a saved item clears its own intent only
    assert again.image_by_key("image:7") == again.image_by_hash("abc") == "https://img/1"
    assert again.image_by_hash("def") == "https://img/2"
    assert again.variant_tag("p|s|2|") == "tag-1"
    assert again.get_meta("cursor") == "2026-11-30T10:00:00Z"
    again.set_archived("p|s|1|", True)
    assert list(again.live_items()) == []
    assert again.product_ids() == frozenset({"1"})


def test_scopes_never_see_each_other(pool):
    a, b = store(pool, SHOP_A), store(pool, SHOP_B)
    a.save_item("p|a|1|", "1", None, "guid-a", None, "h")
    a.set_meta("cursor", "x")
    assert b.item("p|a|1|") is None
    assert b.get_meta("cursor") is None
    assert b.product_ids() == frozenset()
    b.reset()
    assert a.item("p|a|1|").guid == "guid-a"
    a.reset()
    assert a.item("p|a|1|") is None


def test_a_page_is_read_and_saved_in_one_round_trip_each(pool):
    state = store(pool)
    rows = [(f"p|s|{i}|", str(i), None, f"guid-{i}", {"i": i}, f"h{i}", False) for i in range(250)]
    state.add_intents((r[0], r[1]) for r in rows)
    state.save_items(rows)
    found = state.items([r[0] for r in rows[:100]] + ["p|s|missing|"])
    assert len(found) == 100
    assert found["p|s|7|"].payload == {"i": 7}
    assert state.intents() == []


def test_run_history_is_bounded(pool):
    state = store(pool)
    for n in range(RUNS_KEPT + 5):
        state.record_run(1_700_000_000 + n, "complete", {"n": n})
    runs = state.runs(limit=1000)
    assert len(runs) == RUNS_KEPT
    assert runs[0]["summary"] == {"n": RUNS_KEPT + 4}


def test_migrations_run_once_even_when_pods_start_together(postgres_url):  # noqa: F811
    pools = [connect_pool(postgres_url, 2) for _ in range(4)]
    errors = []

    def start(pool):
        try:
            migrate(pool)
        except Exception as exc:  # pragma: no cover - the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in pools]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pools[0].connection() as conn:
        assert conn.execute("SELECT version FROM gwsync_schema").fetchall() == [(len(MIGRATIONS),)]
    for p in pools:
        p.close()
    assert errors == []


def test_a_newer_schema_is_refused_with_one_line(pool):
    with pool.connection() as conn:
        conn.execute("UPDATE gwsync_schema SET version = 99")
    with pytest.raises(ConfigError, match="newer than this tool"):
        migrate(pool)


def test_an_unreachable_server_is_a_config_error_without_the_password():
    with pytest.raises(ConfigError) as err:
        connect_pool("postgresql://gw:s3cr3t-pass@127.0.0.1:1/x?connect_timeout=1", 2)
    assert "GATEWAY_SYNC_STATE_URL" in str(err.value)
    assert "s3cr3t-pass" not in str(err.value)


def test_second_holder_is_refused_naming_the_first_and_its_expiry(pool):
    scope = store(pool).scope_id
    with PgLease(pool, scope, ttl=30, holder="node-1:42:abc"), \
            pytest.raises(LockHeld, match=r"node-1:42:abc\) until \d{4}-\d\d-\d\d"):
        PgLease(pool, scope, ttl=30, holder="node-2:7:def").acquire()
    with PgLease(pool, scope, ttl=30, holder="node-2:7:def"):  # released: the next run gets it
        pass


def test_a_crashed_runs_lease_expires(pool):
    scope = store(pool).scope_id
    with pool.connection() as conn:  # what a killed pod leaves behind
        conn.execute("INSERT INTO gwsync_leases VALUES (%s, 'dead:1:x', now() - interval '2 min', "
                     "now() - interval '1 min')", (scope,))
    with PgLease(pool, scope, ttl=30, holder="node-3:1:y"), pool.connection() as conn:
        assert conn.execute("SELECT holder FROM gwsync_leases WHERE scope_id = %s",
                            (scope,)).fetchone() == ("node-3:1:y",)


def test_a_lease_taken_over_is_noticed_on_renewal(pool):
    scope = store(pool).scope_id
    lost = threading.Event()
    lease = PgLease(pool, scope, ttl=30, holder="slow:1:a", on_lost=lost.set)
    lease.acquire()
    with pool.connection() as conn:
        conn.execute("UPDATE gwsync_leases SET holder = 'other:2:b' WHERE scope_id = %s", (scope,))
    assert lease.renew() is False
    lease.release()  # never deletes the other holder's lease
    with pool.connection() as conn:
        assert conn.execute("SELECT holder FROM gwsync_leases").fetchall() == [("other:2:b",)]


def test_no_prepared_statements_so_pgbouncer_transaction_mode_works(pool):
    state = store(pool)
    for _ in range(10):  # psycopg would prepare after 5 executions if allowed
        state.get_meta("cursor")
    with pool.connection() as conn:
        assert conn.prepare_threshold is None
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0
