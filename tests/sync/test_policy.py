"""The conflict policy of DESIGN §6, tested directly (no I/O)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sync import policy
from sync.policy import Candidate, Outcome, Register, Write

USER = uuid.uuid4()


def reg(
    value: object, version: int, client: str, run_start: int = 0, conflict: uuid.UUID | None = None
) -> Register:
    return Register(value, version, run_start, USER, client, "h", 1, conflict)


def write(value: object, base: int, client: str) -> Write:
    return Write(value=value, base_version=base, user_id=USER, client_id=client, hlc="h", mutation_id=2)


def test_first_write_applies() -> None:
    assert policy.decide(None, write("A", 0, "a")) is Outcome.APPLY


def test_same_value_merges_whatever_the_base() -> None:
    assert policy.decide(reg("B", 9, "other"), write("B", 0, "a")) is Outcome.SAME


def test_unchanged_since_base_applies() -> None:
    assert policy.decide(reg("B", 5, "other"), write("C", 5, "a")) is Outcome.APPLY


def test_concurrent_different_value_conflicts() -> None:
    assert policy.decide(reg("B", 6, "other"), write("C", 5, "a")) is Outcome.CONFLICT_NEW


def test_same_client_sequential_edits_never_conflict() -> None:
    # a wrote at 3 (seen by nobody else), then 7 and 8 on its own: base 0 is stale but only a changed it.
    first = policy.applied(None, write("A", 0, "a"), 3)
    second = policy.applied(first, write("B", 0, "a"), 7)
    assert policy.decide(second, write("C", 0, "a")) is Outcome.APPLY
    assert policy.applied(second, write("C", 0, "a"), 8).run_start == 0


def test_other_client_in_the_run_makes_the_old_base_stale() -> None:
    mine = policy.applied(None, write("A", 0, "a"), 3)
    theirs = policy.applied(mine, write("B", 3, "b"), 4)
    again = policy.applied(theirs, write("C", 4, "a"), 5)  # a saw b's value (base 4)
    assert again.run_start == 4
    assert policy.decide(again, write("D", 3, "a")) is Outcome.CONFLICT_NEW
    assert policy.decide(again, write("D", 4, "a")) is Outcome.APPLY


def test_open_conflict_collects_other_values() -> None:
    register = reg("B", 6, "other", conflict=uuid.uuid4())
    assert policy.decide(register, write("C", 6, "a")) is Outcome.CONFLICT_JOIN
    assert policy.decide(register, write("B", 0, "a")) is Outcome.SAME


def test_booleans_do_not_merge_with_numbers() -> None:
    assert not policy.same_value(True, 1)
    assert policy.decide(reg(1, 6, "other"), write(True, 0, "a")) is Outcome.CONFLICT_NEW


def test_one_candidate_per_client() -> None:
    first = Candidate("A", None, "a", "h", 1)
    cands = policy.put_candidate(
        [first, Candidate("B", None, "b", "h", 1)], Candidate("C", None, "a", "h", 2)
    )
    assert [(c.client_id, c.value) for c in cands] == [("b", "B"), ("a", "C")]


def test_resolution_sees_everything() -> None:
    resolved = policy.resolved(write("C", 9, "a"), 10)
    assert resolved.conflict_id is None
    assert policy.decide(resolved, write("D", 10, "b")) is Outcome.APPLY
    assert policy.decide(resolved, write("D", 9, "b")) is Outcome.CONFLICT_NEW


def test_the_resolvers_own_later_edit_follows_its_resolution() -> None:
    # a resolved at 10 having seen the conflict at 9; its next edit, queued before the resolution came back,
    # still carries base 9: a sequential edit of its own, never a conflict of a device with itself
    resolved = policy.resolved(write("C", 9, "a"), 10)
    assert policy.decide(resolved, write("D", 9, "a")) is Outcome.APPLY


def test_stale_resolution() -> None:
    conflict = policy.ConflictState(
        id=uuid.uuid4(),
        inspection_id=uuid.uuid4(),
        register_key="k",
        item_code="1",
        field="value",
        base_version=1,
        candidates=[],
        status="open",
        version=7,
    )
    assert policy.conflict_is_stale(conflict, 6)
    assert not policy.conflict_is_stale(conflict, 7)


def test_photo_removal_wins_only_over_adds_it_saw() -> None:
    assert policy.remove_wins(add_version=4, remove_base=4)
    assert not policy.remove_wins(add_version=9, remove_base=4)
    assert policy.remove_wins(add_version=9, remove_base=None)


def test_inspection_status_rules() -> None:
    assert policy.edit_refusal("in_progress") is None
    assert policy.edit_refusal("submitted") == "inspection_locked"
    assert policy.submit_refusal("accepted", 0, {}, {}, set()) == (
        "inspection_locked",
        "the inspection is accepted",
    )
    assert policy.submit_refusal("in_progress", 2, {}, {}, set())[0] == "open_conflicts"  # type: ignore[index]
    refusal = policy.submit_refusal("in_progress", 0, {"1.1": 2, "1.2": 1}, {"1.1": 1}, {"1.2"})
    assert refusal is not None
    assert refusal[0] == "evidence_missing"
    assert "1.1 (1/2)" in refusal[1]
    assert "1.2" not in refusal[1]
    assert policy.submit_refusal("in_progress", 0, {"1.1": 2}, {"1.1": 2}, set()) is None


def test_submit_refused_while_answers_are_missing_in_plain_words() -> None:
    gaps = policy.AnswerGaps(prerequisites=("P1",), items=("1.1", "1.2", "2.1", "2.2", "3.1", "3.2"), of=9)
    refusal = policy.submit_refusal("in_progress", 0, {}, {}, set(), gaps=gaps)
    assert refusal == (
        "incomplete",
        "not complete: 1 prerequisite(s) not answered (P1); "
        "6 of 9 article(s) not answered (1.1, 1.2, 2.1, 2.2, 3.1, …)",
    )
    # open conflicts come first; complete answers go on to the evidence
    assert policy.submit_refusal("in_progress", 1, {}, {}, set(), gaps=gaps)[0] == "open_conflicts"  # type: ignore[index]
    done = policy.AnswerGaps(prerequisites=(), items=(), of=9)
    assert policy.submit_refusal("in_progress", 0, {"1.1": 1}, {}, set(), gaps=done)[0] == "evidence_missing"  # type: ignore[index]
    assert policy.submit_refusal("in_progress", 0, {}, {}, set(), gaps=done) is None
    broken = policy.AnswerGaps(prerequisites=(), items=(), of=9, invalid="$.answers.1.1: 'Z' is not a grade")
    assert policy.submit_refusal("in_progress", 0, {}, {}, set(), gaps=broken) == (
        "incomplete",
        "the answers do not fit the standard: $.answers.1.1: 'Z' is not a grade",
    )


def test_photos_count_only_with_the_facts_their_article_requires() -> None:
    both = policy.PhotoRequirement(capture_time=True, location=True)

    def facts(
        item: str, *, received: bool = True, time: bool = True, place: bool = True
    ) -> policy.PhotoFacts:
        return policy.PhotoFacts(item_code=item, received=received, has_capture_time=time, has_location=place)

    assert policy.photo_not_counted(facts("1.1"), both) == ()
    assert policy.photo_not_counted(facts("1.1", place=False), both) == ("no_location",)
    assert policy.photo_not_counted(facts("1.1", time=False, place=False), both) == (
        "no_capture_time",
        "no_location",
    )
    assert policy.photo_not_counted(facts("1.1", received=False), both) == ("not_received",)
    # an article without requirements counts every photo, received or not
    assert policy.photo_not_counted(facts("1.1", received=False, time=False), None) == ()
    only_time = policy.PhotoRequirement(capture_time=True)
    assert policy.photo_not_counted(facts("1.1", place=False), only_time) == ()
    counted, not_counted = policy.counting_photos(
        [facts("1.1"), facts("1.1", place=False), facts("1.2", time=False), facts("2.1", time=False)],
        {"1.1": both, "1.2": both},
    )
    assert counted == {"1.1": 1, "2.1": 1}
    assert not_counted == {"1.1": 1, "1.2": 1}
    refusal = policy.submit_refusal(
        "in_progress", 0, {"1.1": 2, "1.2": 1}, counted, set(), not_counted=not_counted
    )
    assert refusal is not None
    assert refusal[0] == "evidence_missing"
    assert "1.1 (1/2), 1.2 (0/1)" in refusal[1]
    assert "2 photo(s) of these do not count" in refusal[1]


@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("XYZ")), min_size=1, max_size=12),
)
def test_a_single_device_never_conflicts_with_itself(edits: list[tuple[str, str]]) -> None:
    # One device edits offline from base 0, many times: every edit applies.
    current: Register | None = None
    version = 0
    for _, value in edits:
        w = write(value, 0, "only")
        outcome = policy.decide(current, w)
        assert outcome in (Outcome.APPLY, Outcome.SAME)
        if outcome is Outcome.APPLY:
            version += 1
            current = policy.applied(current, w, version)
    assert current is not None
    assert current.value == edits[-1][1]


@given(
    st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from("XY"), st.booleans()), min_size=1, max_size=15)
)
def test_conflict_only_when_another_client_changed_since_base(steps: list[tuple[str, str, bool]]) -> None:
    """Model check: a conflict is reported exactly when another client wrote after the writer's base."""
    current: Register | None = None
    history: list[tuple[int, str]] = []  # (version, client) of applied changes
    seen = {"a": 0, "b": 0}
    version = 0
    for client, value, refresh in steps:
        if refresh:
            seen[client] = version
        w = write(value, seen[client], client)
        outcome = policy.decide(current, w)
        others_since = any(v > w.base_version and c != client for v, c in history)
        if current is not None and policy.same_value(current.value, value):
            assert outcome is Outcome.SAME
            continue
        assert (outcome is Outcome.CONFLICT_NEW) == others_since
        if outcome is Outcome.CONFLICT_NEW:
            break
        version += 1
        current = policy.applied(current, w, version)
        history.append((version, client))


