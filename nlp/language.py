"""Language of a review: "es", "en", "other", "mixed" or "und".

    >>> detect_languages(["esta muy rico pero el servicio fue lento", "Great food!", "👍👍"])
    ['es', 'en', 'und']

The detector is py3langid (a naive Bayes model over byte n-grams, shipped inside its wheel:
nothing is downloaded, no network), restricted to `CANDIDATES`: the two languages the
service cares about and the ones a restaurant in Peru also hears. Restricting it is faster
and more accurate: a short Spanish sentence is no longer "Galician" or "Catalan".

The rules, in order (thresholds are the constants below):

1. **und** – ``None``, or fewer than `MIN_LETTERS` letters once URLs, e-mail addresses,
   @handles, digits, emoji and symbols are removed: "", "   ", "👍👍🔥", "123 !!!", "ok".
2. **other** – most letters are not Latin script (Hebrew, Japanese, Russian, ... guests):
   fewer than `LATIN_MIN_SHARE` of them.
3. **mixed** – the text is cut into segments (at sentence ends, commas, semicolons, colons,
   brackets, dashes, line breaks and before "but" / "pero" / "aunque" / "however" ...); each
   segment with at least `SEGMENT_MIN_LETTERS` letters is detected on its own and counts
   when its language is es or en with probability >= `SEGMENT_MIN_PROB`. The text is mixed
   when Spanish and English each hold at least `MIXED_MIN_SHARE` of the letters of the
   segments that count: "La comida estuvo buenísima. But the service was really slow".
   Code-switching inside a segment ("el staff super friendly") is not seen: the whole text
   decides, as below.
4. **es / en / other** – the whole text is detected. Its most likely language is the answer
   when it is es or en; another language (pt, fr, it, de, qu) is "other" only when its
   probability is >= `OTHER_MIN_PROB`, otherwise the likelier of es and en wins. Most
   reviews are Spanish or English, so a short text must be clearly foreign to be "other"
   ("Para olvidar." is Spanish even if it reads as Portuguese).

Only the first `MAX_CHARS` characters are looked at, so a 100,000-character text costs what
a 2,000-character one does. The model is loaded once per process, on first use (0.7-1.5 s
and about 78 MB of memory on this 2-core machine; py3langid streams the compressed model
through an anonymous temporary file, so the temporary directory must be writable); calls
are thread-safe. ``None`` is "und"; any other non-string is a TypeError.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from nlp.text import clean

__all__ = [
    "CANDIDATES",
    "EN",
    "ES",
    "LABELS",
    "MIXED",
    "OTHER",
    "UNDETERMINED",
    "detect_language",
    "detect_languages",
]

ES = "es"
EN = "en"
OTHER = "other"  # confidently another language
MIXED = "mixed"  # Spanish and English both substantial
UNDETERMINED = "und"  # too little text to tell (ISO 639-2 "und")
LABELS: tuple[str, ...] = (ES, EN, OTHER, MIXED, UNDETERMINED)

# What the detector chooses among (py3langid codes). Portuguese, French, Italian and German
# are the usual foreign guests in Peru; Quechua because py3langid knows it. Adding Catalan,
# Galician and Dutch cost 1-5 points on short Spanish snippets (tuning half, see below), so
# they are left out: such a text gets the closest of these (rarely es or en).
CANDIDATES: tuple[str, ...] = ("es", "en", "pt", "fr", "it", "de", "qu")

# How the thresholds were chosen: on the *tuning* half of the benchmark data only
# (benchmarks/language_id.py --split tune: SemEval-2016 Spanish and SemEval-2014 English
# restaurant sentences, the UCI Yelp/Amazon/IMDB sentences, Zomato reviews, accent-stripped
# and 3-4-word versions of the sentences, and the constructed pt/fr/it/de, code-switched and
# Peruvian-Spanish texts of benchmarks/language_id_texts.py). A text is in the tuning half
# when the first byte of the SHA-1 of its source sentence is even; the benchmark reports the
# other half, which was not looked at while choosing.

# Characters looked at. Sentences are ~70 characters; a review's language is plain long
# before 2,000, and the cost of a text is linear in its length.
MAX_CHARS = 2000
# Fewer letters than this is "und". On the 1- and 2-word prefixes of the tuning sentences
# and the tuning Zomato reviews of up to 12 letters, texts of 3 letters were right 51% of
# the time ("The" -> es, "Not" -> other), of 4 letters 88%, of 5 or more 95-98%.
MIN_LETTERS = 4
# Below this share of Latin letters a text is "other" without asking the model, which only
# knows Latin-script languages here.
LATIN_MIN_SHARE = 0.5
# A non-es/en winner needs this probability to be "other". Raising it from 0 (the plain
# argmax) to 0.8 took the 3-4-word Spanish snippets from 92.7% to 99.2% right and the English
# ones from 97.4% to 99.3%, and all Spanish sentences from 97.4% to 99.6%, at the cost of 2
# of the 50 constructed foreign texts (100% -> 96%); 0.9 gained 0.5 points on Spanish
# snippets and lost one more foreign text.
OTHER_MIN_PROB = 0.8
# Segments with fewer letters are not detected on their own (too few letters to trust;
# "Nice place" has 9). No setting tried (8-15 letters, probability 0.5-0.9, share 0.1-0.3)
# made any of the 4,768 tuning Zomato reviews (full length), 4,500 tuning sentences or 16
# Peruvian-Spanish texts "mixed", so the values are those that found most of the 20
# code-switched tuning texts (19) while keeping "substantial" at a fifth of the letters.
SEGMENT_MIN_LETTERS = 10
SEGMENT_MIN_PROB = 0.5
MIXED_MIN_SHARE = 0.2

_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|@\w+")
# Everything but letters, whitespace, apostrophes and the punctuation that cuts segments
# becomes a space: digits, emoji and symbols carry no language and only add n-grams.
_NOT_TEXT_RE = re.compile(r"[^\w\s'’.,;:!?¿¡()\[\]…\-–—]|[\d_]")
_SEGMENT_RE = re.compile(
    r"[.!?…;:,()\[\]\n]+|\s[-–—]+\s"
    r"|\s(?=(?:but|however|although|though|pero|aunque|sin embargo|en cambio)\b)",
    re.IGNORECASE,
)

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    """The py3langid identifier, loaded once per process and restricted to CANDIDATES."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(CANDIDATES))
                _identifier = identifier
    return _identifier


