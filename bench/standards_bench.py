"""Benchmark: conclusions for 2,000 facilities × 100 articles, engine vs a naive per-condition rescan.

Run: .venv/bin/python bench/standards_bench.py [--write]
  --write  replaces the "## Standards: conclusions" section of docs/benchmarks.md with the table.

The naive baseline is the straightforward implementation: for every condition of every tier it walks the
standard's sections again, checks each article's scope by its kind / section path, finds the grade's rank
by scanning the grade list, and collects the articles below the required grade. Both must agree on every
facility (tier, status and each condition's numbers and pulled-down articles) or the bench fails.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.standards import FacilityFigures, Standard, compile_standard, conclude, validate_standard
from backend.standards.conclusion import ArticleMark
from backend.standards.schemas import Section

FACILITIES = 2000
ARTICLES = 100
REPEATS = 3
TARGET_SECONDS = 1.0
HEADING = "## Standards: conclusions"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
GRADES = [
    {"code": "A", "rank": 3, "cumulativeOf": "B"},
    {"code": "B", "rank": 2, "cumulativeOf": "C"},
    {"code": "C", "rank": 1},
    {"code": "D", "rank": 0},
]


def _article(number: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": f"条款 {number}", "kind": kind, "verification": "verified", **extra}


def graded_standard() -> Standard:
    """100 articles (88 basic, 12 recommended) in 4 chapters of 5 sections; three tiers, ten conditions."""
    chapters = []
    n = 0
    for c in range(1, 5):
        sections = []
        for s in range(1, 6):
            arts = []
            for i in range(1, 6):
                n += 1
                kind = "recommended" if n % 8 == 0 and n <= 96 else "basic"
                arts.append(_article(f"{c}.{s}.{i}", kind, naAllowed=(n % 10 == 3)))
            sections.append({"code": f"{c}.{s}", "title": f"节 {c}.{s}", "articles": arts})
        chapters.append({"code": str(c), "title": f"章 {c}", "sections": sections})
    cond = [
        ("basic", "C", 0.9),
        ("basic", "B", 0.6),
        ("basic", "A", 0.2),
        ("recommended", "C", 0.8),
        ("basic", "C", 0.8),
        ("basic", "B", 0.4),
        ("section:2", "B", 0.3),
        ("basic", "C", 0.8),
        ("basic", "B", 0.2),
        ("basic", "A", 0.05),
    ]

    def conds(part: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
        return [{"scope": s, "gradeAtLeast": g, "minRatio": r} for s, g, r in part]

    raw = {
        "id": "bench-graded",
        "programme": "bench",
        "edition": "1",
        "name": "基准标准",
        "jurisdiction": {"level": "national"},
        "facilityKinds": ["乡镇卫生院"],
        "verification": "verified",
        "scoring": {"mode": "graded", "grades": GRADES},
        "prerequisites": [
            {"id": f"P{i}", "text": f"前置条件 {i}", "verification": "verified"} for i in (1, 2, 3)
        ],
        "sections": chapters,
        "determination": {
            "tiers": [
                {
                    "code": "recommended",
                    "label": "推荐标准",
                    "verification": "verified",
                    "conditions": conds(cond[:4]),
                },
                {
                    "code": "basic",
                    "label": "基本标准",
                    "verification": "verified",
                    "conditions": conds(cond[4:7]),
                },
                {
                    "code": "qualified",
                    "label": "合格标准",
                    "verification": "verified",
                    "eligibility": {
                        "rules": [
                            {"figure": "medicalStaffCount", "op": "<", "value": 10},
                            {"figure": "servicePopulation", "op": "<", "value": 10000},
                        ]
                    },
                    "conditions": conds(cond[7:]),
                },
            ],
            "fallback": {"code": "not_reached", "label": "未达标准"},
        },
    }
    return validate_standard(raw)


def points_standard() -> Standard:
    sections = []
    for c in range(1, 6):
        arts = [
            {"number": f"{c}.{i}", "title": f"指标 {c}.{i}", "verification": "verified", "points": 10}
            for i in range(1, 21)
        ]
        sections.append({"code": str(c), "title": f"类 {c}", "maxPoints": 200, "articles": arts})
    raw = {
        "id": "bench-points",
        "programme": "bench",
        "edition": "1",
        "name": "千分制基准",
        "jurisdiction": {"level": "national"},
        "facilityKinds": ["县"],
        "verification": "verified",
        "scoring": {"mode": "points", "total": 1000},
        "sections": sections,
        "vetoItems": [{"id": "V1", "text": "一票否决项", "verification": "verified"}],
        "determination": {
            "tiers": [
                {
                    "code": "demo",
                    "label": "示范",
                    "verification": "verified",
                    "conditions": [
                        {"scope": "all", "minRatio": 0.85},
                        {"scope": "section:4", "minRatio": 0.8},
                    ],
                }
            ],
            "fallback": {"code": "not_awarded", "label": "未达到"},
        },
    }
    return validate_standard(raw)


def passfail_standard() -> Standard:
    arts = [
        {"number": str(i), "title": f"检查项 {i}", "verification": "verified", "critical": i <= 5}
        for i in range(1, ARTICLES + 1)
    ]
    raw = {
        "id": "bench-passfail",
        "programme": "bench",
        "edition": "1",
        "name": "检查表基准",
        "jurisdiction": {"level": "institution"},
        "facilityKinds": ["食堂"],
        "verification": "verified",
        "scoring": {"mode": "passfail"},
        "sections": [{"code": "1", "title": "食堂", "articles": arts}],
        "determination": {
            "tiers": [
                {
                    "code": "pass",
                    "label": "合格",
                    "verification": "verified",
                    "conditions": [{"scope": "all", "minRatio": 0.9}],
                }
            ],
            "fallback": {"code": "fail", "label": "不合格"},
        },
    }
    return validate_standard(raw)


def _walk(sections: tuple[Section, ...], path: tuple[str, ...] = ()) -> Iterator[tuple[Any, tuple[str, ...]]]:
    for section in sections:
        here = (*path, section.code)
        for article in section.articles:
            yield article, here
        yield from _walk(section.sections, here)


Case = tuple[dict[str, Any], FacilityFigures, dict[str, bool]]


def graded_cases(standard: Standard, rng: random.Random) -> list[Case]:
    arts = [a for a, _ in _walk(standard.sections)]
    cases = []
    for _ in range(FACILITIES):
        skill = rng.random()  # facilities differ: some mostly A/B, some mostly C/D
        answers: dict[str, Any] = {}
        for a in arts:
            if a.na_allowed and rng.random() < 0.2:
                answers[a.number] = "NA"
            else:
                x = rng.random() * 0.6 + skill * 0.4
                answers[a.number] = "A" if x > 0.75 else "B" if x > 0.5 else "C" if x > 0.15 else "D"
        figures = FacilityFigures(
            medical_staff_count=rng.randint(3, 40), service_population=rng.randint(2000, 60000)
        )
        prereqs = {"P1": True, "P2": rng.random() > 0.02, "P3": True}
        cases.append((answers, figures, prereqs))
    return cases


def naive_conclude(
    standard: Standard, answers: dict[str, Any], facility: FacilityFigures, prereqs: dict[str, bool]
) -> Any:
    """The straightforward rescan: every condition walks every article again."""
    if not all(prereqs.get(p.id) is True for p in standard.prerequisites):
        return ("not_evaluated", None, ())
    for article, _ in _walk(standard.sections):
        if article.number not in answers:
            return ("incomplete", None, ())
    grades = list(standard.scoring.grades)  # type: ignore[union-attr]

    def rank(code: str) -> int:
        for g in grades:
            if g.code == code:
                return g.rank
        raise KeyError(code)

    explained = []
    decision: tuple[str, str | None] | None = None
    for tier in standard.determination.tiers:
        if tier.eligibility is not None:
            ok = True
            for rule in tier.eligibility.rules:
                actual = (
                    facility.medical_staff_count
                    if rule.figure == "medicalStaffCount"
                    else facility.service_population
                )
                if actual is None or not (actual < rule.value):
                    ok = False
            if not ok:
                explained.append((tier.code, "ineligible", ()))
                continue
        conditions = []
        for condition in tier.conditions:
            need = rank(condition.grade_at_least or "")
            num = den = 0
            pulled = []
            for article, path in _walk(standard.sections):
                if condition.scope == "all":
                    inside = True
                elif condition.scope.startswith("section:"):
                    inside = condition.scope.split(":", 1)[1] in path
                else:
                    inside = article.kind == condition.scope
                if not inside:
                    continue
                value = answers[article.number]
                if value == "NA" and article.na_allowed:
                    continue
                den += 1
                if rank(value) >= need:
                    num += 1
                else:
                    pulled.append(ArticleMark(number=article.number, value=value))
            met = (
                den > 0
                and condition.min_ratio is not None
                and num >= condition.min_ratio * den - 1e-9 * max(1, den)
            )
            conditions.append(
                (
                    float(num),
                    float(den),
                    "met" if met else "not_met",
                    tuple(sorted((m.number, str(m.value)) for m in pulled)),
                )
            )
        explained.append(
            (
                tier.code,
                "reached" if all(c[2] == "met" for c in conditions) else "not_reached",
                tuple(conditions),
            )
        )
        if decision is None and explained[-1][1] == "reached":
            decision = ("determined", tier.code)
    if decision is None:
        decision = ("determined", standard.determination.fallback.code)
    return (decision[0], decision[1], tuple(explained))


def summarize(result: Any) -> Any:
    """The engine's conclusion reduced to what the naive baseline computes."""
    if result.status in ("not_evaluated", "incomplete"):
        return (result.status, None, ())
    tiers = []
    for t in result.tiers:
        if t.outcome == "ineligible":
            tiers.append((t.code, "ineligible", ()))
            continue
        conditions = tuple(
            (
                c.numerator,
                c.denominator,
                c.outcome,
                tuple(sorted((m.number, str(m.value)) for m in c.pulled_down)),
            )
            for c in t.conditions
        )
        tiers.append((t.code, t.outcome, conditions))
    return (result.status, result.tier, tuple(tiers))


