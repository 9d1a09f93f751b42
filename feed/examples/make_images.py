"""Writes the demo's images (small striped PNGs) into images/; run from anywhere."""

from pathlib import Path

from gwsync_feed.fake import png

COLOURS = {
    "czerwony": (196, 40, 46), "niebieski": (38, 84, 180), "czarny": (30, 30, 30),
    "bialy": (236, 236, 230), "zielony": (46, 140, 80), "bezowy": (214, 190, 150),
}

if __name__ == "__main__":
    folder = Path(__file__).parent / "images"
    folder.mkdir(exist_ok=True)
    for name, rgb in COLOURS.items():
        accent = (60, 60, 60) if sum(rgb) > 500 else (245, 245, 245)
        (folder / f"{name}.png").write_bytes(png(rgb, size=96, accent=accent))
