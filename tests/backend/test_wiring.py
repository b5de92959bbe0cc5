"""One filling of the hooks (backend/wiring.py): the app hands its lower areas the same functions the demo
loader uses, and every hook is filled."""

from __future__ import annotations

import dataclasses

import pytest
from litestar import Litestar

from backend.hooks import Hooks
from backend.wiring import wired_hooks


@pytest.mark.no_database
def test_the_app_hands_in_the_wired_hooks_every_one_filled(app: Litestar) -> None:
    hooks = wired_hooks()
    assert app.state.hooks == hooks
    names = [field.name for field in dataclasses.fields(Hooks)]
    assert len(names) >= 11
    assert all(callable(getattr(hooks, name)) for name in names)
