"""`loyalty segments build | list | show` on a database with stored predictions."""

from __future__ import annotations

import json

import pytest

from loyalty.cli import main
from tests.segments.test_store import EXPECTED_FAVOURITES, PER_GROUP, make_world


@pytest.fixture
def url(db_url, engine):
    make_world(engine)
    return ["--database-url", db_url]


def test_build_list_show(url, tmp_path, capsys):
    plot = tmp_path / "out" / "segments.png"
    assert main([*url, "segments", "build", "--seed", "3", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "segmented 90 customers" in out and "k = 3" in out
    assert f"wrote {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main([*url, "segments", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all("active" in line for line in lines)

    assert main([*url, "segments", "list", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert len(docs) == 3 and all(d["size"] == PER_GROUP for d in docs)
    lapsing = next(d for d in docs if d["profile"]["complaints"][:1] == ["service"])

    assert main([*url, "segments", "show", lapsing["key"], "--members", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(lapsing["name"])
    assert lapsing["description"] in out
    assert "tier mix: bronze 100%" in out
    assert "recency_days" in out and "complaints: service" in out
    assert "mostly visits at: dinner" in out
    assert "favourite dishes: " + ", ".join(EXPECTED_FAVOURITES["lapsing"]) in out
    assert "members (4 of 30" in out and out.count("distance") == 4

    assert main([*url, "segments", "show", str(lapsing["id"]), "--json", "--members", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["key"] == lapsing["key"] and doc["member_count"] == PER_GROUP
    assert len(doc["members"]) == 2 and doc["members"][0]["last_name"] == "lapsing"
    assert doc["profile"]["favourite_dishes"] == EXPECTED_FAVOURITES["lapsing"]


def test_unknown_segment_is_one_line(url, capsys):
    assert main([*url, "segments", "show", "seg-missing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no segment 'seg-missing'")
    assert len(err.strip().splitlines()) == 1


def test_empty_database(db_url, capsys):
    url = ["--database-url", db_url]
    assert main([*url, "segments", "list"]) == 0
    assert "no segments yet" in capsys.readouterr().out
    assert main([*url, "segments", "build"]) == 1
    err = capsys.readouterr().err
    assert "loyalty predict" in err and len(err.strip().splitlines()) == 1
