"""The cheap argon2id profile is for the test suite only: never the default, and a stored hash keeps its cost."""

from __future__ import annotations

from argon2 import extract_parameters

from backend.accounts import passwords
from backend.settings import Settings


def test_the_default_is_owasp_argon2id() -> None:
    assert Settings().password_hashing == "argon2id"
    assert Settings.from_env({}).password_hashing == "argon2id"


async def test_a_hash_verifies_under_either_profile_with_its_own_cost() -> None:
    try:
        passwords.use_password_hashing("argon2id")
        strong = await passwords.hash_password("secret")
        passwords.use_password_hashing("argon2id-tests-only")
        cheap = await passwords.hash_password("secret")
        assert extract_parameters(cheap).memory_cost == 8
        params = extract_parameters(strong)
        assert (params.memory_cost, params.time_cost) == (19 * 1024, 2)
        for stored in (strong, cheap):
            assert await passwords.verify_password(stored, "secret")
            assert not await passwords.verify_password(stored, "wrong")
        assert not await passwords.verify_password(None, "secret")
    finally:
        passwords.use_password_hashing("argon2id-tests-only")
