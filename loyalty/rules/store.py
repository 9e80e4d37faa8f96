"""Reward rules in the database: validated on save, then draft → active → retired.

A rule document (what `loyalty rules add FILE`, the proposer and the API hand in) is a JSON
object with these keys; only ``key``, ``name``, ``conditions``, ``reward`` and ``message`` are
required:

- ``key`` (letters, digits, ``-`` and ``_``; stable name), ``name``, ``description``,
  ``rationale``, ``expected_value``;
- ``segment``: a segment key the rule is limited to (``null``: everyone);
- ``conditions`` (``loyalty.rules.conditions``), ``reward`` (``loyalty.rules.rewards``);
- ``message``: the default message template; ``messages``: ``{"es": "..."}`` per language
  (``loyalty.rules.templates``);
- ``priority`` (integer, lowest first, default 100), ``per_customer_limit`` and
  ``per_customer_window_days``, ``budget_limit`` (currency), ``max_offers``,
  ``control_share`` (0 to 0.5, default 0.1), ``offer_valid_days`` (1..365, default 14),
  ``valid_from`` / ``valid_until`` (ISO dates or datetimes, UTC when no zone is given).

Every problem in a document is reported at once, each with the path of the bad part.
Only drafts can be changed; an active rule is retired and replaced, so that every offer keeps
pointing at the rule exactly as it was when it was issued.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.errors import LoyaltyError, NotFoundError, RuleValidationError
from loyalty.ids import parse_id
from loyalty.models import RewardRule, Segment
from loyalty.rules.conditions import validate_conditions
from loyalty.rules.rewards import MenuEntry, validate_reward
from loyalty.rules.templates import validate_template

REQUIRED = ("key", "name", "conditions", "reward", "message")
OPTIONAL = ("description", "rationale", "expected_value", "segment", "messages", "priority",
            "per_customer_limit", "per_customer_window_days", "budget_limit", "max_offers",
            "control_share", "offer_valid_days", "valid_from", "valid_until")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RESERVED_KEYS = ("validate",)  # a path of its own in the API (POST /rules/validate)
LANGUAGES = ("en", "es")
# (name, smallest, largest, integer?)
NUMBERS = {
    "priority": (0, 10_000, True), "per_customer_limit": (1, 1_000, True),
    "per_customer_window_days": (1, 3_650, True), "budget_limit": (0, 1e9, False),
    "max_offers": (1, 10**9, True), "control_share": (0.0, 0.5, False),
    "offer_valid_days": (1, 365, True), "expected_value": (-1e12, 1e12, False),
}


def validate_rule(doc: Any, *, menu: Mapping[str, MenuEntry] | None = None,
                  segments: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The rule's column values from a document, or RuleValidationError listing every issue.

    ``segments`` maps known segment keys to ids; without it segment keys are not checked.
    """
    if not isinstance(doc, Mapping):
        raise RuleValidationError([("rule", "must be a JSON object")])
    issues: list[tuple[str, str]] = []
    issues += [(k, "is required") for k in REQUIRED if doc.get(k) in (None, "")]
    issues += [(k, f"unknown key; known keys: {', '.join(REQUIRED + OPTIONAL)}")
               for k in doc if k not in REQUIRED + OPTIONAL]
    key = doc.get("key")
    if key is not None and (not isinstance(key, str) or not KEY_PATTERN.match(key)):
        issues.append(("key", "use 1-64 letters, digits, '-' or '_', starting with a letter "
                              "or digit"))
    elif key in RESERVED_KEYS:
        issues.append(("key", f"{key!r} is reserved; choose another key"))
    issues += [(path, "must not contain a NUL character (\\u0000)") for path in _nul_texts(doc)]
    for text_key, limit in (("name", 200), ("description", 2_000), ("rationale", 4_000)):
        value = doc.get(text_key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            issues.append((text_key, f"must be text of at most {limit} characters"))
    for path, check in (("conditions", lambda: validate_conditions(doc["conditions"])),
                        ("reward", lambda: validate_reward(doc["reward"], menu))):
        if path in doc:
            issues += _issues(check)
    if isinstance(doc.get("message"), str):
        issues += _issues(lambda: validate_template(doc["message"]))
    elif "message" in doc and doc["message"] is not None:
        issues.append(("message", "must be text"))
    messages = doc.get("messages")
    if messages is not None:
        if not isinstance(messages, Mapping):
            issues.append(("messages", 'must be an object like {"es": "..."}'))
        else:
            for lang, text in messages.items():
                if lang not in LANGUAGES:
                    issues.append((f"messages.{lang}", f"unknown language; use {LANGUAGES}"))
                elif not isinstance(text, str):
                    issues.append((f"messages.{lang}", "must be text"))
                else:
                    issues += [(f"messages.{lang}" + path.removeprefix("message"), message)
                               for path, message in _issues(lambda t=text: validate_template(t))]
    values: dict[str, Any] = {}
    for name, (low, high, integer) in NUMBERS.items():
        value = doc.get(name)
        if value is None:
            continue
        ok_type = (isinstance(value, int) if integer else isinstance(value, int | float))
        if isinstance(value, bool) or not ok_type:
            issues.append((name, "must be a whole number" if integer else "must be a number"))
        elif not low <= value <= high:
            issues.append((name, f"must be between {low} and {high}, got {value}"))
        else:
            values[name] = value
    for name in ("valid_from", "valid_until"):
        if doc.get(name) is not None:
            try:
                values[name] = _moment(doc[name])
            except (TypeError, ValueError):
                issues.append((name, "must be an ISO date or date-time, e.g. 2026-12-01"))
    if values.get("valid_from") and values.get("valid_until") and \
            values["valid_until"] <= values["valid_from"]:
        issues.append(("valid_until", "must be after valid_from"))
    if doc.get("per_customer_window_days") is not None and doc.get("per_customer_limit") is None:
        issues.append(("per_customer_window_days", "needs per_customer_limit"))
    segment_id = None
    if doc.get("segment") is not None:
        seg = doc["segment"]
        if not isinstance(seg, str):
            issues.append(("segment", "must be a segment key such as seg-3fa2c1"))
        elif segments is not None and seg not in segments:
            issues.append(("segment", f"no active segment {seg!r}: see `loyalty segments "
                                      "list`"))
        elif segments is not None:
            segment_id = segments[seg]
    if issues:
        raise RuleValidationError(issues)
    return {
        "key": doc["key"], "name": doc["name"], "description": doc.get("description"),
        "rationale": doc.get("rationale"), "segment_id": segment_id,
        "conditions": doc["conditions"], "reward": doc["reward"],
        "message_template": doc["message"], "messages": dict(messages) if messages else None,
        "priority": values.get("priority", 100),
        "per_customer_limit": values.get("per_customer_limit"),
        "per_customer_window_days": values.get("per_customer_window_days"),
        "budget_limit": values.get("budget_limit"), "max_offers": values.get("max_offers"),
        "control_share": values.get("control_share", 0.1),
        "offer_valid_days": values.get("offer_valid_days", 14),
        "valid_from": values.get("valid_from"), "valid_until": values.get("valid_until"),
        "expected_value": values.get("expected_value"),
    }


def save_rule(session: Session, doc: Any, *, menu: Mapping[str, MenuEntry] | None = None
              ) -> RewardRule:
    """Create a draft, or update the draft with the same key. Active/retired rules are final."""
    values = validate_rule(doc, menu=menu, segments=segment_keys(session))
    rule = session.scalars(select(RewardRule).where(RewardRule.key == values["key"])).first()
    if rule is None:
        rule = RewardRule(status="draft", **values)
        session.add(rule)
    elif rule.status != "draft":
        raise LoyaltyError(f"rule {rule.key!r} is {rule.status}: only drafts change; retire it "
                           "and add the new version under another key")
    else:
        for name, value in values.items():
            setattr(rule, name, value)
    session.flush()
    return rule


def get_rule(session: Session, ref: str | int) -> RewardRule:
    """A rule by id or key."""
    text = str(ref)
    rule_id = parse_id(ref)
    query = select(RewardRule).where(
        RewardRule.id == rule_id if rule_id is not None else RewardRule.key == text)
    rule = session.scalars(query).first()
    if rule is None:
        raise NotFoundError(f"no reward rule {text!r}: see `loyalty rules list`")
    return rule


def list_rules(session: Session, status: str | None = None) -> list[RewardRule]:
    query = select(RewardRule).order_by(RewardRule.status, RewardRule.priority, RewardRule.id)
    if status:
        query = query.where(RewardRule.status == status)
    return list(session.scalars(query))


def activate(session: Session, ref: str | int, *, now: datetime,
             menu: Mapping[str, MenuEntry] | None = None) -> RewardRule:
    """Draft → active, validating it once more (the menu or the segments may have changed)."""
    rule = get_rule(session, ref)
    if rule.status == "active":
        return rule
    if rule.status != "draft":
        raise LoyaltyError(f"rule {rule.key!r} is retired; retired rules stay retired")
    validate_rule(rule_document(session, rule), menu=menu, segments=segment_keys(session))
    rule.status, rule.activated_at = "active", now
    session.flush()
    return rule


def retire(session: Session, ref: str | int, *, now: datetime) -> RewardRule:
    """Any rule → retired: it issues nothing more; its offers keep their life cycle."""
    rule = get_rule(session, ref)
    if rule.status != "retired":
        rule.status, rule.retired_at = "retired", now
        session.flush()
    return rule


def rule_document(session: Session, rule: RewardRule) -> dict[str, Any]:
    """The rule as the document it was saved from (plus nothing the document cannot hold)."""
    segment = session.get(Segment, rule.segment_id) if rule.segment_id is not None else None
    doc: dict[str, Any] = {
        "key": rule.key, "name": rule.name, "description": rule.description,
        "rationale": rule.rationale, "segment": segment.key if segment is not None else None,
        "conditions": rule.conditions, "reward": rule.reward, "message": rule.message_template,
        "messages": rule.messages, "priority": rule.priority,
        "per_customer_limit": rule.per_customer_limit,
        "per_customer_window_days": rule.per_customer_window_days,
        "budget_limit": rule.budget_limit, "max_offers": rule.max_offers,
        "control_share": rule.control_share, "offer_valid_days": rule.offer_valid_days,
        "valid_from": rule.valid_from.isoformat() if rule.valid_from else None,
        "valid_until": rule.valid_until.isoformat() if rule.valid_until else None,
        "expected_value": rule.expected_value,
    }
    return {k: v for k, v in doc.items() if v is not None}


def segment_keys(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Segment.key, Segment.id)
                                .where(Segment.status == "active")).all())


def _nul_texts(doc: Any) -> list[str]:
    """Paths of the texts (keys too) holding a NUL, which PostgreSQL cannot store and no
    message should carry. A loop, not recursion: the document may be nested deeply."""
    found, stack = [], [("", doc)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                found.append(path or "rule")
        elif isinstance(node, Mapping):
            for k, v in node.items():
                name = f"{path}.{k}" if path else str(k)
                if "\x00" in str(k):
                    found.append(name)
                stack.append((name, v))
        elif isinstance(node, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
    return sorted(found)


def _issues(check: Any) -> list[tuple[str, str]]:
    try:
        check()
    except RuleValidationError as exc:
        return list(exc.issues)
    return []


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
