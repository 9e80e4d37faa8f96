"""As-of dates: what "as of 2024-03-31" means, and where the data end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from loyalty.errors import LoyaltyError


def as_of_datetime(day: date, timezone: str) -> datetime:
    """The instant just after ``day`` ends in the restaurants' time zone, in UTC.

    "Features as of 31 March" then include every visit of 31 March, local time.
    """
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def data_end(visits: pd.DataFrame, timezone: str) -> date:
    """The last local day with a visit: the data's "today"."""
    if visits.empty:
        raise LoyaltyError("no visits in the database: ingest or generate some first")
    last = pd.Timestamp(visits["visited_at"].max())
    return last.tz_convert(timezone).date()
