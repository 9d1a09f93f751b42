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
