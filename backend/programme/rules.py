"""The programme's rules at the edges, read from the standard's programme settings (rules as data).

- an inspection's standard exists, is published and fits the facility's kind;
- an application needs the facility's self-assessment at that round submitted and run ``selfAssessmentMinMonths``,
  a tier the facility can be eligible for, and ``reapplyMinIntervalMonths`` after a return;
- stage order: a city or province review opens for a facility only once every earlier stage it had to pass
  (county always; city when its tier is reviewed in full there or it was drawn in the city sample) has a
  signed-off conclusion, and only if the facility is selected at that stage (tier reviewed in full, or drawn).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from uuid import UUID

from backend.db import as_utc
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser
from backend.inspections.schemas import REVIEW_STAGES
from backend.inspections.services import self_assessment
from backend.inspections.tables import Application, Inspection, Round
from backend.programme.kinds import kind_of, report_due_on, subject_fits
from backend.programme.tables import ReviewSample
from backend.registry.tables import Facility, Region
from backend.review.flow import carried_tier
from backend.review.tables import ConfirmedConclusion
from backend.standards.schemas import FacilityFigures, Standard
from backend.standards.services import get_standard
from backend.standards.tables import StandardVersion
from backend.standards.tiers import eligibility

STAGES = REVIEW_STAGES
OPEN_APPLICATION = ("applied", "accepted")
# the registry's facility kinds and the names standards use for them (村卫生室 and 社区卫生服务站 may take part
# under the standard of the centre above them)
KIND_NAMES: dict[str, tuple[str, ...]] = {
    "township_centre": ("乡镇卫生院",),
    "community_centre": ("社区卫生服务中心",),
    "village_clinic": ("村卫生室", "乡镇卫生院"),
    "community_station": ("社区卫生服务站", "社区卫生服务中心"),
    # subjects of the other programme kinds (kinds.py): a county's programme, a school's canteen and shop
    "county_programme": ("县（市、区）",),
    "school": ("学校食堂", "学校小卖部"),
}
CHINA = timezone(timedelta(hours=8))  # plans set dates in China Standard Time
Selection = Literal["all", "drawn", "not_drawn", "not_drawn_yet", "not_reviewed"]


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


async def fitting_standard(standard_id: str, facility_id: UUID) -> Standard:
    """The published standard ``standard_id``, if it fits the facility's kind; 422 otherwise."""
    row = (
        await StandardVersion.select(StandardVersion.status).where(StandardVersion.id == standard_id).first()
    )
    if row is None or row["status"] != "published":
        raise RuleRefused(
            f"standard {standard_id} is not a published standard of this server", code="unknown_standard"
        )
    standard = await get_standard(standard_id=standard_id)
    facility = await Facility.select(Facility.name, Facility.kind).where(Facility.id == facility_id).first()
    if facility is None:
        raise NotFound(f"facility {facility_id} does not exist", code="facility_not_found")
    names = {facility["kind"], *KIND_NAMES.get(facility["kind"], ())}
    if not subject_fits(standard, facility["kind"]) or not names & set(standard.facility_kinds):
        raise RuleRefused(
            f"standard {standard_id} ({standard.name}) is for {'、'.join(standard.facility_kinds)}; "
            f"{facility['name']} is a {'/'.join(KIND_NAMES.get(facility['kind'], (facility['kind'],)))}",
            code="standard_does_not_fit",
        )
    return standard


async def ensure_may_apply(facility_id: UUID, round_id: UUID, tier: str, now: datetime | None = None) -> None:
    """An application needs a finished self-assessment (自评) at that round that has run the standard's
    minimum (``selfAssessmentMinMonths``), a tier of that standard the facility can be eligible for, and, after
    a return, the standard's re-apply interval (``reapplyMinIntervalMonths``) to have passed."""
    now = now or datetime.now(UTC)
    own = await self_assessment(
        facility_id,
        round_id,
        Inspection.created_at,
        Inspection.standard_version_id,
        Inspection.status,
        Inspection.facility.medical_staff_count.as_alias("staff"),
        Inspection.facility.service_population.as_alias("population"),
    )
    if own is None:
        raise Conflict(
            "the facility has no self-assessment (自评) at this round; it applies after self-assessing",
            code="no_self_assessment",
        )
    try:
        standard = await get_standard(standard_id=own["standard_version_id"])
    except NotFound:
        return  # nothing to read the rules from; the self-assessment's standard is checked where it is set
    await ensure_reported_in_time(standard, round_id, now)
    settings = standard.programme_settings
    returned = (
        await Application.select(Application.decided_at)
        .where((Application.facility == facility_id) & (Application.status == "returned"))
        .order_by(Application.decided_at, ascending=False)
        .first()
    )
    interval = settings.reapply_min_interval_months
    if returned and returned["decided_at"] is not None and interval:
        allowed_from = add_months(as_utc(returned["decided_at"]), interval)
        if now < allowed_from:
            raise Conflict(
                f"a returned facility may re-apply no sooner than {interval} months later: "
                f"from {allowed_from.date()}",
                code="reapply_too_soon",
                params={"allowedFrom": allowed_from.date().isoformat()},
                allowed_from=allowed_from.isoformat(),
            )
    if own["status"] not in ("submitted", "accepted"):
        raise Conflict(
            f"the self-assessment is {own['status']}: the facility applies once it has submitted it",
            code="self_assessment_not_submitted",
        )
    months = settings.self_assessment_min_months
    if months:
        started = as_utc(own["created_at"])
        allowed_from = add_months(started, months)
        if now < allowed_from:
            raise Conflict(
                f"the self-assessment started on {started.date()} must run at least {months} months before "
                f"applying: from {allowed_from.date()}",
                code="self_assessment_too_short",
                allowed_from=allowed_from.isoformat(),
            )
    tiers = {t.code: t for t in standard.determination.tiers}
    if tier not in tiers:
        raise Conflict(
            f"{standard.name} has no tier {tier} ({', '.join(tiers)})", code="tier_not_in_standard"
        )
    figures = FacilityFigures(
        medical_staff_count=own["staff"] or None, service_population=own["population"] or None
    )
    if eligibility(tiers[tier], figures)[0] is False:
        raise Conflict(
            f"the facility can never be eligible for {tiers[tier].label} ({tier}): its figures rule it out",
            code="tier_not_eligible",
        )


