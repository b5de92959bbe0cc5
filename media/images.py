"""Photo checks and derivatives: content sniffing, limits, EXIF facts, thumb/preview JPEGs.

Pure, synchronous functions (Pillow releases the GIL while decoding); the backend runs them in a worker
thread, never on the event loop. Nothing here trusts a file name or a client-declared mime type.

Limits are explicit and process-wide for Pillow (set at import):
- ``Image.MAX_IMAGE_PIXELS = PILLOW_MAX_PIXELS``; Pillow's ``DecompressionBombWarning`` is turned into an
  error by a warnings filter installed here (pytest's ``filterwarnings=error`` does the same in tests), and
  both it and ``DecompressionBombError`` surface as :class:`ImageRejected` ``("decompression_bomb")``.
- Each call also checks its own ``max_pixels`` from the header, before any pixel is decoded.
- ``ImageFile.LOAD_TRUNCATED_IMAGES = False``: a truncated file is an error, never a half-grey picture.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import pillow_heif
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from media.exif import exif_facts, gps_to_decimal, parse_exif_datetime
from media.image_structure import ImageRejected, check_complete, check_jpeg_data
from media.phash import dhash

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DERIVATIVE_SIZES",
    "PILLOW_MAX_PIXELS",
    "SNIFF_BYTES",
    "Derivative",
    "ImageFacts",
    "ImageRejected",
    "check_complete",
    "check_image",
    "check_jpeg_data",
    "gps_to_decimal",
    "inspect_image",
    "make_derivatives",
    "parse_exif_datetime",
    "sniff",
    "sniff_file",
]

T = TypeVar("T")

SNIFF_BYTES: Final = 64  # enough header for every signature below
DEFAULT_MAX_BYTES: Final = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS: Final = 120_000_000  # a 108 MP phone photo passes; 200 MP sensor modes do not
PILLOW_MAX_PIXELS: Final = DEFAULT_MAX_PIXELS  # Pillow warns above this, errors above twice this
DERIVATIVE_SIZES: Final[Mapping[str, int]] = {"preview": 1600, "thumb": 320}  # long side, px
JPEG_QUALITY: Final[Mapping[str, int]] = {"preview": 82, "thumb": 78}

Image.MAX_IMAGE_PIXELS = PILLOW_MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
pillow_heif.register_heif_opener()

_PILLOW_FORMATS: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}
# ISO-BMFF brands of HEVC-coded HEIF ("HEIC"); mif1/msf1 are generic HEIF and need a HEVC brand alongside.
_HEIC_BRANDS: Final = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_GENERIC_HEIF_BRANDS: Final = {b"mif1", b"msf1", b"mif2", b"miaf"}


@dataclass(frozen=True, slots=True)
class ImageFacts:
    mime: str
    width: int  # as stored; see display_size for the size after EXIF orientation
    height: int
    orientation: int  # EXIF 1..8 (1 when absent or invalid)
    captured_at: datetime | None  # EXIF DateTimeOriginal; timezone-aware only when the file gives an offset
    latitude: float | None  # decimal degrees, WGS84 as written by the device
    longitude: float | None

    @property
    def display_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


@dataclass(frozen=True, slots=True)
class Derivative:
    name: str  # "thumb" | "preview"
    data: bytes  # JPEG, no EXIF/XMP/comments (ICC profile kept so colours stay right)
    width: int
    height: int
    sha256_hex: str
    path: Path | None = None  # set when make_derivatives wrote it to out_dir
    mime: str = "image/jpeg"
    # perceptual hash (media.phash.dhash) of the upright pixels; set on the largest derivative only
    dhash: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


# -- sniffing ----------------------------------------------------------------------------------------------------
def sniff(header: bytes) -> str | None:
    """The photo type from magic bytes (pass the first :data:`SNIFF_BYTES`), or None for anything else.

    Only JPEG, PNG, WebP and HEIC/HEIF (HEVC brands) are recognised; PDF, ZIP, HTML, SVG, AVIF, empty → None.
    """
    if header.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(header) >= 12 and header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "image/webp"
    if len(header) >= 12 and header[4:8] == b"ftyp":
        box_size = int.from_bytes(header[:4], "big")
        major = header[8:12]
        end = min(len(header), box_size) if box_size >= 16 else min(len(header), 16)
        compatible = {header[i : i + 4] for i in range(16, end - 3, 4)}
        if major in _HEIC_BRANDS:
            return "image/heic"
        if major in _GENERIC_HEIF_BRANDS and compatible & _HEIC_BRANDS:
            return "image/heic"
    return None


def sniff_file(path: str | os.PathLike[str]) -> str | None:
    with open(path, "rb") as f:
        return sniff(f.read(SNIFF_BYTES))


# -- EXIF --------------------------------------------------------------------------------------------------------
# -- opening with limits -----------------------------------------------------------------------------------------
@contextmanager
def _open_checked(
    path: str | os.PathLike[str], max_pixels: int, max_bytes: int
) -> Iterator[ImageFile.ImageFile]:
    """Open (header only) after sniffing and size checks; map every Pillow failure to ImageRejected."""
    if max_pixels > PILLOW_MAX_PIXELS:
        raise ValueError(f"max_pixels {max_pixels} is above Pillow's limit {PILLOW_MAX_PIXELS}")
    size = os.stat(path).st_size
    if size == 0:
        raise ImageRejected("empty", "zero bytes")
    if size > max_bytes:
        raise ImageRejected("too_large", f"{size} bytes, limit {max_bytes}")
    mime = sniff_file(path)
    if mime is None:
        raise ImageRejected("unsupported_format", "not a JPEG, PNG, WebP or HEIC file")
    with _pillow_errors():
        im = _tolerate_metadata_warnings(lambda: Image.open(path, formats=list(_PILLOW_FORMATS)))
    try:
        if _PILLOW_FORMATS.get(im.format or "") != mime:
            raise ImageRejected("corrupt", f"content sniffed as {mime} but decodes as {im.format}")
        w, h = im.size
        if w <= 0 or h <= 0:
            raise ImageRejected("corrupt", f"image size {w}x{h}")
        if w * h > max_pixels:
            raise ImageRejected("too_many_pixels", f"{w}x{h} = {w * h} pixels, limit {max_pixels}")
        yield im
    finally:
        im.close()


def _tolerate_metadata_warnings(fn: Callable[[], T]) -> T:
    """Run ``fn``; if a Pillow warning was raised as an error (``-W error``, pytest's filterwarnings=error)
    for anything but a decompression bomb — typically "Corrupt EXIF data" — run it again ignoring
    UserWarnings. Broken EXIF is common on phones and must not reject the evidence; in production such
    warnings are only logged, so the retry (and its process-wide catch_warnings) never happens there.
    """
    try:
        return fn()
    except Image.DecompressionBombWarning:
        raise
    except Warning:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn()


@contextmanager
def _pillow_errors() -> Iterator[None]:
    try:
        yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("corrupt", "the image header cannot be read") from exc
    except (OSError, SyntaxError, EOFError) as exc:
        msg = str(exc)
        reason = "truncated" if "truncated" in msg or isinstance(exc, EOFError) else "corrupt"
        raise ImageRejected(reason, msg) from exc
    except (ValueError, TypeError, IndexError, KeyError, MemoryError, ZeroDivisionError) as exc:
        raise ImageRejected("corrupt", f"{type(exc).__name__}: {exc}") from exc


def _header_facts(im: Image.Image) -> ImageFacts:
    """What the header and EXIF say (no pixels decoded)."""
    orientation, captured, lat, lon = exif_facts(im)
    return ImageFacts(
        mime=_PILLOW_FORMATS[im.format or ""],
        width=im.size[0],
        height=im.size[1],
        orientation=orientation,
        captured_at=captured,
        latitude=lat,
        longitude=lon,
    )


def inspect_image(
    path: str | os.PathLike[str],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImageFacts:
    """Check a finished upload and read its facts; raises :class:`ImageRejected`.

    Decodes the whole file once to catch truncation: JPEG at 1/8 scale via ``draft`` (which still reads every
    scan; ~35 ms for 12 MP), PNG/WebP/HEIC fully.
    """
    with _open_checked(path, max_pixels, max_bytes) as im:
        facts = _header_facts(im)
        with _pillow_errors():
            if im.format == "JPEG":
                im.draft("RGB", (max(1, facts.width // 8), max(1, facts.height // 8)))
            im.load()
    return facts


def check_image(
    path: str | os.PathLike[str],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImageFacts:
    """The upload-time check without decoding pixels; raises :class:`ImageRejected`.

    Sniffed type, size, header-only ``Image.open`` (dimensions → pixel limit, Pillow's bomb check), EXIF
    facts, and :func:`check_complete` (the file's structure reaches its end). A file that passes can still
    fail to decode (damaged entropy data); the derivative worker checks and decodes it and marks it rejected
    then (:func:`check_jpeg_data` for JPEG).
    A few ms for 24 MB instead of ~90 ms for a full decode.
    """
    with _open_checked(path, max_pixels, max_bytes) as im:
        facts = _header_facts(im)
    check_complete(path, facts.mime)
    return facts


# -- derivatives -------------------------------------------------------------------------------------------------
def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= long_side:
        return w, h
    scale = long_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        im = im.point(lambda v: v / 256) if im.mode != "F" else im  # 16-bit → 8-bit range
        return im.convert("L").convert("RGB")
    return im.convert("RGB")


def _upright(img: Image.Image) -> Image.Image:
    def run() -> Image.Image:
        return ImageOps.exif_transpose(img)

    return _tolerate_metadata_warnings(run)


def _shrink(im: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Mild reductions (< 2x, e.g. a DCT-scaled decode down to 1600 px) use HAMMING: sharp and about half
    the cost of LANCZOS; larger ones box-reduce first, then LANCZOS (what ``thumbnail()`` does)."""
    if target == im.size:
        return im.copy()
    factor = max(im.width / target[0], im.height / target[1])
    if factor < 2:
        return im.resize(target, Image.Resampling.HAMMING)
    return im.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


def make_derivatives(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    sizes: Mapping[str, int] = DERIVATIVE_SIZES,
) -> dict[str, Derivative]:
    """Thumb (320 px long side) and preview (1600 px) JPEGs from one decode; never upscales.

    JPEG sources are decoded once with ``draft()`` at the smallest DCT scale that still covers the largest
    size; that decode is shrunk to the largest size and turned upright with ``ImageOps.exif_transpose``;
    each smaller size is resized from the next larger one. The largest carries the perceptual hash of its
    upright pixels (``dhash``, media.phash). Outputs carry no EXIF, XMP or comments (GPS stays only in the original). With
    ``out_dir`` the files are also written there as ``<name>.jpg``.
    """
    ordered = sorted(sizes.items(), key=lambda kv: -kv[1])
    largest = ordered[0][1]
    with _open_checked(path, max_pixels, max_bytes) as im, _pillow_errors():
        meta = dict(im.info)
        icc = meta.get("icc_profile")
        if im.format == "JPEG":
            w, h = im.size
            scale = largest / max(w, h)
            if scale < 1:
                im.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
        im.load()
        src: Image.Image = _to_rgb(im)
        out: dict[str, Derivative] = {}
        for i, (name, long_side) in enumerate(ordered):
            img = _shrink(src, _fit(src.size, long_side))
            perceptual: int | None = None
            if i == 0:
                # Turn upright after the first shrink (fewer pixels to move); exif_transpose reads the
                # orientation (EXIF or XMP) from the original's metadata.
                img.info = meta
                img = _upright(img)
                # hashed from the pixels already decoded and upright: no second decode
                perceptual = dhash(img)
            img.info = {}  # nothing from the original's metadata goes out (EXIF, XMP, comments)
            buf = io.BytesIO()
            save_kwargs: dict[str, Any] = {"quality": JPEG_QUALITY.get(name, 80)}
            if isinstance(icc, bytes):
                save_kwargs["icc_profile"] = icc
            img.save(buf, "JPEG", **save_kwargs)
            data = buf.getvalue()
            out[name] = Derivative(
                name, data, img.width, img.height, hashlib.sha256(data).hexdigest(), dhash=perceptual
            )
            src = img

    if out_dir is not None:
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        for name, der in list(out.items()):
            p = d / f"{name}.jpg"
            tmp = d / f".{name}.jpg.tmp"
            with open(tmp, "wb") as f:
                f.write(der.data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
            out[name] = Derivative(
                der.name, der.data, der.width, der.height, der.sha256_hex, p, dhash=der.dhash
            )
    return out
