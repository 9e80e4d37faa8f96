"""What counts as a numeric id wherever a person types or sends one: ASCII digits only, in the
range the id columns hold. ``str.isdigit()`` also accepts superscripts, circled and Arabic-Indic
digits, some of which ``int()`` refuses and some it reads, and ``int()`` takes any length; one
rule here keeps the CLI, the API and the database from disagreeing about it."""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # the id columns are 32-bit integers on PostgreSQL
_ASCII_ID = re.compile(r"[0-9]{1,10}")


def parse_id(text: object) -> int | None:
    """The id ``text`` spells (ASCII digits, 1 to ``MAX_ID``, nothing around them), or None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 1 <= text <= MAX_ID else None
    if not isinstance(text, str) or not _ASCII_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 only (a phone number's digits, say)."""
    return bool(text) and text.isascii() and text.isdigit()
