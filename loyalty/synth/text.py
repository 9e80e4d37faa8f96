"""Review text: plan what a review talks about, then let a language module say it.

The plan is language-free: which aspects went well or badly (from the visit's latent scores),
which dish to name for each, whether the review leads with the good or the bad, and whether it
has an opener, a closer or an emoji. ``text_es`` and ``text_en`` turn a plan into sentences
from grammar pieces, so reviews vary the way people write rather than repeating templates.

Random choices come from a ``Picker`` fed with a pre-drawn row of uniforms: a numpy call per
choice would dominate the cost of composing tens of thousands of reviews.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from loyalty.synth.behaviour import AMBIENCE, BAD, FOOD, GOOD, PRICE, SERVICE, WAIT
from loyalty.synth.menu import MENU

T = TypeVar("T")
BOTTLED = frozenset({"M046", "M047", "M048"})
UNIFORMS_PER_REVIEW = 80


class Picker:
    """Deterministic random choices from a row of uniforms, refilled from a seeded stream."""

    def __init__(self, uniforms: np.ndarray, refill_seed: Sequence[int]) -> None:
        self._u = uniforms.tolist()
        self._i = 0
        self._refill_seed = list(refill_seed)
        self._refills = 0

    def random(self) -> float:
        if self._i >= len(self._u):
            self._refills += 1
            rng = np.random.default_rng([*self._refill_seed, self._refills])
            self._u = rng.random(UNIFORMS_PER_REVIEW).tolist()
            self._i = 0
        x = self._u[self._i]
        self._i += 1
        return x

    def chance(self, p: float) -> bool:
        return self.random() < p

    def choice(self, options: Sequence[T]) -> T:
        return options[int(self.random() * len(options))]

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return low + int(self.random() * (high - low + 1))

    def weighted(self, options: Sequence[T], weights: Sequence[float]) -> T:
        x = self.random() * sum(weights)
        for option, w in zip(options, weights, strict=True):
            x -= w
            if x < 0:
                return option
        return options[-1]


@dataclass
class ReviewContext:
    """What the reviewer knows about the visit, in plain Python values."""

    language: str
    female: bool
    party: int
    channel: int
    daypart: int
    weekday: int
    month: int
    holiday: int
    district: str
    scores: Sequence[float]
    dishes: Sequence[int]
    rating: float
    visits_before: int
    bill: float
    promo: bool = False


@dataclass
class Mention:
    """One aspect the review talks about, optionally through a dish."""

    aspect: int
    positive: bool
    strength: float
    dish: int | None = None


@dataclass
class Plan:
    positives: list[Mention] = field(default_factory=list)
    negatives: list[Mention] = field(default_factory=list)
    lead_positive: bool = True
    opener: bool = True
    closer: bool = True
    emoji: bool = False
    informal: bool = False


def _pick_dish(p: Picker, ctx: ReviewContext, aspect: int, positive: bool) -> int | None:
    """A dish from this visit's order to name, if the aspect lends itself to one."""
    if not ctx.dishes:
        return None
    if aspect == FOOD:
        chance = 0.75
    elif aspect in (PRICE, WAIT):
        chance = 0.3
    elif aspect == SERVICE and positive:
        chance = 0.15
    else:
        return None
    if not p.chance(chance):
        return None
    # Nobody praises a bottled soft drink; a warm one is worth a complaint, though.
    dishes = [d for d in ctx.dishes if positive is False or MENU[d].item_id not in BOTTLED]
    if not dishes:
        return None
    if aspect == WAIT or (aspect == FOOD and not positive and p.chance(0.7)):
        # Complaints about waiting or cold food are about plates, not drinks.
        hot = [d for d in dishes if MENU[d].category in ("main", "starter") and MENU[d].hot]
        plates = [d for d in dishes if MENU[d].category in ("main", "starter")]
        dishes = hot or plates or dishes
    elif p.chance(0.7):
        plates = [d for d in dishes if MENU[d].category in ("main", "starter", "dessert")]
        dishes = plates or dishes
    return p.choice(dishes)


def plan_review(p: Picker, ctx: ReviewContext) -> Plan:
    """Decide what the review is about from the latent scores and the rating."""
    aspects = [a for a in (FOOD, SERVICE, AMBIENCE, PRICE, WAIT) if ctx.scores[a] == ctx.scores[a]]
    order = sorted(aspects, key=lambda a: ctx.scores[a])
    neg = [a for a in order if ctx.scores[a] < BAD]
    mild_neg = [a for a in order if BAD <= ctx.scores[a] < -0.9 and ctx.rating <= 3.5]
    neg += [a for a in mild_neg if p.chance(0.5)]
    pos = [a for a in reversed(order) if ctx.scores[a] > GOOD]
    if ctx.rating <= 2.5 and not neg:
        neg = [order[0]]
    if ctx.rating >= 3.5 and not pos:
        pos = [order[-1] if order[-1] not in neg else FOOD]
    if not pos and not neg:
        # A middling visit: say what was fine and, often, what was a bit off.
        pos = [order[-1]]
        if ctx.rating <= 3 or p.chance(0.5):
            neg = [order[0]]
    neg = neg[:3]
    pos = [a for a in pos if a not in neg][: p.integer(1, 3)]
    plan = Plan()
    plan.positives = [Mention(a, True, ctx.scores[a], _pick_dish(p, ctx, a, True)) for a in pos]
    plan.negatives = [Mention(a, False, ctx.scores[a], _pick_dish(p, ctx, a, False))
                      for a in neg]
    if ctx.rating >= 3.5:
        plan.lead_positive = True
    elif ctx.rating <= 2.5:
        plan.lead_positive = False
    else:
        plan.lead_positive = p.chance(0.5)
    plan.opener = p.chance(0.72)
    plan.closer = p.chance(0.62) or not (plan.positives and plan.negatives) and p.chance(0.4)
    if len(pos) + len(neg) == 1 and not (plan.opener or plan.closer):
        # One bare clause ("Vale cada sol.") repeats across thousands of reviews.
        plan.opener = p.chance(0.6)
        plan.closer = not plan.opener
    plan.emoji = p.chance(0.06)
    plan.informal = p.chance(0.14)
    return plan


def main_dish(ctx: ReviewContext) -> int | None:
    """The visit's first main course (or starter): what a diner would come back for."""
    for category in ("main", "starter"):
        for d in ctx.dishes:
            if MENU[d].category == category:
                return d
    return None


def sentence_case(sentence: str) -> str:
    """Capitalise the first letter (after any opening punctuation such as ``¡``)."""
    for i, ch in enumerate(sentence):
        if ch.isalpha():
            return sentence[:i] + ch.upper() + sentence[i + 1:]
        if ch.isdigit():
            break
    return sentence


def join_sentences(sentences: list[str]) -> str:
    """Capitalise and punctuate sentences and glue them into a paragraph."""
    out = []
    for s in sentences:
        s = sentence_case(s.strip())
        if not s:
            continue
        if s[-1].isalnum() or s[-1] in ")\"'":
            s += "."
        out.append(s)
    return " ".join(out)
