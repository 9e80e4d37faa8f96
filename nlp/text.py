"""Text helpers for reviews in English and Spanish: cleaning, emoji as words, sentences.

No model here. Everything is plain Python so the aspect module, the scorer and the data
loaders can share one notion of "blank", "emoji-only" and "sentence".

- `clean` normalises Unicode (NFC) and whitespace and drops control and invisible format
  characters; line breaks are kept (one per break) because reviewers use them as sentence
  ends.
- `is_blank` is True for text with nothing to score: only whitespace, invisible characters
  and punctuation ("", "  \\n", "...", "-").
- `emoji_to_words` replaces emoji and a few ASCII emoticons with words. The packaged MiniLM
  vocabulary is uncased English WordPiece: almost every emoji becomes ``[UNK]``, so a review
  of just "😍😍" would reach the model as "[UNK]" and get an arbitrary label.
- `sentences` / `sentence_spans` split English and Spanish text into sentences.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "clean",
    "emoji_to_words",
    "has_emoji",
    "is_blank",
    "is_emoji_only",
    "sentence_spans",
    "sentences",
]

# --- Cleaning -----------------------------------------------------------------------------

_ZWJ = "\u200d"
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


class _CleanTable(dict):
    """``str.translate`` table built as characters are met: line breaks -> "\\n", other
    whitespace and control characters -> " ", format characters (except ZWJ) removed."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch in _LINE_BREAKS:
            out = "\n"
        elif ch.isspace() or unicodedata.category(ch) == "Cc":
            out = " "
        elif unicodedata.category(ch) == "Cf" and ch != _ZWJ:
            out = ""
        else:
            out = ch
        self[code] = out
        return out


_CLEAN_TABLE = _CleanTable()
_SPACES_RE = re.compile(r" {2,}")


def clean(text: str, *, newlines: bool = True) -> str:
    """``text`` with Unicode in NFC, control and invisible characters removed, whitespace tidy.

    Runs of spaces and tabs (and other Unicode spaces, e.g. no-break space) become one space;
    each line is stripped; empty lines are dropped, so line breaks survive as single ``\\n``
    (or as a space with ``newlines=False``). Format characters such as zero-width spaces,
    soft hyphens and byte-order marks are removed, except the zero-width joiner that glues
    emoji sequences together.
    """
    if not isinstance(text, str):
        raise TypeError(f"clean() needs a str, not {type(text).__name__}")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_CLEAN_TABLE)
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return ("\n" if newlines else " ").join(line for line in lines if line)


def is_blank(text: str) -> bool:
    """True when ``text`` has nothing to score: no letter, digit, symbol or emoji.

    Whitespace, control and invisible characters and punctuation alone are blank.
    """
    if not isinstance(text, str):
        raise TypeError(f"is_blank() needs a str, not {type(text).__name__}")
    return not any(unicodedata.category(ch)[0] in "LNS" for ch in text)


# --- Emoji --------------------------------------------------------------------------------

# Pictographic code points (emoticons, pictographs, transport, supplemental symbols, dingbats,
# miscellaneous symbols, some technical symbols and arrows such as ⭐ and ⌛). Regional
# indicators (flags) are in U+1F1E6..1F1FF, inside the first range.
_EMOJI_RANGES = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
# Joiners and modifiers that only exist inside emoji sequences.
_EMOJI_GLUE = "\ufe0e\ufe0f\u200d\u20e3"
_SKIN_TONES = "\U0001f3fb-\U0001f3ff"
_EMOJI_CLASS = f"[{_EMOJI_RANGES}{_EMOJI_GLUE}]"

# A few ASCII emoticons. They must not touch a word character on the right (":Delivery",
# "10:30", "http://" are not emoticons) and not follow a digit; "Pasta:)" is still a smiley.
_EMOTICON_WORDS: dict[str, str] = {
    ":)": "happy", ":-)": "happy", ":]": "happy", "=)": "happy", ":d": "very happy",
    ":-d": "very happy", "xd": "funny", ";)": "happy", ";-)": "happy", "<3": "love",
    ":(": "unhappy", ":-(": "unhappy", ":[": "unhappy", "=(": "unhappy", ":'(": "sad",
    ":/": "not sure", ":-/": "not sure", ":|": "okay", ":-|": "okay",
    ":p": "funny", ":-p": "funny", ">:(": "angry",
}
_EMOTICON = (r"(?:(?<![\d:;=<>'])(?:>:\(|:'\(|<3|[:;=]-?[)\]dDpP(\[/|])|(?<!\w)[xX][dD])"
             r"(?![\w)(\]\[/|])")
