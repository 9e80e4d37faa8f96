"""Rule conditions: vocabulary, validation issues with their paths, evaluation, rendering."""

from __future__ import annotations

import math

import pytest

from loyalty.errors import RuleValidationError
from loyalty.features.tabular import FEATURE_NAMES
from loyalty.models import TIERS
from loyalty.rules.conditions import (
    MAX_DEPTH,
    MAX_NODES,
    describe,
    evaluate,
    fields_used,
    validate_conditions,
)
from loyalty.rules.vocabulary import FIELDS, Field


def cmp(field: str, op: str, value: object) -> dict[str, object]:
    return {"field": field, "op": op, "value": value}


def issues_of(doc: object) -> list[tuple[str, str]]:
    with pytest.raises(RuleValidationError) as caught:
        validate_conditions(doc)
    return caught.value.issues


# ------------------------------------------------------------------------------ vocabulary


def test_vocabulary_covers_features_and_extras() -> None:
    for name in FEATURE_NAMES:
        assert FIELDS[name].kind == "number" and FIELDS[name].description
    assert FIELDS["aspect_wait"].minimum == -1 and FIELDS["aspect_wait"].maximum == 1
    assert FIELDS["churn_probability"] == Field(
        "churn_probability", "number", None, 0.0, 1.0, FIELDS["churn_probability"].description)
    assert FIELDS["tier"].choices == TIERS == FIELDS["predicted_tier"].choices
    assert FIELDS["weekday"].choices == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert FIELDS["usual_day_part"].choices == ("breakfast", "lunch", "dinner", "late")
    assert FIELDS["language"].choices == ("en", "es")
    assert FIELDS["reason_codes"].kind == "list"
    assert FIELDS["marketing_opt_in"].kind == "bool"
    assert (FIELDS["birthday_month"].kind, FIELDS["birthday_month"].minimum,
            FIELDS["birthday_month"].maximum) == ("integer", 1, 12)
    assert FIELDS["days_to_birthday"].maximum == 365
    spend = FIELDS["spend_to_next_tier"]
    assert spend.minimum == 0 and spend.maximum is None
    for name in ("segment", "segment_name", "favourite_dish", "favourite_category"):
        assert FIELDS[name].kind == "text" and FIELDS[name].choices is None
    assert all(f.name == name and f.description for name, f in FIELDS.items())


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize("doc", [
    cmp("churn_probability", ">=", 0.6),
    cmp("churn_probability", "between", [0, 1]),
    cmp("tier", "in", ["gold", "platinum"]),
    cmp("tier", "not_in", ["bronze"]),
    cmp("tier", "exists", False),
    cmp("reason_codes", "contains", "NEG_SERVICE"),
    cmp("reason_codes", "exists", True),
    cmp("marketing_opt_in", "==", True),
    cmp("birthday_month", "==", 5),
    cmp("birthday_month", "between", [3, 5.0]),
    cmp("favourite_dish", "==", "Lomo saltado"),
    cmp("recency_days", ">", 45),
    {"not": {"any": [cmp("tier", "==", "gold"), {"all": [cmp("month", "<=", 6)]}]}},
])
def test_valid_documents_pass(doc: dict[str, object]) -> None:
    validate_conditions(doc)


