"""Expert profiles: an inspector user's title, specialties and the facilities it is tied to (recusal, 回避制度).
The office reads the pool to plan teams; only admin edits it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from backend.accounts.schemas import CreateExpertRequest, ExpertOut, UpdateExpertRequest
from backend.accounts.tables import ExpertProfile, User
from backend.audit.services import changed_fields, record
from backend.db import write_tx
from backend.errors import Conflict, NotFound, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.registry.tables import Facility
from backend.standards.titles import title_level


def _expert_out(row: dict[str, Any]) -> ExpertOut:
    return ExpertOut(
        id=row["id"],
        user_id=row["user"],
        username=row["user.username"],
        display_name=row["user.display_name"],
        active=row["user.active"],
        title=row["title"],
        title_level=title_level(row["title"]),
        specialties=list(_json(row["specialties"])),
        tied_facility_ids=[UUID(str(value)) for value in _json(row["tied_facility_ids"])],
    )


def _json(value: Any) -> list[Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return list(loaded or [])


def _expert_query() -> Any:
    return ExpertProfile.select(
        *ExpertProfile.all_columns(),
        ExpertProfile.user.username,
        ExpertProfile.user.display_name,
        ExpertProfile.user.active,
    )


async def list_experts(*, user: AuthUser) -> list[ExpertOut]:
    ensure_role(user, "admin", "office")
    rows = await _expert_query().order_by(ExpertProfile.user.username)
    return [_expert_out(row) for row in rows]


async def _expert_row(expert_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = await _expert_query().where(ExpertProfile.id == expert_id).first()
    if row is None:
        raise NotFound(f"expert profile {expert_id} does not exist", code="expert_not_found")
    return row


async def get_expert(*, user: AuthUser, expert_id: UUID) -> ExpertOut:
    ensure_role(user, "admin", "office")
    return _expert_out(await _expert_row(expert_id))


async def _ensure_facilities_exist(ids: list[UUID]) -> list[str]:
    unique = list(dict.fromkeys(ids))
    if unique:
        found = {row["id"] for row in await Facility.select(Facility.id).where(Facility.id.is_in(unique))}
        missing = [str(i) for i in unique if i not in found]
        if missing:
            raise NotFound(f"tied facility {', '.join(missing)} does not exist", code="facility_not_found")
    return [str(i) for i in unique]


async def create_expert(*, user: AuthUser, data: CreateExpertRequest) -> ExpertOut:
    ensure_role(user, "admin")
    target = await User.select(User.role, User.username).where(User.id == data.user_id).first()
    if target is None:
        raise NotFound(f"user {data.user_id} does not exist", code="user_not_found")
    if target["role"] != "inspector":
        raise RuleRefused(
            f"an expert profile belongs to an inspector user; {target['username']} is {target['role']}",
            code="not_an_inspector",
        )
    if await ExpertProfile.exists().where(ExpertProfile.user == data.user_id):
        raise Conflict(f"{target['username']} already has an expert profile", code="duplicate_expert")
    tied = await _ensure_facilities_exist(data.tied_facility_ids)
    async with write_tx():
        profile = ExpertProfile(
            user=data.user_id,
            title=data.title.strip(),
            specialties=list(dict.fromkeys(data.specialties)),
            tied_facility_ids=tied,
        )
        await profile.save()
        await record(
            user_id=str(user.id),
            action="expert.create",
            entity=f"expert/{profile.id}",
            details={"user": str(data.user_id), "tiedFacilityIds": tied},
        )
    return _expert_out(await _expert_row(profile.id))


async def update_expert(*, user: AuthUser, expert_id: UUID, data: UpdateExpertRequest) -> ExpertOut:
    ensure_role(user, "admin")
    await _expert_row(expert_id)
    values: dict[Any, Any] = {}
    if data.title is not None:
        values[ExpertProfile.title] = data.title.strip()
    if data.specialties is not None:
        values[ExpertProfile.specialties] = list(dict.fromkeys(data.specialties))
    details: dict[str, Any] = {"fields": changed_fields(data)}
    if data.tied_facility_ids is not None:
        tied = await _ensure_facilities_exist(data.tied_facility_ids)
        values[ExpertProfile.tied_facility_ids] = tied
        details["tiedFacilityIds"] = tied
    if values:
        async with write_tx():
            await ExpertProfile.update(values).where(ExpertProfile.id == expert_id)
            await record(
                user_id=str(user.id), action="expert.update", entity=f"expert/{expert_id}", details=details
            )
    return _expert_out(await _expert_row(expert_id))
