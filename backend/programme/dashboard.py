"""The office's view of a round: the dashboard and the queue of open conflicts, over the caller's region.

Who may see it (guards check the role; these functions check the scope again): admin (everything) and an
office (the facilities of its region).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any
from uuid import UUID

import msgspec

from backend.accounts.tables import User
from backend.db import as_utc
from backend.errors import Forbidden, NotFound
from backend.guards import AuthUser, ensure_role
from backend.inspections.rounds import round_by_id, round_visible
from backend.inspections.schemas import STAGE_ORDER
from backend.inspections.scope import visible_facility_ids
from backend.inspections.tables import Application, Inspection, InspectionMember
from backend.programme.analysis import region_chains
from backend.programme.schemas import (
    ConflictGroup,
    CountyTiers,
    DashboardOut,
    DeviceOut,
    QueuedConflict,
    QueuedNote,
    QueuedPhoto,
)
from backend.review.tables import ConfirmedConclusion
from backend.standards.services import get_standard
from backend.standards.validation import walk_articles
from media.tables import Blob
from sync.tables import NoteEntry, Photo, SyncClient, SyncConflict


async def _scope(user: AuthUser, round_id: UUID) -> set[UUID] | None:
    ensure_role(user, "admin", "office")
    if not await round_visible(user, await round_by_id(round_id)):
        raise Forbidden("that round is outside your scope", code="out_of_scope")
    return await visible_facility_ids(user)


async def _inspections(round_id: UUID, facilities: set[UUID] | None) -> list[dict[str, Any]]:
    query = Inspection.select(
        Inspection.id,
        Inspection.facility,
        Inspection.facility.name.as_alias("facility_name"),
        Inspection.facility.region.as_alias("county"),
        Inspection.stage,
        Inspection.status,
        Inspection.standard_version_id,
    ).where(Inspection.round == round_id)
    if facilities is not None:
        if not facilities:
            return []
        query = query.where(Inspection.facility.is_in(list(facilities)))
    return list(await query)


async def dashboard(*, user: AuthUser, round_id: UUID) -> DashboardOut:
    facilities = await _scope(user, round_id)
    inspections = await _inspections(round_id, facilities)
    ids = [r["id"] for r in inspections]
    by_stage: dict[str, Counter[str]] = defaultdict(Counter)
    for r in inspections:
        by_stage[r["stage"]][r["status"]] += 1

    app_query = Application.select(Application.facility, Application.tier, Application.status).where(
        Application.round == round_id
    )
    applications: dict[str, Counter[str]] = defaultdict(Counter)
    for a in await app_query:
        if facilities is None or a["facility"] in facilities:
            applications[a["tier"]][a["status"]] += 1

    expected = arrived = conflicts = 0
    if ids:
        photos = await Photo.select(Photo.sha256).where(
            Photo.inspection_id.is_in(ids) & (Photo.deleted == False)  # noqa: E712 - a Piccolo column comparison
        )
        expected = len(photos)
        hashes = list({p["sha256"] for p in photos})
        present = (
            {b["sha256"] for b in await Blob.select(Blob.sha256).where(Blob.sha256.is_in(hashes))}
            if hashes
            else set()
        )
        arrived = sum(1 for p in photos if p["sha256"] in present)
        conflicts = await SyncConflict.count().where(
            SyncConflict.inspection_id.is_in(ids) & (SyncConflict.status == "open")
        )

    # each facility's latest sign-off at its furthest stage, by county
    _, names = await region_chains()
    county_of = {r["facility"]: r["county"] for r in inspections}
    latest: dict[UUID, dict[str, Any]] = {}
    conclusion_query = ConfirmedConclusion.select(
        ConfirmedConclusion.facility,
        ConfirmedConclusion.stage,
        ConfirmedConclusion.status,
        ConfirmedConclusion.tier,
        ConfirmedConclusion.confirmed_at,
    ).where(ConfirmedConclusion.round == round_id)
    for c in await conclusion_query:
        if c["facility"] not in county_of:
            continue
        best = latest.get(c["facility"])
        key = (STAGE_ORDER.get(c["stage"], 0), as_utc(c["confirmed_at"]))
        if best is None or key > (STAGE_ORDER.get(best["stage"], 0), as_utc(best["confirmed_at"])):
            latest[c["facility"]] = c
    counties: dict[UUID, Counter[str]] = defaultdict(Counter)
    for facility, c in latest.items():
        counties[county_of[facility]][c["tier"] or c["status"]] += 1

    members = (
        {
            m["user"]
            for m in await InspectionMember.select(InspectionMember.user).where(
                InspectionMember.inspection.is_in(ids)
            )
        }
        if ids
        else set()
    )
    clinics = {
        u["id"]
        for u in await User.select(User.id, User.facility).where(User.role == "clinic")
        if facilities is None or u["facility"] in facilities
    }
    people = members | clinics
    devices = []
    if people:
        usernames = {
            u["id"]: u["username"]
            for u in await User.select(User.id, User.username).where(User.id.is_in(list(people)))
        }
        rows = (
            await SyncClient.select(
                SyncClient.client_id,
                SyncClient.user_id,
                SyncClient.last_mutation_id,
                SyncClient.updated_at,
                SyncClient.app_version,
                SyncClient.queued_mutations,
                SyncClient.queued_photos,
                SyncClient.queued_bytes,
                SyncClient.state_at,
                SyncClient.device_name,
            )
            .where(SyncClient.user_id.is_in(list(people)))
            .order_by(SyncClient.updated_at, ascending=False)
        )
        # photos a device reported still to send that have arrived since (an upload needs no push)
        since_report = await _arrived_since(rows)
        for d in rows:
            arrived_count, arrived_bytes = since_report[d["client_id"]]
            devices.append(
                DeviceOut(
                    client_id=d["client_id"],
                    user_id=d["user_id"],
                    username=usernames.get(d["user_id"], ""),
                    last_mutation_id=int(d["last_mutation_id"]),
                    last_sync_at=as_utc(d["updated_at"]),
                    app_version=d["app_version"],
                    queued_mutations=d["queued_mutations"],
                    queued_photos=None
                    if d["queued_photos"] is None
                    else max(0, d["queued_photos"] - arrived_count),
                    queued_bytes=None
                    if d["queued_bytes"] is None
                    else max(0, d["queued_bytes"] - arrived_bytes),
                    device_name=d["device_name"],
                )
            )
    return DashboardOut(
        round_id=round_id,
        facilities=len({r["facility"] for r in inspections}),
        inspections={
            stage: dict(c) for stage, c in sorted(by_stage.items(), key=lambda kv: STAGE_ORDER.get(kv[0], 9))
        },
        applications={tier: dict(c) for tier, c in sorted(applications.items())},
        photos_expected=expected,
        photos_to_arrive=expected - arrived,
        open_conflicts=conflicts,
        tiers_by_county=[
            CountyTiers(county_id=county, county_name=names.get(county, ""), tiers=dict(c))
            for county, c in sorted(counties.items(), key=lambda kv: names.get(kv[0], ""))
        ],
        devices=devices,
    )


async def conflict_queue(*, user: AuthUser, round_id: UUID) -> list[ConflictGroup]:
    """Open conflicts of the round's inspections in scope, by inspection and top-level section."""
    facilities = await _scope(user, round_id)
    inspections = {r["id"]: r for r in await _inspections(round_id, facilities)}
    if not inspections:
        return []
    rows = (
        await SyncConflict.select(
            SyncConflict.id,
            SyncConflict.inspection_id,
            SyncConflict.item_code,
            SyncConflict.field,
            SyncConflict.candidates,
            SyncConflict.version,
            SyncConflict.created_at,
        )
        .where(SyncConflict.inspection_id.is_in(list(inspections)) & (SyncConflict.status == "open"))
        .order_by(SyncConflict.created_at)
    )
    context = await _conflict_context(rows)
    sections: dict[str, dict[str, tuple[str, str, str]]] = {}
    groups: dict[tuple[UUID, str], ConflictGroup] = {}
    for c in rows:
        inspection = inspections[c["inspection_id"]]
        sid = inspection["standard_version_id"]
        if sid not in sections:
            try:
                standard = await get_standard(standard_id=sid)
                sections[sid] = {
                    a.number: (s[0].code, s[0].title, a.title) for _, a, s in walk_articles(standard)
                }
                sections[sid].update(
                    {p.id: ("prerequisites", "前置条件", p.text) for p in standard.prerequisites}
                )
            except NotFound:
                sections[sid] = {}
        article = c["item_code"].rsplit(":", 1)[-1]  # weighted standards: "<rater>:<article>"
        code, title, article_title = sections[sid].get(article, ("other", "", ""))
        key = (c["inspection_id"], code)
        if key not in groups:
            groups[key] = ConflictGroup(
                inspection_id=c["inspection_id"],
                facility_id=inspection["facility"],
                facility_name=inspection["facility_name"],
                stage=inspection["stage"],
                section=code,
                section_title=title,
                conflicts=[],
            )
        where = (c["inspection_id"], article)
        groups[key].conflicts.append(
            QueuedConflict(
                id=c["id"],
                item_code=c["item_code"],
                field=c["field"],
                version=int(c["version"]),
                candidates=[
                    {
                        **cand,
                        "userName": context.names.get(str(cand.get("userId")), ""),
                        "deviceName": context.devices.get(str(cand.get("clientId")), ""),
                    }
                    for cand in msgspec.json.decode(c["candidates"])
                ],
                created_at=as_utc(c["created_at"]),
                article_title=article_title,
                notes=context.notes.get(where, []),
                photos=context.photos.get(where, []),
            )
        )
    return list(groups.values())


