"""Rounds: who sees which, admin creates and edits them, and which facilities a round covers.

Who may do what (checked by the controllers' guards and again here): admin creates and edits; everyone signed
in reads the rounds that concern them (admin: all; office: rounds of its region, above it or below it; clinic:
rounds covering its facility; inspector: rounds of the inspections it is assigned to).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from backend.audit.services import changed_fields, record
from backend.db import write_tx
from backend.errors import Conflict, Forbidden, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.hooks import Hooks
from backend.inspections.schemas import CreateRoundRequest, RoundOut, UpdateRoundRequest
from backend.inspections.scope import visible_inspection_ids
from backend.inspections.tables import Inspection, Round
from backend.registry.scope import region_subtree
from backend.registry.tables import Facility, Region


async def _ancestors(region_id: UUID) -> list[UUID]:
    """The region and its parents up to the province."""
    parents = {row["id"]: row["parent"] for row in await Region.select(Region.id, Region.parent)}
    chain: list[UUID] = []
    current: UUID | None = region_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


async def _facility_region(facility_id: UUID) -> UUID:
    row = await Facility.select(Facility.region).where(Facility.id == facility_id).first()
    if row is None:
        raise NotFound(f"facility {facility_id} does not exist", code="facility_not_found")
    region: UUID = row["region"]
    return region


def _round_out(row: dict[str, Any]) -> RoundOut:
    return RoundOut(
        id=row["id"],
        name=row["name"],
        year=row["year"],
        region_id=row["region"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        created_at=row["created_at"],
    )


async def _visible_round_filter(user: AuthUser) -> tuple[set[UUID] | None, set[UUID] | None]:
    """(region ids a visible round may have (None = any), explicit round ids (None = no restriction))."""
    if user.role == "admin":
        return None, None
    if user.role == "office":
        if user.region_id is None:
            return set(), set()
        return set(await _ancestors(user.region_id)) | await region_subtree(user.region_id), None
    if user.role == "clinic":
        if user.facility_id is None:
            return set(), set()
        return set(await _ancestors(await _facility_region(user.facility_id))), None
    assigned = await visible_inspection_ids(user) or set()
    if not assigned:
        return set(), set()
    rows = await Inspection.select(Inspection.round).where(Inspection.id.is_in(list(assigned)))
    return None, {row["round"] for row in rows}


def _round_in(filters: tuple[set[UUID] | None, set[UUID] | None], row: dict[str, Any]) -> bool:
    regions, ids = filters
    if ids is not None and row["id"] not in ids:
        return False
    # A round without a region is programme-wide: it concerns everyone with any scope.
    return regions is None or row["region"] is None or row["region"] in regions


async def round_visible(user: AuthUser, row: dict[str, Any]) -> bool:
    return _round_in(await _visible_round_filter(user), row)


async def list_rounds(*, user: AuthUser, year: int | None = None) -> list[RoundOut]:
    query = Round.select().order_by(Round.year, ascending=False).order_by(Round.name)
    if year is not None:
        query = query.where(Round.year == year)
    filters = await _visible_round_filter(user)
    return [_round_out(row) for row in await query if _round_in(filters, row)]


async def round_by_id(round_id: UUID) -> dict[str, Any]:
    row = await Round.select().where(Round.id == round_id).first()
    if row is None:
        raise NotFound(f"round {round_id} does not exist", code="round_not_found")
    return row


async def get_round(*, user: AuthUser, round_id: UUID) -> RoundOut:
    row = await round_by_id(round_id)
    if not await round_visible(user, row):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    return _round_out(row)


def _check_dates(starts_on: Any, ends_on: Any) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise RuleRefused("endsOn is before startsOn", code="bad_dates")


async def create_round(*, user: AuthUser, data: CreateRoundRequest) -> RoundOut:
    ensure_role(user, "admin")
    if data.region_id is not None and not await Region.exists().where(Region.id == data.region_id):
        raise NotFound(f"region {data.region_id} does not exist", code="region_not_found")
    _check_dates(data.starts_on, data.ends_on)
    async with write_tx():
        new = Round(
            name=data.name.strip(),
            year=data.year,
            region=data.region_id,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
        )
        await new.save()
        await record(
            user_id=str(user.id),
            action="round.create",
            entity=f"round/{new.id}",
            details={"name": new.name, "year": data.year},
        )
    return _round_out(await round_by_id(new.id))


async def update_round(*, user: AuthUser, round_id: UUID, data: UpdateRoundRequest, hooks: Hooks) -> RoundOut:
    ensure_role(user, "admin")
    row = await round_by_id(round_id)
    starts_on = data.starts_on if data.starts_on is not None else row["starts_on"]
    ends_on = data.ends_on if data.ends_on is not None else row["ends_on"]
    _check_dates(starts_on, ends_on)
    values: dict[Any, Any] = {}
    if data.name is not None:
        values[Round.name] = data.name.strip()
    if data.starts_on is not None:
        values[Round.starts_on] = data.starts_on
    if data.ends_on is not None:
        values[Round.ends_on] = data.ends_on
    if values:
        async with write_tx():
            await Round.update(values).where(Round.id == round_id)
            await record(
                user_id=str(user.id),
                action="round.update",
                entity=f"round/{round_id}",
                details={"fields": changed_fields(data)},
            )
    if (starts_on, ends_on) != (row["starts_on"], row["ends_on"]):
        await hooks.round_dates_changed(round_id)  # outside_period depends on the dates
    return _round_out(await round_by_id(round_id))


async def ensure_round_covers(round_row: dict[str, Any], facility_id: UUID) -> None:
    if round_row["region"] is None:
        return
    if await _facility_region(facility_id) not in await region_subtree(round_row["region"]):
        raise Conflict(
            f"round {round_row['name']} does not cover that facility's region", code="round_out_of_region"
        )
