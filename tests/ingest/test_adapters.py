"""The export adapters on tiny files in the real layouts: UCI Online Retail and a review export."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.errors import InputFileError
from loyalty.ingest.adapters import online_retail, reviews_export
from tests.ingest.helpers import (
    by_external_id,
    count,
    errors,
    reasons,
    table_rows,
    write_csv,
)

LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")

RETAIL_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                 "CustomerID", "Country"]
RETAIL_ROWS = [
    ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "2010-12-01T08:26:00",
     "2.55", "17850", "United Kingdom"],
    ["536365", "71053", "WHITE METAL LANTERN ", "6", "2010-12-01T08:26:00", "3.39", "17850",
     "United Kingdom"],
    ["536366", "22633", "HAND WARMER UNION JACK", "6", "2010-12-01T08:28:00", "1.85", "17850",
     "United Kingdom"],
    ["536367", "84879", "ASSORTED COLOUR BIRD ORNAMENT", "32", "2010-12-01T08:34:00", "1.69",
     "13047", "France"],
    ["C536379", "D", "Discount", "-1", "2010-12-01T09:41:00", "27.50", "14527",
     "United Kingdom"],
    ["C536383", "35004C", "SET OF 3 COLOURED  FLYING DUCKS", "-2", "2010-12-01T09:49:00", "4.65",
     "15311", "United Kingdom"],
    ["536414", "22139", "", "56", "2010-12-01T11:52:00", "0", "", "United Kingdom"],  # a guest
    ["536544", "21773", "DECORATIVE ROSE BATHROOM BOTTLE", "1", "2010-12-01T14:32:00", "2.51",
     "", "United Kingdom"],  # a guest
    ["550193", "PADS", "PADS TO MATCH ALL CUSHIONS", "1", "2011-04-15T09:27:00", "0.001",
     "13952", "United Kingdom"],  # a price of a tenth of a penny
]


@pytest.fixture
def retail_file(tmp_path):
    return write_csv(tmp_path / "online_retail.csv", RETAIL_HEADER, RETAIL_ROWS, gz=False)


def test_online_retail_accounting_adds_up(engine, retail_file):
    report = online_retail(engine, retail_file, source="online-retail", tz=LONDON)

    acc = report.accounting
    assert acc == {"read": 9, "inserted": 4, "returned": 2, "skipped as guest": 2,
                   "quarantined": 1}
    assert acc["read"] == sum(v for k, v in acc.items() if k != "read")

    assert count(engine, "customers") == 5  # the guests are nobody's
    assert count(engine, "loyalty_accounts") == 5
    assert count(engine, "locations") == 1
    assert count(engine, "order_items") == 6
    found = reasons(engine)
    assert list(found) == [9]
    assert found[9].startswith("unit_price: '0.001' is invalid, expected an amount with at most "
                               "2 decimals >= 0")
    [err] = errors(engine)
    assert (err["kind"], err["source"], err["raw"]["visit_id"]) == (
        "order_items", "online-retail", "550193")

    visits = by_external_id(engine, "visits")
    assert {k: (v["total_amount"], v["is_return"], v["channel"]) for k, v in visits.items()} == {
        "536365": (35.64, False, "online"),
        "536366": (11.10, False, "online"),
        "536367": (54.08, False, "online"),
        "C536379": (-27.50, True, "online"),  # returns have negative totals
        "C536383": (-9.30, True, "online"),
        "550193": (0.0, False, "online"),
    }
    assert visits["536365"]["visited_at"] == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)  # GMT

    customers = by_external_id(engine, "customers")
    assert (customers["13047"]["country"], customers["13047"]["signup_date"],
            customers["13047"]["language"]) == ("France", date(2010, 12, 1), "en")
    numbers = {a["loyalty_number"] for a in table_rows(engine, "loyalty_accounts")}
    assert "online-retail-17850" in numbers

    items = by_external_id(engine, "menu_items")
    assert set(items) == {"85123A", "71053", "22633", "84879", "D", "35004C", "PADS"}
    assert (items["D"]["category"], items["PADS"]["category"]) == ("discount", "fee")
    assert (items["71053"]["name"], items["71053"]["price"]) == ("WHITE METAL LANTERN", 3.39)

    visit_ext = {v["id"]: k for k, v in visits.items()}
    returned = [r for r in table_rows(engine, "order_items") if r["quantity"] < 0]
    assert sorted(visit_ext[r["visit_id"]] for r in returned) == ["C536379", "C536383"]


def test_online_retail_run_twice_adds_nothing(engine, retail_file):
    online_retail(engine, retail_file, source="online-retail", tz=LONDON)
    before = {t: count(engine, t) for t in ("customers", "visits", "order_items", "menu_items",
                                            "loyalty_accounts", "ingest_errors")}

    report = online_retail(engine, retail_file, source="online-retail", tz=LONDON)

    assert report.accounting == {"read": 9, "inserted": 0, "returned": 0, "skipped as guest": 2,
                                 "quarantined": 1, "unchanged": 6}
    assert {t: count(engine, t) for t in before} == before
    assert before["ingest_errors"] == 1


def test_online_retail_through_the_cli(db_url, retail_file, run_cli):
    result = run_cli(db_url, "ingest", "visits", str(retail_file), "--format", "online-retail")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("online-retail from online_retail.csv: 9 rows read = inserted 4 "
                                 "+ returned 2 + skipped as guest 2 + quarantined 1 (")
    assert "  customers: read 5, inserted 5" in result.out

    wrong = run_cli(db_url, "ingest", "customers", str(retail_file), "--format", "online-retail")
    assert wrong.code == 2
    assert "--format online-retail loads `visits`, not `customers`" in wrong.err


def test_online_retail_refuses_a_file_in_another_layout(engine, tmp_path):
    path = write_csv(tmp_path / "retail.csv", RETAIL_HEADER[:-2], [r[:-2] for r in RETAIL_ROWS])
    with pytest.raises(InputFileError, match="missing column"):
        online_retail(engine, path, source="online-retail", tz=LONDON)
    path = write_csv(tmp_path / "retail.csv", [*RETAIL_HEADER, "Extra"],
                     [[*r, "x"] for r in RETAIL_ROWS])
    with pytest.raises(InputFileError, match="unknown column"):
        online_retail(engine, path, source="online-retail", tz=LONDON)
    path = write_csv(tmp_path / "retail.csv", RETAIL_HEADER, [])
    with pytest.raises(InputFileError, match="no data rows"):
        online_retail(engine, path, source="online-retail", tz=LONDON)
    assert count(engine, "visits") == 0


# -- review exports -----------------------------------------------------------------------------

REVIEW_HEADER = ["restaurant", "reviewer", "review", "rating", "time", "pictures",
                 "reviewer_reviews", "reviewer_followers"]
REVIEW_ROWS = [
    ["Beyond Flavours", "Rusha Chakraborty",
     "The ambience was good, food was quite good.\nWaiter Soumen Das was really courteous.",
     "5.0", "2019-05-25T15:54:00", "0", "1", "2"],
    ["Beyond Flavours", "Anusha Tirumalaneedi", "Ambience is too good 😊", "4.5",
     "2019-05-25T14:20:00", "0", "3", "2"],
    ["Paradise", "Rusha Chakraborty", "Biryani was great", "4", "2019-05-20T20:00:00", "1", "1",
     "2"],
    ["Paradise", "Dileep", "Loved the pizza", "Like", "2019-05-21T21:00:00", "0", "3", "2"],
    ["Paradise", "", "Good food", "4.0", "2019-05-22T12:00:00", "0", "", "0"],
]

# The default card number `reviews-export-rv-<16 hex>` is 34 characters, over the 32 of
# loyalty_accounts.loyalty_number: PostgreSQL refuses it (see the loader's long-id test).
@pytest.fixture
def reviews_file(tmp_path):
    return write_csv(tmp_path / "zomato.csv", REVIEW_HEADER, REVIEW_ROWS)


def test_reviews_export_turns_reviewers_into_customers(engine, reviews_file):
    report = reviews_export(engine, reviews_file, source="reviews-export", tz=KOLKATA)

    assert report.accounting == {"read": 5, "inserted": 3, "updated": 0, "unchanged": 0,
                                 "quarantined": 2}
    customers = table_rows(engine, "customers")
    assert sorted(c["first_name"] for c in customers) == [
        "Anusha Tirumalaneedi", "Dileep", "Rusha Chakraborty"]  # Rusha twice is one customer
    rusha = next(c for c in customers if c["first_name"] == "Rusha Chakraborty")
    assert rusha["signup_date"] == date(2019, 5, 20)  # the first review
    assert count(engine, "loyalty_accounts") == 3

    locations = by_external_id(engine, "locations")
    assert {k: v["name"] for k, v in locations.items()} == {
        "beyond-flavours": "Beyond Flavours", "paradise": "Paradise"}

    assert count(engine, "visits") == 4  # the row without a reviewer has nobody to visit
    reviews = table_rows(engine, "reviews")
    assert sorted((r["rating"], r["text"]) for r in reviews) == [
        (4.0, "Biryani was great"),
        (4.5, "Ambience is too good 😊"),
        (5.0, REVIEW_ROWS[0][2]),  # the newline kept
    ]
    visit_of = {v["id"]: v for v in table_rows(engine, "visits")}
    for r in reviews:
        assert visit_of[r["visit_id"]]["customer_id"] == r["customer_id"]  # each review a visit
        assert r["posted_at"] == visit_of[r["visit_id"]]["visited_at"]
    first = next(r for r in reviews if r["rating"] == 5.0)
    assert first["posted_at"] == datetime(2019, 5, 25, 10, 24, tzinfo=UTC)  # 15:54 in India

    quarantined = {(e["kind"], e["row_number"]): e["reason"] for e in errors(engine)}
    assert quarantined == {
        ("reviews", 4): "rating: 'Like' is invalid, expected a number >= 1 and <= 5 and in "
                        "steps of 0.5",
        # its visit was quarantined for the same reason, so the review's visit is unknown too
        ("reviews", 5): "customer_id: required; visit_id: "
                        f"'{quarantined_visit_id(engine)}' is not a known visit",
        ("visits", 5): "customer_id: required",
    }


def quarantined_visit_id(engine) -> str:  # noqa: ANN001 - an Engine
    [visit] = [e for e in errors(engine) if e["kind"] == "visits"]
    return visit["raw"]["visit_id"]


def test_reviews_export_run_twice_adds_nothing(engine, reviews_file):
    reviews_export(engine, reviews_file, source="reviews-export", tz=KOLKATA)
    tables = ("customers", "locations", "visits", "reviews", "loyalty_accounts", "ingest_errors")
    before = {t: count(engine, t) for t in tables}

    report = reviews_export(engine, reviews_file, source="reviews-export", tz=KOLKATA)

    assert report.accounting == {"read": 5, "inserted": 0, "updated": 0, "unchanged": 3,
                                 "quarantined": 2}
    assert {t: count(engine, t) for t in tables} == before
    assert before == {"customers": 3, "locations": 2, "visits": 4, "reviews": 3,
                      "loyalty_accounts": 3, "ingest_errors": 3}


def test_reviews_export_through_the_cli(db_url, engine, reviews_file, run_cli):
    result = run_cli(db_url, "ingest", "reviews", str(reviews_file), "--format", "reviews-export")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("reviews-export from zomato.csv: 5 rows read = inserted 3 + "
                                 "updated 0 + unchanged 0 + quarantined 2 (")


def test_reviews_export_with_one_badly_encoded_field_loads_the_rest(engine, tmp_path):
    path = tmp_path / "zomato.csv"
    path.write_bytes(b"restaurant,reviewer,review,rating,time\n"
                     b"Paradise,Jos\xe9,Good,4.0,2019-05-22T12:00:00\n"
                     b"Paradise,Ana,Good,4.0,2019-05-22T12:00:00\n")
    report = reviews_export(engine, path, source="rx", tz=KOLKATA)
    assert report.accounting["inserted"] == 1
    assert report.accounting["quarantined"] == 1
