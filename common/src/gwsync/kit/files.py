"""Helpers a connector needs around the catalog: an image file found among candidates, a dated period."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import requests

from ..images import BrokenImage, read_limited, sniff

NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def first_image(get: Callable[[str], requests.Response], candidates: Iterable[str]) -> requests.Response:
    """The first candidate URL whose bytes are an image, as a response whose body is already read.

    For platforms that do not say a file's name in full (an image row without its
    extension): the bytes decide, not the name or the Content-Type. When no candidate is an
    image, `BrokenImage` names each one tried, so the report says why the image is missing.
    """
    tried = []
    for url in candidates:
        response = get(url)
        with response:
            if response.status_code != 200:
                tried.append(f"{url.rsplit('/', 1)[-1]}: HTTP {response.status_code}")
                continue
            data = read_limited(response)
        kind = sniff(data[:16])
        if kind is None:
            tried.append(f"{url.rsplit('/', 1)[-1]}: not an image")
            continue
        found = requests.Response()
        found.status_code, found.url, found.headers = response.status_code, response.url, response.headers
        found.headers["Content-Type"] = kind[0]
        found._content, found._content_consumed = data, True
        return found
    raise BrokenImage("no candidate file is an image (" + "; ".join(tried) + ")")


def naive_time(value: Any) -> datetime | None:
    """A platform's naive date or date-time text; None for blank, zero (`0000-00-00`) or junk."""
    text = str(value or "").strip()
    if not text or text.startswith("0000"):
        return None
    for fmt in NAIVE_FORMATS:
        try:
            return datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
    return None


def running(start: Any, end: Any, now: datetime) -> bool:
    """Whether a dated period (a promotion) holds at `now`; a missing or zero bound is open."""
    begin, finish = naive_time(start), naive_time(end)
    return (begin is None or begin <= now) and (finish is None or now <= finish)
