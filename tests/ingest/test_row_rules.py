"""Row-level rules: malformed records, every column check, duplicates and cross-table rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.ingest.helpers import (
    DATA,
    by_external_id,
    count,
    errors,
    ingest,
    load_data,
    reasons,
    table_rows,
    write_csv,
    write_jsonl,
    write_records,
)

VISIT_HEADER = list(DATA["visits"][0])


@pytest.fixture
def refs(engine, tmp_path):
    """Locations, menu items and customers of ``DATA`` loaded: what visits and reviews need."""
    load_data(engine, tmp_path, ["locations", "menu_items", "customers"])
    return engine


def visit(visit_id: str, **changes: str) -> list[str]:
    row = {"visit_id": visit_id, "customer_id": "C1", "location_id": "L1",
           "visited_at": "2024-03-05T12:30", "channel": "", "party_size": "", "total_amount": "",
           "is_return": "", **changes}
    return [row[h] for h in VISIT_HEADER]


# -- records the reader cannot split into the header's fields ----------------------------------


def test_csv_records_with_the_wrong_number_of_fields_are_quarantined(refs, tmp_path):
    rows = [visit("V1"), [*visit("V2"), "surplus"], visit("V3"), visit("V4")[:5], visit("V5")]
    counts = ingest(refs, "visits", write_csv(tmp_path / "v.csv", VISIT_HEADER, rows))

    assert counts.as_dict() == {"read": 5, "inserted": 3, "updated": 0, "unchanged": 0,
                                "quarantined": 2}
    assert set(by_external_id(refs, "visits")) == {"V1", "V3", "V5"}
    assert reasons(refs) == {2: "row has 9 fields, header has 8",
                             4: "row has 5 fields, header has 8"}
    raw = {e["row_number"]: e["raw"] for e in errors(refs)}
    assert raw[2]["_fields"][-1] == "surplus"  # every field is kept
    assert raw[4]["visit_id"] == "V4"


def test_quoted_fields_may_hold_commas_and_newlines_and_blank_lines_are_skipped(refs, tmp_path):
    data = (b"review_id,customer_id,location_id,text,created_at\r\n"
            b'R1,C1,L1,"Rico, pero\nlento ""servicio""",2024-03-05T12:30\r\n'
            b"\r\n"
            b"R2,C2,L2,Bien,2024-03-05T12:30\r\n")
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    counts = ingest(refs, "reviews", path)
    assert (counts.read, counts.inserted) == (2, 2)
    assert by_external_id(refs, "reviews")["R1"]["text"] == 'Rico, pero\nlento "servicio"'


def test_invalid_json_lines_are_quarantined(refs, tmp_path):
    good = {"visit_id": "V1", "customer_id": "C1", "location_id": "L1",
            "visited_at": "2024-03-05T12:30"}
    path = write_jsonl(tmp_path / "v.jsonl", [
        good,
        '{"visit_id": "V2", "customer_id": "C1",',  # cut off
        '["V3", "C1", "L1"]',  # valid JSON, not an object
        {**good, "visit_id": "V4"},
        {**good, "visit_id": "V5", "party_size": {"adults": 2}},
        {**good, "visit_id": "V6", "colour": "red"},
        "not json at all",
        {**good, "visit_id": "V8"},
    ])
    counts = ingest(refs, "visits", path)

    assert (counts.read, counts.inserted, counts.quarantined) == (8, 3, 5)
    assert set(by_external_id(refs, "visits")) == {"V1", "V4", "V8"}
    found = reasons(refs, "visits")
    assert sorted(found) == [2, 3, 5, 6, 7]
    assert found[2].startswith("invalid JSON: ")
    assert found[3] == "not a JSON object"
    assert found[5] == "a field holds a JSON dict"
    assert found[6] == "unknown field(s) ['colour']"
    assert found[7].startswith("invalid JSON: ")
    assert {e["row_number"]: e["raw"] for e in errors(refs)}[2] == {
        "_line": '{"visit_id": "V2", "customer_id": "C1",\n'}


