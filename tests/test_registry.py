"""The model registry on both databases: one production version per kind, honest promotion."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from loyalty import registry
from loyalty.errors import NotFoundError


def _register(session, version, f1, kind=registry.SENTIMENT):
    return registry.register(session, kind=kind, version=version, path=Path(f"/m/{version}"),
                             metrics={"test_macro_f1": f1}, seed=0)


def _row(session, version, auc):
    return registry.register(session, kind=registry.CHURN, version=version,
                             path=Path(f"/m/{version}"), metrics={"auc": auc}, seed=0)


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


def test_lookup_by_version_and_path(engine, settings):
    with Session(engine) as session:
        _register(session, "v1", 0.7)
        assert registry.get(session, registry.SENTIMENT, "v1").path == "/m/v1"
        found = registry.by_path(session, settings, registry.SENTIMENT, Path("/m/v1"))
        assert found.version == "v1"
        with pytest.raises(NotFoundError):
            registry.get(session, registry.SENTIMENT, "nope")
        with pytest.raises(NotFoundError, match="not a registered"):
            registry.by_path(session, settings, registry.SENTIMENT, Path("/elsewhere"))


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


def test_force_promotes_a_worse_model_and_says_so(engine):
    with Session(engine) as session:
        first = _row(session, "v1", 0.80)
        registry.promote_if_not_worse(session, first, "auc")
        worse = _row(session, "v2", 0.70)
        promoted, reason = registry.promote_if_not_worse(session, worse, "auc", force=True)
        assert promoted and "forced" in reason
        assert registry.production(session, "churn").version == "v2"


def test_gate_uses_the_production_score_measured_on_the_same_data(engine):
    with Session(engine) as session:
        first = _row(session, "v1", 0.95)  # stored score from its own (easier) validation data
        registry.promote_if_not_worse(session, first, "auc")
        new = _row(session, "v2", 0.80)
        promoted, _ = registry.promote_if_not_worse(session, new, "auc", current_value=0.79)
        assert promoted


def test_rollback_restores_the_previous_production_version(engine):
    with Session(engine) as session:
        with pytest.raises(NotFoundError):
            registry.rollback(session, "churn")
        v1 = _row(session, "v1", 0.80)
        registry.promote(session, v1)
        with pytest.raises(NotFoundError, match="nothing to roll back"):
            registry.rollback(session, "churn")
        v2 = _row(session, "v2", 0.85)
        registry.promote(session, v2)
        restored, retired = registry.rollback(session, "churn")
        session.flush()
        assert (restored.version, retired.version) == ("v1", "v2")
        assert registry.production(session, "churn").version == "v1"
        assert retired.status == "retired" and "rolled back" in retired.notes
        assert [r.version for r in registry.versions(session, "churn")][0] in {"v1", "v2"}