def test_documents_count_only_toward_minimum_documents() -> None:
    facts = [
        policy.PhotoFacts(item_code="1.1", received=True, has_capture_time=True, has_location=True),
        policy.PhotoFacts(
            item_code="1.1", received=True, has_capture_time=False, has_location=False, document=True
        ),
    ]
    counted, not_counted = policy.counting_photos(facts, {})
    assert (counted, not_counted) == ({"1.1": 1}, {})  # the ledger is not a photo
    assert policy.counting_documents(facts) == {"1.1": 1}
    assert policy.is_document("application/pdf")
    assert not policy.is_document("image/jpeg")
    # a photo does not stand in for a document: 1.2 has a photo and needs a ledger
    refusal = policy.submit_refusal(
        "in_progress",
        0,
        {},
        {"1.2": 1},
        set(),
        min_documents={"1.1": 1, "1.2": 1},
        document_counts={"1.1": 1},
    )
    assert refusal == ("evidence_missing", "1 item(s) short of their minimum documents: 1.2 (0/1)")
    assert policy.submit_refusal("in_progress", 0, {}, {}, {"1.2"}, min_documents={"1.2": 1}) is None  # N/A


def test_a_document_counts_only_once_its_file_has_arrived() -> None:
    facts = [
        policy.PhotoFacts(
            item_code="1.1", received=True, has_capture_time=False, has_location=False, document=True
        ),
        policy.PhotoFacts(
            item_code="1.2", received=False, has_capture_time=False, has_location=False, document=True
        ),
        policy.PhotoFacts(
            item_code="1.3", received=False, has_capture_time=False, has_location=False, document=True
        ),
    ]
    counted, waiting = policy.counting_documents(facts), policy.documents_on_the_way(facts)
    assert (counted, waiting) == ({"1.1": 1}, {"1.2": 1, "1.3": 1})
    needs = {"1.1": 1, "1.2": 1}
    refusal = policy.submit_refusal(
        "in_progress",
        0,
        {},
        {},
        set(),
        min_documents=needs,
        document_counts=counted,
        documents_on_the_way=waiting,
    )
    assert refusal == ("documents_on_the_way", "1 document(s) still on their way to the server: 1.2 (1)")
    # short beyond what is on its way: the minimum is missing, and the refusal says what is uploading
    refusal = policy.submit_refusal(
        "in_progress",
        0,
        {},
        {},
        set(),
        min_documents={**needs, "1.4": 1},
        document_counts=counted,
        documents_on_the_way=waiting,
    )
    assert refusal == (
        "evidence_missing",
        "2 item(s) short of their minimum documents: 1.2 (0/1), 1.4 (0/1); 1 document(s) of these still on their way",
    )
    arrived = {**counted, "1.2": 1}
    assert (
        policy.submit_refusal("in_progress", 0, {}, {}, set(), min_documents=needs, document_counts=arrived)
        is None
    )
