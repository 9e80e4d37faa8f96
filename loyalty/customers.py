"""Finding a guest the way staff know them: customer id, loyalty number, email or phone."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.errors import LoyaltyError, NotFoundError
from loyalty.ids import is_ascii_digits, parse_id
from loyalty.models import Customer, LoyaltyAccount

PHONE_CHARS = re.compile(r"[\s().-]")


def find_customer(session: Session, ref: str) -> Customer:
    """The one guest ``ref`` names. Plain ASCII digits are a customer id first, then a phone
    number; ``@`` means an email (case-insensitive); anything else a loyalty number or a phone.
    White space around ``ref`` is ignored (it is what staff typed)."""
    text = (ref or "").strip()
    if not text:
        raise LoyaltyError("give a customer id, loyalty number, email or phone")
    if len(text) > 254:
        raise LoyaltyError("that is too long to be a customer id, loyalty number, email or phone")
    customer_id = parse_id(text)
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is not None:
            return customer
    if "@" in text:
        found = session.scalars(select(Customer).where(
            func.lower(Customer.email) == text.lower()).limit(2)).all()
    else:
        found = session.scalars(select(Customer).join(LoyaltyAccount).where(
            LoyaltyAccount.loyalty_number == text).limit(2)).all()
        if not found:
            phone = PHONE_CHARS.sub("", text)
            found = session.scalars(select(Customer).where(
                Customer.phone.in_({text, phone, "+" + phone.lstrip("+")})).limit(2)).all()
            if not found and is_ascii_digits(phone) and len(phone) >= 7:
                # Staff type the local number; cards store it with the country code.
                found = session.scalars(select(Customer).where(
                    Customer.phone.like(f"%{phone}")).limit(2)).all()
    if not found:
        raise NotFoundError(f"no customer matches {text!r} (customer id, loyalty number, "
                            "email or phone)")
    if len(found) > 1:
        raise LoyaltyError(f"more than one customer matches {text!r}: use the loyalty number")
    return found[0]
