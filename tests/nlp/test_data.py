"""nlp.data: loading labelled reviews (CSV / JSON Lines) and stratified splits."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from pathlib import Path

import datasets
import pytest

from nlp.data import DataError, LoadedData, load_reviews, split
from nlp.labels import LABEL2ID, LABELS

# (text, rating) with English and Spanish text, every half star, and two unusable rows.
RATED = [
    ("Terrible service, cold food.", "1"),
    ("Comida fría y el mesero fue grosero.", "1.5"),
    ("Not great, waited an hour.", "2.0"),
    ("Casi bueno, pero el arroz estaba crudo.", "2.5"),
    ("It was fine, nothing special.", "3"),
    ("Correcto, aunque un poco caro.", "3.5"),
    ("Good ceviche, friendly staff.", "4"),
    ("¡Muy rico! Volveremos, sin duda.", "4.5"),
    ("Best lomo saltado in town,\nwe loved it.", "5.0"),
    ("   ", "5"),  # empty text
    ("Pizza was great", "Like"),  # unusable rating
    ("Nice terrace", ""),  # missing rating
    ("Stars out of range", "7"),  # unusable rating
]


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load(path: Path, **kwargs) -> LoadedData:
    return load_reviews(path, cache_dir=path.parent / "hf-cache", **kwargs)


def rows_by_text(loaded: LoadedData) -> dict[str, tuple[str, float | None]]:
    data = loaded.dataset
    return {t: (LABELS[label], rating)
            for t, label, rating in zip(data["text"], data["label"], data["rating"], strict=True)}


def balanced_rows(n_per_class: tuple[int, int, int]) -> list[tuple[str, str]]:
    """Unique texts with ratings 1 (negative), 3 (neutral), 5 (positive) in the given numbers."""
    rows = []
    for rating, n in zip(("1", "3", "5"), n_per_class, strict=True):
        rows += [(f"review {rating}-{i}: la comida / the food", rating) for i in range(n)]
    return rows


def test_ratings_map_to_labels_including_half_stars(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["restaurant", "review", "rating"],
                     [("Lima", text, rating) for text, rating in RATED])
    loaded = load(path, text_col="review", rating_col="rating")

    got = rows_by_text(loaded)
    assert got == {
        "Terrible service, cold food.": ("negative", 1.0),
        "Comida fría y el mesero fue grosero.": ("negative", 1.5),
        "Not great, waited an hour.": ("negative", 2.0),
        "Casi bueno, pero el arroz estaba crudo.": ("negative", 2.5),
        "It was fine, nothing special.": ("neutral", 3.0),
        "Correcto, aunque un poco caro.": ("neutral", 3.5),
        "Good ceviche, friendly staff.": ("positive", 4.0),
        "¡Muy rico! Volveremos, sin duda.": ("positive", 4.5),
        "Best lomo saltado in town,\nwe loved it.": ("positive", 5.0),
    }
    assert loaded.dropped == 4
    assert loaded.dropped_reasons == {"empty text": 1, "unusable rating": 3}
    assert loaded.label_counts == {"negative": 4, "neutral": 2, "positive": 3}
    assert "4 dropped" in loaded.describe()


def test_output_columns_and_types(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["text", "stars"], RATED)
    data = load(path, rating_col="stars").dataset

    assert data.column_names == ["text", "label", "rating"]
    assert data.features["label"] == datasets.ClassLabel(names=list(LABELS))
    assert data.features["rating"] == datasets.Value("float64")
    assert all(isinstance(t, str) and t == t.strip() for t in data["text"])


def test_binary_label_column(tmp_path: Path) -> None:
    rows = [("Loved it", "1"), ("Hated it", "0"), ("Me encantó", 1), ("", "1"), ("Odd", "2"),
            ("Sin etiqueta", "")]
    path = write_csv(tmp_path / "sentences.csv", ["text", "label", "source"],
                     [(t, label, "yelp") for t, label in rows])
    loaded = load(path, label_col="label", binary=True)

    assert rows_by_text(loaded) == {"Loved it": ("positive", None), "Hated it": ("negative", None),
                                    "Me encantó": ("positive", None)}
    assert loaded.dropped_reasons == {"empty text": 1, "unusable label": 2}


def test_label_column_with_names_and_ids(tmp_path: Path) -> None:
    rows = [("a", "Positive"), ("b", "neg"), ("c", "neutral"), ("d", "0"), ("e", "1"), ("f", "2"),
            ("g", "great")]
    path = write_csv(tmp_path / "labelled.csv", ["text", "sentiment"], rows)
    loaded = load(path, label_col="sentiment")

    assert [LABELS[i] for i in loaded.dataset["label"]] == [
        "positive", "negative", "neutral", "negative", "neutral", "positive"]
    assert loaded.dropped == 1


def test_json_lines_gzip(tmp_path: Path) -> None:
    records = [{"comment": "Excelente atención", "score": 5}, {"comment": "Regular", "score": 3.5},
               {"comment": "Awful", "score": "1"}, {"comment": "Broken", "score": "n/a"},
               {"comment": "No score"}]
    path = tmp_path / "reviews.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    loaded = load(path, text_col="comment", rating_col="score")

    assert rows_by_text(loaded) == {"Excelente atención": ("positive", 5.0),
                                    "Regular": ("neutral", 3.5), "Awful": ("negative", 1.0)}
    assert loaded.dropped_reasons == {"unusable rating": 2}


def test_gzipped_csv(tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "plain.csv", ["text", "rating"], RATED)
    packed = tmp_path / "reviews.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    assert rows_by_text(load(packed, rating_col="rating")) == \
        rows_by_text(load(plain, rating_col="rating"))


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["review", "rating"], RATED)
    with pytest.raises(DataError, match=r"missing column\(s\) 'text'.*'review', 'rating'"):
        load(path, rating_col="rating")
    with pytest.raises(DataError, match="missing column.*'stars'"):
        load(path, text_col="review", rating_col="stars")


@pytest.mark.parametrize("kwargs", [{}, {"rating_col": "rating", "label_col": "label"}])
def test_exactly_one_of_rating_or_label(tmp_path: Path, kwargs: dict) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["text", "rating", "label"], [("ok", "4", "2")])
    with pytest.raises(DataError, match="exactly one of rating_col or label_col"):
        load(path, **kwargs)


def test_binary_needs_a_label_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["text", "rating"], [("ok", "4")])
    with pytest.raises(DataError, match="binary"):
        load(path, rating_col="rating", binary=True)


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "absent.csv", rating_col="rating")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="no usable rows"):
        load(tmp_path / "empty.csv", rating_col="rating")
    (tmp_path / "reviews.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError, match="unknown file type"):
        load(tmp_path / "reviews.parquet", rating_col="rating")


def test_no_usable_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["text", "rating"], [("", "5"), ("ok", "ten")])
    with pytest.raises(DataError, match=r"no usable rows \(1 empty text, 1 unusable rating\)"):
        load(path, rating_col="rating")


@pytest.fixture
def sixty(tmp_path: Path) -> datasets.Dataset:
    """60 rows: 30 positive, 20 negative, 10 neutral."""
    path = write_csv(tmp_path / "reviews.csv", ["text", "rating"], balanced_rows((20, 10, 30)))
    return load(path, rating_col="rating").dataset


def test_split_sizes_and_stratification(sixty: datasets.Dataset) -> None:
    parts = split(sixty, val_size=0.1, test_size=0.15, seed=0)

    assert list(parts) == ["train", "validation", "test"]
    assert {name: len(part) for name, part in parts.items()} == \
        {"train": 45, "validation": 6, "test": 9}
    counts = {name: Counter(LABELS[i] for i in part["label"]) for name, part in parts.items()}
    # Each class in proportion (20:10:30 = 2:1:3), to within one row.
    assert counts["validation"] == {"negative": 2, "neutral": 1, "positive": 3}
    assert abs(counts["test"]["negative"] - 3) <= 1
    assert abs(counts["test"]["neutral"] - 1.5) <= 1
    assert abs(counts["test"]["positive"] - 4.5) <= 1
    texts = [set(part["text"]) for part in parts.values()]
    assert sum(map(len, texts)) == 60
    assert set.union(*texts) == set(sixty["text"])
    assert parts["train"].features == sixty.features


def test_split_is_deterministic_for_a_seed(sixty: datasets.Dataset) -> None:
    def texts(seed: int) -> dict[str, list[str]]:
        return {name: part["text"] for name, part in split(sixty, seed=seed).items()}

    assert texts(0) == texts(0)
    assert texts(0) != texts(1)


def test_split_without_test(sixty: datasets.Dataset) -> None:
    parts = split(sixty, val_size=0.2, test_size=0)
    assert list(parts) == ["train", "validation"]
    assert (len(parts["train"]), len(parts["validation"])) == (48, 12)


def test_split_refuses_too_few_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["text", "rating"], balanced_rows((1, 1, 1)))
    tiny = load(path, rating_col="rating").dataset
    with pytest.raises(DataError, match="too few"):
        split(tiny, val_size=0.1, test_size=0.15)


def test_label_ids_follow_labels_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv", ["text", "rating"], balanced_rows((1, 1, 1)))
    data = load(path, rating_col="rating").dataset
    assert data["label"] == [LABEL2ID["negative"], LABEL2ID["neutral"], LABEL2ID["positive"]]
