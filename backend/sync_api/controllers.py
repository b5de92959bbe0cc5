"""``POST /api/sync/push`` and ``POST /api/sync/pull`` (DESIGN §6). HTTP only: the body is read raw so one
bad mutation is rejected on its own instead of failing the envelope; the sync engine does the rest."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from backend.accounts.auth import CHECKED_BY_HANDLER
from backend.errors import PayloadTooLarge
from backend.guards import AuthUser, current_user, requires_role
from backend.hooks import hooks_of
from backend.http_cache import etag_response
from backend.metrics import Metrics
from backend.openapi_contract import PULL_BODY, PUSH_BODY
from backend.settings import Settings
from backend.sync_api.rules import checklist_bundle
from backend.sync_api.services import as_token_holder, caller_source, pull_context, push_and_refresh
from sync.api import CallerCheck, pull
from sync.mutations import MUTATION_TYPES
from sync.protocol import Limits, PullResponse, PushResponse

AuthRequest = Request[AuthUser, str, State]

# the mutation names come from the protocol's own list, so a new mutation is documented with it
PUSH_DOC = """Push a batch of mutations (DESIGN §6): `{protocolVersion: 1, clientGroupId, clientId, mutations:
[{id, name, hlc, args}]}`. Mutation names: {names}. Ids increase by one per client; ids already seen are skipped (a retry);
a gap answers 409 `mutation_gap` with `expected`. A mutation refused by policy is consumed with
`status: "rejected"` and a `reason`. **Limits:** at most `maxMutations` mutations per push (setting
`sync_max_mutations`, default 500) and `maxBodyBytes` bytes of body (setting `max_body_bytes`, default 2 MiB);
over either answers 413 naming the limit. The current limits are also in every pull answer (`limits`).""".replace(
    "{names}", ", ".join(str(t.__struct_config__.tag) for t in MUTATION_TYPES)
)

PULL_DOC = """Pull the changes since `cookie` (null for a full snapshot) for everything the caller may see:
`{protocolVersion: 1, clientGroupId, cookie}`. Answers patch operations (`put`/`del` on keys `inspection/…`,
`answer/…`, `note/…`, `photo/…`, `conflict/…`, `facility/…`, `standardRef/…`, `opinion/…`, `improvement/…`),
the conflicts changed, the last mutation id of each client of the group, `hasMore` when another page follows,
and `reset: true` when the cookie is unknown or outdated (drop the local store, a full snapshot follows)."""


def _settings(request: AuthRequest) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _body(request: AuthRequest, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(
        f"the body exceeds maxBodyBytes ({limit} bytes); split the push", limit="maxBodyBytes", max=limit
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    try:
        body = await request.body()
    except HTTPException as exc:
        if exc.status_code == 413:
            raise too_large from None
        raise
    if len(body) > limit:
        raise too_large
    return body


class SyncController(Controller):
    path = "/api/sync"
    tags = ["sync"]
    guards = [requires_role("admin", "office", "inspector", "clinic")]

    # the token is checked in each sync request's first statement, not by a lookup of its own (CHECKED_BY_HANDLER)
    @post(
        "/push",
        operation_id="syncPush",
        status_code=200,
        description=PUSH_DOC,
        operation_class=PUSH_BODY,
        opt={CHECKED_BY_HANDLER: True},
    )
    async def push(self, request: AuthRequest) -> PushResponse:
        settings = _settings(request)
        body = await _body(request, settings.max_body_bytes)
        metrics: Metrics = request.app.state.metrics
        on_submit = hooks_of(request).inspections_submitted

        async def run(user: AuthUser, check: CallerCheck) -> PushResponse:
            # resolved inside the push transaction
            caller = caller_source(user, with_readable=False, with_writable=True)
            return await push_and_refresh(
                body,
                caller=caller,
                max_mutations=settings.sync_max_mutations,
                on_submit=on_submit,
                check=check,
            )

        try:
            response = await as_token_holder(current_user(request), request.auth, run)
        except Exception:
            metrics.pushes.labels("refused").inc()  # the whole push (gap, malformed, too large, ...)
            raise
        metrics.note_push(response.results)
        return response

    @post(
        "/pull",
        operation_id="syncPull",
        status_code=200,
        description=PULL_DOC,
        operation_class=PULL_BODY,
        opt={CHECKED_BY_HANDLER: True},
    )
    async def pull(self, request: AuthRequest) -> PullResponse:
        settings = _settings(request)
        body = await _body(request, settings.max_body_bytes)
        ctx = pull_context(
            hooks=hooks_of(request),
            limits=Limits(max_mutations=settings.sync_max_mutations, max_body_bytes=settings.max_body_bytes),
        )

        async def run(user: AuthUser, check: CallerCheck) -> PullResponse:
            # resolved inside the pull's read transaction
            caller = caller_source(user, with_readable=True, with_writable=False)
            return await pull(body, caller=caller, ctx=ctx, check=check)

        return await as_token_holder(current_user(request), request.auth, run)


CHECKLIST_DOC = """A standard's submit rules as plain data (the submit check's own, `sync.readiness`): for each article
the item code its answer is stored under (per rater in a weighted standard; a rater's `overall` names the item
code whose one overall score stands for each of its articles instead) and its minimum photos and documents;
the prerequisites and one-vote vetoes a submit requires; the grades best first; which evidence types are
documents. The app keeps it beside the standard and counts against it offline. ETag as the standard's."""


class ChecklistController(Controller):
    path = "/api/standards"
    tags = ["standards", "sync"]
    guards = [requires_role("admin", "office", "inspector", "clinic")]

    @get("/{standard_id:str}/checklist", operation_id="getStandardChecklist", description=CHECKLIST_DOC)
    async def checklist(self, standard_id: FromPath[str], request: AuthRequest) -> Response[Any]:
        etag, body = await checklist_bundle(
            standard_id=standard_id, include_drafts=current_user(request).role == "admin"
        )
        return etag_response(request, etag, body)
