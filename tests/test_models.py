"""The data model on both databases: UTC round trips, keys and constraints that protect data."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from loyalty.models import Customer, Location, LoyaltyAccount, Visit


def _customer(session: Session, ext: str = "C1") -> Customer:
    customer = Customer(source="t", external_id=ext, signup_date=date(2024, 1, 1))
    session.add(customer)
    session.flush()
    return customer


def _visit(session: Session, visited_at: datetime) -> Visit:
    """A customer, a location and one visit of theirs, added to the session."""
    loc = Location(source="t", external_id="L1", name="Miraflores")
    customer = _customer(session)
    session.add(loc)
    session.flush()
    visit = Visit(source="t", external_id="V1", customer_id=customer.id, location_id=loc.id,
                  visited_at=visited_at)
    session.add(visit)
    return visit


def test_timestamps_come_back_as_utc(engine):
    lima = timezone(timedelta(hours=-5))
    with Session(engine) as session:
        _visit(session, datetime(2025, 3, 1, 13, 0, tzinfo=lima))
        session.commit()
    with Session(engine) as session:
        visit = session.query(Visit).one()
        assert visit.visited_at == datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
        assert visit.visited_at.tzinfo is not None
        assert visit.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(engine):
    with Session(engine) as session:
        _visit(session, datetime(2025, 3, 1, 13, 0))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_external_ids_are_unique_per_source(engine):
    with Session(engine) as session:
        _customer(session, "C1")
        session.add(Customer(source="other", external_id="C1", signup_date=date(2024, 1, 1)))
        session.flush()  # the same id in another source is another customer
        session.add(Customer(source="t", external_id="C1", signup_date=date(2024, 1, 1)))
        with pytest.raises(IntegrityError):
            session.flush()


@pytest.mark.parametrize("field, value", [("tier", "diamond"), ("points", -5)])
def test_account_constraints(engine, field, value):
    with Session(engine) as session:
        customer = _customer(session)
        account = LoyaltyAccount(customer_id=customer.id, loyalty_number="L1",
                                 enrolled_on=date(2024, 1, 1), **{field: value})
        session.add(account)
        with pytest.raises(IntegrityError):
            session.flush()


def test_deleting_a_customer_removes_their_visits_and_account(engine):
    with Session(engine) as session:
        visit = _visit(session, datetime(2025, 1, 1, tzinfo=UTC))
        session.add(LoyaltyAccount(customer_id=visit.customer_id, loyalty_number="L1",
                                   enrolled_on=date(2024, 1, 1)))
        session.commit()
        session.delete(session.get(Customer, visit.customer_id))
        session.commit()
        assert session.query(Visit).count() == 0
        assert session.query(LoyaltyAccount).count() == 0


def test_the_detected_languages_are_the_detectors_labels():
    from loyalty.models import DETECTED_LANGUAGES
    from nlp.language import LABELS

    assert DETECTED_LANGUAGES == LABELS


@pytest.mark.parametrize("given, detected, counted", [
    ("en", "mixed", "en"), (" ES ", "en", "es"), (None, "other", "other"), ("", "und", "und"),
    (float("nan"), "es", "es"), ("fr", "other", "other"), ("spanish", None, None),
    (None, None, None), (None, float("nan"), None),
])
def test_a_given_language_wins_when_it_is_a_known_code(given, detected, counted):
    from loyalty.models import Review, review_language

    assert review_language(given, detected) == counted
    if given is None or isinstance(given, str):
        assert Review(language=given, language_detected=detected).effective_language == counted
