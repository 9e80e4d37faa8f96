"""Reason codes: plain sentences from churn SHAP values and the customer's features."""

from __future__ import annotations

import pytest

from loyalty.explain import Reason, one_line, protective_reasons, reason_codes

FEATURES = (
    "recency_days", "frequency_30d", "frequency_90d", "frequency_365d", "visits_total",
    "monetary_total", "monetary_avg", "monetary_90d", "monetary_trend", "tenure_days",
    "gap_mean_days", "gap_std_days", "gap_ratio", "has_repeat_visits", "share_breakfast",
    "share_lunch", "share_dinner", "share_late", "share_weekend", "share_dine_in",
    "share_takeaway", "share_delivery", "party_size_avg", "items_per_visit",
    "fav_category_share", "points", "tier_rank", "has_reviews", "review_count",
    "sentiment_mean", "sentiment_latest", "negative_reviews", "days_since_negative",
    "has_negative_review", "aspect_food", "aspect_service", "aspect_ambience", "aspect_price",
    "aspect_wait", "spanish_review_share", "visit_history",
)

AT_RISK = {
    "recency_days": 74, "frequency_30d": 0, "frequency_90d": 1, "frequency_365d": 14,
    "visits_total": 15, "monetary_total": 820, "monetary_avg": 54.7, "monetary_90d": 40,
    "monetary_trend": -0.4, "tenure_days": 90, "gap_mean_days": 12.2, "gap_std_days": 20,
    "gap_ratio": 6.1, "has_repeat_visits": 1, "share_breakfast": 0.0, "share_lunch": 0.2,
    "share_dinner": 0.8, "share_late": 0.0, "share_weekend": 0.6, "share_dine_in": 0.3,
    "share_takeaway": 0.1, "share_delivery": 0.6, "party_size_avg": 2.4,
    "items_per_visit": 3.2, "fav_category_share": 0.7, "points": 120, "tier_rank": 0,
    "has_reviews": 1, "review_count": 3, "sentiment_mean": -0.3, "sentiment_latest": -0.8,
    "negative_reviews": 2, "days_since_negative": 10, "has_negative_review": 1,
    "aspect_food": -0.2, "aspect_service": -0.7, "aspect_ambience": -0.1, "aspect_price": -0.3,
    "aspect_wait": -0.9, "spanish_review_share": 0.25, "visit_history": 15,
}

LOYAL = {
    "recency_days": 3, "frequency_30d": 4, "frequency_90d": 10, "frequency_365d": 40,
    "visits_total": 41, "monetary_total": 3100, "monetary_avg": 75.6, "monetary_90d": 800,
    "monetary_trend": 0.2, "tenure_days": 1100, "gap_mean_days": 9.1, "gap_std_days": 2,
    "gap_ratio": 0.3, "has_repeat_visits": 1, "share_breakfast": 0.1, "share_lunch": 0.7,
    "share_dinner": 0.2, "share_late": 0.0, "share_weekend": 0.3, "share_dine_in": 0.9,
    "share_takeaway": 0.1, "share_delivery": 0.0, "party_size_avg": 1.1,
    "items_per_visit": 2.0, "fav_category_share": 0.4, "points": 2300, "tier_rank": 2,
    "has_reviews": 1, "review_count": 5, "sentiment_mean": 0.6, "sentiment_latest": 0.8,
    "negative_reviews": 0, "days_since_negative": 0, "has_negative_review": 0,
    "aspect_food": 0.5, "aspect_service": 0.7, "aspect_ambience": 0.3, "aspect_price": 0.2,
    "aspect_wait": 0.4, "spanish_review_share": 1.0, "visit_history": 30,
}


def test_lapsing_merges_recency_and_gap_ratio() -> None:
    shap = {"recency_days": 0.10, "gap_ratio": 0.05, "aspect_service": 0.08,
            "tier_rank": -0.02, "points": 0.01}
    reasons = reason_codes(AT_RISK, shap, k=3)
    assert [r.code for r in reasons] == ["LAPSING", "NEG_SERVICE", "LOW_POINTS"]
    lapsing = reasons[0]
    assert lapsing.text == "No visit in 74 days — usually every 12"
    assert lapsing.feature == "recency_days"
    assert set(lapsing.features) == {"recency_days", "gap_ratio"}
    assert lapsing.shap == pytest.approx(0.15)
    assert reasons[1].text == "Reviews complain about the service"
    assert all(r.shap > 0 for r in reasons)
    assert one_line(reasons) == ("No visit in 74 days — usually every 12; "
                                 "Reviews complain about the service")


def test_review_sentences() -> None:
    shap = {"aspect_wait": 0.2, "sentiment_latest": 0.1, "negative_reviews": 0.05,
            "days_since_negative": 0.01}
    reasons = reason_codes(AT_RISK, shap, k=5)
    assert [(r.code, r.text) for r in reasons] == [
        ("NEG_WAIT", "Last reviews complained about slow service / long waits"),
        ("NEG_LATEST_REVIEW", "Last review was negative"),
        ("NEG_REVIEWS", "Left 2 negative reviews"),
    ]
    assert reasons[2].features == ("negative_reviews", "days_since_negative")


