"""The offer to give a guest now (issued on first ask), and redeeming it at the till.

A guest held back in a rule's control group is never shown as such: staff see "no offer for
this guest now", exactly as for a guest no rule matched, so the measurement stays blind.
"""

from __future__ import annotations

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from api import API_PREFIX
from api.auth import SECURITY, require
from api.blueprints.customers import settings
from api.errors import problem, problem_responses
from api.extensions import database, db_session, rule_books
from api.metrics import OFFERS_ISSUED, OFFERS_REDEEMED
from api.schemas.customers import (
    CustomerOffer,
    CustomerPath,
    OfferOut,
    OfferPath,
    RedeemBody,
    RedeemedOffer,
)
from loyalty.errors import OfferError
from loyalty.models import Offer, utcnow
from loyalty.offers.issue import issue_offer
from loyalty.offers.lifecycle import redeem

bp = APIBlueprint("offers", __name__, url_prefix=API_PREFIX,
                  abp_tags=[Tag(name="offers", description="The offer to give a guest now")])

NO_OFFER_NOW = "no offer for this guest now"


def reward_text(offer: Offer, language: str) -> str:
    described = (offer.reward or {}).get("description") or {}
    if isinstance(described, dict):
        return str(described.get(language) or described.get("en") or
                   next(iter(described.values()), "") or offer.reward.get("type", ""))
    return str(described)


def offer_out(offer: Offer, language: str) -> OfferOut:
    return OfferOut(code=offer.code, status=offer.status, message=offer.message,
                    reward=reward_text(offer, language),
                    reward_type=str((offer.reward or {}).get("type", "")),
                    reason=offer.reason, issued_at=offer.issued_at, expires_at=offer.expires_at)


def _no_offer_reason(reason: str) -> str:
    """Why no offer, in words for the floor (never naming a control group)."""
    if reason.startswith("no prediction"):
        return "no prediction for this guest yet, so no offer now"
    if reason.startswith("recent offer"):
        return f"{NO_OFFER_NOW}: the guest had one recently ({reason.split(': ', 1)[-1]})"
    if reason in ("no rule matches", "no active rules"):
        return f"{NO_OFFER_NOW}: {reason}"
    return NO_OFFER_NOW


@bp.get("/customers/<customer_id>/offer", security=SECURITY, summary="The offer to give now",
        description="The guest's current offer; when there is none, one is issued now by the "
                    "active reward rules. `offer` is null, with a `reason`, when no offer can "
                    "be given now.",
        responses={200: CustomerOffer, **problem_responses(401, 403, 404, 422)})
@require("staff")
def customer_offer(path: CustomerPath):
    config = settings()
    language = config.staff_language
    result = issue_offer(database().engine, path.customer_id, settings=config, now=utcnow(),
                         book=rule_books().current(), session=db_session())
    if result.offer is None or result.offer.is_control:
        reason = NO_OFFER_NOW if result.offer is not None else _no_offer_reason(result.reason)
        return CustomerOffer(customer_id=result.customer_id, offer=None,
                             reason=reason).model_dump(mode="json")
    if result.issued:
        OFFERS_ISSUED.inc()
    return CustomerOffer(customer_id=result.customer_id,
                         offer=offer_out(result.offer, language),
                         issued_now=result.issued).model_dump(mode="json")


@bp.post("/offers/<code>/redeem", security=SECURITY, summary="Redeem an offer",
         description="The guest used the offer (on `visit_id` when given). 409 when it cannot "
                     "be redeemed (already redeemed, expired, cancelled...), 404 for an "
                     "unknown code or visit.",
         responses={200: RedeemedOffer, **problem_responses(400, 401, 403, 404, 409, 422)})
@require("staff")
def redeem_offer(path: OfferPath, body: RedeemBody):
    if request.get_data(cache=True).strip() and request.get_json(silent=True) is None:
        return problem(400, "Bad request", 'the body must be JSON, e.g. {"visit_id": 123}, '
                                           "or empty")
    session = db_session()
    try:
        offer = redeem(session, path.code, visit_id=body.visit_id, now=utcnow())
    except OfferError:
        session.commit()  # keeps an offer found past its expiry marked expired
        raise
    session.commit()
    OFFERS_REDEEMED.inc()
    return RedeemedOffer(code=offer.code, status="redeemed", customer_id=offer.customer_id,
                         reward=reward_text(offer, settings().staff_language),
                         redeemed_at=offer.redeemed_at,
                         visit_id=offer.redeemed_visit_id).model_dump(mode="json")