@pytest.mark.parametrize(("doc", "path", "fragment"), [
    ([cmp("tier", "==", "gold")], "conditions", "must be an object"),
    ("tier == gold", "conditions", "must be an object"),
    ({}, "conditions", "empty condition"),
    ({"all": []}, "conditions.all", "at least one"),
    ({"any": cmp("tier", "==", "gold")}, "conditions.any", "needs a list"),
    ({"all": [5]}, "conditions.all[0]", "must be an object"),
    ({"all": [cmp("tier", "==", "gold")], "any": [cmp("tier", "==", "gold")]},
     "conditions", "either one of all/any/not"),
    ({"not": cmp("tier", "==", "gold"), "field": "tier"}, "conditions", "mixes"),
    ({"all": [cmp("tier", "==", "gold")], "note": "x"}, "conditions.note", 'unknown key "note"'),
    ({**cmp("tier", "==", "gold"), "valeu": 1}, "conditions.valeu",
     'unknown key "valeu"; did you mean "value"?'),
    ({"field": "tier", "op": "=="}, "conditions.value", 'missing "value"'),
    ({"op": "==", "value": 1}, "conditions.field", 'missing "field"'),
    ({"field": "tier", "value": "gold"}, "conditions.op", 'missing "op"'),
    (cmp(3, "==", 1), "conditions.field", "must be a name"),
    ({"all": [cmp("tier", "==", "gold"), cmp("churn_prob", ">", 0.5)]}, "conditions.all[1].field",
     'unknown field "churn_prob"; did you mean "churn_probability"?'),
    ({"any": [{"not": cmp("tire", "==", "gold")}]}, "conditions.any[0].not.field",
     'unknown field "tire"; did you mean "tier"?'),
    (cmp("tier", "=", "gold"), "conditions.op", 'unknown operator "="; did you mean "=="?'),
    (cmp("tier", "like", "gold"), "conditions.op", 'unknown operator "like"'),
    (cmp("tier", 1, "gold"), "conditions.op", "must be text"),
    ({"all": [cmp("recency_days", ">", 3), cmp("tier", ">", "gold")]}, "conditions.all[1].op",
     'operator ">" does not apply to the text field "tier"; '
     "use one of ==, !=, in, not_in, exists"),
    (cmp("tier", "contains", "g"), "conditions.op", "does not apply to the text field"),
    (cmp("recency_days", "contains", "g"), "conditions.op", "number field"),
    (cmp("reason_codes", "==", "LAPSING"), "conditions.op",
     'does not apply to the list field "reason_codes"; use one of contains, exists'),
    (cmp("marketing_opt_in", "<", True), "conditions.op", "true/false field"),
    (cmp("tier", "==", "diamond"), "conditions.value",
     '"diamond" is not a valid tier (choose one of bronze, silver, gold, platinum)'),
    (cmp("tier", "==", "Gold"), "conditions.value", 'did you mean "gold"?'),
    (cmp("weekday", "==", "monday"), "conditions.value", "mon, tue, wed"),
    (cmp("tier", "==", 3), "conditions.value", "expected text"),
    (cmp("churn_probability", ">", 1.5), "conditions.value",
     '1.5 is out of range for "churn_probability", which lies between 0 and 1'),
    (cmp("recency_days", "<", -1), "conditions.value", "at or above 0"),
    (cmp("churn_probability", ">", True), "conditions.value", "expected a number"),
    (cmp("churn_probability", ">", "0.5"), "conditions.value", "expected a number"),
    (cmp("churn_probability", ">", math.nan), "conditions.value", "expected a number"),
    (cmp("birthday_month", "==", 5.5), "conditions.value", "whole numbers"),
    (cmp("birthday_month", "==", 13), "conditions.value", "between 1 and 12"),
    (cmp("marketing_opt_in", "==", 1), "conditions.value", "expected true or false"),
    (cmp("tier", "exists", "yes"), "conditions.value", '"exists" takes true'),
    (cmp("tier", "in", []), "conditions.value", "non-empty list"),
    (cmp("tier", "not_in", "gold"), "conditions.value", "non-empty list"),
    (cmp("tier", "in", ["gold", "diamond"]), "conditions.value[1]", '"diamond" is not a valid'),
    (cmp("recency_days", "between", [1]), "conditions.value", "two numbers"),
    (cmp("recency_days", "between", [60, 30]), "conditions.value", "low end 60 is above"),
    (cmp("recency_days", "between", [1, "x"]), "conditions.value[1]", "expected a number"),
    (cmp("churn_probability", "between", [0.5, 2]), "conditions.value[1]", "out of range"),
    (cmp("reason_codes", "contains", ["LAPSING"]), "conditions.value", "one text value"),
    (cmp("reason_codes", "contains", "neg service"), "conditions.value",
     'did you mean "NEG_SERVICE"?'),
])
def test_each_issue_has_its_path(doc: object, path: str, fragment: str) -> None:
    issues = issues_of(doc)
    assert any(p == path and fragment in message for p, message in issues), issues


def test_all_issues_are_reported_at_once() -> None:
    doc = {"all": [
        cmp("churn_prob", ">", 0.5),
        cmp("tier", ">", "gold"),
        {"any": [cmp("tier", "==", "diamond"), {"not": cmp("churn_probability", ">", 1.5)}]},
        {"any": []},
    ], "extra": 1}
    paths = [path for path, _ in issues_of(doc)]
    assert paths == [
        "conditions.extra", "conditions.all[0].field", "conditions.all[1].op",
        "conditions.all[2].any[0].value", "conditions.all[2].any[1].not.value",
        "conditions.all[3].any",
    ]


def test_error_message_joins_issues() -> None:
    with pytest.raises(RuleValidationError, match=r"conditions\.field: unknown field"):
        validate_conditions(cmp("nope", "==", 1))