# -- the checks of every column ----------------------------------------------------------------

# kind -> rows that each break one rule, with the reason the quarantine must give.
CHECKS: dict[str, list[tuple[dict[str, str], str]]] = {
    "locations": [
        ({"location_id": "x" * 65}, "location_id: 'xxxxxxxxxx"),
        ({"name": ""}, "name: required"),
        ({"seats": "10001"},
         "seats: '10001' is invalid, expected a whole number >= 0 and <= 10,000"),
        ({"seats": "12.5"}, "seats: '12.5' is invalid, expected a whole number"),
        ({"opened_on": "2019-13-01"}, "opened_on: '2019-13-01' is invalid, expected a date"),
        ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is invalid, expected an IANA"),
        ({"city": "c" * 101}, "city: 'ccccc"),
    ],
    "menu_items": [
        ({"price": "-1"},
         "price: '-1' is invalid, expected an amount with at most 2 decimals >= 0"),
        ({"price": "1.999"}, "price: '1.999' is invalid"),
        ({"price": "abc"}, "price: 'abc' is invalid"),
        ({"price": "inf"}, "price: 'inf' is invalid"),
        ({"category": ""}, "category: required"),
        ({"active": "maybe"}, "active: 'maybe' is invalid, expected true or false"),
    ],
    "customers": [
        ({"email": "not-an-email"}, "email: 'not-an-email' is invalid, expected an email"),
        ({"phone": "12345"}, "phone: '12345' is invalid, expected a phone number of 6-15 digits"),
        ({"phone": "+51 987 654 321 ext 4"}, "phone: '+51 987 654 321 ext 4' is invalid"),
        ({"language": "fr"}, "language: 'fr' is invalid, expected one of en, es"),
        ({"birthday": "1899-12-31"}, "birthday: '1899-12-31' is invalid, expected a date "
                                     "YYYY-MM-DD from 1900 on"),
        ({"birthday": "2999-01-01"}, "birthday: in the future"),
        ({"signup_date": "2999-01-01"}, "signup_date: in the future"),
        ({"signup_date": ""}, "signup_date: required"),
        ({"home_location_id": "L9"}, "home_location_id: 'L9' is not a known location"),
        ({"marketing_opt_in": "si"}, "marketing_opt_in: 'si' is invalid"),
        ({"loyalty_id": "9" * 33}, "loyalty_id: '99999"),
    ],
    "visits": [
        ({"channel": "drive_thru"}, "channel: 'drive_thru' is invalid, expected one of dine_in, "
                                    "takeaway, delivery, online"),
        ({"party_size": "0"}, "party_size: '0' is invalid"),
        ({"party_size": "51"}, "party_size: '51' is invalid"),
        ({"location_id": "L9"}, "location_id: 'L9' is not a known location"),
        ({"visited_at": "2024-03-05T25:00"}, "visited_at: '2024-03-05T25:00' is invalid, "
                                             "expected an ISO 8601 timestamp"),
        ({"is_return": "true", "total_amount": "10.00"}, "total_amount: positive on a return"),
        ({"total_amount": "-10.00"}, "total_amount: negative on a visit that is not a return"),
        ({"is_return": "perhaps"}, "is_return: 'perhaps' is invalid"),
    ],
    "order_items": [
        ({"line_no": "0"}, "line_no: '0' is invalid, expected a whole number >= 1"),
        ({"item_id": "M9"}, "item_id: 'M9' is not a known menu_item"),
        ({"visit_id": "V9"}, "visit_id: 'V9' is not a known visit"),
        ({"unit_price": "-0.50"}, "unit_price: '-0.50' is invalid"),
        ({"quantity": ""}, "quantity: required"),
    ],
    "reviews": [
        ({"rating": "4.25"}, "rating: '4.25' is invalid, expected a number >= 1 and <= 5 and "
                             "in steps of 0.5"),
        ({"rating": "6"}, "rating: '6' is invalid"),
        ({"rating": "0.5"}, "rating: '0.5' is invalid"),
        ({"text": "   "}, "text: required"),
        ({"text": "t" * 10_001}, "text: 'tttt"),
        ({"language": "pt"}, "language: 'pt' is invalid"),
        ({"created_at": "2999-01-01T00:00:00Z"}, "created_at: in the future"),
        ({"customer_id": "C9"}, "customer_id: 'C9' is not a known customer"),
    ],
}
DEPENDS = {"locations": [], "menu_items": [], "customers": ["locations"],
           "visits": ["locations", "customers"],
           "order_items": ["locations", "menu_items", "customers", "visits"],
           "reviews": ["locations", "customers", "visits"]}
