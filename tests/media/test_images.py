"""Sniffing, limits, EXIF facts and derivatives (media.images) on files built here."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from media.images import (
    ImageRejected,
    gps_to_decimal,
    inspect_image,
    make_derivatives,
    parse_exif_datetime,
    sniff,
    sniff_file,
)

ROOT = Path(__file__).resolve().parents[2]
RED, BLUE = (255, 0, 0), (0, 0, 255)


# -- builders ----------------------------------------------------------------------------------------------------
def two_tone(size: tuple[int, int] = (400, 200)) -> Image.Image:
    """Left half red, right half blue (as stored), so orientation handling is visible."""
    w, h = size
    im = Image.new("RGB", size, RED)
    im.paste(BLUE, (w // 2, 0, w, h))
    return im


def exif_bytes(
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    subsec: str | None = None,
    lat: tuple[float, float, float, str] | None = None,
    lon: tuple[float, float, float, str] | None = None,
) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if subsec:
        sub[ExifTags.Base.SubsecTimeOriginal] = subsec
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    for (tag_ref, tag_val), v in (
        ((ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude), lat),
        ((ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude), lon),
    ):
        if v is not None:
            d, m, s, ref = v
            gps[tag_ref] = ref
            gps[tag_val] = (IFDRational(d), IFDRational(m), IFDRational(round(s * 100), 100))
    return exif.tobytes()


def save(im: Image.Image, path: Path, fmt: str, **kw: object) -> Path:
    im.save(path, fmt, **kw)
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height with (almost) no pixel data: a decompression-bomb header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def jpeg_markers(data: bytes) -> list[int]:
    """Marker bytes of the JPEG header segments up to SOS (APP1 = 0xE1 carries EXIF or XMP)."""
    assert data[:2] == b"\xff\xd8"
    i, markers = 2, []
    while i < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


@pytest.fixture
def heic(tmp_path: Path) -> Path:
    exif = exif_bytes(taken="2023:11:02 14:05:00")
    return save(two_tone((640, 480)), tmp_path / "photo.heic", "HEIF", quality=80, exif=exif)


# -- sniffing ----------------------------------------------------------------------------------------------------
def test_sniff_each_supported_format(tmp_path: Path, heic: Path) -> None:
    im = two_tone()
    assert sniff_file(save(im, tmp_path / "a.jpg", "JPEG")) == "image/jpeg"
    assert sniff_file(save(im, tmp_path / "a.png", "PNG")) == "image/png"
    assert sniff_file(save(im, tmp_path / "a.webp", "WEBP")) == "image/webp"
    assert heic.read_bytes()[4:12] == b"ftypheic"  # a real HEIC from pillow-heif's HEVC encoder
    assert sniff_file(heic) == "image/heic"
    # generic HEIF brand with a HEVC compatible brand (how some Android phones write it)
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic") == "image/heic"


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10"/>',
        b"GIF89a\x01\x00\x01\x00",
        b"II*\x00\x08\x00\x00\x00",  # TIFF
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",  # AVIF: no decoder here
        b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif",
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",  # MP4 video
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"\xff\xd8",  # too short to be a JPEG
    ],
)
def test_sniff_refuses_non_photos(header: bytes) -> None:
    assert sniff(header) is None


@given(st.binary(max_size=64))
def test_sniff_never_raises(data: bytes) -> None:
    assert sniff(data) in (None, "image/jpeg", "image/png", "image/webp", "image/heic")


# -- refusals ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "unsupported_format"),
        (b"PK\x03\x04" + b"\x00" * 200, "unsupported_format"),
        (b"<html><script>alert(1)</script></html>", "unsupported_format"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "unsupported_format"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 50, "corrupt"),
    ],
    ids=["zero-bytes", "pdf", "zip", "html", "svg", "jpeg-magic-garbage"],
)
def test_refuses_non_photos_named_jpg(tmp_path: Path, content: bytes, reason: str) -> None:
    p = tmp_path / "photo.jpg"
    p.write_bytes(content)
    with pytest.raises(ImageRejected) as exc:
        inspect_image(p)
    assert exc.value.reason == reason
    with pytest.raises(ImageRejected):
        make_derivatives(p)


def test_truncated_jpeg_refused(tmp_path: Path) -> None:
    im = Image.effect_noise((800, 600), 40).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 6 // 10])
    with pytest.raises(ImageRejected) as exc:
        inspect_image(p)
    assert exc.value.reason == "truncated"
    with pytest.raises(ImageRejected) as exc2:
        make_derivatives(p)
    assert exc2.value.reason == "truncated"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_truncated_png_and_webp_refused(tmp_path: Path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.effect_noise((300, 300), 40).convert("RGB").save(buf, fmt)
    p = tmp_path / f"cut.{fmt.lower()}"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageRejected) as exc:
        inspect_image(p)
    assert exc.value.reason in {"truncated", "corrupt"}


def test_pixel_limit_checked_before_decoding(tmp_path: Path) -> None:
    p = save(two_tone((2000, 1500)), tmp_path / "big.jpg", "JPEG")
    with pytest.raises(ImageRejected) as exc:
        inspect_image(p, max_pixels=1_000_000)
    assert exc.value.reason == "too_many_pixels"
    with pytest.raises(ImageRejected):
        make_derivatives(p, max_pixels=1_000_000)
    assert inspect_image(p, max_pixels=3_000_000).width == 2000


@pytest.mark.parametrize("side", [12_000, 20_000], ids=["pillow-warning", "pillow-error"])
def test_decompression_bomb_refused(tmp_path: Path, side: int) -> None:
    # 144 MP is above Pillow's limit (120 MP: a warning, made an error), 400 MP above twice it (an error).
    p = tmp_path / "bomb.png"
    p.write_bytes(png_header_only(side, side))
    with pytest.raises(ImageRejected) as exc:
        inspect_image(p)
    assert exc.value.reason == "decompression_bomb"
    with pytest.raises(ImageRejected):
        make_derivatives(p)


def test_decompression_bomb_is_an_error_outside_pytest_too(tmp_path: Path) -> None:
    """Production has no filterwarnings=error: importing media.images must make the warning an error."""
    p = tmp_path / "bomb.png"
    p.write_bytes(png_header_only(12_000, 12_000))
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from media.images import ImageRejected, inspect_image
        try:
            inspect_image({str(p)!r})
        except ImageRejected as exc:
            print(exc.reason)
        """
    )
    res = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True
    )
    assert res.stdout.strip() == "decompression_bomb"


