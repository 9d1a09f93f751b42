import pytest
from gwsync.images import BrokenImage, read_local, sniff
from gwsync.testing.images import png as tiny_png


def test_sniff_knows_images_by_their_bytes_not_their_names():
    assert sniff(tiny_png()[:16]) == ("image/png", "png")
    assert sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 12) == ("image/jpeg", "jpg")
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image/webp", "webp")
    assert sniff(b"<html><body>404") is None
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None


def test_local_files_are_read_with_a_size_limit(tmp_path):
    image = tmp_path / "a b.png"
    image.write_bytes(tiny_png())
    assert read_local(image.as_uri()) == tiny_png()
    with pytest.raises(BrokenImage, match="larger"):
        read_local(image.as_uri(), limit=10)
    with pytest.raises(BrokenImage, match="cannot read"):
        read_local((tmp_path / "missing.png").as_uri())


def test_image_bytes_handed_over_by_the_connector_are_sniffed_hashed_and_uploaded_once(tmp_path):
    """Images without a URL (BLOBs in a database): `fetch_image` returns the bytes themselves."""
    from gwsync.http import CallStats
    from gwsync.images import ImageService
    from gwsync.models import Image, ImageAccess
    from gwsync.state import SqliteState

    blobs = {"db:1": tiny_png(), "db:2": tiny_png(), "db:3": b"MZ\x90\x00 not an image at all"}
    asked, uploads = [], []

    def fetch(reference):
        asked.append(reference)
        return blobs[reference]

    def upload(data, name, content_type):
        uploads.append((data, name, content_type))
        return f"https://cdn.example/{name}"

    state = SqliteState(tmp_path / "state.sqlite")
    service = ImageService(state, upload, lambda url: url, fetch, CallStats())
    try:
        first = service.hosted(Image(url="db:1", access=ImageAccess.AUTH, key="photo:1:crc1"))
        assert service.hosted(Image(url="db:2", access=ImageAccess.AUTH, key="photo:2:crc2")) == first
        with pytest.raises(BrokenImage, match="not an image"):
            service.hosted(Image(url="db:3", access=ImageAccess.AUTH, key="photo:3:crc3"))
        assert service.hosted(Image(url="db:1", access=ImageAccess.AUTH, key="photo:1:crc1")) == first
    finally:
        service.close()
        state.close()
    assert [u[1:] for u in uploads] == [(first.rsplit("/", 1)[1], "image/png")]
    assert uploads[0][0] == tiny_png()
    assert asked == ["db:1", "db:2", "db:3"]  # a known key costs no second fetch


def test_image_bytes_have_the_same_size_limit_as_downloads():
    from gwsync.images import within_limit

    assert within_limit(b"12345", limit=5) == b"12345"
    with pytest.raises(BrokenImage, match="larger"):
        within_limit(b"123456", limit=5)


class UploadsAtOnce:
    """A fake upload that waits (up to `patience` s) until `wanted` uploads are in progress
    together, and records the most it saw: a pool of threads meets unless something holds it back."""

    def __init__(self, wanted: int, patience: float = 0.5) -> None:
        import threading

        self.wanted, self.patience = wanted, patience
        self.now = self.most = 0
        self.sizes: list[int] = []
        self._cond = threading.Condition()

    def __call__(self, data, name, content_type):
        with self._cond:
            self.now += 1
            self.most = max(self.most, self.now)
            self.sizes.append(len(data))
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.now >= self.wanted, timeout=self.patience)
            self.now -= 1
        return f"https://cdn.example/{name}"


def host_all_at_once(tmp_path, images, upload):
    from concurrent.futures import ThreadPoolExecutor

    from gwsync.http import CallStats
    from gwsync.images import ImageService
    from gwsync.models import Image
    from gwsync.state import SqliteState

    state = SqliteState(tmp_path / "state.sqlite")
    service = ImageService(state, upload, lambda url: url, lambda url: b"", CallStats())
    try:
        with ThreadPoolExecutor(len(images)) as pool:
            urls = list(pool.map(lambda path: service.hosted(Image(url=path.as_uri())), images))
        return service, urls
    finally:
        service.close()
        state.close()


