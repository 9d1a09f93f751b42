"""Fixtures shared by the sandbox tests: a fresh store, a Flask test client, a test shop."""

import pytest
from gwsync.sandbox import create_app
from gwsync.sandbox.store import Store
from gwsync.sandbox.testkit import new_test_shop


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "gw.db")
    yield store
    store.close()


@pytest.fixture
def client(store):
    return create_app(store).test_client()


@pytest.fixture
def shop(store):
    return new_test_shop(store)
