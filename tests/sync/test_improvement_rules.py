"""The improvement plan's pure rules: status transitions and field values (no database)."""

from __future__ import annotations

import pytest

from sync.push.checks import Rejected
from sync.push.mutators.improvement import check_field, transition_refusal


@pytest.mark.parametrize(
    ("kind", "current", "new", "allowed"),
    [
        ("soon", "open", "in_progress", True),
        ("soon", "open", "done", True),
        ("soon", "in_progress", "done", True),
        ("soon", "done", "in_progress", True),
        ("soon", "done", "done", True),  # the same status: a no-op, never refused
        ("soon", "done", "open", False),
        ("soon", "open", "needs_support", False),
        ("continuous", "in_progress", "needs_support", False),
        ("needs_support", "open", "needs_support", True),
        ("needs_support", "needs_support", "done", True),
        ("needs_support", "done", "needs_support", False),
    ],
)
def test_transitions(kind: str, current: str, new: str, allowed: bool) -> None:
    assert (transition_refusal(kind, current, new) is None) is allowed


def test_field_values_are_checked_and_normalised() -> None:
    assert check_field("gap", "  缺少制度 ") == "缺少制度"
    assert check_field("owner", None) == ""
    assert check_field("dueDate", "") is None
    assert check_field("dueDate", "2026-02-28") == "2026-02-28"
    # the programme's kinds beside the codes; its words for the codes stored as the codes
    assert check_field("kind", "专项督办", ["专项督办"]) == "专项督办"
    assert check_field("kind", "持续改进", ["持续改进"]) == "continuous"
    assert check_field("kind", "soon", ["专项督办"]) == "soon"
    with pytest.raises(Rejected) as refused:
        check_field("kind", "持续改进")  # not in this programme's settings
    assert refused.value.reason == "unknown_improvement_kind"
    for field, value, reason in [
        ("gap", " ", "invalid_value"),
        ("kind", "later", "unknown_improvement_kind"),
        ("dueDate", "2026-2-28", "invalid_value"),
        ("dueDate", "2026-02-30", "invalid_value"),
        ("owner", "x" * 201, "too_long"),
        ("gap", "x" * 20_001, "too_long"),
    ]:
        with pytest.raises(Rejected) as refused:
            check_field(field, value)
        assert refused.value.reason == reason, (field, value)
