"""Programmes whose subject earns a title: the MCH demonstration counties (妇幼健康优质服务示范工程, seed 001).

The rounds, applications (the county's report to the city), the city's check (a ``city`` review of every
applicant), the province's ≥ 10 % sample and the sign-offs are the 基层行 machinery, read from the standard's
``programmeSettings`` and the kind (``kinds.py``). What only this kind has lives here:
- the county's own indicator targets, never below the national value ("不得低于该目标值");
- naming a county demonstration county on the conclusion that decides it, valid ``titleValidYears`` (3) from
  the day it is named ("自公布之日起有效期为3年");
- unannounced re-checks (不定期抽查): a province review opened without an application; a failure gives a
  deadline to fix (限期整改, ``fixWithinMonths``), a failure while fixing revokes the title (取消称号);
- the veto items and indicator floors beside a conclusion.
Who decides: where the standard's threshold decides (a veto, a missed mandatory floor, a tier reached) it does;
where the threshold is not transcribed (``null``: undetermined) the province decides and writes its reason.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import msgspec

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import ensure_round_covers, round_by_id, round_visible
from backend.inspections.scope import ensure_facility_visible, visible_facility_ids
from backend.inspections.tables import Inspection
from backend.programme.kinds import ProgrammeKind, kind_of, kinds
from backend.programme.rules import ensure_office_level, fitting_standard, open_application, selection
from backend.programme.title_schemas import (
    DecideRecheckRequest,
    FloorOut,
    KindOut,
    NameTitleRequest,
    OpenRecheckRequest,
    PointsSummaryOut,
    RecheckOut,
    SetTargetsRequest,
    TargetOut,
    TitleOut,
    VetoOut,
)
from backend.programme.title_tables import ProgrammeTitle, SubjectTarget, TitleRecheck
from backend.review.answers import own_targets
from backend.review.flow import carried_tier
from backend.review.services import compute_conclusion
from backend.review.tables import ConfirmedConclusion
from backend.standards.schemas import Article, Conclusion, Section, Standard
from backend.standards.services import get_standard, list_standards

CHINA = timezone(timedelta(hours=8))  # titles are named and fixes fall due on China's calendar days
ACTIVE = ("named", "fix_required")


def today_in_china(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(CHINA).date()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def effective_status(row: dict[str, Any], today: date) -> str:
    """A title past its validity reads ``expired`` (its row keeps the last decision)."""
    status: str = row["status"]
    if status in ACTIVE and today > row["valid_until"]:
        return "expired"
    return status


# ------------------------------------------------------------------------------------------------- kinds


async def list_kinds() -> list[KindOut]:
    standards = await list_standards(include_drafts=False)
    out = []
    for kind in kinds():
        ids = [s.id for s in standards if s.programme == kind.programme]
        out.append(KindOut(kind=kind, standard_ids=sorted(ids)))
    return out


# ------------------------------------------------------------------------------------------------- targets


def _articles(sections: tuple[Section, ...]) -> list[Article]:
    found: list[Article] = []
    for section in sections:
        found.extend(section.articles)
        found.extend(_articles(section.sections))
    return found


def indicator_articles(standard: Standard) -> dict[str, Article]:
    return {a.number: a for a in _articles(standard.sections) if a.indicator is not None}


def lowest_own_target(article: Article) -> float:
    """The national value a subject's own target may not undercut (for ``<=``: may not exceed)."""
    assert article.indicator is not None
    floor = article.indicator.floor
    return floor if floor is not None else article.indicator.value


def target_allowed(article: Article, target: float) -> bool:
    assert article.indicator is not None
    bound = lowest_own_target(article)
    return target >= bound if article.indicator.op == ">=" else target <= bound