_EMOTICON_RE = re.compile(_EMOTICON)

# Sentiment-bearing emoji as words the uncased English vocabulary knows. Keys are bare code
# points: skin tones and variation selectors are removed before the look-up.
_EMOJI_WORDS: dict[str, str] = {
    # positive
    "😀": "happy", "😃": "happy", "😄": "happy", "😁": "happy", "😆": "happy",
    "😊": "happy", "🙂": "good", "☺": "happy", "😇": "lovely", "😉": "happy",
    "😂": "funny", "🤣": "funny", "😍": "love it", "🥰": "love it", "😘": "love it",
    "😻": "love it", "🤩": "amazing", "😋": "delicious", "🤤": "delicious", "😎": "cool",
    "🥳": "great", "😌": "satisfied", "👍": "good", "👌": "perfect", "👏": "well done",
    "🙌": "great", "💯": "perfect", "🔥": "amazing", "✨": "great", "🌟": "excellent",
    "❤": "love", "♥": "love", "💕": "love", "💖": "love", "💗": "love", "💓": "love",
    "💞": "love", "💝": "love", "💘": "love", "🧡": "love", "💛": "love", "💚": "love",
    "💙": "love", "💜": "love", "🤍": "love", "😙": "happy", "😚": "happy", "🤗": "happy",
    "🥹": "touched", "✅": "good", "✔": "good", "🏆": "excellent", "🥇": "best",
    "🎉": "great", "🤑": "worth it",
    # negative
    "😞": "disappointed", "😔": "disappointed", "😟": "worried", "🙁": "unhappy",
    "☹": "unhappy", "😕": "disappointed", "😒": "unimpressed", "😠": "angry", "😡": "angry",
    "🤬": "furious", "👿": "angry", "😤": "annoyed", "👎": "bad", "💩": "terrible",
    "🤢": "disgusting", "🤮": "disgusting", "😷": "sick", "🤒": "sick", "😢": "sad",
    "😭": "very sad", "😿": "sad", "😫": "awful", "😩": "awful", "😖": "awful",
    "😣": "awful", "😓": "bad", "😰": "worried", "😨": "shocked", "😱": "shocked",
    "💔": "heartbroken", "🙄": "annoying", "😑": "annoyed", "🥱": "boring", "😴": "boring",
    "😪": "tired", "❌": "bad", "✖": "bad", "⛔": "bad", "🚫": "bad", "🤦": "disappointed",
    "🥶": "cold", "🥵": "too hot", "🐢": "slow", "🐌": "slow", "💸": "expensive",
    "🤡": "ridiculous",
    # neutral or hedged
    "😐": "okay", "😶": "okay", "🤔": "not sure", "🤷": "so so", "😬": "awkward",
    "🫤": "so so", "😏": "okay", "🙃": "okay",
}
# Runs of stars are ratings: "⭐⭐⭐⭐" -> "4 stars", "★★☆☆☆" -> "2 out of 5 stars".
_FILLED_STARS = "⭐🌟★"
_EMPTY_STARS = "☆"
_STAR = f"[{_FILLED_STARS}{_EMPTY_STARS}]"
_STAR_RUN_RE = re.compile(f"{_STAR}(?:[\ufe0f ]*{_STAR})*")

# One emoji "unit": a base pictograph with its modifiers and ZWJ continuations.
_EMOJI_UNIT_RE = re.compile(
    f"[{_EMOJI_RANGES}][\ufe0e\ufe0f\u20e3{_SKIN_TONES}]*"
    f"(?:\u200d[{_EMOJI_RANGES}][\ufe0e\ufe0f\u20e3{_SKIN_TONES}]*)*"
)
_EMOJI_OR_EMOTICON_RE = re.compile(f"{_STAR_RUN_RE.pattern}|{_EMOJI_UNIT_RE.pattern}|{_EMOTICON}")
_STRIP_MODIFIERS_RE = re.compile(f"[\ufe0e\ufe0f\u20e3{_SKIN_TONES}]")


def _unit_words(unit: str) -> str:
    """Words for one emoji unit (a ZWJ sequence gives the words of its parts)."""
    words: list[str] = []
    for part in _STRIP_MODIFIERS_RE.sub("", unit).split(_ZWJ):
        if not part:
            continue
        known = _EMOJI_WORDS.get(part)
        if known is None:
            # Food, drinks, places...: the Unicode name is a fair description ("slice of
            # pizza", "hot beverage"). Regional indicators (flags) say nothing about taste.
            name = unicodedata.name(part[0], "")
            if not name or name.startswith("REGIONAL INDICATOR"):
                continue
            known = name.lower().replace(" face", "").replace("face ", "")
        if known not in words:
            words.append(known)
    return " ".join(words)


