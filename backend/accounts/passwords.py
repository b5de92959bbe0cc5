"""Password hashing with argon2id (memory-hard); hashing is CPU-heavy, so callers use a worker thread."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# NIST SP 800-63B's floor for a chosen password; the ceiling only bounds the hashing work of one request.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

# 19 MiB, 2 passes: OWASP's argon2id baseline; a login costs tens of milliseconds.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the username is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("fieldcheck-no-such-user")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, stored_hash, password)