def test_file_size_limit(tmp_path: Path) -> None:
    p = save(Image.effect_noise((500, 500), 50).convert("RGB"), tmp_path / "n.jpg", "JPEG", quality=95)
    with pytest.raises(ImageRejected) as exc:
        inspect_image(p, max_bytes=1000)
    assert exc.value.reason == "too_large"


# -- facts -------------------------------------------------------------------------------------------------------
def test_exif_capture_time_gps_and_orientation(tmp_path: Path) -> None:
    exif = exif_bytes(
        orientation=6,
        taken="2024:05:17 09:30:15",
        offset="+08:00",
        subsec="25",
        lat=(31, 14, 3.6, "N"),
        lon=(121, 28, 12.0, "E"),
    )
    p = save(two_tone((400, 200)), tmp_path / "exif.jpg", "JPEG", exif=exif)
    facts = inspect_image(p)
    assert facts.mime == "image/jpeg"
    assert (facts.width, facts.height, facts.orientation) == (400, 200, 6)
    assert facts.display_size == (200, 400)
    assert facts.captured_at == datetime(2024, 5, 17, 9, 30, 15, 250000, tzinfo=timezone(timedelta(hours=8)))
    assert facts.latitude == pytest.approx(31.2343333, abs=1e-6)
    assert facts.longitude == pytest.approx(121.47, abs=1e-6)


def test_exif_southern_western_and_naive_time(tmp_path: Path) -> None:
    exif = exif_bytes(taken="2022:01:31 23:59:59", lat=(33, 52, 4.0, "S"), lon=(70, 40, 0.0, "W"))
    facts = inspect_image(save(two_tone(), tmp_path / "s.webp", "WEBP", exif=exif))
    assert facts.mime == "image/webp"
    assert facts.captured_at == datetime(2022, 1, 31, 23, 59, 59)  # no offset in the file: naive
    assert facts.captured_at.tzinfo is None
    assert facts.latitude == pytest.approx(-33.8677778, abs=1e-6)
    assert facts.longitude == pytest.approx(-70.6666667, abs=1e-6)


def test_no_exif_gives_empty_facts(tmp_path: Path) -> None:
    facts = inspect_image(save(two_tone(), tmp_path / "plain.png", "PNG"))
    assert (facts.mime, facts.orientation, facts.captured_at, facts.latitude, facts.longitude) == (
        "image/png",
        1,
        None,
        None,
        None,
    )


def test_heic_facts_and_derivatives(heic: Path) -> None:
    facts = inspect_image(heic)
    assert facts.mime == "image/heic"
    assert (facts.width, facts.height) == (640, 480)
    assert facts.captured_at == datetime(2023, 11, 2, 14, 5, 0)
    out = make_derivatives(heic)
    assert (out["preview"].width, out["preview"].height) == (640, 480)
    assert (out["thumb"].width, out["thumb"].height) == (320, 240)