async def _self_standard(facility_id: UUID, round_id: UUID) -> Standard:
    row = (
        await Inspection.select(Inspection.standard_version_id)
        .where(
            (Inspection.facility == facility_id)
            & (Inspection.round == round_id)
            & (Inspection.stage == "self")
        )
        .first()
    )
    if row is None:
        raise Conflict("the subject has no self-evaluation (自评) at this round", code="no_self_assessment")
    return await get_standard(standard_id=row["standard_version_id"])


async def list_targets(*, user: AuthUser, facility_id: UUID, round_id: UUID) -> list[TargetOut]:
    await ensure_facility_visible(user, facility_id)
    standard = await _self_standard(facility_id, round_id)
    own = await own_targets(facility_id, round_id, standard.id)
    out = []
    for number, article in indicator_articles(standard).items():
        assert article.indicator is not None
        out.append(
            TargetOut(
                article=number,
                title=article.title,
                op=article.indicator.op,
                national=article.indicator.value,
                floor=lowest_own_target(article),
                target=own.get(number),
                unit=article.indicator.unit,
            )
        )
    return out


async def set_targets(
    *, user: AuthUser, facility_id: UUID, round_id: UUID, data: SetTargetsRequest
) -> list[TargetOut]:
    """The subject's own targets (all or none): each on an indicator article, never below the national value."""
    ensure_role(user, "admin", "office", "clinic")
    await ensure_facility_visible(user, facility_id)
    standard = await _self_standard(facility_id, round_id)
    kind = kind_of(standard)
    if kind is None or not kind.adapts_indicators:
        raise Conflict(
            f"the programme of {standard.id} does not let a subject set its own targets",
            code="targets_not_in_programme",
        )
    articles = indicator_articles(standard)
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in data.targets:
        article = articles.get(item.article)
        if item.article in seen:
            problems.append({"code": "duplicate_target", "params": {"article": item.article}})
        elif article is None:
            problems.append({"code": "not_an_indicator", "params": {"article": item.article}})
        elif not target_allowed(article, item.target):
            assert article.indicator is not None
            problems.append(
                {
                    "code": "below_national_target",
                    "params": {
                        "article": item.article,
                        "title": article.title,
                        "target": item.target,
                        "national": lowest_own_target(article),
                        "op": article.indicator.op,
                    },
                }
            )
        seen.add(item.article)
    if problems:
        raise RuleRefused(
            "; ".join(f"{p['code']} {p['params']['article']}" for p in problems),
            code=problems[0]["code"],
            problems=problems,
        )
    async with write_tx():
        for item in data.targets:
            await SubjectTarget.delete().where(
                (SubjectTarget.facility == facility_id)
                & (SubjectTarget.round == round_id)
                & (SubjectTarget.article == item.article)
            )
            await SubjectTarget(
                facility=facility_id,
                round=round_id,
                standard_version_id=standard.id,
                article=item.article,
                target=item.target,
                set_by=user.id,
            ).save()
        await record(
            user_id=str(user.id),
            action="targets.set",
            entity=f"facility/{facility_id}",
            details={"round": str(round_id), "targets": {t.article: t.target for t in data.targets}},
        )
    return await list_targets(user=user, facility_id=facility_id, round_id=round_id)


# ------------------------------------------------------------------------------------------------- titles


async def _latest_conclusion(where: Any) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await ConfirmedConclusion.select()
        .where(where)
        .order_by(ConfirmedConclusion.confirmed_at, ascending=False)
        .first()
    )
    return row


def _decide(conclusion: dict[str, Any], tier: str, reason: str | None) -> tuple[bool, str, str]:
    """(reached, decided_by, reason) from a signed conclusion: the standard where it decides, else the province
    with its written reason. A sign-off that recorded who decided its tier (review/verdicts.py: the standard,
    the province's setting or the review group with its reason) is taken as it stands."""
    if conclusion.get("decided_by") is not None:
        written = conclusion.get("decision_reason") or ""
        if not written:
            written = "; ".join(msgspec.json.decode(conclusion["explanation"]).get("reasons", []))
        return conclusion["tier"] == tier, conclusion["decided_by"], written
    if conclusion["status"] in ("determined", "not_evaluated"):
        reasons = msgspec.json.decode(conclusion["explanation"]).get("reasons", [])
        return conclusion["tier"] == tier, "standard", "; ".join(reasons)
    if not (reason or "").strip():
        raise Conflict(
            "no threshold of the standard decides this conclusion (undetermined): the province decides, "
            "with its written reason",
            code="decision_needs_reason",
        )
    return True, "province", (reason or "").strip()