KEYS = {"locations": "location_id", "menu_items": "item_id", "customers": "customer_id",
        "visits": "visit_id", "order_items": "line_no", "reviews": "review_id"}


@pytest.mark.parametrize("kind", list(CHECKS))
def test_each_rule_quarantines_its_row_with_a_reason_naming_the_column(engine, tmp_path, kind):
    load_data(engine, tmp_path, DEPENDS[kind])
    base = dict(DATA[kind][0])
    if kind == "customers":
        base["loyalty_id"] = ""
    key = KEYS[kind]
    records = [base]
    for i, (changes, _reason) in enumerate(CHECKS[kind], start=2):
        records.append({**base, key: str(i) if kind == "order_items" else f"X{i}", **changes})

    counts = ingest(engine, kind, write_records(tmp_path, f"bad_{kind}", records, "csv"))

    assert (counts.inserted, counts.quarantined) == (1, len(CHECKS[kind]))
    found = reasons(engine, kind)
    assert sorted(found) == list(range(2, len(records) + 1))
    for i, (_changes, reason) in enumerate(CHECKS[kind], start=2):
        assert found[i].startswith(reason), (i, found[i])
    assert count(engine, kind) == 1


def test_a_row_lists_every_reason_it_fails(refs, tmp_path):
    path = write_csv(tmp_path / "v.csv", VISIT_HEADER, [
        visit("V1", customer_id="C9", party_size="-1", visited_at="soon", channel="boat")])
    ingest(refs, "visits", path)
    assert reasons(refs) == {1: "; ".join([
        "visited_at: 'soon' is invalid, expected an ISO 8601 timestamp",
        "channel: 'boat' is invalid, expected one of dine_in, takeaway, delivery, online",
        "party_size: '-1' is invalid, expected a whole number >= 1 and <= 50",
        "customer_id: 'C9' is not a known customer",
    ])}


# -- duplicates and rules across rows and tables -----------------------------------------------


@pytest.mark.parametrize("chunk_size", [20_000, 2])
def test_duplicate_ids_in_one_file_keep_the_first(refs, tmp_path, chunk_size):
    rows = [visit("V1", party_size="2"), visit("V2"), visit("V1", party_size="4"), visit("V3"),
            visit("V2")]
    counts = ingest(refs, "visits", write_csv(tmp_path / "v.csv", VISIT_HEADER, rows),
                    chunk_size=chunk_size)

    assert (counts.inserted, counts.quarantined) == (3, 2)
    assert by_external_id(refs, "visits")["V1"]["party_size"] == 2
    assert reasons(refs) == {3: "duplicate visit_id 'V1' (first at row 1)",
                             5: "duplicate visit_id 'V2' (first at row 2)"}


def test_duplicate_order_lines_are_quarantined(refs, tmp_path):
    load_data(refs, tmp_path, ["visits"])
    path = write_csv(tmp_path / "oi.csv", ["visit_id", "line_no", "item_id", "quantity",
                                           "unit_price"],
                     [["V1", "1", "M1", "2", "38.50"], ["V1", "1", "M2", "1", "8.00"]])
    counts = ingest(refs, "order_items", path)
    assert (counts.inserted, counts.quarantined) == (1, 1)
    assert reasons(refs) == {2: "duplicate visit_id/line_no 'V1/1' (first at row 1)"}


