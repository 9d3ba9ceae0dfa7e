"""Password hashing with Argon2id (pwdlib's recommended settings). Argon2 is deliberately slow, so it runs
in a worker thread: a burst of sign-ins must not stall every other request on the event loop."""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# Verifying against this when the phone is unknown makes a failed sign-in take as long either way.
_UNKNOWN_USER_HASH = _hasher.hash("no such user: constant-time padding")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        await asyncio.to_thread(_hasher.verify, password, _UNKNOWN_USER_HASH)
        return False
    return await asyncio.to_thread(_hasher.verify, password, password_hash)