async def _title_kind(standard: Standard) -> ProgrammeKind:
    kind = kind_of(standard)
    if kind is None or kind.title is None:
        raise Conflict(f"the programme of {standard.id} names no title", code="no_title_in_programme")
    return kind


async def name_title(
    *, user: AuthUser, round_id: UUID, data: NameTitleRequest, now: datetime | None = None
) -> TitleOut:
    """Name a subject (示范县) on the conclusion that decides it: the province's if it was drawn in the province
    sample, else the city's check."""
    ensure_role(user, "admin", "office")
    await ensure_office_level(user, "province", "name titles at")
    facility_id = data.facility_id
    await ensure_facility_visible(user, facility_id)
    standard = await _self_standard(facility_id, round_id)
    kind = await _title_kind(standard)
    assert kind.title is not None
    application = await open_application(facility_id, round_id)
    if application is None or application["tier"] != kind.title:
        raise Conflict(
            f"no open application for {kind.title} at this round (the county's report to the city)",
            code="no_application",
        )
    city = await _latest_conclusion(
        (ConfirmedConclusion.facility == facility_id)
        & (ConfirmedConclusion.round == round_id)
        & (ConfirmedConclusion.stage == "city")
    )
    if city is None:
        raise Conflict("the city has not checked this county (no signed city conclusion)", code="stage_order")
    flow = await carried_tier(round_id, facility_id)
    if flow is not None and flow.removed_at == "city":
        chosen, ratio = "not_drawn", None  # the city did not report it up: its check decides (not reached)
    else:
        chosen, ratio = await selection(facility_id, round_id, "province", kind.title, standard)
    if chosen == "not_drawn_yet":
        raise Conflict(
            f"draw the province sample first ({ratio or 0:.0%} of the counties are checked)",
            code="sample_not_drawn",
        )
    basis = city
    if chosen in ("drawn", "all"):
        province = await _latest_conclusion(
            (ConfirmedConclusion.facility == facility_id)
            & (ConfirmedConclusion.round == round_id)
            & (ConfirmedConclusion.stage == "province")
        )
        if province is None:
            raise Conflict(
                "the county was drawn in the province sample: its province check has no signed conclusion",
                code="stage_order",
            )
        basis = province
    reached, decided_by, reason = _decide(basis, kind.title, data.reason)
    if not reached:
        raise Conflict(
            f"the {basis['stage']} conclusion is {basis['tier_label'] or basis['status']}: {reason}",
            code="title_not_reached",
            tier=basis["tier"],
            reasons=reason,
        )
    years = standard.programme_settings.title_valid_years
    if not years:
        raise Conflict(f"{standard.id} sets no validity for its title", code="no_title_validity")
    today = today_in_china(now)
    async with write_tx():
        for row in await ProgrammeTitle.select().where(
            (ProgrammeTitle.facility == facility_id) & (ProgrammeTitle.kind == kind.code)
        ):
            if effective_status(row, today) in ACTIVE:
                raise Conflict(f"the county holds the title until {row['valid_until']}", code="already_named")
        tier_label = next((t.label for t in standard.determination.tiers if t.code == kind.title), kind.title)
        title = ProgrammeTitle(
            facility=facility_id,
            round=round_id,
            kind=kind.code,
            tier=kind.title,
            tier_label=tier_label,
            standard_version_id=standard.id,
            conclusion=basis["id"],
            decided_by=decided_by,
            reason=reason,
            named_on=today,
            valid_until=add_months(today, 12 * years),
            status="named",
            named_by=user.id,
        )
        await title.save()
        await record(
            user_id=str(user.id),
            action="title.name",
            entity=f"facility/{facility_id}",
            details={
                "title": str(title.id),
                "tier": kind.title,
                "round": str(round_id),
                "conclusion": str(basis["id"]),
                "decidedBy": decided_by,
                "validUntil": title.valid_until.isoformat(),
            },
        )
    return await _title_out(title.id, today)


