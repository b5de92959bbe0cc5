"""Password hashing with argon2id (memory-hard); hashing is CPU-heavy, so callers use a worker thread."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.settings import PasswordHashing

# NIST SP 800-63B's floor for a chosen password; the ceiling only bounds the hashing work of one request.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

_HASHERS: dict[PasswordHashing, PasswordHasher] = {
    # 19 MiB, 2 passes: OWASP's argon2id baseline; a login costs tens of milliseconds.
    "argon2id": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
    # argon2's minimum (8 KiB, 1 pass): the test suite hashes and verifies thousands of passwords.
    "argon2id-tests-only": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
# Verified when the username is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASHES = {name: hasher.hash("fieldcheck-no-such-user") for name, hasher in _HASHERS.items()}
_current: list[PasswordHashing] = ["argon2id"]


def use_password_hashing(hashing: PasswordHashing) -> None:
    """Chosen once per process from settings (``create_app``, the CLI). A stored hash carries its own
    parameters, so verifying never depends on this choice; only new hashes and the dummy do."""
    _current[0] = hashing


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_HASHERS[_current[0]].hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    hashing = _current[0]
    try:
        return _HASHERS[hashing].verify(stored_hash or _DUMMY_HASHES[hashing], password) and (
            stored_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, stored_hash, password)