def best_of(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    rng = random.Random(20240601)  # fixed seed: the same facilities every run

    graded = graded_standard()
    cases = graded_cases(graded, rng)
    compile_start = time.perf_counter()
    compiled = compile_standard(graded)
    compile_seconds = time.perf_counter() - compile_start

    engine_results = [conclude(compiled, a, f, p) for a, f, p in cases]
    naive_results = [naive_conclude(graded, a, f, p) for a, f, p in cases]
    mismatches = sum(1 for e, n in zip(engine_results, naive_results, strict=True) if summarize(e) != n)
    statuses: dict[str, int] = {}
    for r in engine_results:
        key = r.tier if r.status == "determined" else r.status
        statuses[key or "?"] = statuses.get(key or "?", 0) + 1

    rows: list[tuple[str, float, str]] = []
    t_engine = best_of(lambda: [conclude(compiled, a, f, p) for a, f, p in cases])
    t_naive = best_of(lambda: [naive_conclude(graded, a, f, p) for a, f, p in cases])
    rows.append(
        ("graded, engine (`conclude`, full explanation)", t_engine, f"{t_naive / t_engine:.1f}× faster")
    )
    rows.append(("graded, naive per-condition rescan (baseline)", t_naive, "1.0×"))

    pts = points_standard()
    pts_compiled = compile_standard(pts)
    pts_numbers = [a.number for a, _ in _walk(pts.sections)]
    pts_cases = [
        {**{n: rng.choice([10, 10, 10, 8, 5, 0]) for n in pts_numbers}, "V1": rng.random() > 0.05}
        for _ in range(FACILITIES)
    ]
    rows.append(
        (
            "points (1,000-point, veto), engine",
            best_of(lambda: [conclude(pts_compiled, a) for a in pts_cases]),
            "",
        )
    )

    pf = passfail_standard()
    pf_compiled = compile_standard(pf)
    pf_cases = [{str(i): rng.random() > 0.03 for i in range(1, ARTICLES + 1)} for _ in range(FACILITIES)]
    rows.append(
        (
            "pass/fail (5 critical items), engine",
            best_of(lambda: [conclude(pf_compiled, a) for a in pf_cases]),
            "",
        )
    )

    table = [
        f"{FACILITIES:,} facilities × {ARTICLES} articles per run; best of {REPEATS}; one core; "
        f"Python {platform.python_version()} on {platform.machine()}. Target: under {TARGET_SECONDS:g} s.",
        "",
        "| run | seconds | per conclusion | vs baseline |",
        "|---|---:|---:|---:|",
    ]
    for label, seconds, ratio in rows:
        table.append(f"| {label} | {seconds:.3f} | {seconds / FACILITIES * 1e6:.0f} µs | {ratio} |")
    table += [
        "",
        f"- Compiling the graded standard once (grade ranks, article scopes, explanation marks): {compile_seconds * 1e3:.2f} ms.",
        f"- Engine and baseline agree on all {FACILITIES:,} graded conclusions: "
        f"{'yes' if mismatches == 0 else f'NO ({mismatches} differ)'}.",
        "- Outcomes in the graded run: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + ".",
        "- Command: `.venv/bin/python bench/standards_bench.py --write`",
    ]
    text = "\n".join(table)
    print(HEADING)
    print()
    print(text)
    if args.write:
        write_section(text)
    if mismatches:
        return 1
    return 0 if t_engine < TARGET_SECONDS else 2


def write_section(body: str) -> None:
    """Replace (or append) only our section of docs/benchmarks.md; other sections are left as they are."""
    old = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    section = f"{HEADING}\n\n{body}\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(old):
        new = pattern.sub(lambda _m: section + "\n", old, count=1).rstrip("\n") + "\n"
    else:
        new = old.rstrip("\n") + "\n\n" + section
    DOCS.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
