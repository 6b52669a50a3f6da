"""A structure's statistics are its own aggregates (SPEC §5, issue: statistics at structure level).

The projector keeps, beside each mediator's month buckets, one bucket per (structure, month):
the sum of its members' buckets, recomputed from them under the same version rule. The
newcomers' refresh (`stats.nouveaux`) files the structure's newcomers. A mediator who signs in with
another SIRET takes their statistics along. Everything runs on moto with the real stream records.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.activites import ActiviteInput, ParticipantsAnonymes
from chalicelib.domain.dates import Calendar, Periode
from chalicelib.stats.aggregation import (
    Bucket,
    Selection,
    bucket_of,
    bucket_to_map,
    structure_bucket,
)
from chalicelib.stats.handlers import daily_verification
from chalicelib.stats.ports import Owner
from chalicelib.stats.service import StatsService
from chalicelib.stats.verify import Report
from tests.conftest import Stack
from tests.support.stats import (
    YEAR,
    Delivery,
    FlakyStatsStore,
    StreamTail,
    World,
    direct_figures,
    flaky_projector,
    individuel,
    new_siret,
    new_world,
)

MONTHS = [f"{YEAR}-{number:02d}" for number in range(1, 13)]
WHOLE_YEAR = Periode(date(YEAR, 1, 1), date(YEAR, 12, 31))


@pytest.fixture(scope="module")
def tail(aws: Stack) -> StreamTail:
    return StreamTail(aws)


@pytest.fixture
def container(app_setup: Any) -> Any:
    from chalicelib import bootstrap

    return bootstrap.get()


def verify(container: Any, ids: list[str], repair: bool) -> Report:
    """The verification of these mediators and their structures."""
    report: Report = container.verifier.verify(ids, repair)
    return report


def project(worlds: Iterable[World], seed: int = 7) -> None:
    """Deliver every pending record of these mediators, chaotically (duplicates, retries,
    throttled writes, shards interleaved)."""
    worlds = list(worlds)
    records = []
    for w in worlds:
        w.collect()
        records += w.pending
        w.pending = []
    c = worlds[0].container
    rnd = random.Random(seed)
    flaky = FlakyStatsStore(c.stats_store, rnd, p=0.2, crash=0.1, budget=8)
    Delivery(flaky_projector(c, flaky), rnd).run(records)


def scenario(world: World, shift: int = 0) -> None:
    """Activities of every type over three months, with followed, anonymous and new people."""
    first, second, third = world.people
    world.create(individuel(world, 1 + shift, beneficiaire_id=first))
    world.create(individuel(world, 2 + shift, day=3, canal="a_distance", lieu_id=None))
    world.create(
        ActiviteInput(
            type="collectif",
            date=date(YEAR, 2 + shift, 14),
            duree=120,
            canal="lieu_activite",
            lieu_id=world.lieux[1],
            thematiques=("banque_et_achats_en_ligne",),
            participants_ids=(first, second),
            participants_anonymes=ParticipantsAnonymes(total=3, deja_accompagnes=1),
        )
    )
    moved = world.create(individuel(world, 3 + shift, beneficiaire_id=third, autonomie="autonome"))
    world.edit(moved.id, individuel(world, 4 + shift, beneficiaire_id=third))


def structure_of_one(bucket: Bucket) -> Bucket:
    return structure_bucket([bucket])


def expected_bucket(worlds: Iterable[World], month: str) -> dict[str, Any]:
    return bucket_to_map(structure_bucket(bucket_of(w.month(month)) for w in worlds))


def assert_structure(container: Any, siret: str, worlds: list[World]) -> None:
    store = container.stats_store
    kept = store.buckets(Owner.structure(siret), MONTHS)
    for month in MONTHS:
        got = bucket_to_map(kept[month][0]) if month in kept else {}
        assert got == expected_bucket(worlds, month), month
    union: dict[str, date] = {}
    for w in worlds:
        union.update(store.newcomers(w.owner, MONTHS))
    assert store.newcomers(Owner.structure(siret), MONTHS) == union
    assert store.members(siret) == {w.mediateur_id for w in worlds}


def sign_in_again(world: World, siret: str | None) -> None:
    assert world.identity is not None
    world.identity = replace(world.identity, siret=siret)
    world.container.accounts.sign_in(world.identity)
    account = world.container.accounts.account(world.mediateur_id)
    world.profile = account.profile


# --- the aggregates ------------------------------------------------------------------------------


def test_a_structures_buckets_are_the_sum_of_its_mediators_and_its_figures_exact(
    container: Any, tail: StreamTail
) -> None:
    siret, other = new_siret(), new_siret()
    alice, bob = new_world(container, tail, siret), new_world(container, tail, siret)
    outsider = new_world(container, tail, other)
    scenario(alice)
    scenario(bob, shift=1)
    scenario(outsider)
    bob.delete(next(iter(bob.activities)))

    project([alice, bob, outsider])

    assert_structure(container, siret, [alice, bob])
    assert_structure(container, other, [outsider])
    statistics = container.statistics
    for periode in (
        WHOLE_YEAR,  # whole months: the structure's buckets
        Periode(date(YEAR, 2, 10), date(YEAR, 4, 20)),  # edges: the members' activities
    ):
        for selection in (Selection(), Selection("individuel", "lieu_activite")):
            got = statistics.structure_figures(siret, periode, selection.type, selection.canal)
            expected = direct_figures([alice, bob], periode, selection, structure_of_one)
            assert got == expected, (periode, selection)
    whole = statistics.structure_figures(siret, WHOLE_YEAR)
    assert whole["beneficiaires"]["suivis"] == 6  # three each, no one counted twice
    assert whole["accompagnements"]["total"] == sum(
        statistics.figures(w.profile, WHOLE_YEAR)["accompagnements"]["total"] for w in (alice, bob)
    )


class CountingReader:
    """The stats store, counting the items each read asks for, by read and owner."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.items: dict[tuple[str, Owner], int] = {}

    def _count(self, name: str, owner: Owner, months: Iterable[str]) -> list[str]:
        months = list(months)
        self.items[(name, owner)] = self.items.get((name, owner), 0) + len(months)
        return months

    def buckets(self, owner: Owner, months: Iterable[str]) -> Any:
        return self.real.buckets(owner, self._count("buckets", owner, months))

    def newcomers(self, owner: Owner, months: Iterable[str]) -> Any:
        return self.real.newcomers(owner, self._count("newcomers", owner, months))


