"""JSON conditions of a reward rule: validation, evaluation and a readable rendering.

Grammar (a JSON-compatible dict):

- ``{"all": [cond, ...]}``: every condition holds; ``{"any": [cond, ...]}``: at least one
  holds (both lists non-empty); ``{"not": cond}``: logical negation of ``cond``.
- ``{"field": NAME, "op": OP, "value": V}``: a comparison on a field of
  ``loyalty.rules.vocabulary.FIELDS``. Operators:

  ========================  =====================================================
  ``==`` ``!=``             any field except lists
  ``<`` ``<=`` ``>`` ``>=`` number and whole-number fields
  ``in`` ``not_in``         number, whole-number and text fields; V a non-empty list
  ``between``               number and whole-number fields; V ``[low, high]``, inclusive
  ``contains``              list fields; V a text value
  ``exists``                any field; V true/false: whether the customer has a value
  ========================  =====================================================

Every node holds exactly the keys it needs. Values are checked against the field's kind,
choices and bounds. Nesting is limited to ``MAX_DEPTH`` levels and ``MAX_NODES`` nodes, an
``in`` list to ``MAX_VALUES`` values.

Evaluation. A value is *missing* when the key is absent, ``None``, a float NaN or empty text.
Every comparison on a missing value is False, except ``exists``. ``not`` is plain logical
negation, so ``{"not": {"field": "tier", "op": "==", "value": "gold"}}`` is True for a customer
without a tier, while ``{"field": "tier", "op": "!=", "value": "gold"}`` is False for them.
Numbers compare as floats (whole numbers and floats mix freely). Text comparisons (``==``,
``!=``, ``in``, ``not_in``, ``contains``) ignore case.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from loyalty.errors import RuleValidationError
from loyalty.rules.vocabulary import FIELDS, Field

MAX_DEPTH = 10
MAX_NODES = 200
MAX_VALUES = 200  # the longest list an ``in`` / ``not_in`` may hold
COMBINATORS: tuple[str, ...] = ("all", "any", "not")
OPERATORS: tuple[str, ...] = (
    "==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "contains", "exists",
)
COMPARISON_KEYS: tuple[str, ...] = ("field", "op", "value")
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "number": ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "exists"),
    "integer": ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "exists"),
    "text": ("==", "!=", "in", "not_in", "exists"),
    "bool": ("==", "!=", "exists"),
    "list": ("contains", "exists"),
}
KIND_LABELS: dict[str, str] = {
    "number": "number", "integer": "whole-number", "text": "text", "bool": "true/false",
    "list": "list",
}
# What people type instead of an operator name.
_OP_ALIASES: dict[str, str] = {
    "=": "==", "eq": "==", "is": "==", "ne": "!=", "<>": "!=", "lt": "<", "le": "<=",
    "gt": ">", "ge": ">=", "=<": "<=", "=>": ">=", "not in": "not_in", "notin": "not_in",
    "nin": "not_in", "has": "contains", "includes": "contains", "exist": "exists",
}

_REASON_CODE = re.compile(r"[A-Z][A-Z0-9_]*")

Issues = list[tuple[str, str]]


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """``'; did you mean "x"?'`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.casefold(): c for c in candidates}
        if word.casefold() in lowered:
            close = [lowered[word.casefold()]]
    return f'; did you mean "{close[0]}"?' if close else ""


def quote(value: Any) -> str:
    """A JSON rendering of a value for messages and descriptions (non-ASCII kept)."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def type_name(value: Any) -> str:
    """The JSON name of a value's type, as a marketer would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """A finite real number that is not a bool."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


# --------------------------------------------------------------------------------------------
# Validation


class _Validator:
    def __init__(self) -> None:
        self.issues: Issues = []
        self.nodes = 0
        self.too_many = False

    def add(self, path: str, message: str) -> None:
        self.issues.append((path, message))

    def node(self, node: Any, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if not self.too_many:
                self.too_many = True
                self.add(path, f"too many conditions: a rule may hold at most {MAX_NODES}; "
                               "simplify it or split it into several rules")
            return
        if depth > MAX_DEPTH:
            self.add(path, f"conditions are nested more than {MAX_DEPTH} levels deep; "
                           "simplify the rule")
            return
        if not isinstance(node, Mapping):
            self.add(path, "a condition must be an object such as "
                           '{"field": ..., "op": ..., "value": ...} or {"all": [...]}, '
                           f"not {type_name(node)}")
            return
        if not node:
            self.add(path, 'empty condition; write a comparison {"field", "op", "value"} '
                           'or one of "all", "any", "not"')
            return
        keys = [k for k in node if k in COMBINATORS]
        if len(keys) > 1 or (keys and any(k in node for k in COMPARISON_KEYS)):
            found = ", ".join(f'"{k}"' for k in node if k in COMBINATORS + COMPARISON_KEYS)
            self.add(path, f"a condition is either one of all/any/not or one comparison; "
                           f"this one mixes {found}: split it")
            return
        if keys:
            self.combinator(node, keys[0], path, depth)
        else:
            self.comparison(node, path)

    def unknown_keys(self, node: Mapping[Any, Any], allowed: tuple[str, ...],
                     path: str) -> None:
        for key in node:
            if key not in allowed:
                name = str(key)
                valid = ", ".join(f'"{a}"' for a in allowed)
                hint = suggestion(name, allowed + COMBINATORS) or f"; expected {valid}"
                self.add(f"{path}.{name}", f'unknown key "{name}"{hint}')

    def combinator(self, node: Mapping[str, Any], key: str, path: str, depth: int) -> None:
        self.unknown_keys(node, (key,), path)
        child = node[key]
        here = f"{path}.{key}"
        if key == "not":
            self.node(child, here, depth + 1)
            return
        if not isinstance(child, list | tuple):
            self.add(here, f'"{key}" needs a list of conditions, not {type_name(child)}')
            return
        if not child:
            self.add(here, f'"{key}" needs at least one condition; the list is empty')
            return
        for i, item in enumerate(child):
            self.node(item, f"{here}[{i}]", depth + 1)
            if self.too_many:
                return

    def comparison(self, node: Mapping[str, Any], path: str) -> None:
        self.unknown_keys(node, COMPARISON_KEYS, path)
        field: Field | None = None
        if "field" not in node:
            self.add(f"{path}.field", 'missing "field": name what to test, e.g. "tier"')
        else:
            name = node["field"]
            if not isinstance(name, str):
                self.add(f"{path}.field", f"the field must be a name, not {type_name(name)}")
            elif name not in FIELDS:
                self.add(f"{path}.field", f'unknown field "{name}"{suggestion(name, FIELDS)}')
            else:
                field = FIELDS[name]
        op: str | None = None
        if "op" not in node:
            self.add(f"{path}.op", 'missing "op": the comparison, e.g. ">=" or "in"')
        else:
            raw = node["op"]
            if not isinstance(raw, str):
                self.add(f"{path}.op", f"the operator must be text, not {type_name(raw)}")
            elif raw not in OPERATORS:
                alias = _OP_ALIASES.get(raw.strip().casefold())
                hint = f'; did you mean "{alias}"?' if alias else suggestion(raw, OPERATORS)
                self.add(f"{path}.op", f'unknown operator "{raw}"{hint} '
                                       f"(operators: {', '.join(OPERATORS)})")
            else:
                op = raw
        if field is not None and op is not None and op not in OPS_BY_KIND[field.kind]:
            label = KIND_LABELS[field.kind]
            self.add(f"{path}.op", f'operator "{op}" does not apply to the {label} field '
                                   f'"{field.name}"; use one of '
                                   f"{', '.join(OPS_BY_KIND[field.kind])}")
            op = None
        if "value" not in node:
            self.add(f"{path}.value", 'missing "value": what to compare the field with')
        elif op is not None:
            self.value(node["value"], field, op, f"{path}.value")

    def value(self, value: Any, field: Field | None, op: str, path: str) -> None:
        """Check a comparison value; ``field`` None (unknown) checks the shape only."""
        if op == "exists":
            if not isinstance(value, bool):
                self.add(path, '"exists" takes true (has a value) or false (has none), '
                               f"not {quote(value)}")
            return
        if op in ("in", "not_in"):
            if not isinstance(value, list | tuple) or not value:
                self.add(path, f'"{op}" needs a non-empty list of values, e.g. '
                               '["gold", "platinum"]')
                return
            if len(value) > MAX_VALUES:
                self.add(path, f'"{op}" may list at most {MAX_VALUES} values, not {len(value)}')
                return
            if field is not None:
                for i, item in enumerate(value):
                    self.scalar(item, field, f"{path}[{i}]")
            return
        if op == "between":
            if (not isinstance(value, list | tuple) or len(value) != 2):
                self.add(path, '"between" needs a list of two numbers [low, high], '
                               f"not {quote(value)}")
                return
            ok = True
            for i, item in enumerate(value):
                if field is not None:
                    ok = self.scalar(item, field, f"{path}[{i}]") and ok
                elif not is_number(item):
                    self.add(f"{path}[{i}]", f"expected a number, not {quote(item)}")
                    ok = False
            if ok and float(value[0]) > float(value[1]):
                self.add(path, f"the low end {quote(value[0])} is above the high end "
                               f"{quote(value[1])}; write [low, high]")
            return
        if op == "contains":
            if not isinstance(value, str) or not value.strip():
                self.add(path, f'"contains" needs one text value, not {quote(value)}')
            elif (field is not None and field.name == "reason_codes"
                  and not _REASON_CODE.fullmatch(value)):
                fixed = re.sub(r"[^A-Z0-9]+", "_", value.upper()).strip("_")
                self.add(path, f"{quote(value)} is not a reason code; reason codes are "
                               f'upper-case names like "NEG_SERVICE": did you mean "{fixed}"?')
            return
        if field is not None:
            self.scalar(value, field, path)

    def scalar(self, value: Any, field: Field, path: str) -> bool:
        """Check one value against a field's kind, choices and bounds."""
        label = KIND_LABELS[field.kind]
        if field.kind in ("number", "integer"):
            if not is_number(value):
                self.add(path, f'"{field.name}" is a {label} field; expected a number, '
                               f"not {quote(value)}")
                return False
            if field.kind == "integer" and not float(value).is_integer():
                self.add(path, f'"{field.name}" holds whole numbers; {quote(value)} is not one')
                return False
            low, high = field.minimum, field.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                self.add(path, f"{quote(value)} is out of range for \"{field.name}\", which "
                               f"lies {_range_text(low, high)}")
                return False
            return True
        if field.kind == "bool":
            if not isinstance(value, bool):
                self.add(path, f'"{field.name}" is a true/false field; expected true or '
                               f"false, not {quote(value)}")
                return False
            return True
        # text (lists are only compared with contains/exists, handled above)
        if not isinstance(value, str):
            self.add(path, f'"{field.name}" is a text field; expected text in quotes, '
                           f"not {quote(value)}")
            return False
        if field.choices is not None and value not in field.choices:
            hint = suggestion(value, field.choices)
            self.add(path, f'"{value}" is not a valid {field.name}{hint} '
                           f"(choose one of {', '.join(field.choices)})")
            return False
        return True


def _range_text(low: float | None, high: float | None) -> str:
    def fmt(x: float) -> str:
        return quote(int(x)) if float(x).is_integer() else quote(x)

    if low is not None and high is not None:
        return f"between {fmt(low)} and {fmt(high)}"
    if low is not None:
        return f"at or above {fmt(low)}"
    return f"at or below {fmt(high)}"  # type: ignore[arg-type]


def condition_issues(doc: Any, path: str = "conditions") -> Issues:
    """Every problem of a conditions document, as ``(path, message)`` pairs (empty if valid)."""
    validator = _Validator()
    if not isinstance(doc, Mapping):
        validator.add(path, "the conditions must be an object such as "
                            '{"all": [...]}, not ' + type_name(doc))
        return validator.issues
    validator.node(doc, path, 1)
    return validator.issues


def validate_conditions(doc: Any, path: str = "conditions") -> None:
    """Raise ``RuleValidationError`` listing every problem of a conditions document."""
    issues = condition_issues(doc, path)
    if issues:
        raise RuleValidationError(issues)


# --------------------------------------------------------------------------------------------
# Evaluation


def _normalise(field: Field, raw: Any) -> Any:
    """The context value in the shape the field's kind compares, or None when missing."""
    if raw is None:
        return None
    if field.kind in ("number", "integer"):
        if isinstance(raw, numbers.Real | Decimal):
            value = float(raw)
            return None if math.isnan(value) else value
        return None
    if field.kind == "bool":
        if isinstance(raw, bool | numbers.Real):
            if isinstance(raw, float) and math.isnan(raw):
                return None
            return bool(raw)
        return None
    if field.kind == "list":
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            return None
        return [str(item).casefold() for item in raw if item is not None]
    if isinstance(raw, str):
        return raw.casefold() if raw else None
    return None


def _key(field: Field, value: Any) -> Any:
    """A rule value in the shape ``_normalise`` gives context values."""
    if field.kind in ("number", "integer"):
        return float(value)
    if field.kind == "text" and isinstance(value, str):
        return value.casefold()
    return value


def _compare(node: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    field = FIELDS[node["field"]]
    op, target = node["op"], node["value"]
    value = _normalise(field, context.get(field.name))
    if op == "exists":
        return (value is not None) is bool(target)
    if value is None:
        return False
    if op == "contains":
        return str(target).casefold() in value
    if op in ("in", "not_in"):
        found = value in [_key(field, item) for item in target]
        return found if op == "in" else not found
    if op == "between":
        return float(target[0]) <= value <= float(target[1])
    other = _key(field, target)
    if op == "==":
        return value == other
    if op == "!=":
        return value != other
    if op == "<":
        return value < other
    if op == "<=":
        return value <= other
    if op == ">":
        return value > other
    return value >= other  # ">="


def evaluate(doc: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Whether a validated conditions document holds for one customer's context."""
    if "all" in doc:
        return all(evaluate(child, context) for child in doc["all"])
    if "any" in doc:
        return any(evaluate(child, context) for child in doc["any"])
    if "not" in doc:
        return not evaluate(doc["not"], context)
    return _compare(doc, context)


# --------------------------------------------------------------------------------------------
# Introspection


def fields_used(doc: Any) -> set[str]:
    """The field names a conditions document tests (tolerates malformed documents)."""
    found: set[str] = set()
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Mapping) or depth > MAX_DEPTH + 1:
            continue
        for key in ("all", "any"):
            if isinstance(node.get(key), list | tuple):
                stack.extend((child, depth + 1) for child in node[key])
        if "not" in node:
            stack.append((node["not"], depth + 1))
        if isinstance(node.get("field"), str):
            found.add(node["field"])
    return found


def _describe_comparison(node: Mapping[str, Any]) -> str:
    name, op, value = node["field"], node["op"], node["value"]
    if op == "exists":
        return f"{name} exists" if value else f"{name} is missing"
    if op == "contains":
        return f"{quote(value)} in {name}"
    if op == "between":
        return f"{name} between {quote(value[0])} and {quote(value[1])}"
    if op in ("in", "not_in"):
        items = ", ".join(quote(v) for v in value)
        return f"{name} {'in' if op == 'in' else 'not in'} [{items}]"
    return f"{name} {op} {quote(value)}"


def describe(doc: Mapping[str, Any]) -> str:
    """A short readable rendering of a validated conditions document, for rule listings.

    ``{"all": [a, {"any": [b, c]}]}`` reads ``a and (b or c)``; a one-item all/any reads as its
    item; ``not`` reads ``not (...)``.
    """
    return _describe(doc, parent=None)


def _describe(node: Mapping[str, Any], parent: str | None) -> str:
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in node:
            children = node[key]
            if len(children) == 1:
                return _describe(children[0], parent)
            text = joiner.join(_describe(child, key) for child in children)
            return f"({text})" if parent is not None and parent != key else text
    if "not" in node:
        return f"not ({_describe(node['not'], None)})"
    return _describe_comparison(node)
