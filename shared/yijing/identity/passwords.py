"""Password hashing with Argon2id (pwdlib's recommended settings)."""

from __future__ import annotations

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# Verifying against this when the phone is unknown makes a failed sign-in take as long either way.
_UNKNOWN_USER_HASH = _hasher.hash("no such user: constant-time padding")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _UNKNOWN_USER_HASH)
        return False
    return _hasher.verify(password, password_hash)
