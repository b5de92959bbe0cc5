"""The one filling of ``backend/hooks.py: Hooks``: what the lower areas need from the areas above them. The app
factory puts it in ``app.state.hooks``; the demo loader, which drives the services without an app, uses it too."""

from __future__ import annotations

from backend.evidence.services import refresh_for_facility, refresh_for_round
from backend.hooks import Hooks
from backend.inspections.scope import ensure_facility_visible, visible_facility_ids
from backend.programme.calendar import ensure_application_window
from backend.programme.fixes import fixes_at_submit
from backend.programme.returns import inspection_opinions, record_opinion
from backend.programme.rules import ensure_may_apply, ensure_stage_open, fitting_standard


def wired_hooks() -> Hooks:
    return Hooks(
        facility_moved=refresh_for_facility,
        round_dates_changed=refresh_for_round,
        visible_facility_ids=visible_facility_ids,
        ensure_facility_visible=ensure_facility_visible,
        fitting_standard=fitting_standard,
        ensure_stage_open=ensure_stage_open,
        ensure_may_apply=ensure_may_apply,
        ensure_application_window=ensure_application_window,
        record_opinion=record_opinion,
        inspection_opinions=inspection_opinions,
        inspections_submitted=fixes_at_submit,
    )
