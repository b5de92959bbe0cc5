"""Precision and recall of the near-duplicate test on real photographs and their transformed copies.

The photographs are the sample images that scikit-image ships inside its wheel (``skimage/data/*.png|jpg``;
nothing is downloaded). Each is saved as a JPEG "original" and as six copies a clinic could plausibly submit:
re-encoded at quality 70, resized to half, cropped by 2 % on every side, stored rotated with an EXIF
orientation tag, re-saved as PNG with a white border, and a screenshot-like PNG (scaled to 80 % with black
bars). Every file goes through the worker's own pipeline (media.images.make_derivatives → the preview's
dHash); pairs of files from the same photograph are positives, all other pairs negatives.

Used by bench/evidence_bench.py (the table in docs/benchmarks.md) and by the test that keeps floors on it.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from media.images import make_derivatives
from media.phash import hamming

# Two files of the wheel are the same picture (a chessboard in grey and in colour).
SAME_PICTURE = {"chessboard_GRAY": "chessboard", "chessboard_RGB": "chessboard"}
TRANSFORMS: tuple[str, ...] = ("quality70", "half", "crop2", "exif_rotated", "png_border", "screenshot")


def sample_dir() -> Path:
    import skimage  # dev extra; only its data folder is read

    return Path(os.path.dirname(skimage.__file__)) / "data"


def sample_names() -> list[str]:
    return sorted(p.name for p in sample_dir().iterdir() if p.suffix in (".png", ".jpg"))


def _jpeg(image: Image.Image, quality: int = 90, exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def load_rgb(name: str) -> Image.Image:
    with Image.open(sample_dir() / name) as im:
        return im.convert("RGB")


def original(image: Image.Image) -> bytes:
    return _jpeg(image, 92)


def transformed(image: Image.Image, kind: str) -> bytes:
    w, h = image.size
    if kind == "quality70":
        return _jpeg(image, 70)
    if kind == "half":
        return _jpeg(image.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), 85)
    if kind == "crop2":
        dx, dy = round(w * 0.02), round(h * 0.02)
        return _jpeg(image.crop((dx, dy, w - dx, h - dy)), 85)
    if kind == "exif_rotated":
        # pixels stored turned a quarter left, with orientation 6 telling viewers to turn them back
        exif = Image.Exif()
        exif[0x0112] = 6
        return _jpeg(image.transpose(Image.Transpose.ROTATE_90), 90, exif.tobytes())
    if kind == "png_border":
        return _png(ImageOps.expand(image, border=max(2, round(min(w, h) * 0.03)), fill=(255, 255, 255)))
    if kind == "screenshot":
        small = image.resize((round(w * 0.8), round(h * 0.8)), Image.Resampling.BILINEAR)
        bar = round(h * 0.05)
        return _png(ImageOps.expand(small, border=(0, bar, 0, bar), fill=(0, 0, 0)))
    raise ValueError(kind)


@dataclass(frozen=True)
class Sample:
    picture: str  # which photograph
    kind: str  # "original" or a transform
    dhash: int


def hash_bytes(data: bytes, workdir: Path) -> int:
    path = workdir / "sample"
    path.write_bytes(data)
    value = make_derivatives(path)["preview"].dhash
    assert value is not None
    return value


def samples(workdir: Path, names: list[str] | None = None) -> Iterator[Sample]:
    for name in names or sample_names():
        picture = SAME_PICTURE.get(Path(name).stem, Path(name).stem)
        image = load_rgb(name)
        yield Sample(picture, "original", hash_bytes(original(image), workdir))
        for kind in TRANSFORMS:
            yield Sample(picture, kind, hash_bytes(transformed(image, kind), workdir))


@dataclass(frozen=True)
class Score:
    threshold: int
    true_pos: int
    false_pos: int
    false_neg: int
    recall_by_kind: dict[str, float]  # copy vs its own original

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else 1.0


def score(all_samples: list[Sample], threshold: int) -> Score:
    tp = fp = fn = 0
    for a, b in itertools.combinations(all_samples, 2):
        same = a.picture == b.picture
        hit = hamming(a.dhash, b.dhash) <= threshold
        tp += same and hit
        fp += hit and not same
        fn += same and not hit
    originals = {s.picture: s.dhash for s in all_samples if s.kind == "original"}
    by_kind: dict[str, float] = {}
    for kind in TRANSFORMS:
        copies = [s for s in all_samples if s.kind == kind]
        found = sum(hamming(s.dhash, originals[s.picture]) <= threshold for s in copies)
        by_kind[kind] = found / len(copies) if copies else 1.0
    return Score(threshold, tp, fp, fn, by_kind)


def table(all_samples: list[Sample], thresholds: list[int], mark: Callable[[int], bool]) -> str:
    head = "| threshold | precision | recall | " + " | ".join(TRANSFORMS) + " |"
    rule = "|---:|---:|---:|" + "---:|" * len(TRANSFORMS)
    lines = [head, rule]
    for t in thresholds:
        s = score(all_samples, t)
        label = f"**{t}**" if mark(t) else str(t)
        kinds = " | ".join(f"{s.recall_by_kind[k]:.2f}" for k in TRANSFORMS)
        lines.append(f"| {label} | {s.precision:.3f} | {s.recall:.3f} | {kinds} |")
    return "\n".join(lines)


def lookup_recall(all_samples: list[Sample], threshold: int, radius: int) -> tuple[int, int]:
    """Of the pairs of one photograph within ``threshold``, how many the indexed lookup reaches (they share a
    band it probes): (reached, pairs)."""
    from media.phash import bands, probes

    reached = pairs = 0
    for a, b in itertools.combinations(all_samples, 2):
        if a.picture != b.picture or hamming(a.dhash, b.dhash) > threshold:
            continue
        pairs += 1
        probed = probes(a.dhash, radius)
        reached += any(band in set(p) for band, p in zip(bands(b.dhash), probed, strict=True))
    return reached, pairs