def test_a_structures_year_reads_12_buckets_and_12_newcomer_items_whatever_its_size(
    container: Any, tail: StreamTail
) -> None:
    siret = new_siret()
    members = [new_world(container, tail, siret) for _ in range(4)]
    for world in members:
        world.create(individuel(world, 5, beneficiaire_id=world.people[0]))
    project(members)
    counting = CountingReader(container.stats_store)
    # Noon in Paris on 1 June of the following year: today and the latest allowed date alike.
    calendar = Calendar(lambda: datetime(YEAR + 1, 6, 1, 10, tzinfo=UTC))
    assert calendar.today() == calendar.latest_allowed() == date(YEAR + 1, 6, 1)
    service = StatsService(
        counting,
        container.activity_store,
        container.communes,
        calendar,
        structures=container.accounts,
    )

    figures_ = service.structure_figures(siret, WHOLE_YEAR)

    assert figures_["accompagnements"]["total"] == 4
    assert figures_["beneficiaires"]["nouveaux"] == 4
    structure = Owner.structure(siret)
    assert counting.items == {("buckets", structure): 12, ("newcomers", structure): 12}


# --- moving ------------------------------------------------------------------------------------


def test_a_mediator_who_signs_in_with_another_siret_takes_their_statistics_along(
    container: Any, tail: StreamTail
) -> None:
    before, after = new_siret(), new_siret()
    mover, stayer = new_world(container, tail, before), new_world(container, tail, before)
    newcomer = new_world(container, tail, after)
    for world in (mover, stayer, newcomer):
        scenario(world)
    project([mover, stayer, newcomer])

    sign_in_again(mover, after)

    assert_structure(container, before, [stayer])
    assert_structure(container, after, [mover, newcomer])
    # and the activities recorded afterwards count for the new structure only
    mover.create(individuel(mover, 7))
    project([mover])
    assert_structure(container, after, [mover, newcomer])
    assert_structure(container, before, [stayer])

    sign_in_again(mover, None)  # no structure any more

    assert_structure(container, after, [newcomer])
    assert container.stats_store.structure_of(mover.mediateur_id) is None
    assert verify(container, [mover.mediateur_id, stayer.mediateur_id], repair=False).ok


# --- verification --------------------------------------------------------------------------------


