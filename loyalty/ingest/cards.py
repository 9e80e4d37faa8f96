"""Loyalty cards for imported customers: every customer has one, numbers never clash."""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, select, update

from loyalty.ingest.bulk import insert_ignoring_conflicts
from loyalty.ingest.validate import Reasons
from loyalty.models import Customer, LoyaltyAccount

LOOKUP_BATCH = 1000
CARD_LEN = 32  # loyalty_accounts.loyalty_number


def fit_card(number: str) -> str:
    """A default card number too long for the column: a readable head and a hash of it all."""
    if len(number) <= CARD_LEN:
        return number
    digest = hashlib.sha1(number.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{number[:CARD_LEN - 13]}-{digest}"


class Cards:
    """Card numbers of one import: the file's `loyalty_id`, else `<source>-<customer_id>`."""

    def __init__(self, source: str, now: datetime) -> None:
        self.source = source
        self.now = now
        self._given_to: dict[str, str] = {}  # number -> customer id, across the whole file

    def numbers(self, external_ids: pd.Series, loyalty_ids: pd.Series | None) -> np.ndarray:
        default = (f"{self.source}-" + external_ids.astype(object)).map(
            fit_card, na_action="ignore")
        if loyalty_ids is None:
            return default.to_numpy()
        return loyalty_ids.where(loyalty_ids.notna(), default).to_numpy()

    def check(self, conn: Connection, typed: pd.DataFrame, reasons: Reasons,
              file_has_numbers: bool) -> None:
        """Quarantine rows whose card number belongs to someone else (in the DB or the file).

        Without a `loyalty_id` column existing customers keep their cards, so only the default
        numbers of customers new to the database are at stake.
        """
        bad = reasons.bad
        ext = typed["customer_id"].tolist()
        numbers = self.numbers(typed["customer_id"],
                               typed["loyalty_id"] if file_has_numbers else None)
        if not file_has_numbers:
            known = self._existing_customers(conn, [e for e, b in zip(ext, bad, strict=True)
                                                    if not b])
            bad = bad | np.fromiter((e in known for e in ext), dtype=bool, count=len(ext))
        owners = self._owners(conn, sorted(set(numbers[~bad])))
        for i, number in enumerate(numbers):
            if bad[i]:
                continue
            owner = owners.get(number)
            if owner and owner != (self.source, ext[i]):
                reasons.append(i, f"loyalty_id {number!r} belongs to another customer")
            elif self._given_to.setdefault(number, ext[i]) != ext[i]:
                reasons.append(i, f"loyalty_id {number!r} is given to two customers")

    def ensure(self, conn: Connection, good: pd.DataFrame, file_has_numbers: bool) -> set[str]:
        """Open a card for every new customer; move cards the file renumbers.

        Returns the external ids whose card number changed.
        """
        if good.empty:
            return set()
        cust, acc = Customer.__table__, LoyaltyAccount.__table__
        numbers = dict(zip(good["external_id"], self.numbers(
            good["external_id"], good["_loyalty_id"] if file_has_numbers else None),
            strict=True))
        signup = dict(zip(good["external_id"], good["signup_date"], strict=True))
        rows = []
        for start in range(0, len(good), LOOKUP_BATCH):
            batch = good["external_id"].iloc[start:start + LOOKUP_BATCH].tolist()
            rows += conn.execute(
                select(cust.c.external_id, cust.c.id, acc.c.id, acc.c.loyalty_number)
                .outerjoin(acc, acc.c.customer_id == cust.c.id)
                .where(cust.c.source == self.source, cust.c.external_id.in_(batch))
            ).all()
        new = [{"customer_id": cid, "loyalty_number": numbers[ext], "points": 0,
                "tier": "bronze", "enrolled_on": signup[ext], "created_at": self.now,
                "updated_at": self.now}
               for ext, cid, acc_id, _ in rows if acc_id is None]
        insert_ignoring_conflicts(conn, acc, new, ("customer_id",))
        if not file_has_numbers:
            return set()
        moved = {ext: acc_id for ext, _, acc_id, number in rows
                 if acc_id is not None and number != numbers[ext]}
        if moved:
            conn.execute(
                update(acc).where(acc.c.id == bindparam("_id")).values(
                    loyalty_number=bindparam("loyalty_number"), updated_at=bindparam("updated_at")
                ),
                [{"_id": acc_id, "loyalty_number": numbers[ext], "updated_at": self.now}
                 for ext, acc_id in moved.items()],
            )
        return set(moved)

    def _owners(self, conn: Connection, wanted: list[str]) -> dict[str, tuple[str, str]]:
        cust, acc = Customer.__table__, LoyaltyAccount.__table__
        owners: dict[str, tuple[str, str]] = {}
        for start in range(0, len(wanted), LOOKUP_BATCH):
            rows = conn.execute(
                select(acc.c.loyalty_number, cust.c.source, cust.c.external_id)
                .join(cust, cust.c.id == acc.c.customer_id)
                .where(acc.c.loyalty_number.in_(wanted[start:start + LOOKUP_BATCH]))
            )
            owners.update({r[0]: (r[1], r[2]) for r in rows})
        return owners

    def _existing_customers(self, conn: Connection, ext: list[str]) -> set[str]:
        cust = Customer.__table__
        found: set[str] = set()
        for start in range(0, len(ext), LOOKUP_BATCH):
            found.update(conn.scalars(
                select(cust.c.external_id).where(
                    cust.c.source == self.source,
                    cust.c.external_id.in_(ext[start:start + LOOKUP_BATCH]))
            ))
        return found
