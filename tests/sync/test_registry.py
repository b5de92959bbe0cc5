"""The mutation registry covers the wire protocol: every Mutation type has exactly one mutator, which the
push and the reference client both dispatch through."""

from __future__ import annotations

from typing import get_args
from uuid import uuid4

from sync.client import SyncClient
from sync.mutations import MUTATION_TYPES, Mutation
from sync.push.mutators import REGISTRY


def test_every_mutation_type_has_a_mutator() -> None:
    assert set(REGISTRY) == set(get_args(Mutation)) == set(MUTATION_TYPES)


class _NoNetwork:
    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        raise AssertionError("the view is local")


def test_the_client_view_replays_through_the_registry() -> None:
    client = SyncClient(_NoNetwork())
    inspection = uuid4()
    client.store[f"inspection/{inspection}"] = {"status": "in_progress"}
    client.set_answer(inspection, "1.1.1", "value", "A")
    note = client.add_note(inspection, "1.1.1", "first")
    client.edit_note(note, "second")
    photo = client.add_photo(inspection, "1.1.1", "0" * 64, 10)
    client.set_photo_caption(photo, "door")
    client.submit_inspection(inspection)
    view = client.view()
    assert view[f"answer/{inspection}/1.1.1/value"]["value"] == "A"
    assert view[f"note/{note}"]["text"] == "second"
    assert view[f"photo/{photo}"]["caption"] == "door"
    assert view[f"inspection/{inspection}"]["status"] == "submitted"
    client.remove_photo(photo)
    assert f"photo/{photo}" not in client.view()
    client.delete_note(note)
    assert f"note/{note}" not in client.view()
    assert client.store == {f"inspection/{inspection}": {"status": "in_progress"}}  # the store is untouched


def test_row_and_register_kinds_are_declared_once_and_fit_the_batch() -> None:
    """Load and write iterate over ROW_KINDS; the registers a row carries are REGISTER_KINDS, one line per
    family (docs/sync.md): each names a row kind the batch reads, with a prefix of its own."""
    import dataclasses

    from sync.push.batch import ROW_KINDS, PushBatch, Wanted
    from sync.push.mutators import REGISTER_KINDS

    wanted = {f.name for f in dataclasses.fields(Wanted)}
    batch = {f.name for f in dataclasses.fields(PushBatch)}
    for kind in ROW_KINDS:
        assert kind.rows in wanted, kind
        assert kind.rows in batch, kind
        assert kind.dirty in batch, kind
    rows = {kind.rows for kind in ROW_KINDS}
    assert len({k.prefix for k in REGISTER_KINDS}) == len(REGISTER_KINDS)
    assert all(k.rows in rows for k in REGISTER_KINDS)
    assert {k.prefix for k in REGISTER_KINDS} == {"caption/", "improvement/"}
    item = uuid4()
    [improvement] = [k for k in REGISTER_KINDS if k.prefix == "improvement/"]
    assert improvement.row_id(f"improvement/{item}/gap") == item
    [caption] = [k for k in REGISTER_KINDS if k.prefix == "caption/"]
    assert caption.row_id(f"caption/{item}") == item


def test_the_register_writer_knows_no_family() -> None:
    """push/registers.py used to switch on key prefixes and knew improvement's rules; a family's rules live in
    its mutator module now."""
    import pathlib

    text = (pathlib.Path(__file__).resolve().parents[2] / "sync/push/registers.py").read_text(
        encoding="utf-8"
    )
    assert "improvement" not in text
    assert "caption" not in text
    assert "startswith" not in text