def test_verify_reports_and_repairs_a_structures_drift(container: Any, tail: StreamTail) -> None:
    siret = new_siret()
    alice, bob = new_world(container, tail, siret), new_world(container, tail, siret)
    scenario(alice)
    scenario(bob)
    project([alice, bob])
    ids = [alice.mediateur_id, bob.mediateur_id]
    assert verify(container, ids, repair=False).ok
    store, structure = container.stats_store, Owner.structure(siret)
    # a wrong counter in a structure bucket
    bucket, version = store.bucket(structure, f"{YEAR}-02")
    key = sorted(bucket)[0]
    bucket[key].counters["n"] += 5
    store.save_bucket(structure, f"{YEAR}-02", bucket, version)
    # a newcomer missing from the structure's list
    newcomers = store.newcomer_months(structure)
    month, people = sorted(newcomers.items())[0]
    store.set_newcomers(structure, month, dict(sorted(people.items())[1:]))

    report = verify(container, ids, repair=False)

    text = "\n".join(report.lines())
    assert f"structure {siret} mois {YEAR}-02" in text
    assert f"{key} n: attendu" in text
    assert f"structure {siret} mois {month}" in text
    assert "nouveaux " in text
    assert "1 structure(s)" in text
    for name in ("Ana", "Personne"):
        assert name not in text  # ids and counters only

    repaired = verify(container, ids, repair=True)

    assert repaired.drifts and not repaired.unrepaired
    assert verify(container, ids, repair=False).ok
    assert_structure(container, siret, [alice, bob])


def test_a_move_that_stopped_midway_is_finished_by_the_daily_verification(
    container: Any, tail: StreamTail
) -> None:
    from chalicelib.store.accounts import DynamoAccountStore

    before, after = new_siret(), new_siret()
    mover = new_world(container, tail, before)
    scenario(mover)
    project([mover])
    # The sign-in saved the new SIRET and moved the membership, then its Lambda timed out:
    # the structures' buckets and newcomers were not recomputed.
    assert mover.identity is not None
    container.stats_store.touch([mover.mediateur_id], container.calendar.today())
    container.stats_store.set_structure(mover.mediateur_id, before, after)
    profile = replace(mover.profile.mediateur, siret=after)
    DynamoAccountStore(container.db).save_sign_in(profile)  # the profile, under the service
    mover.profile = container.accounts.account(mover.mediateur_id).profile
    assert not verify(container, [mover.mediateur_id], repair=False).ok

    summary = daily_verification({})

    assert summary["ecarts"] >= 1 and summary["non_repares"] == 0
    assert summary["structures"] >= 2
    assert_structure(container, after, [mover])
    assert_structure(container, before, [])


# --- a structure too big for one item -----------------------------------------------------------


def test_a_structure_whose_people_do_not_fit_one_item_keeps_them_in_parts(
    container: Any, tail: StreamTail, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import stats as stats_store
    from chalicelib.store.stats import BucketItem

    monkeypatch.setattr(stats_store, "PART_CHARS", 60)  # two ids per item
    siret = new_siret()
    alice, bob = new_world(container, tail, siret), new_world(container, tail, siret)
    for world in (alice, bob):
        for person in world.people:
            world.create(individuel(world, 1, beneficiaire_id=person))
    project([alice, bob])

    def parts() -> list[str]:
        keys = BucketItem.query("STR#" + siret, BucketItem.sk.startswith(f"M#{YEAR}-01#"))
        return sorted(item.sk for item in keys)

    assert parts() == [f"M#{YEAR}-01#{n}" for n in (1, 2, 3)]  # six people, two per part
    assert_structure(container, siret, [alice, bob])
    assert container.stats_store.months_with_buckets(Owner.structure(siret)) == [f"{YEAR}-01"]

    for activity_id in sorted(bob.activities)[1:]:
        bob.delete(activity_id)
    project([alice, bob])

    assert parts() == [f"M#{YEAR}-01#1", f"M#{YEAR}-01#2"]  # the third is gone
    assert_structure(container, siret, [alice, bob])
    assert verify(container, [alice.mediateur_id, bob.mediateur_id], repair=False).ok

    for activity_id in sorted(alice.activities)[1:]:
        alice.delete(activity_id)
    project([alice, bob])

    assert parts() == []  # two people fit in the bucket itself again
    assert_structure(container, siret, [alice, bob])
