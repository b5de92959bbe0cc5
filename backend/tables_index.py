"""Every Piccolo table of the app in dependency order; migrations and engine binding read this list."""

from __future__ import annotations

from piccolo.table import Table

from backend.accounts.tables import AuthToken, ConflictResolver, ExpertProfile, LoginThrottle, User
from backend.audit.tables import AuditLog
from backend.evidence.tables import EvidenceReview
from backend.exports.tables import ExportJob
from backend.inspections.tables import Application, Inspection, InspectionMember, Round
from backend.programme.logistics_tables import (
    AppraisalScore,
    RoutineFix,
    RoutineSchedule,
    RoutineVisit,
    SchoolStaff,
)
from backend.programme.tables import LateApplication, ReturnedOpinion, ReviewSample, RoundDeadline, TeamDraw
from backend.programme.title_tables import ProgrammeTitle, SubjectTarget, TitleRecheck
from backend.registry.tables import Facility, Region
from backend.review.tables import (
    ConfirmedConclusion,
    IncompleteSubmission,
    ListConfirmation,
    ProvinceThreshold,
)
from backend.standards.tables import StandardVersion
from media.tables import MEDIA_TABLES
from sync.tables import SYNC_TABLES

TABLES: tuple[type[Table], ...] = (
    Region,
    Facility,
    User,
    AuthToken,
    LoginThrottle,
    ExpertProfile,
    ConflictResolver,
    Round,
    Application,
    Inspection,
    InspectionMember,
    AuditLog,
    StandardVersion,
    *SYNC_TABLES,
    *MEDIA_TABLES,
    ProvinceThreshold,
    ConfirmedConclusion,
    EvidenceReview,
    ReviewSample,
    ReturnedOpinion,
    IncompleteSubmission,
    ExportJob,
    RoundDeadline,
    LateApplication,
    TeamDraw,
    SubjectTarget,
    ProgrammeTitle,
    TitleRecheck,
    RoutineSchedule,
    RoutineVisit,
    RoutineFix,
    SchoolStaff,
    AppraisalScore,
    ListConfirmation,
)
