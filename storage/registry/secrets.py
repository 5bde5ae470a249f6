"""Hashing of passwords and client secrets (Argon2id); plaintext is never stored."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's Password Storage Cheat Sheet (Argon2id, 19 MiB, 2 passes, 1 lane), not argon2-cffi's
# default RFC 9106 low-memory profile (64 MiB, 4 lanes): that one took 0.6 s of two cores and
# 64 MiB of memory for every login and every HIS token, enough for a few concurrent logins to
# double the serving process's memory.  Hashes made with other parameters still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def is_secret_hash(text: str) -> bool:
    return text.startswith("$argon2")
