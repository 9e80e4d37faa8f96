"""A visits file of 200 rows, 10 of them broken, tried the way a new user would try it."""

from __future__ import annotations

import pytest

from tests.ingest.helpers import (
    by_external_id,
    count,
    errors,
    ingest,
    load_data,
    write_csv,
)

HEADER = ["visit_id", "customer_id", "location_id", "visited_at", "channel", "party_size",
          "total_amount", "is_return"]
CUSTOMERS = [f"C{i}" for i in range(1, 21)]

# Row number (1 = first data row) -> (field, broken value, what the reason must say).
BROKEN: dict[int, tuple[str, str | bytes, str]] = {
    7: ("visited_at", "2024-02-30T12:00", "visited_at: '2024-02-30T12:00' is invalid"),
    23: ("visited_at", "05/03/2024 12:00", "visited_at: '05/03/2024 12:00' is invalid"),
    41: ("party_size", "-3", "party_size: '-3' is invalid, expected a whole number >= 1"),
    58: ("customer_id", "C999", "customer_id: 'C999' is not a known customer"),
    77: ("location_id", "", "location_id: required"),
    96: ("visited_at", "", "visited_at: required"),
    120: ("channel", b"Jos\xe9", "channel: not valid UTF-8 text"),  # latin-1 in a UTF-8 file
    133: ("customer_id", b"C\xff\xfe3", "customer_id: not valid UTF-8 text"),
    150: ("total_amount", "12.345", "total_amount: '12.345' is invalid"),
    188: ("visited_at", "2999-01-01T10:00", "visited_at: in the future"),
}


def good_row(n: int) -> list[str | bytes]:
    return [f"V{n:04d}", CUSTOMERS[n % 20], "L1" if n % 3 else "L2",
            f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{10 + n % 12:02d}:{n % 60:02d}",
            ("dine_in", "takeaway", "delivery", "online")[n % 4], str(1 + n % 6),
            f"{n * 1.25:.2f}", "false"]


def messy_rows(changed: int | None = None) -> list[list[str | bytes]]:
    rows = []
    for n in range(1, 201):
        row = good_row(n)
        if n in BROKEN:
            field, value, _reason = BROKEN[n]
            row[HEADER.index(field)] = value
        if n == changed:
            row[HEADER.index("party_size")] = "42"
        rows.append(row)
    return rows


@pytest.fixture
def seeded(engine, tmp_path):
    load_data(engine, tmp_path, ["locations"])
    path = write_csv(tmp_path / "customers.csv", ["customer_id", "signup_date"],
                     [[c, "2023-06-01"] for c in CUSTOMERS])
    assert ingest(engine, "customers", path).inserted == 20
    return engine


@pytest.mark.parametrize("chunk_size", [20_000, 64])
def test_good_rows_load_and_bad_rows_are_quarantined_with_reasons(seeded, tmp_path, chunk_size):
    engine = seeded
    path = write_csv(tmp_path / "visits.csv", HEADER, messy_rows())

    counts = ingest(engine, "visits", path, chunk_size=chunk_size)

    assert counts.as_dict() == {"read": 200, "inserted": 190, "updated": 0, "unchanged": 0,
                                "quarantined": 10}
    assert count(engine, "visits") == 190
    loaded = by_external_id(engine, "visits")
    assert set(loaded) == {f"V{n:04d}" for n in range(1, 201) if n not in BROKEN}

    quarantined = errors(engine)
    assert [e["row_number"] for e in quarantined] == sorted(BROKEN)
    for e in quarantined:
        field, value, reason = BROKEN[e["row_number"]]
        assert reason in e["reason"], e
        assert (e["kind"], e["source"], e["file_name"]) == ("visits", "default", str(path))
        assert e["raw"]["visit_id"] == f"V{e['row_number']:04d}"  # the whole row is kept
        if isinstance(value, bytes):
            # The undecodable bytes are kept as escapes, so the quarantine shows what was there.
            assert e["raw"][field] == value.decode("utf-8", "surrogateescape")


def test_bad_encoding_quarantines_only_its_own_row(seeded, tmp_path):
    path = write_csv(tmp_path / "visits.csv", HEADER, [
        good_row(1), [b"V\xe90002", *good_row(2)[1:]], good_row(3)])
    counts = ingest(seeded, "visits", path)
    assert (counts.inserted, counts.quarantined) == (2, 1)
    assert [(e["row_number"], e["reason"]) for e in errors(seeded)] == [
        (2, "visit_id: not valid UTF-8 text")]


def test_running_the_same_file_again_adds_nothing(seeded, tmp_path):
    engine = seeded
    path = write_csv(tmp_path / "visits.csv", HEADER, messy_rows())
    ingest(engine, "visits", path)
    before = errors(engine)

    again = ingest(engine, "visits", path)

    assert again.as_dict() == {"read": 200, "inserted": 0, "updated": 0, "unchanged": 190,
                               "quarantined": 10}
    assert count(engine, "visits") == 190
    after = errors(engine)
    assert len(after) == 10
    assert [e["id"] for e in after] == [e["id"] for e in before]  # the same rows, none added


def test_a_changed_row_counts_as_updated(seeded, tmp_path):
    engine = seeded
    ingest(engine, "visits", write_csv(tmp_path / "visits.csv", HEADER, messy_rows()))

    path = write_csv(tmp_path / "visits.csv", HEADER, messy_rows(changed=5))
    counts = ingest(engine, "visits", path)

    assert counts.as_dict() == {"read": 200, "inserted": 0, "updated": 1, "unchanged": 189,
                                "quarantined": 10}
    assert count(engine, "visits") == 190
    visits = by_external_id(engine, "visits")
    assert visits["V0005"]["party_size"] == 42
    assert visits["V0005"]["updated_at"] > visits["V0004"]["updated_at"]
    assert visits["V0004"]["party_size"] == int(good_row(4)[5])


def test_the_new_user_session_through_the_cli(db_url, seeded, tmp_path, run_cli):
    path = write_csv(tmp_path / "visits.csv", HEADER, messy_rows())

    first = run_cli(db_url, "ingest", "visits", str(path))
    assert (first.code, first.err) == (0, "")
    assert first.out.startswith("visits from visits.csv: read 200, inserted 190, updated 0, "
                                "unchanged 0, quarantined 10 (")

    listing = run_cli(db_url, "quarantine", "--kind", "visits", "--limit", "100")
    assert listing.code == 0
    lines = listing.out.splitlines()
    assert lines[-1] == "10 quarantined row(s) in all"
    for n, (_field, _value, reason) in BROKEN.items():
        [line] = [x for x in lines if x.startswith(f"visits.csv:{n} [visits] ")]
        assert reason in line
    assert len(lines) == 11

    second = run_cli(db_url, "ingest", "visits", str(path))
    assert second.code == 0
    assert "read 200, inserted 0, updated 0, unchanged 190, quarantined 10" in second.out
    assert run_cli(db_url, "quarantine").out.splitlines()[-1] == "10 quarantined row(s) in all"
