"""Aspect-based sentiment: what a review says about food, service, ambience, price and wait.

How it works, and why:

1. **Clauses.** A review is cut into sentences (`nlp.text.sentence_spans`, the same notion
   of sentence as the rest of the package), and each sentence is cut again before a
   contrast connector ("but", "although", "however", "pero", "aunque", "sin embargo",
   "eso sí", ...). Reviews pack opposite judgements into one sentence ("great food but slow
   service"); scoring the whole sentence would give both aspects the same mixed label, while
   the clause on each side of "but" carries one judgement.
2. **Cues.** Each aspect has a small lexicon of English and Spanish (Peruvian usage) words and
   phrases, matched as whole words, ignoring case and accents ("atención" = "atencion" =
   "ATENCION"). A clause can cue several aspects: "the service was slow" is about service
   *and* wait.
3. **Scores.** Every clause that cues an aspect is scored by the *same* review-level sentiment
   model (anything with ``predict_proba``, see `ProbabilityModel`); an aspect's probabilities
   are the mean over its clauses, its label the most likely class of that mean and its score
   P(positive) - P(negative) of that mean. Re-using the review model avoids training and
   maintaining a second model on aspect labels that we do not have; a clause is just a short
   review. All clauses of all texts go to the model in ONE ``predict_proba`` call, so a batch
   costs one forward pass (batched by the model), not one per clause.

Cue matching is deliberately a lexicon, not a model: it is transparent (the clauses that
triggered an aspect are returned), cheap, and easy to extend by the people who know the
restaurants. Its limits: a judgement in a clause with no cue word ("The ceviche? Amazing.")
is missed, and a cue word used in another sense ("I can't wait to come back" is excluded, but
"late night snack" is not) gives a false mention.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nlp.labels import LABELS, score
from nlp.text import sentence_spans

ASPECTS: tuple[str, ...] = ("food", "service", "ambience", "price", "wait")


class ProbabilityModel(Protocol):
    """Anything that scores texts: one row of class probabilities per text, in LABELS order."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...  # (n, 3), LABELS order


