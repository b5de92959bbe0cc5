"""A stage's verdict at sign-off: who decides (review/decision.py), the list it moves (review/flow.py), and the
removal (剔除) with its written opinion that it may cause. Called inside the sign-off's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.errors import Conflict, RuleRefused
from backend.guards import AuthUser
from backend.hooks import Hooks
from backend.inspections.tables import Application
from backend.registry.tables import Facility
from backend.review.decision import Decision, decide, proposal, statement, with_province
from backend.review.flow import Flow, carried_tier, walk
from backend.review.schemas import ConfirmRequest, ProposedVerdict, Said
from backend.review.tables import ListConfirmation
from backend.review.thresholds import province_of, ref, setting_for
from backend.standards import AnswerValidationError, conclude
from backend.standards.conclusion import Conclusion
from backend.standards.schemas import FacilityFigures, Standard


@dataclass(frozen=True, slots=True)
class Rules:
    own: Conclusion
    provincial: Conclusion | None
    setting: dict[str, Any] | None
    province: UUID | None


async def rules_for(
    row: Mapping[str, Any], standard: Standard, own: Conclusion, engine_input: tuple[Any, Any]
) -> Rules:
    """The standard's conclusion, and the one with the province's setting filled in (if it has one)."""
    county = await Facility.select(Facility.region).where(Facility.id == row["facility"]).first()
    province = await province_of(county["region"] if county else None)
    setting = await setting_for(province, standard.id)
    provincial = None
    if setting is not None and own.status == "undetermined":
        answers, prerequisites = engine_input
        figures = FacilityFigures(
            medical_staff_count=row["medical_staff_count"] or None,
            service_population=row["service_population"] or None,
        )
        try:
            provincial = conclude(
                with_province(standard, setting["thresholds"]), answers, figures, prerequisites
            )
        except AnswerValidationError:
            provincial = None
    return Rules(own, provincial, setting, province)


async def proposed(row: Mapping[str, Any], standard: Standard, rules: Rules) -> ProposedVerdict:
    source, tier, basis = proposal(standard, rules.own, rules.provincial)
    flow = await carried_tier(row["round"], row["facility"])
    setting = rules.setting if source == "province" else None
    words: list[Said] = statement(
        standard,
        tier,
        source,
        basis,
        applied=flow.applied if flow else None,
        document_no=setting["document_no"] if setting else None,
        document_date=str(setting["document_date"]) if setting else None,
    )
    return ProposedVerdict(
        decided_by=source,
        tier=tier,
        tier_label=basis.tier_label if tier else None,
        setting=ref(setting) if source == "province" else ref(rules.setting),
        provincial=rules.provincial,
        applied_tier=flow.applied if flow else None,
        carried_tier=flow.carried if flow else None,
        statement=words,
    )


def decided(
    standard: Standard, rules: Rules, figures: FacilityFigures, data: ConfirmRequest | None
) -> Decision:
    group = data.decision if data else None
    # a refusal is a DecisionRefused: 422 as raised (backend.errors.RuleRefused)
    return decide(
        standard,
        rules.own,
        rules.provincial,
        figures,
        group.tier if group else None,
        group.reason if group else None,
    )


async def ensure_round_open(round_id: UUID, province: UUID | None) -> None:
    if province is not None and await ListConfirmation.exists().where(
        (ListConfirmation.round == round_id)
        & (ListConfirmation.region == province)
        & (ListConfirmation.kind == "confirmation")
    ):
        raise Conflict(
            "the province has confirmed this round's list (发文确认): the round is concluded and takes no "
            "further sign-off",
            code="round_concluded",
        )


async def move_list(
    *,
    user: AuthUser,
    hooks: Hooks,
    row: Mapping[str, Any],
    inspection_id: UUID,
    tier: str,
    data: ConfirmRequest | None,
) -> tuple[Flow | None, Flow | None]:
    """The list before and after this stage's verdict; a facility the verdict takes off the list is removed
    (剔除): its application returned with the written opinion (书面反馈复核意见), which starts its re-apply clock."""
    before = await carried_tier(row["round"], row["facility"])
    if before is None:
        return None, None
    after = walk(before.applied, {**before.found, row["stage"]: tier}, before.first)
    if after.removed_at != row["stage"] or before.removed_at is not None:
        return before, after
    application = (
        await Application.select(Application.id, Application.status)
        .where(
            (Application.facility == row["facility"])
            & (Application.round == row["round"])
            & Application.status.is_in(["applied", "accepted"])
        )
        .first()
    )
    if application is None:
        return before, after
    opinion = ((data.opinion if data else None) or "").strip()
    if not opinion:
        raise RuleRefused(
            "this verdict takes the facility off the list (剔除): it is returned with a written opinion "
            "(书面反馈复核意见, opinion)",
            code="opinion_required",
        )
    now = datetime.now(UTC)
    await Application.update({Application.status: "returned", Application.decided_at: now}).where(
        Application.id == application["id"]
    )
    await hooks.record_opinion(
        facility=row["facility"],
        round=row["round"],
        application=application["id"],
        inspection=inspection_id,
        stage=row["stage"],
        opinion=opinion,
        returned_by=user.id,
    )
    await record(
        user_id=str(user.id),
        action="facility.remove",
        entity=f"application/{application['id']}",
        details={
            "stage": row["stage"],
            "tier": tier,
            "carried": before.carried,
            "applied": before.applied,
            "opinion": opinion,
            "inspection": str(inspection_id),
        },
    )
    return before, after
