"""The fake feed behaves as the standard suite expects, seen through the connector."""

import pytest
from gwsync.connector import ReadContext
from gwsync.errors import AuthError
from gwsync.models import ImageAccess, Present, Product
from gwsync_feed.connector import FeedConnector
from gwsync_feed.fake import FeedFake


@pytest.fixture
def fake():
    with FeedFake.running() as fake:
        yield fake


def sellable(fake: FeedFake) -> dict[tuple[str, str | None], Product]:
    """(product id, variant id) -> the Product or the Variant, for every sellable item."""
    out = {}
    items = list(FeedConnector(fake.config()).read(ReadContext()))
    assert items[-1] == Present(product_ids=())  # the whole feed was read
    for product in items[:-1]:
        assert isinstance(product, Product)
        for variant in product.variants:
            out[(product.product_id, variant.variant_id)] = variant
        if not product.variants:
            out[(product.product_id, None)] = product
    return out


def test_check_with_good_and_bad_credentials(fake):
    assert FeedConnector(fake.config()).check().endswith("Google Merchant XML, first item 'Kubek 1'")
    with pytest.raises(AuthError) as err:
        FeedConnector(fake.bad_config()).check()
    assert not any(secret in str(err.value) for secret in fake.secrets())


def test_seed_and_expected_items(fake):
    fake.seed(10)
    items = sellable(fake)
    assert len(items) == fake.expected_items() == 16  # 7 single + 3 groups of 3
    assert len({key[0] for key in items}) == 10


def test_changes_show_in_the_next_read(fake):
    fake.seed(6)
    before = sellable(fake)
    priced, stocked = fake.change_price(), fake.change_stock()
    added, removed = fake.add_product(), fake.remove_product()
    after = sellable(fake)
    assert after[priced].price == before[priced].price + 10
    assert stocked[1] is not None and after[stocked].stock == before[stocked].stock + 5
    assert after[stocked].price == before[stocked].price
    assert (added, None) in after and (added, None) not in before
    assert (removed, None) in before and (removed, None) not in after


def test_images_of_both_kinds_and_auth_fetch(fake):
    connector = FeedConnector(fake.config())
    images = {i.url: i for p in connector.read(ReadContext()) if isinstance(p, Product) for i in p.images}
    kinds = {i.access for i in images.values()}
    assert kinds == {ImageAccess.PUBLIC, ImageAccess.AUTH}
    private = next(url for url, i in images.items() if i.access is ImageAccess.AUTH)
    response = connector.fetch_image(private)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")


def test_one_feed_request_per_read_whatever_the_catalog_size(fake):
    """No per-product calls: the whole catalog is one streamed GET (images are fetched by the engine)."""
    fake.seed(30)
    fake.served.clear()
    assert len(sellable(fake)) == fake.expected_items() == 50
    assert fake.served == [FeedFake.FEED_PATH]
