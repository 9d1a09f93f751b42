"""Fewer calls and read-ahead images (issue 11): a group of one live variant, the image prefetch pool."""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
from gwsync.connector import Connector, ReadContext
from gwsync.gateway.payload import sellables
from gwsync.images import ImagePrefetcher, ImageService
from gwsync.models import Image, Item, Product, Variant
from gwsync.testing import Harness, serve
from gwsync.testing.images import png as tiny_png
from werkzeug.wrappers import Response


class Listing(Connector):
    platform = "listing"
    title = "Listing"

    @property
    def shop(self) -> str:
        return "listing-shop"

    def check(self) -> str:
        return "ok"

    def read(self, ctx: ReadContext) -> Iterator[Item]:
        yield from self.config["items"]


def group(pid: str, live: str, images: dict[str, str] | None = None) -> Product:
    """Sizes S, M, L; only the sizes in `live` are active."""
    images = images or {}
    variants = [Variant(variant_id=f"{pid}-{s}", options={"Size": s}, stock=3, active=s in live,
                        images=(Image(url=images[s]),) if s in images else ()) for s in "SML"]
    return Product(product_id=pid, name="Shirt", price=Decimal("50.00"), vat=23, variants=tuple(variants))


@pytest.fixture
def gw(tmp_path):
    with Harness(Listing, {"items": []}, tmp_path) as h:
        yield h


def run(gw, items):
    gw.connector_config["items"] = items
    return gw.run()


def tag_creates(gw) -> int:
    return gw.sandbox.store.counters().get("create_shop_tag", {}).get("requests", 0)


def test_one_live_variant_is_a_plain_product_with_the_variants_identity():
    items = sellables(group("7", live="M"), "listing", "shop")
    live = [s for s in items if s.active]
    assert len(live) == 1 and live[0].options is None
    assert live[0].source.variant_id == "7-M" and live[0].name == "Shirt – M"
    assert all(s.options for s in sellables(group("7", live="SM"), "listing", "shop"))


def test_a_group_of_one_costs_no_variant_tag_and_joins_one_when_a_second_size_comes_back(gw):
    report = run(gw, [group("7", live="M")])
    (product,) = gw.products()
    assert report.counts["created"] == 1 and tag_creates(gw) == 0
    assert product["tag_guids"] == [] and "variants" not in product["data"]
    guid = product["guid"]

    report = run(gw, [group("7", live="ML")])
    products = {p["data"]["source"]["variant_id"]: p for p in gw.products()}
    assert (report.counts["created"], report.counts["updated"]) == (1, 1) and tag_creates(gw) == 1
    assert products["7-M"]["guid"] == guid  # the same product, now in the group
    assert products["7-M"]["tag_guids"] == products["7-L"]["tag_guids"] != []
    assert products["7-M"]["data"]["variants"] == {"Size": "M"}


class CountingImages:
    """An image host: PNGs under /img, a 404 elsewhere; counts every request per path."""

    def __init__(self) -> None:
        self.hits: Counter = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        with self._lock:
            self.hits[path] += 1
        if path.startswith("/img"):
            return Response(tiny_png(tuple(zlib.crc32(path.encode()).to_bytes(4, 'big')[:3])), content_type="image/png")(environ, start_response)
        return Response("gone", status=404)(environ, start_response)


def test_prefetched_images_are_fetched_and_uploaded_once_and_only_for_live_sellables(gw):
    host = CountingImages()
    with serve(host) as images:
        items = [group(str(n), live="SM", images={"S": f"{images.url}/img/{n}-s.png",
                                                   "M": f"{images.url}/img/shared.png",
                                                   "L": f"{images.url}/img/{n}-inactive.png"})
                 for n in range(12)]
        items.append(group("99", live="S", images={"S": f"{images.url}/missing.png"}))
        report = run(gw, items)
    assert report.counts["created"] == 25 and report.counts["failed"] == 0
    assert all(count == 1 for count in host.hits.values())  # each distinct image fetched once
    assert not any("inactive" in path for path in host.hits)
    assert report.images["uploaded"] == 13  # 12 own + 1 shared
    (broken,) = report.image_problems
    assert broken.identity.endswith("|99|99-S") and "HTTP 404" in broken.reason


def test_the_prefetcher_hosts_ahead_and_a_broken_image_is_fetched_once(tmp_path):
    from gwsync.http import CallStats
    from gwsync.state import SqliteState

    uploads: list[str] = []
    host = CountingImages()
    state = SqliteState(tmp_path / "state.sqlite")
    with serve(host) as images:
        service = ImageService(state, lambda data, name, kind: uploads.append(name) or f"https://cdn/{name}",
                               lambda url: url, lambda url: None, CallStats())
        prefetch = ImagePrefetcher(service, "listing", "shop", workers=3)
        product = group("1", live="SML", images={"S": f"{images.url}/img/a.png", "M": f"{images.url}/img/a.png",
                                                 "L": f"{images.url}/nope.png"})
        prefetch.submit(product)
        prefetch.close()
        assert len(uploads) == 1 and service.hosted(Image(url=f"{images.url}/img/a.png")) == f"https://cdn/{uploads[0]}"
        service.flush()  # recorded in the state in bulk (the engine flushes before items go out)
        assert state.image_by_key(f"{images.url}/img/a.png") == f"https://cdn/{uploads[0]}"
        with pytest.raises(Exception, match="HTTP 404"):
            service.hosted(Image(url=f"{images.url}/nope.png"))
        service.close()
    assert host.hits == {"/img/a.png": 1, "/nope.png": 1}
    state.close()


def test_creates_fill_calls_of_100_items_across_products(gw):
    def big(pid: str) -> Product:
        variants = [Variant(variant_id=f"{pid}-{n}", options={"Size": str(n)}, stock=1) for n in range(15)]
        return Product(product_id=pid, name=f"Boots {pid}", price=Decimal("80.00"), vat=23, variants=tuple(variants))

    report = run(gw, [big(str(n)) for n in range(7)])
    calls = gw.sandbox.store.journal("create_products")
    assert report.counts["created"] == 105 and len(gw.products()) == 105
    assert sorted(len(c["body"]["products"]) for c in calls) == [5, 100]