def _star_words(run: str) -> str:
    filled = sum(run.count(s) for s in _FILLED_STARS)
    empty = run.count(_EMPTY_STARS)
    if empty:
        return f"{filled} out of {filled + empty} stars"
    return "1 star" if filled == 1 else f"{filled} stars"


def emoji_to_words(text: str) -> str:
    """``text`` with emoji (and ASCII emoticons such as ":)" or "<3") replaced by words.

    Sentiment-bearing emoji get a sentiment word ("😍" -> "love it", "😡" -> "angry",
    "🤔" -> "not sure"); skin tones and variation selectors are ignored; a run of the same
    emoji counts once ("😍😍😍" -> "love it"); runs of stars become ratings ("⭐⭐⭐⭐⭐" ->
    "5 stars"). Other pictographs get their Unicode name ("🍕" -> "slice of pizza"), flags
    are dropped. Words are separated from their neighbours by spaces.
    """
    if not isinstance(text, str):
        raise TypeError(f"emoji_to_words() needs a str, not {type(text).__name__}")

    pieces: list[str] = []
    last_end = 0
    previous_words: str | None = None
    for m in _EMOJI_OR_EMOTICON_RE.finditer(text):
        between = text[last_end:m.start()]
        token = m.group(0)
        if token[0] in _FILLED_STARS + _EMPTY_STARS and _STAR_RUN_RE.fullmatch(token):
            words = _star_words(token)
        elif _EMOTICON_RE.fullmatch(token):
            words = _EMOTICON_WORDS.get(token.lower(), "")
        else:
            words = _unit_words(token)
        if between.strip() or words != previous_words:
            pieces.append(between)
            if words:
                pieces.append(f" {words} ")
        previous_words = words
        last_end = m.end()
    pieces.append(text[last_end:])
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


def has_emoji(text: str) -> bool:
    """True when ``text`` contains at least one emoji or ASCII emoticon."""
    return _EMOJI_OR_EMOTICON_RE.search(text) is not None


def is_emoji_only(text: str) -> bool:
    """True when ``text`` is emoji (or emoticons) with at most punctuation and spaces between.

    "😍😍", "👍 !!", ":)" and "⭐⭐⭐⭐⭐" are emoji-only; "great 😍" and "" are not.
    """
    if not isinstance(text, str):
        raise TypeError(f"is_emoji_only() needs a str, not {type(text).__name__}")
    if not has_emoji(text):
        return False
    rest = _EMOJI_OR_EMOTICON_RE.sub(" ", text)
    rest = re.sub(_EMOJI_CLASS, " ", rest)
    return is_blank(rest)


# --- Sentences ----------------------------------------------------------------------------

# Words after which a period does not end a sentence (lower case, without the period).
_ABBREVIATIONS = frozenset({
    # English
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "approx", "appt", "dept",
    "est", "fig", "inc", "ltd", "co", "corp", "mt", "ave", "blvd", "rd", "hrs", "min",
    "mins", "sec", "secs", "incl", "excl", "ft", "oz", "lb", "lbs", "pcs", "qty",
    # Spanish
    "sra", "srta", "dra", "ud", "uds", "vd", "vds", "lic", "ing", "arq", "av", "avda",
    "pza", "aprox", "ej", "pág", "pag", "núm", "tel", "telf", "cía", "dto", "máx", "mín",
    "max", "etc", "cf", "esq",
})
# ...except when the next sentence visibly starts: "...and so on etc. The waiter ..."
_SOFT_ABBREVIATIONS = frozenset({"etc", "approx", "aprox", "min", "mins", "hrs", "max", "máx"})
# Before a number only: "No. 5", "Rs. 500", "nº. 3", "p. 12".
_NUMERIC_ABBREVIATIONS = frozenset({"no", "nº", "nro", "núm", "num", "rs", "p", "pp", "s"})

_CLOSERS = "\"'”’»)]"
_OPENERS = "¿¡"
_SENTENCE_END_RE = re.compile(
    rf"(?P<term>[.!?…]+)(?P<close>[{re.escape(_CLOSERS)}]*)"
    rf"(?P<after>(?:[ \t]*(?:{_EMOJI_UNIT_RE.pattern}|{_EMOTICON}))*)"
    rf"|(?P<emoji>(?:{_EMOJI_UNIT_RE.pattern}|{_EMOTICON})+)"
)
_LINE_SPLIT_RE = re.compile(f"[{_LINE_BREAKS}]")