def test_unknown_field_still_checks_operator_and_shape() -> None:
    paths = [p for p, _ in issues_of(cmp("nope", "between", [3, 1]))]
    assert paths == ["conditions.field", "conditions.value"]


def nested(depth: int) -> dict[str, object]:
    doc: dict[str, object] = cmp("tier", "==", "gold")
    for _ in range(depth - 1):
        doc = {"not": doc}
    return doc


def test_depth_limit() -> None:
    validate_conditions(nested(MAX_DEPTH))
    issues = issues_of(nested(MAX_DEPTH + 1))
    assert len(issues) == 1
    assert issues[0][0] == "conditions" + ".not" * MAX_DEPTH
    assert "nested more than 10 levels" in issues[0][1]
    issues_of(nested(5000))  # deep input is an issue, not a RecursionError


def test_node_limit() -> None:
    validate_conditions({"any": [cmp("month", "==", 1)] * (MAX_NODES - 1)})
    issues = issues_of({"any": [cmp("month", "==", 1)] * MAX_NODES})
    assert issues == [("conditions.any[199]", issues[0][1])]
    assert "at most 200" in issues[0][1]
    assert len(issues_of({"any": [cmp("month", "==", 1)] * 100_000})) == 1


# ------------------------------------------------------------------------------ evaluation


CONTEXT = {
    "churn_probability": 0.7, "tier": "gold", "reason_codes": ["LAPSING", "NEG_SERVICE"],
    "birthday_month": 5, "marketing_opt_in": True, "recency_days": 40,
    "favourite_dish": "Lomo Saltado", "aspect_wait": float("nan"), "segment": None,
    "favourite_category": "",
}


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("churn_probability", "==", 0.7, True), ("churn_probability", "!=", 0.7, False),
    ("churn_probability", "<", 0.7, False), ("churn_probability", "<=", 0.7, True),
    ("churn_probability", ">", 0.6, True), ("churn_probability", ">=", 0.8, False),
    ("churn_probability", "between", [0.7, 1], True),
    ("churn_probability", "between", [0, 0.69], False),
    ("churn_probability", "in", [0.5, 0.7], True), ("churn_probability", "not_in", [0.7], False),
    ("recency_days", "==", 40.0, True), ("recency_days", ">", 39.5, True),
    ("birthday_month", "==", 5, True), ("birthday_month", "in", [6, 7], False),
    ("birthday_month", "between", [5, 5], True),
    ("tier", "==", "gold", True), ("tier", "!=", "gold", False), ("tier", "!=", "silver", True),
    ("tier", "in", ["gold", "platinum"], True), ("tier", "not_in", ["gold"], False),
    ("tier", "not_in", ["bronze", "silver"], True),
    ("favourite_dish", "==", "lomo saltado", True),  # text ignores case
    ("reason_codes", "contains", "NEG_SERVICE", True),
    ("reason_codes", "contains", "NEG_WAIT", False),
    ("marketing_opt_in", "==", True, True), ("marketing_opt_in", "!=", True, False),
    ("tier", "exists", True, True), ("tier", "exists", False, False),
    ("reason_codes", "exists", True, True),
])
def test_operators_on_present_values(field: str, op: str, value: object, expected: bool) -> None:
    doc = cmp(field, op, value)
    validate_conditions(doc)
    assert evaluate(doc, CONTEXT) is expected


MISSING_CASES = [
    ("==", 1, False), ("!=", 1, False), ("<", 1, False), ("<=", 1, False), (">", 1, False),
    (">=", 1, False), ("in", [1], False), ("not_in", [1], False), ("between", [0, 1], False),
    ("exists", True, False), ("exists", False, True),
]


def _text_value(op: str, value: object) -> object:
    return value if op == "exists" else (["x"] if isinstance(value, list) else "x")


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    *((field, op, value, expected) for field in ("days_to_birthday", "aspect_wait")
      for op, value, expected in MISSING_CASES),  # absent, NaN
    *((field, op, _text_value(op, value), expected) for field in ("segment", "favourite_category")
      for op, value, expected in MISSING_CASES  # None, empty text
      if op not in ("<", "<=", ">", ">=", "between")),
])
def test_missing_values(field: str, op: str, value: object, expected: bool) -> None:
    doc = cmp(field, op, value)
    validate_conditions(doc)
    assert evaluate(doc, CONTEXT) is expected
    # not is plain logical negation: true wherever the comparison is false
    assert evaluate({"not": doc}, CONTEXT) is (not expected)


