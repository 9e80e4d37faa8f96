"""The model registry on both databases: one production version per kind, honest promotion."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.errors import NotFoundError


def _register(session, version, f1, kind=registry.SENTIMENT):
    return registry.register(session, kind=kind, version=version, path=Path(f"/m/{version}"),
                             metrics={"test_macro_f1": f1}, seed=0)


def test_first_model_is_promoted_then_only_if_not_worse(engine):
    with Session(engine) as session:
        first = _register(session, "v1", 0.70)
        assert registry.promote_if_not_worse(session, first, "test_macro_f1")[0]
        worse = _register(session, "v2", 0.60)
        promoted, reason = registry.promote_if_not_worse(session, worse, "test_macro_f1")
        assert not promoted and "worse than production v1" in reason
        assert worse.status == "candidate" and worse.notes == reason
        close = _register(session, "v3", 0.695)  # within the tolerance: not worse
        assert registry.promote_if_not_worse(session, close, "test_macro_f1")[0]
        session.commit()
        assert registry.production(session, registry.SENTIMENT).version == "v3"
        assert first.status == "retired"


def test_one_production_model_per_kind(engine):
    with Session(engine) as session:
        a = _register(session, "a", 0.5)
        b = _register(session, "b", 0.5, kind="ensemble")
        registry.promote(session, a)
        registry.promote(session, b)
        session.commit()
        assert registry.production(session, registry.SENTIMENT).version == "a"
        assert registry.production(session, "ensemble").version == "b"


def test_lookup_by_version_and_path(engine):
    with Session(engine) as session:
        _register(session, "v1", 0.7)
        assert registry.get(session, registry.SENTIMENT, "v1").path == "/m/v1"
        assert registry.by_path(session, registry.SENTIMENT, Path("/m/v1")).version == "v1"
        with pytest.raises(NotFoundError):
            registry.get(session, registry.SENTIMENT, "nope")
        with pytest.raises(NotFoundError, match="not a registered"):
            registry.by_path(session, registry.SENTIMENT, Path("/elsewhere"))


def test_versions_sort_by_time():
    from datetime import UTC, datetime

    early = registry.new_version(datetime(2026, 1, 1, tzinfo=UTC))
    late = registry.new_version(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late


def test_the_database_refuses_a_second_production_model(engine):
    from sqlalchemy.exc import IntegrityError

    with Session(engine) as session:
        a, b = _register(session, "a", 0.5), _register(session, "b", 0.5)
        a.status = "production"
        session.flush()
        b.status = "production"  # bypassing promote(), which retires the old one first
        with pytest.raises(IntegrityError):
            session.flush()
