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
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from backend.errors import PROBLEM_JSON

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema
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
        statuses |= {401, 403, 404}
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


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's own Struct schema (not re-exported publicly; litestar is pinned below 3), plus the flag."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        return schema
