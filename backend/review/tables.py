"""Signed-off preliminary conclusions (初步结论)."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.inspections.tables import Inspection, Round
from backend.registry.tables import Facility


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
    answer_count = Integer()
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