def _recheck_out(row: dict[str, Any]) -> RecheckOut:
    return RecheckOut(
        id=row["id"],
        title_id=row["title"],
        inspection_id=row["inspection"],
        round_id=row["round"],
        checks=row["checks"],
        outcome=row["outcome"],
        decided_by=row["decided_by"],
        reason=row["reason"],
        fix_due_on=row["fix_due_on"],
        opened_at=row["opened_at"],
        decided_at=row["decided_at"],
    )


_RECHECK_COLUMNS = (
    TitleRecheck.id,
    TitleRecheck.title,
    TitleRecheck.inspection,
    TitleRecheck.inspection.round.as_alias("round"),
    TitleRecheck.checks,
    TitleRecheck.outcome,
    TitleRecheck.decided_by,
    TitleRecheck.reason,
    TitleRecheck.fix_due_on,
    TitleRecheck.opened_at,
    TitleRecheck.decided_at,
)


async def _title_outs(where: Any, today: date) -> list[TitleOut]:
    rows = (
        await ProgrammeTitle.select(
            *ProgrammeTitle.all_columns(), ProgrammeTitle.facility.name.as_alias("facility_name")
        )
        .where(where)
        .order_by(ProgrammeTitle.named_at)
    )
    if not rows:
        return []
    rechecks: dict[UUID, list[RecheckOut]] = {}
    for r in (
        await TitleRecheck.select(*_RECHECK_COLUMNS)
        .where(TitleRecheck.title.is_in([row["id"] for row in rows]))
        .order_by(TitleRecheck.opened_at)
    ):
        rechecks.setdefault(r["title"], []).append(_recheck_out(r))
    return [
        TitleOut(
            id=row["id"],
            facility_id=row["facility"],
            facility_name=row["facility_name"],
            round_id=row["round"],
            kind=row["kind"],
            tier=row["tier"],
            tier_label=row["tier_label"],
            standard_id=row["standard_version_id"],
            conclusion_id=row["conclusion"],
            decided_by=row["decided_by"],
            reason=row["reason"],
            named_on=row["named_on"],
            valid_until=row["valid_until"],
            status=effective_status(row, today),
            fix_due_on=row["fix_due_on"],
            revoked_on=row["revoked_on"],
            rechecks=rechecks.get(row["id"], []),
        )
        for row in rows
    ]


async def _title_out(title_id: UUID, today: date) -> TitleOut:
    found = await _title_outs(ProgrammeTitle.id == title_id, today)
    if not found:
        raise NotFound(f"title {title_id} does not exist", code="title_not_found")
    return found[0]


async def list_titles(
    *,
    user: AuthUser,
    round_id: UUID | None = None,
    facility_id: UUID | None = None,
    now: datetime | None = None,
) -> list[TitleOut]:
    """Titles in the caller's scope (the public list of named counties and their state)."""
    visible = await visible_facility_ids(user)
    where: Any = ProgrammeTitle.id.is_not_null()
    if visible is not None:
        if not visible:
            return []
        where &= ProgrammeTitle.facility.is_in(list(visible))
    if round_id is not None:
        where &= ProgrammeTitle.round == round_id
    if facility_id is not None:
        where &= ProgrammeTitle.facility == facility_id
    return await _title_outs(where, today_in_china(now))


