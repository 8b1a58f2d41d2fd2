"""The Pillow work on a photo: what the bytes really are, whether we take them, and the
upright, metadata-free JPEG of each size.

Nothing here knows the database or the media store: :func:`check_file` (cheap, from the
first bytes and the name) and :func:`decode` turn untrusted bytes into a checked picture or a
:class:`PhotoRefused`, and :func:`render_sizes` makes the files to keep.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import PurePath

from PIL import Image, ImageCms, ImageOps
from pillow_heif import register_heif_opener

from publisher.media.formats import FORMAT_NAMES, extension_format

register_heif_opener()

JPEG_QUALITY = 82

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}


class PhotoRefused(ValueError):
    """A file that is not a photo we take, and why, in English (``reason``) and Slovenian
    (``reason_sl``, for the admin); nothing else about the article is lost.

    Imported from :mod:`publisher.media.photos`, where the rest of the contract lives."""

    def __init__(self, reason: str, reason_sl: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_sl = reason_sl


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    data: bytes


def sniff_format(data: bytes) -> str | None:
    """Pillow's name of the format the first bytes say, among those we take; ``None`` else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def check_file(data: bytes, name: str, *, max_bytes: int) -> str:
    """The format of ``data`` (Pillow's name) from its first bytes, or :class:`PhotoRefused`
    when it is empty, too large, an SVG, not an image we take, or named as another format."""
    label = _label(name)
    if not data:
        raise PhotoRefused(f"{label}: the file is empty.", f"{label}: datoteka je prazna.")
    if len(data) > max_bytes:
        mb = max_bytes / 1_000_000
        raise PhotoRefused(
            f"{label}: the file is larger than {mb:g} MB; make it smaller and try again.",
            f"{label}: datoteka je večja od {mb:g} MB; zmanjšajte jo in poskusite znova.",
        )
    if _looks_like_svg(data):
        raise PhotoRefused(
            f"{label}: SVG drawings are not taken as photos; save it as JPEG or PNG.",
            f"{label}: risbe SVG ne sprejemamo kot fotografije; shranite jo kot JPEG ali PNG.",
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise PhotoRefused(
            f"{label}: not a photo we take (JPEG, PNG, WebP or HEIC).",
            f"{label}: to ni fotografija, ki jo sprejmemo (JPEG, PNG, WebP ali HEIC).",
        )
    said = extension_format(name)
    if said is not None and said != fmt:
        ending = PurePath(name).suffix
        raise PhotoRefused(
            f"{label}: the name ends in {ending} but the file is a {FORMAT_NAMES[fmt]} image; "
            "rename it or save it in the right format.",
            f"{label}: ime se končuje s {ending}, datoteka pa je slika {FORMAT_NAMES[fmt]}; "
            "preimenujte jo ali jo shranite v pravi obliki.",
        )
    return fmt


def _label(name: str) -> str:
    return PurePath(name).name or "photo"


def decode(data: bytes, name: str, fmt: str, *, max_pixels: int) -> Image.Image:
    """Decode ``data`` (of format ``fmt``, from :func:`check_file`) fully, or raise
    :class:`PhotoRefused`.

    The pixel count is checked from the header before anything is decoded (so a small file
    that says 20,000 × 20,000 costs nothing); a file that ends early is refused, not filled in.
    """
    label = _label(name)
    unreadable = PhotoRefused(
        f"{label}: the image is damaged or incomplete (it may not have uploaded fully).",
        f"{label}: slika je poškodovana ali nepopolna (morda se ni naložila do konca).",
    )
    too_large = PhotoRefused(
        f"{label}: the image has more than {max_pixels:,} pixels; make it smaller.",
        f"{label}: slika ima več kot {max_pixels:,} pikslov; zmanjšajte jo.".replace(",", "."),
    )
    # Pillow's decompression-bomb guard stays on: beyond twice its limit ``open`` raises;
    # between its limit and twice it, where Pillow only warns, ours refuses (the lower of the
    # two limits is checked from the header, before any pixel is decoded).
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:
        raise too_large from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise unreadable from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > limit:
        raise too_large
    try:
        image.load()  # all of it: a file that ends early is refused (never LOAD_TRUNCATED_IMAGES)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise unreadable from exc
    return image


def _srgb(image: Image.Image) -> Image.Image:
    """The picture in RGB, transparency flattened on white, colours moved to sRGB when the file
    carried a colour profile (a phone's Display P3, a print shop's CMYK), so that dropping the
    profile is safe."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "CMYK", "L"):
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            return ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def render_sizes(image: Image.Image, widths: list[int]) -> list[Rendition]:
    """The picture upright, in RGB, as a JPEG of each of ``widths`` it is at least as wide as
    (and once at its own width when it is narrower than one), largest first, with no EXIF,
    XMP, comment or profile: only pixels leave."""
    upright = ImageOps.exif_transpose(image)
    picture = _srgb(upright)
    largest = min(max(widths), picture.width)
    targets = sorted({min(width, picture.width) for width in widths}, reverse=True)
    large_height = max(1, round(picture.height * largest / picture.width))
    renditions = []
    for width in targets:
        height = large_height if width == largest else max(1, round(large_height * width / largest))
        sized = (
            picture
            if (width, height) == picture.size
            else picture.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        )
        clean = Image.new("RGB", sized.size)
        clean.paste(sized)  # a new image: nothing of the original's info dict comes along
        out = io.BytesIO()
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        renditions.append(Rendition(width, height, out.getvalue()))
    return renditions
