"""Facility coordinates for many facilities at once: a CSV import, all rows or none.

The CSV (UTF-8, a BOM is fine) has a header naming ``licenceNumber`` (or ``facilityId``), ``latitude`` and
``longitude``; other columns are ignored (a spreadsheet export may carry the name along). Both coordinates
empty clears a facility's coordinates. Every row is checked before anything is written; any bad row makes the
whole import a 422 ``bad_coordinates`` whose ``problems`` name each bad row (line number as in the file) and
what is wrong, and nothing changes. After the import the evidence flags of the changed facilities' photos are
recomputed (far_from_facility depends on the coordinates).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any
from uuid import UUID

from backend.audit.services import record
from backend.db import write_tx
from backend.errors import BadRequest, RuleRefused
from backend.guards import AuthUser, ensure_role
from backend.hooks import Hooks
from backend.registry.schemas import CoordinatesImported
from backend.registry.tables import Facility

MAX_ROWS = 20_000  # a province's facilities, with room to spare
_KEYS = ("licenceNumber", "facilityId")


def _number(text: str, low: float, high: float, name: str) -> tuple[float | None, str | None]:
    try:
        value = float(text)
    except ValueError:
        return None, f"{name} {text!r} is not a number"
    if not math.isfinite(value) or not low <= value <= high:
        return None, f"{name} {text} is outside {low:g}..{high:g}"
    return value, None


def parse_rows(
    text: str,
) -> tuple[str, list[tuple[int, str, float | None, float | None]], list[dict[str, Any]]]:
    """(key column, [(line, key, latitude, longitude)], problems). Pure: no I/O."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    key = next((k for k in _KEYS if k in header), None)
    missing = [name for name in ("latitude", "longitude") if name not in header]
    if key is None or missing:
        need = ", ".join((["licenceNumber or facilityId"] if key is None else []) + missing)
        raise BadRequest(f"the CSV header must name {need}", code="bad_coordinates_header")
    rows: list[tuple[int, str, float | None, float | None]] = []
    problems: list[dict[str, Any]] = []
    for record_ in reader:
        line = reader.line_num
        if len(rows) + len(problems) >= MAX_ROWS:
            raise BadRequest(f"at most {MAX_ROWS} rows per import", code="too_many_rows")
        ident = (record_.get(key) or "").strip()
        lat_text = (record_.get("latitude") or "").strip()
        lon_text = (record_.get("longitude") or "").strip()
        if not ident and not lat_text and not lon_text:
            continue  # blank line
        wrong: list[str] = []
        if not ident:
            wrong.append(f"{key} is empty")
        latitude = longitude = None
        if bool(lat_text) != bool(lon_text):
            wrong.append("latitude and longitude go together (both, or both empty to clear)")
        elif lat_text:
            latitude, err = _number(lat_text, -90, 90, "latitude")
            wrong += [err] if err else []
            longitude, err = _number(lon_text, -180, 180, "longitude")
            wrong += [err] if err else []
        if wrong:
            problems.append({"line": line, "message": "; ".join(wrong)})
        else:
            rows.append((line, ident, latitude, longitude))
    return key, rows, problems


async def import_coordinates(*, user: AuthUser, text: str, hooks: Hooks) -> CoordinatesImported:
    ensure_role(user, "admin")
    key, rows, problems = parse_rows(text)
    column = Facility.licence_number if key == "licenceNumber" else Facility.id
    idents: list[Any] = []
    for line, ident, _, _ in rows:
        if key == "facilityId":
            try:
                idents.append(UUID(ident))
            except ValueError:
                problems.append({"line": line, "message": f"facilityId {ident!r} is not a UUID"})
        else:
            idents.append(ident)
    field = "licence_number" if key == "licenceNumber" else "id"
    selected = Facility.select(Facility.id, Facility.licence_number, Facility.latitude, Facility.longitude)
    found = {str(row[field]): row for row in await selected.where(column.is_in(idents))} if idents else {}
    seen: dict[str, int] = {}
    changes: list[tuple[UUID, float | None, float | None]] = []
    unchanged = 0
    for line, ident, latitude, longitude in rows:
        name = ident if key == "licenceNumber" or not _is_uuid(ident) else str(UUID(ident))
        facility = found.get(name)
        if name in seen:
            problems.append({"line": line, "message": f"{key} {ident} is also on line {seen[name]}"})
            continue
        seen[name] = line
        if facility is None:
            if key == "licenceNumber" or _is_uuid(ident):
                problems.append({"line": line, "message": f"no facility with {key} {ident}"})
            continue
        if (facility["latitude"], facility["longitude"]) == (latitude, longitude):
            unchanged += 1
            continue
        changes.append((facility["id"], latitude, longitude))
    if problems:
        problems.sort(key=lambda p: int(p["line"]))
        raise RuleRefused(
            f"{len(problems)} row(s) of the CSV are wrong; nothing was imported",
            code="bad_coordinates",
            problems=problems,
        )
    if changes:
        async with write_tx():
            for facility_id, latitude, longitude in changes:
                await Facility.update({Facility.latitude: latitude, Facility.longitude: longitude}).where(
                    Facility.id == facility_id
                )
                await record(
                    user_id=str(user.id),
                    action="facility.coordinates",
                    entity=f"facility/{facility_id}",
                    details={"latitude": latitude, "longitude": longitude, "source": "csv"},
                )
    recomputed = 0
    for facility_id, _, _ in changes:
        recomputed += await hooks.facility_moved(facility_id)
    return CoordinatesImported(updated=len(changes), unchanged=unchanged, flags_recomputed=recomputed)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
