"""Every kind loads from CSV and JSON Lines, plain or gzip, with values typed and normalised."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from loyalty.ingest import LOAD_ORDER
from loyalty.models import Job
from tests.ingest.helpers import (
    DATA,
    by_external_id,
    count,
    errors,
    ids,
    ingest,
    load_data,
    table_rows,
    write_csv,
    write_jsonl,
    write_records,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def check_data_landed(engine) -> None:  # noqa: ANN001 - an Engine
    """What ``DATA`` must look like in the database, whatever file format carried it."""
    loc = by_external_id(engine, "locations")
    assert set(loc) == {"L1", "L2"}
    assert {k: loc["L1"][k] for k in ("source", "name", "city", "district", "address", "seats",
                                      "opened_on", "timezone")} == {
        "source": "default", "name": "Miraflores", "city": "Lima", "district": "Miraflores",
        "address": "Av. Larco 123, Miraflores", "seats": 80, "opened_on": date(2019, 3, 1),
        "timezone": "America/Lima"}
    assert {k: loc["L2"][k] for k in ("city", "district", "address", "seats", "opened_on",
                                      "timezone")} == {
        "city": "Lima", "district": None, "address": None, "seats": None, "opened_on": None,
        "timezone": None}

    items = by_external_id(engine, "menu_items")
    assert {k: (v["name"], v["category"], v["cuisine"], v["price"], v["active"])
            for k, v in items.items()} == {
        "M1": ("Lomo saltado", "main", "peruvian", 38.5, True),
        "M2": ("Chicha morada", "drink", "peruvian", 8.0, False),
        "M3": ("Suspiro a la limeña", "dessert", None, 12.0, True),  # active defaults to true
    }

    loc_id = ids(engine, "locations")
    cust = by_external_id(engine, "customers")
    c1, c2 = cust["C1"], cust["C2"]
    assert (c1["first_name"], c1["last_name"]) == ("José", "Pérez")
    assert c1["email"] == "jose.perez@example.com"  # stored lower-case
    assert c1["phone"] == "+51987654321"  # + and digits only
    assert c1["language"] == "es"  # "ES" in the file
    assert (c1["birthday"], c1["signup_date"]) == (date(1990, 5, 17), date(2023, 1, 10))
    assert (c1["home_location_id"], c1["country"], c1["marketing_opt_in"]) == (
        loc_id["L1"], "Peru", True)
    assert c2["email"] is None and c2["phone"] == "015551234"
    assert (c2["language"], c2["birthday"], c2["home_location_id"]) == ("en", None, None)
    assert c2["marketing_opt_in"] is False  # the default

    cust_id = {k: v["id"] for k, v in cust.items()}
    accounts = {a["customer_id"]: a for a in table_rows(engine, "loyalty_accounts")}
    assert {a["loyalty_number"] for a in accounts.values()} == {"CARD-0001", "default-C2"}
    assert accounts[cust_id["C1"]]["loyalty_number"] == "CARD-0001"
    assert accounts[cust_id["C2"]]["loyalty_number"] == "default-C2"  # <source>-<customer_id>
    assert accounts[cust_id["C1"]]["enrolled_on"] == date(2023, 1, 10)
    assert {(a["tier"], a["points"]) for a in accounts.values()} == {("bronze", 0)}

    visits = by_external_id(engine, "visits")
    got = {k: (v["customer_id"], v["location_id"], v["visited_at"], v["channel"],
               v["party_size"], v["total_amount"], v["is_return"]) for k, v in visits.items()}
    assert got == {
        # 12:30 in Lima (UTC-5, no daylight saving) is 17:30 UTC.
        "V1": (cust_id["C1"], loc_id["L1"], utc(2024, 3, 5, 17, 30), "dine_in", 2, 85.0, False),
        # An explicit offset is honoured.
        "V2": (cust_id["C2"], loc_id["L2"], utc(2024, 3, 7, 1, 15, 30), "delivery", None, 8.0,
               False),
        "V3": (cust_id["C1"], loc_id["L1"], utc(2024, 3, 7, 13), "takeaway", None, -38.5, True),
    }
    assert all(v["visited_at"].tzinfo is not None for v in visits.values())

    visit_id = {v["id"]: k for k, v in visits.items()}
    item_id = {v["id"]: k for k, v in items.items()}
    lines = sorted((visit_id[r["visit_id"]], r["line_no"], item_id[r["menu_item_id"]],
                    r["quantity"], r["unit_price"]) for r in table_rows(engine, "order_items"))
    assert lines == [("V1", 1, "M1", 2, 38.5), ("V1", 2, "M2", 1, 8.0), ("V2", 1, "M2", 1, 8.0),
                     ("V3", 1, "M1", -1, 38.5)]

    reviews = by_external_id(engine, "reviews")
    assert {k: (v["customer_id"], v["location_id"], v["visit_id"], v["rating"], v["text"],
                v["language"], v["posted_at"]) for k, v in reviews.items()} == {
        "R1": (cust_id["C1"], loc_id["L1"], visits["V1"]["id"], 4.5, "Muy rico, volveré", "es",
               utc(2024, 3, 6, 3)),
        "R2": (cust_id["C2"], loc_id["L2"], None, None, "Nice place", "en", utc(2024, 3, 8, 10)),
    }


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "csv.gz", "jsonl.gz"])
def test_every_kind_loads_typed_and_normalised(engine, tmp_path, fmt):
    counts = load_data(engine, tmp_path, LOAD_ORDER, fmt)

    for kind in LOAD_ORDER:
        n = len(DATA[kind])
        assert counts[kind].as_dict() == {"read": n, "inserted": n, "updated": 0, "unchanged": 0,
                                          "quarantined": 0}, kind
        assert count(engine, kind) == n
    assert count(engine, "loyalty_accounts") == 2
    assert errors(engine) == []
    check_data_landed(engine)
    with engine.connect() as conn:
        jobs = conn.execute(select(Job.status, Job.params, Job.counts).order_by(Job.id)).all()
    assert [(status, params["kind"]) for status, params, _ in jobs] == [
        ("succeeded", kind) for kind in LOAD_ORDER]
    assert [job_counts[kind]["inserted"] for (_, _, job_counts), kind in zip(
        jobs, LOAD_ORDER, strict=True)] == [len(DATA[k]) for k in LOAD_ORDER]


def test_reloading_the_same_files_changes_nothing(engine, tmp_path):
    load_data(engine, tmp_path, LOAD_ORDER)
    again = load_data(engine, tmp_path, LOAD_ORDER)

    for kind in LOAD_ORDER:
        n = len(DATA[kind])
        assert again[kind].as_dict() == {"read": n, "inserted": 0, "updated": 0, "unchanged": n,
                                         "quarantined": 0}, kind
        assert count(engine, kind) == n
    assert count(engine, "loyalty_accounts") == 2
    check_data_landed(engine)


def test_json_lines_with_native_json_types(engine, tmp_path):
    load_data(engine, tmp_path, ["locations", "customers"])
    path = write_jsonl(tmp_path / "items.jsonl", [
        {"item_id": 101, "name": "Ceviche", "category": "starter", "price": 32.5, "active": False},
        {"item_id": "102", "name": "Inca Kola", "category": "drink", "price": 6, "active": True,
         "cuisine": None},
    ])
    assert ingest(engine, "menu_items", path).inserted == 2
    items = by_external_id(engine, "menu_items")
    assert {k: (v["price"], v["active"], v["cuisine"]) for k, v in items.items()} == {
        "101": (32.5, False, None), "102": (6.0, True, None)}

    path = write_jsonl(tmp_path / "visits.jsonl", [
        {"visit_id": "V9", "customer_id": "C1", "location_id": "L1",
         "visited_at": "2024-01-02T08:00:00", "party_size": 3, "total_amount": 12.3,
         "is_return": False},
    ])
    assert ingest(engine, "visits", path).inserted == 1
    v9 = by_external_id(engine, "visits")["V9"]
    assert (v9["party_size"], v9["total_amount"], v9["is_return"], v9["visited_at"]) == (
        3, 12.3, False, utc(2024, 1, 2, 13))


def test_utf8_file_with_byte_order_mark(engine, tmp_path):
    """Excel's "CSV UTF-8" starts with a BOM; the first column name must still be recognised."""
    path = tmp_path / "locations.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "location_id,name\nL7,Surquillo Ñ\n".encode())
    assert ingest(engine, "locations", path).inserted == 1
    assert by_external_id(engine, "locations")["L7"]["name"] == "Surquillo Ñ"