def test_missing_list_and_bool() -> None:
    assert not evaluate(cmp("reason_codes", "contains", "LAPSING"), {})
    assert not evaluate(cmp("marketing_opt_in", "==", False), {"marketing_opt_in": None})
    assert evaluate(cmp("marketing_opt_in", "==", False), {"marketing_opt_in": 0})


@pytest.mark.parametrize(("a", "b", "all_", "any_"), [
    (True, True, True, True), (True, False, False, True),
    (False, True, False, True), (False, False, False, False),
])
def test_all_any_truth_table(a: bool, b: bool, all_: bool, any_: bool) -> None:
    ctx = {"birthday_month": 5 if a else 1, "tier": "gold" if b else "silver"}
    first, second = cmp("birthday_month", "==", 5), cmp("tier", "==", "gold")
    assert evaluate({"all": [first, second]}, ctx) is all_
    assert evaluate({"any": [first, second]}, ctx) is any_
    assert evaluate({"not": {"all": [first, second]}}, ctx) is (not all_)


def test_nested_evaluation() -> None:
    doc = {"all": [
        cmp("churn_probability", ">=", 0.6),
        {"any": [cmp("reason_codes", "contains", "NEG_SERVICE"),
                 cmp("aspect_wait", "<", -0.2)]},
        {"not": cmp("tier", "==", "platinum")},
    ]}
    validate_conditions(doc)
    assert evaluate(doc, {"churn_probability": 0.6, "reason_codes": [], "aspect_wait": -0.3})
    assert evaluate(doc, {"churn_probability": 0.9, "reason_codes": ["NEG_SERVICE"]})
    assert not evaluate(doc, {"churn_probability": 0.9, "reason_codes": ["NEG_SERVICE"],
                              "tier": "platinum"})
    assert not evaluate(doc, {"churn_probability": 0.5, "aspect_wait": -0.9})
    assert not evaluate(doc, {"churn_probability": 0.9})


def test_numbers_mix_ints_and_floats() -> None:
    assert evaluate(cmp("visits_total", "==", 3), {"visits_total": 3.0})
    assert evaluate(cmp("month", ">=", 6), {"month": 6.0})
    assert not evaluate(cmp("churn_probability", ">", 0.5), {"churn_probability": "0.9"})


# ------------------------------------------------------------------------------ introspection


def test_describe() -> None:
    doc = {"all": [
        cmp("churn_probability", ">=", 0.6),
        {"any": [cmp("reason_codes", "contains", "NEG_SERVICE"), cmp("aspect_wait", "<", -0.2)]},
    ]}
    assert describe(doc) == (
        'churn_probability >= 0.6 and ("NEG_SERVICE" in reason_codes or aspect_wait < -0.2)')


@pytest.mark.parametrize(("doc", "text"), [
    (cmp("tier", "in", ["gold", "platinum"]), 'tier in ["gold", "platinum"]'),
    (cmp("tier", "not_in", ["bronze"]), 'tier not in ["bronze"]'),
    (cmp("recency_days", "between", [30, 60]), "recency_days between 30 and 60"),
    (cmp("favourite_dish", "exists", True), "favourite_dish exists"),
    (cmp("favourite_dish", "exists", False), "favourite_dish is missing"),
    (cmp("marketing_opt_in", "==", True), "marketing_opt_in == true"),
    (cmp("favourite_dish", "==", "Suspiro limeño"), 'favourite_dish == "Suspiro limeño"'),
    ({"not": cmp("tier", "==", "gold")}, 'not (tier == "gold")'),
    ({"any": [cmp("month", "==", 1)]}, "month == 1"),
    ({"all": [cmp("month", "==", 1), {"all": [cmp("month", "<", 3), cmp("month", ">", 1)]}]},
     "month == 1 and month < 3 and month > 1"),
    ({"any": [{"all": [cmp("month", "==", 1), cmp("tier", "==", "gold")]},
              {"not": {"any": [cmp("month", "==", 2), cmp("month", "==", 3)]}}]},
     '(month == 1 and tier == "gold") or not (month == 2 or month == 3)'),
])
def test_describe_forms(doc: dict[str, object], text: str) -> None:
    validate_conditions(doc)
    assert describe(doc) == text


def test_fields_used() -> None:
    doc = {"all": [cmp("tier", "==", "gold"),
                   {"any": [{"not": cmp("month", "==", 1)}, cmp("tier", "!=", "silver")]}]}
    assert fields_used(doc) == {"tier", "month"}
    assert fields_used("nonsense") == set()
