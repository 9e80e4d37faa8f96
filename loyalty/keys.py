"""API keys: created once, shown once, stored only as a hash, checked on every request.

A key reads ``lk_<prefix>_<secret>``: ``prefix`` is 8 random lower-case hex characters that find
the row (``api_keys.prefix``, unique) without scanning hashes, and ``secret`` is 32 random bytes
from :mod:`secrets`, URL-safe base64 (43 characters). The database keeps the SHA-256 of the whole
key, in hex. A fast hash is the right one here: slow password hashes (bcrypt, scrypt, Argon2)
exist to make guessing *low-entropy* passwords expensive, and a 256-bit random secret cannot be
guessed however fast the hash is, while the API checks a key on every request.

Verification parses strictly (anything malformed is simply "no key", never an exception),
compares hashes in constant time and refuses revoked keys. It stamps ``last_used_at`` at most
once a minute, so the hot path does not write on every request; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from loyalty.errors import LoyaltyError, NotFoundError
from loyalty.ids import parse_id
from loyalty.models import ROLES, ApiKey, utcnow

KEY_PREFIX = "lk"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
LAST_USED_EVERY = timedelta(minutes=1)
MAX_NAME = 100

# token_urlsafe(32) is 43 characters of [A-Za-z0-9_-]; the prefix is token_hex(4).
_KEY = re.compile(r"lk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256 of the whole key, hex."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def parse_key(presented: object) -> str | None:
    """The prefix of a well-formed key, or None for anything else."""
    if not isinstance(presented, str) or len(presented) > 64:
        return None
    match = _KEY.fullmatch(presented)
    return match.group(1) if match else None


def create_key(session: Session, *, role: str, name: str) -> tuple[ApiKey, str]:
    """Create a key of ``role``; returns the row and the key itself, which is never stored.

    The caller commits (and shows the key once: it cannot be recovered, only replaced).
    """
    if role not in ROLES:
        raise LoyaltyError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    name = (name or "").strip()
    if not name:
        raise LoyaltyError("an API key needs a name (who or what uses it)")
    if len(name) > MAX_NAME:
        raise LoyaltyError(f"an API key's name is at most {MAX_NAME} characters")
    for _ in range(10):
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        taken = session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
        if taken is None:
            break
    else:  # 10 collisions in a 2**32 space: something is wrong with the random source
        raise LoyaltyError("could not find a free key prefix")
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    row = ApiKey(name=name, prefix=prefix, key_hash=hash_key(key), role=role,
                 created_at=utcnow())
    session.add(row)
    session.flush()
    return row, key


# Built once: checked on every request, and building a select costs more than running it.
_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))


def verify_key(session: Session, presented: str, *, now: datetime | None = None
               ) -> ApiKey | None:
    """The live key row ``presented`` belongs to, or None (malformed, unknown or revoked).

    Never raises for bad input. May stamp ``last_used_at`` (at most once a minute), left
    pending in the session: the caller commits it, or rolls back to skip that write.
    """
    prefix = parse_key(presented)
    if prefix is None:
        return None
    row = session.scalars(_BY_PREFIX, {"prefix": prefix}).one_or_none()
    if row is None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(presented)):
        return None
    if row.revoked_at is not None:
        return None
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now  # pending in the session (``session.dirty``) until it commits
    return row


def get_key(session: Session, prefix_or_id: str | int) -> ApiKey:
    """A key by its prefix (as `keys list` shows it; ``lk_<prefix>`` and the whole key also
    work) or by its numeric id."""
    ref = str(prefix_or_id).strip()
    if ref.startswith(f"{KEY_PREFIX}_"):
        ref = ref.split("_")[1]
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == ref.lower())).one_or_none()
    key_id = parse_id(ref)
    if row is None and key_id is not None:
        row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"no API key {str(prefix_or_id)[:20]!r}")
    return row


def revoke_key(session: Session, prefix_or_id: str | int, *, now: datetime | None = None
               ) -> ApiKey:
    """Revoke a key for good (idempotent: a revoked key keeps its first revocation time).

    The caller commits.
    """
    row = get_key(session, prefix_or_id)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, revoked ones too, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


__all__ = ["create_key", "get_key", "hash_key", "list_keys", "parse_key", "revoke_key",
           "verify_key"]
