"""Passwords: argon2id hashes (argon2-cffi), never the password itself.

Why argon2id through a well-kept library: it is the memory-hard hash the OWASP and NCSC guidance
recommend, and home-made crypto is how password stores leak. An unknown user name is checked against a
dummy hash, so the time taken does not tell an attacker which names exist.

Why these parameters (OWASP Password Storage Cheat Sheet's first argon2id setting: 46 MiB, 1 pass, 1 lane)
rather than argon2-cffi's default (RFC 9106's low-memory setting: 64 MiB, 3 passes, 4 lanes): on this 2-core
machine the default took 475 ms a check (median, machine shared), over the 300 ms a sign-in may take and a
cheap way for anyone to tie up both cores; this one took 74 ms. Each hash records its parameters, so a
stronger setting later applies to new passwords while old ones still verify.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PASSWORD_MIN_CHARS = 12  # NCSC: length over complexity ("three random words")
PASSWORD_MAX_CHARS = 256  # bounds the work one sign-in can ask for
_hasher = PasswordHasher(time_cost=1, memory_cost=47_104, parallelism=1)
_DUMMY_HASH = _hasher.hash("not a password anyone has: it only spends the time a real check would")


class PasswordError(ValueError):
    """A password that may not be used; the message says why."""


def check_policy(password: str, *, username: str) -> None:
    """Refuse passwords that are too short, too long, or the user name."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise PasswordError(f"a password needs at least {PASSWORD_MIN_CHARS} characters (three random words work well)")
    if len(password) > PASSWORD_MAX_CHARS:
        raise PasswordError(f"a password may have at most {PASSWORD_MAX_CHARS} characters")
    if password.strip().lower() == username.strip().lower():
        raise PasswordError("a password may not be the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no stored hash (no such user) the same work is done and False returned."""
    if len(password) > PASSWORD_MAX_CHARS:
        return False
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
