"""Reward documents: validation issues with their paths, resolution, cost and descriptions."""

from __future__ import annotations

import json

import pytest

from loyalty.errors import RuleValidationError
from loyalty.rules.rewards import (
    TIER_BENEFIT_RATE,
    MenuEntry,
    ResolvedReward,
    resolve_reward,
    validate_reward,
)

MENU = {
    "Suspiro limeño": MenuEntry("desserts", 12.0),
    "Picarones": MenuEntry("desserts", 9.5),
    "Lomo saltado": MenuEntry("mains", 38.0),
    "Ceviche clásico": MenuEntry("starters", 32.5),
}
CUSTOMER = {"monetary_avg": 60.0, "frequency_90d": 6, "tier": "silver",
            "favourite_dish": "Lomo saltado",
            "favourites_by_category": {"desserts": "Suspiro limeño", "mains": "Lomo saltado"}}


def issues_of(doc: object, menu: dict[str, MenuEntry] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(RuleValidationError) as caught:
        validate_reward(doc, menu)
    return caught.value.issues


@pytest.mark.parametrize("doc", [
    {"type": "percent_off", "percent": 15},
    {"type": "percent_off", "percent": 100, "max_amount": 20},
    {"type": "percent_off", "percent": 12.5},
    {"type": "amount_off", "amount": 10},
    {"type": "amount_off", "amount": 10.5, "min_spend": 0},
    {"type": "free_item", "item": "Picarones"},
    {"type": "free_item", "favourite_in_category": "desserts"},
    {"type": "free_item", "favourite_in_category": "desserts", "fallback_item": "Picarones"},
    {"type": "points_multiplier", "multiplier": 10},
    {"type": "points_multiplier", "multiplier": 1.5, "visits": 5},
    {"type": "tier_upgrade", "to": "next"},
    {"type": "tier_upgrade", "to": "platinum", "days": 365},
])
def test_valid_rewards(doc: dict[str, object]) -> None:
    validate_reward(doc)
    validate_reward(doc, MENU)


@pytest.mark.parametrize(("doc", "path", "fragment"), [
    (["percent_off"], "reward", "must be an object"),
    ({"percent": 10}, "reward.type", 'missing "type"'),
    ({"type": "percent"}, "reward.type", 'unknown reward type "percent"; did you mean'),
    ({"type": "percent_off", "percent": 10, "cap": 5}, "reward.cap", 'unknown key "cap"'),
    ({"type": "percent_off", "percent": 10, "max_amout": 5}, "reward.max_amout",
     'did you mean "max_amount"?'),
    ({"type": "percent_off"}, "reward.percent", 'missing "percent"'),
    ({"type": "percent_off", "percent": 0}, "reward.percent", "between 1 and 100, not 0"),
    ({"type": "percent_off", "percent": 150}, "reward.percent", "between 1 and 100, not 150"),
    ({"type": "percent_off", "percent": "15%"}, "reward.percent", "must be a number"),
    ({"type": "percent_off", "percent": True}, "reward.percent", "must be a number"),
    ({"type": "percent_off", "percent": 10, "max_amount": 0}, "reward.max_amount", "above 0"),
    ({"type": "amount_off"}, "reward.amount", 'missing "amount"'),
    ({"type": "amount_off", "amount": -5}, "reward.amount", "above 0"),
    ({"type": "amount_off", "amount": 5, "min_spend": -1}, "reward.min_spend", "at least 0"),
    ({"type": "free_item"}, "reward.item", '"favourite_in_category"'),
    ({"type": "free_item", "item": "Picarones", "favourite_in_category": "desserts"},
     "reward", "not both"),
    ({"type": "free_item", "item": "Picarones", "fallback_item": "Picarones"},
     "reward.fallback_item", 'only goes with "favourite_in_category"'),
    ({"type": "free_item", "item": ""}, "reward.item", "must be a name"),
    ({"type": "free_item", "favourite_in_category": 3}, "reward.favourite_in_category",
     "must be a name"),
    ({"type": "points_multiplier", "multiplier": 1}, "reward.multiplier",
     "above 1 and at most 10"),
    ({"type": "points_multiplier", "multiplier": 11}, "reward.multiplier", "at most 10"),
    ({"type": "points_multiplier", "multiplier": 2, "visits": 6}, "reward.visits",
     "between 1 and 5"),
    ({"type": "points_multiplier", "multiplier": 2, "visits": 1.5}, "reward.visits",
     "whole number"),
    ({"type": "tier_upgrade"}, "reward.to", 'missing "to"'),
    ({"type": "tier_upgrade", "to": "diamond"}, "reward.to", 'unknown tier "diamond"'),
    ({"type": "tier_upgrade", "to": "Gold"}, "reward.to", 'did you mean "gold"?'),
    ({"type": "tier_upgrade", "to": "bronze"}, "reward.to", "lowest tier"),
    ({"type": "tier_upgrade", "to": "next", "days": 0}, "reward.days", "between 1 and 365"),
    ({"type": "tier_upgrade", "to": "next", "days": 400}, "reward.days", "between 1 and 365"),
])
def test_each_issue_has_its_path(doc: object, path: str, fragment: str) -> None:
    issues = issues_of(doc)
    assert any(p == path and fragment in message for p, message in issues), issues


@pytest.mark.parametrize(("doc", "path", "fragment"), [
    ({"type": "free_item", "item": "Suspiro limeno"}, "reward.item",
     '"Suspiro limeno" is not on the menu; did you mean "Suspiro limeño"?'),
    ({"type": "free_item", "favourite_in_category": "desert"}, "reward.favourite_in_category",
     'no dish on the menu is in the category "desert"; did you mean "desserts"?'),
    ({"type": "free_item", "favourite_in_category": "desserts", "fallback_item": "Tiramisu"},
     "reward.fallback_item", '"Tiramisu" is not on the menu'),
])
def test_menu_issues(doc: dict[str, object], path: str, fragment: str) -> None:
    validate_reward(doc)  # fine without a menu
    assert (path, fragment) in issues_of(doc, MENU)


def test_all_issues_are_reported_at_once() -> None:
    doc = {"type": "points_multiplier", "multiplier": 20, "visits": 0, "bonus": 1}
    assert [p for p, _ in issues_of(doc)] == ["reward.bonus", "reward.multiplier", "reward.visits"]


def resolved(doc: dict[str, object], customer: dict[str, object] | None = None,
             **kwargs: object) -> ResolvedReward:
    result = resolve_reward(doc, CUSTOMER if customer is None else customer, MENU, **kwargs)
    json.dumps(result.details)  # JSON-safe
    assert set(result.description) == {"en", "es"}
    return result


@pytest.mark.parametrize(("doc", "cost", "en", "es"), [
    ({"type": "percent_off", "percent": 15}, 9.0,
     "15% off your next visit", "15% de descuento en tu próxima visita"),
    ({"type": "percent_off", "percent": 15, "max_amount": 5}, 5.0,
     "15% off your next visit (up to 5)", "15% de descuento en tu próxima visita (hasta 5)"),
    ({"type": "percent_off", "percent": 12.5}, 7.5,
     "12.5% off your next visit", "12.5% de descuento en tu próxima visita"),
    ({"type": "amount_off", "amount": 10}, 10.0,
     "10 off your next visit", "10 de descuento en tu próxima visita"),
    ({"type": "amount_off", "amount": 7.5, "min_spend": 50}, 7.5,
     "7.50 off your next visit when you spend 50 or more",
     "7.50 de descuento en tu próxima visita con un consumo de 50 o más"),
    ({"type": "free_item", "item": "Suspiro limeño"}, 12.0,
     "a free Suspiro limeño", "un Suspiro limeño gratis"),
    ({"type": "points_multiplier", "multiplier": 2}, 0.6,
     "double points on your next visit", "puntos dobles en tu próxima visita"),
    ({"type": "points_multiplier", "multiplier": 3, "visits": 2}, 2.4,
     "triple points on your next 2 visits", "puntos triples en tus próximas 2 visitas"),
    ({"type": "points_multiplier", "multiplier": 1.5}, 0.3,
     "1.5× points on your next visit", "puntos x1.5 en tu próxima visita"),
    # 5% x 1 step x 60 x (6 visits per 90 days over 90 days = 6)
    ({"type": "tier_upgrade", "to": "next"}, 18.0,
     "an upgrade to Gold for 90 days", "un ascenso a Gold por 90 días"),
    # 5% x 2 steps x 60 x max(6 x 30 / 90, 1) = 12
    ({"type": "tier_upgrade", "to": "platinum", "days": 30}, 12.0,
     "an upgrade to Platinum for 30 days", "un ascenso a Platinum por 30 días"),
])
def test_resolve_each_type(doc: dict[str, object], cost: float, en: str, es: str) -> None:
    result = resolved(doc)
    assert result.type == doc["type"]
    assert result.expected_cost == pytest.approx(cost, abs=0.005)
    assert result.description == {"en": en, "es": es}


def test_resolve_details() -> None:
    item = resolved({"type": "free_item", "item": "Picarones"})
    assert item.details == {"item": "Picarones", "price": 9.5, "category": "desserts",
                            "source": "item"}
    upgrade = resolved({"type": "tier_upgrade", "to": "next"})
    assert upgrade.details["current_tier"] == "silver"
    assert upgrade.details["target_tier"] == "gold"
    assert upgrade.details["steps"] == 1 and upgrade.details["days"] == 90
    multiplier = resolved({"type": "points_multiplier", "multiplier": 2}, point_value=0.05)
    assert multiplier.details["multiplier"] == 2 and multiplier.expected_cost == 3.0


@pytest.mark.parametrize(("customer", "doc", "item", "source"), [
    (CUSTOMER, {"type": "free_item", "favourite_in_category": "desserts"},
     "Suspiro limeño", "favourite"),
    ({}, {"type": "free_item", "favourite_in_category": "desserts"}, "Picarones", "cheapest"),
    ({"favourites_by_category": {"desserts": "Gone from the menu"}},
     {"type": "free_item", "favourite_in_category": "desserts"}, "Picarones", "cheapest"),
    ({"favourites_by_category": None},
     {"type": "free_item", "favourite_in_category": "desserts",
      "fallback_item": "Suspiro limeño"}, "Suspiro limeño", "fallback"),
])
def test_favourite_in_category(customer: dict[str, object], doc: dict[str, object], item: str,
                               source: str) -> None:
    result = resolved(doc, customer)
    assert result.details["item"] == item and result.details["source"] == source
    assert result.expected_cost == MENU[item].price
    assert result.description["en"] == f"a free {item}"


def test_category_without_dish_raises() -> None:
    with pytest.raises(RuleValidationError) as caught:
        resolved({"type": "free_item", "favourite_in_category": "drinks"})
    assert caught.value.issues[0][0] == "reward.favourite_in_category"


def test_unknown_dish_raises_on_resolve() -> None:
    with pytest.raises(RuleValidationError) as caught:
        resolved({"type": "free_item", "item": "Picaron"})
    assert caught.value.issues == [
        ("reward.item", '"Picaron" is not on the menu; did you mean "Picarones"?')]


def test_malformed_reward_raises_on_resolve() -> None:
    with pytest.raises(RuleValidationError, match="reward.percent"):
        resolved({"type": "percent_off", "percent": 500})


@pytest.mark.parametrize("to", ["next", "gold", "platinum"])
def test_platinum_tier_upgrade_does_not_crash(to: str) -> None:
    result = resolved({"type": "tier_upgrade", "to": to, "days": 60},
                      {"tier": "platinum", "monetary_avg": 80.0, "frequency_90d": 9})
    assert result.expected_cost == 0.0
    assert result.description == {"en": "Platinum status confirmed for 60 days",
                                  "es": "Estatus Platinum confirmado por 60 días"}
    assert result.details["steps"] == 0 and result.details["target_tier"] == "platinum"


def test_tier_upgrade_missing_tier_counts_as_bronze_and_at_least_one_visit() -> None:
    result = resolved({"type": "tier_upgrade", "to": "next"}, {"monetary_avg": 40})
    assert result.details["current_tier"] == "bronze"
    assert result.details["expected_visits"] == 1.0
    assert result.expected_cost == pytest.approx(TIER_BENEFIT_RATE * 40)
    assert result.description["en"] == "an upgrade to Silver for 90 days"


@pytest.mark.parametrize("customer", [{}, {"monetary_avg": None}, {"monetary_avg": float("nan")}])
def test_missing_spend_counts_as_zero(customer: dict[str, object]) -> None:
    assert resolved({"type": "percent_off", "percent": 20}, customer).expected_cost == 0.0
    assert resolved({"type": "points_multiplier", "multiplier": 2}, customer).expected_cost == 0.0


def test_cost_rounded_to_cents() -> None:
    result = resolved({"type": "percent_off", "percent": 7}, {"monetary_avg": 33.333})
    assert result.expected_cost == 2.33


@pytest.mark.parametrize(("dish", "article"), [
    ("Suspiro limeño", "un"), ("Cerveza Cusqueña", "una"), ("Picarones", "unos"),
    ("Papas fritas", "unas"), ("Pisco sour", "un"), ("Tequeños con guacamole", "unos"),
])
def test_spanish_article(dish: str, article: str) -> None:
    from loyalty.rules.rewards import spanish_article

    assert spanish_article(dish) == article
