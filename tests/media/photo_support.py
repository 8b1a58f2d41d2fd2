"""Photos made for the tests with Pillow: a phone's JPEG with GPS and a sideways orientation,
and the files we refuse (a PNG named .jpg, a 20,000 × 20,000 px bomb, an SVG, a cut JPEG)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
DESCRIPTION = 0x010E


def phone_jpeg(width: int = 1600, height: int = 900, *, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: stored ``width`` × ``height`` and EXIF saying "turn it a
    quarter" (orientation 6: upright it is ``height`` × ``width``), with a GPS position, a
    description and a comment."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    image.paste((40, 40, 200), (0, 0, width // 4, height // 4))  # a corner to see the turn
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[DESCRIPTION] = "Trg pred občino"
    exif.get_ifd(GPS_IFD).update(
        {1: "N", 2: (46.0, 3.0, 12.5), 3: "E", 4: (14.0, 30.0, 7.25), 0: b"\x02\x02\x00\x00"}
    )
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home", quality=90)
    return out.getvalue()


def png(width: int = 300, height: int = 200, *, transparent: bool = False) -> bytes:
    image = Image.new("RGBA" if transparent else "RGB", (width, height), (10, 120, 60, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def bomb_png(side: int = 20_000) -> bytes:
    """A PNG whose header says ``side`` × ``side`` pixels (400 million at 20,000) in a few KB:
    one bit per pixel, all zero, compressed to almost nothing."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (side + 7) // 8)
    squeezer = zlib.compressobj(9)
    body = b"".join(squeezer.compress(row) for _ in range(side)) + squeezer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)


def truncated_jpeg() -> bytes:
    """A real JPEG cut off half way, as an interrupted upload leaves it."""
    data = phone_jpeg(800, 600, orientation=1)
    return data[: len(data) // 2]