async def _title_row(title_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = await ProgrammeTitle.select().where(ProgrammeTitle.id == title_id).first()
    if row is None:
        raise NotFound(f"title {title_id} does not exist", code="title_not_found")
    return row


async def open_recheck(
    *, user: AuthUser, title_id: UUID, data: OpenRecheckRequest, now: datetime | None = None
) -> RecheckOut:
    """An unannounced re-check: a province review of the named county at a later round, with no application
    (the county is not told; its accounts see no review inspection). The team is set as for any review."""
    ensure_role(user, "admin", "office")
    await ensure_office_level(user, "province", "re-check titles at")
    title = await _title_row(title_id)
    await ensure_facility_visible(user, title["facility"])
    today = today_in_china(now)
    status = effective_status(title, today)
    if status not in ACTIVE:
        raise Conflict(f"the title is {status}; only a held title is re-checked", code="title_not_active")
    if data.round_id == title["round"]:
        raise RuleRefused("a re-check runs at a later round than the naming", code="same_round")
    round_row = await round_by_id(data.round_id)
    if not await round_visible(user, round_row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    await ensure_round_covers(round_row, title["facility"])
    standard_id = data.standard_version_id or title["standard_version_id"]
    await fitting_standard(standard_id, title["facility"])
    async with write_tx():
        if await Inspection.exists().where(
            (Inspection.facility == title["facility"])
            & (Inspection.round == data.round_id)
            & (Inspection.stage == "province")
        ):
            raise Conflict(
                "the county already has a province review at that round", code="duplicate_inspection"
            )
        inspection = Inspection(
            facility=title["facility"],
            round=data.round_id,
            stage="province",
            standard_version_id=standard_id,
        )
        await inspection.save()
        recheck = TitleRecheck(
            title=title_id, inspection=inspection.id, checks=title["status"], opened_by=user.id
        )
        await recheck.save()
        await record(
            user_id=str(user.id),
            action="title.recheck_open",
            entity=f"inspection/{inspection.id}",
            details={"title": str(title_id), "round": str(data.round_id), "checks": title["status"]},
        )
    row = await TitleRecheck.select(*_RECHECK_COLUMNS).where(TitleRecheck.id == recheck.id).first()
    assert row is not None
    return _recheck_out(row)


async def decide_recheck(
    *, user: AuthUser, recheck_id: UUID, data: DecideRecheckRequest, now: datetime | None = None
) -> TitleOut:
    """The re-check's outcome from its signed conclusion: a failure of a held title gives a fix deadline, a failure
    while fixing revokes the title, a pass while fixing closes the fix."""
    ensure_role(user, "admin", "office")
    await ensure_office_level(user, "province", "decide re-checks at")
    recheck = await TitleRecheck.select().where(TitleRecheck.id == recheck_id).first()
    if recheck is None:
        raise NotFound(f"re-check {recheck_id} does not exist", code="recheck_not_found")
    title = await _title_row(recheck["title"])
    await ensure_facility_visible(user, title["facility"])
    if recheck["outcome"] != "open":
        raise Conflict(f"the re-check is already decided ({recheck['outcome']})", code="recheck_decided")
    conclusion = await _latest_conclusion(ConfirmedConclusion.inspection == recheck["inspection"])
    if conclusion is None:
        raise Conflict("the re-check has no signed conclusion yet", code="recheck_not_concluded")
    if conclusion["status"] in ("determined", "not_evaluated"):
        passed, decided_by, reason = _decide(conclusion, title["tier"], None)
        if data.outcome is not None and (data.outcome == "passed") != passed:
            raise Conflict(
                f"the signed conclusion ({conclusion['tier_label'] or conclusion['status']}) decides the "
                f"re-check: {'passed' if passed else 'failed'}",
                code="outcome_contradicts_conclusion",
            )
    else:
        if data.outcome is None:
            raise Conflict(
                "no threshold decides the re-check's conclusion: the province gives the outcome and its reason",
                code="decision_needs_reason",
            )
        _, decided_by, reason = _decide(conclusion, title["tier"], data.reason)
        passed = data.outcome == "passed"
    today = today_in_china(now)
    kind = next((k for k in kinds() if k.code == title["kind"]), None)
    months = (kind.fix_within_months if kind else None) or 3
    status = effective_status(title, today)
    values: dict[Any, Any] = {}
    fix_due: date | None = None
    if not passed and status == "named":
        fix_due = add_months(today, months)
        values = {ProgrammeTitle.status: "fix_required", ProgrammeTitle.fix_due_on: fix_due}
    elif not passed and status == "fix_required":
        values = {ProgrammeTitle.status: "revoked", ProgrammeTitle.revoked_on: today}
    elif passed and status == "fix_required":
        values = {ProgrammeTitle.status: "named", ProgrammeTitle.fix_due_on: None}
    async with write_tx():
        await TitleRecheck.update(
            {
                TitleRecheck.outcome: "passed" if passed else "failed",
                TitleRecheck.decided_by: decided_by,
                TitleRecheck.reason: reason,
                TitleRecheck.fix_due_on: fix_due,
                TitleRecheck.decided_at: datetime.now(UTC),
            }
        ).where((TitleRecheck.id == recheck_id) & (TitleRecheck.outcome == "open"))
        if values:
            await ProgrammeTitle.update(values).where(ProgrammeTitle.id == title["id"])
        await record(
            user_id=str(user.id),
            action="title.recheck_decide",
            entity=f"facility/{title['facility']}",
            details={
                "title": str(title["id"]),
                "recheck": str(recheck_id),
                "outcome": "passed" if passed else "failed",
                "decidedBy": decided_by,
                "status": values.get(ProgrammeTitle.status, status),
                **({"fixDueOn": fix_due.isoformat()} if fix_due else {}),
            },
        )
    return await _title_out(title["id"], today)


# ------------------------------------------------------------------------------------------------- conclusion


async def points_summary(*, user: AuthUser, inspection_id: UUID) -> PointsSummaryOut:
    """The veto items and the indicator floors of a points-scored inspection (its conclusion computed now)."""
    view = await compute_conclusion(user=user, inspection_id=inspection_id)
    conclusion: Conclusion = view.conclusion
    if conclusion.score is None or conclusion.score.mode != "points":
        raise Conflict("the inspection's standard is not scored in points", code="not_points_scored")
    standard = await get_standard(standard_id=view.standard_id)
    articles = indicator_articles(standard)
    own = await own_targets(view.facility_id, view.round_id, standard.id)
    floors = []
    for result in conclusion.score.indicators:
        article = articles[result.number]
        assert article.indicator is not None
        target = own.get(result.number)
        national = article.indicator.value
        met_national = (
            result.measured >= national - 1e-9 if result.op == ">=" else result.measured <= national + 1e-9
        )
        floors.append(
            FloorOut(
                article=result.number,
                title=result.title,
                op=result.op,
                measured=result.measured,
                national=article.indicator.value,
                floor=lowest_own_target(article),
                own_target=target,
                met_national=met_national,
                scored_against=result.target_source,
                met_own=(
                    None
                    if target is None
                    else (result.measured >= target if result.op == ">=" else result.measured <= target)
                ),
                points=result.points,
                max_points=result.max_points,
                mandatory=article.indicator.mandatory,
            )
        )
    return PointsSummaryOut(
        inspection_id=inspection_id,
        standard_id=standard.id,
        status=conclusion.status,
        tier=conclusion.tier,
        tier_label=conclusion.tier_label,
        points=conclusion.score.points,
        max_points=conclusion.score.max_points,
        reasons=list(conclusion.reasons),
        vetoes=[VetoOut(id=v.id, text=v.text, outcome=v.outcome) for v in conclusion.score.vetoes],
        floors=floors,
    )
