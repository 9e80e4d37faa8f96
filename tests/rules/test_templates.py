"""Message templates: validation with character spans, rendering, sandboxing."""

from __future__ import annotations

import pytest

from loyalty.errors import RuleValidationError
from loyalty.rules.templates import (
    MAX_MESSAGE_CHARS,
    MAX_TEMPLATE_CHARS,
    MAX_VALUE_CHARS,
    SLOT_DESCRIPTIONS,
    SLOTS,
    render,
    slots_used,
    validate_template,
)


def issues_of(text: object) -> list[tuple[str, str]]:
    with pytest.raises(RuleValidationError) as caught:
        validate_template(text)
    return caught.value.issues


def test_slots() -> None:
    assert SLOTS == ("first_name", "favourite_dish", "favourite_category", "usual_day_part",
                     "tier", "next_tier", "reward", "expires", "restaurant", "points")
    assert all(SLOT_DESCRIPTIONS[name] for name in SLOTS)


@pytest.mark.parametrize("text", [
    "Hi {first_name}!",
    "Hi {first_name|friend}, enjoy {reward} before {expires}.",
    "{{literal}} braces }} and {{",
    "{points|no} points at {restaurant|our place|really}",
    "x" * MAX_TEMPLATE_CHARS,
])
def test_valid_templates(text: str) -> None:
    validate_template(text)


@pytest.mark.parametrize(("text", "path", "fragment"), [
    ("Hi {frist_name}", "message[3:15]", 'unknown slot "frist_name"; did you mean "first_name"?'),
    ("Hi {name}", "message[3:9]", 'unknown slot "name"'),
    ("{first_name.__class__}", "message[0:22]", "not a slot name"),
    ("{first_name.__init__.__globals__}", "message[0:33]", "not a slot name"),
    ("Hi {0}", "message[3:6]", "not a slot name"),
    ("{a[1]}", "message[0:6]", "not a slot name"),
    ("{__import__('os').system('x')}", "message[0:30]", "not a slot name"),
    ("{first_name!r}", "message[0:14]", "write {first_name}"),
    ("{first_name:>10}", "message[0:16]", "write {first_name}"),
    ("{First_Name}", "message[0:12]", "not a slot name"),
    ("{ first_name }", "message[0:14]", "write {first_name}"),
    ("Hi {}", "message[3:5]", "empty slot"),
    ("Hi {|friend}", "message[3:12]", "empty slot"),
    ("Hi {first_name", "message[3:4]", "never closed"),
    ("Hi first_name}", "message[13:14]", "closes no slot"),
    ("{first_name}}", "message[12:13]", "closes no slot"),
    ("{a{first_name}", "message[0:14]", 'may not contain "{"'),
    ("{first_name|a{b}", "message[0:16]", "fallback text may not contain braces"),
    ("", "message", "empty"),
    ("   ", "message", "empty"),
    ("x" * (MAX_TEMPLATE_CHARS + 1), "message", "keep it to 500"),
    (None, "message", "must be text"),
])
def test_each_issue_has_its_span(text: object, path: str, fragment: str) -> None:
    issues = issues_of(text)
    assert any(p == path and fragment in message for p, message in issues), issues


def test_all_issues_are_reported_at_once() -> None:
    text = "Hi {frist_name}, {0} and {tier} } {"
    assert [p for p, _ in issues_of(text)] == [
        "message[3:15]", "message[17:20]", "message[32:33]", "message[34:35]"]


@pytest.mark.parametrize("text", [
    "{first_name.__class__}", "{first_name.__init__.__globals__}", "{0}",
    "{__import__('os').system('x')}", "{first_name!r}", "{first_name:>10}", "{a[1]}", "{}",
])
def test_render_never_evaluates_invalid_templates(text: str) -> None:
    validate_template_fails = issues_of(text)
    assert validate_template_fails
    with pytest.raises(RuleValidationError):
        render(text, {"first_name": "Ana", "0": "zero", "a": "list"})


def test_double_braces_render_literally() -> None:
    validate_template("{{7*7}}")
    assert render("{{7*7}}", {}) == "{7*7}"
    assert render("{{first_name}} is {first_name}", {"first_name": "Ana"}) == (
        "{first_name} is Ana")
    assert render("{{{first_name}}}", {"first_name": "Ana"}) == "{Ana}"


@pytest.mark.parametrize(("slots", "expected"), [
    ({"first_name": "Ana", "reward": "a free Picarones"}, "Hi Ana, enjoy a free Picarones!"),
    ({"reward": "a free Picarones"}, "Hi friend, enjoy a free Picarones!"),
    ({"first_name": None, "reward": "x"}, "Hi friend, enjoy x!"),
    ({"first_name": "", "reward": "x"}, "Hi friend, enjoy x!"),
    ({"first_name": "   ", "reward": "x"}, "Hi friend, enjoy x!"),
    ({"first_name": "Ana"}, "Hi Ana, enjoy!"),  # no fallback: empty, space before ! removed
])
def test_render_fallbacks(slots: dict[str, object], expected: str) -> None:
    assert render("Hi {first_name|friend}, enjoy {reward}!", slots) == expected


@pytest.mark.parametrize(("text", "slots", "expected"), [
    ("Hi {first_name} , see you  soon .", {}, "Hi, see you soon."),
    ("  {reward}   today  ", {"reward": "double points"}, "double points today"),
    ("You have {points} points", {"points": 120}, "You have 120 points"),
    ("Spend {points}", {"points": 12.5}, "Spend 12.5"),
    ("Spend {points|some}", {"points": float("nan")}, "Spend some"),
    ("Dear {first_name} : hi", {}, "Dear: hi"),
])
def test_render_cleanup(text: str, slots: dict[str, object], expected: str) -> None:
    assert render(text, slots) == expected


def test_values_are_truncated_and_never_reparsed() -> None:
    assert render("{first_name}", {"first_name": "A" * 200}) == "A" * MAX_VALUE_CHARS
    value = "{first_name.__class__} {{x}}"
    assert render("{first_name}", {"first_name": value}) == value


def test_result_is_capped() -> None:
    text = "{reward} " * 50
    assert len(text) <= MAX_TEMPLATE_CHARS
    assert len(render(text, {"reward": "y" * 80})) == MAX_MESSAGE_CHARS


class Sneaky(str):
    def __str__(self) -> str:  # pragma: no cover - must never run
        raise AssertionError("render touched the object")


class SneakyMapping(dict[str, object]):
    def __getattr__(self, name: str) -> object:  # pragma: no cover - must never run
        raise AssertionError(name)


def test_objects_are_never_touched() -> None:
    assert render("Hi {first_name}", SneakyMapping(first_name=Sneaky("Ana"))) == "Hi Ana"


@pytest.mark.parametrize("value", [object(), ["Ana"], {"a": 1}, True, b"Ana"])
def test_render_rejects_other_value_types(value: object) -> None:
    with pytest.raises(TypeError, match="first_name"):
        render("Hi {first_name}", {"first_name": value})


def test_unused_values_are_not_checked() -> None:
    assert render("Hi {first_name}", {"first_name": "Ana", "other": object()}) == "Hi Ana"


def test_slots_used() -> None:
    assert slots_used("{reward} for {first_name|you}, {reward} {{tier}}") == [
        "reward", "first_name"]
    assert slots_used("{bad.name} {tier}") == ["tier"]