def test_order_item_quantity_sign_follows_the_visit(refs, tmp_path):
    load_data(refs, tmp_path, ["visits"])  # V1, V2 sales; V3 a return
    path = write_csv(tmp_path / "oi.csv", ["visit_id", "line_no", "item_id", "quantity",
                                           "unit_price"], [
        ["V1", "1", "M1", "2", "38.50"],
        ["V1", "2", "M2", "-1", "8.00"],  # negative on a sale
        ["V3", "1", "M1", "-1", "38.50"],
        ["V3", "2", "M2", "1", "8.00"],  # positive on a return
    ])
    counts = ingest(refs, "order_items", path)

    assert (counts.inserted, counts.quarantined) == (2, 2)
    assert reasons(refs) == {2: "quantity: negative on a visit that is not a return",
                             4: "quantity: positive on a return visit"}
    assert sorted(r["quantity"] for r in table_rows(refs, "order_items")) == [-1, 2]


def test_zero_quantity_is_quarantined_not_a_crash(refs, tmp_path):
    load_data(refs, tmp_path, ["visits"])
    path = write_csv(tmp_path / "oi.csv", ["visit_id", "line_no", "item_id", "quantity",
                                           "unit_price"],
                     [["V1", "1", "M1", "2", "38.50"], ["V1", "2", "M2", "0", "8.00"]])
    counts = ingest(refs, "order_items", path)
    assert (counts.inserted, counts.quarantined) == (1, 1)
    assert reasons(refs)[2].startswith("quantity: '0' is invalid")


def test_review_of_another_customers_visit_is_quarantined(refs, tmp_path):
    load_data(refs, tmp_path, ["visits"])  # V1 and V3 belong to C1, V2 to C2
    rows = [["R1", "C1", "L1", "V1", "Rico"], ["R2", "C2", "L1", "V1", "Not mine"],
            ["R3", "C2", "L2", "V2", "Mine"]]
    path = write_csv(tmp_path / "r.csv", ["review_id", "customer_id", "location_id", "visit_id",
                                          "text"],
                     [[*r, "2024-03-09T10:00"] for r in rows])
    path.write_bytes(path.read_bytes().replace(b"text\r\n", b"text,created_at\r\n", 1))
    counts = ingest(refs, "reviews", path)

    assert (counts.inserted, counts.quarantined) == (2, 1)
    assert reasons(refs) == {2: "visit_id: the visit belongs to another customer"}
    assert set(by_external_id(refs, "reviews")) == {"R1", "R3"}


# -- loyalty card numbers -----------------------------------------------------------------------

CUSTOMER_HEADER = ["customer_id", "loyalty_id", "signup_date"]


def test_loyalty_id_clashes_are_quarantined(refs, tmp_path):
    # DATA's customers hold CARD-0001 (C1) and default-C2 (C2).
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [
        ["C3", "CARD-0001", "2023-05-01"],  # taken by C1 in the database
        ["C4", "default-C2", "2023-05-01"],  # C2's default number
        ["C5", "CARD-0005", "2023-05-01"],
        ["C6", "CARD-0005", "2023-05-01"],  # the same card twice in the file
        ["C1", "CARD-0001", "2023-01-10"],  # C1 keeps its own card: no clash
    ])
    counts = ingest(refs, "customers", path)

    assert (counts.inserted, counts.quarantined) == (1, 3)
    assert reasons(refs) == {1: "loyalty_id 'CARD-0001' belongs to another customer",
                             2: "loyalty_id 'default-C2' belongs to another customer",
                             4: "loyalty_id 'CARD-0005' is given to two customers"}
    assert set(by_external_id(refs, "customers")) == {"C1", "C2", "C5"}
    numbers = sorted(a["loyalty_number"] for a in table_rows(refs, "loyalty_accounts"))
    assert numbers == ["CARD-0001", "CARD-0005", "default-C2"]


