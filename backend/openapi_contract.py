"""What the OpenAPI document promises beyond Litestar's defaults, in one place.

- Every operation declares the RFC 9457 problem responses it can give: one plugin sees every route as it is
  registered and adds, by rule, those the shared machinery can produce (validation, authentication, guards,
  scopes, body limits, integrity conflicts), so clients generated from ``/schema/openapi.json`` handle them. A
  handler with an error of its own (429 on login, 403 on a bad signature) adds it with
  :func:`problem_responses`.
- Every operation says whether it needs the bearer token: ``security=[]`` on a handler makes it public, all
  others get ``bearer`` (Litestar cannot express an empty requirement under a document-wide one).
- Structs that refuse unknown fields say ``additionalProperties: false`` (Litestar leaves extras allowed while
  msgspec answers 400 to them).
- A union of ``int`` and ``float`` is one JSON ``number``: Litestar writes every union as ``oneOf``, and a whole
  number matches both ``integer`` and ``number``, so every message with a count among its params broke the
  document (schemathesis ST108 on the samples list), and so did an answer's whole-number value.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from piccolo.columns import Varchar

from backend.errors import PROBLEM_JSON
from sync.protocol import PROTOCOL_VERSION
from sync.tables import SyncClient

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
BEARER = "bearer"


class Problem(msgspec.Struct, rename="camel", kw_only=True):
    """An RFC 9457 problem document; some carry more fields (named in camelCase)."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    # what a person reads: the vocabulary's ``problem_<code>`` said with these (pwa_static/vocabulary/common.json)
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    # which inputs were wrong (validation) or what the standard's rules found (standards)
    errors: list[Any] | None = None
    problems: list[Any] | None = None
    # seconds to wait (429; also in the Retry-After header)
    retry_after: int | None = None
    # the answer's X-Request-ID, also in the server's log lines for this request
    request_id: str | None = None


_DESCRIPTIONS = {
    400: "Malformed or invalid input (nothing changed)",
    401: "Not signed in, or the token is unknown or expired",
    403: "The caller's role or scope does not allow this",
    404: "No such resource, or not visible to the caller",
    409: "Conflicts with stored data (duplicate, stale version, wrong state)",
    413: "The request body is larger than allowed",
    415: "The request body has the wrong media type",
    422: "Well-formed but not acceptable (a rule of the domain refuses it)",
    429: "Too many attempts; wait Retry-After seconds",
    503: "A dependency (database or storage) does not answer",
}


def problem_responses(*statuses: int, body: bool = True) -> dict[int, ResponseSpec]:
    """Problem responses for ``statuses``, for a handler's ``responses=`` (or the plugin's rules).
    ``body=False`` for HEAD, whose answers have headers only."""
    return {
        status: ResponseSpec(
            data_container=Problem if body else None,
            generate_examples=False,
            description=_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            media_type=PROBLEM_JSON,
        )
        for status in statuses
    }


def statuses_for(handler: HTTPRouteHandler, route: HTTPRoute) -> set[int]:
    """The problems the shared machinery can give for ``handler`` (see the module docstring)."""
    statuses = {400}
    public = handler.security == []
    writes = bool(handler.http_methods & WRITES)
    if not public:
        # 422: input the schema allows but a rule across its fields or of the domain refuses
        statuses |= {401, 403, 404, 422}
    if route.path_parameters:
        statuses.add(404)
    if writes:
        statuses.add(413)
        if not public:
            statuses |= {409, 422}
    return statuses


