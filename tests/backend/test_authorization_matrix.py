"""Who may call what: every route of the app × every role, plus out-of-scope ids.

``MATRIX`` has one row per (method, route path as Litestar reports it). A route without a row fails
``test_every_route_has_a_matrix_row`` with the route named, so a new endpoint cannot ship without deciding who
may call it. To add a row: say which roles are allowed (``allow(...)`` or ``PUBLIC``), give the URL to call
(a string or ``lambda ctx, role: ...`` for an in-scope target of that role) and, for writes, a body. Allowed
roles must get a status in ``ok`` (default: 2xx); a status like 404 in ``ok`` is only for rows whose target
cannot exist in the test data; the check is then that the guard let the caller through. Other signed-in roles
must get 403 and anonymous callers 401, and a refused call writes nothing to the audit log.

Scope (which facility, region or inspection) is checked by ``SCOPE_CASES``: ids outside the caller's
region, facility or team are refused with 403 ``out_of_scope`` (or ``wrong_role`` / ``stage_above_scope``),
and lists only contain what the caller may see.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute

from backend.accounts.schemas import CreateUserRequest
from backend.accounts.services import auth_user_from_row, create_user
from backend.accounts.tables import ExpertProfile, User
from backend.api_docs import SCALAR_FILE
from backend.app import create_app
from backend.audit.tables import AuditLog
from backend.exports.schemas import ExportRequest
from backend.exports.services import start_export
from backend.guards import AuthUser
from backend.inspections.rounds import create_round
from backend.inspections.schemas import CreateRoundRequest
from backend.inspections.tables import Application
from backend.settings import Settings
from tests.backend.programme.support import finish_self_assessment
from tests.backend.review.test_conclusions import ARTICLES, open_conflict, put_answers
from tests.conftest import login

ROLES = ("admin", "office", "inspector", "clinic", "anonymous")
# The demo account that plays each role (see backend/demo.py). inspector1 is on the county review team.
ACCOUNTS = {"admin": "admin", "office": "office", "inspector": "inspector1", "clinic": "clinic1"}
SIGNED_IN = frozenset(ACCOUNTS)
PUBLIC = frozenset(ROLES)
OK = frozenset({200, 201, 204})
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def allow(*roles: str) -> frozenset[str]:
    assert set(roles) <= set(ROLES), roles
    return frozenset(roles)


@dataclass
class Ctx:
    """Ids of the demo data and of objects made for the matrix; ``seq`` keeps created names unique."""

    demo: dict[str, Any]
    round2: UUID
    round_other_city: UUID
    applications: dict[str, UUID]
    expert1: UUID
    inspector7: UUID
    conflict: UUID
    # an export job per role that may start one (the office's and admin's of the round, the clinic's report)
    exports: dict[str, UUID] = field(default_factory=dict)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # a round of the office's own city (its calendar is the office's to set)
    round_city: UUID | None = None

    def next(self) -> int:
        return next(self.seq)

    def facility(self, index: int) -> str:
        return str(self.demo["facilities"][index])


Path = str | Callable[[Ctx, str], str]
Body = Callable[[Ctx, str], Any] | None


@dataclass(frozen=True)
class Row:
    roles: frozenset[str]
    path: Path
    body: Body = None
    ok: frozenset[int] = OK
    # The call ends the caller's session (logout): use a token of its own.
    fresh_token: bool = False


def _own_inspection(ctx: Ctx, role: str) -> str:
    # In-scope target per role: the county review for its team and the office, the clinic's own self-assessment.
    if role == "clinic":
        return f"/api/inspections/{ctx.demo['self_inspections'][0]}"
    return f"/api/inspections/{ctx.demo['review_inspection']}"


def _team(ctx: Ctx, role: str) -> dict[str, Any]:
    members = [str(i) for i in ctx.demo["inspectors"][:5]]
    return {"members": members, "leadId": members[0]}


# Application targets per role at the demo round (all facilities of 甲市, the office's region).
_APPLY_FACILITY = {"admin": 5, "office": 4, "clinic": 0, "inspector": 3, "anonymous": 3}
# Inspection targets per role at round2 (self-assessments need no application).
_INSPECT_FACILITY = {"admin": 6, "office": 3, "clinic": 0, "inspector": 0, "anonymous": 0}


MATRIX: dict[tuple[str, str], Row] = {
    # public
    ("GET", "/health"): Row(PUBLIC, "/health"),
    # closed by its own token (FIELDCHECK_METRICS_TOKEN, none here), not by roles: a user's token gets 404
    ("GET", "/metrics"): Row(PUBLIC, "/metrics", ok=frozenset({404})),
    # the app's files are public (the data behind them is not)
    ("GET", "/"): Row(PUBLIC, "/"),
    ("GET", "/sw.js"): Row(PUBLIC, "/sw.js"),
    ("GET", "/manifest.webmanifest"): Row(PUBLIC, "/manifest.webmanifest"),
    ("GET", "/static/{path:path}"): Row(PUBLIC, "/static/app.js"),
    ("POST", "/api/auth/login"): Row(
        PUBLIC,
        "/api/auth/login",
        lambda ctx, role: {"username": ACCOUNTS.get(role, "office"), "password": "demo"},
    ),
    ("GET", "/schema"): Row(PUBLIC, "/schema"),
    ("GET", "/schema/openapi.json"): Row(PUBLIC, "/schema/openapi.json"),
    ("GET", "/schema/scalar"): Row(PUBLIC, "/schema/scalar"),
    ("GET", f"/schema/assets/{SCALAR_FILE}"): Row(PUBLIC, f"/schema/assets/{SCALAR_FILE}"),
    # An unknown docs page is a 404 for everyone, never a 401: the docs are public.
    ("GET", "/schema/{path:str}"): Row(PUBLIC, "/schema/no-such-page", ok=frozenset({404})),
    # session
    ("GET", "/api/me"): Row(SIGNED_IN, "/api/me"),
    ("POST", "/api/auth/logout"): Row(SIGNED_IN, "/api/auth/logout", fresh_token=True),
    # users
    ("GET", "/api/admin/users"): Row(allow("admin"), "/api/admin/users"),
    ("GET", "/api/admin/users/{user_id:uuid}"): Row(
        allow("admin"), lambda ctx, role: f"/api/admin/users/{ctx.demo['inspectors'][0]}"
    ),
    ("POST", "/api/admin/users"): Row(
        allow("admin"),
        "/api/admin/users",
        lambda ctx, role: {"username": f"matrix{ctx.next()}", "password": "secret12", "role": "inspector"},
    ),
    ("PATCH", "/api/admin/users/{user_id:uuid}"): Row(
        allow("admin"),
        lambda ctx, role: f"/api/admin/users/{ctx.demo['inspectors'][1]}",
        lambda ctx, role: {"displayName": "评审专家2"},
    ),
    # regions
    ("GET", "/api/regions"): Row(allow("admin", "office"), "/api/regions"),
    ("GET", "/api/regions/{region_id:uuid}"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/regions/{ctx.demo['cities'][0]}"
    ),
    ("POST", "/api/admin/regions"): Row(
        allow("admin"),
        "/api/admin/regions",
        lambda ctx, role: {"name": f"测试省{ctx.next()}", "level": "province", "code": f"T{ctx.next()}"},
    ),
    ("PATCH", "/api/admin/regions/{region_id:uuid}"): Row(
        allow("admin"),
        lambda ctx, role: f"/api/admin/regions/{ctx.demo['cities'][0]}",
        lambda ctx, role: {"name": "甲市"},
    ),
    # facilities
    ("GET", "/api/facilities"): Row(SIGNED_IN, "/api/facilities"),
    ("GET", "/api/facilities/{facility_id:uuid}"): Row(
        SIGNED_IN, lambda ctx, role: f"/api/facilities/{ctx.facility(0)}"
    ),
    ("POST", "/api/admin/facilities"): Row(
        allow("admin"),
        "/api/admin/facilities",
        lambda ctx, role: {
            "name": "测试镇卫生院",
            "kind": "township_centre",
            "licenceNumber": f"TEST{ctx.next():06d}",
            "licenceCategory": "C",
            "registeredFirstName": "测试镇卫生院",
            "regionId": str(ctx.demo["counties"][0]),
        },
    ),
    ("PATCH", "/api/admin/facilities/{facility_id:uuid}"): Row(
        allow("admin"),
        lambda ctx, role: f"/api/admin/facilities/{ctx.facility(0)}",
        lambda ctx, role: {"medicalStaffCount": 12},
    ),
    # the matrix sends JSON, which the CSV import refuses (400): the check is that the guard let admin through
    ("POST", "/api/admin/facilities/coordinates"): Row(
        allow("admin"),
        "/api/admin/facilities/coordinates",
        lambda ctx, role: "licenceNumber,latitude,longitude",
        ok=frozenset({400}),
    ),
    # evidence flags (the review office)
    ("GET", "/api/evidence/rounds/{round_id:uuid}/flags"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/evidence/rounds/{ctx.demo['round']}/flags"
    ),
    # no photo has a flag in the matrix's data: 404 shows the guard let the caller through
    ("PUT", "/api/evidence/photos/{photo_id:uuid}/flags/{code:str}/review"): Row(
        allow("admin", "office"),
        f"/api/evidence/photos/{UNKNOWN}/flags/near_duplicate/review",
        lambda ctx, role: {"status": "accepted", "reason": "the same shelf photo as the other clinic's"},
        ok=frozenset({404}),
    ),
    # expert pool
    ("GET", "/api/admin/experts"): Row(allow("admin", "office"), "/api/admin/experts"),
    ("GET", "/api/admin/experts/{expert_id:uuid}"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/admin/experts/{ctx.expert1}"
    ),
    ("POST", "/api/admin/experts"): Row(
        allow("admin"),
        "/api/admin/experts",
        lambda ctx, role: {"userId": str(ctx.inspector7), "title": "主治医师", "specialties": ["护理"]},
    ),
    ("PATCH", "/api/admin/experts/{expert_id:uuid}"): Row(
        allow("admin"),
        lambda ctx, role: f"/api/admin/experts/{ctx.expert1}",
        lambda ctx, role: {"title": "主任医师"},
    ),
    # who at a facility resolves its conflicts (a clinic reads its own; the office and admin designate)
    ("GET", "/api/conflict-resolvers"): Row(allow("admin", "office", "clinic"), "/api/conflict-resolvers"),
    ("PUT", "/api/conflict-resolvers/{facility_id:uuid}"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/conflict-resolvers/{ctx.facility(0)}",
        lambda ctx, role: {"userId": str(ctx.demo["clinic"])},
    ),
    # rounds
    ("GET", "/api/rounds"): Row(SIGNED_IN, "/api/rounds"),
    ("GET", "/api/rounds/{round_id:uuid}"): Row(
        SIGNED_IN, lambda ctx, role: f"/api/rounds/{ctx.demo['round']}"
    ),
    ("POST", "/api/admin/rounds"): Row(
        allow("admin"), "/api/admin/rounds", lambda ctx, role: {"name": f"测试轮次{ctx.next()}", "year": 2027}
    ),
    ("PATCH", "/api/admin/rounds/{round_id:uuid}"): Row(
        allow("admin"),
        lambda ctx, role: f"/api/admin/rounds/{ctx.demo['round']}",
        lambda ctx, role: {"startsOn": "2026-01-01", "endsOn": "2026-12-31"},
    ),
    # applications
    ("GET", "/api/applications"): Row(allow("admin", "office", "clinic"), "/api/applications"),
    ("POST", "/api/applications"): Row(
        allow("admin", "office", "clinic"),
        "/api/applications",
        lambda ctx, role: {
            "facilityId": ctx.facility(_APPLY_FACILITY[role]),
            "roundId": str(ctx.demo["round"]),
            "tier": "basic",
        },
    ),
    ("PATCH", "/api/applications/{application_id:uuid}"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/applications/{ctx.applications.get(role, ctx.applications['admin'])}",
        lambda ctx, role: {"status": "withdrawn"},
    ),
    # inspections
    ("GET", "/api/inspections"): Row(SIGNED_IN, "/api/inspections"),
    ("GET", "/api/assignments"): Row(SIGNED_IN, "/api/assignments"),
    ("GET", "/api/inspections/{inspection_id:uuid}"): Row(SIGNED_IN, _own_inspection),
    ("POST", "/api/admin/inspections"): Row(
        allow("admin", "office"),
        "/api/admin/inspections",
        lambda ctx, role: {
            "facilityId": ctx.facility(_INSPECT_FACILITY[role]),
            "roundId": str(ctx.round2),
            "stage": "self",
            "standardVersionId": "cn-thc-capacity-2018",
        },
    ),
    ("PATCH", "/api/admin/inspections/{inspection_id:uuid}"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/admin/inspections/{ctx.demo['review_inspection']}",
        lambda ctx, role: {},
    ),
    ("PUT", "/api/admin/inspections/{inspection_id:uuid}/team"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/admin/inspections/{ctx.demo['review_inspection']}/team",
        _team,
    ),
    # sync (owned by the sync engineer): an empty push and a first pull are valid for every signed-in role
    ("POST", "/api/sync/push"): Row(
        SIGNED_IN,
        "/api/sync/push",
        lambda ctx, role: {
            "protocolVersion": 1,
            "clientGroupId": f"g-{role}",
            "clientId": f"c-{role}-{ctx.next()}",
            "mutations": [],
        },
    ),
    ("POST", "/api/sync/pull"): Row(
        SIGNED_IN,
        "/api/sync/pull",
        lambda ctx, role: {"protocolVersion": 1, "clientGroupId": f"g-{role}", "cookie": None},
    ),
    # media (owned by the media engineer): an empty upload request and unknown uploads show the guard let the
    # caller through; the receipt is read for an in-scope inspection
    ("POST", "/api/uploads"): Row(SIGNED_IN, "/api/uploads", lambda ctx, role: {}, ok=frozenset({400})),
    ("HEAD", "/api/uploads/{upload_id:uuid}"): Row(SIGNED_IN, f"/api/uploads/{UNKNOWN}", ok=frozenset({404})),
    ("PATCH", "/api/uploads/{upload_id:uuid}"): Row(
        SIGNED_IN, f"/api/uploads/{UNKNOWN}", lambda ctx, role: {}, ok=frozenset({400})
    ),
    ("GET", "/api/inspections/{inspection_id:uuid}/receipt"): Row(
        SIGNED_IN, lambda ctx, role: _own_inspection(ctx, role) + "/receipt"
    ),
    ("GET", "/api/photos/{photo_id:uuid}/{variant:str}"): Row(
        SIGNED_IN, f"/api/photos/{UNKNOWN}/no-such-variant", ok=frozenset({404})
    ),
    # Public: the HMAC signature is the permission, so a bad one is refused for everyone, never with a 401.
    ("GET", "/api/media/signed/{key:path}"): Row(
        PUBLIC, "/api/media/signed/blobs/sha256/aa/bb/x?exp=0&sig=bad", ok=frozenset({403, 404})
    ),
    # standards (owned by the standards engineer; targets that do not exist in the test data show the guard
    # let the caller through: 404 for an unknown id, 400 for an empty import)
    ("GET", "/api/standards"): Row(SIGNED_IN, "/api/standards"),
    ("GET", "/api/standards/{standard_id:str}"): Row(
        SIGNED_IN, "/api/standards/no-such-standard", ok=frozenset({404})
    ),
    ("GET", "/api/standards/{standard_id:str}/checklist"): Row(
        SIGNED_IN, "/api/standards/no-such-standard/checklist", ok=frozenset({404})
    ),
    ("POST", "/api/admin/standards"): Row(
        allow("admin"), "/api/admin/standards", lambda ctx, role: {}, ok=frozenset({400, 422})
    ),
    ("POST", "/api/admin/standards/{standard_id:str}/publish"): Row(
        allow("admin"), "/api/admin/standards/no-such-standard/publish", ok=frozenset({404})
    ),
    # review: the computed conclusion for whoever reads the inspection (clinic: its self-assessment); confirm
    # for office and admin (the demo review is in progress, so the guard lets them through to a 409
    # inspection_not_submitted); stored conclusions and the discrepancy view for office and admin
    ("GET", "/api/inspections/{inspection_id:uuid}/conclusion"): Row(
        SIGNED_IN, lambda ctx, role: _own_inspection(ctx, role) + "/conclusion"
    ),
    ("POST", "/api/inspections/{inspection_id:uuid}/conclusion/confirm"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/inspections/{ctx.demo['review_inspection']}/conclusion/confirm",
        ok=frozenset({409}),
    ),
    # the office's "submit incomplete" of the demo review with a blank reason: past the guard and the scope
    # checks it is refused (422 reason_required) and changes nothing (the other rows use that review)
    ("POST", "/api/inspections/{inspection_id:uuid}/submit-incomplete"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/inspections/{ctx.demo['review_inspection']}/submit-incomplete",
        lambda ctx, role: {"reason": "   "},
        ok=frozenset({422}),
    ),
    # programme: samples, returns, opinions. A draw or a return of the demo data is refused by the programme
    # (409: the county stage has not concluded, the inspection is not submitted): the guard let the caller in.
    ("GET", "/api/rounds/{round_id:uuid}/samples"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.round2}/samples"
    ),
    ("POST", "/api/rounds/{round_id:uuid}/samples"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/rounds/{ctx.round2}/samples",
        lambda ctx, role: {"level": "city", "regionId": str(ctx.demo["cities"][0])},
        ok=frozenset({201, 409}),
    ),
    ("POST", "/api/inspections/{inspection_id:uuid}/return"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/inspections/{ctx.demo['review_inspection']}/return",
        lambda ctx, role: {"opinion": "请补充佐证材料"},
        ok=frozenset({201, 409}),
    ),
    # stages: the calendar, late applications, targets, teams and their draws. Letting a facility in late is
    # refused while the round has no deadline, a draw on a self-assessment has no team (409): the guard let in.
    ("GET", "/api/rounds/{round_id:uuid}/calendar"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/calendar"
    ),
    ("PUT", "/api/rounds/{round_id:uuid}/calendar"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/rounds/{ctx.round_city}/calendar",
        lambda ctx, role: {"deadlines": {}},
    ),
    ("GET", "/api/rounds/{round_id:uuid}/targets"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/targets"
    ),
    ("GET", "/api/rounds/{round_id:uuid}/teams"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/teams"
    ),
    ("GET", "/api/rounds/{round_id:uuid}/late-applications"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/late-applications"
    ),
    ("POST", "/api/rounds/{round_id:uuid}/late-applications"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/late-applications",
        lambda ctx, role: {"facilityId": ctx.facility(3), "reason": "补报"},
        ok=frozenset({409}),
    ),
    ("GET", "/api/inspections/{inspection_id:uuid}/team-draws"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/inspections/{ctx.demo['review_inspection']}/team-draws",
    ),
    ("POST", "/api/inspections/{inspection_id:uuid}/team-draws"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/inspections/{ctx.demo['self_inspections'][3]}/team-draws",
        lambda ctx, role: {},
        ok=frozenset({409}),
    ),
    ("GET", "/api/rounds/{round_id:uuid}/dashboard"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/dashboard"
    ),
    ("GET", "/api/rounds/{round_id:uuid}/exports/{kind:str}"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/exports/conclusions"
    ),
    # the improvement plan (read side; writes are sync mutations)
    ("GET", "/api/improvement/inspections/{inspection_id:uuid}/targets"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/improvement/inspections/{ctx.demo['self_inspections'][0]}/targets",
    ),
    ("GET", "/api/improvement/inspections/{inspection_id:uuid}/items"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/improvement/inspections/{ctx.demo['self_inspections'][0]}/items",
    ),
    ("GET", "/api/improvement/rounds/{round_id:uuid}/plans"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/improvement/rounds/{ctx.demo['round']}/plans"
    ),
    ("GET", "/api/improvement/rounds/{round_id:uuid}/needs-support"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/improvement/rounds/{ctx.demo['round']}/needs-support",
    ),
    ("GET", "/api/improvement/rounds/{round_id:uuid}/export"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/improvement/rounds/{ctx.demo['round']}/export"
    ),
    ("GET", "/api/rounds/{round_id:uuid}/conflicts"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/conflicts"
    ),
    ("GET", "/api/rounds/{round_id:uuid}/discrepancy-rates"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/discrepancy-rates"
    ),
    ("GET", "/api/facilities/{facility_id:uuid}/rounds/{round_id:uuid}/rankings"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/facilities/{ctx.facility(0)}/rounds/{ctx.demo['round']}/rankings?stage=self",
    ),
    # the first allowed caller resolves the demo conflict, the next one finds it resolved (409)
    ("POST", "/api/conflicts/{conflict_id:uuid}/resolve"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/conflicts/{ctx.conflict}/resolve",
        lambda ctx, role: {"value": "B", "baseVersion": 0, "reason": "核对照片"},
        ok=frozenset({200, 409}),
    ),
    ("GET", "/api/facilities/{facility_id:uuid}/opinions"): Row(
        allow("admin", "office", "clinic"), lambda ctx, role: f"/api/facilities/{ctx.facility(0)}/opinions"
    ),
    ("GET", "/api/facilities/{facility_id:uuid}/conclusions"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/facilities/{ctx.facility(0)}/conclusions"
    ),
    ("GET", "/api/facilities/{facility_id:uuid}/rounds/{round_id:uuid}/discrepancies"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/facilities/{ctx.facility(0)}/rounds/{ctx.demo['round']}/discrepancies",
    ),
    # exports: round exports for admin and office, the facility report's PDF also for a clinic
    ("POST", "/api/exports"): Row(
        allow("admin", "office", "clinic"),
        "/api/exports",
        lambda ctx, role: {
            "kind": "facility-report",
            "format": "pdf",
            "facilityId": ctx.facility(0),
            "roundId": str(ctx.demo["round"]),
        },
        ok=frozenset({202}),
    ),
    ("GET", "/api/exports"): Row(allow("admin", "office", "clinic"), "/api/exports"),
    ("GET", "/api/exports/{export_id:uuid}"): Row(
        allow("admin", "office", "clinic"), lambda ctx, role: f"/api/exports/{_export(ctx, role)}"
    ),
    # nothing runs the jobs here: the file is not ready yet (409) once the guard let the caller through
    ("GET", "/api/exports/{export_id:uuid}/file"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/exports/{_export(ctx, role)}/file",
        ok=frozenset({409}),
    ),
    ("GET", "/api/printables/{kind:str}"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: (
            f"/api/printables/facility-report?facilityId={ctx.facility(0)}&roundId={ctx.demo['round']}"
        ),
    ),
    # programme kinds, subject targets, titles and re-checks (the demo data has 基层行 only: a township's
    # programme sets no targets and names no title, 409; no title exists, 404; a city office names none, 403)
    ("GET", "/api/programme-kinds"): Row(SIGNED_IN, "/api/programme-kinds"),
    ("GET", "/api/rounds/{round_id:uuid}/subjects/{facility_id:uuid}/targets"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/subjects/{ctx.facility(0)}/targets",
    ),
    ("PUT", "/api/rounds/{round_id:uuid}/subjects/{facility_id:uuid}/targets"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/subjects/{ctx.facility(0)}/targets",
        lambda ctx, role: {"targets": []},
        ok=frozenset({409}),
    ),
    ("GET", "/api/titles"): Row(allow("admin", "office"), "/api/titles"),
    ("POST", "/api/rounds/{round_id:uuid}/titles"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/titles",
        lambda ctx, role: {"facilityId": ctx.facility(0)},
        ok=frozenset({403, 409}),
    ),
    ("POST", "/api/titles/{title_id:uuid}/rechecks"): Row(
        allow("admin", "office"),
        f"/api/titles/{UNKNOWN}/rechecks",
        lambda ctx, role: {"roundId": str(ctx.round2)},
        ok=frozenset({403, 404}),
    ),
    ("POST", "/api/rechecks/{recheck_id:uuid}/decision"): Row(
        allow("admin", "office"),
        f"/api/rechecks/{UNKNOWN}/decision",
        lambda ctx, role: {},
        ok=frozenset({403, 404}),
    ),
    # school logistics: the demo's 基层行 facility is no school (422 / 409), has no schedule (404); no staff exists
    ("POST", "/api/schools/{facility_id:uuid}/rounds/{round_id:uuid}/schedule"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/schools/{ctx.facility(0)}/rounds/{ctx.demo['round']}/schedule",
        lambda ctx, role: {
            "standardVersionId": "school-canteen-logistics-2010",
            "everyDays": 7,
            "startsOn": "2027-09-01",
            "endsOn": "2027-09-29",
        },
        ok=frozenset({422}),
    ),
    ("GET", "/api/schools/{facility_id:uuid}/rounds/{round_id:uuid}/schedule"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/schools/{ctx.facility(0)}/rounds/{ctx.demo['round']}/schedule",
        ok=frozenset({404}),
    ),
    ("GET", "/api/schools/{facility_id:uuid}/rounds/{round_id:uuid}/fixes"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/schools/{ctx.facility(0)}/rounds/{ctx.demo['round']}/fixes",
        ok=frozenset({404}),
    ),
    ("GET", "/api/schools/{facility_id:uuid}/staff"): Row(
        allow("admin", "office", "clinic"), lambda ctx, role: f"/api/schools/{ctx.facility(0)}/staff"
    ),
    ("POST", "/api/schools/{facility_id:uuid}/staff"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/schools/{ctx.facility(0)}/staff",
        lambda ctx, role: {"name": "王师傅", "post": "canteen"},
        ok=frozenset({409}),
    ),
    ("GET", "/api/staff/{staff_id:uuid}/rounds/{round_id:uuid}/appraisal"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/staff/{UNKNOWN}/rounds/{ctx.demo['round']}/appraisal",
        ok=frozenset({404}),
    ),
    ("POST", "/api/staff/{staff_id:uuid}/rounds/{round_id:uuid}/appraisal/scores"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/staff/{UNKNOWN}/rounds/{ctx.demo['round']}/appraisal/scores",
        lambda ctx, role: {"rater": "students", "raterName": "x", "score": 80},
        ok=frozenset({404}),
    ),
    ("GET", "/api/inspections/{inspection_id:uuid}/points-summary"): Row(
        SIGNED_IN,
        lambda ctx, role: _own_inspection(ctx, role) + "/points-summary",
        ok=frozenset({409}),
    ),
    # verdicts: the province's thresholds (set by a province office or admin: the demo office is a city's, so
    # past the guard it is refused 403 out_of_scope), the lists, their confirmation (admin: 201, or 409 while a
    # verdict is pending; the city office: 403), the clinic's result, and the public results (no sign-in)
    ("GET", "/api/thresholds"): Row(allow("admin", "office"), "/api/thresholds"),
    ("POST", "/api/thresholds"): Row(
        allow("admin", "office"),
        "/api/thresholds",
        lambda ctx, role: {
            "standardId": "cn-thc-capacity-2018",
            "thresholds": {"basic": [0.8, None, None]},
            "documentNo": f"test-{ctx.next()}",
            "documentDate": "2026-01-01",
            "regionId": str(ctx.demo["province"]),
        },
        ok=frozenset({201, 403}),
    ),
    ("GET", "/api/rounds/{round_id:uuid}/lists"): Row(
        allow("admin", "office"), lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/lists"
    ),
    ("POST", "/api/rounds/{round_id:uuid}/confirmations"): Row(
        allow("admin", "office"),
        lambda ctx, role: f"/api/rounds/{ctx.demo['round']}/confirmations",
        lambda ctx, role: {
            "kind": "confirmation",
            "documentNo": "test",
            "documentDate": "2026-01-01",
            "regionId": str(ctx.demo["province"]),
        },
        ok=frozenset({201, 403, 409}),
    ),
    ("GET", "/api/facilities/{facility_id:uuid}/rounds/{round_id:uuid}/result"): Row(
        allow("admin", "office", "clinic"),
        lambda ctx, role: f"/api/facilities/{ctx.facility(0)}/rounds/{ctx.demo['round']}/result",
    ),
    ("GET", "/api/public/rounds/{round_id:uuid}/results"): Row(
        PUBLIC, lambda ctx, role: f"/api/public/rounds/{ctx.demo['round']}/results"
    ),
    ("GET", "/public/rounds/{round_id:uuid}"): Row(
        PUBLIC, lambda ctx, role: f"/public/rounds/{ctx.demo['round']}"
    ),
}


def _export(ctx: Ctx, role: str) -> UUID:
    return ctx.exports.get(role, ctx.exports["office"])


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path) of every handler, without the OPTIONS handlers Litestar adds by itself."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        assert isinstance(route, HTTPRoute), f"unexpected route kind {type(route).__name__} at {route.path}"
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.add((method, route.path))
    return found


def test_every_route_has_a_matrix_row(tmp_path: Any) -> None:
    app = create_app(Settings(data_dir=str(tmp_path), secret_key="x"), start_pool=False)
    routes = app_routes(app)
    missing = sorted(routes - MATRIX.keys())
    assert not missing, (
        "routes without a row in MATRIX (tests/backend/test_authorization_matrix.py): "
        + ", ".join(f"{method} {path}" for method, path in missing)
    )
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, "MATRIX rows for routes the app no longer has: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


async def _context(demo: dict[str, Any]) -> Ctx:
    admin = AuthUser(id=demo["admin"], username="admin", role="admin")
    round2 = await create_round(
        user=admin, data=CreateRoundRequest(name="2027年度", year=2027, region_id=demo["province"])
    )
    other = await create_round(
        user=admin, data=CreateRoundRequest(name="乙市专项", year=2026, region_id=demo["cities"][1])
    )
    own_city = await create_round(
        user=admin, data=CreateRoundRequest(name="甲市专项", year=2026, region_id=demo["cities"][0])
    )
    # the facilities the matrix applies for at the demo round have finished their self-assessment
    for index in set(_APPLY_FACILITY.values()):
        await finish_self_assessment(demo["facilities"][index], demo["round"])
    applications: dict[str, UUID] = {}
    for role, index in (("admin", 2), ("office", 1), ("clinic", 0)):
        # inserted as they stand: round2 has no self-assessments that ran 6 months (the rule is tested elsewhere)
        made = Application(facility=demo["facilities"][index], round=round2.id, tier="basic")
        await made.save()
        applications[role] = made.id
    expert = (
        await ExpertProfile.select(ExpertProfile.id)
        .where(ExpertProfile.user == demo["inspectors"][0])
        .first()
    )
    assert expert is not None
    await put_answers(demo["review_inspection"], {ARTICLES[0]: "A"})
    conflict = await open_conflict(demo["review_inspection"], ARTICLES[0])
    inspector7 = await create_user(
        data=CreateUserRequest(username="inspector7", password="demo", role="inspector"),
        actor_id=None,
        is_demo=True,
    )
    exports: dict[str, UUID] = {}
    for role, request in (
        ("admin", ExportRequest(kind="conclusions", format="csv", round_id=demo["round"])),
        ("office", ExportRequest(kind="answers", format="xlsx", round_id=demo["round"])),
        (
            "clinic",
            ExportRequest(
                kind="facility-report",
                format="pdf",
                facility_id=demo["facilities"][0],
                round_id=demo["round"],
            ),
        ),
    ):
        user = await auth_user(ACCOUNTS[role])
        exports[role] = (await start_export(user=user, data=request)).id
    return Ctx(
        demo=demo,
        round2=round2.id,
        round_other_city=other.id,
        applications=applications,
        expert1=expert["id"],
        inspector7=inspector7.id,
        conflict=conflict,
        exports=exports,
        round_city=own_city.id,
    )


async def auth_user(username: str) -> AuthUser:
    row = await User.select().where(User.username == username).first()
    assert row is not None
    return auth_user_from_row(row)


async def _headers(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    headers = {role: await login(client, username) for role, username in ACCOUNTS.items()}
    headers["anonymous"] = {}
    return headers


async def _audit_count() -> int:
    return int(await AuditLog.count())


async def test_authorization_matrix(client: httpx.AsyncClient, app: Litestar, demo: dict[str, Any]) -> None:
    ctx = await _context(demo)
    headers = await _headers(client)
    failures: list[str] = []
    for (method, route_path), row in sorted(MATRIX.items()):
        for role in ROLES:
            path = row.path if isinstance(row.path, str) else row.path(ctx, role)
            auth = headers[role]
            if row.fresh_token and role != "anonymous":
                auth = await login(client, ACCOUNTS[role])
            body = row.body(ctx, role) if row.body is not None else None
            before = await _audit_count()
            response = await client.request(method, path, headers=auth, json=body)
            where = f"{method} {route_path} as {role}: {response.status_code} {response.text[:200]}"
            if role in row.roles:
                if response.status_code not in row.ok:
                    failures.append(f"allowed but got {where}")
                continue
            expected = 401 if role == "anonymous" else 403
            if response.status_code != expected:
                failures.append(f"expected {expected} for {where}")
            elif not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"refusal is not problem+json: {where}")
            if await _audit_count() != before:
                failures.append(f"a refused call wrote to the audit log: {where}")
    assert not failures, "\n".join(failures)


# Out-of-scope ids: (account, method, path, body, status, code). Office is 甲市's; clinic1 is 城关 (facility 0);
# inspector1 is on the county review of facility 0; inspector6 is not on any team.
ScopeCase = tuple[str, str, Callable[[Ctx], str], Callable[[Ctx], Any] | None, int, str]

SCOPE_CASES: list[ScopeCase] = [
    # office of 甲市 cannot reach 乙市 or above its own region
    ("office", "GET", lambda c: f"/api/facilities/{c.facility(6)}", None, 403, "out_of_scope"),
    ("office", "GET", lambda c: f"/api/regions/{c.demo['cities'][1]}", None, 403, "out_of_scope"),
    (
        "office",
        "GET",
        lambda c: f"/api/evidence/rounds/{c.demo['round']}/flags?regionId={c.demo['cities'][1]}",
        None,
        403,
        "out_of_scope",
    ),
    ("office", "GET", lambda c: f"/api/regions/{c.demo['counties'][2]}", None, 403, "out_of_scope"),
    ("office", "GET", lambda c: f"/api/regions/{c.demo['province']}", None, 403, "out_of_scope"),
    (
        "office",
        "GET",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}",
        None,
        403,
        "out_of_scope",
    ),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}", None, 403, "out_of_scope"),
    (
        "office",
        "PUT",
        lambda c: f"/api/admin/inspections/{c.demo['self_inspections'][6]}/team",
        lambda c: _team(c, "office"),
        403,
        "out_of_scope",
    ),
    (
        "office",
        "PATCH",
        lambda c: f"/api/admin/inspections/{c.demo['self_inspections'][7]}",
        lambda c: {"standardVersionId": "x"},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: "/api/admin/inspections",
        lambda c: {
            "facilityId": c.facility(6),
            "roundId": str(c.round2),
            "stage": "self",
            "standardVersionId": "cn-thc-capacity-2018",
        },
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: "/api/admin/inspections",
        lambda c: {
            "facilityId": c.facility(1),
            "roundId": str(c.round2),
            "stage": "province",
            "standardVersionId": "cn-thc-capacity-2018",
        },
        403,
        "stage_above_scope",
    ),
    (
        "office",
        "POST",
        lambda c: "/api/applications",
        lambda c: {"facilityId": c.facility(7), "roundId": str(c.demo["round"]), "tier": "basic"},
        403,
        "out_of_scope",
    ),
    # clinic1 sees its own facility only, and not the review of it while it is in progress
    ("clinic1", "GET", lambda c: f"/api/facilities/{c.facility(1)}", None, 403, "out_of_scope"),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/inspections/{c.demo['review_inspection']}",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][1]}",
        None,
        403,
        "out_of_scope",
    ),
    ("clinic1", "GET", lambda c: f"/api/rounds/{c.round_other_city}", None, 403, "out_of_scope"),
    (
        "clinic1",
        "POST",
        lambda c: "/api/applications",
        lambda c: {"facilityId": c.facility(1), "roundId": str(c.demo["round"]), "tier": "basic"},
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "PATCH",
        lambda c: f"/api/applications/{c.applications['office']}",
        lambda c: {"status": "withdrawn"},
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "PATCH",
        lambda c: f"/api/applications/{c.applications['clinic']}",
        lambda c: {"status": "accepted"},
        403,
        "wrong_role",
    ),
    # inspectors see only what they are assigned to
    (
        "inspector6",
        "GET",
        lambda c: f"/api/inspections/{c.demo['review_inspection']}",
        None,
        403,
        "out_of_scope",
    ),
    ("inspector6", "GET", lambda c: f"/api/facilities/{c.facility(0)}", None, 403, "out_of_scope"),
    ("inspector6", "GET", lambda c: f"/api/rounds/{c.demo['round']}", None, 403, "out_of_scope"),
    (
        "inspector1",
        "GET",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][0]}",
        None,
        403,
        "out_of_scope",
    ),
    ("inspector1", "GET", lambda c: f"/api/facilities/{c.facility(1)}", None, 403, "out_of_scope"),
    ("inspector1", "GET", lambda c: f"/api/rounds/{c.round2}", None, 403, "out_of_scope"),
    # media receipts follow the inspection's scope
    (
        "clinic1",
        "GET",
        lambda c: f"/api/inspections/{c.demo['review_inspection']}/receipt",
        None,
        403,
        "out_of_scope",
    ),
    (
        "inspector6",
        "GET",
        lambda c: f"/api/inspections/{c.demo['review_inspection']}/receipt",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/receipt",
        None,
        403,
        "out_of_scope",
    ),
    # unknown ids look the same as out-of-scope ones to a non-admin: existence is not revealed
    (
        "office",
        "GET",
        lambda c: f"/api/facilities/{UNKNOWN}",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/inspections/{UNKNOWN}",
        None,
        403,
        "out_of_scope",
    ),
    # a school's logistics: another facility's staff and schedule are out of scope
    ("clinic1", "GET", lambda c: f"/api/schools/{c.facility(1)}/staff", None, 403, "out_of_scope"),
    (
        "office",
        "GET",
        lambda c: f"/api/schools/{c.facility(6)}/rounds/{c.demo['round']}/schedule",
        None,
        403,
        "out_of_scope",
    ),
    # titles: a city office names and re-checks nothing (the province does)
    (
        "office",
        "POST",
        lambda c: f"/api/rounds/{c.demo['round']}/titles",
        lambda c: {"facilityId": c.facility(0)},
        403,
        "stage_above_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/titles/{UNKNOWN}/rechecks",
        lambda c: {"roundId": str(c.round2)},
        403,
        "stage_above_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/rounds/{c.demo['round']}/subjects/{c.facility(6)}/targets",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/rounds/{c.demo['round']}/subjects/{c.facility(1)}/targets",
        None,
        403,
        "out_of_scope",
    ),
    # programme: another city's facility, round or region; another facility's opinions
    ("office", "GET", lambda c: f"/api/facilities/{c.facility(6)}/opinions", None, 403, "out_of_scope"),
    ("clinic1", "GET", lambda c: f"/api/facilities/{c.facility(1)}/opinions", None, 403, "out_of_scope"),
    (
        "office",
        "POST",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/return",
        lambda c: {"opinion": "x"},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/submit-incomplete",
        lambda c: {"reason": "x"},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/inspections/{UNKNOWN}/return",
        lambda c: {"opinion": "x"},
        403,
        "out_of_scope",
    ),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}/samples", None, 403, "out_of_scope"),
    # improvement plans: another facility's plan, another city's facility or round
    (
        "clinic1",
        "GET",
        lambda c: f"/api/improvement/inspections/{c.demo['self_inspections'][1]}/items",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/improvement/inspections/{c.demo['self_inspections'][1]}/targets",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/improvement/inspections/{c.demo['self_inspections'][6]}/items",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/improvement/rounds/{c.round_other_city}/plans",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/improvement/rounds/{c.round_other_city}/needs-support",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/improvement/rounds/{c.round_other_city}/export",
        None,
        403,
        "out_of_scope",
    ),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}/dashboard", None, 403, "out_of_scope"),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}/calendar", None, 403, "out_of_scope"),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}/targets", None, 403, "out_of_scope"),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}/teams", None, 403, "out_of_scope"),
    (
        "office",
        "POST",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/team-draws",
        lambda c: {"seed": "x"},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/team-draws",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/rounds/{c.demo['round']}/late-applications",
        lambda c: {"facilityId": c.facility(6), "reason": "补报"},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "PUT",
        lambda c: f"/api/rounds/{c.demo['round']}/calendar",
        lambda c: {"fromProgramme": True},
        403,
        "calendar_above_scope",
    ),
    ("office", "GET", lambda c: f"/api/rounds/{c.round_other_city}/conflicts", None, 403, "out_of_scope"),
    (
        "office",
        "GET",
        lambda c: f"/api/rounds/{c.round_other_city}/exports/rankings",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/conflicts/{UNKNOWN}/resolve",
        lambda c: {"value": "B", "baseVersion": 0, "reason": "x"},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/rounds/{c.round_other_city}/discrepancy-rates",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "GET",
        lambda c: f"/api/facilities/{c.facility(6)}/rounds/{c.demo['round']}/rankings?stage=self",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/facilities/{c.facility(0)}/rounds/{c.demo['round']}/rankings?stage=county",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/rounds/{c.round2}/samples",
        lambda c: {"level": "city", "regionId": str(c.demo["cities"][1])},
        403,
        "out_of_scope",
    ),
    # exports: another city's round or facility; a clinic reads neither the office's exports nor another
    # facility's report, and starts no round export
    (
        "office",
        "POST",
        lambda c: "/api/exports",
        lambda c: {"kind": "answers", "format": "xlsx", "roundId": str(c.round_other_city)},
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: "/api/exports",
        lambda c: {
            "kind": "facility-report",
            "format": "pdf",
            "facilityId": c.facility(6),
            "roundId": str(c.demo["round"]),
        },
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "POST",
        lambda c: "/api/exports",
        lambda c: {"kind": "answers", "format": "csv", "roundId": str(c.demo["round"])},
        403,
        "wrong_role",
    ),
    ("clinic1", "GET", lambda c: f"/api/exports/{c.exports['office']}", None, 403, "out_of_scope"),
    ("clinic1", "GET", lambda c: f"/api/exports/{c.exports['office']}/file", None, 403, "out_of_scope"),
    ("office", "GET", lambda c: f"/api/exports/{c.exports['admin']}", None, 403, "out_of_scope"),
    (
        "office",
        "GET",
        lambda c: f"/api/printables/facility-report?facilityId={c.facility(6)}&roundId={c.demo['round']}",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/printables/facility-report?facilityId={c.facility(1)}&roundId={c.demo['round']}",
        None,
        403,
        "out_of_scope",
    ),
    # review: an office of 甲市 cannot read 乙市's conclusions or discrepancies; a clinic never reads the
    # conclusion of a review of it (even once it may read the returned inspection)
    (
        "office",
        "GET",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/conclusion",
        None,
        403,
        "out_of_scope",
    ),
    ("office", "GET", lambda c: f"/api/facilities/{c.facility(6)}/conclusions", None, 403, "out_of_scope"),
    (
        "office",
        "GET",
        lambda c: f"/api/facilities/{c.facility(6)}/rounds/{c.demo['round']}/discrepancies",
        None,
        403,
        "out_of_scope",
    ),
    (
        "office",
        "POST",
        lambda c: f"/api/inspections/{c.demo['self_inspections'][6]}/conclusion/confirm",
        None,
        403,
        "out_of_scope",
    ),
    (
        "clinic1",
        "GET",
        lambda c: f"/api/inspections/{c.demo['review_inspection']}/conclusion",
        None,
        403,
        "out_of_scope",
    ),
    (
        "inspector6",
        "GET",
        lambda c: f"/api/inspections/{c.demo['review_inspection']}/conclusion",
        None,
        403,
        "out_of_scope",
    ),
]


async def test_out_of_scope_ids_are_refused(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    ctx = await _context(demo)
    tokens = {name: await login(client, name) for name in {case[0] for case in SCOPE_CASES}}
    failures = []
    for account, method, path, body, status, code in SCOPE_CASES:
        before = await _audit_count()
        url = path(ctx)
        response = await client.request(
            method, url, headers=tokens[account], json=body(ctx) if body is not None else None
        )
        got = response.json() if response.headers["content-type"].startswith("application/") else {}
        if response.status_code != status or got.get("code") != code:
            failures.append(
                f"{account} {method} {url}: want {status} {code}, got {response.status_code} {got}"
            )
        if await _audit_count() != before:
            failures.append(f"{account} {method} {url} wrote to the audit log")
    assert not failures, "\n".join(failures)


async def _ids(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> set[str]:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()}


async def test_lists_contain_only_what_the_caller_may_see(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    ctx = await _context(demo)
    facilities = [str(f) for f in demo["facilities"]]
    selfs = [str(i) for i in demo["self_inspections"]]
    review = str(demo["review_inspection"])
    office = await login(client, "office")
    clinic = await login(client, "clinic1")
    inspector1 = await login(client, "inspector1")
    inspector6 = await login(client, "inspector6")
    admin = await login(client, "admin")

    # 甲市 holds the first two counties, three facilities each.
    assert await _ids(client, "/api/facilities", office) == set(facilities[:6])
    assert await _ids(client, "/api/facilities", clinic) == {facilities[0]}
    assert await _ids(client, "/api/facilities", inspector1) == {facilities[0]}
    assert await _ids(client, "/api/facilities", inspector6) == set()
    assert await _ids(client, "/api/facilities", admin) == set(facilities)
    assert await _ids(client, "/api/regions", office) == {
        str(demo["cities"][0]),
        *map(str, demo["counties"][:2]),
    }

    assert await _ids(client, "/api/inspections", office) == {*selfs[:6], review}
    assert await _ids(client, "/api/inspections", clinic) == {selfs[0]}
    assert await _ids(client, "/api/inspections", inspector1) == {review}
    assert await _ids(client, "/api/inspections", inspector6) == set()
    assert await _ids(client, "/api/inspections", admin) == {*selfs, review}

    # Rounds: the province-wide ones concern 甲市; 乙市's own round does not.
    # (甲市专项 is the office's own city round, made for the calendar rows)
    assert await _ids(client, "/api/rounds", office) == {
        str(demo["round"]),
        str(ctx.round2),
        str(ctx.round_city),
    }
    assert await _ids(client, "/api/rounds", clinic) == {
        str(demo["round"]),
        str(ctx.round2),
        str(ctx.round_city),
    }
    assert await _ids(client, "/api/rounds", inspector1) == {str(demo["round"])}
    assert await _ids(client, "/api/rounds", inspector6) == set()

    assert await _ids(client, "/api/applications", clinic) == {str(ctx.applications["clinic"])}
    assert await _ids(client, "/api/applications", office) == set(map(str, ctx.applications.values()))

    detail = await client.get(f"/api/inspections/{review}", headers=inspector1)
    team = detail.json()["team"]
    assert [m["username"] for m in team] == [
        "inspector1",
        "inspector2",
        "inspector3",
        "inspector4",
        "inspector5",
    ]
    assert [m["isLead"] for m in team] == [True, False, False, False, False]


def test_matrix_covers_every_role_of_the_app() -> None:
    # A role added to the app without an account here would silently go untested.
    from backend.guards import ROLES as APP_ROLES

    assert set(APP_ROLES) == set(ACCOUNTS)


async def _pulled(client: httpx.AsyncClient, headers: dict[str, str], kind: str) -> set[str]:
    response = await client.post(
        "/api/sync/pull",
        headers=headers,
        json={"protocolVersion": 1, "clientGroupId": "g-scope", "cookie": None},
    )
    assert response.status_code == 200, response.text
    return {p["key"].split("/")[1] for p in response.json()["patch"] if p["key"].startswith(f"{kind}/")}


async def test_sync_pull_stays_in_scope(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    """The same scopes hold through the sync pull: no cross-facility or cross-region read that way either."""
    facilities = [str(f) for f in demo["facilities"]]
    selfs = [str(i) for i in demo["self_inspections"]]
    review = str(demo["review_inspection"])
    office = await login(client, "office")
    clinic = await login(client, "clinic1")
    inspector1 = await login(client, "inspector1")
    inspector6 = await login(client, "inspector6")
    assert await _pulled(client, office, "inspection") == {*selfs[:6], review}
    assert await _pulled(client, office, "facility") == set(facilities[:6])
    assert await _pulled(client, clinic, "inspection") == {selfs[0]}
    assert await _pulled(client, clinic, "facility") == {facilities[0]}
    assert await _pulled(client, inspector1, "inspection") == {review}
    assert await _pulled(client, inspector6, "inspection") == set()
    assert await _pulled(client, inspector6, "facility") == set()