def test_broken_exif_does_not_reject(tmp_path: Path) -> None:
    p = save(
        two_tone(), tmp_path / "bad-exif.jpg", "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"
    )
    facts = inspect_image(p)
    assert facts.captured_at is None
    assert facts.orientation == 1


@pytest.mark.parametrize(
    ("value", "offset", "subsec", "expected"),
    [
        ("2024:02:29 12:00:00", None, None, datetime(2024, 2, 29, 12)),
        (
            b"2024:02:29 12:00:00\x00",
            b"-03:30",
            None,
            datetime(2024, 2, 29, 12, tzinfo=timezone(-timedelta(hours=3.5))),
        ),
        ("2024:02:29 12:00:00", "Z", "7", datetime(2024, 2, 29, 12, 0, 0, 700000)),
        ("0000:00:00 00:00:00", None, None, None),
        ("    :  :     :  :  ", None, None, None),
        ("2023:02:29 12:00:00", None, None, None),
        ("", None, None, None),
        (None, None, None, None),
        (12345, None, None, None),
    ],
)
def test_parse_exif_datetime(
    value: object, offset: object, subsec: object, expected: datetime | None
) -> None:
    assert parse_exif_datetime(value, offset, subsec) == expected


def test_gps_to_decimal_edges() -> None:
    assert gps_to_decimal((IFDRational(10), IFDRational(30), IFDRational(0)), "S") == -10.5
    assert gps_to_decimal(((10, 1), (30, 1), (0, 1)), b"E\x00") == 10.5
    assert gps_to_decimal((IFDRational(10), IFDRational(0, 0), IFDRational(0)), "N") is None
    assert gps_to_decimal((IFDRational(10), IFDRational(30), IFDRational(0)), "X") is None
    assert gps_to_decimal((IFDRational(10), IFDRational(61), IFDRational(0)), "N") is None
    assert gps_to_decimal(None, "N") is None
    assert gps_to_decimal((1, 2), "N") is None


# -- derivatives -------------------------------------------------------------------------------------------------
def _colour_at(data: bytes, fx: float, fy: float) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as im:
        px = im.convert("RGB").getpixel((int(fx * (im.width - 1)), int(fy * (im.height - 1))))
    assert isinstance(px, tuple)
    return px


def _is(colour: tuple[int, ...], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(colour, target, strict=True))


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        (1, (1600, 800), (0.1, 0.5), (0.9, 0.5)),
        (3, (1600, 800), (0.9, 0.5), (0.1, 0.5)),  # 180°: stored left → displayed right
        (6, (800, 1600), (0.5, 0.1), (0.5, 0.9)),  # 90° CW: stored left → displayed top
        (8, (800, 1600), (0.5, 0.9), (0.5, 0.1)),  # 90° CCW: stored left → displayed bottom
    ],
)
def test_derivatives_are_upright(
    tmp_path: Path,
    orientation: int,
    size: tuple[int, int],
    red_at: tuple[float, float],
    blue_at: tuple[float, float],
) -> None:
    p = save(two_tone((4000, 2000)), tmp_path / "o.jpg", "JPEG", exif=exif_bytes(orientation=orientation))
    out = make_derivatives(p)
    prev, thumb = out["preview"], out["thumb"]
    assert (prev.width, prev.height) == size
    assert (thumb.width, thumb.height) == (size[0] * 320 // 1600, size[1] * 320 // 1600)
    for d in (prev, thumb):
        assert _is(_colour_at(d.data, *red_at), RED)
        assert _is(_colour_at(d.data, *blue_at), BLUE)


def test_derivatives_carry_no_metadata(tmp_path: Path) -> None:
    exif = exif_bytes(
        orientation=6, taken="2024:05:17 09:30:15", lat=(31, 14, 3.6, "N"), lon=(121, 28, 12.0, "E")
    )
    p = save(
        two_tone((3000, 2000)),
        tmp_path / "gps.jpg",
        "JPEG",
        exif=exif,
        comment=b"inspector note",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">gps</x:xmpmeta>',
    )
    assert 0xE1 in jpeg_markers(p.read_bytes())
    for d in make_derivatives(p).values():
        assert d.mime == "image/jpeg"
        markers = jpeg_markers(d.data)
        assert 0xE1 not in markers  # no APP1: no EXIF, no XMP
        assert 0xFE not in markers  # no comment
        assert b"Exif" not in d.data[:4096]
        with Image.open(io.BytesIO(d.data)) as im:
            assert im.format == "JPEG"
            assert dict(im.getexif()) == {}
            assert not {"exif", "xmp", "comment"} & set(im.info)


def test_derivative_sizes_never_upscale_and_files_written(tmp_path: Path) -> None:
    p = save(two_tone((800, 600)), tmp_path / "small.png", "PNG")
    out = make_derivatives(p, tmp_path / "out")
    assert (out["preview"].width, out["preview"].height) == (800, 600)
    assert (out["thumb"].width, out["thumb"].height) == (320, 240)
    for name, d in out.items():
        assert d.path == tmp_path / "out" / f"{name}.jpg"
        assert d.path.read_bytes() == d.data
        assert d.size == len(d.data)
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == ["preview.jpg", "thumb.jpg"]


def test_transparent_png_flattened_on_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 200, 400))
    out = make_derivatives(save(im, tmp_path / "alpha.png", "PNG"))
    assert _is(_colour_at(out["thumb"].data, 0.1, 0.5), RED)
    assert _is(_colour_at(out["thumb"].data, 0.9, 0.5), (255, 255, 255))


