"""Image references in a feed -> `Image`s with the right access.

- Absolute http(s) URLs are public: Google requires feed images to be crawlable,
  so the Gateway copies them itself (`PUBLIC`).
- Relative references are resolved against the feed: beside a local feed they are
  files (`file://`, `FETCH`: the image module reads them); beside an HTTP feed they
  are URLs on the feed's host, fetched with the feed's credentials (`AUTH`) when it
  has some.
- A remote feed may not name local files: that would let whoever writes the feed
  read files from the machine running the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from gwsync.models import Image, ImageAccess

_WEB = ("http://", "https://")


@dataclass(frozen=True)
class ImageResolver:
    base: str  # the feed's URL, or the absolute folder of a local feed
    remote: bool
    private: bool = False  # the remote feed is behind credentials
    relative: bool = True  # False: the feed's own place serves no images (sftp, ftp)

    def resolve(self, ref: str) -> Image:
        """Raise `ValueError` for a reference that must not or cannot be used."""
        ref = ref.strip()
        lowered = ref.lower()
        if lowered.startswith(_WEB):
            return Image(url=ref, access=ImageAccess.PUBLIC)
        if lowered.startswith("file:"):
            return self._local(Path(unquote(urlsplit(ref).path)), ref)
        if urlsplit(ref).scheme and len(urlsplit(ref).scheme) > 1:  # data:, ftp:; not C:\
            raise ValueError(f"image {ref!r}: only http(s) URLs and files are supported")
        if self.remote and not self.relative:
            raise ValueError(f"image {ref!r}: a relative image needs a feed on the web or on disk; "
                             "write full http(s) URLs into the feed")
        if self.remote:
            access = ImageAccess.AUTH if self.private else ImageAccess.PUBLIC
            return Image(url=urljoin(self.base, ref), access=access)
        return self._local(Path(self.base) / ref, ref)

    def _local(self, path: Path, ref: str) -> Image:
        if self.remote:
            raise ValueError(f"image {ref!r}: a remote feed may not name local files")
        return Image(url=path.resolve().as_uri(), access=ImageAccess.FETCH)

    def same_origin(self, url: str) -> bool:
        """Credentials go only to the feed's own scheme, host and port."""
        feed, other = urlsplit(self.base), urlsplit(url)
        return (feed.scheme, feed.netloc) == (other.scheme, other.netloc)


def resolve_all(resolver: ImageResolver, refs: list[str]) -> tuple[tuple[Image, ...], tuple[str, ...]]:
    """Images in feed order without repeats, and a note per reference that was dropped."""
    images: dict[str, Image] = {}
    notes = []
    for ref in refs:
        if not ref.strip():
            continue
        try:
            image = resolver.resolve(ref)
        except ValueError as exc:
            notes.append(str(exc))
            continue
        images.setdefault(image.url, image)
    return tuple(images.values()), tuple(notes)
