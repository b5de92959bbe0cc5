"""What the blob jobs store where: derivative keys."""

from __future__ import annotations

import pytest

from media.blob_jobs import derivative_key


def test_derivative_keys_are_clean() -> None:
    sha = "ab" * 32
    assert derivative_key(sha, "thumb") == f"derived/thumb/ab/ab/{sha}.jpg"
    with pytest.raises(ValueError, match="invalid storage key"):
        derivative_key("../../x", "thumb")
