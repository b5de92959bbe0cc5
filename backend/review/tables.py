"""Signed-off preliminary conclusions (初步结论), who decided them, the province's thresholds and its lists."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Facility, Region


class ProvinceThreshold(Table, tablename="province_threshold"):
    """A province's own thresholds for a standard's tiers, where the standard leaves them open (``minRatio``
    null), with the document they come from (文号, date). Append-only: a new setting is a new row; a sign-off
    uses the latest one, and a signed conclusion keeps the one it was decided under (never recomputed)."""

    id = UUID(primary_key=True)
    region = ForeignKey(Region, on_delete=OnDelete.restrict)  # the province
    standard_version_id = Varchar(length=120)
    # {"tierCode": [ratio or null, one per condition of the tier, in the standard's order]}
    thresholds = JSONB(default={})
    document_no = Varchar(length=200)
    document_date = Date()
    note = Text(default="")
    set_by = ForeignKey(User, on_delete=OnDelete.restrict)
    set_at = Timestamptz(default=TimestamptzNow())


class ConfirmedConclusion(Table, tablename="review_conclusion"):
    """A conclusion computed by the engine and confirmed by the review office; never updated afterwards.
    (inspection, computed_from_version) is unique: a unique index added by hand in the migration."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    stage = Varchar(length=10)
    standard_version_id = Varchar(length=120)
    # not_evaluated | undetermined | determined (incomplete results are never confirmed)
    status = Varchar(length=20)
    tier = Varchar(length=60, null=True, default=None)
    tier_label = Varchar(length=200, null=True, default=None)
    verification = Varchar(length=20)
    # the engine's Conclusion in wire form (JSON): reasons, prerequisites, tiers, conditions, pulled-down articles
    explanation = Text()
    # the inspection version and number of answers the conclusion was computed from
    computed_from_version = Integer()
    # the inspection's version once the sign-off accepted it (the status moves it on, not the answers): a later
    # version than this means the answers changed after the sign-off
    signed_version = Integer(null=True, default=None)
    answer_count = Integer()
    confirmed_by = ForeignKey(User, on_delete=OnDelete.restrict)
    confirmed_at = Timestamptz(default=TimestamptzNow())
    # who decided the tier: standard | province | group (null on rows signed before decisions were recorded)
    decided_by = Varchar(length=20, null=True, default=None)
    # the review group's written reason (a decision where no rule exists, or an override)
    decision_reason = Text(null=True, default=None)
    # the tier the rules gave (null: undetermined, so the group decided)
    computed_tier = Varchar(length=60, null=True, default=None)
    overridden = Boolean(default=False)
    threshold_setting = ForeignKey(ProvinceThreshold, null=True, default=None, on_delete=OnDelete.restrict)


class ListConfirmation(Table, tablename="list_confirmation"):
    """The province's confirmation of a round's list by a document (发文确认), or the list filed nationally
    (备案): the facilities and tiers as they stood, with the document. Once confirmed, the round takes no
    further sign-off in that province and its confirmed facilities are public."""

    id = UUID(primary_key=True)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    region = ForeignKey(Region, on_delete=OnDelete.restrict)  # the province
    kind = Varchar(length=20)  # confirmation | filing
    document_no = Varchar(length=200)
    document_date = Date()
    # [{"facilityId": …, "tier": …}] as confirmed
    entries = JSONB(default=[])
    confirmed_by = ForeignKey(User, on_delete=OnDelete.restrict)
    confirmed_at = Timestamptz(default=TimestamptzNow())


class IncompleteSubmission(Table, tablename="incomplete_submission"):
    """The office's explicit "submit incomplete": who, when, why, and what was missing. A conclusion of an
    inspection whose latest submit is one of these is never signed off as a tier (review.services)."""

    id = UUID(primary_key=True)
    inspection = ForeignKey(Inspection, on_delete=OnDelete.restrict)
    reason = Text()
    # what the inspection lacked at the time (the submit rule's words), kept with the decision
    missing = Text(default="")
    # the same as a message of the vocabulary ({code, params} as JSON; null on rows older than m0022)
    missing_message = Text(null=True, default=None)
    submitted_by = ForeignKey(User, on_delete=OnDelete.restrict)
    # the inspection's submitted_at set by this submit (a later ordinary submit sets a newer one)
    submitted_at = Timestamptz(default=TimestamptzNow())


class SubjectTarget(Table, tablename="subject_target"):
    """A target the subject set for itself on an indicator article at a round ("各县(区)制订的标准"), never below
    the standard's national value. One per (facility, round, article): setting it again replaces it."""

    id = UUID(primary_key=True)
    facility = ForeignKey(Facility, on_delete=OnDelete.restrict)
    round = ForeignKey(Round, on_delete=OnDelete.restrict)
    standard_version_id = Varchar(length=120)
    article = Varchar(length=40)
    target = DoublePrecision()
    set_by = ForeignKey(User, on_delete=OnDelete.restrict)
    set_at = Timestamptz(default=TimestamptzNow())