def test_source_namespaces_ids_and_default_card_numbers(engine, tmp_path):
    load_data(engine, tmp_path, ["locations"])
    path = write_csv(tmp_path / "customers.csv", ["customer_id", "signup_date"],
                     [["C1", "2023-01-01"]])
    assert ingest(engine, "customers", path).inserted == 1
    assert ingest(engine, "customers", path, source="pos").inserted == 1  # same id, other source

    rows = table_rows(engine, "customers")
    assert sorted((r["source"], r["external_id"]) for r in rows) == [
        ("default", "C1"), ("pos", "C1")]
    numbers = {a["loyalty_number"] for a in table_rows(engine, "loyalty_accounts")}
    assert numbers == {"default-C1", "pos-C1"}


def test_cli_ingest_prints_the_counts(db_url, tmp_path, run_cli):
    for kind in ("locations", "customers"):
        path = write_records(tmp_path, kind, DATA[kind], "csv")
        result = run_cli(db_url, "ingest", kind, str(path), "--no-progress")
        assert (result.code, result.err) == (0, "")
        assert result.out.startswith(
            f"{kind} from {kind}.csv: read 2, inserted 2, updated 0, unchanged 0, quarantined 0 (")

    # Kinds may be spelt with a dash, and --format overrides the file name.
    path = write_records(tmp_path, "visits", DATA["visits"], "jsonl").rename(tmp_path / "v.txt")
    result = run_cli(db_url, "ingest", "visits", str(path), "--format", "jsonl")
    assert result.code == 0, result.err
    assert "read 3, inserted 3" in result.out
    path = write_records(tmp_path, "menu_items", DATA["menu_items"], "csv")
    assert run_cli(db_url, "ingest", "menu-items", str(path)).code == 0
    path = write_records(tmp_path, "order_items", DATA["order_items"], "csv")
    result = run_cli(db_url, "ingest", "order-items", str(path))
    assert result.code == 0, result.err
    assert result.out.startswith("order_items from order_items.csv: read 4, inserted 4")