def image_files(tmp_path, count: int, padding: int) -> list:
    """Distinct PNG files of about `padding` bytes (sniffed by their first bytes, padded after)."""
    paths = []
    for n in range(count):
        path = tmp_path / f"{n}.png"
        path.write_bytes(tiny_png((n, 0, 0)) + bytes([n]) * padding)
        paths.append(path)
    return paths


def test_big_images_are_held_two_at_a_time_whatever_the_pool(tmp_path):
    """Six threads host six distinct 3 MB images: at most BIG_AT_ONCE are fetched and uploaded at once."""
    from gwsync.images import BIG_AT_ONCE

    upload = UploadsAtOnce(wanted=BIG_AT_ONCE + 1, patience=0.3)
    service, urls = host_all_at_once(tmp_path, image_files(tmp_path, 6, 3 * 1024 * 1024), upload)
    assert len(set(urls)) == 6 and all(size > 3 * 1024 * 1024 for size in upload.sizes)
    assert upload.most == BIG_AT_ONCE == 2
    assert service.big.most_held == 2 and service.big.held == 0  # every place given back


def test_small_images_are_not_held_back(tmp_path):
    upload = UploadsAtOnce(wanted=6)
    service, urls = host_all_at_once(tmp_path, image_files(tmp_path, 6, 1000), upload)
    assert len(set(urls)) == 6
    assert upload.most == 6
    assert service.big.most_held == 0


def test_a_broken_big_image_gives_its_place_back(tmp_path):
    """A big file that is no image fails after taking a place: the place is free again."""
    from gwsync.http import CallStats
    from gwsync.images import BIG_AT_ONCE, ImageService
    from gwsync.models import Image
    from gwsync.state import SqliteState

    path = tmp_path / "big.png"
    path.write_bytes(b"MZ" + b"\x00" * (2 * 1024 * 1024))
    state = SqliteState(tmp_path / "state.sqlite")
    service = ImageService(state, UploadsAtOnce(wanted=1), lambda url: url, lambda url: b"", CallStats())
    try:
        for n in range(BIG_AT_ONCE + 1):  # would wait for ever if the places leaked
            with pytest.raises(BrokenImage, match="not an image"):
                service.hosted(Image(url=path.as_uri(), key=f"big:{n}"))
    finally:
        service.close()
        state.close()
    assert service.big.held == 0 and service.big.most_held == 1


def test_an_image_hosted_ahead_of_its_page_and_not_recorded_yet_is_not_hosted_again(tmp_path):
    """The prefetch pool may host a product's images before their page's bulk lookup, and the
    record waits for the next flush: the page must still know them (no second fetch or copy)."""
    from gwsync.http import CallStats
    from gwsync.images import ImageService
    from gwsync.models import Image, ImageAccess
    from gwsync.state import SqliteState

    uploads, copies, fetches = [], [], []
    state = SqliteState(tmp_path / "state.sqlite")
    service = ImageService(state, lambda data, name, kind: uploads.append(name) or f"https://cdn/{name}",
                           lambda url: copies.append(url) or f"https://cdn/copy/{len(copies)}",
                           lambda url: fetches.append(url) or tiny_png(), CallStats())
    private = Image(url="db:1", access=ImageAccess.AUTH, key="photo:1")
    public = Image(url="https://shop.example/p.png", access=ImageAccess.PUBLIC)
    try:
        for image in (private, public):
            service.prepare(image)  # the prefetch pool, ahead of the page
        assert state.images_by_keys([private.cache_key, public.cache_key]) == {}  # recorded later, in bulk
        service.preload([private, public])  # the page's one query
        assert service.hosted(private) == f"https://cdn/{uploads[0]}"
        assert service.hosted(public) == "https://cdn/copy/1"
        assert (len(uploads), len(copies), len(fetches)) == (1, 1, 1)
        service.flush()
        assert state.image_by_key(private.cache_key) == f"https://cdn/{uploads[0]}"
        assert state.image_by_key(public.cache_key) == "https://cdn/copy/1"
    finally:
        service.close()
        state.close()
