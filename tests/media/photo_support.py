"""Photos made for the tests with Pillow: a phone's JPEG with GPS and a sideways orientation,
and the files we refuse (a PNG named .jpg, a 20,000 × 20,000 px bomb, an SVG, a cut JPEG)."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image
from sqlalchemy.engine import Engine

from publisher.articles.drafts import ArticleDraft
from publisher.articles.store import save_draft
from publisher.db import session_scope

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


def an_article(engine: Engine, external_id: str = "test:photo", caption: str = "") -> int:
    """A stored article without a photo; its id."""
    with session_scope(engine) as session:
        _, article = save_draft(
            session,
            ArticleDraft(
                external_id=external_id,
                title="Obnova Glavnega trga",
                published_at=datetime(2025, 3, 4, 9, tzinfo=UTC),
                body_html="<p>Dela se začnejo v ponedeljek.</p>",
                body_text="Dela se začnejo v ponedeljek.",
                image_caption=caption,
            ),
        )
        assert article.id is not None
        return article.id


class PhotoServer(ThreadingHTTPServer):
    """A partner's web server on 127.0.0.1 with files at paths; counts what it is asked."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        super().__init__(("127.0.0.1", 0), _PhotoHandler)
        self.files = files
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _PhotoHandler(BaseHTTPRequestHandler):
    server: PhotoServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        found = self.server.files.get(self.path)
        if found is None:
            self.send_error(404)
            return
        body, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def photo_server(files: dict[str, tuple[bytes, str]]) -> Iterator[PhotoServer]:
    server = PhotoServer(files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
