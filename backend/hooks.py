"""What an area needs from the areas above it, handed in by the app factory (``app.state.hooks``).

The area that owns a row does not import the areas that derive something from it or set rules over it (that
was an import cycle): evidence flags derive from facilities' coordinates and rounds' dates; which facilities
a caller sees depends on inspection teams; the programme's rules decide when an inspection or an application
may be opened. Controllers pass these functions to their services (``hooks=hooks_of(request)``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from backend.guards import AuthUser
from backend.standards.schemas import Standard

# takes the id of what changed, returns how many photos' flags changed
Refresh = Callable[[UUID], Awaitable[int]]


class StageCheck(Protocol):
    async def __call__(
        self, *, facility_id: UUID, round_id: UUID, stage: str, standard: Standard
    ) -> None: ...


class OpinionWriter(Protocol):
    async def __call__(
        self,
        *,
        facility: UUID,
        round: UUID,
        opinion: str,
        returned_by: UUID,
        application: UUID | None = None,
        inspection: UUID | None = None,
        stage: str | None = None,
    ) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class Hooks:
    # evidence (backend/evidence/services.py)
    facility_moved: Refresh  # a facility's coordinates changed (far_from_facility)
    round_dates_changed: Refresh  # a round's start or end changed (outside_period)
    # scope (backend/inspections/scope.py): an inspector sees the facilities of its teams' inspections
    visible_facility_ids: Callable[[AuthUser], Awaitable[set[UUID] | None]]
    ensure_facility_visible: Callable[[AuthUser, UUID], Awaitable[None]]
    # the programme's rules (backend/programme/rules.py, returns.py)
    fitting_standard: Callable[[str, UUID], Awaitable[Standard]]  # published and fits the facility's kind
    ensure_stage_open: StageCheck  # stage order and samples
    # (facility, round, tier) before applying: self-assessment finished, tier eligible, re-apply interval
    ensure_may_apply: Callable[[UUID, UUID, str], Awaitable[None]]
    # (facility, round): refuses an application after the round's window unless an office let it in late;
    # returns that override's id (backend/programme/calendar.py)
    ensure_application_window: Callable[[UUID, UUID], Awaitable[UUID | None]]
    record_opinion: OpinionWriter  # a return's written opinion (inside the caller's transaction)
    # the opinions of returned inspections, by inspection id, oldest first (sync's pull sends them)
    inspection_opinions: Callable[[list[UUID]], Awaitable[list[dict[str, Any]]]]
    # inspections a push just submitted, called inside that push's transaction: what the programme stores at a
    # submit (the fixes of a routine visit's failed critical items, backend/programme/fixes.py)
    inspections_submitted: Callable[[list[UUID]], Awaitable[None]]


def hooks_of(request: Any) -> Hooks:
    hooks: Hooks = request.app.state.hooks
    return hooks