# Letters: word characters that are not decimal digits or "_".
_LETTER_RE = re.compile(r"[^\W\d_]")
# Letters outside the Latin blocks (Basic Latin to Latin Extended-B, IPA, Latin Extended
# Additional for Vietnamese).
_NON_LATIN_RE = re.compile(r"[^\W\d_\u0000-\u02af\u1e00-\u1eff]")


def _letters(text: str) -> int:
    return len(_LETTER_RE.findall(text))


def _prepare(text: str) -> str:
    """The first MAX_CHARS characters (not cutting a word), without URLs, handles, digits,
    emoji and symbols, tidy whitespace."""
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", MAX_CHARS - 40, MAX_CHARS)
        text = text[:cut if cut > 0 else MAX_CHARS]
    text = _NOT_TEXT_RE.sub(" ", _NOISE_RE.sub(" ", clean(text)))
    return re.sub(r"[ \t]+", " ", text).strip()


def _is_mixed(model: Any, text: str) -> bool:
    counted = {ES: 0, EN: 0}
    segments = [(s, n) for s in _SEGMENT_RE.split(text)
                if (n := _letters(s)) >= SEGMENT_MIN_LETTERS]
    if len(segments) < 2:
        return False
    for segment, letters in segments:
        language, probability = model.classify(segment)
        if language in counted and probability >= SEGMENT_MIN_PROB:
            counted[language] += letters
    total = counted[ES] + counted[EN]
    return total > 0 and min(counted.values()) >= MIXED_MIN_SHARE * total


def _detect(model: Any, text: str | None) -> str:
    if text is None:
        return UNDETERMINED
    if not isinstance(text, str):
        raise TypeError(f"detect_language() needs a str, not {type(text).__name__}")
    text = _prepare(text)
    letters = _letters(text)
    if letters < MIN_LETTERS:
        return UNDETERMINED
    if len(_NON_LATIN_RE.findall(text)) > (1 - LATIN_MIN_SHARE) * letters:
        return OTHER
    if _is_mixed(model, text):
        return MIXED
    probabilities: dict[str, float] = dict(model.rank(text))
    best = max(probabilities, key=probabilities.__getitem__)
    if best in (ES, EN):
        return best
    if probabilities[best] >= OTHER_MIN_PROB:
        return OTHER
    return ES if probabilities.get(ES, 0.0) >= probabilities.get(EN, 0.0) else EN


def detect_language(text: str | None) -> str:
    """The language of one text: "es", "en", "other", "mixed" or "und" (see the module)."""
    return _detect(_model(), text)


def detect_languages(texts: Iterable[str | None]) -> list[str]:
    """`detect_language` of each text, in order (one text's answer never depends on the
    others in the batch)."""
    model = _model()
    return [_detect(model, text) for text in texts]
