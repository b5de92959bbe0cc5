"""What a refused standard file or a refused set of answers says: each problem with its JSON path.

Paths are in the wire (camelCase) form, e.g. `$.sections[2].articles[5].number`, the same form msgspec uses
for type errors, so a person can find the spot in the file they wrote.
"""

from __future__ import annotations

import re

import msgspec

_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)


class Problem(msgspec.Struct, frozen=True):
    path: str
    message: str
    # a problem with answers names them as data too: the path's keys, e.g. ("answers", rater, article)
    keys: tuple[str, ...] = ()


def answer_problem(message: str, root: str, *keys: str) -> Problem:
    """A problem with the answer at ``$.root["key"]…``, its keys kept beside the path (``Problem.keys``)."""
    return Problem(f"$.{root}" + "".join(f'["{key}"]' for key in keys), message, (root, *keys))


class StandardValidationError(ValueError):
    """A standard file (or a set of answers) was refused; `problems` lists each reason with its path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "; ".join(f"{p.path}: {p.message}" for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"{len(problems)} problem(s): {lines}{more}")


class AnswerValidationError(StandardValidationError):
    """Answers or prerequisite results that do not fit the standard (unknown article, unknown grade, …)."""


def problem_from_msgspec(error: msgspec.ValidationError | msgspec.DecodeError, prefix: str = "$") -> Problem:
    """Map msgspec's "message - at `$.a[0].b`" into a Problem with the same path (under `prefix`)."""
    text = str(error)
    match = _MSGSPEC_PATH.match(text)
    message, path = (match.group("message"), match.group("path")) if match else (text, None)
    if path is None:
        return Problem(prefix, message)
    return Problem(prefix + path[1:], message)
