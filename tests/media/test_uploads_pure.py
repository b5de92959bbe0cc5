"""Pure parts of the upload path and the workers: checksum headers, backoff, spool helpers."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest

from media import spool
from media.uploads import UploadError, check_sha256, parse_checksum
from media.worker import WorkerConfig, backoff_ms


def test_parse_checksum() -> None:
    digest = hashlib.sha256(b"chunk").digest()
    assert parse_checksum(None) is None
    assert parse_checksum("  ") is None
    assert parse_checksum("sha256 " + base64.b64encode(digest).decode()) == digest
    assert parse_checksum("SHA256 " + base64.b64encode(digest).decode()) == digest
    for bad, code in [
        ("md5 " + base64.b64encode(b"x" * 16).decode(), "checksum_algorithm"),
        ("sha256 not-base64!!", "invalid_checksum"),
        ("sha256 " + base64.b64encode(b"short").decode(), "invalid_checksum"),
    ]:
        with pytest.raises(UploadError) as info:
            parse_checksum(bad)
        assert info.value.code == code


@pytest.mark.parametrize("value", ["", "0" * 63, "G" * 64, "../" * 21 + "x", "A" * 64])
def test_sha256_must_be_lowercase_hex(value: str) -> None:
    with pytest.raises(UploadError):
        check_sha256(value)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    config = WorkerConfig(backoff_base_seconds=2, backoff_cap_seconds=60)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (20, 60)]:
        values = [backoff_ms(attempt, config, rng) for _ in range(200)]
        assert min(values) >= 1000  # never below base / 2
        assert max(values) <= ceiling * 1000
        assert len(set(values)) > 150  # jittered: retries of many jobs spread out
    assert max(backoff_ms(20, config, rng) for _ in range(200)) > 50_000


def test_spool_paths_and_hash(tmp_path: Path) -> None:
    sha = hashlib.sha256(b"abc").hexdigest()
    assert spool.spooled_path(tmp_path, sha) == tmp_path / "sha256" / sha[:2] / sha[2:4] / sha
    part = spool.part_path(tmp_path, "u1")
    spool.ensure_part(part)
    spool.ensure_part(part)  # idempotent
    part.write_bytes(b"abcdef")
    assert spool.sha256_file(part, 3) == (sha, 3)
    assert spool.sha256_file(part) == (hashlib.sha256(b"abcdef").hexdigest(), 6)
    spool.truncate(part, 3)
    target = spool.spooled_path(tmp_path, sha)
    spool.promote(part, target)
    assert target.read_bytes() == b"abc"
    assert not part.exists()
    spool.remove(target)
    spool.remove(target)  # absent is fine
