"""A local stand-in for a vendor's feed: a Google Merchant, Ceneo or IOF file served over loopback HTTP.

`FeedFake` implements `gwsync.testing.fake.FakePlatform`. The feed sits behind
Basic auth (so "bad credentials" is a wrong password) and answers conditional GETs
(`ETag`, 304) as web servers serving a static export do. Google feeds get images of
both kinds a feed can have: absolute public URLs (`PUBLIC`, copied by the Gateway)
and references relative to the feed, behind the same auth (`AUTH`, fetched by us);
Ceneo and IOF feeds, as written by shop platforms, name absolute URLs only.
Every change rewrites the file, as a vendor's export would.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from gwsync.testing.fake import LoopbackServer
from werkzeug.wrappers import Request, Response

COLOURS = {"red": (200, 40, 40), "blue": (40, 70, 200), "green": (40, 160, 70), "black": (25, 25, 25)}


def png(rgb: tuple[int, int, int], size: int = 48, accent: tuple[int, int, int] = (245, 245, 245)) -> bytes:
    """A small valid PNG: diagonal stripes of two colours (distinct bytes per colour)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(accent if (x + y) % 12 < 3 else rgb) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class FakeItem:
    item_id: str
    title: str
    price: Decimal
    quantity: int
    group: str | None = None
    size: str | None = None
    image: str | None = None  # absolute URL or a reference relative to the feed


