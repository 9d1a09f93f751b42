"""What a feed is, from its first bytes: the format, or a clear refusal (an HTML page, an unknown XML).

Detection reads the content, not the name: exports are often served as `export.php`
or `feed?id=3`, and a name says nothing about an error page served in its place.
"""

from __future__ import annotations

import re

from gwsync.errors import ConfigError

from .errors import FeedError

FORMATS = ("google", "ceneo", "iof", "csv", "xlsx")
TITLES = {"google": "Google Merchant XML", "ceneo": "Ceneo XML", "iof": "IdoSell IOF 3.0",
          "csv": "CSV", "xlsx": "XLSX"}
ZIP_MAGIC = b"PK\x03\x04"
_ROOT_FORMATS = {"rss": "google", "feed": "google", "offers": "ceneo", "offer": "iof"}
_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)", re.S | re.I)
_TAG = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.I)


def sniff(head: bytes, where: str) -> str:
    """`google`, `ceneo`, `iof`, `csv` or `zip` (an XLSX or an archive: decided by its members)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(ZIP_MAGIC):
        return "zip"
    refuse_html(text, where)
    if not text.startswith(b"<"):
        return "csv"
    root = root_name(text)
    if root is None:
        return "google"  # the root lies beyond the first bytes: let the parser say what it is
    if root.lower() == "html":
        raise html_error(where)
    if root not in _ROOT_FORMATS:
        raise ConfigError(f"feed {where}: an XML file with root <{root}> is not a feed format this tool "
                          "reads (Google Merchant <rss>/<feed>, Ceneo <offers>, IdoSell IOF <offer>)")
    return _ROOT_FORMATS[root]


def root_name(text: bytes) -> str | None:
    """The local name of the first element after the XML declaration, comments and DOCTYPE."""
    position = 0
    while match := _PROLOG.match(text, position):
        position = match.end()
    tag = _TAG.match(text, position + len(text[position:]) - len(text[position:].lstrip()))
    return tag.group(2).decode("ascii") if tag else None


def refuse_html(head: bytes, where: str) -> None:
    if _HTML.match(head.lstrip(b"\xef\xbb\xbf")):
        raise html_error(where)


def html_error(where: str) -> FeedError:
    return FeedError(f"feed {where}: the source answered with an HTML page, not a feed "
                     "(a login, error or maintenance page?)")
