"""Images: fetch each distinct one once, check it, hash it, host it once, reuse it forever."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests

from .errors import HttpError, SyncError
from .gateway.payload import sellables
from .http import CallStats, HttpClient
from .image_book import ImageBook
from .models import Image, ImageAccess, Product
from .state import StateStore

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
# An image larger than this is held (fetched, hashed, uploaded) by at most BIG_AT_ONCE threads at a
# time: the prefetch pool and the workers are 20 threads, and a 10 MB image costs ~2x its size while
# it is uploaded. Below it, images are many and small, and go as fast as the pool allows.
BIG_IMAGE = 1024 * 1024
BIG_AT_ONCE = 2
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"RIFF", "image/webp", "webp"),  # checked further in sniff()
)


_UPLOADED_NAME = re.compile(r"([0-9a-f]{64})\.(?:jpg|png|gif|webp)$")


def uploaded_digest(url: str) -> str | None:
    """The SHA-256 in the name of a file we uploaded (we name uploads `<sha256>.<ext>`)."""
    match = _UPLOADED_NAME.search(urlsplit(url).path)
    return match.group(1) if match else None


class BrokenImage(SyncError):
    """This image is broken at the source (404, not an image, too big); the product goes on without it."""


class ImageHostFailed(SyncError):
    """Hosting failed on our side (the Gateway's grant, upload or copy, after retries): the item
    is not written now (never without an image that only failed here) and is tried next run."""


@dataclass
class _Page:
    """A page's image keys, and the hosted URLs of those the state or this run has."""

    keys: set[str] = field(default_factory=set)
    urls: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageCounts:
    uploaded: int = 0
    copied: int = 0
    reused: int = 0
    fetched: int = 0
    broken: int = 0


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes, or None when it is no image we accept."""
    for magic, content_type, ext in _MAGIC:
        if head.startswith(magic):
            if ext == "webp" and head[8:12] != b"WEBP":
                return None
            return content_type, ext
    return None


def _no_wait() -> None:
    pass


def read_limited(response: requests.Response, limit: int = MAX_BYTES,
                 when_big: Callable[[], None] = _no_wait) -> bytes:
    """The body, at most `limit` bytes; `when_big()` is called (it may wait) once it passes BIG_IMAGE."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BrokenImage(f"larger than {limit // (1024 * 1024)} MB")
    if declared and declared.isdigit() and int(declared) > BIG_IMAGE:
        when_big()
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BrokenImage(f"larger than {limit // (1024 * 1024)} MB")
        if size > BIG_IMAGE:
            when_big()
        chunks.append(chunk)
    return b"".join(chunks)


def within_limit(data: bytes, limit: int = MAX_BYTES) -> bytes:
    if len(data) > limit:
        raise BrokenImage(f"larger than {limit // (1024 * 1024)} MB")
    return data


def read_local(url: str, limit: int = MAX_BYTES, when_big: Callable[[], None] = _no_wait) -> bytes:
    path = Path(url2pathname(unquote(urlsplit(url).path)))
    try:
        size = path.stat().st_size
        if size > limit:
            raise BrokenImage(f"larger than {limit // (1024 * 1024)} MB")
        if size > BIG_IMAGE:
            when_big()
        return path.read_bytes()
    except OSError as exc:
        raise BrokenImage(f"cannot read the file: {exc.strerror}") from None


class BigImages:
    """At most `places` big images held at once, whichever threads fetch them."""

    def __init__(self, places: int = BIG_AT_ONCE) -> None:
        self._places = threading.BoundedSemaphore(places)
        self._lock = threading.Lock()
        self.held = 0
        self.most_held = 0  # the most held at once this run

    @contextmanager
    def claim(self) -> Iterator[Callable[[], None]]:
        """Hosting one image: call the yielded function once it turns out big (it waits for a
        place, before more of the image is read); the place is given back when hosting ends."""
        taken = False

        def take() -> None:
            nonlocal taken
            if taken:
                return
            self._places.acquire()
            taken = True
            with self._lock:
                self.held += 1
                self.most_held = max(self.most_held, self.held)

        try:
            yield take
        finally:
            if taken:
                with self._lock:
                    self.held -= 1
                self._places.release()


class ImageService:
    """Turns source images into hosted Gateway URLs; thread-safe, one per run."""

    def __init__(self, state: StateStore, upload: Callable[[bytes, str, str], str],
                 copy_public: Callable[[str], str], fetch_auth: Callable[[str], requests.Response | bytes],
                 stats: CallStats, dry_run: bool = False,
                 on_host: Callable[[str, str], None] | None = None) -> None:
        self.state = state
        self.book = ImageBook(state)  # what this run hosts, recorded in the state in bulk
        self._on_host = on_host or (lambda how, url: None)  # ("upload" | "copy", source url): the plan
        self._upload, self._copy, self._fetch_auth = upload, copy_public, fetch_auth
        self._anonymous = HttpClient("http://localhost/", service="images", stats=stats, pool=8)
        self.dry_run = dry_run
        self.counts = ImageCounts()
        self._locks: dict[str, threading.Lock] = {}
        self._broken: dict[str, str] = {}  # cache key -> reason: a broken image is fetched once per run
        self._prepared: set[str] = set()  # hosted ahead by the prefetch pool, not used yet
        # the current and the previous page's images (`preload`): one query a page
        self._pages: tuple[_Page, _Page] = (_Page(), _Page())
        self._guard = threading.Lock()
        self.big = BigImages()

    def preload(self, images: Iterable[Image]) -> None:
        """Look up a page's images in one query; lookups of other images still ask the state."""
        keys = {image.cache_key for image in images}
        # under the guard: an image hosted while the query runs is either in its answer or
        # `_remember`ed into this page after it, never missed (which would host it twice); one
        # hosted earlier and not recorded yet is in the book, which is read first (a flush
        # leaves the book only once the state has it)
        with self._guard:
            unrecorded = self.book.urls_for_keys(keys)
            page = _Page(keys, {**self.state.images_by_keys(keys), **unrecorded})
            self._pages = (page, self._pages[0])  # bounded: items of the page before may still be in flight

    def _known(self, cache_key: str) -> str | None:
        """The hosted URL: from its page (as read, plus what this run hosted since), else what this
        run hosted and has not recorded yet, else the state."""
        with self._guard:
            for page in self._pages:
                if cache_key in page.keys:
                    return page.urls.get(cache_key)
        return self.book.url_for_key(cache_key) or self.state.image_by_key(cache_key)

    def flush(self) -> None:
        """Record what this run hosted (before a create batch is sent, with update saves)."""
        self.book.flush()

    def _remember(self, cache_key: str, url: str) -> None:
        with self._guard:
            for page in self._pages:
                if cache_key in page.keys:
                    page.urls[cache_key] = url

    def hosted(self, image: Image) -> str:
        """The hosted URL of one image; raises BrokenImage with a reason."""
        known = self._known(image.cache_key)
        if known:
            self._reused(image.cache_key)
            return known
        with self._key_lock(image.cache_key):
            known = self._known(image.cache_key)  # hosted meanwhile by another worker?
            if known:
                self._reused(image.cache_key)
                return known
            if image.cache_key in self._broken:
                raise BrokenImage(self._broken[image.cache_key])
            try:
                return self._host(image)
            except BrokenImage as exc:
                self._broken[image.cache_key] = str(exc)
                raise

    def prepare(self, image: Image) -> None:
        """Host an image ahead of need (the prefetch pool); its product reports any problem."""
        if self.dry_run or self._known(image.cache_key):
            return
        with self._key_lock(image.cache_key):
            if image.cache_key in self._broken or self._known(image.cache_key):
                return
            try:
                self._host(image)
            except BrokenImage as exc:
                self._broken[image.cache_key] = str(exc)
                return
            with self._guard:
                self._prepared.add(image.cache_key)

    def _reused(self, key: str) -> None:
        """Count a reuse, but not the first use of an image the prefetch pool hosted for it."""
        with self._guard:
            if key in self._prepared:
                self._prepared.discard(key)
                return
        self.count("reused")

    def _host(self, image: Image) -> str:
        """Upload or copy one image. A dry run decides the same but sends nothing: it records a
        placeholder (its state is rolled back), so the counts match the real run's."""
        if image.access is ImageAccess.PUBLIC:
            self._on_host("copy", image.url)
            url = f"dry-run:copy:{image.cache_key}" if self.dry_run else self._copy_public(image)
            self.book.record(image.cache_key, url)
            self._remember(image.cache_key, url)
            self.count("copied")
            return url
        with self.big.claim() as when_big:
            data = self._fetch(image, when_big)
            return self._upload_once(image, data)

    def _upload_once(self, image: Image, data: bytes) -> str:
        """Upload fetched bytes, unless the same bytes were uploaded before (then reuse them)."""
        kind = sniff(data[:16])
        if kind is None:
            raise BrokenImage("not an image (unknown content)")
        digest = hashlib.sha256(data).hexdigest()
        with self._key_lock("sha256:" + digest):  # two sources of the same bytes: one upload
            url = self.book.url_for_digest(digest)
            if url:
                self.count("reused")
            else:
                content_type, ext = kind
                self._on_host("upload", image.url)
                url = (f"dry-run:upload:{digest}" if self.dry_run
                       else self._upload_bytes(data, f"{digest}.{ext}", content_type))
                self.count("uploaded")
            self.book.record(image.cache_key, url, digest)
            self._remember(image.cache_key, url)
        return url

    def _copy_public(self, image: Image) -> str:
        try:
            return self._copy(image.url)
        except HttpError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                raise BrokenImage(f"the Gateway could not copy it: {exc}") from None  # refused the source
            raise ImageHostFailed(f"image copy failed on the Gateway's side: {exc}") from None
        except SyncError as exc:
            raise ImageHostFailed(f"image copy failed: {exc}") from None

    def _upload_bytes(self, data: bytes, filename: str, content_type: str) -> str:
        try:
            return self._upload(data, filename, content_type)
        except SyncError as exc:
            raise ImageHostFailed(f"image upload failed: {exc}") from None

    def _fetch(self, image: Image, when_big: Callable[[], None]) -> bytes:
        self.count("fetched")
        if image.url.startswith("file:"):
            return read_local(image.url, when_big=when_big)
        try:
            if image.access is ImageAccess.AUTH:
                response = self._fetch_auth(image.url)
            else:
                response = self._anonymous.get(image.url, stream=True)
        except SyncError as exc:
            raise BrokenImage(str(exc)) from None
        if isinstance(response, bytes | bytearray):  # the image itself: a BLOB from a database has no URL
            data = within_limit(bytes(response))
            if len(data) > BIG_IMAGE:
                when_big()  # its copies (hashing, the upload's body) wait for a place
            return data
        with response:
            if response.status_code != 200:
                raise BrokenImage(f"HTTP {response.status_code}")
            content_type = response.headers.get("Content-Type", "")
            if content_type and not content_type.lower().startswith(("image/", "application/octet-stream")):
                raise BrokenImage(f"not an image ({content_type.split(';')[0]})")
            return read_limited(response, when_big=when_big)

    def _key_lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def count(self, field: str) -> None:
        with self._guard:
            setattr(self.counts, field, getattr(self.counts, field) + 1)

    def close(self) -> None:
        self._anonymous.close()


def images_of(product: Product, platform: str, shop: str) -> Iterator[Image]:
    """Each image the engine will host for this product: those of its live, priced sellables."""
    seen: set[str] = set()
    for sellable in sellables(product, platform, shop):
        if not sellable.active or sellable.price is None or sellable.price <= 0:
            continue
        for image in sellable.images:
            if image.cache_key not in seen:
                seen.add(image.cache_key)
                yield image


class ImagePrefetcher:
    """Hosts the images of products just read, in a pool of their own, ahead of their writes.

    The engine hands over each product as soon as the read yields it; while the
    workers write earlier products, this pool fetches (with the platform's
    credentials and limiter), hashes and uploads the next ones' images. A worker
    that needs an image still in progress waits for that one fetch (the image's
    lock in `ImageService`) instead of starting another. Memory stays bounded: an
    image's bytes live only while its own fetch and upload run, so at most
    `workers` images are held at once; the queue holds only `Image` references of
    the products read ahead (the engine bounds those).
    """

    def __init__(self, service: ImageService, platform: str, shop: str, workers: int = 16) -> None:
        self.service, self.platform, self.shop = service, platform, shop
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gwsync-images")

    def submit(self, item: object) -> None:
        if isinstance(item, Product) and not self.service.dry_run:
            for image in images_of(item, self.platform, self.shop):
                self._pool.submit(self._prepare, image)

    def _prepare(self, image: Image) -> None:
        try:
            self.service.prepare(image)
        except Exception as exc:  # the product's worker tries again and reports the reason
            log.debug("prefetching an image failed: %s", type(exc).__name__)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
