"""The app's list of work: each visible inspection with its facility, round, standard and progress."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from backend.accounts.resolvers import resolvers_of
from backend.errors import NotFound
from backend.guards import AuthUser
from backend.inspections.schemas import AssignmentOut, TeamMemberOut
from backend.inspections.scope import visible_inspection_ids
from backend.inspections.tables import Inspection, InspectionMember
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from sync.api import answers_by_inspection
from sync.tables import AnswerRegister, Photo


async def _standard_facts(standard_ids: set[str]) -> dict[str, tuple[str, frozenset[str]]]:
    """Standard id -> (name, article numbers); an unknown id (never published) counts no article."""
    facts: dict[str, tuple[str, frozenset[str]]] = {}
    for standard_id in standard_ids:
        try:
            standard = await get_standard(standard_id=standard_id)
        except NotFound:  # a draft may name a standard not yet imported; the list still shows the inspection
            facts[standard_id] = (standard_id, frozenset())
            continue
        facts[standard_id] = (standard.name, frozenset(a.number for _, a, _ in walk_articles(standard)))
    return facts


# the facility's region (a county) by name; Piccolo's join chain is typed loosely past two hops
REGION_NAME = Inspection.facility.region.name.as_alias("region_name")  # type: ignore[union-attr]


async def list_assignments(*, user: AuthUser) -> list[AssignmentOut]:
    visible = await visible_inspection_ids(user)
    query = Inspection.select(
        Inspection.id,
        Inspection.facility,
        Inspection.facility.name.as_alias("facility_name"),
        REGION_NAME,
        Inspection.round,
        Inspection.round.name.as_alias("round_name"),
        Inspection.stage,
        Inspection.status,
        Inspection.standard_version_id,
        Inspection.version,
        Inspection.submitted_at,
    ).order_by(Inspection.created_at)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Inspection.id.is_in(list(visible)))
    rows: list[dict[str, Any]] = await query
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    teams: dict[UUID, list[TeamMemberOut]] = {}
    for member in await InspectionMember.select(
        InspectionMember.inspection,
        InspectionMember.user,
        InspectionMember.user.username.as_alias("username"),
        InspectionMember.user.display_name.as_alias("display_name"),
        InspectionMember.is_lead,
    ).where(InspectionMember.inspection.is_in(ids)):
        teams.setdefault(member["inspection"], []).append(
            TeamMemberOut(
                user_id=member["user"],
                username=member["username"],
                display_name=member["display_name"],
                is_lead=member["is_lead"],
            )
        )
    facts = await _standard_facts({row["standard_version_id"] for row in rows})
    registers = await AnswerRegister.select(
        AnswerRegister.inspection_id, AnswerRegister.item_code, AnswerRegister.field, AnswerRegister.value
    ).where(AnswerRegister.inspection_id.is_in(ids) & AnswerRegister.field.is_in(["value", "na"]))
    # the one reading of the registers (sync.api.answers_by_inspection): a cleared value is no answer
    answered = {iid: set(answers) for iid, answers in answers_by_inspection(registers).items()}
    photos = Counter(
        row["inspection_id"]
        for row in await Photo.select(Photo.inspection_id).where(
            Photo.inspection_id.is_in(ids) & (Photo.deleted == False)  # noqa: E712
        )
    )
    resolvers = await resolvers_of(list({row["facility"] for row in rows if row["stage"] == "self"}))
    out = []
    for row in rows:
        name, articles = facts[row["standard_version_id"]]
        out.append(
            AssignmentOut(
                inspection_id=row["id"],
                facility_id=row["facility"],
                facility_name=row["facility_name"],
                region_name=row["region_name"] or "",
                round_id=row["round"],
                round_name=row["round_name"],
                stage=row["stage"],
                status=row["status"],
                standard_version_id=row["standard_version_id"],
                standard_name=name,
                version=row["version"],
                is_lead=any(m.user_id == user.id and m.is_lead for m in teams.get(row["id"], [])),
                article_count=len(articles),
                answered_count=len(answered.get(row["id"], set()) & articles),
                photo_count=photos[row["id"]],
                submitted_at=row["submitted_at"],
                team=sorted(teams.get(row["id"], []), key=lambda m: (not m.is_lead, m.username)),
                resolver=resolvers.get(row["facility"]) if row["stage"] == "self" else None,
            )
        )
    return out
