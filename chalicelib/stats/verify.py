"""Statistics drift: recompute the aggregates from the activities, report and repair (ops).

What is checked, per mediator:
- every month bucket (`M#<month>`): each counter of each combination `type|canal|lieu`, and its
  followed people, against `bucket_of(the month's activities)`;
- the newcomers (`P#<month>`, "dont nouveaux"): the month of each followed person's first
  accompaniment ever, against the mediator's activities.
The months looked at are those with activities and those with a stored bucket (a bucket whose
activities were all deleted or moved must be empty).

Then, per structure of those mediators (STR#<siret>):
- its members (`MEMBRES`) against the profiles filed under its SIRET, and each mediator's
  `STRUCTURE` against their profile;
- every month bucket against the sum of its members' buckets (`structure_bucket`);
- its newcomers against the union of its members'.

Which mediators: the ones given, those who changed something yesterday or today (`daily`, the
scheduled Lambda), or every mediator who ever signed in (a Scan of the app table for `PROFIL`
items: an activity needs a signed-in author, so no mediator with activities is missed). The Scan
and the per-mediator reads make it an ops tool, not a request path.

A write a few milliseconds old may not be projected yet: a drift is only reported when a second
reading confirms it. Repairing is always safe: it is the projector's own guarded recomputation
(a stale computation never overwrites a fresher one) and the people's counters refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from chalicelib.domain.activites import Activite, Filtres
from chalicelib.domain.dates import Calendar, month_bounds, month_of
from chalicelib.domain.mediateurs import Mediateur
from chalicelib.stats.aggregation import Bucket, bucket_of, structure_bucket
from chalicelib.stats.nouveaux import Nouveaux, first_accompaniments
from chalicelib.stats.ports import ActivitiesReader, Owner, StatsStore
from chalicelib.stats.projector import Projector

NEWCOMERS = "nouveaux"


@dataclass(frozen=True)
class Difference:
    """One counter that differs. `counter` is `<type|canal|lieu> <key>` (e.g.
    `individuel|lieu_activite|L1 th:email`), `<combination> suivis` for the number of followed
    people, or `nouveaux <person id>` (values are then the first accompaniment's date)."""

    counter: str
    expected: int | str
    stored: int | str


@dataclass
class Drift:
    owner: Owner
    month: str
    differences: list[Difference]
    repaired: bool = False


@dataclass
class Report:
    mediateurs: int = 0
    months: int = 0
    structures: int = 0
    drifts: list[Drift] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (mediator, error type)

    @property
    def ok(self) -> bool:
        return not self.drifts and not self.failures

    @property
    def unrepaired(self) -> list[Drift]:
        return [d for d in self.drifts if not d.repaired]

    def lines(self) -> list[str]:
        """The report as text, one block per drifting (mediator, month)."""
        out = []
        for drift in self.drifts:
            state = " (réparé)" if drift.repaired else ""
            out.append(f"{drift.owner} mois {drift.month}{state}")
            for d in drift.differences:
                out.append(f"  {d.counter}: attendu {d.expected}, enregistré {d.stored}")
        for mediateur_id, error in self.failures:
            out.append(f"médiateur {mediateur_id}: vérification impossible ({error})")
        out.append(
            f"{self.mediateurs} médiateur(s), {self.structures} structure(s), "
            f"{self.months} mois vérifiés, "
            f"{len(self.drifts)} écart(s), {len(self.unrepaired)} non réparé(s)"
        )
        return out


# --- comparing ---------------------------------------------------------------------------------


def _flat(bucket: Bucket) -> dict[str, int]:
    flat: dict[str, int] = {}
    for key, combo in bucket.items():
        if not combo.counters.get("a"):
            continue  # an emptied combination is not stored (see bucket_to_map)
        for counter, value in combo.counters.items():
            if value:
                flat[f"{key} {counter}"] = int(value)
    return flat


def _suivis(bucket: Bucket) -> dict[str, set[str]]:
    return {key: set(c.suivis) for key, c in bucket.items() if c.counters.get("a")}


def bucket_differences(expected: Bucket, stored: Bucket) -> list[Difference]:
    found = []
    want, have = _flat(expected), _flat(stored)
    for counter in sorted(want.keys() | have.keys()):
        if want.get(counter, 0) != have.get(counter, 0):
            found.append(Difference(counter, want.get(counter, 0), have.get(counter, 0)))
    want_people, have_people = _suivis(expected), _suivis(stored)
    for key in sorted(want_people.keys() | have_people.keys()):
        a, b = want_people.get(key, set()), have_people.get(key, set())
        if a != b:
            found.append(Difference(f"{key} suivis", len(a), len(b)))
    return found


def newcomer_differences(
    expected: dict[str, date], stored: dict[str, date]
) -> dict[str, list[Difference]]:
    """month -> differences (a person filed under the wrong month shows in both months)."""
    by_month: dict[str, list[Difference]] = {}
    for person in sorted(expected.keys() | stored.keys()):
        want, have = expected.get(person), stored.get(person)
        if want == have:
            continue
        difference = Difference(
            f"{NEWCOMERS} {person}",
            want.isoformat() if want else "-",
            have.isoformat() if have else "-",
        )
        for month in {month_of(d) for d in (want, have) if d}:
            by_month.setdefault(month, []).append(difference)
    return by_month


class Accounts(Protocol):
    """Who the mediators are and which structure their profile names (`AccountService`)."""

    def siret_of(self, mediateur_id: str) -> str | None: ...
    def structure_mediateurs(self, siret: str) -> list[Mediateur]: ...
    def mediateur_ids(self) -> list[str]: ...


class KnownPeople(Protocol):
    def names(self, mediateur_id: str, ids: Iterable[str]) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class Sources:
    """What the verification reads and repairs with (built by the composition root)."""

    stats: StatsStore
    activities: ActivitiesReader
    projector: Projector
    nouveaux: Nouveaux
    accounts: Accounts
    people: KnownPeople
    calendar: Calendar


# --- one mediator ------------------------------------------------------------------------------


class _Checker:
    def __init__(self, sources: Sources) -> None:
        self._stats = sources.stats
        self._activities = sources.activities
        self._projector = sources.projector
        self._nouveaux = sources.nouveaux
        self._people = sources.people

    def _month(self, mediateur_id: str, month: str) -> list[Difference]:
        du, au = month_bounds(month)
        activities = self._activities.between(mediateur_id, Filtres(du=du, au=au), True)
        stored, _ = self._stats.bucket(Owner.mediateur(mediateur_id), month)
        return bucket_differences(bucket_of(activities), stored)

    def check(self, mediateur_id: str, repair: bool, report: Report) -> None:
        owner = Owner.mediateur(mediateur_id)
        activities = list(self._activities.between(mediateur_id, Filtres(), True))
        months = {month_of(a.date) for a in activities}
        months |= set(self._stats.months_with_buckets(owner))
        report.months += len(months)
        drifts: dict[str, Drift] = {}
        for month in sorted(months):
            if self._month(mediateur_id, month) and (confirmed := self._month(mediateur_id, month)):
                drifts[month] = Drift(owner, month, confirmed)
        for month, differences in self._newcomers(mediateur_id, activities, months).items():
            drifts.setdefault(month, Drift(owner, month, [])).differences += differences
        report.drifts += [drifts[m] for m in sorted(drifts)]
        if repair:
            self._repair(mediateur_id, drifts)

    def _newcomers(
        self, mediateur_id: str, activities: list[Activite], months: set[str]
    ) -> dict[str, list[Difference]]:
        owner = Owner.mediateur(mediateur_id)
        first = first_accompaniments(activities)
        # Only people who exist have counters to file them (links written by hand in tests or
        # by a failed transaction would otherwise show as drift that nothing can repair).
        known = self._people.names(mediateur_id, first) if first else {}
        expected = {person: day for person, day in first.items() if person in known}
        stored = self._stats.newcomers(owner, months)
        if expected == stored:
            return {}
        # Confirm with a second reading of both sides (a write may be in progress).
        again = first_accompaniments(self._activities.between(mediateur_id, Filtres(), True))
        expected = {person: day for person, day in again.items() if person in known}
        return newcomer_differences(expected, self._stats.newcomers(owner, months))

    def _repair(self, mediateur_id: str, drifts: dict[str, Drift]) -> None:
        people: set[str] = set()
        for month, drift in drifts.items():
            if any(not d.counter.startswith(NEWCOMERS + " ") for d in drift.differences):
                self._projector.recompute(Owner.mediateur(mediateur_id), month)
            people |= {
                d.counter.split(" ", 1)[1]
                for d in drift.differences
                if d.counter.startswith(NEWCOMERS + " ")
            }
        if people:
            self._nouveaux.links_changed(mediateur_id, sorted(people))
        for drift in drifts.values():
            drift.repaired = True


# --- structures --------------------------------------------------------------------------------

MEMBERSHIP = "membres"


class _StructureChecker:
    """A structure's buckets against the sum of its mediators' (checked first), its newcomers
    against theirs, its members against the profiles filed under its SIRET."""

    def __init__(self, sources: Sources) -> None:
        self._stats = sources.stats
        self._accounts = sources.accounts
        self._projector = sources.projector

    def membership(self, mediateur_id: str, report: Report, repair: bool) -> set[str]:
        """The structures this mediator's statistics involve (profile's and stored ones)."""
        expected = self._accounts.siret_of(mediateur_id)
        stored = self._stats.structure_of(mediateur_id)
        if (expected or None) != stored:
            drift = Drift(
                Owner.mediateur(mediateur_id),
                MEMBERSHIP,
                [Difference("structure", expected or "-", stored or "-")],
            )
            report.drifts.append(drift)
            if repair:
                self._projector.join(mediateur_id, expected)
                drift.repaired = True
        return {s for s in (expected, stored) if s} | self._stats.former_structures(mediateur_id)

    def check(self, siret: str, repair: bool, report: Report) -> None:
        owner = Owner.structure(siret)
        report.structures += 1
        expected_members = {m.id for m in self._accounts.structure_mediateurs(siret)}
        stored_members = self._stats.members(siret)
        if expected_members != stored_members:
            # The profiles' index lags a little: ask each mediator concerned directly.
            for mediateur_id in sorted(expected_members ^ stored_members):
                self.membership(mediateur_id, report, repair)
            stored_members = self._stats.members(siret)
        months = set(self._stats.months_with_buckets(owner))
        for mediateur_id in stored_members:
            months |= set(self._stats.months_with_buckets(Owner.mediateur(mediateur_id)))
        report.months += len(months)
        for month in sorted(months):
            if self._month(siret, month) and (confirmed := self._month(siret, month)):
                drift = Drift(owner, month, confirmed)
                report.drifts.append(drift)
                if repair:
                    self._projector.recompute(owner, month)
                    drift.repaired = True
        self._newcomers(siret, stored_members, repair, report)

    def _month(self, siret: str, month: str) -> list[Difference]:
        stored, _ = self._stats.bucket(Owner.structure(siret), month)
        members = self._stats.members(siret)
        found = self._stats.member_buckets(members, month) if members else {}
        return bucket_differences(structure_bucket(found.values()), stored)

    def _expected_newcomers(self, members: set[str]) -> dict[str, dict[str, str]]:
        expected: dict[str, dict[str, str]] = {}
        for mediateur_id in sorted(members):
            for month, people in self._stats.newcomer_months(Owner.mediateur(mediateur_id)).items():
                expected.setdefault(month, {}).update(people)
        return expected

    def _newcomers(self, siret: str, members: set[str], repair: bool, report: Report) -> None:
        owner = Owner.structure(siret)
        expected = self._expected_newcomers(members)
        stored = self._stats.newcomer_months(owner)
        if expected == stored:
            return
        expected = self._expected_newcomers(members)  # a second reading confirms
        stored = self._stats.newcomer_months(owner)
        for month in sorted(expected.keys() | stored.keys()):
            want, have = expected.get(month, {}), stored.get(month, {})
            if want == have:
                continue
            differences = [
                Difference(f"{NEWCOMERS} {person}", want.get(person, "-"), have.get(person, "-"))
                for person in sorted(want.keys() | have.keys())
                if want.get(person) != have.get(person)
            ]
            drift = Drift(owner, month, differences)
            report.drifts.append(drift)
            if repair:
                self._stats.set_newcomers(owner, month, want)
                drift.repaired = True


class Verifier:
    def __init__(self, sources: Sources) -> None:
        self._sources = sources

    def verify(self, mediateurs: list[str] | None, repair: bool) -> Report:
        """Check (and on request repair) the given mediators and their structures, or every
        mediator and structure when None."""
        checker = _Checker(self._sources)
        structures = _StructureChecker(self._sources)
        ids = (
            list(dict.fromkeys(mediateurs))
            if mediateurs is not None
            else self._sources.accounts.mediateur_ids()
        )
        report = Report()
        sirets: set[str] = set()
        for mediateur_id in ids:
            report.mediateurs += 1
            try:
                checker.check(mediateur_id, repair, report)
                sirets |= structures.membership(mediateur_id, report, repair)
            except Exception as exc:  # one mediator's failure must not hide the others' drift
                report.failures.append((mediateur_id, type(exc).__name__))
        for siret in sorted(sirets):
            try:
                structures.check(siret, repair, report)
            except Exception as exc:
                report.failures.append(("structure " + siret, type(exc).__name__))
        return report

    def daily(self) -> Report:
        """The mediators who changed something yesterday or today (the projector notes them),
        repaired."""
        today = self._sources.calendar.today()
        stats = self._sources.stats
        touched = [*stats.touched(today - timedelta(days=1)), *stats.touched(today)]
        return self.verify(list(dict.fromkeys(touched)), repair=True)