# --- Text folding -------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, accents removed, curly quotes made straight: **one character per character**.

    Keeping the length means a match found in the folded text is at the same offsets in the
    original, so clauses are returned exactly as written. Characters whose folded form is not
    one character (rare ligatures) are only lower-cased, or kept as they are.
    """
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch.lower())
            continue
        if ch in "\u2018\u2019\u00b4`":
            out.append("'")
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                       if not unicodedata.combining(c)).lower()
        if len(base) == 1:
            out.append(base)
        else:
            low = ch.lower()
            out.append(low if len(low) == 1 else ch)
    return "".join(out)


# --- Cue lexicons ---------------------------------------------------------------------------
# Patterns are regular expressions over *folded* text (lower case, no accents: write "atencion",
# "sazon", "bano" for "baño"). A literal space matches any run of whitespace. Each pattern must
# match whole words: the compiled pattern is wrapped in (?<!\w)...(?!\w).

CUES: dict[str, tuple[str, ...]] = {
    "food": (
        # English
        r"food", r"foods", r"dish(?:es)?", r"meals?", r"cuisine", r"menu",
        r"tast(?:e|es|ed|y|ing|eless)", r"flavou?r(?:s|ful|ed|less)?", r"delicious",
        r"yumm?y", r"bland", r"spicy", r"salty", r"portions?", r"(?:over|under)?cooked",
        r"fresh", r"stale", r"cold (?:food|dish(?:es)?|meals?|plates?)",
        r"(?:served|came|arrived) cold", r"starters?", r"appetizers?", r"desserts?",
        r"chicken", r"fish", r"meat", r"steak", r"rice", r"soup", r"salads?", r"pizzas?",
        r"burgers?", r"pasta", r"noodles", r"sandwich(?:es)?", r"biryani", r"paneer",
        r"drinks?", r"cocktails?", r"juices?", r"coffee",
        # Spanish (Peru)
        r"comida", r"platos?", r"platillos?", r"sazon", r"sabor(?:es)?", r"sabros[oa]s?",
        r"sabrosisim[oa]s?", r"ric[oa]s?", r"riquisim[oa]s?", r"delicios[oa]s?",
        r"insipid[oa]s?", r"fri[oa]s?", r"porcion(?:es)?", r"carta", r"entradas?",
        r"postres?", r"ceviche", r"cebiche", r"tiradito", r"lomo(?: saltado)?",
        r"aji de gallina", r"anticuchos?", r"causa limena", r"chicharron(?:es)?",
        r"arroz(?: con pollo| chaufa)?", r"chaufa", r"pollo(?: a la brasa)?", r"pescado",
        r"mariscos", r"carne", r"huancaina", r"rocoto relleno", r"ensaladas?", r"sopa",
        r"bebidas?", r"tragos?", r"pisco sour", r"chicha morada", r"jugos?",
    ),
    "service": (
        # English
        r"service", r"services", r"staff", r"waiters?", r"waitress(?:es)?", r"servers?",
        r"bartenders?", r"managers?", r"host(?:ess)?", r"hospitality", r"rude(?:ly|ness)?",
        # "pocket friendly", "family friendly" are about price and ambience, not staff.
        r"(?<!pocket\s)(?<!pocket-)(?<!budget\s)(?<!budget-)(?<!family\s)(?<!family-)"
        r"(?<!kids\s)(?<!kid\s)(?<!user\s)(?<!user-)(?:un)?friendly",
        r"courteous", r"(?:im)?polite", r"(?:in)?attentive",
        r"(?:un)?helpful", r"attitude", r"welcom(?:e|ed|ing)", r"ignored",
        # Spanish (Peru)
        r"servicio", r"atencion", r"atend(?:ieron|io|er|ian|ido|ia)", r"moz[oa]s?",
        r"meser[oa]s?", r"(?:el|del|al|su|todo el) personal", r"amables?", r"amabilidad",
        r"trato", r"groser[oa]s?", r"(?:mal\s?)?educad[oa]s?", r"cajer[oa]s?",
        r"anfitrion(?:a)?", r"atent[oa]s?", r"cordial(?:es)?", r"barman",
        r"encargad[oa]s?", r"administrador(?:a)?", r"gerente",
    ),
    "ambience": (
        # English
        r"ambien(?:ce|t)", r"ambiance", r"atmosphere", r"vibes?", r"music", r"noisy",
        r"noise", r"loud", r"decor", r"decoration", r"interiors?", r"clean(?:liness)?",
        r"dirty", r"hygien(?:e|ic)", r"seating", r"views?", r"lighting", r"co[sz]y",
        r"crowded", r"spacious", r"toilets?", r"restrooms?", r"washrooms?",
        # Spanish (Peru)
        r"ambiente", r"(?:el|del|al|un|este|ese) local", r"musica", r"ruid(?:o|os[oa])s?",
        r"bulla", r"bullicios[oa]", r"bonit[oa]s?", r"acogedor(?:a|es)?", r"limpi[oa]s?",
        r"limpieza", r"suci[oa]s?", r"suciedad", r"decoracion", r"decorado", r"terraza",
        r"vista", r"iluminacion", r"espacios[oa]", r"banos?",
    ),
    "price": (
        # English
        r"price(?:s|d|y)?", r"pricing", r"overpriced", r"expensive", r"cheap(?:er|est)?",
        r"affordable", r"pocket[- ]friendly", r"value(?: for money)?",
        r"worth (?:it|the money|every penny)",
        r"bill", r"costs?", r"costly", r"pocket", r"budget", r"money", r"rupees", r"inr",
        r"rs\.?\s?\d+", r"\u20b9", r"\$\s?\d+",
        # Spanish (Peru)
        r"precios?", r"car[oa]s?", r"carisim[oa]s?", r"barat[oa]s?", r"baratisim[oa]s?",
        r"economic[oa]s?", r"(?:la|una|nuestra) cuenta", r"vale la pena",
        r"valio la pena", r"precio[- ]calidad", r"calidad[- ]precio",
        r"cobr(?:an|aron|o|ar|aban)", r"soles", r"s/\.?\s?\d+(?:[.,]\d+)?", r"dinero",
        r"propina",
    ),
    "wait": (
        # English ("can't wait to come back" is excitement, not waiting)
        r"(?<!can't\s)(?<!cant\s)(?<!cannot\s)(?<!not\s)wait(?:ed|ing|s)?",
        r"slow(?:ly|er|est|ness)?", r"took (?:forever|ages|so long|too long|long)",
        r"forever", r"minutes?", r"mins?", r"(?:an|one|two|three|\d+) hours?",
        r"half an hour", r"late", r"delay(?:ed|s)?", r"quick(?:ly)?", r"fast(?! food)",
        r"prompt(?:ly)?", r"on time", r"in no time", r"queue",
        # Spanish (Peru)
        r"espera", r"esper(?:ar|amos|e|aron|ando)", r"demor(?:a|o|aron|ado|an|aba)",
        r"lent[oa]s?", r"lentisim[oa]s?", r"tard(?:aron|o|aba|an|amos|ando|anza)",
        r"rapid[oa]s?", r"rapidisim[oa]s?", r"rapidez", r"al toque", r"eternidad",
        r"minutos?", r"(?:media|una|dos|tres|\d+) horas?",
    ),
}


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    body = "|".join(p.replace(" ", r"\s+") for p in patterns)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


_CUE_RES: dict[str, re.Pattern[str]] = {aspect: _compile(CUES[aspect]) for aspect in ASPECTS}

# --- Clauses --------------------------------------------------------------------------------

# Sentences come from `nlp.text.sentence_spans` (shared with the scorer: abbreviations,
# decimals, "¿...?", emoji and line breaks handled there). Inside a sentence, a clause starts
# at a contrast connector (matched in folded text) and after a semicolon. A connector starts a
# new clause only when a word follows it in the sentence, so a trailing "..., slow though."
# does not become a clause of its own.
_CONTRAST = re.compile(
    r"(?<!\w)(?:but|however|although|even though|though|whereas|nevertheless|"
    r"pero|aunque|sin embargo|eso si|si bien|no obstante|mientras que|en cambio)"
    r"(?!\w)(?=[\s,]*\w)".replace(" ", r"\s+")
)
_SEMICOLON = re.compile(r";+")
_EDGE = " \t\r\n,;:-\u2013\u2014"


def _clause_spans(text: str, folded: str) -> list[tuple[int, int]]:
    """Start/end offsets of the clauses of ``text`` (``folded`` is ``fold(text)``), in order."""
    spans = []
    for a, b in sentence_spans(text):
        cuts = {a, b}
        cuts.update(m.start() for m in _CONTRAST.finditer(folded, a, b))
        cuts.update(m.end() for m in _SEMICOLON.finditer(folded, a, b))
        bounds = sorted(cuts)
        for start, end in zip(bounds, bounds[1:], strict=False):
            piece = folded[start:end]
            lead = len(piece) - len(piece.lstrip(_EDGE))
            trail = len(piece.rstrip(_EDGE))
            if trail > lead and re.search(r"\w", piece[lead:trail]):
                spans.append((start + lead, start + trail))
    return spans


def split_clauses(text: str) -> list[str]:
    """The clauses of ``text``, as written: sentences, cut again before contrast connectors.

    >>> split_clauses("Great food, but slow service. Pero el ambiente, bonito.")
    ['Great food', 'but slow service.', 'Pero el ambiente, bonito.']
    """
    text = text if isinstance(text, str) else ""
    return [text[a:b] for a, b in _clause_spans(text, fold(text))]


def mentioned_aspects(clause: str) -> list[str]:
    """The aspects whose cues occur in ``clause``, in ASPECTS order."""
    folded = fold(clause if isinstance(clause, str) else "")
    return [aspect for aspect in ASPECTS if _CUE_RES[aspect].search(folded)]


def find_aspects(text: str) -> dict[str, list[str]]:
    """For each aspect the text talks about, the clauses that mention it (in text order).

    Aspects not mentioned are absent; a clause that cues two aspects is listed under both.
    """
    text = text if isinstance(text, str) else ""
    folded = fold(text)
    found: dict[str, list[str]] = {}
    for start, end in _clause_spans(text, folded):
        for aspect in ASPECTS:
            if _CUE_RES[aspect].search(folded, start, end):
                found.setdefault(aspect, []).append(text[start:end])
    return {aspect: found[aspect] for aspect in ASPECTS if aspect in found}


# --- Scoring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AspectSentiment:
    """What one text says about one aspect.

    ``label`` is the most likely class of the mean clause probabilities and ``score`` is
    P(positive) - P(negative) of that mean, in [-1, 1]; both are None when not mentioned.
    """

    mentioned: bool
    label: str | None
    score: float | None
    clauses: tuple[str, ...]


NOT_MENTIONED = AspectSentiment(mentioned=False, label=None, score=None, clauses=())


def clause_probabilities(model: ProbabilityModel, texts: Sequence[str]
                         ) -> tuple[list[dict[str, list[str]]], np.ndarray]:
    """Each text's aspect clauses (`find_aspects`) and, per text and aspect of ASPECTS, the mean
    probabilities of its clauses, shape (n, aspects, 3) in LABELS order (NaN where the aspect
    is not mentioned).

    Every distinct clause of every text goes to ``model.predict_proba`` in one call (none
    when no text mentions any aspect).
    """
    found = [find_aspects(text) for text in texts]
    unique = list(dict.fromkeys(c for aspects in found for cs in aspects.values() for c in cs))
    proba = np.zeros((0, len(LABELS)))
    if unique:
        proba = np.asarray(model.predict_proba(unique), dtype=float)
        if proba.shape != (len(unique), len(LABELS)):
            raise ValueError(f"predict_proba returned shape {proba.shape}, "
                             f"expected {(len(unique), len(LABELS))}")
    row_of = {clause: i for i, clause in enumerate(unique)}
    means = np.full((len(found), len(ASPECTS), len(LABELS)), np.nan)
    for i, aspects in enumerate(found):
        for j, aspect in enumerate(ASPECTS):
            if aspect in aspects:
                means[i, j] = proba[[row_of[c] for c in aspects[aspect]]].mean(axis=0)
    return found, means


def score_aspects(model: ProbabilityModel,
                  texts: Sequence[str]) -> list[dict[str, AspectSentiment]]:
    """One dict per text with all five ASPECTS, scored by ``model`` at clause level: each
    aspect averages its clauses' probabilities (`clause_probabilities`)."""
    found, means = clause_probabilities(model, texts)
    results: list[dict[str, AspectSentiment]] = []
    for aspects, rows in zip(found, means, strict=True):
        result = {}
        for aspect, mean in zip(ASPECTS, rows, strict=True):
            clauses = aspects.get(aspect)
            if not clauses:
                result[aspect] = NOT_MENTIONED
                continue
            result[aspect] = AspectSentiment(
                mentioned=True,
                label=LABELS[int(np.argmax(mean))],
                score=score((float(mean[0]), float(mean[1]), float(mean[2]))),
                clauses=tuple(clauses),
            )
        results.append(result)
    return results