class FeedFake:
    USERNAME = "vendor"
    FEED_PATH = "/feeds/products.xml"
    FORMAT = "google"  # google, ceneo or iof: the file this fake publishes

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.not_modified = 0  # 304 answers given
        self.password = secrets.token_urlsafe(16)  # made per fake: no credential lives in code
        self.url = ""  # set once the server runs
        self.items: list[FakeItem] = []
        self.served: list[str] = []  # paths requested, for assertions
        self._next_id = 1
        self._touched: set[str] = set()  # ids handed out by a change: remove_product leaves them

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FeedFake]:
        with tempfile.TemporaryDirectory(prefix="feed-fake-") as folder:
            fake = cls(Path(folder))
            fake.start()
            try:
                yield fake
            finally:
                fake.stop()

    def start(self, port: int = 0) -> FeedFake:
        self._server = LoopbackServer(self.app, port=port).start()
        self.url = self._server.url
        self.seed(6)
        return self

    def stop(self) -> None:
        self._server.stop()

    # --- FakePlatform -------------------------------------------------------------
    def config(self) -> dict[str, str]:
        extra = {"group_by": CENEO_GROUP} if self.FORMAT == "ceneo" else {}
        return {"source": self.url + self.FEED_PATH, "username": self.USERNAME, "password": self.password, **extra}

    def bad_config(self) -> dict[str, str]:
        return {**self.config(), "password": "wrong-" + self.password}

    def secrets(self) -> list[str]:
        return [self.password]

    def seed(self, products: int) -> None:
        """Every third product is a group of three sizes; images alternate public and private."""
        self.items = []
        for number in range(1, products + 1):
            if number % 3 == 0:
                self.items += [self._item(f"Bluza {number} {size}", group=f"G{number}", size=size)
                               for size in ("S", "M", "L")]  # ids G<n>-<size>, as an IOF feed names sizes
            else:
                self.items.append(self._item(f"Kubek {number}"))
        self._write()

    def expected_items(self) -> int:
        return len(self.items)  # one Gateway product per sellable item, grouped or not

    def change_price(self) -> tuple[str, str | None]:
        index, item = self._find(grouped=False)
        self.items[index] = replace(item, price=item.price + 10)
        self._touched.add(item.item_id)
        self._write()
        return item.item_id, None

    def change_stock(self) -> tuple[str, str | None]:
        index, item = self._find(grouped=True)
        self.items[index] = replace(item, quantity=item.quantity + 5)
        self._write()
        return (item.group or item.item_id), (item.item_id if item.group else None)

    def add_product(self) -> str:
        item = self._item("Nowy kubek")
        self.items.append(item)
        self._touched.add(item.item_id)
        self._write()
        return item.item_id

    def remove_product(self) -> str:
        index, item = next((i, it) for i, it in enumerate(self.items)
                           if it.group is None and it.item_id not in self._touched)
        del self.items[index]
        self._write()
        return item.item_id

    # --- the feed file ----------------------------------------------------------
    def _item(self, title: str, group: str | None = None, size: str | None = None) -> FakeItem:
        number = self._next_id
        self._next_id += 1
        colour = list(COLOURS)[number % len(COLOURS)]
        public = number % 2 or self.FORMAT != "google"
        image = f"{self.url}/public/{colour}.png" if public else f"private/{colour}.png"
        item_id = f"{group}-{size}" if group else f"SKU-{number}"
        return FakeItem(item_id, title, Decimal(10 + number) + Decimal("0.99"), number % 7 + 1,
                        group, size, image)

    def _find(self, grouped: bool) -> tuple[int, FakeItem]:
        for index, item in enumerate(self.items):
            if (item.group is not None) == grouped:
                return index, item
        return self._find(not grouped)

    def _write(self) -> None:
        text = RENDERERS[self.FORMAT](self.items)
        target = self.folder / "products.xml"
        temporary = target.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)  # a reader never sees half a file

    # --- HTTP ---------------------------------------------------------------------
    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI app: the feed and private images behind Basic auth, public images open."""
        return self._respond(Request(environ))(environ, start_response)

    def _respond(self, request: Request) -> Response:
        self.served.append(request.path)
        public = request.path.startswith("/public/")
        if not public and not self._authorised(request):
            return Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="feed"'})
        if request.path == self.FEED_PATH:
            data = (self.folder / "products.xml").read_bytes()
            response = Response(data, 200, content_type="application/xml")
            response.set_etag(hashlib.sha256(data).hexdigest()[:32])
            response.make_conditional(request)
            self.not_modified += response.status_code == 304
            return response
        name = request.path.rsplit("/", 1)[-1].removesuffix(".png")
        if request.path.startswith(("/public/", "/feeds/private/")) and name in COLOURS:
            return Response(png(COLOURS[name]), 200, content_type="image/png")
        return Response("Not found", 404)

    def _authorised(self, request: Request) -> bool:
        auth = request.authorization
        return bool(auth and auth.username == self.USERNAME and auth.password == self.password)


def rss_item(**fields: str | list[str] | None) -> str:
    """An RSS <item>; keys are Google attribute names (g: is added except for the RSS ones)."""
    parts = []
    for name, value in fields.items():
        tag = name if name in ("title", "description", "link") else f"g:{name}"
        for text in value if isinstance(value, list) else [value]:
            if text:
                parts.append(f"<{tag}>{escape(text)}</{tag}>")
    return "<item>" + "".join(parts) + "</item>\n"


def rss(*items: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:g="http://base.google.com/ns/1.0"><channel><title>Feed</title>\n'
            + "".join(items) + "</channel></rss>\n")


def _item_xml(item: FakeItem) -> str:
    return rss_item(id=item.item_id, title=item.title, description=f"{item.title}: opis",
                    price=f"{item.price} PLN", availability="in_stock", quantity=str(item.quantity),
                    image_link=item.image, item_group_id=item.group, size=item.size,
                    product_type="Dom i ogród > Kuchnia i jadalnia")


CENEO_GROUP = "Kod grupy"


def google_feed(items: list[FakeItem]) -> str:
    return rss(*(_item_xml(item) for item in items))


def ceneo_feed(items: list[FakeItem]) -> str:
    """Ceneo XML as shop platforms write it: sizes are separate offers, joined by a group attribute."""
    offers = []
    for item in items:
        attrs = [("Producent", "Fabryka Kubków"), (CENEO_GROUP, item.group), ("Rozmiar", item.size)]
        attrs_xml = "".join(f'<a name="{name}"><![CDATA[{value}]]></a>' for name, value in attrs if value)
        offers.append(
            f'<o id="{escape(item.item_id)}" url="https://sklep.example.pl/p/{escape(item.item_id)}.html" '
            f'price="{item.price}" avail="1" stock="{item.quantity}" set="0" weight="0.35">'
            f"<cat><![CDATA[Dom i ogród/Kuchnia i jadalnia]]></cat><name><![CDATA[{item.title}]]></name>"
            f'<imgs><main url="{escape(item.image or "")}"/></imgs><desc><![CDATA[<p>{item.title}: opis</p>]]></desc>'
            f"<attrs>{attrs_xml}</attrs></o>\n")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<offers xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'version="1">\n<group name="other">\n' + "".join(offers) + "</group>\n</offers>\n")


def iof_feed(items: list[FakeItem]) -> str:
    """IOF 3.0 as IdoSell writes it: one <product> per product, sizes inside, a one-size "uniw" otherwise."""
    products: dict[str, list[FakeItem]] = {}
    for item in items:
        products.setdefault(item.group or item.item_id, []).append(item)
    body = "".join(_iof_product(pid, members) for pid, members in products.items())
    return ('<?xml version="1.0" encoding="utf-8"?>\n<offer file_format="IOF" version="3.0" generated_by="IdoSell Shop" '
            'extensions="yes">\n<products xmlns:iaiext="http://www.iai-shop.com/developers/iof/extensions.phtml" '
            'language="pol" currency="PLN">\n' + body + "</products>\n</offer>\n")


def _iof_product(pid: str, members: list[FakeItem]) -> str:
    head = members[0]
    name = head.title.rsplit(" ", 1)[0] if head.group else head.title
    sizes = "".join(
        f'<size available="in_stock" id="{escape(m.size or "uniw")}" name="{escape(m.size or "uniwersalny")}" '
        f'panel_name="{escape((m.size or "uniw").lower())}" code="{escape(pid)}-{escape(m.size or "uniw")}" weight="0">'
        f'<price gross="{m.price}" net="{(m.price / Decimal("1.23")).quantize(Decimal("0.01"))}"/>'
        f'<srp gross="0" net="0"/><stock id="0" quantity="{m.quantity}" availability_id="1" '
        f'available_stock_quantity="{m.quantity}"/><stock id="1" quantity="-1" availability_id="1" '
        f'available_stock_quantity="-1"/></size>' for m in members)
    return (f'<product type="regular" id="{escape(pid)}" vat="23.0" site="1" currency="PLN">'
            '<producer id="1" name="Fabryka"/><category id="7" name="Dom i ogród/Kuchnia i jadalnia"/>'
            f'<unit id="0" name="szt."/><description><name type="name" xml:lang="pol"><![CDATA[{name}]]></name>'
            f'<long_desc xml:lang="pol"><![CDATA[<p>{name}: opis</p>]]></long_desc></description>'
            f'<price gross="{head.price}" net="0"/><sizes>{sizes}</sizes>'
            f'<images><large><image url="{escape(head.image or "")}" width="48" height="48"/></large></images>'
            "</product>\n")


RENDERERS = {"google": google_feed, "ceneo": ceneo_feed, "iof": iof_feed}


def start_fake(port: int = 0) -> FeedFake:
    """A running fake for the Docker smoke test (gwsync.testing.smoke); lives until the process ends."""
    return FeedFake(Path(tempfile.mkdtemp(prefix="feed-fake-"))).start(port)
