"""API keys: shown once, stored as a hash, verified in constant time, revocable."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from loyalty import keys
from loyalty.errors import LoyaltyError, NotFoundError
from loyalty.keys import create_key, list_keys, revoke_key, verify_key
from loyalty.models import ApiKey, utcnow


def _new(engine, role="staff", name="front desk"):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return create_key(session, role=role, name=name)


def test_create_shows_the_key_once_and_stores_only_its_hash(engine):
    row, key = _new(engine)
    assert re.fullmatch(r"lk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key)
    assert key.split("_", 2)[1] == row.prefix
    with Session(engine) as session:
        stored = session.scalars(select(ApiKey)).one()
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
        secret = key.split("_", 2)[2]
        assert secret not in stored.key_hash and key != stored.key_hash
        assert all(secret not in str(v) for v in (stored.name, stored.prefix, stored.role))
        assert stored.role == "staff" and stored.revoked_at is None
        assert stored.last_used_at is None


def test_verify_finds_the_key_and_refuses_a_wrong_secret(engine):
    row, key = _new(engine, role="marketing")
    other_row, other = _new(engine, role="admin", name="ops")
    with Session(engine) as session:
        found = verify_key(session, key)
        assert found is not None and found.id == row.id and found.role == "marketing"
        assert verify_key(session, other).id == other_row.id
        # the right prefix with another key's secret
        forged = f"lk_{row.prefix}_{other.split('_', 2)[2]}"
        assert verify_key(session, forged) is None


@pytest.mark.parametrize("presented", [
    "", "lk_", "lk__", "Bearer lk_x", "lk_ABCDEFGH_" + "a" * 43, "lk_0123456_" + "a" * 43,
    "lk_01234567_" + "a" * 42, "lk_01234567_" + "a" * 44, "xx_01234567_" + "a" * 43,
    "lk_01234567_" + "é" * 43, "lk_01234567_" + "a" * 10_000, "lk_01234567_" + "a" * 42 + "\n",
    None, 12345, b"lk_01234567_" + b"a" * 43,
])
def test_malformed_keys_are_none_never_an_error(engine, presented):
    _new(engine)
    with Session(engine) as session:
        assert verify_key(session, presented) is None


def test_a_well_formed_unknown_key_is_none(engine):
    _new(engine)
    with Session(engine) as session:
        assert verify_key(session, "lk_01234567_" + "a" * 43) is None


def test_unknown_role_names_the_roles(engine):
    with Session(engine) as session, pytest.raises(LoyaltyError) as err:
        create_key(session, role="chef", name="x")
    assert "staff" in str(err.value) and "marketing" in str(err.value) and "admin" in str(err.value)
    with Session(engine) as session, pytest.raises(LoyaltyError, match="name"):
        create_key(session, role="staff", name="  ")


def test_revoked_keys_are_refused_and_revoking_is_idempotent(engine):
    row, key = _new(engine)
    t0 = utcnow().replace(microsecond=0)
    with Session(engine) as session, session.begin():
        assert revoke_key(session, row.prefix, now=t0).revoked_at == t0
    with Session(engine) as session, session.begin():
        assert verify_key(session, key) is None
        again = revoke_key(session, row.id, now=t0 + timedelta(hours=1))  # by id, later
        assert again.revoked_at == t0
    with Session(engine) as session:
        assert list_keys(session)[0].revoked_at == t0


def test_revoke_by_prefix_forms_and_unknown_key(engine):
    row, key = _new(engine)
    with Session(engine) as session:
        assert revoke_key(session, f"lk_{row.prefix}").id == row.id
        session.rollback()
        assert revoke_key(session, key).id == row.id
        session.rollback()
        with pytest.raises(NotFoundError):
            revoke_key(session, "deadbeef")
        with pytest.raises(NotFoundError) as err:
            revoke_key(session, 999)
        assert "999" in str(err.value)


def test_last_used_is_stamped_at_most_once_a_minute(engine):
    row, key = _new(engine)
    t0 = utcnow().replace(microsecond=0)
    writes = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for offset, expected in [(0, 0), (30, 0), (59, 0), (61, 61), (90, 61), (200, 200)]:
            with Session(engine) as session, session.begin():
                assert verify_key(session, key, now=t0 + timedelta(seconds=offset)) is not None
            with Session(engine) as session:
                stamped = session.get(ApiKey, row.id).last_used_at
            assert stamped == t0 + timedelta(seconds=expected), offset
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(writes) == 3  # at 0, 61 and 200 seconds: the other checks only read


def test_prefixes_are_unique_even_when_the_random_source_repeats(engine, monkeypatch):
    values = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(keys.secrets, "token_hex", lambda n: next(values))
    first, _ = _new(engine, name="one")
    second, key = _new(engine, name="two")
    assert (first.prefix, second.prefix) == ("aaaaaaaa", "bbbbbbbb")
    with Session(engine) as session:
        assert verify_key(session, key).id == second.id
        assert [k.name for k in list_keys(session)] == ["one", "two"]
