"""The column schema of every input kind, as data: docs/data-schema.md describes the same."""

from __future__ import annotations

from dataclasses import dataclass, field

from loyalty.errors import LoyaltyError
from loyalty.models import (
    CHANNELS,
    LANGUAGES,
    Customer,
    Location,
    MenuItem,
    OrderItem,
    Review,
    Visit,
)
from loyalty.models.base import Base


@dataclass(frozen=True)
class Column:
    """One input column: how to parse it, whether it must be there, and its limits.

    ``type`` is one of: id, text, int, money, number, date, timestamp, bool, choice, email,
    phone, timezone, ref. ``attr`` is the ORM attribute it lands in (defaults to the name).
    """

    name: str
    type: str
    required: bool = False
    attr: str | None = None
    max_len: int | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    default: object = None
    ref: str | None = None  # the kind a `ref` column points at
    not_future: bool = False
    nonzero: bool = False
    stored: bool = True  # False: validated, then used by the loader, not a column of the table

    @property
    def target(self) -> str:
        return self.attr or self.name


@dataclass(frozen=True)
class Kind:
    """An input kind: its table, its key, and its columns."""

    name: str
    model: type[Base]
    columns: tuple[Column, ...]
    key: str | None = None  # the column holding the external id; None: natural key below
    natural_key: tuple[str, ...] = ()  # ORM attributes that identify a row without an id
    refs_carry: tuple[str, ...] = field(default=())  # attributes other kinds need from a ref

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ID = 64
# The largest amounts NUMERIC(10, 2) and NUMERIC(12, 2) hold: PostgreSQL refuses more.
MONEY_10_2 = 99_999_999.99
MONEY_12_2 = 9_999_999_999.99

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "locations",
            Location,
            key="location_id",
            columns=(
                Column("location_id", "id", required=True, attr="external_id"),
                Column("name", "text", required=True, max_len=200),
                Column("city", "text", max_len=100),
                Column("district", "text", max_len=100),
                Column("address", "text", max_len=300),
                Column("seats", "int", min=0, max=10_000),
                Column("opened_on", "date"),
                Column("timezone", "timezone"),
            ),
        ),
        Kind(
            "menu_items",
            MenuItem,
            key="item_id",
            columns=(
                Column("item_id", "id", required=True, attr="external_id"),
                Column("name", "text", required=True, max_len=200),
                Column("category", "text", required=True, max_len=50),
                Column("cuisine", "text", max_len=50),
                Column("price", "money", required=True, min=0, max=MONEY_10_2),
                Column("active", "bool", default=True),
            ),
        ),
        Kind(
            "customers",
            Customer,
            key="customer_id",
            columns=(
                Column("customer_id", "id", required=True, attr="external_id"),
                Column("loyalty_id", "text", max_len=32, stored=False),
                Column("first_name", "text", max_len=100),
                Column("last_name", "text", max_len=100),
                Column("email", "email", max_len=254),
                Column("phone", "phone"),
                Column("language", "choice", choices=LANGUAGES, default="es"),
                Column("birthday", "date", not_future=True),
                Column("signup_date", "date", required=True, not_future=True),
                Column("home_location_id", "ref", ref="locations"),
                Column("country", "text", max_len=60),
                Column("marketing_opt_in", "bool", default=False),
            ),
        ),
        Kind(
            "visits",
            Visit,
            key="visit_id",
            refs_carry=("customer_id", "is_return"),
            columns=(
                Column("visit_id", "id", required=True, attr="external_id"),
                Column("customer_id", "ref", required=True, ref="customers"),
                Column("location_id", "ref", required=True, ref="locations"),
                Column("visited_at", "timestamp", required=True, not_future=True),
                Column("channel", "choice", choices=CHANNELS, default="dine_in"),
                Column("party_size", "int", min=1, max=50),
                Column("total_amount", "money", min=-MONEY_12_2, max=MONEY_12_2),
                Column("is_return", "bool", default=False),
            ),
        ),
        Kind(
            "order_items",
            OrderItem,
            natural_key=("visit_id", "line_no"),
            columns=(
                Column("visit_id", "ref", required=True, ref="visits"),
                Column("line_no", "int", required=True, min=1, max=10_000),
                Column("item_id", "ref", required=True, ref="menu_items", attr="menu_item_id"),
                Column("quantity", "int", required=True, min=-100_000, max=100_000,
                       nonzero=True),
                Column("unit_price", "money", required=True, min=0, max=MONEY_10_2),
            ),
        ),
        Kind(
            "reviews",
            Review,
            key="review_id",
            columns=(
                Column("review_id", "id", required=True, attr="external_id"),
                Column("customer_id", "ref", required=True, ref="customers"),
                Column("location_id", "ref", required=True, ref="locations"),
                Column("visit_id", "ref", ref="visits"),
                Column("rating", "number", min=1, max=5, step=0.5),
                Column("text", "text", required=True, max_len=10_000),
                Column("language", "choice", choices=LANGUAGES),
                Column("created_at", "timestamp", required=True, attr="posted_at", not_future=True),
            ),
        ),
    )
}

# Loading in this order means every reference points at something already loaded.
LOAD_ORDER = ("locations", "menu_items", "customers", "visits", "order_items", "reviews")


def kind(name: str) -> Kind:
    try:
        return KINDS[name.replace("-", "_")]
    except KeyError:
        raise LoyaltyError(
            f"unknown kind {name!r}: expected one of {', '.join(LOAD_ORDER)}"
        ) from None
