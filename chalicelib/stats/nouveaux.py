"""« dont nouveaux bénéficiaires » (SPEC §5): the one home of the rule.

- A followed person is *nouveau* in a period when their first accompaniment ever (with this
  mediator) falls in it. An anonymous person is nouveau when « déjà accompagné » is not ticked
  (counted by `aggregation`, counter `anv`).
- To read that without going through every activity, each person is filed under the month of
  their first accompaniment: the newcomers items `P#<month>` of their mediator and of the
  mediator's structure (`stats.ports.StatsStore.newcomers`). A period reads its months' items.
- After every activity write, the people whose links changed are filed again (`Nouveaux`,
  told by the activity service). The person's counters (accompagnements, first and last dates)
  and their filing are written in one transaction guarded by the person's `liens_seq`, which
  every link change bumps: a refresh that read the links before a later change gives way to
  that change's own refresh, so the filing always ends as the links say.
- `verify` checks the filing against `first_accompaniments` of the activities and repairs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from chalicelib import observability
from chalicelib.domain.activites import Activite
from chalicelib.domain.dates import Periode, month_of
from chalicelib.domain.errors import Unavailable
from chalicelib.stats.ports import Membership, Owner


@dataclass(frozen=True)
class Links:
    """What a person's activity links say, read with the person's `liens_seq`."""

    seq: int
    count: int
    first: date | None  # first accompaniment ever
    last: date | None
    filed: date | None  # the first accompaniment the person is filed under today


@dataclass(frozen=True)
class Filing:
    """Set (`day`) or remove (None) one person in one owner's newcomers of one month."""

    owner: Owner
    month: str
    day: date | None


class NewcomerStore(Protocol):
    def links(self, mediateur_id: str, beneficiaire_id: str) -> Links | None: ...
    def save_counters(
        self, mediateur_id: str, beneficiaire_id: str, links: Links, filings: list[Filing]
    ) -> None: ...


def filings(owners: Iterable[Owner], before: date | None, after: date | None) -> list[Filing]:
    """Out of the month the person was filed under, into the month of their first
    accompaniment now (both for each owner); nothing when they are the same."""
    months = sorted({month_of(day) for day in (before, after) if day})
    return [
        Filing(owner, month, after if after and month_of(after) == month else None)
        for month in months
        for owner in owners
    ]


def first_accompaniments(activities: Iterable[Activite]) -> dict[str, date]:
    """Followed person -> date of their first accompaniment ever (the newcomers' truth)."""
    first: dict[str, date] = {}
    for a in activities:
        for person in a.data.beneficiaires_lies():
            if person not in first or a.date < first[person]:
                first[person] = a.date
    return first


def count_nouveaux(suivis: Iterable[str], first_times: dict[str, date], periode: Periode) -> int:
    """How many of the period's followed people had their first accompaniment in it."""
    return sum(1 for i in suivis if i in first_times and periode.du <= first_times[i] <= periode.au)


class Nouveaux:
    """Files followed people as newcomers after their links changed (`LinksListener`)."""

    def __init__(self, store: NewcomerStore, membership: Membership) -> None:
        self._store = store
        self._membership = membership

    def links_changed(self, mediateur_id: str, ids: Iterable[str]) -> None:
        """After an activity write: the write is saved, so a person that cannot be refreshed
        now (the database stayed busy) is left to the daily verification, which files them."""
        for beneficiaire_id in dict.fromkeys(ids):
            try:
                self.refresh(mediateur_id, beneficiaire_id)
            except Unavailable:
                observability.logger().warning("newcomers not filed", error="Unavailable")
                observability.count("NewcomersNotFiled")

    def refresh(self, mediateur_id: str, beneficiaire_id: str) -> None:
        """Recompute a person's counters from their links and file them under the month of
        their first accompaniment, for their mediator and the mediator's structure."""
        links = self._store.links(mediateur_id, beneficiaire_id)
        if links is None:
            return  # not one of the mediator's people (or gone)
        owners = [Owner.mediateur(mediateur_id)]
        if links.first or links.filed:
            siret = self._membership.structure_of(mediateur_id)
            owners += [Owner.structure(siret)] if siret else []
        self._store.save_counters(
            mediateur_id, beneficiaire_id, links, filings(owners, links.filed, links.first)
        )
