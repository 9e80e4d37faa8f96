"""Properties of the synthetic data generator: schema, integrity, realism, text, churn."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty.synth import SCHEMA_COLUMNS, SynthData, generate, write

SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "data-schema.md"
END = dt.date(2026, 10, 31)
SEED = 7
N_CUSTOMERS = 1500

ES_ASPECT_WORDS = (
    "comida", "plato", "sabor", "sab", "sazón", "frí", "tibi", "helad", "sal", "porción",
    "fresc", "dulce", "aguad", "carne", "atención", "atend", "servicio", "mozo", "moza",
    "personal", "caja", "repartidor", "pedido", "ambiente", "local", "ruid", "bulla", "música",
    "baño", "mesa", "calor", "precio", "caro", "cara", "cuenta", "pag", "espera", "esper",
    "demor", "lent", "minutos", "tarde", "hora",
)
EN_ASPECT_WORDS = (
    "food", "dish", "flavour", "tast", "cold", "lukewarm", "warm", "bland", "salty", "portion",
    "fresh", "sweet", "watered", "meat", "service", "staff", "waiter", "waitress", "driver",
    "counter", "order", "atmosphere", "noisy", "loud", "music", "bathroom", "tables", "hot",
    "price", "pricey", "expensive", "overpriced", "bill", "paid", "wait", "slow", "minutes",
    "late", "hour", "took",
)


@pytest.fixture(scope="module")
def data() -> SynthData:
    return generate(customers=N_CUSTOMERS, seed=SEED, end=END)


@pytest.fixture(scope="module")
def csv_dir(data: SynthData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    write(data, out)
    return out


def _read(csv_dir: Path, kind: str) -> pd.DataFrame:
    return pd.read_csv(csv_dir / f"{kind}.csv", dtype=str, keep_default_na=False)


def _schema_from_doc() -> dict[str, list[str]]:
    """Column names per kind, read from the tables in docs/data-schema.md."""
    kinds: dict[str, list[str]] = {}
    current = None
    for line in SCHEMA_DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## (\w+)\s*$", line)
        if heading:
            current = heading.group(1)
            kinds[current] = []
            continue
        cell = re.match(r"^\| `(\w+)` \|", line)
        if cell and current is not None:
            kinds[current].append(cell.group(1))
    return {k: v for k, v in kinds.items() if v}


# --- schema and formats ---------------------------------------------------------------------

def test_columns_match_the_schema_document(csv_dir: Path) -> None:
    schema = _schema_from_doc()
    assert set(schema) == set(SCHEMA_COLUMNS)
    for kind, columns in schema.items():
        assert list(SCHEMA_COLUMNS[kind]) == columns
        header = (csv_dir / f"{kind}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == columns, kind
    truth = _read(csv_dir, "truth")
    assert {"customer_id", "archetype", "spend_power", "base_rate_per_30d",
            "churned_on"} <= set(truth.columns)


def test_value_formats(csv_dir: Path) -> None:
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
    money = re.compile(r"^\d+\.\d{2}$")
    locations = _read(csv_dir, "locations")
    assert locations.opened_on.str.match(date).all()
    assert (locations.timezone == "America/Lima").all()
    menu = _read(csv_dir, "menu_items")
    assert menu.price.str.match(money).all()
    assert set(menu.active) == {"true"}
    customers = _read(csv_dir, "customers")
    assert customers.signup_date.str.match(date).all()
    birthday = customers.birthday[customers.birthday != ""]
    assert birthday.str.match(date).all() and 0.75 < len(birthday) / len(customers) < 1
    assert set(customers.marketing_opt_in) == {"true", "false"}
    assert customers.customer_id.str.match(r"^C\d{6}$").all()
    assert customers.loyalty_id.str.match(r"^L\d{8}$").all()
    assert customers.phone.str.match(r"^\+51 9\d{2} \d{3} \d{3}$").all()
    assert customers.email.str.match(r"^[a-z0-9._]+@[a-z]+\.[a-z.]+$").all()
    visits = _read(csv_dir, "visits")
    assert visits.visit_id.str.match(r"^V\d+$").all()
    assert visits.visited_at.str.match(stamp).all()
    assert visits.total_amount.str.match(money).all()
    assert set(visits.channel) == {"dine_in", "takeaway", "delivery"}
    assert set(visits.is_return) == {"false"}
    items = _read(csv_dir, "order_items")
    assert items.unit_price.str.match(money).all()
    reviews = _read(csv_dir, "reviews")
    assert reviews.review_id.str.match(r"^R\d+$").all()
    assert reviews.created_at.str.match(stamp).all()
    assert set(reviews.rating.astype(float) * 2) <= set(range(2, 11))
    assert (reviews.text.str.strip() != "").all()


def test_ids_unique_and_customer_fields(data: SynthData) -> None:
    for kind, key in (("locations", "location_id"), ("menu_items", "item_id"),
                      ("customers", "customer_id"), ("visits", "visit_id"),
                      ("reviews", "review_id")):
        assert getattr(data, kind)[key].is_unique, kind
    c = data.customers
    for col in ("loyalty_id", "email", "phone"):
        assert c[col].is_unique, col
    assert (c.email == c.email.str.lower()).all()
    assert 0.7 < (c.language == "es").mean() < 0.9
    age_at_signup = (c.signup_date - c.birthday).dt.days.dropna() / 365.25
    assert age_at_signup.min() >= 18 and age_at_signup.max() <= 80
    assert not data.order_items.duplicated(["visit_id", "line_no"]).any()


def test_restaurant_is_plausible(data: SynthData) -> None:
    loc = data.locations
    assert 3 <= len(loc) <= 5 and (loc.city == "Lima").all()
    assert {"Miraflores", "San Isidro", "Barranco"} <= set(loc.district)
    menu = data.menu_items
    assert 40 <= len(menu) <= 60
    assert set(menu.category) == {"starter", "main", "dessert", "drink", "side"}
    assert set(menu.cuisine) == {"peruvian", "international"}
    names = set(menu.name)
    for dish in ("Lomo saltado", "Ají de gallina", "Causa limeña", "Pisco sour", "Picarones"):
        assert dish in names
    assert menu.price.between(5, 100).all()


# --- integrity ------------------------------------------------------------------------------

def test_references_resolve(data: SynthData) -> None:
    v, oi, r = data.visits, data.order_items, data.reviews
    assert v.customer_id.isin(data.customers.customer_id).all()
    assert v.location_id.isin(data.locations.location_id).all()
    assert data.customers.home_location_id.isin(data.locations.location_id).all()
    assert oi.visit_id.isin(v.visit_id).all() and v.visit_id.isin(oi.visit_id).all()
    assert oi.item_id.isin(data.menu_items.item_id).all()
    joined = r.merge(v, on="visit_id", how="left", suffixes=("", "_visit"))
    assert joined.customer_id_visit.notna().all()
    assert (joined.customer_id == joined.customer_id_visit).all()
    assert (joined.location_id == joined.location_id_visit).all()


def test_totals_and_lines_are_consistent(data: SynthData) -> None:
    oi = data.order_items
    menu_price = data.menu_items.set_index("item_id").price
    assert np.allclose(oi.unit_price, menu_price.loc[oi.item_id].to_numpy())
    assert (oi.quantity >= 1).all()
    cents = (oi.quantity * np.round(oi.unit_price * 100)).groupby(oi.visit_id).sum()
    totals = np.round(data.visits.set_index("visit_id").total_amount * 100)
    assert (cents.loc[totals.index].to_numpy() == totals.to_numpy()).all()
    lines = oi.groupby("visit_id").line_no.agg(["min", "max", "size"])
    assert (lines["min"] == 1).all() and (lines["max"] == lines["size"]).all()


def test_times_respect_window_and_signup(data: SynthData) -> None:
    v = data.visits
    start = pd.Timestamp(END) - pd.Timedelta(days=730)
    assert v.visited_at.min() >= start
    assert v.visited_at.max() < pd.Timestamp(END) + pd.Timedelta(days=1)
    signup = data.customers.set_index("customer_id").signup_date
    assert (v.visited_at.dt.normalize() >= signup.loc[v.customer_id].to_numpy()).all()
    assert (signup <= pd.Timestamp(END)).all()
    opened = data.locations.set_index("location_id").opened_on
    assert (v.visited_at >= opened.loc[v.location_id].to_numpy()).all()
    r = data.reviews.merge(v[["visit_id", "visited_at"]], on="visit_id")
    delay = r.created_at - r.visited_at
    assert (delay >= pd.Timedelta(0)).all() and (delay <= pd.Timedelta(days=7)).all()
    assert r.created_at.max() < pd.Timestamp(END) + pd.Timedelta(days=1)
    truth = data.truth.set_index("customer_id")
    last = v.groupby("customer_id").visited_at.max().dt.normalize()
    churned = truth.churned_on.dropna()
    has_visits = churned.index.intersection(last.index)
    assert (last.loc[has_visits] <= churned.loc[has_visits]).all()


def test_determinism(tmp_path: Path) -> None:
    a = generate(customers=200, seed=3, end=END)
    b = generate(customers=200, seed=3, end=END)
    c = generate(customers=200, seed=4, end=END)
    for kind in ("customers", "visits", "order_items", "reviews", "truth"):
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind))
    assert not a.visits.equals(c.visits)
    assert not a.reviews.text.equals(c.reviews.text)
    pa, pb = write(a, tmp_path / "a"), write(b, tmp_path / "b")
    assert pa.keys() == pb.keys() == set(SCHEMA_COLUMNS) | {"truth"}
    for kind in pa:
        assert pa[kind].read_bytes() == pb[kind].read_bytes(), kind


# --- behaviour ------------------------------------------------------------------------------

def test_visit_patterns(data: SynthData) -> None:
    v = data.visits
    per_customer = len(v) / len(data.customers)
    assert 20 <= per_customer <= 40
    hour = v.visited_at.dt.hour + v.visited_at.dt.minute / 60
    lunch = ((hour >= 12.5) & (hour < 15.5)).mean()
    dinner = ((hour >= 19) & (hour < 22.5)).mean()
    assert lunch > 0.3 and dinner > 0.25
    assert ((hour >= 16.5) & (hour < 18)).mean() < 0.02
    per_day = v.groupby(v.visited_at.dt.normalize()).size()
    weekend = per_day[per_day.index.day_of_week >= 5].mean()
    weekday = per_day[per_day.index.day_of_week < 5].mean()
    assert weekend > 1.2 * weekday
    assert 0.6 < (v.channel == "dine_in").mean() < 0.85
    assert v.party_size.between(1, 20).all()


def test_spend_follows_spending_power_and_taste(data: SynthData) -> None:
    v = data.visits
    per_head = (v.total_amount / v.party_size).groupby(v.customer_id).mean()
    truth = data.truth.set_index("customer_id")
    power = truth.spend_power.loc[per_head.index]
    assert np.corrcoef(np.log(power), np.log(per_head))[0, 1] > 0.5
    by_arch = per_head.groupby(truth.archetype.loc[per_head.index]).mean()
    assert by_arch["big_spender"] > 1.5 * by_arch["deal_seeker"]
    # Customers have favourites: their top main is far above a uniform share of the mains.
    mains = data.menu_items.item_id[data.menu_items.category == "main"]
    lines = data.order_items.merge(v[["visit_id", "customer_id"]], on="visit_id")
    lines = lines[lines.item_id.isin(mains)]
    counts = lines.groupby(["customer_id", "item_id"]).quantity.sum()
    top_share = counts.groupby(level=0).max() / counts.groupby(level=0).sum()
    enough = counts.groupby(level=0).sum() >= 10
    assert top_share[enough].mean() > 4 / len(mains)


def test_ratings_follow_experience(data: SynthData) -> None:
    r = data.reviews.merge(data.visit_truth, on="visit_id")
    assert 0.08 <= len(data.reviews) / len(data.visits) <= 0.15
    bad = r.rating[r.bad_aspects > 0].mean()
    good = r.rating[r.bad_aspects == 0].mean()
    assert bad < good - 1.0
    assert np.corrcoef(r.overall, r.rating)[0, 1] > 0.6
    # Extreme experiences are over-represented among reviewed visits.
    vt = data.visit_truth
    assert (r.bad_aspects > 0).mean() > (vt.bad_aspects > 0).mean()


def test_review_language_and_visit_language_agree(data: SynthData) -> None:
    lang = data.customers.set_index("customer_id").language
    assert (data.reviews.language.to_numpy() == lang.loc[data.reviews.customer_id]).all()


def test_the_review_language_is_the_language_of_the_text(data: SynthData) -> None:
    """The language stored with a review is one the service keeps over its detector's guess,
    and it is the text's: the detector agrees on almost every text and never reads Spanish for
    English or the reverse (English reviews naming Peruvian dishes can read as "mixed")."""
    from loyalty.models import LANGUAGES, review_language
    from nlp.language import detect_languages

    r = data.reviews
    assert set(r.language) == set(LANGUAGES)
    detected = pd.Series(detect_languages(r.text.tolist()), index=r.index)
    assert (detected == r.language).mean() > 0.99
    differ = detected != r.language
    assert set(zip(r.language[differ], detected[differ], strict=True)) <= {("en", "mixed")}
    kept = [review_language(g, d) for g, d in zip(r.language, detected, strict=True)]
    assert kept == r.language.tolist()


def test_review_texts_are_diverse(data: SynthData) -> None:
    texts = data.reviews.text
    assert len(texts) >= 5000
    assert texts.nunique() / len(texts) >= 0.9
    es = texts[data.reviews.language == "es"]
    en = texts[data.reviews.language == "en"]
    assert len(es) > 0 and len(en) > 0
    assert es.str.contains("[áéíóúñ]").mean() > 0.5
    assert not en.str.contains("[áéíóúñ]").all()
    # Mixed reviews (something good, something bad) are common.
    r = data.reviews.merge(data.visit_truth, on="visit_id")
    mixed = r[(r.bad_aspects > 0) & (r.good_aspects > 0)]
    assert len(mixed) > 50
    assert mixed.text.str.contains(r"\b(?:pero|aunque|but|although|eso sí|that said)\b",
                                   case=False).mean() > 0.3


def test_negative_reviews_name_an_aspect(data: SynthData) -> None:
    r = data.reviews[data.reviews.rating <= 2]
    assert len(r) > 100
    for lang, words in (("es", ES_ASPECT_WORDS), ("en", EN_ASPECT_WORDS)):
        texts = r.text[r.language == lang].str.lower()
        hit = texts.apply(lambda t, words=words: any(w in t for w in words))
        assert hit.all(), texts[~hit].head().tolist()


def test_reviews_mention_ordered_dishes(data: SynthData) -> None:
    r = data.reviews[data.reviews.language == "es"].head(1500)
    lines = data.order_items.merge(data.menu_items[["item_id", "name"]], on="item_id")
    ordered = lines.groupby("visit_id").name.apply(lambda s: [n.lower() for n in s])
    mentions_ordered = 0
    for visit_id, text in zip(r.visit_id, r.text.str.lower(), strict=True):
        names = ordered.loc[visit_id]
        mentions_ordered += any(n.split(" (")[0].split(" con ")[0] in text for n in names)
    assert mentions_ordered / len(r) > 0.1


def test_churn_is_learnable(data: SynthData) -> None:
    v = data.visits
    cut = pd.Timestamp(END) - pd.Timedelta(days=59)
    g = v.groupby("customer_id").visited_at
    first, last, count = g.min(), g.max(), g.size()
    active = first.index[first < cut]
    churned = last.loc[active] < cut
    assert 0.2 <= churned.mean() <= 0.4
    truth = data.truth.set_index("customer_id").loc[active]
    # More bad experiences, more churn.
    multi = truth.n_visits >= 3
    bad_share = truth.n_bad_visits / truth.n_visits
    high_bad = bad_share >= bad_share[multi].median()
    assert churned[multi & high_bad].mean() > churned[multi & ~high_bad].mean() + 0.05
    # Less frequent customers churn more.
    freq = count.loc[active] / (cut - first.loc[active]).dt.days.clip(lower=30)
    assert churned[freq < freq.median()].mean() > 2 * churned[freq >= freq.median()].mean()
    # A bad last review predicts leaving.
    last_rating = data.reviews.sort_values("created_at").groupby("customer_id").rating.last()
    last_rating = last_rating.reindex(active)
    assert churned[last_rating <= 2].mean() > churned[last_rating >= 4].mean() + 0.05
    assert set(data.truth.archetype) >= {"regular", "occasional", "big_spender", "deal_seeker"}


def test_progress_bar_runs(capsys: pytest.CaptureFixture[str]) -> None:
    out = generate(customers=30, seed=1, end=END, progress=True)
    assert len(out.customers) == 30
    assert "synth" in capsys.readouterr().err
