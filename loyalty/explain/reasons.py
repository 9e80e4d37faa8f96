"""Reason codes: a customer's largest churn SHAP contributions as sentences a waiter can read.

`reason_codes` turns the contributions that RAISE churn risk (positive SHAP for churn) into short
plain sentences built from the customer's own feature values ("No visit in 74 days — usually
every 12"); `protective_reasons` does the same for those that LOWER it ("Visits every 9 days",
"Gold tier"). Every reason has a stable ``code`` ("LAPSING", "NEG_SERVICE", ...) that reports
and offers can key on, whatever the language.

Features that tell the same story share a code and are merged into one reason whose SHAP is their
sum (``recency_days`` and ``gap_ratio`` both give one LAPSING sentence). A template is only used
when the customer's values support its sentence (a complaint about the service needs a negative
service score); review-based features of a customer with no reviews read "Has never left a
review"; anything else gets a generic sentence naming the feature and its value.

Conventions assumed from the feature function: counts and days are plain numbers, money is in
soles (S/), ``share_*`` are fractions in [0, 1], ``tier_rank`` is the index into ``TIERS``
(bronze = 0), sentiment and ``aspect_*`` scores are negative when reviews complain and 0 when
there is nothing to say, ``spanish_review_share`` is a fraction in [0, 1], ``visit_history``
holds the number of visits in the sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from loyalty.prediction.inputs import TIERS

LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class Reason:
    code: str                      # stable id, e.g. "LAPSING", "NEG_SERVICE", "OTHER_POINTS"
    feature: str                   # the feature with the largest contribution in the reason
    shap: float                    # summed SHAP of the merged features (churn probability)
    text: str                      # the sentence, in the language asked for
    features: tuple[str, ...] = field(default=())  # every feature merged into this reason


# ---- formatting helpers -------------------------------------------------------------------

def _num(fv: Mapping[str, float], name: str) -> float | None:
    value = fv.get(name)
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _int(x: float) -> int:
    return int(round(x))


def _count(x: float) -> int:
    """Counts and days: rounded, never negative."""
    return max(_int(x), 0)


def _pct(x: float) -> int:
    return int(round(100 * min(max(x, 0.0), 1.0)))


def _money(x: float) -> str:
    return f"S/ {x:,.0f}"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _duration(days: float, es: bool) -> str:
    d = max(_int(days), 0)
    if d >= 365:
        n, unit = d // 365, ("año", "años") if es else ("year", "years")
    elif d >= 60:
        n, unit = int(d // 30.4), ("mes", "meses") if es else ("month", "months")
    else:
        n, unit = d, ("día", "días") if es else ("day", "days")
    return f"{n} {_plural(n, *unit)}"


TIER_NAMES = {"en": {t: t.capitalize() for t in TIERS},
              "es": {"bronze": "Bronce", "silver": "Plata", "gold": "Oro", "platinum": "Platino"}}

LABELS: dict[str, tuple[str, str]] = {
    "recency_days": ("Days since last visit", "Días desde la última visita"),
    "frequency_30d": ("Visits in the last 30 days", "Visitas en los últimos 30 días"),
    "frequency_90d": ("Visits in the last 90 days", "Visitas en los últimos 90 días"),
    "frequency_365d": ("Visits in the last year", "Visitas en el último año"),
    "visits_total": ("Visits in total", "Visitas en total"),
    "monetary_total": ("Total spend", "Gasto total"),
    "monetary_avg": ("Spend per visit", "Gasto por visita"),
    "monetary_90d": ("Spend in the last 90 days", "Gasto en los últimos 90 días"),
    "monetary_trend": ("Spending trend", "Tendencia de gasto"),
    "tenure_days": ("Days as a customer", "Días como cliente"),
    "gap_mean_days": ("Usual days between visits", "Días habituales entre visitas"),
    "gap_std_days": ("Irregularity of visits", "Irregularidad de las visitas"),
    "gap_ratio": ("Current gap vs usual gap", "Ausencia actual frente a la habitual"),
    "has_repeat_visits": ("Has come back", "Ha vuelto"),
    "share_breakfast": ("Share of breakfast visits", "Proporción de desayunos"),
    "share_lunch": ("Share of lunch visits", "Proporción de almuerzos"),
    "share_dinner": ("Share of dinner visits", "Proporción de cenas"),
    "share_late": ("Share of late-night visits", "Proporción de visitas de noche"),
    "share_weekend": ("Share of weekend visits", "Proporción de visitas en fin de semana"),
    "share_dine_in": ("Share of dine-in visits", "Proporción de visitas en el local"),
    "share_takeaway": ("Share of takeaway orders", "Proporción de pedidos para llevar"),
    "share_delivery": ("Share of delivery orders", "Proporción de pedidos por delivery"),
    "party_size_avg": ("Usual party size", "Tamaño habitual del grupo"),
    "items_per_visit": ("Items per visit", "Productos por visita"),
    "fav_category_share": ("Share of favourite dish type", "Proporción de su plato favorito"),
    "points": ("Loyalty points", "Puntos de fidelidad"),
    "tier_rank": ("Loyalty tier", "Nivel de fidelidad"),
    "has_reviews": ("Has written reviews", "Ha escrito reseñas"),
    "review_count": ("Number of reviews", "Número de reseñas"),
    "sentiment_mean": ("Average review sentiment", "Tono medio de sus reseñas"),
    "sentiment_latest": ("Sentiment of the last review", "Tono de su última reseña"),
    "negative_reviews": ("Negative reviews", "Reseñas negativas"),
    "days_since_negative": ("Days since a negative review", "Días desde una reseña negativa"),
    "has_negative_review": ("Has a negative review", "Tiene una reseña negativa"),
    "aspect_food": ("Opinion of the food", "Opinión sobre la comida"),
    "aspect_service": ("Opinion of the service", "Opinión sobre la atención"),
    "aspect_ambience": ("Opinion of the ambience", "Opinión sobre el ambiente"),
    "aspect_price": ("Opinion of the prices", "Opinión sobre los precios"),
    "aspect_wait": ("Opinion of the waiting times", "Opinión sobre la espera"),
    "spanish_review_share": ("Share of reviews in Spanish", "Proporción de reseñas en español"),
    "visit_history": ("Recent visit pattern", "Patrón de visitas recientes"),
}

# A template answers (feature values, feature, raises risk?, Spanish?) with (code, text), or None
# when the customer's values do not support its sentence.
Template = Callable[[Mapping[str, float], str, bool, bool], tuple[str, str] | None]


# ---- templates ----------------------------------------------------------------------------

def _lapse(fv: Mapping[str, float], feature: str, risk: bool, es: bool) -> tuple[str, str] | None:
    r, g = _num(fv, "recency_days"), _num(fv, "gap_mean_days")
    if r is None:
        return None
    r_i = _count(r)
    usual = g is not None and g >= 1 and _num(fv, "has_repeat_visits") != 0
    if risk:
        if usual and r > g:
            text = (f"No viene hace {r_i} días — suele venir cada {_int(g)}" if es
                    else f"No visit in {r_i} days — usually every {_int(g)}")
        else:
            text = f"No viene hace {r_i} días" if es else f"No visit in {r_i} days"
        return "LAPSING", text
    if r_i <= 0:
        text = "Vino hoy" if es else "Visited today"
    elif r_i == 1:
        text = "Vino ayer" if es else "Visited yesterday"
    else:
        text = f"Vino hace {r_i} días" if es else f"Last visit {r_i} days ago"
    return "RECENT_VISIT", text


def _rhythm(fv: Mapping[str, float], feature: str, risk: bool,
            es: bool) -> tuple[str, str] | None:
    g = _num(fv, "gap_mean_days")
    if _num(fv, "has_repeat_visits") == 0:
        return _visits(fv, feature, risk, es)
    if g is None or g < 1:
        return None
    if not risk:
        return "REGULAR_VISITS", (f"Viene cada {_int(g)} días" if es
                                  else f"Visits every {_int(g)} days")
    if feature == "gap_std_days":
        return "IRREGULAR_VISITS", ("Sus visitas son irregulares" if es
                                    else "Visits are irregular")
    return "INFREQUENT", (f"Suele venir solo cada {_int(g)} días" if es
                          else f"Usually comes only every {_int(g)} days")


_WINDOWS = {"frequency_30d": 30, "frequency_90d": 90, "frequency_365d": 365}


def _frequency(fv: Mapping[str, float], feature: str, risk: bool,
               es: bool) -> tuple[str, str] | None:
    n = _num(fv, feature)
    if n is None:
        return None
    f90, f365 = _num(fv, "frequency_90d"), _num(fv, "frequency_365d")
    if risk and f90 is not None and f365 is not None and f365 >= 4 and f90 < 0.75 * f365 / 4:
        a, b = _count(f90), _count(f365)
        return "FREQ_DROP", (
            f"Viene menos: {a} {_plural(a, 'visita', 'visitas')} en 90 días, {b} en el año" if es
            else f"Visiting less often: {a} {_plural(a, 'visit', 'visits')} in 90 days, "
                 f"{b} in the year")
    k = _count(n)
    w = _WINDOWS[feature]
    w_es = "el último año" if w == 365 else f"los últimos {w} días"
    w_en = "the last year" if w == 365 else f"the last {w} days"
    if risk:
        if k == 0:
            return "LOW_FREQUENCY", (f"Ninguna visita en {w_es}" if es
                                     else f"No visits in {w_en}")
        return "LOW_FREQUENCY", (
            f"Solo {k} {_plural(k, 'visita', 'visitas')} en {w_es}" if es
            else f"Only {k} {_plural(k, 'visit', 'visits')} in {w_en}")
    if k == 0:
        return None
    return "FREQUENT", (f"{k} {_plural(k, 'visita', 'visitas')} en {w_es}" if es
                       else f"{k} {_plural(k, 'visit', 'visits')} in {w_en}")


def _visits(fv: Mapping[str, float], feature: str, risk: bool,
            es: bool) -> tuple[str, str] | None:
    total, repeat = _num(fv, "visits_total"), _num(fv, "has_repeat_visits")
    if feature == "visit_history" and total is None:
        total = _num(fv, "visit_history")
    once = repeat == 0 or (total is not None and _count(total) <= 1)
    if risk:
        if once:
            return "ONE_VISIT", "Solo ha venido una vez" if es else "Has visited only once"
        if total is None:
            return None
        n = _count(total)
        return "FEW_VISITS", (f"Solo {n} visitas hasta ahora" if es
                              else f"Only {n} visits so far")
    if once:
        return None
    if total is None:
        return "RETURNING", "Ya ha vuelto antes" if es else "Has come back before"
    n = _count(total)
    return "MANY_VISITS", f"{n} visitas hasta ahora" if es else f"{n} visits so far"


def _visit_history(fv: Mapping[str, float], feature: str, risk: bool,
                   es: bool) -> tuple[str, str] | None:
    n = _num(fv, "visit_history")
    if n is not None and _count(n) <= 1:
        return _visits(fv, feature, risk, es)
    if risk:
        return "VISITS_SLOWING", ("Sus visitas recientes están más espaciadas" if es
                                  else "Recent visits are further apart")
    return "STEADY_VISITS", ("Visitas recientes constantes" if es
                             else "Steady pattern of recent visits")


def _tenure(fv: Mapping[str, float], feature: str, risk: bool,
            es: bool) -> tuple[str, str] | None:
    t = _num(fv, "tenure_days")
    if t is None:
        return None
    if risk:
        if t > 120:
            return None
        return "NEW_CUSTOMER", (f"Cliente reciente: primera visita hace {_duration(t, True)}" if es
                                else f"New customer: first visit {_duration(t, False)} ago")
    return "LONG_TENURE", (f"Cliente desde hace {_duration(t, True)}" if es
                           else f"Customer for {_duration(t, False)}")


def _spend_trend(fv: Mapping[str, float], feature: str, risk: bool,
                 es: bool) -> tuple[str, str] | None:
    if feature == "monetary_trend":
        t = _num(fv, feature)
        if t is None or t == 0 or (t < 0) != risk:
            return None
        if risk:
            return "SPEND_DOWN", ("Gasta menos que el trimestre anterior" if es
                                  else "Spending is down on the previous quarter")
        return "SPEND_UP", ("Gasta más que el trimestre anterior" if es
                            else "Spending is up on the previous quarter")
    m = _num(fv, "monetary_90d")
    if m is None:
        return None
    if risk:
        if m <= 0:
            return "SPEND_DOWN", ("No ha gastado nada en los últimos 90 días" if es
                                  else "No spend in the last 90 days")
        return "SPEND_DOWN", (f"Solo gastó {_money(m)} en los últimos 90 días" if es
                              else f"Spent only {_money(m)} in the last 90 days")
    if m <= 0:
        return None
    return "SPEND_UP", (f"Gastó {_money(m)} en los últimos 90 días" if es
                        else f"Spent {_money(m)} in the last 90 days")


def _spend(fv: Mapping[str, float], feature: str, risk: bool,
           es: bool) -> tuple[str, str] | None:
    m = _num(fv, feature)
    if m is None or m < 0:
        return None
    code = "LOW_SPEND" if risk else "HIGH_SPEND"
    if feature == "monetary_avg":
        return code, (f"Gasta unos {_money(m)} por visita" if es
                      else f"Spends about {_money(m)} per visit")
    return code, (f"Ha gastado {_money(m)} en total" if es else f"Has spent {_money(m)} in total")


def _tier(fv: Mapping[str, float], feature: str, risk: bool,
          es: bool) -> tuple[str, str] | None:
    r = _num(fv, "tier_rank")
    if r is None:
        return None
    tier = TIERS[min(max(_int(r), 0), len(TIERS) - 1)]
    name = TIER_NAMES["es" if es else "en"][tier]
    if risk:
        if tier == TIERS[-1]:
            return None
        return "LOW_TIER", f"Aún en el nivel {name}" if es else f"Still in the {name} tier"
    if tier == TIERS[0]:
        return None
    return "TIER", f"Nivel {name}" if es else f"{name} tier"


def _points(fv: Mapping[str, float], feature: str, risk: bool,
            es: bool) -> tuple[str, str] | None:
    p = _num(fv, "points")
    if p is None:
        return None
    n = _count(p)
    if risk:
        return "LOW_POINTS", (f"Solo {n:,} puntos acumulados" if es
                              else f"Only {n:,} loyalty points")
    return "POINTS", f"{n:,} puntos acumulados" if es else f"{n:,} loyalty points"


_REVIEW_BASED = {"review_count", "sentiment_mean", "sentiment_latest", "negative_reviews",
                 "days_since_negative", "has_negative_review", "aspect_food", "aspect_service",
                 "aspect_ambience", "aspect_price", "aspect_wait", "spanish_review_share"}


def _no_reviews(fv: Mapping[str, float]) -> bool:
    return _num(fv, "has_reviews") == 0 or _num(fv, "review_count") == 0


def _engagement(fv: Mapping[str, float], feature: str, risk: bool,
                es: bool) -> tuple[str, str] | None:
    if _no_reviews(fv):
        if risk:
            return "NO_REVIEWS", ("Nunca ha dejado una reseña" if es
                                  else "Has never left a review")
        return "NO_COMPLAINTS", "Sin quejas registradas" if es else "No complaints on record"
    if risk:  # reviewing customers at risk: what their reviews say
        return _negative_reviews(fv, "negative_reviews", risk, es)
    n = _num(fv, "review_count")
    if n is None:
        return None
    k = _count(n)
    return "ENGAGED", (f"Ha dejado {k} {_plural(k, 'reseña', 'reseñas')}" if es
                       else f"Has left {k} {_plural(k, 'review', 'reviews')}")


def _negative_reviews(fv: Mapping[str, float], feature: str, risk: bool,
                      es: bool) -> tuple[str, str] | None:
    n = _num(fv, "negative_reviews")
    has_negative = _num(fv, "has_negative_review")
    negative = (n is not None and _count(n) >= 1) or has_negative == 1
    if not risk:
        if feature == "sentiment_mean":
            s = _num(fv, feature)
            if s is not None and s > 0:
                return "POSITIVE_REVIEWS", ("Deja reseñas positivas" if es
                                            else "Writes positive reviews")
            return None
        if negative:
            return None
        return "NO_COMPLAINTS", "Sin quejas registradas" if es else "No complaints on record"
    if feature == "sentiment_mean":
        s = _num(fv, feature)
        if s is None or s >= 0:
            return None
        return "NEG_REVIEWS", ("Sus reseñas son mayormente negativas" if es
                               else "Reviews are mostly negative")
    if not negative:
        return None
    d = _num(fv, "days_since_negative")
    if feature == "days_since_negative" and d is not None:
        di = _count(d)
        return "NEG_REVIEWS", (f"Dejó una reseña negativa hace {di} días" if es
                               else f"Left a negative review {di} days ago")
    if n is not None and _count(n) >= 1:
        k = _count(n)
        return "NEG_REVIEWS", (
            f"Dejó {k} {_plural(k, 'reseña negativa', 'reseñas negativas')}" if es
            else f"Left {k} negative {_plural(k, 'review', 'reviews')}")
    return "NEG_REVIEWS", "Dejó una reseña negativa" if es else "Left a negative review"


def _latest_review(fv: Mapping[str, float], feature: str, risk: bool,
                   es: bool) -> tuple[str, str] | None:
    s = _num(fv, "sentiment_latest")
    if s is None or s == 0 or (s < 0) != risk:
        return None
    if risk:
        return "NEG_LATEST_REVIEW", ("Su última reseña fue negativa" if es
                                     else "Last review was negative")
    return "POS_LATEST_REVIEW", ("Su última reseña fue positiva" if es
                                 else "Last review was positive")


# aspect: (risk code, en, es, protective code, en, es)
_ASPECTS: dict[str, tuple[str, str, str, str, str, str]] = {
    "aspect_food": ("NEG_FOOD", "Reviews complain about the food",
                    "Sus reseñas se quejan de la comida",
                    "LIKES_FOOD", "Praises the food", "Elogia la comida"),
    "aspect_service": ("NEG_SERVICE", "Reviews complain about the service",
                       "Sus reseñas se quejan de la atención",
                       "LIKES_SERVICE", "Praises the service", "Elogia la atención"),
    "aspect_ambience": ("NEG_AMBIENCE", "Reviews complain about the ambience",
                        "Sus reseñas se quejan del ambiente",
                        "LIKES_AMBIENCE", "Likes the ambience", "Le gusta el ambiente"),
    "aspect_price": ("NEG_PRICE", "Reviews say it is too expensive",
                     "Sus reseñas dicen que es caro",
                     "FAIR_PRICE", "Finds the prices fair", "Le parecen justos los precios"),
    "aspect_wait": ("NEG_WAIT", "Last reviews complained about slow service / long waits",
                    "Sus últimas reseñas se quejan de la demora / la espera",
                    "HAPPY_WAIT", "Happy with the waiting times",
                    "Conforme con los tiempos de espera"),
}


def _aspect(fv: Mapping[str, float], feature: str, risk: bool,
            es: bool) -> tuple[str, str] | None:
    s = _num(fv, feature)
    if s is None or s == 0 or (s < 0) != risk:
        return None
    neg, neg_en, neg_es, pos, pos_en, pos_es = _ASPECTS[feature]
    if risk:
        return neg, neg_es if es else neg_en
    return pos, pos_es if es else pos_en


def _review_language(fv: Mapping[str, float], feature: str, risk: bool,
                     es: bool) -> tuple[str, str] | None:
    s = _num(fv, feature)
    if s is None:
        return None
    p = _pct(s)
    return "REVIEW_LANGUAGE", (f"Escribe el {p}% de sus reseñas en español" if es
                               else f"Writes {p}% of reviews in Spanish")


_CHANNELS = {"share_dine_in": ("Come en el local", "Dines in"),
             "share_takeaway": ("Pide para llevar", "Orders takeaway"),
             "share_delivery": ("Pide delivery", "Orders delivery")}
_DAYPARTS = {"share_breakfast": ("Viene a desayunar", "Comes for breakfast"),
             "share_lunch": ("Viene a almorzar", "Comes for lunch"),
             "share_dinner": ("Viene a cenar", "Comes for dinner"),
             "share_late": ("Viene de noche", "Comes late at night"),
             "share_weekend": ("Viene los fines de semana", "Comes at weekends")}


def _share(fv: Mapping[str, float], feature: str, risk: bool,
           es: bool) -> tuple[str, str] | None:
    s = _num(fv, feature)
    if s is None:
        return None
    code, table = (("CHANNEL_MIX", _CHANNELS) if feature in _CHANNELS
                   else ("VISIT_TIMES", _DAYPARTS))
    what_es, what_en = table[feature]
    p = _pct(s)
    return code, (f"{what_es} el {p}% de las veces" if es else f"{what_en} {p}% of the time")


def _party(fv: Mapping[str, float], feature: str, risk: bool,
           es: bool) -> tuple[str, str] | None:
    s = _num(fv, feature)
    if s is None or s <= 0:
        return None
    if s < 1.5:
        return "PARTY_SIZE", "Suele venir sin compañía" if es else "Usually comes alone"
    n = _int(s)
    return "PARTY_SIZE", (f"Suele venir en grupo de {n}" if es
                          else f"Usually comes in a group of {n}")


def _basket(fv: Mapping[str, float], feature: str, risk: bool,
            es: bool) -> tuple[str, str] | None:
    s = _num(fv, feature)
    if s is None:
        return None
    if feature == "items_per_visit":
        return "BASKET_SIZE", (f"Pide {s:.1f} productos por visita" if es
                               else f"Orders {s:.1f} items per visit")
    p = _pct(s)
    return "FAVOURITE_DISH", (f"Pide casi siempre lo mismo ({p}% de sus platos)" if es
                              else f"Orders mostly the same kind of dish ({p}%)")


TEMPLATES: dict[str, Template] = {
    "recency_days": _lapse, "gap_ratio": _lapse,
    "gap_mean_days": _rhythm, "gap_std_days": _rhythm,
    "frequency_30d": _frequency, "frequency_90d": _frequency, "frequency_365d": _frequency,
    "visits_total": _visits, "has_repeat_visits": _visits,
    "visit_history": _visit_history,
    "tenure_days": _tenure,
    "monetary_trend": _spend_trend, "monetary_90d": _spend_trend,
    "monetary_total": _spend, "monetary_avg": _spend,
    "tier_rank": _tier, "points": _points,
    "has_reviews": _engagement, "review_count": _engagement,
    "sentiment_mean": _negative_reviews, "negative_reviews": _negative_reviews,
    "days_since_negative": _negative_reviews, "has_negative_review": _negative_reviews,
    "sentiment_latest": _latest_review,
    "spanish_review_share": _review_language,
    **dict.fromkeys(_ASPECTS, _aspect),
    **dict.fromkeys((*_CHANNELS, *_DAYPARTS), _share),
    "party_size_avg": _party,
    "items_per_visit": _basket, "fav_category_share": _basket,
}


def _label(feature: str, es: bool) -> str:
    if feature in LABELS:
        return LABELS[feature][1 if es else 0]
    words = feature.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _generic(fv: Mapping[str, float], feature: str, risk: bool, es: bool) -> tuple[str, str]:
    value = _num(fv, feature)
    label = _label(feature, es)
    if es:
        effect = "aumenta el riesgo de abandono" if risk else "reduce el riesgo de abandono"
    else:
        effect = "raises churn risk" if risk else "lowers churn risk"
    shown = "" if value is None else f": {value:.3g}"
    return f"OTHER_{feature.upper()}", f"{label}{shown} ({effect})"


def _sentence(fv: Mapping[str, float], feature: str, risk: bool, es: bool) -> tuple[str, str]:
    if feature in _REVIEW_BASED and _no_reviews(fv):
        found = _engagement(fv, feature, risk, es)
    else:
        template = TEMPLATES.get(feature)
        found = template(fv, feature, risk, es) if template is not None else None
    return found if found is not None else _generic(fv, feature, risk, es)


def _language(language: str) -> bool:
    lang = language.lower().replace("_", "-").split("-")[0]
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return lang == "es"


def reason_codes(feature_values: Mapping[str, float], shap_values: Mapping[str, float],
                 k: int = 3, language: str = "en", protective: bool = False,
                 min_shap: float = 0.0) -> list[Reason]:
    """The k strongest reasons that raise churn risk (positive churn SHAP), merged by code.

    ``feature_values`` and ``shap_values`` are keyed by feature name (``Explanations.
    feature_dict(i)`` / ``shap_dict(i)``). With ``protective=True`` the reasons that lower the
    risk (negative SHAP) instead. Contributions of at most ``min_shap`` in size are ignored.
    """
    es = _language(language)
    sign = -1.0 if protective else 1.0
    groups: dict[str, list[tuple[float, str, str]]] = {}
    for feature, raw in shap_values.items():
        s = float(raw)
        if not math.isfinite(s) or sign * s <= max(min_shap, 0.0):
            continue
        code, text = _sentence(feature_values, feature, not protective, es)
        groups.setdefault(code, []).append((s, feature, text))
    reasons = []
    for code, members in groups.items():
        members.sort(key=lambda m: -sign * m[0])
        top_shap, top_feature, top_text = members[0]
        reasons.append(Reason(code=code, feature=top_feature,
                              shap=float(sum(m[0] for m in members)), text=top_text,
                              features=tuple(m[1] for m in members)))
    reasons.sort(key=lambda r: (-sign * r.shap, r.code))
    return reasons[:k]


def protective_reasons(feature_values: Mapping[str, float], shap_values: Mapping[str, float],
                       k: int = 3, language: str = "en",
                       min_shap: float = 0.0) -> list[Reason]:
    """The k strongest reasons that LOWER churn risk (negative churn SHAP), merged by code."""
    return reason_codes(feature_values, shap_values, k=k, language=language, protective=True,
                        min_shap=min_shap)


def one_line(reasons: Sequence[Reason], n: int = 2) -> str:
    """The first ``n`` (two) reasons' sentences joined with "; " (empty when there are none)."""
    return "; ".join(r.text for r in reasons[:n])
