"""An app on a migrated test database (SQLite and PostgreSQL), keys for every role, and a small
world of guests with predictions, segments and one active rule."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from api import create_app
from api.config import Config
from loyalty.models import ROLES
from loyalty.rules.store import activate, save_rule
from tests.offers.scenario import NOW, make_world, rule_doc


@pytest.fixture
def app(engine, settings):
    app = create_app(Config(settings=settings, testing=True))
    yield app
    app.extensions["loyalty.db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def keys(engine):
    """A key per role: {"staff": "lk_...", ...}."""
    from loyalty.keys import create_key

    out = {}
    with Session(engine) as session, session.begin():
        for role in ROLES:
            _, secret = create_key(session, role=role, name=f"test {role}")
            out[role] = secret
    return out


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def world(engine):
    """20 guests (even ids at risk, odd loyal), two segments, an active win-back rule."""
    made = make_world(engine, customers=20)
    with Session(engine) as session, session.begin():
        save_rule(session, rule_doc("winback", control_share=0.0))
        activate(session, "winback", now=NOW)
    return made