def test_a_new_loyalty_id_moves_the_card(refs, tmp_path):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [["C2", "CARD-0002", "2023-02-01"]])
    counts = ingest(refs, "customers", path)
    assert counts.inserted == 0
    c2 = by_external_id(refs, "customers")["C2"]["id"]
    [account] = [a for a in table_rows(refs, "loyalty_accounts") if a["customer_id"] == c2]
    assert account["loyalty_number"] == "CARD-0002"
    assert count(refs, "loyalty_accounts") == 2


def test_a_changed_loyalty_id_counts_as_updated(refs, tmp_path):
    records = [{**DATA["customers"][0], "loyalty_id": "CARD-9999"}]
    counts = ingest(refs, "customers", write_records(tmp_path, "c", records, "csv"))
    assert numbers_of(refs) == {"CARD-9999", "default-C2"}  # the card did move
    assert (counts.updated, counts.unchanged) == (1, 0)


def test_columns_left_out_of_the_file_keep_their_stored_values(refs, tmp_path):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [["C1", "CARD-0001", "2023-01-10"]])
    ingest(refs, "customers", path)
    c1 = by_external_id(refs, "customers")["C1"]
    assert (c1["first_name"], c1["email"], c1["phone"]) == (
        "José", "jose.perez@example.com", "+51987654321")
    assert (c1["language"], c1["marketing_opt_in"], c1["home_location_id"]) == (
        "es", True, by_external_id(refs, "locations")["L1"]["id"])


def test_a_file_without_loyalty_ids_keeps_the_cards(refs, tmp_path):
    records = [{k: v for k, v in r.items() if k != "loyalty_id"} for r in DATA["customers"]]
    counts = ingest(refs, "customers", write_records(tmp_path, "c", records, "csv"))
    assert counts.unchanged == 2
    assert numbers_of(refs) == {"CARD-0001", "default-C2"}


def numbers_of(engine) -> set[str]:  # noqa: ANN001 - an Engine
    return {a["loyalty_number"] for a in table_rows(engine, "loyalty_accounts")}


def test_long_customer_ids_do_not_overflow_the_card_number(engine, tmp_path):
    long_id = "CUST-" + "7" * 40  # a valid external id (<= 64 characters)
    path = write_csv(tmp_path / "c.csv", ["customer_id", "signup_date"],
                     [[long_id, "2023-01-01"], ["C2", "2023-01-01"]])
    counts = ingest(engine, "customers", path)
    assert counts.inserted + counts.quarantined == 2
    assert all(len(a["loyalty_number"]) <= 32 for a in table_rows(engine, "loyalty_accounts"))


# -- values the database would refuse must be quarantined, not crash the import ----------------


def test_an_amount_too_large_for_the_column_is_quarantined(refs, tmp_path):
    path = write_csv(tmp_path / "v.csv", VISIT_HEADER, [
        visit("V1", total_amount="12.50"), visit("V2", total_amount="123456789012.00")])
    counts = ingest(refs, "visits", path)
    assert (counts.inserted, counts.quarantined) == (1, 1)
    assert reasons(refs)[2].startswith("total_amount: ")
    assert count(refs, "visits") == 1


def test_a_nul_character_in_a_field_is_quarantined(refs, tmp_path):
    path = write_csv(tmp_path / "l.csv", ["location_id", "name"],
                     [["L5", "Surco"], ["L6", b"San\x00Isidro"]])
    counts = ingest(refs, "locations", path)
    assert (counts.inserted, counts.quarantined) == (1, 1)
    assert reasons(refs)[2].startswith("name: ")


def test_a_date_without_time_is_not_read_as_utc(refs, tmp_path):
    path = write_csv(tmp_path / "v.csv", VISIT_HEADER, [visit("V1", visited_at="2024-03-05")])
    counts = ingest(refs, "visits", path)
    stored = by_external_id(refs, "visits").get("V1")
    # Either refused (the documented format needs a time) or local midnight; never UTC midnight.
    if counts.quarantined:
        assert reasons(refs)[1].startswith("visited_at: ")
    else:
        assert stored["visited_at"] == datetime(2024, 3, 5, 5, tzinfo=UTC)
