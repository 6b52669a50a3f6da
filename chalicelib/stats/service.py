"""Reading statistics: a period and filters -> every figure of SPEC §5.

Whole months come from the buckets (one batch read of at most 12 + 12 newcomer items for a
year); a partial month at an edge of the period is computed from its activities. A month is
whole when the period covers it to its end, or up to the latest date an activity may have.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.domain.activites import Activite, Filtres
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.mediateurs import Profile
from chalicelib.stats.aggregation import (
    Bucket,
    Combo,
    Labels,
    Selection,
    bucket_of,
    figures,
    month_of,
    structure_bucket,
    total,
)

PRESETS = ("cette_annee", "ce_mois", "mois_dernier", "12_mois", "annee_derniere")
EARLIEST = date(2020, 1, 1)
MAX_MONTHS_CHART = 12


class BucketReader(Protocol):
    def buckets(
        self, mediateur_id: str, months: Iterable[str]
    ) -> dict[str, tuple[Bucket, int]]: ...
    def newcomers(self, mediateur_id: str, months: Iterable[str]) -> dict[str, date]: ...
    def structure_buckets(
        self, siret: str, months: Iterable[str]
    ) -> dict[str, tuple[Bucket, int]]: ...
    def structure_newcomers(self, siret: str, months: Iterable[str]) -> dict[str, date]: ...


class ActivitiesBetween(Protocol):
    def between(self, mediateur_id: str, filtres: Filtres, consistent: bool = ...) -> Any: ...


@dataclass(frozen=True)
class Periode:
    du: date
    au: date


def months_between(du: date, au: date) -> list[str]:
    months = []
    year, month = du.year, du.month
    while (year, month) <= (au.year, au.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, calendar.monthrange(year, number)[1])


def _month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


class StatsService:
    def __init__(
        self,
        buckets: BucketReader,
        activities: ActivitiesBetween,
        communes: Callable[[], Any],
        today: Callable[[], date],
        latest_allowed: Callable[[], date],
        structure: Callable[[str], Iterable[Profile]] | None = None,
    ) -> None:
        self._buckets = buckets
        self._activities = activities
        self._communes = communes
        self._today = today
        self._latest_allowed = latest_allowed
        self._structure = structure  # siret -> the profiles of the structure's mediators

    # --- periods ------------------------------------------------------------------------------

    def periode(self, preset: str | None, du: date | None, au: date | None) -> Periode:
        today = self._today()
        if du or au:
            return self._custom(du or EARLIEST, au or today)
        if preset == "ce_mois":
            return Periode(today.replace(day=1), today)
        if preset == "mois_dernier":
            last = today.replace(day=1) - timedelta(days=1)
            return Periode(last.replace(day=1), last)
        if preset == "12_mois":
            first = months_between(EARLIEST, today)[-12:][0]
            return Periode(_month_start(first), today)
        if preset == "annee_derniere":
            return Periode(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
        return Periode(date(today.year, 1, 1), today)

    def _custom(self, du: date, au: date) -> Periode:
        errors = {}
        if du < EARLIEST:
            errors["du"] = "La date de début ne peut pas être avant le 1er janvier 2020."
        if au < du:
            errors["au"] = "La date de fin doit être après la date de début."
        if errors:
            raise ValidationFailed(errors)
        return Periode(du, au)

    # --- figures ------------------------------------------------------------------------------

    def _whole_months(self, periode: Periode) -> list[str]:
        """The months the stored buckets answer: covered to their end, or up to the latest
        date an activity may have."""
        latest = self._latest_allowed()
        return [
            m
            for m in months_between(periode.du, periode.au)
            if periode.du <= _month_start(m)
            and (periode.au >= _month_end(m) or periode.au >= latest)
        ]

    def _month_buckets(
        self,
        stored: Callable[[list[str]], dict[str, tuple[Bucket, int]]],
        periode: Periode,
        mediateurs: Iterable[str],
        combine: Callable[[Bucket], Bucket] = lambda bucket: bucket,
    ) -> dict[str, Bucket]:
        """One bucket per month of the period: `stored` for whole months, computed from the
        activities of these mediators at the edges (then `combine`d like the stored ones)."""
        whole = self._whole_months(periode)
        found = stored(whole)
        result = {m: found[m][0] if m in found else {} for m in whole}
        for month in months_between(periode.du, periode.au):
            if month not in result:
                du = max(periode.du, _month_start(month))
                au = min(periode.au, _month_end(month))
                activities = [a for m in mediateurs for a in self._between(m, du, au)]
                result[month] = combine(bucket_of(activities))
        return result

    def _between(self, mediateur_id: str, du: date, au: date) -> list[Activite]:
        return list(self._activities.between(mediateur_id, Filtres(du=du, au=au)))

    def figures(
        self,
        profile: Profile,
        periode: Periode,
        type: str | None = None,
        canal: str | None = None,
        lieu: str | None = None,
    ) -> dict[str, Any]:
        part = self._part(profile.mediateur.id, periode, Selection(type, canal, lieu))
        par_mois = sorted(part.par_mois.items())[-MAX_MONTHS_CHART:]
        return figures(
            part.combo, periode.du, periode.au, par_mois, part.nouveaux, self._labels([profile])
        )

    def structure_figures(
        self,
        siret: str,
        periode: Periode,
        type: str | None = None,
        canal: str | None = None,
    ) -> dict[str, Any]:
        """The same figures for a whole structure, from its own buckets (the sum of its
        mediators', kept by the projector) and newcomers: 12 + 12 items for a year, whatever
        the number of mediators. A partial month at an edge adds up its mediators' activities.
        No lieu filter here: lieux are each mediator's own."""
        assert self._structure is not None, "the service was built without structures"
        profiles = list(self._structure(siret))
        by_month = self._month_buckets(
            lambda months: self._buckets.structure_buckets(siret, months),
            periode,
            [p.mediateur.id for p in profiles],
            lambda bucket: structure_bucket([bucket]),
        )
        first_times = self._buckets.structure_newcomers(siret, by_month)
        part = _sum_up(by_month, first_times, periode, Selection(type, canal, None))
        par_mois = sorted(part.par_mois.items())[-MAX_MONTHS_CHART:]
        return figures(
            part.combo, periode.du, periode.au, par_mois, part.nouveaux, self._labels(profiles)
        )

    def _part(self, mediateur_id: str, periode: Periode, selection: Selection) -> _Part:
        """One mediator's figures: summed counters, per-month totals, newcomers."""
        by_month = self._month_buckets(
            lambda months: self._buckets.buckets(mediateur_id, months), periode, [mediateur_id]
        )
        first_times = self._buckets.newcomers(mediateur_id, by_month)
        return _sum_up(by_month, first_times, periode, selection)

    def resume_30_jours(self, profile: Profile) -> dict[str, Any]:
        today = self._today()
        return self.figures(profile, Periode(today - timedelta(days=29), today))

    def _labels(self, profiles: Iterable[Profile]) -> Labels:
        lieux = {lieu.id: lieu.nom for profile in profiles for lieu in profile.lieux}
        index = self._communes()

        def commune(insee: str) -> str:
            found = index.get(insee)
            return str(found.libelle) if found else insee

        return Labels(
            lieu=lambda i: lieux.get(i, "Lieu supprimé"),
            commune=commune,
            partenaire=lambda i: i,
        )


@dataclass(frozen=True)
class _Part:
    combo: Combo
    par_mois: dict[str, int]
    nouveaux: int


def _sum_up(
    by_month: dict[str, Bucket],
    first_times: dict[str, date],
    periode: Periode,
    selection: Selection,
) -> _Part:
    combo = total(by_month.values(), selection)
    par_mois = {m: total([b], selection).counters.get("n", 0) for m, b in by_month.items()}
    nouveaux = sum(
        1 for i in combo.suivis if i in first_times and periode.du <= first_times[i] <= periode.au
    )
    return _Part(combo, par_mois, nouveaux)


def month_key(day: date) -> str:
    return month_of(day)
