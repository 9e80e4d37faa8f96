"""Sandboxed message templates of a reward rule.

A tiny renderer of its own, with no ``eval``, Jinja or ``str.format``: text with slots

- ``{name}``: the value of the slot ``name`` (one of ``SLOTS``), or nothing when it is missing;
- ``{name|fallback text}``: the value, or the fallback text when the value is missing or empty;
- ``{{`` and ``}}``: a literal ``{`` and ``}``.

A slot name is a plain lower-case identifier from ``SLOTS``; attribute access, indexing,
conversions, format specs, positional slots and anything else are rejected by
``validate_template``, with a ``message[start:end]`` path giving the character span of the bad
slot. ``render`` validates first and only ever looks values up by exact key in the mapping it
is given; a value must be ``str``, ``int``, ``float`` or ``None`` and is turned into text by the
built-in type's own conversion, so no method of a caller's object ever runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from loyalty.errors import RuleValidationError
from loyalty.rules.conditions import suggestion

MAX_TEMPLATE_CHARS = 500
MAX_VALUE_CHARS = 80
MAX_MESSAGE_CHARS = 500

SLOT_DESCRIPTIONS: dict[str, str] = {
    "first_name": "the customer's first name",
    "favourite_dish": "the customer's most-ordered dish",
    "favourite_category": "the menu category the customer orders most",
    "usual_day_part": "when the customer usually comes (breakfast, lunch, dinner, late)",
    "tier": "the customer's current tier",
    "next_tier": "the tier above the customer's current one",
    "reward": "the reward, e.g. \"15% off your next visit\"",
    "expires": "the date the offer expires",
    "restaurant": "the restaurant's name",
    "points": "the customer's points balance",
}
SLOTS: tuple[str, ...] = tuple(SLOT_DESCRIPTIONS)

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_LEADING_NAME = re.compile(r"\s*([a-z][a-z0-9_]*)")
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([,.!?;:])")


@dataclass(frozen=True)
class _Slot:
    name: str
    fallback: str | None
    start: int
    end: int


def _parse(text: str, path: str) -> tuple[list[str | _Slot], list[tuple[str, str]]]:
    """Split a template into literal text and slots, collecting every problem."""
    parts: list[str | _Slot] = []
    issues: list[tuple[str, str]] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "}":
            issues.append((f"{path}[{i}:{i + 1}]",
                           'a "}" closes no slot; write "}}" for a literal brace'))
            i += 1
        elif char == "{":
            end = text.find("}", i + 1)
            if end == -1:
                issues.append((f"{path}[{i}:{i + 1}]",
                               'a "{" opens a slot that is never closed with "}"; '
                               'write "{{" for a literal brace'))
                i += 1
                continue
            span = f"{path}[{i}:{end + 1}]"
            content = text[i + 1:end]
            name, bar, fallback = content.partition("|")
            issue = _slot_issue(name, bar, fallback)
            if issue:
                issues.append((span, issue))
            else:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(_Slot(name, fallback if bar else None, i, end + 1))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts, issues


def _slot_issue(name: str, bar: str, fallback: str) -> str | None:
    """Why a slot's content is not allowed, or None."""
    if "{" in name:
        return 'a slot may not contain "{"; write "{{" for a literal brace'
    if "{" in fallback:
        return 'the fallback text may not contain braces'
    if not name.strip():
        return f"empty slot; name one of {', '.join(SLOTS)}"
    if not _IDENTIFIER.fullmatch(name):
        leading = _LEADING_NAME.match(name)
        if leading and leading.group(1) in SLOTS:
            hint = f"; write {{{leading.group(1)}}}"
        else:
            hint = f"; use one of {', '.join(SLOTS)}"
        return (f'"{name}" is not a slot name: slots are plain names, without attributes, '
                f"indexes, calls or formatting{hint}")
    if name not in SLOTS:
        hint = suggestion(name, SLOTS) or f" (slots: {', '.join(SLOTS)})"
        return f'unknown slot "{name}"{hint}'
    return None


def template_issues(text: object, path: str = "message") -> list[tuple[str, str]]:
    """Every problem of a template, as ``(path, message)`` pairs (empty if valid)."""
    if not isinstance(text, str):
        return [(path, "the message must be text")]
    issues: list[tuple[str, str]] = []
    if not text.strip():
        issues.append((path, "the message is empty"))
    if len(text) > MAX_TEMPLATE_CHARS:
        issues.append((path, f"the message is {len(text)} characters long; "
                             f"keep it to {MAX_TEMPLATE_CHARS}"))
    issues.extend(_parse(text, path)[1])
    return issues


def validate_template(text: object, path: str = "message") -> None:
    """Raise ``RuleValidationError`` listing every problem of a message template."""
    issues = template_issues(text, path)
    if issues:
        raise RuleValidationError(issues)


def slots_used(text: str) -> list[str]:
    """The valid slot names a template uses, in order of first use, each once.

    Tolerant: slots with a problem are left out instead of raising.
    """
    names: list[str] = []
    for part in _parse(text, "message")[0]:
        if isinstance(part, _Slot) and part.name not in names:
            names.append(part.name)
    return names


def _as_text(name: str, value: object) -> str:
    """A slot value as text, by the built-in type's own conversion; '' when missing."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"slot {name!r}: a template value must be str, int, float or None, "
                        f"not {type(value).__name__}")
    if isinstance(value, str):
        text = str.__str__(value)
    elif isinstance(value, int):
        text = int.__repr__(value)
    else:
        text = "" if math.isnan(value) else float.__repr__(value)
    return text.strip()[:MAX_VALUE_CHARS]


def render(text: str, slots: Mapping[str, object]) -> str:
    """Render a template with slot values (validating the template first).

    A missing, None or empty value uses the slot's fallback text, else nothing. Then runs of
    spaces collapse to one, spaces before ``, . ! ? ; :`` go, the ends are stripped, and the
    result is capped at ``MAX_MESSAGE_CHARS``. Values are cut to ``MAX_VALUE_CHARS``.
    """
    validate_template(text)
    parts, _ = _parse(text, "message")
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = _as_text(part.name, slots.get(part.name))
        out.append(value if value else (part.fallback or ""))
    message = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", "".join(out)))
    return message.strip()[:MAX_MESSAGE_CHARS].rstrip()
