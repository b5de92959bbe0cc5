"""The perceptual hash and its multi-index probes (pure), and its precision and recall on real photographs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from bench.near_duplicates import TRANSFORMS, load_rgb, samples, score
from media.phash import (
    NEAR_DUPLICATE_DISTANCE,
    PROBE_RADIUS,
    bands,
    dhash,
    from_signed,
    hamming,
    neighbours,
    probes,
    to_signed,
)


def test_signed_round_trip_and_bands() -> None:
    rng = random.Random(7)
    for value in [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, *(rng.getrandbits(64) for _ in range(200))]:
        signed = to_signed(value)
        assert -(1 << 63) <= signed < 1 << 63
        assert from_signed(signed) == value
        b = bands(value)
        assert all(0 <= x < 1 << 16 for x in b)
        assert (b[0] << 48) | (b[1] << 32) | (b[2] << 16) | b[3] == value


def test_neighbours_cover_exactly_the_radius() -> None:
    found = neighbours(0b1010, 2)
    assert len(found) == len(set(found)) == 1 + 16 + 120
    assert all(hamming(v, 0b1010) <= 2 for v in found)


def test_pigeonhole_every_hash_within_7_bits_shares_a_probed_band() -> None:
    """What makes the indexed lookup exact up to 7 bits: some band is at most PROBE_RADIUS bits off."""
    rng = random.Random(3)
    for _ in range(2000):
        value = rng.getrandbits(64)
        other = value
        for bit in rng.sample(range(64), rng.randint(0, 4 * (PROBE_RADIUS + 1) - 1)):
            other ^= 1 << bit
        probed = [set(p) for p in probes(value)]
        assert any(b in p for b, p in zip(bands(other), probed, strict=True))


def test_uninformative_bands_are_not_probed_unless_nothing_else_is_left() -> None:
    flat_top = 0x0000_1234_5678_9ABC
    per_band = probes(flat_top)
    assert per_band[0] == []
    assert all(0 not in p and 0xFFFF not in p for p in per_band)
    assert probes(0)[0][0] == 0  # all flat: probed anyway


def test_a_uniform_border_does_not_change_the_hash_much() -> None:
    photo = load_rgb("astronaut.png")
    framed = Image.new("RGB", (photo.width + 60, photo.height + 60), (255, 255, 255))
    framed.paste(photo, (30, 30))
    assert hamming(dhash(photo), dhash(framed)) <= 4
    assert hamming(dhash(photo), dhash(load_rgb("coffee.png"))) > NEAR_DUPLICATE_DISTANCE


@pytest.fixture(scope="module")
def sample_hashes(tmp_path_factory: pytest.TempPathFactory) -> list[object]:
    return list(samples(Path(tmp_path_factory.mktemp("samples"))))


def test_precision_and_recall_on_the_scikit_image_photographs(sample_hashes: list[object]) -> None:
    """Floors under the measurement in docs/benchmarks.md (26 photographs × 7 files, all pairs)."""
    result = score(sample_hashes, NEAR_DUPLICATE_DISTANCE)  # type: ignore[arg-type]
    assert result.precision >= 0.99
    assert result.recall >= 0.88
    assert result.recall_by_kind["quality70"] >= 0.95
    assert result.recall_by_kind["half"] >= 0.95
    assert result.recall_by_kind["exif_rotated"] >= 0.95
    assert all(result.recall_by_kind[k] >= 0.8 for k in TRANSFORMS)
