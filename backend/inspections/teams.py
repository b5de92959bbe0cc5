"""The expert pool against a programme's team rules (programmeSettings.expertTeam): group size, the title gate
("中级及以上"), recusal (回避制度). One owner for these rules: the office's hand-picked team (services.set_team)
and the seeded draw (backend/programme/team_draw.py) both go through them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from backend.accounts.tables import ExpertProfile, User
from backend.errors import NotFound, RuleRefused
from backend.inspections.tables import InspectionMember
from backend.standards.schemas import ExpertTeamRules
from backend.standards.services import get_standard
from backend.standards.titles import meets_minimum

# the reasons an expert is left out of a team, in the order they are checked
LEFT_OUT = ("inactive", "recusal", "title_unrecognised", "title_below_minimum")


@dataclass(frozen=True, slots=True)
class Expert:
    user_id: UUID
    username: str
    display_name: str
    title: str
    active: bool
    tied: frozenset[str]
    specialties: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.display_name or self.username} ({self.username})"

    def left_out(self, facility_id: UUID, rules: ExpertTeamRules) -> str | None:
        """Why this expert may not review the facility under the rules; None when they may."""
        if not self.active:
            return "inactive"
        if str(facility_id) in self.tied:  # recusal is the design's rule whatever the setting says
            return "recusal"
        gate = meets_minimum(self.title, rules.min_title)
        if gate is None:
            return "title_unrecognised"
        if not gate:
            return "title_below_minimum"
        return None


async def team_rules(standard_version_id: str) -> ExpertTeamRules:
    """The team rules of the inspection's standard; the rules' defaults (5, odd) when it sets none."""
    try:
        standard = await get_standard(standard_id=standard_version_id)
    except NotFound:
        return ExpertTeamRules()
    return standard.programme_settings.expert_team or ExpertTeamRules()


def check_size(rules: ExpertTeamRules, size: int) -> None:
    if size < rules.min_size or (rules.odd_size and size % 2 == 0):
        odd = " and an odd number" if rules.odd_size else ""
        raise RuleRefused(
            f"an expert group has at least {rules.min_size} members{odd}; got {size}",
            code="team_size",
            min_size=rules.min_size,
            odd_size=rules.odd_size,
        )


def _json_list(value: Any) -> list[Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return list(loaded or [])


def _ids(value: Any) -> frozenset[str]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return frozenset(str(item) for item in loaded or [])


async def experts(user_ids: list[UUID] | None = None) -> dict[UUID, Expert]:
    """Inspector users with an expert profile (all of them, or those of ``user_ids``), by user id."""
    query = ExpertProfile.select(
        ExpertProfile.user,
        ExpertProfile.title,
        ExpertProfile.specialties,
        ExpertProfile.tied_facility_ids,
        ExpertProfile.user.username.as_alias("username"),
        ExpertProfile.user.display_name.as_alias("display_name"),
        ExpertProfile.user.active.as_alias("active"),
        ExpertProfile.user.role.as_alias("role"),
    )
    if user_ids is not None:
        query = query.where(ExpertProfile.user.is_in(user_ids or [UUID(int=0)]))
    return {
        row["user"]: Expert(
            user_id=row["user"],
            username=row["username"],
            display_name=row["display_name"],
            title=row["title"],
            active=row["active"],
            tied=_ids(row["tied_facility_ids"]),
            specialties=tuple(str(s) for s in _json_list(row["specialties"])),
        )
        for row in await query
        if row["role"] == "inspector"
    }


async def replace_team(inspection_id: UUID, members: list[UUID], lead_id: UUID) -> None:
    """Write the team (inside the caller's write transaction)."""
    await InspectionMember.delete().where(InspectionMember.inspection == inspection_id)
    await InspectionMember.insert(
        *[InspectionMember(inspection=inspection_id, user=m, is_lead=m == lead_id) for m in members]
    )


async def users_exist(members: list[UUID]) -> dict[UUID, dict[str, Any]]:
    users = {
        r["id"]: r
        for r in await User.select(User.id, User.username, User.display_name, User.role, User.active).where(
            User.id.is_in(members)
        )
    }
    missing = [str(m) for m in members if m not in users]
    if missing:
        raise NotFound(f"user {', '.join(missing)} does not exist", code="user_not_found")
    return users