class OpenAPIContractPlugin(ReceiveRoutePlugin):
    """Security and the rule's problem responses on every HTTP handler; a handler's own ``responses`` win."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            if handler.security != []:
                handler.security = [{BEARER: []}]
            own = dict(handler.responses or {})
            body = handler.http_methods != {"HEAD"}
            rules = problem_responses(*sorted(statuses_for(handler, route)), body=body)
            handler.responses = {**rules, **own}


def _length(column: Varchar) -> int:
    assert column.length is not None
    return column.length


def raw_body(media_type: str, schema: Schema, description: str) -> type[Operation]:
    """An ``operation_class`` that documents the request body of a handler that reads ``request.body()``
    itself (the sync envelopes are decoded one mutation at a time; upload chunks are bytes)."""

    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            if self.request_body is None:
                self.request_body = RequestBody(
                    content={media_type: OpenAPIMediaType(schema=schema)},
                    required=True,
                    description=description,
                )

    return WithBody


def _text(max_length: int, *, min_length: int = 1) -> Schema:
    return Schema(type=OpenAPIType.STRING, min_length=min_length, max_length=max_length)


# The sync envelopes (DESIGN §6). Only what refuses the whole request (400) is constrained here: a mutation's
# name and args are decoded one by one and a bad one is consumed as "rejected" (200), by design; unknown
# fields are ignored (old apps stay in the field for weeks). Lengths are the columns' (sync/tables.py).
PUSH_BODY = raw_body(
    "application/json",
    Schema(
        type=OpenAPIType.OBJECT,
        required=["protocolVersion", "clientGroupId", "clientId"],
        properties={
            "protocolVersion": Schema(type=OpenAPIType.INTEGER, enum=[PROTOCOL_VERSION]),
            "clientGroupId": _text(_length(SyncClient.client_group_id)),
            "clientId": _text(_length(SyncClient.client_id)),
            "mutations": Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["id"],
                    properties={"id": Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=2**53 - 1)},
                ),
            ),
            "clientState": Schema(type=OpenAPIType.OBJECT),
        },
    ),
    "A batch of mutations (setAnswer, addNote, addPhoto, …): docs/sync.md",
)
PULL_BODY = raw_body(
    "application/json",
    Schema(
        type=OpenAPIType.OBJECT,
        required=["protocolVersion", "clientGroupId"],
        properties={
            "protocolVersion": Schema(type=OpenAPIType.INTEGER, enum=[PROTOCOL_VERSION]),
            "clientGroupId": _text(_length(SyncClient.client_group_id)),
            "cookie": Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)]),
            "maxOps": Schema(
                one_of=[Schema(type=OpenAPIType.INTEGER, minimum=1), Schema(type=OpenAPIType.NULL)]
            ),
        },
    ),
    "Changes since a cookie (null: everything): docs/sync.md",
)
CHUNK_BODY = raw_body(
    "application/offset+octet-stream",
    Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
    "The bytes from Upload-Offset on (tus 1.0): docs/media-uploads.md",
)
STANDARD_BODY = raw_body(
    "application/json",
    Schema(type=OpenAPIType.OBJECT, required=["id"]),
    "A standard file (schema: backend/standards/schemas.py, docs/standards.md)",
)


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's own Struct schema (not re-exported publicly; litestar is pinned below 3), plus the flag."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        if isinstance(info, msgspec.inspect.StructType):
            _keep_zero_minimums(info, schema)
        _one_number_type(schema)
        return schema


def _one_number_type(schema: Schema) -> None:
    """``int | float`` becomes ``oneOf: [integer, number]``, which no integer satisfies (it matches both, and
    oneOf wants exactly one): keep ``number``, which holds every integer too (a message's ``{"n": 16}``)."""
    if schema.one_of:
        types = {member.type for member in schema.one_of if isinstance(member, Schema)}
        if {OpenAPIType.INTEGER, OpenAPIType.NUMBER} <= types:
            schema.one_of = [
                member
                for member in schema.one_of
                if not (isinstance(member, Schema) and member.type == OpenAPIType.INTEGER)
            ]
    nested = [
        *(schema.properties or {}).values(),
        *(schema.one_of or []),
        *(schema.any_of or []),
        schema.items,
        schema.additional_properties,
    ]
    for child in nested:
        if isinstance(child, Schema):
            _one_number_type(child)


def _keep_zero_minimums(info: msgspec.inspect.StructType, schema: Schema) -> None:
    """Litestar drops a bound of 0 from an optional number (``Annotated[int, Meta(ge=0)] | None`` documents no
    minimum: it tests the bound for truth), so a schema-valid -1 was refused; put it back."""
    for field in info.fields:
        if not isinstance(field.type, msgspec.inspect.UnionType):
            continue
        for member in field.type.types:
            if isinstance(member, msgspec.inspect.IntType | msgspec.inspect.FloatType) and member.ge == 0:
                prop = (schema.properties or {}).get(field.encode_name)
                if isinstance(prop, Schema) and prop.minimum is None:
                    prop.minimum = 0
