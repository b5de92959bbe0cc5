"""Rules read once: the N/A register is judged in one place (sync/evidence.py), and a round's registers are
joined by one query (backend/review/answers.py: round_answers). Checked in the source, since copies that
read the same registers differently are invisible to the import contracts (issue 24)."""

from __future__ import annotations

import re

from tests.test_table_owners import ROOT, sources

NA_READER = "sync/evidence.py"
ROUND_READER = "backend/review/answers.py"

# judging the N/A register's stored JSON, or turning it into the engine's N/A answer
NA_JUDGED = re.compile(
    r'"na"[^\n]*\n[^\n]*\bis True\b|\bna\b[^\n]*\n[^\n]*\bis True\b|\["value"\]\s*==\s*"true"|items\[\w+\]\s*=\s*NA\b'
)
# the aggregate itself, or the "item=value" pair it joins (the aggregate's name may sit in a variable)
JOINED = re.compile(r"(string_agg|group_concat)\(\s*r\.\"item_code\"|r\.\"item_code\" \|\| \\?'=\\?'")


def na_judges(files: dict[str, str]) -> set[str]:
    return {name for name, text in files.items() if name != NA_READER and NA_JUDGED.search(text)}


def register_joins(files: dict[str, str]) -> set[str]:
    return {name for name, text in files.items() if JOINED.search(text)}


def test_the_na_register_is_judged_once() -> None:
    assert na_judges(sources("backend", "sync", "media")) == set()


def test_a_rounds_registers_are_joined_by_one_query() -> None:
    assert register_joins(sources("backend", "sync", "media")) == {ROUND_READER}


def test_the_scans_find_the_copies_they_forbid() -> None:
    """The copies issue 24 listed, as they were written (exports/sources.py, programme/round_results.py,
    inspections/assignments.py)."""
    copies = {
        "exports.py": 'if field == "na":\n    if value is True:\n        items[item] = NA',
        "assignments.py": 'if register["field"] == "value" or register["value"] == "true":',
        "round.py": "if na:\n    if value is True:\n        items[item] = NA",
        "improvement.py": 'if r["field"] == "na":\n    if value is True:\n        na.add(key)',
        "vocabulary.py": 'if value is None:\n    return ""\nif value is True:\n    return say("yes")',
        NA_READER: "if (decoded := _decode.decode(raw)) is True:\n    values[item] = NA_ANSWER",
    }
    assert na_judges(copies) == {"exports.py", "assignments.py", "round.py", "improvement.py"}
    sql = {"a.py": "joined = 'string_agg(r.\"item_code\" || '=' || r.\"value\", chr(31))'"}
    assert register_joins(sql) == {"a.py"}


STAGE_LIST = re.compile(
    r'\(\s*"(self|county)",\s*"(county|city)",\s*"(city|province)"|"self":\s*0,\s*"county":\s*1'
)
# region levels (rank scopes) are spelled the same and are not stages
SCOPE_LISTS = {
    "backend/standards/validation.py",
    "backend/programme/rankings.py",
    "backend/verdict/results.py",
    "backend/programme/analysis.py",
}


def test_the_stage_list_is_written_once() -> None:
    """Self-assessment, county, city, province: backend/inspections/schemas.py (STAGES, REVIEW_STAGES,
    STAGE_ORDER); it used to be written in six places."""
    from backend.inspections.schemas import REVIEW_STAGES, STAGE_ORDER, STAGES

    assert STAGES == ("self", "county", "city", "province")
    assert STAGES[1:] == REVIEW_STAGES
    assert [STAGE_ORDER[s] for s in STAGES] == [0, 1, 2, 3]
    writers = {
        name
        for name, text in sources("backend").items()
        if STAGE_LIST.search(text) and name not in SCOPE_LISTS
    }
    assert writers == set()
    assert STAGE_LIST.search('STAGES = ("county", "city", "province")')
    assert STAGE_LIST.search('_STAGE_ORDER = {"self": 0, "county": 1, "city": 2, "province": 3}')


# Rule knowledge the server owns and sends the app ready made (the checklist, GET /api/standards/{id}/checklist,
# and the receipt's `blockers`; sync/readiness.py): the app counts against it and decides none of it. Each entry
# names what a match would be deciding again on the device.
APP_RULES = {
    # an article's evidence minimums and photo requirements, its own or the standard's default: the checklist's
    # minPhotos, minDocuments, requireCaptureTime, requireLocation per article
    "evidence defaults": re.compile(r"\bevidenceDefaults\b"),
    "an article's evidence policy": re.compile(
        r"\bevidence\??\.(minPhotos|minDocuments|requireCaptureTime|requireLocation)\b"
    ),
    # grades in their order of rank: the checklist's `grades`, best first
    "grades sorted by rank": re.compile(r"\.sort\([^\n]*\brank\b"),
    # which evidence is a document: the checklist's `documentTypes` (media/documents.py owns the list)
    "document types": re.compile(r"application/(pdf|vnd\.openxmlformats)"),
    # how a standard's scoring is answered (weighted standards per rater): the checklist's `answerKind`, `raters`
    "scoring mode": re.compile(r"['\"]weighted['\"]|\bscoring\??\.(mode|grades|groups|itemMode)\b"),
    # the item code a rater's answer is stored under: the checklist's `items` per article
    "rater item codes": re.compile(r"\$\{\w+\}:\$\{"),
    # which prerequisites or vetoes a submit asks for: the checklist's `prerequisites`, `vetoes`
    "required yes/no items": re.compile(r"(prerequisites|vetoItems)[^\n]*isAnswered"),
}


def app_rules(files: dict[str, str]) -> set[tuple[str, str]]:
    return {
        (name, rule)
        for name, text in files.items()
        for rule, found in APP_RULES.items()
        if found.search(text)
    }


def app_sources() -> dict[str, str]:
    root = ROOT / "pwa_static"
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for top in ("lib", "views", "store", "sync", "upload")
        for path in (root / top).rglob("*.js")
    }


def test_the_app_holds_no_rule_the_server_owns() -> None:
    assert app_rules(app_sources()) == set()


def test_the_app_scan_finds_the_rules_as_they_were_written() -> None:
    """lib/inspection.js and lib/documents.js before the checklist (issue 24)."""
    copies = {
        "minPhotos": "return bundle?.evidenceDefaults?.minPhotos ?? 0;",
        "own": "const own = article?.evidence?.minPhotos;",
        "grades": "return [...grades].sort((a, b) => (b.rank ?? 0) - (a.rank ?? 0)).map((g) => g.code);",
        "ledger": "const LEDGER_MIMES = new Set([\n  'application/pdf',",
        "mode": "if (scoring.mode === 'weighted') return 'passfail';",
        "item": "return mode === 'passfail' && rater ? `${rater}:${number}` : number;",
        "prereq": "(bundle?.prerequisites || []).filter((p) => !isAnswered(answers.get(p.id)));",
        "fine": "const count = checklist.articles.filter((a) => a.minPhotos > 0).length;",
    }
    assert {name for name, _ in app_rules(copies)} == set(copies) - {"fine"}
