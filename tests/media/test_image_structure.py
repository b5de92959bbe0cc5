"""check_jpeg_data: a JPEG damaged in the middle (header and end marker intact) is refused; whole ones pass."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from media.image_structure import ImageRejected, check_jpeg_data
from media.images import check_image, make_derivatives


def _photo(mode: str = "RGB", **save: object) -> bytes:
    """Gradients plus (seeded) noise: real entropy-coded data, the same bytes on every run."""
    size = (800, 600)
    base = Image.linear_gradient("L").resize(size)
    noise = Image.frombytes("L", size, random.Random(5).randbytes(size[0] * size[1]))
    image = Image.merge("RGB", (base, noise, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    image.convert(mode).save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def _damage(data: bytes, how: str) -> bytes:
    damaged = bytearray(data)
    middle = len(damaged) // 2
    if how == "zeroed":  # a lost flash block
        damaged[middle : middle + 4096] = bytes(4096)
    elif how == "overwritten":
        damaged[middle : middle + 256] = bytes(random.Random(7).randrange(0xFF) for _ in range(256))
    else:  # "lost": bytes missing, the rest shifted up
        del damaged[middle : middle + 5000]
    return bytes(damaged)


@pytest.mark.parametrize(
    ("mode", "save"),
    [("RGB", {}), ("RGB", {"progressive": True}), ("L", {}), ("CMYK", {}), ("RGB", {"subsampling": 0})],
)
def test_whole_jpegs_pass(tmp_path: Path, mode: str, save: dict[str, object]) -> None:
    path = tmp_path / "whole.jpg"
    path.write_bytes(_photo(mode, **save))
    check_jpeg_data(path)


@pytest.mark.parametrize("how", ["zeroed", "overwritten", "lost"])
def test_jpeg_damaged_in_the_middle_is_refused(tmp_path: Path, how: str) -> None:
    path = tmp_path / "damaged.jpg"
    path.write_bytes(_damage(_photo(), how))
    # what Pillow sees: a whole file, and it decodes (grey where the damage is)
    check_image(path)
    assert set(make_derivatives(path)) == {"thumb", "preview"}
    with pytest.raises(ImageRejected) as info:
        check_jpeg_data(path)
    assert info.value.reason == "corrupt"
    assert "Corrupt JPEG data" in info.value.detail


def test_jpeg_damaged_in_a_progressive_scan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "damaged-progressive.jpg"
    path.write_bytes(_damage(_photo(progressive=True), "zeroed"))
    with pytest.raises(ImageRejected):
        check_jpeg_data(path)
