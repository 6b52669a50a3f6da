"""Dates and periods (SPEC §3.1, §5): the one home of the date window.

- Nothing the product counts happens before 1 January 2020 (`EARLIEST`).
- A mediator's "today" (form defaults, period presets, duplicates) is metropolitan France's.
- An activity may be dated up to the latest "today" anywhere in France: Wallis-et-Futuna is
  UTC+12, so a mediator in Nouméa or Saint-Denis de La Réunion is never refused their today.
- Statistics periods: the presets of the page and the API, or a custom range (`du`, `au`) between
  `EARLIEST` and the latest allowed date: a period holds at most the months that can hold data,
  so the cost of reading it is bounded whatever is asked.
- Months are "YYYY-MM" strings (the statistics buckets' keys).

Pure Python: the clock is given (`Calendar`), never read here.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.vocab import Vocabulary

PARIS = ZoneInfo("Europe/Paris")
EARLIEST = date(2020, 1, 1)
# The last time zone of France to reach a new day (Wallis-et-Futuna).
LATEST_ZONE = timezone(timedelta(hours=12))

AVANT_2020 = "La date de début ne peut pas être avant le 1er janvier 2020."
FIN_AVANT_DEBUT = "La date de fin doit être après la date de début."
DEBUT_FUTUR = "La date de début ne peut pas être après aujourd'hui."
FIN_FUTURE = "La date de fin ne peut pas être après aujourd'hui."


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Calendar:
    """What time it is, for every rule that depends on it (tests give a settable clock)."""

    clock: Callable[[], datetime] = utc_now

    def now(self) -> datetime:
        return self.clock()

    def timestamp(self) -> int:
        """Seconds since the epoch (sessions' expiry)."""
        return int(self.clock().timestamp())

    def today(self) -> date:
        """The mediator's date (metropolitan France): form defaults, presets, duplicates."""
        return self.clock().astimezone(PARIS).date()

    def latest_allowed(self) -> date:
        """The latest date an activity may have (today somewhere in France)."""
        return self.clock().astimezone(LATEST_ZONE).date()


# --- months ---------------------------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, calendar.monthrange(year, number)[1])


def month_bounds(month: str) -> tuple[date, date]:
    return month_start(month), month_end(month)


def months_between(du: date, au: date) -> list[str]:
    months = []
    year, month = du.year, du.month
    while (year, month) <= (au.year, au.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# --- in French --------------------------------------------------------------------------------

MOIS_LONGS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def jour_fr(day: date) -> str:
    """2026-01-01 -> "1er janvier 2026" (the first of the month is an ordinal in French)."""
    quantieme = "1er" if day.day == 1 else str(day.day)
    return f"{quantieme} {MOIS_LONGS[day.month - 1]} {day.year}"


def mois_fr(month: str) -> str:
    """ "2025-03" -> "mars 2025"; anything else is returned as it is."""
    try:
        year, number = int(month[:4]), int(month[5:7])
    except ValueError:
        return month
    return f"{MOIS_LONGS[number - 1]} {year}" if 1 <= number <= 12 else month


def periode_fr(du: date, au: date) -> str:
    return f"du {jour_fr(du)} au {jour_fr(au)}"


# --- statistics periods ---------------------------------------------------------------------------

DEFAULT_PRESET = "cette_annee"
CUSTOM = "personnalisee"
# Order of the page's radios: the default first, the custom range last (its dates follow it).
PERIODES = Vocabulary(
    "periode",
    (
        ("cette_annee", "Cette année"),
        ("ce_mois", "Ce mois-ci"),
        ("mois_dernier", "Mois dernier"),
        ("12_mois", "12 derniers mois"),
        ("annee_derniere", "Année dernière"),
        (CUSTOM, "Personnalisée"),
    ),
)
PRESETS = frozenset(slug for slug in PERIODES if slug != CUSTOM)


@dataclass(frozen=True)
class Periode:
    du: date
    au: date


def periode(
    preset: str | None, du: date | None, au: date | None, today: date, latest: date
) -> Periode:
    """The period asked for: typed dates win over a preset (a missing one is the earliest date
    or today); no preset is "cette année". ValidationFailed with French messages otherwise.
    `latest`: the latest date an activity may have (`Calendar.latest_allowed`)."""
    if du or au:
        return custom_periode(du or EARLIEST, au or today, latest)
    if preset == "ce_mois":
        return Periode(today.replace(day=1), today)
    if preset == "mois_dernier":
        last = today.replace(day=1) - timedelta(days=1)
        return Periode(last.replace(day=1), last)
    if preset == "12_mois":
        return Periode(month_start(months_between(EARLIEST, today)[-12:][0]), today)
    if preset == "annee_derniere":
        return Periode(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    return Periode(date(today.year, 1, 1), today)


def custom_periode(du: date, au: date, latest: date) -> Periode:
    errors = {}
    if du < EARLIEST:
        errors["du"] = AVANT_2020
    elif du > latest:
        errors["du"] = DEBUT_FUTUR
    if au > latest:
        errors["au"] = FIN_FUTURE
    elif au < du:
        errors["au"] = FIN_AVANT_DEBUT
    if errors:
        raise ValidationFailed(errors)
    return Periode(du, au)
