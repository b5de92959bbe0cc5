"""Desk review (资料复核) and on-site review (现场复核) kept apart: a review stage's inspection is one or the
other. The programme says which tiers must be reviewed on site at a stage (reviewChain[level].onsiteRequiredFor:
the recommended tier at province, seed 000 篇一 "对上报达到推荐标准（A档次）的机构全覆盖现场复核"); elsewhere the
office chooses, on site by default. Pure."""

from __future__ import annotations

from typing import Literal

from backend.errors import Conflict, RuleRefused
from backend.standards.schemas import Standard

ReviewMode = Literal["onsite", "desk"]


def onsite_required(standard: Standard, stage: str, tier: str) -> bool:
    return any(
        step.level == stage and tier in step.onsite_required_for
        for step in standard.programme_settings.review_chain
    )


def review_mode_for(
    standard: Standard | None, stage: str, tier: str | None, requested: ReviewMode | None
) -> str | None:
    """The mode an inspection of ``stage`` gets: None for a self-assessment; a desk review where the programme
    requires the tier on site is refused (409 ``onsite_required``)."""
    if stage == "self":
        if requested is not None:
            raise RuleRefused(
                "a self-assessment (自评) is not a review: it has no review mode", code="not_a_review"
            )
        return None
    mode = requested or "onsite"
    if (
        mode == "desk"
        and standard is not None
        and tier is not None
        and onsite_required(standard, stage, tier)
    ):
        raise Conflict(
            f"the programme reviews every {tier}-tier facility on site at the {stage} stage (现场复核); "
            "a desk review (资料复核) is not enough",
            code="onsite_required",
            stage=stage,
            tier=tier,
        )
    return mode
