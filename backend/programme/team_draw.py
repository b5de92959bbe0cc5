"""The seeded, audited draw of an inspection's expert team from the pool (抽取专家).

The pool is every active inspector with an expert profile that the programme's rules let review the facility
(backend/inspections/teams.py: recusal, the title gate); who is left out is kept with why. The team is drawn
by ``expert_draw.draw_team`` from the pool and a seed (given, or made and recorded), balanced across the
experts' recorded specialties (kept with the draw), the first drawn leads, and
the team, the draw (seed, pool, left out, drawn, rules) and its audit entry are written in one transaction.
Any draw can be made again from what is stored: ``reproduced`` says it gives the same team.

Who may: admin, and an office for inspections of its region at stages up to its level (as for a hand-picked
team); the team must still be open (not submitted, returned or accepted).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from uuid import UUID

import msgspec

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.scope import ensure_inspection_visible, visible_inspection_ids
from backend.inspections.services import team_target
from backend.inspections.tables import Inspection, InspectionMember
from backend.inspections.teams import Expert, check_size, experts, replace_team, team_rules
from backend.programme.expert_draw import draw_team
from backend.programme.rules import ensure_office_level
from backend.programme.stage_schemas import DrawTeamRequest, ExpertBrief, RoundTeamOut, TeamDrawOut
from backend.programme.tables import TeamDraw


def _brief(expert: Expert | None, user_id: str, **extra: Any) -> ExpertBrief:
    if expert is None:  # a profile removed since: the id is all that is left
        return ExpertBrief(user_id=UUID(user_id), username="", display_name="", title="", **extra)
    return ExpertBrief(
        user_id=expert.user_id,
        username=expert.username,
        display_name=expert.display_name,
        title=expert.title,
        specialties=list(expert.specialties),
        **extra,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _draw_out(row: dict[str, Any], pool: dict[UUID, Expert]) -> TeamDrawOut:
    by_id = {str(k): v for k, v in pool.items()}
    drawn = [str(x) for x in _json(row["drawn"])]
    stored_pool = [str(x) for x in _json(row["pool"])]
    excluded = _json(row["excluded"])
    rules = _json(row["rules"]) or {}
    # the specialties the draw balanced, as they were (absent: a draw from before they were balanced)
    balanced = rules.get("specialties")
    try:
        again = draw_team(stored_pool, row["size"], row["seed"], str(row["inspection"]), balanced)
    except ValueError:
        again = ()
    return TeamDrawOut(
        id=row["id"],
        inspection_id=row["inspection"],
        seed=row["seed"],
        size=row["size"],
        min_title=rules.get("minTitle"),
        pool_size=len(stored_pool),
        drawn=[_brief(by_id.get(d), d, is_lead=i == 0) for i, d in enumerate(drawn)],
        excluded=[_brief(by_id.get(e["userId"]), e["userId"], reason=e["reason"]) for e in excluded],
        drawn_by_name=row["drawn_by_name"] or "",
        drawn_at=row["drawn_at"],
        reproduced=list(again) == drawn,
    )


_DRAW_COLUMNS = (
    *TeamDraw.all_columns(),
    TeamDraw.drawn_by.display_name.as_alias("drawn_by_name"),
)


async def draw(*, user: AuthUser, inspection_id: UUID, data: DrawTeamRequest) -> TeamDrawOut:
    row = await team_target(user, inspection_id)
    await ensure_office_level(user, row["stage"], "draw the team of")
    rules = await team_rules(row["standard_version_id"])
    size = data.size or rules.min_size + (1 if rules.odd_size and rules.min_size % 2 == 0 else 0)
    check_size(rules, size)
    everyone = await experts()
    pool: list[str] = []
    excluded: list[dict[str, str]] = []
    for user_id, expert in sorted(everyone.items(), key=lambda item: str(item[0])):
        reason = expert.left_out(row["facility"], rules)
        if reason is None:
            pool.append(str(user_id))
        else:
            excluded.append({"userId": str(user_id), "reason": reason})
    if len(pool) < size:
        raise Conflict(
            f"the expert pool holds {len(pool)} expert(s) who may review {row['facility_name']}; "
            f"a team of {size} cannot be drawn",
            code="pool_too_small",
            pool_size=len(pool),
            size=size,
        )
    seed = data.seed or secrets.token_hex(8)
    # balanced across the specialties recorded on the pool's experts (expert_draw), kept with the draw so it
    # is reproduced from what is stored even after a profile changes
    specialties = {p: list(everyone[UUID(p)].specialties) for p in pool}
    drawn = draw_team(pool, size, seed, str(inspection_id), specialties)
    members = [UUID(d) for d in drawn]
    draw_row = TeamDraw(
        inspection=inspection_id,
        seed=seed,
        size=size,
        pool=pool,
        excluded=excluded,
        drawn=list(drawn),
        rules={**msgspec.to_builtins(rules), "specialties": specialties},
        drawn_by=user.id,
    )
    async with write_tx():
        await replace_team(inspection_id, members, members[0])
        await draw_row.save()
        await record(
            user_id=str(user.id),
            action="inspection.team_draw",
            entity=f"inspection/{inspection_id}",
            details={
                "draw": str(draw_row.id),
                "seed": seed,
                "size": size,
                "pool": pool,
                "excluded": excluded,
                "members": list(drawn),
                "specialties": {d: specialties[d] for d in drawn},
                "lead": drawn[0],
            },
        )
    saved = await TeamDraw.select(*_DRAW_COLUMNS).where(TeamDraw.id == draw_row.id).first()
    assert saved is not None
    return _draw_out(saved, everyone)


async def list_draws(*, user: AuthUser, inspection_id: UUID) -> list[TeamDrawOut]:
    ensure_role(user, "admin", "office")
    await ensure_inspection_visible(user, inspection_id)
    rows = (
        await TeamDraw.select(*_DRAW_COLUMNS)
        .where(TeamDraw.inspection == inspection_id)
        .order_by(TeamDraw.drawn_at, ascending=False)
    )
    everyone = await experts()
    return [_draw_out(row, everyone) for row in rows]


async def round_teams(*, user: AuthUser, round_id: UUID) -> list[RoundTeamOut]:
    """Every review inspection of the round in the caller's scope, with its team and its latest draw."""
    ensure_role(user, "admin", "office")
    if not await round_visible(user, await round_by_id(round_id)):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    visible = await visible_inspection_ids(user)
    query = (
        Inspection.select(
            Inspection.id,
            Inspection.facility,
            Inspection.facility.name.as_alias("facility_name"),
            Inspection.stage,
            Inspection.status,
            Inspection.review_mode,
            Inspection.standard_version_id,
        )
        .where((Inspection.round == round_id) & (Inspection.stage != "self"))
        .order_by(Inspection.created_at)
    )
    rows = [r for r in await query if visible is None or r["id"] in visible]
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    members: dict[UUID, list[dict[str, Any]]] = {}
    for m in await InspectionMember.select(
        InspectionMember.inspection, InspectionMember.user, InspectionMember.is_lead
    ).where(InspectionMember.inspection.is_in(ids)):
        members.setdefault(m["inspection"], []).append(m)
    latest: dict[UUID, dict[str, Any]] = {}
    for d in (
        await TeamDraw.select(*_DRAW_COLUMNS)
        .where(TeamDraw.inspection.is_in(ids))
        .order_by(TeamDraw.drawn_at)
    ):
        latest[d["inspection"]] = d
    everyone = await experts()
    rules = {sid: await team_rules(sid) for sid in {r["standard_version_id"] for r in rows}}
    out = []
    for r in rows:
        team = sorted(
            (
                _brief(everyone.get(m["user"]), str(m["user"]), is_lead=m["is_lead"])
                for m in members.get(r["id"], [])
            ),
            key=lambda b: (not b.is_lead, b.username),
        )
        draw_row = latest.get(r["id"])
        drawn_ids = {str(x) for x in _json(draw_row["drawn"])} if draw_row else set()
        out.append(
            RoundTeamOut(
                inspection_id=r["id"],
                facility_id=r["facility"],
                facility_name=r["facility_name"],
                stage=r["stage"],
                status=r["status"],
                review_mode=r["review_mode"] or "onsite",
                team=team,
                min_title=rules[r["standard_version_id"]].min_title,
                last_draw=_draw_out(draw_row, everyone) if draw_row else None,
                team_is_drawn=bool(draw_row)
                and drawn_ids == {str(m["user"]) for m in members.get(r["id"], [])},
            )
        )
    return out
