"""Parse standard files, and read the standards shipped in `backend/standards/data/`.

`parse_standard` is pure (bytes in, Standard out). The `shipped_*` helpers only read the package's own
data files (read-only, no network, no database) and remember the parsed result.
"""

from __future__ import annotations

import functools
from importlib import resources

import msgspec

from backend.standards.problems import Problem, StandardValidationError, problem_from_msgspec
from backend.standards.schemas import Standard
from backend.standards.validation import validate_standard

_DATA_PACKAGE = "backend.standards"


def parse_standard(data: bytes | str) -> Standard:
    """Decode JSON text and validate it. Raises StandardValidationError (JSON syntax errors included)."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as error:
        raise StandardValidationError([problem_from_msgspec(error)]) from None
    if not isinstance(raw, dict):
        raise StandardValidationError([Problem("$", "a standard is a JSON object")])
    return validate_standard(raw)


def shipped_names() -> tuple[str, ...]:
    """Names (file stems) of the standards shipped with the app, sorted."""
    folder = resources.files(_DATA_PACKAGE) / "data"
    return tuple(sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")))


def shipped_bytes(name: str) -> bytes:
    """The raw JSON of a shipped standard. Raises KeyError for an unknown name."""
    if name not in shipped_names():
        raise KeyError(name)
    return (resources.files(_DATA_PACKAGE) / "data" / f"{name}.json").read_bytes()


@functools.cache
def load_shipped(name: str) -> Standard:
    """A shipped standard, parsed and validated once (the same object on every call)."""
    return parse_standard(shipped_bytes(name))
