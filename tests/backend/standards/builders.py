"""Plain builders of small standards (dicts in wire form) for the standards tests."""

from __future__ import annotations

import copy
from typing import Any

GRADES = [
    {"code": "A", "rank": 3, "cumulativeOf": "B"},
    {"code": "B", "rank": 2, "cumulativeOf": "C"},
    {"code": "C", "rank": 1},
    {"code": "D", "rank": 0},
]
PREREQS = [
    {"id": "P1", "text": "执业注册第一名称为乡镇卫生院", "verification": "verified"},
    {"id": "P2", "text": "无二级及以上医疗事故", "verification": "verified"},
]
ALL_PASS = {"P1": True, "P2": True}


def article(number: str, kind: str = "basic", **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": f"条款 {number}", "kind": kind, "verification": "verified", **extra}


def graded(
    articles: list[dict[str, Any]] | None = None,
    tiers: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A graded standard: by default 8 basic articles (1.1–1.4, 2.1–2.4) and 2 recommended (3.1, 3.2)."""
    if articles is None:
        articles = [article(f"{s}.{i}") for s in (1, 2) for i in range(1, 5)]
        articles += [article("3.1", "recommended"), article("3.2", "recommended")]
    sections: dict[str, list[dict[str, Any]]] = {}
    for a in articles:
        sections.setdefault(a["number"].split(".")[0], []).append(a)
    if tiers is None:
        tiers = [
            {
                "code": "recommended",
                "label": "推荐标准",
                "verification": "verified",
                "conditions": [
                    {"scope": "basic", "gradeAtLeast": "B", "minRatio": 0.5},
                    {"scope": "recommended", "gradeAtLeast": "C", "minRatio": 1.0},
                ],
            },
            {
                "code": "basic",
                "label": "基本标准",
                "verification": "verified",
                "conditions": [{"scope": "basic", "gradeAtLeast": "C", "minRatio": 0.75}],
            },
        ]
    raw: dict[str, Any] = {
        "id": "test-graded",
        "programme": "测试",
        "edition": "2024",
        "name": "测试标准",
        "jurisdiction": {"level": "national"},
        "facilityKinds": ["乡镇卫生院"],
        "verification": "verified",
        "scoring": {"mode": "graded", "grades": copy.deepcopy(GRADES)},
        "prerequisites": copy.deepcopy(PREREQS),
        "sections": [
            {"code": code, "title": f"第{code}章", "articles": arts}
            for code, arts in sorted(sections.items())
        ],
        "determination": {"tiers": tiers, "fallback": {"code": "not_reached", "label": "未达标"}},
    }
    raw.update(extra)
    return raw


def points() -> dict[str, Any]:
    """A 1,000-point standard: two sections of 600 and 400, an indicator with a floor, one veto item."""
    return {
        "id": "test-points",
        "programme": "测试",
        "edition": "2024",
        "name": "千分制测试",
        "jurisdiction": {"level": "national"},
        "facilityKinds": ["县"],
        "verification": "verified",
        "scoring": {"mode": "points", "total": 1000},
        "sections": [
            {
                "code": "1",
                "title": "管理",
                "maxPoints": 600,
                "articles": [
                    {"number": "1.1", "title": "制度", "verification": "verified", "points": 300},
                    {"number": "1.2", "title": "经费", "verification": "verified", "points": 200},
                    {
                        "number": "1.3",
                        "title": "可缺项",
                        "verification": "verified",
                        "points": 100,
                        "naAllowed": True,
                    },
                ],
            },
            {
                "code": "2",
                "title": "指标",
                "maxPoints": 400,
                "articles": [
                    {
                        "number": "2.1",
                        "title": "孕产妇系统管理率",
                        "verification": "verified",
                        "points": 200,
                        "indicator": {"op": ">=", "value": 0.9, "floor": 0.9, "scoring": "linear_to_target"},
                    },
                    {
                        "number": "2.2",
                        "title": "住院分娩率",
                        "verification": "verified",
                        "points": 200,
                        "indicator": {"op": ">=", "value": 0.97, "mandatory": True},
                    },
                ],
            },
        ],
        "vetoItems": [{"id": "V1", "text": "完成资源整合", "verification": "verified"}],
        "determination": {
            "tiers": [
                {
                    "code": "demonstration",
                    "label": "示范",
                    "verification": "verified",
                    "conditions": [
                        {"scope": "all", "minRatio": 0.9},
                        {"scope": "section:2", "minRatio": 0.8},
                    ],
                }
            ],
            "fallback": {"code": "not_awarded", "label": "未达到"},
        },
    }


def passfail() -> dict[str, Any]:
    items = [{"number": f"{i}", "title": f"检查项 {i}", "verification": "verified"} for i in range(1, 11)]
    items[0]["critical"] = True
    items[9]["naAllowed"] = True
    return {
        "id": "test-passfail",
        "programme": "测试",
        "edition": "2024",
        "name": "食堂检查",
        "jurisdiction": {"level": "institution"},
        "facilityKinds": ["学校食堂"],
        "verification": "verified",
        "scoring": {"mode": "passfail"},
        "sections": [{"code": "1", "title": "食堂", "articles": items}],
        "determination": {
            "tiers": [
                {
                    "code": "pass",
                    "label": "合格",
                    "verification": "verified",
                    "conditions": [{"scope": "all", "minRatio": 0.8}],
                }
            ],
            "fallback": {"code": "fail", "label": "不合格"},
        },
    }


def weighted() -> dict[str, Any]:
    raw = passfail()
    raw["id"] = "test-weighted"
    raw["scoring"] = {
        "mode": "weighted",
        "scale": 100,
        "groups": [
            {
                "code": "routine",
                "label": "平时考核",
                "weight": 0.7,
                "raters": [
                    {"code": "duty_officer", "label": "值日行政", "weight": 0.4},
                    {"code": "students", "label": "学生", "weight": 0.15},
                    {"code": "class_teachers", "label": "班主任", "weight": 0.15},
                ],
            },
            {
                "code": "end_of_term",
                "label": "期末考核",
                "weight": 0.3,
                "raters": [{"code": "representatives", "label": "学生代表", "weight": 0.3}],
            },
        ],
    }
    raw["determination"]["tiers"] = [
        {
            "code": "good",
            "label": "优良",
            "verification": "verified",
            "conditions": [{"scope": "all", "minRatio": 0.9}],
        },
        {
            "code": "pass",
            "label": "合格",
            "verification": "verified",
            "conditions": [{"scope": "all", "minRatio": 0.6}],
        },
    ]
    return raw
