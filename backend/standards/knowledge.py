"""What a conclusion knows for certain, tier by tier (pure; used by ``engine.conclude``).

Each tier is ``reached``, ``not_reached`` (including not eligible) or ``undetermined`` with its reason. The
highest certain tier is the first tier (highest first) that is reached: whatever the undetermined tiers above
it turn out to be, the result is at least that tier. When every tier is ruled out, the fallback is certain.
Nothing is ever guessed: an unknown threshold or figure leaves its tier undetermined.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.standards.conclusion import TierResult, TierStanding
from backend.standards.schemas import FallbackTier, Standard
from backend.vocabulary import Message

_STANDING = {
    "reached": "reached",
    "not_reached": "not_reached",
    "ineligible": "not_reached",
    "undecidable": "undetermined",
}

# standings, the highest certain tier's code and label, the sentence (English), the sentence as a message
Knowledge = tuple[tuple[TierStanding, ...], str | None, str | None, str, Message]


def _name(code: str, label: str) -> str:
    return f"{label} ({code})"


def _why_undecidable(result: TierResult) -> str:
    """A short cause for the one-sentence summary (the standing's reason has the whole story)."""
    if any(rule.holds is None for rule in result.eligibility) and not result.conditions:
        figures = sorted({rule.figure for rule in result.eligibility if rule.holds is None})
        return f"facility figure(s) not known: {', '.join(figures)}"
    unknown = [c for c in result.conditions if c.outcome == "unknown"]
    if unknown and all(c.required_ratio is None for c in unknown):
        return "thresholds not transcribed yet"
    return "nothing applicable to decide on"


def _cause(result: TierResult) -> Message:
    """:func:`_why_undecidable` as a person reads it."""
    if any(rule.holds is None for rule in result.eligibility) and not result.conditions:
        figures = sorted({rule.figure for rule in result.eligibility if rule.holds is None})
        return Message(
            code="cause_figures_unknown", params={"figures": [Message(code=f"figure_{f}") for f in figures]}
        )
    unknown = [c for c in result.conditions if c.outcome == "unknown"]
    if unknown and all(c.required_ratio is None for c in unknown):
        return Message(code="cause_thresholds_null")
    return Message(code="cause_nothing_applicable")


def _labels(results: Sequence[TierResult]) -> str:
    return "、".join(r.label for r in results)


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def unknown_for_all(
    standard: Standard, reason: str, message: Message, standing: str = "undetermined"
) -> Knowledge:
    """Every tier has the same standing for one reason (not evaluated, incomplete, a decisive failure)."""
    tiers = tuple(
        TierStanding(code=t.code, label=t.label, standing=standing, reason=reason, message=message)  # type: ignore[arg-type]
        for t in standard.determination.tiers
    )
    return tiers, None, None, reason, message


def decisive(standard: Standard, reasons: Sequence[str]) -> Knowledge:
    fallback = standard.determination.fallback
    why = "; ".join(reasons)
    message = Message(code="explain_decisive", params={"tier": fallback.label})
    tiers, _, _, _, _ = unknown_for_all(standard, why, message, "not_reached")
    return tiers, fallback.code, fallback.label, f"{_name(fallback.code, fallback.label)}: {why}", message


def from_tiers(results: Sequence[TierResult], fallback: FallbackTier) -> Knowledge:
    standings = tuple(
        TierStanding(
            code=r.code,
            label=r.label,
            standing=_STANDING[r.outcome],  # type: ignore[arg-type]
            reason=r.reason,
            message=r.message,
        )
        for r in results
    )
    first_reached = next((i for i, r in enumerate(results) if r.outcome == "reached"), None)
    above = results if first_reached is None else results[:first_reached]
    open_above = [r for r in above if r.outcome == "undecidable"]
    open_text = "; ".join(f"{_name(r.code, r.label)} undetermined: {_why_undecidable(r)}" for r in open_above)
    if first_reached is not None:
        top = results[first_reached]
        if not open_above:
            said = Message(code="known_reached", params={"tier": top.label})
            return standings, top.code, top.label, f"{_name(top.code, top.label)} reached", said
        undetermined = _join([_name(r.code, r.label) for r in open_above])
        causes = sorted({_why_undecidable(r) for r in open_above})
        said_causes = list({m.code: m for m in (_cause(r) for r in open_above)}.values())
        said = Message(
            code="known_at_least",
            params={"tier": top.label, "undetermined": _labels(open_above), "causes": said_causes},
        )
        return (
            standings,
            top.code,
            top.label,
            f"at least {_name(top.code, top.label)}; {undetermined} undetermined: {'; '.join(causes)}",
            said,
        )
    if not open_above:
        return (
            standings,
            fallback.code,
            fallback.label,
            f"no tier reached: {_name(fallback.code, fallback.label)}",
            Message(code="known_none_reached", params={"tier": fallback.label}),
        )
    ruled_out = [_name(r.code, r.label) for r in results if r.outcome in ("not_reached", "ineligible")]
    tail = f"; {_join(ruled_out)} not reached" if ruled_out else ""
    open_said = [Message(code="known_open", params={"tier": r.label, "cause": _cause(r)}) for r in open_above]
    out = [r for r in results if r.outcome in ("not_reached", "ineligible")]
    said = (
        Message(code="known_uncertain_ruled_out", params={"open": open_said, "ruledOut": _labels(out)})
        if out
        else Message(code="known_uncertain", params={"open": open_said})
    )
    return standings, None, None, f"no tier is certain: {open_text}{tail}", said
