"""Envelopes: push and pull requests, patch ops, malformed envelopes refused."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from sync.errors import ProtocolError
from sync.protocol import PullResponse, PutOp, decode_pull, decode_push

INSPECTION = str(uuid.uuid4())


def envelope(mutations: list[object], **extra: object) -> bytes:
    return msgspec.json.encode(
        {"protocolVersion": 1, "clientGroupId": "g", "clientId": "c", "mutations": mutations, **extra}
    )


def answer(mid: int, **extra: object) -> dict[str, object]:
    args = {"inspectionId": INSPECTION, "itemCode": "1.1", "field": "value", "value": "A", "baseVersion": 0}
    return {"id": mid, "name": "setAnswer", "hlc": "h", "args": {**args, **extra}}


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


def test_nul_in_envelope_ids_is_refused_alike_on_both_databases() -> None:
    # PostgreSQL text cannot hold NUL: the envelope is refused before anything is written
    with pytest.raises(ProtocolError):
        decode_push(envelope([], clientId="c\x00"))
    with pytest.raises(ProtocolError):
        decode_pull(msgspec.json.encode({"protocolVersion": 1, "clientGroupId": "g\x00"}))
