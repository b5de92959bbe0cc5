"""The stored results window of a client: compressed, and older plain-JSON rows still read."""

from __future__ import annotations

import msgspec

from sync.mutations import MutationResult
from sync.push.clients import dump_window, load_window


def test_window_round_trips_compressed_and_reads_plain_json() -> None:
    results = [MutationResult(id=n, status="applied", version=n * 3) for n in range(1, 1001)]
    window = [msgspec.Raw(msgspec.json.encode(r)) for r in results]
    stored = dump_window(window)
    assert stored.startswith("z:")
    assert len(stored) < len(msgspec.json.encode(window)) // 3
    assert [bytes(r) for r in load_window(stored)] == [bytes(r) for r in window]
    plain = msgspec.json.encode(window).decode()  # rows written before compression
    assert [bytes(r) for r in load_window(plain)] == [bytes(r) for r in window]
    assert load_window("[]") == []