def test_palette_and_grayscale_sources(tmp_path: Path) -> None:
    pal = two_tone((2000, 1000)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    gray16 = Image.linear_gradient("L").resize((500, 500)).convert("I;16")
    for im, name in ((pal, "p.png"), (gray16, "g16.png"), (two_tone().convert("CMYK"), "cmyk.jpg")):
        out = make_derivatives(save(im, tmp_path / name, "JPEG" if name.endswith("jpg") else "PNG"))
        with Image.open(io.BytesIO(out["preview"].data)) as d:
            assert d.mode == "RGB"
    assert (make_derivatives(tmp_path / "p.png")["preview"].width, 1600) == (1600, 1600)


def test_camera_sized_jpeg(tmp_path: Path) -> None:
    """12 MP with orientation 6, as from a tablet: preview 1200×1600, thumb 240×320."""
    im = Image.effect_noise((4000, 3000), 30).convert("RGB")
    p = save(im, tmp_path / "cam.jpg", "JPEG", quality=85, exif=exif_bytes(orientation=6))
    out = make_derivatives(p)
    assert (out["preview"].width, out["preview"].height) == (1200, 1600)
    assert (out["thumb"].width, out["thumb"].height) == (240, 320)
    assert out["thumb"].size < out["preview"].size < p.stat().st_size


from media.images import check_complete  # noqa: E402


def _noise(size: tuple[int, int] = (120, 90)) -> Image.Image:
    import os

    return Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_check_image_structure_without_decoding(tmp_path: Path, fmt: str) -> None:
    from media.images import check_image

    whole = save(_noise(), tmp_path / f"ok.{fmt.lower()}", fmt)
    facts = check_image(whole)
    assert (facts.width, facts.height) == (120, 90)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(data[: len(data) - 40])
    with pytest.raises(ImageRejected) as info:
        check_image(cut)
    # libwebp reads the whole container at open and may call it corrupt before our structure check
    assert info.value.reason in ({"truncated", "corrupt"} if fmt == "WEBP" else {"truncated"})
    with pytest.raises(ImageRejected) as info:
        check_complete(cut, Image.MIME[fmt])
    assert info.value.reason == "truncated"


def test_check_image_jpeg_padding_and_trailer_pass(tmp_path: Path) -> None:
    from media.images import check_image

    data = save(_noise(), tmp_path / "a.jpg", "JPEG").read_bytes()
    for name, tail in (("padded", b"\x00" * 300), ("trailer", b"SEFHvendor-trailer" * 20 + b"SEFT")):
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(data + tail)
        assert check_image(path).mime == "image/jpeg"


def test_check_image_heic_boxes(tmp_path: Path, heic: Path) -> None:
    from media.images import check_image

    assert check_image(heic).mime == "image/heic"
    data = heic.read_bytes()
    cut = tmp_path / "cut.heic"
    cut.write_bytes(data[:-10])
    with pytest.raises(ImageRejected) as info:
        check_image(cut)
    assert info.value.reason in ("truncated", "corrupt")  # libheif may refuse it at open already
    with pytest.raises(ImageRejected) as info:
        check_complete(cut, "image/heic")
    assert info.value.reason == "truncated"
    extra = tmp_path / "extra.heic"
    extra.write_bytes(data + b"\0\0\0")
    with pytest.raises(ImageRejected) as info:
        check_image(extra)
    assert info.value.reason in ("truncated", "corrupt")


def test_check_image_webp_riff_size_must_equal_file_size(tmp_path: Path) -> None:
    from media.images import check_image

    data = save(_noise(), tmp_path / "a.webp", "WEBP").read_bytes()
    longer = tmp_path / "longer.webp"
    longer.write_bytes(data + b"\0\0")
    with pytest.raises(ImageRejected) as info:
        check_image(longer)
    assert info.value.reason == "corrupt"
