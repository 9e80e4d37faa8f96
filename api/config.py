"""Configuration objects for the app factory: one per way the service runs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from loyalty.config import Settings


@dataclass(frozen=True)
class Config:
    """What the API needs beyond the domain's `Settings` (database, time zone, ...)."""

    settings: Settings = field(default_factory=Settings.from_env)
    # Requests bigger than this are refused (413) before any JSON is parsed.
    max_content_length: int = 1 * 1024 * 1024
    # JSON nested deeper than this is refused (422) before it is parsed: Python's parser and
    # every walk over the body recurse, and a rule document needs about 20 levels at most.
    max_json_depth: int = 32
    # A 422 lists at most this many issues and says how many it left out, so a huge invalid
    # body cannot make a far bigger answer.
    max_issues: int = 50
    default_page_size: int = 50
    max_page_size: int = 500
    # POST /reviews scores this many reviews inline; more go to a batch job.
    reviews_sync_limit: int = 16
    # Load the production models when a worker starts ("eager") or on first use ("lazy").
    load_models: str = "lazy"
    # How long a worker decides "no new offer" from the rules it read last. A rule activated
    # or retired reaches every worker within this time; an offer is only ever written from the
    # rules as they are then (see loyalty.offers.issue.issue_offer). 0: read on every lookup.
    rules_refresh_seconds: float = 5.0
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        return replace(cls(), **overrides)

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)

