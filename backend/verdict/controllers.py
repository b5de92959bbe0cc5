"""The round's lists, their confirmation, the public results and the clinic's result over HTTP. Guards check
the role; services check the scope again. The public routes need no sign-in (security=[])."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.guards import AuthUser, current_user, requires_role
from backend.verdict import confirm, lists, public, results
from backend.verdict.schemas import (
    ClinicResultOut,
    ConfirmationOut,
    ConfirmListRequest,
    ListState,
    PublicResults,
    RoundListsOut,
)
from backend.vocabulary import language_of

AuthRequest = Request[AuthUser, str, State]


class RoundListController(Controller):
    path = "/api/rounds/{round_id:uuid}"
    tags = ["verdict"]
    guards = [requires_role("admin", "office")]

    @get("/lists", operation_id="getRoundLists")
    async def get_lists(
        self,
        round_id: FromPath[UUID],
        request: AuthRequest,
        list_state: Annotated[ListState | None, QueryParameter(name="state")] = None,
    ) -> RoundListsOut:
        """The round's lists (达标名单) in the caller's region, every facility with its state."""
        return await lists.round_lists(user=current_user(request), round_id=round_id, state=list_state)

    @post("/confirmations", operation_id="confirmRoundList", status_code=201)
    async def confirm_list(
        self, round_id: FromPath[UUID], data: JSONBody[ConfirmListRequest], request: AuthRequest
    ) -> ConfirmationOut:
        """The province confirms the list by its document (发文确认), or files the recommended list (备案)."""
        return await confirm.confirm_list(user=current_user(request), round_id=round_id, data=data)


class ClinicResultController(Controller):
    path = "/api/facilities/{facility_id:uuid}/rounds/{round_id:uuid}/result"
    tags = ["verdict"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="getFacilityResult")
    async def get_result(
        self, facility_id: FromPath[UUID], round_id: FromPath[UUID], request: AuthRequest
    ) -> ClinicResultOut:
        """The facility's result: final grades, tier, places per article, low-ranked articles to improve."""
        return await results.clinic_result(
            user=current_user(request), facility_id=facility_id, round_id=round_id
        )


class PublicResultController(Controller):
    tags = ["verdict"]

    @get("/api/public/rounds/{round_id:uuid}/results", operation_id="getPublicResults", security=[])
    async def get_results(
        self, round_id: FromPath[UUID], lang: FromQuery[str | None] = None
    ) -> PublicResults:
        """The facilities the province confirmed at a round, with their tier (no sign-in)."""
        return await public.public_results(round_id, language_of(lang))

    @get(
        "/public/rounds/{round_id:uuid}",
        operation_id="getPublicResultsPage",
        security=[],
        include_in_schema=False,
    )
    async def page(
        self, round_id: FromPath[UUID], request: Request[Any, Any, State], lang: FromQuery[str | None] = None
    ) -> Response[str]:
        """The public results page (HTML, no script, no sign-in)."""
        chosen = language_of(lang or request.headers.get("accept-language"))
        return Response(
            public.public_page(await public.public_results(round_id, chosen), chosen),
            media_type="text/html; charset=utf-8",
        )


VERDICT_ROUTES = [RoundListController, ClinicResultController, PublicResultController]
