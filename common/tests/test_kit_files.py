"""An image found among candidate files by its bytes; dated periods."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
import responses

from gwsync.images import BrokenImage
from gwsync.kit import first_image, naive_time, running

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SHOP = "https://shop.example/userdata/public/gfx/abc"


@responses.activate
def test_the_first_candidate_whose_bytes_are_an_image_wins():
    responses.get(SHOP + ".jpg", status=404, body="<html>Not found</html>")
    responses.get(SHOP + ".gif", status=200, body="<html>a soft 404</html>", content_type="image/gif")
    responses.get(SHOP + ".png", body=PNG, content_type="application/octet-stream")
    found = first_image(lambda url: requests.get(url, stream=True, timeout=5),
                        [SHOP + ".jpg", SHOP + ".gif", SHOP + ".png"])
    assert found.url == SHOP + ".png" and found.content == PNG
    assert found.headers["Content-Type"] == "image/png"
    assert b"".join(found.iter_content(8)) == PNG  # readable again by the image service


@responses.activate
def test_no_image_among_the_candidates_names_each_one():
    responses.get(SHOP + ".jpg", status=404)
    responses.get(SHOP + ".png", body=b"<html></html>")
    with pytest.raises(BrokenImage, match=r"abc.jpg: HTTP 404; abc.png: not an image"):
        first_image(lambda url: requests.get(url, stream=True, timeout=5), [SHOP + ".jpg", SHOP + ".png"])


def test_periods_with_open_and_zero_bounds():
    now = datetime(2026, 2, 14, 12, 0)
    assert running("2026-02-01 00:00:00", "2026-02-28 23:59:59", now)
    assert running("0000-00-00 00:00:00", "0000-00-00 00:00:00", now) and running(None, "", now)
    assert not running("2026-02-15", None, now) and not running(None, "2026-02-14 11:59:59", now)
    assert naive_time("2026-02-14") == datetime(2026, 2, 14) and naive_time("junk") is None
