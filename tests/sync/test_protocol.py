"""Wire types: tagged unions, unknown fields ignored, malformed envelopes refused."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from sync.protocol import (
    MUTATION_NAMES,
    MutationResult,
    ProtocolError,
    PullResponse,
    PutOp,
    SetAnswer,
    decode_mutation,
    decode_pull,
    decode_push,
)

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


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        msgspec.json.encode({"protocolVersion": 1, "clientId": "c", "mutations": []}),
        envelope([{"name": "setAnswer"}]),
        envelope([{"id": "one", "name": "setAnswer"}]),
        envelope([answer(1), answer(3)]),
        envelope([answer(0)]),
        envelope([], protocolVersion=2),
        envelope([], clientId=""),
    ],
)
def test_malformed_envelopes(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_push(body)


def test_pull_request_and_patch_ops() -> None:
    assert decode_pull(b'{"protocolVersion":1,"clientGroupId":"g","cookie":null,"x":1}').cookie is None
    with pytest.raises(ProtocolError):
        decode_pull(b'{"protocolVersion":1}')
    response = PullResponse(
        cookie="c",
        reset=False,
        has_more=False,
        last_mutation_ids={"c": 4},
        patch=[PutOp("k", {"v": 1})],
        conflicts=[],
    )
    wire = msgspec.json.decode(msgspec.json.encode(response))
    assert wire["patch"] == [{"op": "put", "key": "k", "value": {"v": 1}}]
    assert wire["hasMore"] is False
    assert wire["lastMutationIds"] == {"c": 4}


def test_results_omit_absent_fields() -> None:
    wire = msgspec.json.decode(msgspec.json.encode(MutationResult(id=41, status="applied", version=18)))
    assert wire == {"id": 41, "status": "applied", "version": 18}


def test_nul_in_text_is_refused_alike_on_both_databases() -> None:
    # PostgreSQL text cannot hold NUL: it is refused before anything is written (a mutation alone, or the envelope)
    body = envelope([answer(1, value="A\x00"), {**answer(2), "hlc": "h\x00"}, answer(3, itemCode="\\u0000")])
    request, heads = decode_push(body)
    results = [decode_mutation(raw, head) for raw, head in zip(request.mutations, heads, strict=True)]
    assert [r.reason for r in results[:2] if isinstance(r, MutationResult)] == [
        "invalid_args",
        "invalid_args",
    ]
    assert isinstance(results[2], SetAnswer)  # a backslash and "u0000" as text is no NUL
    with pytest.raises(ProtocolError):
        decode_push(envelope([], clientId="c\x00"))
    with pytest.raises(ProtocolError):
        decode_pull(msgspec.json.encode({"protocolVersion": 1, "clientGroupId": "g\x00"}))
