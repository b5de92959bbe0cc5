"""Sync envelopes (DESIGN §6): the push and pull requests and responses, the pull's patch operations and the
values it sends that the app reads field by field. msgspec Structs, camelCase, unknown fields ignored (old apps
stay in the field).

A push is decoded in two steps so that one bad mutation never fails the whole envelope: the envelope and each
mutation's ``id`` must be well formed (else 400) here, while each mutation's ``name`` and ``args`` are decoded
separately into the tagged union :data:`~sync.mutations.Mutation` (:func:`sync.mutations.decode_mutation`); a
failure there rejects only that mutation. The mutations are their own module: what a device may ask is one
concept (it grows with each new mutation), how a request is wrapped and answered another.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal, TypeAlias

import msgspec

# raised by the decoders below; defined with the other sync errors
from sync.errors import ProtocolError
from sync.mutations import Mutation, MutationHead, MutationResult, Wire

PROTOCOL_VERSION = 1


# ------------------------------------------------------------------------------------------ push


_Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]


class ClientState(Wire):
    """What the device reports of itself with each push (the office's dashboard shows it): its app version and
    what it still holds, counted before this push (mutations queued, photos and their bytes not yet sent)."""

    app_version: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    # what the office's dashboard calls the device: a name given on it, else its model
    device_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    queued_mutations: _Count = 0
    queued_photos: _Count = 0
    queued_bytes: Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)] = 0


class PushRequest(Wire):
    """A push as decoded by the server: mutations are kept raw and decoded one by one."""

    protocol_version: int
    client_group_id: str
    client_id: str
    mutations: list[msgspec.Raw] = msgspec.field(default_factory=list)
    client_state: ClientState | None = None


class PushBody(Wire):
    """A push as built by a client (typed mutations)."""

    protocol_version: int
    client_group_id: str
    client_id: str
    mutations: list[Mutation]


class PushResponse(Wire):
    last_mutation_id: int
    results: list[MutationResult] = msgspec.field(default_factory=list)


# ------------------------------------------------------------------------------------------ pull


class PullRequest(Wire):
    protocol_version: int
    client_group_id: str
    cookie: str | None = None
    # optional: a smaller page than the server's (slow links); the server's page size is the ceiling
    max_ops: int | None = None


class OpinionValue(msgspec.Struct, rename="camel", kw_only=True):
    """The value of ``opinion/<id>`` in a pull: an office's written opinion the clinic and the team read.
    ``kind``: ``review`` (given with an inspection: a return, or the sign-off that removed the facility) or
    ``application`` (given with an application alone); ``removal``: it removed the facility from the list
    (剔除) and returned its application. Every field is always sent."""

    id: str
    inspection_id: str | None
    facility_id: str
    stage: str | None
    kind: Literal["application", "review"]
    removal: bool
    opinion: str
    returned_at: str | None


class PutOp(msgspec.Struct, tag="put", tag_field="op"):
    key: str
    value: dict[str, Any]


class EncodedPutOp(PutOp):
    """A ``put`` whose value the database wrote as JSON (``sync.pull_rows``): sent as it is, never decoded.
    Servers build it; clients decode every ``put`` as :class:`PutOp`."""

    value: msgspec.Raw  # type: ignore[assignment]  # the same JSON object on the wire, already encoded


class DelOp(msgspec.Struct, tag="del", tag_field="op"):
    key: str


PatchOp: TypeAlias = PutOp | DelOp


class Limits(Wire):
    max_mutations: int
    max_body_bytes: int


class PullResponse(msgspec.Struct, rename="camel", kw_only=True):
    cookie: str
    reset: bool
    has_more: bool
    last_mutation_ids: dict[str, int]
    patch: list[PatchOp]
    conflicts: list[dict[str, Any]]
    # Not in DESIGN §6 but additive: the push limits, so clients size their batches.
    limits: Limits | None = None


# ------------------------------------------------------------------------------------------ decoding


_push_decoder = msgspec.json.Decoder(PushRequest)
_head_decoder = msgspec.json.Decoder(MutationHead)
_pull_decoder = msgspec.json.Decoder(PullRequest)


def decode_push(body: bytes) -> tuple[PushRequest, list[MutationHead]]:
    """Decode the envelope; raises :class:`ProtocolError` when it or any mutation id is malformed."""
    try:
        request = _push_decoder.decode(body)
        heads = [_head_decoder.decode(raw) for raw in request.mutations]
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with RecursionError
        raise ProtocolError(f"malformed push: {exc}") from None
    check_protocol(request.protocol_version)
    if not request.client_id or not request.client_group_id:
        raise ProtocolError("clientId and clientGroupId must not be empty")
    if "\x00" in request.client_id + request.client_group_id:
        raise ProtocolError("clientId and clientGroupId may not contain NUL (\\u0000)")
    state = request.client_state
    if state is not None and state.app_version is not None and "\x00" in state.app_version:
        raise ProtocolError("clientState.appVersion may not contain NUL (\\u0000)")
    if state is not None and state.device_name is not None and "\x00" in state.device_name:
        raise ProtocolError("clientState.deviceName may not contain NUL (\\u0000)")
    for previous, head in itertools.pairwise(heads):
        if head.id != previous.id + 1:
            raise ProtocolError(
                f"mutation ids in one push must increase by one; {head.id} follows {previous.id}",
                code="invalid_mutation_ids",
            )
    if heads and heads[0].id < 1:
        raise ProtocolError("mutation ids start at 1", code="invalid_mutation_ids")
    return request, heads


def decode_pull(body: bytes) -> PullRequest:
    try:
        request = _pull_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed pull: {exc}") from None
    check_protocol(request.protocol_version)
    if not request.client_group_id:
        raise ProtocolError("clientGroupId must not be empty")
    if "\x00" in request.client_group_id:
        raise ProtocolError("clientGroupId may not contain NUL (\\u0000)")
    return request


def check_protocol(version: int) -> None:
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"protocolVersion {version} is not supported; this server speaks {PROTOCOL_VERSION}",
            code="unsupported_protocol",
        )
