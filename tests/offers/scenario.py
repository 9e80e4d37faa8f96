"""A small restaurant world with predictions, for the rule engine and offer tests.

Customers alternate between two kinds: even ids are "at risk" (churn 0.8, complained about the
service), odd ids are "loyal" (churn 0.1). Every customer has a card, two visits with order
items, a prediction with a churn explanation, and a membership in the segment of their kind.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loyalty.features.tabular import FEATURE_NAMES
from loyalty.models import (
    Customer,
    Explanation,
    Location,
    LoyaltyAccount,
    MenuItem,
    ModelVersion,
    OrderItem,
    Prediction,
    Segment,
    SegmentMembership,
    Visit,
)

NOW = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
MENU = [("Lomo saltado", "main", 54.0), ("Ceviche clásico", "main", 45.0),
        ("Suspiro limeño", "dessert", 16.0), ("Picarones", "dessert", 14.0),
        ("Chicha morada", "drink", 9.0)]


def features(at_risk: bool) -> dict[str, float]:
    values = {name: 0.0 for name in FEATURE_NAMES}
    values.update({
        "recency_days": 90.0 if at_risk else 5.0, "frequency_90d": 0.0 if at_risk else 4.0,
        "frequency_365d": 3.0 if at_risk else 16.0, "visits_total": 3.0 if at_risk else 20.0,
        "monetary_avg": 80.0, "monetary_total": 240.0 if at_risk else 1600.0,
        "gap_ratio": 4.0 if at_risk else 0.5, "has_repeat_visits": 1.0, "tenure_days": 400.0,
        "share_dinner": 0.8, "share_lunch": 0.2, "has_reviews": 1.0,
        "aspect_service": -0.7 if at_risk else 0.5,
        "sentiment_mean": -0.5 if at_risk else 0.6,
    })
    return values


def reasons(at_risk: bool) -> dict[str, Any]:
    risk = ([{"code": "LAPSING", "text": "No visit in 90 days", "shap": 0.3},
             {"code": "NEG_SERVICE", "text": "Reviews complain about the service", "shap": 0.2}]
            if at_risk else [])
    risk_es = ([{"code": "LAPSING", "text": "Sin visitas en 90 días", "shap": 0.3}]
               if at_risk else [])
    return {"en": {"risk": risk, "protective": [],
                   "line": "; ".join(r["text"] for r in risk) or "Visits regularly"},
            "es": {"risk": risk_es, "protective": [],
                   "line": "; ".join(r["text"] for r in risk_es) or "Viene con regularidad"},
            "codes": [r["code"] for r in risk]}


def make_world(engine: Engine, customers: int = 20) -> dict[str, Any]:
    """Rows for ``customers`` guests; returns ids: customers, segments, menu, visits."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        loc = Location(source="test", external_id="L1", name="Miraflores", city="Lima")
        s.add(loc)
        items = [MenuItem(source="test", external_id=f"M{k}", name=n, category=c, price=p)
                 for k, (n, c, p) in enumerate(MENU)]
        s.add_all(items)
        model = ModelVersion(kind="churn", version="test-1", status="production", path="/x")
        s.add(model)
        segs = {kind: Segment(key=f"seg-{kind}", name=f"{kind} guests", size=0,
                              mean_churn_probability=0.8 if kind == "risk" else 0.1,
                              profile={"complaints": ["service"] if kind == "risk" else [],
                                       "drivers": [], "customer_share": 0.5,
                                       "favourite_dishes": ["Lomo saltado"]},
                              revenue_share=0.3 if kind == "risk" else 0.7)
                for kind in ("risk", "loyal")}
        s.add_all(segs.values())
        s.flush()
        ids, visits = [], {}
        for i in range(customers):
            at_risk = i % 2 == 0
            c = Customer(source="test", external_id=f"C{i}", first_name=f"Ana{i}",
                         last_name="Test", email=f"ana{i}@example.com",
                         phone=f"+5190000{i:04d}", language="es" if i % 4 < 2 else "en",
                         birthday=date(1990, 6, 20) if i % 5 == 0 else date(1990, 1, 1),
                         signup_date=date(2024, 1, 1), home_location_id=loc.id)
            s.add(c)
            s.flush()
            s.add(LoyaltyAccount(customer_id=c.id, loyalty_number=f"L{c.id:06d}", points=100,
                                 tier="silver", enrolled_on=date(2024, 1, 1)))
            vs = []
            for k in range(2):
                v = Visit(source="test", external_id=f"V{i}-{k}", customer_id=c.id,
                          location_id=loc.id, total_amount=80.0,
                          visited_at=NOW - timedelta(days=(90 if at_risk else 5) + 30 * k))
                s.add(v)
                s.flush()
                s.add(OrderItem(visit_id=v.id, line_no=1, menu_item_id=items[k % 2].id,
                                quantity=1 + k, unit_price=items[k % 2].price))
                s.add(OrderItem(visit_id=v.id, line_no=2, menu_item_id=items[3].id,
                                quantity=1, unit_price=items[3].price))
                vs.append(v.id)
            visits[c.id] = vs
            p = Prediction(customer_id=c.id, model_version_id=model.id, as_of=NOW.date(),
                           churn_probability=0.8 if at_risk else 0.1,
                           tier="bronze" if at_risk else "gold",
                           tier_probabilities={"bronze": 0.7, "silver": 0.1, "gold": 0.1,
                                               "platinum": 0.1})
            s.add(p)
            s.flush()
            s.add(Explanation(prediction_id=p.id, target="churn", base_value=0.4,
                              output_value=p.churn_probability,
                              shap_values={n: 0.0 for n in FEATURE_NAMES},
                              feature_values=features(at_risk), reason_codes=reasons(at_risk)))
            s.add(SegmentMembership(segment_id=segs["risk" if at_risk else "loyal"].id,
                                    customer_id=c.id, as_of=NOW.date(), distance=0.1))
            ids.append(c.id)
    return {"customers": ids, "segments": {k: v.id for k, v in segs.items()},
            "visits": visits, "menu": {i.name: i.id for i in items}, "location": loc.id}


def rule_doc(key: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": key, "name": key.replace("-", " ").title(),
        "conditions": {"field": "churn_probability", "op": ">=", "value": 0.5},
        "reward": {"type": "percent_off", "percent": 15},
        "message": "{first_name|Hello}, enjoy {reward} until {expires}.",
        "messages": {"es": "{first_name|Hola}, disfruta {reward} hasta el {expires}."},
        "control_share": 0.0,
    }
    doc.update(overrides)
    return doc
