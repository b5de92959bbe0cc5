"""Mutations: the tagged union, unknown fields ignored, a bad mutation rejected alone."""

from __future__ import annotations

import uuid

import msgspec

from sync.mutations import MUTATION_NAMES, MutationResult, SetAnswer, decode_mutation
from sync.protocol import decode_push

INSPECTION = str(uuid.uuid4())


def envelope(mutations: list[object], **extra: object) -> bytes:
    return msgspec.json.encode(
        {"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": mutations, **extra}
    )


def answer(mid: int, **extra: object) -> dict[str, object]:
    args = {"inspectionId": INSPECTION, "itemCode": "1.1", "field": "value", "value": "A", "baseVersion": 0}
    return {"id": mid, "name": "setAnswer", "hlc": "h", "args": {**args, **extra}}


def test_every_design_mutation_is_known() -> None:
    # DESIGN §6's mutations, plus the improvement plan's (docs/improvement.md) and deleteNote (docs/sync.md)
    assert {
        "deleteNote",
        "createImprovement",
        "setImprovementField",
        "setImprovementStatus",
        "attachImprovementPhoto",
        "setAnswer",
        "addNote",
        "editNote",
        "addPhoto",
        "removePhoto",
        "setPhotoCaption",
        "resolveConflict",
        "submitInspection",
    } == MUTATION_NAMES


def test_unknown_fields_are_ignored() -> None:
    request, heads = decode_push(envelope([answer(1, futureField=3) | {"alsoNew": True}], appVersion="9"))
    mutation = decode_mutation(request.mutations[0], heads[0])
    assert isinstance(mutation, SetAnswer)
    assert mutation.args.value == "A"


def test_unknown_name_and_bad_args_reject_only_that_mutation() -> None:
    body = envelope([{"id": 1, "name": "dropTables", "args": {}}, answer(2, field="colour")])
    request, heads = decode_push(body)
    first = decode_mutation(request.mutations[0], heads[0])
    second = decode_mutation(request.mutations[1], heads[1])
    assert isinstance(first, MutationResult)
    assert first.reason == "unknown_mutation"
    assert isinstance(second, MutationResult)
    assert second.reason == "invalid_args"
    assert "field" in (second.detail or "")


def test_results_omit_absent_fields() -> None:
    wire = msgspec.json.decode(msgspec.json.encode(MutationResult(id=41, status="applied", version=18)))
    assert wire == {"id": 41, "status": "applied", "version": 18}


def test_nul_in_text_is_refused_alike_on_both_databases() -> None:
    # PostgreSQL text cannot hold NUL: it is refused before anything is written (that mutation alone)
    body = envelope([answer(1, value="A\x00"), {**answer(2), "hlc": "h\x00"}, answer(3, itemCode="\\u0000")])
    request, heads = decode_push(body)
    results = [decode_mutation(raw, head) for raw, head in zip(request.mutations, heads, strict=True)]
    assert [r.reason for r in results[:2] if isinstance(r, MutationResult)] == [
        "invalid_args",
        "invalid_args",
    ]
    assert isinstance(results[2], SetAnswer)  # a backslash and "u0000" as text is no NUL
