"""Lima's restaurant calendar: which days are busy and at what time of day people eat.

Day weights multiply a weekday pattern, the Lima summer (December to March), the year's big
eating-out days (Mother's Day is the busiest day of the year in Peruvian restaurants) and a
slow growth of the group. They drive both when visits happen and how crowded a room is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

BREAKFAST, LUNCH, DINNER, LATE = 0, 1, 2, 3
DAYPARTS = ("breakfast", "lunch", "dinner", "late")

# Monday..Sunday: weekends are busier, Monday is the quiet day.
WEEKDAY_WEIGHT = np.array([0.78, 0.86, 0.92, 1.0, 1.22, 1.38, 1.2])
# January..December: summer high season, a dip in the grey Lima winter.
MONTH_WEIGHT = np.array([1.18, 1.2, 1.1, 0.98, 0.97, 0.92, 1.02, 0.93, 0.95, 0.98, 1.0, 1.15])

NO_HOLIDAY = 0
HOLIDAYS = {
    1: "mothers_day",
    2: "fathers_day",
    3: "fiestas_patrias",
    4: "christmas",
    5: "new_year",
    6: "valentines",
    7: "pisco_sour_day",
    8: "santa_rosa",
    9: "cancion_criolla",
    10: "ceviche_day",
}
_HOLIDAY_WEIGHT = {1: 2.1, 2: 1.6, 3: 1.6, 4: 1.35, 5: 0.85, 6: 1.6, 7: 1.3, 8: 1.2, 9: 1.25,
                   10: 1.2}


@dataclass(frozen=True)
class Calendar:
    """The simulated window, one entry per day from ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date
    days: np.ndarray
    weekday: np.ndarray
    month: np.ndarray
    holiday: np.ndarray
    weight: np.ndarray

    @property
    def n_days(self) -> int:
        return len(self.days)

    def index_of(self, dates: np.ndarray) -> np.ndarray:
        """Day index (0 = ``start``) of ``datetime64[D]`` values; may fall outside the window."""
        return (dates - np.datetime64(self.start, "D")).astype(np.int64)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def _holiday_dates(year: int) -> dict[dt.date, int]:
    dates = {
        _nth_weekday(year, 5, 6, 2): 1,  # Día de la Madre: 2nd Sunday of May
        _nth_weekday(year, 6, 6, 3): 2,  # Día del Padre: 3rd Sunday of June
        dt.date(year, 7, 27): 3,
        dt.date(year, 7, 28): 3,
        dt.date(year, 7, 29): 3,
        dt.date(year, 12, 24): 4,
        dt.date(year, 12, 31): 5,
        dt.date(year, 1, 1): 5,
        dt.date(year, 2, 14): 6,
        _nth_weekday(year, 2, 5, 1): 7,  # Día del Pisco Sour: 1st Saturday of February
        dt.date(year, 8, 30): 8,
        dt.date(year, 10, 31): 9,
        dt.date(year, 6, 28): 10,
    }
    # Office end-of-year lunches and dinners fill restaurants in the weeks before Christmas.
    for day in range(12, 24):
        dates.setdefault(dt.date(year, 12, day), 11)
    return dates


def build_calendar(end: dt.date, years: float) -> Calendar:
    """Days of the window with their demand weight (mean 1 over the window)."""
    n_days = max(int(round(years * 365.25)), 30)
    start = end - dt.timedelta(days=n_days - 1)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    weekday = ((days.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    months = days.astype("datetime64[M]").astype(np.int64) % 12
    holidays: dict[dt.date, int] = {}
    for year in range(start.year, end.year + 1):
        holidays.update(_holiday_dates(year))
    pydays = days.astype(dt.date)
    code = np.array([holidays.get(d, NO_HOLIDAY) for d in pydays], dtype=np.int64)
    hol_weight = np.array([_HOLIDAY_WEIGHT.get(int(c), 1.12 if c == 11 else 1.0) for c in code])
    code[code == 11] = NO_HOLIDAY  # the December run-up is busy but not a named occasion
    growth = 1.0 + 0.08 * np.arange(n_days) / 365.25
    weight = WEEKDAY_WEIGHT[weekday] * MONTH_WEIGHT[months] * hol_weight * growth
    weight = weight / weight.mean()
    return Calendar(start, end, days, weekday, months + 1, code, weight)


def sample_time_of_day(rng: np.random.Generator, daypart: np.ndarray) -> np.ndarray:
    """Seconds after midnight for each visit, peaked the Lima way.

    Lunch is late (12:30-15:30, peak around 13:45) and dinner runs 19:00-22:30; ``late`` covers
    the after-dinner crowd until midnight so that no visit slips into the next day.
    """
    n = len(daypart)
    hours = np.empty(n)
    z = rng.standard_normal(n)
    u = rng.random(n)
    spec = {
        BREAKFAST: (9.4, 0.75, 7.5, 11.5),
        LUNCH: (13.8, 0.8, 12.0, 16.25),
        DINNER: (20.6, 0.95, 18.5, 22.5),
    }
    for part, (mu, sd, lo, hi) in spec.items():
        m = daypart == part
        hours[m] = np.clip(mu + sd * z[m], lo, hi)
    m = daypart == LATE
    hours[m] = 22.5 + 1.49 * u[m]
    secs = (hours * 3600).astype(np.int64) + rng.integers(0, 60, n)
    return np.clip(secs, 0, 86399)


def peak_shape(daypart: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """How close a visit is to the rush of its day part (1 at the peak, ~0.3 at the edges)."""
    hours = seconds / 3600.0
    peak = np.array([9.5, 13.75, 20.75, 23.0])[daypart]
    width = np.array([1.0, 0.9, 1.1, 0.8])[daypart]
    return 0.3 + 0.7 * np.exp(-0.5 * ((hours - peak) / width) ** 2)
