"""A file upload written to disk once, as it streams in.

Starlette's form parser spools each uploaded file to a temporary file of its own, so saving
the upload under the name the staff member chose meant writing it a second time. Here the
multipart body is parsed as it arrives and the file's bytes go straight into the target file;
the small fields beside it (the CSRF token, a tick box) are kept in memory, each capped. The
body's limit is the app's :class:`~publisher.web.body.BodyLimit`, enforced on every chunk
this reads, so the file on disk never grows past it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

FIELD_LIMIT = 4096
"""The longest text field beside the file (a CSRF token is under 100 characters)."""


class UploadRefused(ValueError):
    """The body is not a multipart form with the file in it; the message says what is wrong."""


@dataclass
class Upload:
    """What :func:`receive_upload` read: the file saved at ``path`` and the other fields."""

    path: Path | None = None
    filename: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def safe_name(filename: str | None, default: str) -> str:
    """The uploaded file's own name, reduced to a safe base name (``default`` if none)."""
    base = Path((filename or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    return base or default


async def receive_upload(
    request: Request, folder: Path, *, file_field: str = "file", default_name: str = "upload"
) -> Upload:
    """Stream the request's multipart body: the part named ``file_field`` into ``folder``
    under its own (safe) name, the other parts into :attr:`Upload.fields`."""
    kind, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused("the form was not sent as multipart/form-data")
    upload = Upload()
    part = _Part()

    def on_part_begin() -> None:
        part.reset()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.header_value += data[start:end]

    def on_header_end() -> None:
        if part.header_name.lower() == b"content-disposition":
            _, params = parse_options_header(part.header_value)
            part.name = params.get(b"name", b"").decode("utf-8", "replace")
            if b"filename" in params:
                part.filename = params[b"filename"].decode("utf-8", "replace")
        part.header_name = part.header_value = b""

    def on_headers_finished() -> None:
        if part.name == file_field and part.filename is not None and upload.path is None:
            upload.filename = safe_name(part.filename, default_name)
            upload.path = folder / upload.filename
            part.out = upload.path.open("wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.out is not None:
            part.out.write(data[start:end])
        elif part.filename is None:
            part.value += data[start:end]
            if len(part.value) > FIELD_LIMIT:
                raise UploadRefused(f"the field {part.name!r} is too long")

    def on_part_end() -> None:
        if part.out is not None:
            part.out.close()
            part.out = None
        elif part.filename is None and part.name:
            upload.fields[part.name] = part.value.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise UploadRefused(f"the form could not be read: {exc}") from None
    finally:
        if part.out is not None:
            part.out.close()
    if upload.path is None:
        raise UploadRefused(f"the form has no file in its {file_field!r} field")
    return upload


class _Part:
    """The multipart part being read."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.header_name = b""
        self.header_value = b""
        self.name = ""
        self.filename: str | None = None
        self.value = b""
        self.out: IO[bytes] | None = None