async def ensure_reported_in_time(standard: Standard, round_id: UUID, now: datetime | None = None) -> None:
    """A kind with a report date (MCH: "8月5日前向市卫生计生委报送自评结果") takes applications until that day
    (China Standard Time, the day of the plan) of the round's year."""
    kind = kind_of(standard)
    round_row = await Round.select(Round.year).where(Round.id == round_id).first()
    if kind is None or round_row is None:
        return
    due = report_due_on(kind, round_row["year"])
    today = (now or datetime.now(UTC)).astimezone(CHINA).date()
    if due is not None and today > due:
        raise Conflict(
            f"the self-evaluation was due at the city by {due.isoformat()}; it is {today.isoformat()}",
            code="report_overdue",
            due_on=due.isoformat(),
        )


async def ensure_office_level(user: AuthUser, stage: str, verb: str = "run") -> None:
    """An office acts on review stages up to its own level."""
    if user.role != "office" or stage not in STAGES:
        return
    region = await Region.select(Region.level).where(Region.id == user.region_id).first()
    level = region["level"] if region else "county"
    if level not in STAGES or STAGES.index(stage) > STAGES.index(level):
        raise Forbidden(f"a {level} office cannot {verb} the {stage} review", code="stage_above_scope")


async def open_application(facility_id: UUID, round_id: UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await Application.select()
        .where(
            (Application.facility == facility_id)
            & (Application.round == round_id)
            & Application.status.is_in(list(OPEN_APPLICATION))
        )
        .first()
    )
    return row


def sample_ratio(standard: Standard, stage: str, tier: str) -> float | None:
    """The share of a tier's applicants reviewed at a stage; None when the chain has no such stage."""
    for step in standard.programme_settings.review_chain:
        if step.level == stage:
            return step.sample_ratios.get(tier, 1.0)
    return None


async def selection(
    facility_id: UUID, round_id: UUID, stage: str, tier: str, standard: Standard
) -> tuple[Selection, float | None]:
    """Whether a facility is reviewed at a stage: all of its tier, drawn, not drawn, or not drawn yet."""
    ratio = sample_ratio(standard, stage, tier)
    if ratio is None:
        return "not_reviewed", None
    if stage == "county" or ratio >= 1.0:
        return "all", ratio
    samples = (
        await ReviewSample.select(ReviewSample.strata)
        .where((ReviewSample.round == round_id) & (ReviewSample.level == stage) & (ReviewSample.tier == tier))
        .output(load_json=True)
    )
    key = str(facility_id)
    for sample in samples:
        for stratum in sample["strata"]:
            if key in stratum["pool"]:
                return ("drawn" if key in stratum["drawn"] else "not_drawn"), ratio
    return "not_drawn_yet", ratio


async def concluded(facility_id: UUID, round_id: UUID, stage: str) -> bool:
    exists: bool = await ConfirmedConclusion.exists().where(
        (ConfirmedConclusion.facility == facility_id)
        & (ConfirmedConclusion.round == round_id)
        & (ConfirmedConclusion.stage == stage)
    )
    return exists


async def ensure_stage_open(*, facility_id: UUID, round_id: UUID, stage: str, standard: Standard) -> None:
    """Refuse a city or province review that the programme does not open yet for this facility (409)."""
    if stage not in ("city", "province"):
        return
    application = await open_application(facility_id, round_id)
    if application is None:
        return  # the caller refuses a review without an application
    flow = await carried_tier(round_id, facility_id)
    # on the list, a facility carries the tier its county found (review/flow.py), not the one applied for
    tier = flow.carried if flow is not None and flow.carried is not None else application["tier"]
    name_row = await Facility.select(Facility.name).where(Facility.id == facility_id).first()
    name = name_row["name"] if name_row else str(facility_id)
    for earlier in STAGES[: STAGES.index(stage)]:
        chosen, _ = await selection(facility_id, round_id, earlier, tier, standard)
        if chosen == "not_drawn_yet":
            raise Conflict(
                f"the {earlier} stage has not concluded: its sample of {tier}-tier applicants is not drawn yet",
                code="stage_order",
            )
        if chosen in ("all", "drawn") and not await concluded(facility_id, round_id, earlier):
            raise Conflict(
                f"the {earlier} review of {name} has not concluded (no signed-off conclusion); "
                f"the {stage} review opens after it",
                code="stage_order",
            )
    chosen, ratio = await selection(facility_id, round_id, stage, tier, standard)
    if chosen == "not_drawn_yet":
        raise Conflict(
            f"draw the {stage} sample of {tier}-tier applicants first ({ratio:.0%} are reviewed)",
            code="sample_not_drawn",
        )
    if chosen == "not_drawn":
        raise Conflict(
            f"{name} ({tier} tier) was not drawn in the {stage} sample; only drawn facilities are reviewed",
            code="not_in_sample",
        )
    if chosen == "not_reviewed":
        raise Conflict(f"the programme has no {stage} review", code="stage_not_in_programme")
