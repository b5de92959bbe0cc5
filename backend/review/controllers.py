"""Conclusions and the discrepancy view over HTTP. Guards check the role; services check the scope again."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from backend.guards import AuthUser, current_user, requires_role
from backend.hooks import hooks_of
from backend.review import discrepancies, services, stored_conclusions, thresholds
from backend.review.schemas import (
    ConclusionView,
    ConfirmRequest,
    DiscrepancyView,
    IncompleteSubmissionOut,
    SetThresholdsRequest,
    StoredConclusion,
    SubmitIncompleteRequest,
    ThresholdSettingOut,
)

AuthRequest = Request[AuthUser, str, State]


class ConclusionController(Controller):
    path = "/api/inspections/{inspection_id:uuid}/conclusion"
    tags = ["review"]

    @get(
        "/",
        operation_id="getInspectionConclusion",
        guards=[requires_role("admin", "office", "inspector", "clinic")],
    )
    async def get_conclusion(self, inspection_id: FromPath[UUID], request: AuthRequest) -> ConclusionView:
        """The preliminary conclusion computed now from the inspection's current answers (nothing stored)."""
        return await services.compute_conclusion(user=current_user(request), inspection_id=inspection_id)

    @post(
        "/confirm",
        operation_id="confirmInspectionConclusion",
        guards=[requires_role("admin", "office")],
        status_code=201,
    )
    async def confirm(
        self,
        inspection_id: FromPath[UUID],
        request: AuthRequest,
        data: JSONBody[ConfirmRequest | None] = None,
    ) -> StoredConclusion:
        """Sign off the conclusion of a submitted review (初步结论): computed again, decided (by the standard,
        the province's setting, or the review group with a reason) and stored; the inspection is accepted."""
        return await services.confirm_conclusion(
            user=current_user(request), inspection_id=inspection_id, hooks=hooks_of(request), data=data
        )


class ReviewFacilityController(Controller):
    path = "/api/facilities/{facility_id:uuid}"
    tags = ["review"]
    guards = [requires_role("admin", "office")]

    @get("/conclusions", operation_id="listFacilityConclusions")
    async def list_conclusions(
        self, facility_id: FromPath[UUID], request: AuthRequest, round_id: FromQuery[UUID | None] = None
    ) -> list[StoredConclusion]:
        return await stored_conclusions.list_conclusions(
            user=current_user(request), facility_id=facility_id, round_id=round_id
        )

    @get("/rounds/{round_id:uuid}/discrepancies", operation_id="getFacilityDiscrepancies")
    async def discrepancies(
        self, facility_id: FromPath[UUID], round_id: FromPath[UUID], request: AuthRequest
    ) -> DiscrepancyView:
        """Self-assessment against each review stage, article by article."""
        return await discrepancies.discrepancies(
            user=current_user(request), facility_id=facility_id, round_id=round_id
        )


class SubmitIncompleteController(Controller):
    path = "/api/inspections/{inspection_id:uuid}/submit-incomplete"
    tags = ["review"]

    @post(
        "/",
        operation_id="submitInspectionIncomplete",
        guards=[requires_role("admin", "office")],
        status_code=201,
    )
    async def submit_incomplete(
        self, inspection_id: FromPath[UUID], data: JSONBody[SubmitIncompleteRequest], request: AuthRequest
    ) -> IncompleteSubmissionOut:
        """The office submits an inspection that is not complete, with a written reason (audited); its
        conclusion is then never signed off as a tier."""
        return await services.submit_incomplete(
            user=current_user(request), inspection_id=inspection_id, data=data
        )


class ThresholdController(Controller):
    path = "/api/thresholds"
    tags = ["review"]
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listProvinceThresholds")
    async def list_thresholds(
        self, request: AuthRequest, region_id: FromQuery[UUID | None] = None
    ) -> list[ThresholdSettingOut]:
        """The province's threshold settings, newest first (the first per standard is in force)."""
        return await thresholds.list_thresholds(user=current_user(request), region_id=region_id)

    @post("/", operation_id="setProvinceThresholds", status_code=201)
    async def set_thresholds(
        self, data: JSONBody[SetThresholdsRequest], request: AuthRequest
    ) -> ThresholdSettingOut:
        """Set the province's thresholds where the standard leaves them open, with the document (文号, date)."""
        return await thresholds.set_thresholds(user=current_user(request), data=data)
