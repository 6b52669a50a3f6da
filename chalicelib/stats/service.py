"""Reading statistics: a period and filters -> every figure of SPEC §5.

Whole months come from the buckets (one batch read of at most 12 + 12 newcomer items for a
year); a partial month at an edge of the period is computed from its activities. A month is
whole when the period covers it to its end, or up to the latest date an activity may have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.domain.activites import Activite, Filtres
from chalicelib.domain.communes import CommuneReference
from chalicelib.domain.dates import (
    Calendar,
    Periode,
    month_end,
    month_start,
    months_between,
    periode,
)
from chalicelib.domain.mediateurs import Profile
from chalicelib.stats.aggregation import (
    Bucket,
    Labels,
    Selection,
    bucket_of,
    figures,
    structure_bucket,
    total,
)
from chalicelib.stats.nouveaux import count_nouveaux
from chalicelib.stats.ports import ActivitiesReader, BucketReader, Owner

MAX_MONTHS_CHART = 12


class StructureProfiles(Protocol):
    """The profiles (with their lieux) of a structure's mediators (`AccountService`)."""

    def structure_profiles(self, siret: str) -> list[Profile]: ...


class StatsService:
    def __init__(
        self,
        buckets: BucketReader,
        activities: ActivitiesReader,
        communes: CommuneReference,
        calendar: Calendar,
        structures: StructureProfiles,
    ) -> None:
        self._buckets = buckets
        self._activities = activities
        self._communes = communes
        self._calendar = calendar
        self._structures = structures

    def periode(self, preset: str | None, du: date | None, au: date | None) -> Periode:
        """The period asked for (`domain.dates.periode`), relative to today."""
        return periode(preset, du, au, self._calendar.today(), self._calendar.latest_allowed())

    # --- figures ------------------------------------------------------------------------------

    def _whole_months(self, periode: Periode) -> list[str]:
        """The months the stored buckets answer: covered to their end, or up to the latest
        date an activity may have."""
        latest = self._calendar.latest_allowed()
        return [
            m
            for m in months_between(periode.du, periode.au)
            if periode.du <= month_start(m) and (periode.au >= month_end(m) or periode.au >= latest)
        ]

    def _month_buckets(
        self,
        owner: Owner,
        periode: Periode,
        mediateurs: Iterable[str],
        combine: Callable[[Bucket], Bucket] = lambda bucket: bucket,
    ) -> dict[str, Bucket]:
        """One bucket per month of the period: the owner's stored ones for whole months,
        computed from the activities of these mediators at the edges (then `combine`d like the
        stored ones)."""
        whole = self._whole_months(periode)
        found = self._buckets.buckets(owner, whole)
        result = {m: found[m][0] if m in found else {} for m in whole}
        for month in months_between(periode.du, periode.au):
            if month not in result:
                du = max(periode.du, month_start(month))
                au = min(periode.au, month_end(month))
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
        """Every figure of SPEC §5 for one mediator."""
        mediateur_id = profile.mediateur.id
        by_month = self._month_buckets(Owner.mediateur(mediateur_id), periode, [mediateur_id])
        selection = Selection(type, canal, lieu)
        return self._figures(Owner.mediateur(mediateur_id), by_month, periode, selection, [profile])

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
        profiles = self._structures.structure_profiles(siret)
        owner = Owner.structure(siret)
        by_month = self._month_buckets(
            owner,
            periode,
            [p.mediateur.id for p in profiles],
            lambda bucket: structure_bucket([bucket]),
        )
        return self._figures(owner, by_month, periode, Selection(type, canal, None), profiles)

    def _figures(
        self,
        owner: Owner,
        by_month: dict[str, Bucket],
        periode: Periode,
        selection: Selection,
        profiles: list[Profile],
    ) -> dict[str, Any]:
        combo = total(by_month.values(), selection)
        par_mois = {m: total([b], selection).counters.get("n", 0) for m, b in by_month.items()}
        first_times = self._buckets.newcomers(owner, by_month)
        nouveaux = count_nouveaux(combo.suivis, first_times, periode)
        shown = sorted(par_mois.items())[-MAX_MONTHS_CHART:]
        return figures(combo, periode.du, periode.au, shown, nouveaux, self._labels(profiles))

    def resume_30_jours(self, profile: Profile) -> dict[str, Any]:
        today = self._calendar.today()
        return self.figures(profile, Periode(today - timedelta(days=29), today))

    def _labels(self, profiles: Iterable[Profile]) -> Labels:
        lieux = {lieu.id: lieu.nom for profile in profiles for lieu in profile.lieux}
        index = self._communes

        def commune(insee: str) -> str:
            found = index.get(insee)
            return str(found.libelle) if found else insee

        return Labels(
            lieu=lambda i: lieux.get(i, "Lieu supprimé"),
            commune=commune,
            partenaire=lambda i: i,
        )
