"""Whether a photo file is whole: its structure reaches its end, and (JPEG) its compressed data is undamaged.

Separate from media.images (decoding, derivatives) because these checks read bytes, not pixels.
"""

from __future__ import annotations

import mmap
import os

import simplejpeg


class ImageRejected(Exception):  # the backend maps it to 422
    """The file is not an acceptable photo. ``reason`` is a stable code, ``detail`` is for people.

    Reasons: ``empty``, ``too_large``, ``unsupported_format``, ``too_many_pixels``, ``decompression_bomb``,
    ``truncated``, ``corrupt``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


_JPEG_PADDING = b"\x00\xff\r\n \t"
_PNG_IEND = b"IEND\xaeB`\x82"


def check_complete(path: str | os.PathLike[str], mime: str) -> None:
    """Truncation check from the file's structure, without decoding; raises ImageRejected("truncated"/"corrupt").

    - JPEG: an EOI marker (FF D9) after the first scan starts. FF D9 cannot occur inside entropy-coded data,
      so one after the first SOS means the primary image's scan data ended; trailers after EOI (padding,
      MPF secondary images, vendor blocks) are tolerated. The common case (EOI at the end, maybe padded) is
      a look at the last bytes.
    - PNG: the IEND chunk with its fixed CRC in the file's last 4 KiB (anything after it is ignored).
    - WebP: the RIFF size + 8 equals the file size.
    - HEIC/HEIF: the top-level ISO-BMFF boxes add up exactly to the file size.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise ImageRejected("empty", "zero bytes")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if mime == "image/jpeg":
                _check_jpeg_end(data, size)
            elif mime == "image/png":
                if data.rfind(_PNG_IEND, max(0, size - 4096)) < 0:
                    raise ImageRejected("truncated", "PNG has no IEND chunk at its end")
            elif mime == "image/webp":
                riff = int.from_bytes(data[4:8], "little") + 8
                if riff > size:
                    raise ImageRejected("truncated", f"WebP RIFF declares {riff} bytes, the file has {size}")
                if riff != size:
                    raise ImageRejected("corrupt", f"WebP RIFF declares {riff} bytes, the file has {size}")
            elif mime == "image/heic":
                _check_bmff_boxes(data, size)
            else:  # pragma: no cover - callers pass a sniffed type
                raise ImageRejected("unsupported_format", mime)


def _check_jpeg_end(data: mmap.mmap, size: int) -> None:
    end = size
    tail_start = max(0, size - 65536)
    tail = data[tail_start:size].rstrip(_JPEG_PADDING)
    if tail.endswith(b"\xff\xd9"):
        return
    end = tail_start + len(tail)
    sos = _jpeg_first_scan(data, size)
    if sos is None or data.rfind(b"\xff\xd9", sos, end) < 0:
        raise ImageRejected("truncated", "JPEG ends before its end-of-image marker")


def _jpeg_first_scan(data: mmap.mmap, size: int) -> int | None:
    """Offset of the first SOS segment, walking the marker segments after SOI (None if malformed)."""
    pos = 2
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # no length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            return pos
        if length < 2:
            return None
        pos += 2 + length
    return None


def _check_bmff_boxes(data: mmap.mmap, size: int) -> None:
    pos = 0
    while pos < size:
        if pos + 8 > size:
            raise ImageRejected("truncated", f"HEIF box header cut at byte {pos} of {size}")
        box = int.from_bytes(data[pos : pos + 4], "big")
        if box == 1:
            if pos + 16 > size:
                raise ImageRejected("truncated", f"HEIF box header cut at byte {pos} of {size}")
            box = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif box == 0:  # extends to the end of the file
            box = size - pos
        if box < 8:
            raise ImageRejected("corrupt", f"HEIF box at byte {pos} has size {box}")
        if pos + box > size:
            raise ImageRejected("truncated", f"HEIF box at byte {pos} needs {box} bytes; the file ends first")
        pos += box


# libjpeg's warnings that mean damaged compressed data; it would decode such a file anyway, grey where the
# damage is. Other warnings (an odd JFIF thumbnail size, an unknown Adobe transform) do not make a photo
# less true and are not refusals.
_DAMAGE_WARNINGS = ("Corrupt JPEG data", "Premature end of JPEG file")


def check_jpeg_data(path: str | os.PathLike[str]) -> None:
    """Decode a JPEG's compressed data once (libjpeg-turbo at 1/8 scale, every warning an error) and raise
    ImageRejected("corrupt") when it is damaged: bytes lost, zeroed or overwritten in the middle of the file
    while its header and end marker are intact. Pillow cannot tell (it silences libjpeg's warnings).

    Every Huffman code is still read, so this costs about a full decode's entropy decoding (~60 ms for a
    6 MB photo): the derivative worker runs it, not the upload. A flipped bit that still decodes is not
    caught here; transfer damage is the whole-file sha256's job.
    """
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            simplejpeg.decode_jpeg(data, colorspace="GRAY", min_factor=8, strict=True)
        except ValueError as exc:
            message = str(exc)
            if message.startswith(_DAMAGE_WARNINGS):
                raise ImageRejected("corrupt", f"the JPEG's image data is damaged ({message})") from exc