def test_one_visit() -> None:
    one = {**AT_RISK, "visits_total": 1, "has_repeat_visits": 0, "gap_mean_days": 0,
           "gap_ratio": 0, "recency_days": 40, "visit_history": 1}
    shap = {"has_repeat_visits": 0.12, "visits_total": 0.04, "gap_mean_days": 0.03,
            "visit_history": 0.02, "recency_days": 0.05}
    reasons = reason_codes(one, shap, k=3)
    assert reasons[0] == Reason("ONE_VISIT", "has_repeat_visits", pytest.approx(0.21),
                                "Has visited only once",
                                ("has_repeat_visits", "visits_total", "gap_mean_days",
                                 "visit_history"))
    assert reasons[1].text == "No visit in 40 days"          # no usual gap to compare with


def test_spend_frequency_and_history() -> None:
    shap = {"monetary_trend": 0.3, "frequency_90d": 0.2, "visit_history": 0.1,
            "frequency_30d": 0.05}
    texts = [r.text for r in reason_codes(AT_RISK, shap, k=3)]
    assert texts == ["Spending is down on the previous quarter",
                     "Visiting less often: 1 visit in 90 days, 14 in the year",
                     "Recent visits are further apart"]


def test_spanish() -> None:
    shap = {"recency_days": 0.10, "gap_ratio": 0.05, "aspect_service": 0.08,
            "has_repeat_visits": 0.01}
    reasons = reason_codes(AT_RISK, shap, k=2, language="es")
    assert [r.code for r in reasons] == ["LAPSING", "NEG_SERVICE"]
    assert one_line(reasons) == ("No viene hace 74 días — suele venir cada 12; "
                                 "Sus reseñas se quejan de la atención")
    one = {**AT_RISK, "has_repeat_visits": 0, "visits_total": 1}
    assert reason_codes(one, {"has_repeat_visits": 0.1}, language="es-PE")[0].text == \
        "Solo ha venido una vez"
    protect = protective_reasons(LOYAL, {"gap_mean_days": -0.1, "tier_rank": -0.05},
                                 language="es")
    assert [r.text for r in protect] == ["Viene cada 9 días", "Nivel Oro"]


def test_protective_reasons() -> None:
    shap = {"gap_mean_days": -0.12, "tier_rank": -0.08, "recency_days": -0.03,
            "aspect_service": 0.02}
    protect = protective_reasons(LOYAL, shap, k=3)
    assert [(r.code, r.text) for r in protect] == [
        ("REGULAR_VISITS", "Visits every 9 days"),
        ("TIER", "Gold tier"),
        ("RECENT_VISIT", "Last visit 3 days ago"),
    ]
    assert all(r.shap < 0 for r in protect)
    assert reason_codes(LOYAL, shap, k=3)[0].code == "OTHER_ASPECT_SERVICE"  # praise, +SHAP
    assert reason_codes(LOYAL, {"recency_days": -0.1}) == []


def test_review_language_in_both_languages() -> None:
    risk = reason_codes(AT_RISK, {"spanish_review_share": 0.1})
    assert [(r.code, r.text) for r in risk] == [("REVIEW_LANGUAGE",
                                                 "Writes 25% of reviews in Spanish")]
    keep = protective_reasons(LOYAL, {"spanish_review_share": -0.1}, language="es")
    assert [(r.code, r.text) for r in keep] == [("REVIEW_LANGUAGE",
                                                 "Escribe el 100% de sus reseñas en español")]
    # A guest with no review has no language to speak of.
    silent = {**AT_RISK, "has_reviews": 0, "review_count": 0, "spanish_review_share": 0}
    assert reason_codes(silent, {"spanish_review_share": 0.1}, language="es")[0].text == \
        "Nunca ha dejado una reseña"


def test_no_reviews_and_generic_fallback() -> None:
    silent = {**AT_RISK, "has_reviews": 0, "review_count": 0, "aspect_service": 0,
              "sentiment_latest": 0, "negative_reviews": 0, "has_negative_review": 0}
    reasons = reason_codes(silent, {"aspect_service": 0.05, "sentiment_latest": 0.04,
                                    "mystery_score": 0.01}, k=3)
    assert [(r.code, r.text) for r in reasons] == [
        ("NO_REVIEWS", "Has never left a review"),
        ("OTHER_MYSTERY_SCORE", "Mystery score (raises churn risk)"),
    ]
    fallback = reason_codes({"mystery_score": 3.5}, {"mystery_score": 0.2}, language="es")
    assert fallback[0].text == "Mystery score: 3.5 (aumenta el riesgo de abandono)"


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_feature_has_a_sentence_both_ways(language: str) -> None:
    for feature in FEATURES:
        risk = reason_codes(AT_RISK, {feature: 0.1}, language=language)
        assert len(risk) == 1 and risk[0].text, feature
        assert not risk[0].code.startswith("OTHER_"), (feature, risk[0])
        safe = protective_reasons(LOYAL, {feature: -0.1}, language=language)
        assert len(safe) == 1 and safe[0].text, feature
        if feature not in ("share_late", "share_delivery", "days_since_negative"):
            assert not safe[0].code.startswith("OTHER_"), (feature, safe[0])


def test_k_ordering_and_validation() -> None:
    shap = {f: 0.01 * (i + 1) for i, f in enumerate(("aspect_food", "aspect_price",
                                                     "aspect_ambience", "aspect_wait"))}
    reasons = reason_codes(AT_RISK, shap, k=2)
    assert [r.code for r in reasons] == ["NEG_WAIT", "NEG_AMBIENCE"]
    assert one_line([]) == ""
    assert reason_codes(AT_RISK, shap, k=5, min_shap=0.025)[-1].code == "NEG_AMBIENCE"
    with pytest.raises(ValueError, match="language"):
        reason_codes(AT_RISK, shap, language="fr")
