"""Standards as data: one engine for graded, points, pass/fail and weighted checklists.

Public API (see docs/standards.md):
- `validate_standard(raw) -> Standard`, `parse_standard(bytes) -> Standard` (raise StandardValidationError)
- `conclude(standard, answers, facility, prerequisites) -> Conclusion` (pure; raises AnswerValidationError)
- `compile_standard(standard) -> CompiledStandard` (optional: precompute once for many conclusions)
- `combine_raters(scoring, scores) -> (combined, per-rater results)`
- `shipped_names()`, `load_shipped(name)` for the standards in `backend/standards/data/`
"""

from backend.standards.answer_checks import check_answers
from backend.standards.compiled import CompiledStandard, compile_standard
from backend.standards.conclusion import Conclusion, ConditionResult, TierResult
from backend.standards.engine import conclude
from backend.standards.loader import load_shipped, parse_standard, shipped_bytes, shipped_names
from backend.standards.problems import AnswerValidationError, Problem, StandardValidationError
from backend.standards.readiness import SubmitReadiness, submit_readiness
from backend.standards.schemas import NA, RATER_SEPARATOR, Answer, AnswerValue, FacilityFigures, Standard
from backend.standards.tally import combine_raters
from backend.standards.validation import validate_standard

__all__ = [
    "NA",
    "RATER_SEPARATOR",
    "Answer",
    "AnswerValidationError",
    "AnswerValue",
    "CompiledStandard",
    "Conclusion",
    "ConditionResult",
    "FacilityFigures",
    "Problem",
    "Standard",
    "StandardValidationError",
    "SubmitReadiness",
    "TierResult",
    "check_answers",
    "combine_raters",
    "compile_standard",
    "conclude",
    "load_shipped",
    "parse_standard",
    "shipped_bytes",
    "shipped_names",
    "submit_readiness",
    "validate_standard",
]
