"""The mutation registry covers the wire protocol: every Mutation type has exactly one mutator, which the
push and the reference client both dispatch through."""

from __future__ import annotations

from typing import get_args
from uuid import uuid4

from sync.client import SyncClient
from sync.protocol import MUTATION_TYPES, Mutation
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