def _word_before(line: str, end: int) -> str:
    """The run of letters and digits that ends at ``end`` (maybe empty)."""
    start = end
    while start > 0 and line[start - 1].isalnum():
        start -= 1
    return line[start:end]


def _is_ellipsis(term: str) -> bool:
    return set(term) <= {".", "…"} and (len(term) > 1 or term == "…")


def _ends_sentence(line: str, m: re.Match[str]) -> bool:
    """Whether the terminator (or emoji run) matched by ``m`` ends a sentence."""
    j = m.end()
    while j < len(line) and line[j].isspace():
        j += 1
    if j >= len(line):
        return False  # end of line: the line split handles it
    nxt, spaced = line[j], j > m.end()
    if nxt in _OPENERS:
        return True
    term = m.group("term")
    if term is None:  # a run of emoji: "Great food 😍 Will come back"
        return spaced and nxt.isupper()
    if not spaced:
        # "good.We ordered" is two sentences; "4.5", "e.g", "zomato.com" are not.
        if not nxt.isupper():
            return False
        if term != ".":
            return True
        word = _word_before(line, m.start("term"))
        return len(word) >= 2 and word.isalpha() and word.lower() not in _ABBREVIATIONS
    if "!" in term or "?" in term:
        return True
    if _is_ellipsis(term):
        return not nxt.islower()  # "it was... okay" goes on
    before = _word_before(line, m.start("term"))
    if not before:
        return True
    low = before.lower()
    if low in _NUMERIC_ABBREVIATIONS and nxt.isdigit():
        return False
    if low in _ABBREVIATIONS:
        return low in _SOFT_ABBREVIATIONS and nxt.isupper()
    # A single letter is an initial or part of "e.g." / "i.e." / "U.S.".
    return not (len(before) == 1 and before.isalpha())


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``, without surrounding whitespace.

    Rules (English and Spanish):

    - A line break always ends a sentence (reviews use them as full stops).
    - ``.``, ``!``, ``?``, ``…`` and runs of them ("?!", "...") end a sentence when followed
      by a space and more text, or directly by ``¿`` / ``¡`` or an upper-case letter
      ("bueno.¡Genial!", "good.We"). Closing quotes and brackets, and emoji right after the
      terminator ("Great! 😍😍"), stay with the sentence they close.
    - Not an end: a period after a known abbreviation ("Mr.", "Sra.", "Dr.", "etc." unless
      an upper-case word follows), after a single letter ("e.g.", "J. Smith"), after "No."
      or "Rs." before a number; a decimal point ("4.5"); an ellipsis followed by a lower-case
      word ("it was... okay").
    - A run of emoji followed by a space and an upper-case letter ends a sentence
      ("Loved it 😍 Will come back").
    - A piece with no letters or digits (only emoji or punctuation, e.g. a line of "😍😍")
      is joined to the sentence before it (or after it, at the start).
    """
    if not isinstance(text, str):
        raise TypeError(f"sentence_spans() needs a str, not {type(text).__name__}")
    raw: list[tuple[int, int]] = []
    line_start = 0
    for piece in [*_LINE_SPLIT_RE.split(text)]:
        start = 0
        for m in _SENTENCE_END_RE.finditer(piece):
            if _ends_sentence(piece, m):
                raw.append((line_start + start, line_start + m.end()))
                start = m.end()
        raw.append((line_start + start, line_start + len(piece)))
        line_start += len(piece) + 1
    spans: list[tuple[int, int]] = []
    for a, b in raw:
        while a < b and _invisible(text[a]):
            a += 1
        while b > a and _invisible(text[b - 1]):
            b -= 1
        if a < b:
            spans.append((a, b))

    merged: list[tuple[int, int]] = []
    pending_start: int | None = None  # word-less pieces before the first real sentence
    for a, b in spans:
        if _has_words(text[a:b]):
            merged.append((pending_start if pending_start is not None else a, b))
            pending_start = None
        elif merged:
            merged[-1] = (merged[-1][0], b)
        elif pending_start is None:
            pending_start = a
    if pending_start is not None:  # nothing but emoji and punctuation: one "sentence"
        merged.append((pending_start, spans[-1][1]))
    return merged


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as written (see `sentence_spans` for the rules).

    >>> sentences("¡Qué rico! ¿Volveremos? Sí... seguro. Great food 😍 Will return")
    ['¡Qué rico!', '¿Volveremos?', 'Sí... seguro.', 'Great food 😍', 'Will return']
    """
    return [text[a:b] for a, b in sentence_spans(text)]