class _ConflictContext(msgspec.Struct):
    names: dict[str, str]
    devices: dict[str, str]
    notes: dict[tuple[UUID, str], list[QueuedNote]]
    photos: dict[tuple[UUID, str], list[QueuedPhoto]]


async def _conflict_context(rows: list[dict[str, Any]]) -> _ConflictContext:
    """Who wrote each candidate, and the notes and photos of the conflicted articles (one query each)."""
    inspection_ids = sorted({r["inspection_id"] for r in rows})
    notes_rows = (
        await NoteEntry.select(
            NoteEntry.inspection_id, NoteEntry.item_code, NoteEntry.text, NoteEntry.author_id
        )
        .where(NoteEntry.inspection_id.is_in(inspection_ids) & (NoteEntry.deleted == False))  # noqa: E712
        .order_by(NoteEntry.created_at)
        if inspection_ids
        else []
    )
    photo_rows = (
        await Photo.select(
            Photo.id, Photo.inspection_id, Photo.item_code, Photo.caption, Photo.created_by, Photo.sha256
        )
        .where(Photo.inspection_id.is_in(inspection_ids) & (Photo.deleted == False))  # noqa: E712
        .order_by(Photo.created_at)
        if inspection_ids
        else []
    )
    user_ids = {str(cand.get("userId")) for r in rows for cand in msgspec.json.decode(r["candidates"])}
    user_ids |= {str(n["author_id"]) for n in notes_rows} | {str(p["created_by"]) for p in photo_rows}
    users = (
        await User.select(User.id, User.username, User.display_name).where(
            User.id.is_in([UUID(u) for u in user_ids if _is_uuid(u)])
        )
        if any(_is_uuid(u) for u in user_ids)
        else []
    )
    names = {str(u["id"]): u["display_name"] or u["username"] for u in users}
    client_ids = sorted(
        {str(c["clientId"]) for r in rows for c in msgspec.json.decode(r["candidates"]) if c.get("clientId")}
    )
    devices = {
        d["client_id"]: d["device_name"] or ""
        for d in (
            await SyncClient.select(SyncClient.client_id, SyncClient.device_name).where(
                SyncClient.client_id.is_in(client_ids)
            )
            if client_ids
            else []
        )
    }
    derived = {
        b["sha256"]
        for b in await Blob.select(Blob.sha256).where(
            Blob.sha256.is_in(sorted({p["sha256"] for p in photo_rows}) or [""])
            & (Blob.state == "stored")
            & (Blob.derived == True)  # noqa: E712
        )
    }
    notes: dict[tuple[UUID, str], list[QueuedNote]] = defaultdict(list)
    for n in notes_rows:
        notes[(n["inspection_id"], n["item_code"])].append(
            QueuedNote(text=n["text"], author_name=names.get(str(n["author_id"]), ""))
        )
    photos: dict[tuple[UUID, str], list[QueuedPhoto]] = defaultdict(list)
    for p in photo_rows:
        photos[(p["inspection_id"], p["item_code"])].append(
            QueuedPhoto(
                photo_id=p["id"],
                caption=p["caption"],
                by_name=names.get(str(p["created_by"]), ""),
                thumb_ready=p["sha256"] in derived,
            )
        )
    return _ConflictContext(names=names, devices=devices, notes=dict(notes), photos=dict(photos))


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


async def _arrived_since(clients: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per device: how many of its photos (and their bytes) reached the server after its last report."""
    out: dict[str, tuple[int, int]] = {c["client_id"]: (0, 0) for c in clients}
    reported = {c["client_id"]: as_utc(c["state_at"]) for c in clients if c["state_at"] is not None}
    if not reported:
        return out
    photos = await Photo.select(Photo.client_id, Photo.sha256, Photo.size).where(
        Photo.client_id.is_in(sorted(reported)) & (Photo.deleted == False)  # noqa: E712
    )
    if not photos:
        return out
    blobs = {
        b["sha256"]: as_utc(b["created_at"])
        for b in await Blob.select(Blob.sha256, Blob.created_at).where(
            Blob.sha256.is_in(sorted({p["sha256"] for p in photos})) & (Blob.state != "rejected")
        )
    }
    for p in photos:
        arrived = blobs.get(p["sha256"])
        if arrived is not None and arrived > reported[p["client_id"]]:
            count, size = out[p["client_id"]]
            out[p["client_id"]] = (count + 1, size + int(p["size"]))
    return out
