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
