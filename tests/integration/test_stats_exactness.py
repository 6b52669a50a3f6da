"""Statistics are exact under the platform's real behaviour (SPEC §5, ARCHITECTURE §4).

Activities are written through the real service and store (moto); the REAL records of the moto
stream are then decoded (`store/stream.py`) and handed to `Projector.handle` the way Lambda's
event source mapping may hand them: twice, in batches of any size, a batch retried whole after a
crash or from its failed record after a partial failure, records of different activities
interleaved in any order (several shards), a recomputation that read the activities just before
a write and saves just after it. At the end, every month's stored bucket equals `bucket_of(the
month's activities)` and the service's figures equal figures computed straight from the
activities.

Each hypothesis example works with a fresh mediator (fresh partition, fresh buckets) and reads
only that mediator's stream records. `STATS_PROPERTY_EXAMPLES` sets the number of examples
(default sized for CI; run thousands locally). The helpers shared with the other statistics
tests are in tests/support/stats.py.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from chalicelib.domain.activites import (
    Activite,
    ActiviteInput,
    Anonyme,
    Filtres,
    ParticipantsAnonymes,
)
from chalicelib.domain.dates import month_of
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.stats.aggregation import Bucket, Selection
from chalicelib.stats.ports import Owner
from chalicelib.stats.projector import Projector
from tests.conftest import Stack
from tests.support.stats import (
    YEAR,
    Delivery,
    FlakyStatsStore,
    StreamTail,
    Throttled,
    World,
    deliver,
    flaky_projector,
    handle,
    individuel,
    item_of,
    new_siret,
    new_world,
    sequence_of,
)

EXAMPLES = int(os.environ.get("STATS_PROPERTY_EXAMPLES", "12"))
MONTHS = (1, 2, 3, 4)
COMMUNES = ("69383", "13055")
THEMES = ("email", "sante", "bureautique")
Draw = Callable[..., Any]  # hypothesis' `draw`


@pytest.fixture(scope="module")
def tail(aws: Stack) -> StreamTail:
    return StreamTail(aws)


class RacingReader:
    """Reads a month's activities, then lets `hook(month)` run (another write, maybe its own
    recomputation) before the caller goes on to save what it read: a stale computation."""

    def __init__(self, real: Any, hook: Callable[[str], None]) -> None:
        self.real, self.hook = real, hook
        self.raced = False

    def between(
        self, mediateur_id: str, filtres: Filtres, consistent: bool = False
    ) -> Iterator[Activite]:
        found: list[Activite] = list(self.real.between(mediateur_id, filtres, consistent))
        if not self.raced:
            self.raced = True
            assert filtres.du is not None
            self.hook(month_of(filtres.du))
        return iter(found)


@pytest.fixture
def container(app_setup: Any) -> Any:
    return bootstrap.get()


# --- generated activities -----------------------------------------------------------------------------------


@st.composite
def activity_inputs(draw: Draw, world: World, type_: str | None = None) -> ActiviteInput:
    type_ = type_ or draw(st.sampled_from(("individuel", "demarche", "collectif")))
    canal = draw(st.sampled_from(("lieu_activite", "domicile", "autre", "a_distance")))
    fields: dict[str, Any] = {
        "date": date(YEAR, draw(st.sampled_from(MONTHS)), draw(st.integers(1, 28))),
        "duree": draw(st.sampled_from((15, 30, 45, 60, 90, 120, 200))),
        "canal": canal,
        "lieu_id": draw(st.sampled_from(world.lieux)) if canal == "lieu_activite" else None,
        "commune_insee": draw(st.sampled_from(COMMUNES))
        if canal in ("domicile", "autre")
        else None,
        "materiel": tuple(
            draw(st.lists(st.sampled_from(("ordinateur", "telephone")), unique=True))
        ),
    }
    if type_ != "demarche" or draw(st.booleans()):
        fields["thematiques"] = tuple(
            draw(st.lists(st.sampled_from(THEMES), min_size=1, max_size=2, unique=True))
        )
    if type_ == "collectif":
        suivis = draw(st.lists(st.sampled_from(world.people), max_size=2, unique=True))
        total = draw(st.integers(0 if suivis else 1, 6))
        fields["participants_ids"] = tuple(suivis)
        fields["participants_anonymes"] = ParticipantsAnonymes(
            total=total,
            deja_accompagnes=draw(st.integers(0, total)),
            genres={"feminin": draw(st.integers(0, total))},
        )
        return ActiviteInput(type=type_, **fields)
    person = draw(st.none() | st.sampled_from(world.people))
    fields["beneficiaire_id"] = person
    if person is None and draw(st.booleans()):
        fields["anonyme"] = Anonyme(
            deja_accompagne=draw(st.none() | st.booleans()),
            genre=draw(st.none() | st.sampled_from(("feminin", "masculin"))),
            commune_insee=draw(st.none() | st.sampled_from(COMMUNES)),
        )
    fields["autonomie"] = draw(st.none() | st.sampled_from(("autonome", "partiellement_autonome")))
    if draw(st.booleans()):
        fields["oriente"] = True
        fields["structure_redirection"] = draw(st.sampled_from(("aide_sociale", "administration")))
    if type_ == "demarche":
        fields["thematiques_demarche"] = tuple(
            draw(st.lists(st.sampled_from(("logement", "justice")), min_size=1, unique=True))
        )
    return ActiviteInput(type=type_, **fields)


def moved(data: ActiviteInput, month: int) -> ActiviteInput:
    assert data.date is not None
    return replace(data, date=data.date.replace(month=month))


OPERATIONS = (
    "create",
    "create",
    "edit",
    "edit",
    "retype",
    "delete",
    "devices",
    "deliver",
    "race",
    "race",
)


def perform(world: World, draw: Draw, rnd: random.Random, operation: str) -> None:
    """One step of the scenario; `deliver` and `race` run the projector between writes."""
    ids = sorted(world.activities)
    if operation != "create" and not ids:
        operation = "create"
    if operation == "create":
        world.create(draw(activity_inputs(world)))
    elif operation == "edit":
        target = draw(st.sampled_from(ids))
        world.edit(target, draw(activity_inputs(world, world.activities[target].type)))
    elif operation == "retype":
        target = draw(st.sampled_from(ids))
        others = [
            t for t in ("individuel", "demarche", "collectif") if t != world.activities[target].type
        ]
        world.retype(target, draw(activity_inputs(world, draw(st.sampled_from(others)))))
    elif operation == "delete":
        world.delete(draw(st.sampled_from(ids)))
    elif operation == "devices":
        two_devices(world, draw(st.sampled_from(ids)), draw, rnd)
    elif operation == "deliver":
        world.collect()
        take = draw(st.integers(0, len(world.pending)))
        batch, world.pending = world.pending[:take], world.pending[take:]
        chaotic(world, rnd).run(batch)
    else:
        race(world, draw, rnd)


def two_devices(world: World, target: str, draw: Draw, rnd: random.Random) -> None:
    """Both devices opened version v; the first save wins, the second is refused."""
    opened = world.activities[target]
    first = draw(activity_inputs(world, opened.type))
    second = draw(activity_inputs(world, opened.type))
    if draw(st.booleans()):
        world.edit(target, first)
    else:
        world.delete(target)
    with pytest.raises((Conflict, NotFound)):
        world.container.activities.modify(world.profile, target, second, opened.version)


def race(world: World, draw: Draw, rnd: random.Random) -> None:
    """The pending records are being delivered; the first month recomputed was read, then a
    write lands in that month (and maybe its records are delivered and projected at once),
    then the delivery saves what it read. A stale save must never stay: either it is refused
    (the bucket changed since it was read) or a record still to come recomputes the month."""
    target = draw(st.none() | st.sampled_from(sorted(world.activities)))
    data = draw(activity_inputs(world, world.activities[target].type if target else None))
    inside = draw(st.booleans())

    def concurrent_write(month: str) -> None:
        there = moved(data, int(month[5:]))
        if target is None:
            world.create(there)
        else:
            world.edit(target, there)
        if inside:  # delivered now, so never again: nothing later repairs a stale save
            new = world.collect()
            world.pending = world.pending[: len(world.pending) - len(new)]
            chaotic(world, rnd).run(new)

    world.collect()
    world.create(draw(activity_inputs(world)))  # its month is stale until its record is read
    fresh = world.collect()
    batch, world.pending = fresh + world.pending[: len(world.pending) - len(fresh)], []
    c = world.container
    reader = RacingReader(c.activity_store, concurrent_write)
    projector = Projector(c.stats_store, reader, c.calendar)
    assert handle(projector, batch) == []


def chaotic(world: World, rnd: random.Random) -> Delivery:
    c = world.container
    flaky = FlakyStatsStore(c.stats_store, rnd, p=0.2, crash=0.1, budget=6)
    return Delivery(flaky_projector(c, flaky), rnd)


def selections_for(world: World, draw: Draw) -> list[Selection]:
    return [
        Selection(),
        Selection(
            draw(st.none() | st.sampled_from(("individuel", "demarche", "collectif"))),
            draw(st.none() | st.sampled_from(("lieu_activite", "domicile", "a_distance"))),
            draw(st.none() | st.sampled_from(world.lieux)),
        ),
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_whatever_the_delivery_the_statistics_equal_a_recomputation(
    container: Any, tail: StreamTail, data: st.DataObject
) -> None:
    world = new_world(container, tail, new_siret())
    rnd = data.draw(st.randoms(use_true_random=False))
    steps = data.draw(st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=10))
    for operation in steps:
        perform(world, data.draw, rnd, operation)

    world.collect()
    rnd.shuffle(world.pending)  # beyond Lambda: even one activity's records out of order
    chaotic(world, rnd).run(world.pending + rnd.sample(world.pending, len(world.pending) // 3))

    world.assert_exact(selections_for(world, data.draw))


# --- the same, case by case -------------------------------------------------------------------------------------


@pytest.fixture
def world(container: Any, tail: StreamTail) -> World:
    return new_world(container, tail)


def test_given_a_record_delivered_twice_then_counted_once_and_the_content_is_not_rewritten(
    world: World,
) -> None:
    world.create(individuel(world, 1, beneficiaire_id=world.people[0]))
    records = world.collect()

    assert deliver(world, records) == []
    content, version = world.container.stats_store.bucket(world.owner, f"{YEAR}-01")
    assert deliver(world, records) == []
    assert deliver(world, records + records) == []  # one recomputation per month and batch

    after, new_version = world.container.stats_store.bucket(world.owner, f"{YEAR}-01")
    assert after == content
    assert new_version == version + 2  # confirmed (version bumped), content left as it was
    world.assert_exact([Selection()])


def test_given_a_batch_that_crashed_when_retried_whole_then_exact(
    world: World, container: Any
) -> None:
    world.create(individuel(world, 1))
    world.create(individuel(world, 2))
    records = world.collect()
    crashing = FlakyStatsStore(container.stats_store, random.Random(0), p=0, crash=1, budget=1)
    projector = flaky_projector(container, crashing)

    with pytest.raises(Throttled):
        handle(projector, records)  # buckets written, then the invocation fails: all comes back
    assert handle(projector, records) == []

    world.assert_exact([Selection()])


def test_given_a_partial_failure_when_lambda_retries_from_the_failed_record_then_exact(
    world: World, container: Any
) -> None:
    world.create(individuel(world, 1))
    world.create(individuel(world, 2))
    world.create(individuel(world, 3))
    records = world.collect()

    class FailsFebruaryOnce(FlakyStatsStore):
        def save_bucket(self, owner: Owner, month: str, bucket: Bucket, expected: int) -> None:
            if not owner.is_structure and month.endswith("-02") and self.budget:
                self.budget -= 1
                raise Throttled(month)
            self.real.save_bucket(owner, month, bucket, expected)

    flaky = FailsFebruaryOnce(container.stats_store, random.Random(0), 0, 0, budget=1)
    projector = flaky_projector(container, flaky)

    failed = handle(projector, records)

    assert failed == [sequence_of(records[1])]  # January done; retry from February's record
    assert handle(projector, records[1:]) == []
    world.assert_exact([Selection()])


def test_given_an_activity_moved_from_january_to_march_then_both_buckets_are_right(
    world: World,
) -> None:
    moving = world.create(individuel(world, 1, beneficiaire_id=world.people[0]))
    world.create(individuel(world, 1, day=20))
    assert deliver(world, world.collect()) == []

    world.edit(moving.id, individuel(world, 3, beneficiaire_id=world.people[0]))
    [modify] = world.collect()
    assert deliver(world, [modify]) == []

    stored = world.container.stats_store.buckets(world.owner, [f"{YEAR}-01", f"{YEAR}-03"])
    assert sum(c.counters["n"] for c in stored[f"{YEAR}-01"][0].values()) == 1
    assert sum(c.counters["n"] for c in stored[f"{YEAR}-03"][0].values()) == 1
    world.assert_exact([Selection()])


def test_given_an_edit_changing_lieu_canal_and_type_then_the_combinations_follow(
    world: World,
) -> None:
    a = world.create(individuel(world, 2))
    world.edit(a.id, individuel(world, 2, lieu_id=world.lieux[1]))
    world.edit(a.id, individuel(world, 2, canal="domicile", lieu_id=None, commune_insee="13055"))
    data = individuel(world, 2, canal="a_distance", lieu_id=None)
    world.retype(a.id, replace(data, type="demarche", thematiques_demarche=("logement",)))
    records = world.collect()

    for record in reversed(records):  # newest first: every recomputation reads the final state
        assert deliver(world, [record]) == []

    [(key, _)] = world.container.stats_store.bucket(world.owner, f"{YEAR}-02")[0].items()
    assert key == "demarche|a_distance|"
    world.assert_exact([Selection(), Selection(lieu=world.lieux[0]), Selection(type="individuel")])


def test_given_a_deleted_activity_then_it_leaves_the_statistics(world: World) -> None:
    kept = world.create(individuel(world, 4))
    gone = world.create(individuel(world, 4, beneficiaire_id=world.people[1]))
    assert deliver(world, world.collect()) == []

    world.delete(gone.id)
    assert deliver(world, world.collect()) == []

    assert world.activities == {kept.id: kept}
    world.assert_exact([Selection()])


@pytest.mark.parametrize("order", ["as_written", "reversed", "delete_first"])
def test_given_two_devices_editing_one_activity_then_one_is_refused_and_any_order_is_exact(
    world: World, order: str
) -> None:
    opened = world.create(individuel(world, 1))
    insert = world.collect()
    other = world.create(individuel(world, 1, day=2))

    world.edit(opened.id, individuel(world, 3))  # the phone saves first
    with pytest.raises(Conflict):  # the laptop still had version 1
        world.container.activities.modify(
            world.profile, opened.id, individuel(world, 2), opened.version
        )
    world.delete(other.id)
    records = insert + world.collect()
    ordered = {
        "as_written": records,
        "reversed": records[::-1],
        "delete_first": records[-1:] + records[:-1],
    }[order]

    for record in ordered:
        assert deliver(world, [record]) == []

    world.assert_exact([Selection()])


def test_given_a_recomputation_that_read_before_a_write_and_saves_after_then_it_is_refused(
    world: World, container: Any
) -> None:
    world.create(individuel(world, 1))
    first = world.collect()

    def meanwhile(month: str) -> None:  # another device writes, its Lambda runs at once
        world.create(individuel(world, 1, day=25))
        assert deliver(world, world.collect()) == []

    reader = RacingReader(container.activity_store, meanwhile)
    slow = Projector(container.stats_store, reader, container.calendar)

    assert handle(slow, first) == []  # its stale save was refused; it read again

    world.assert_exact([Selection()])
    assert (
        sum(
            c.counters["n"]
            for c in world.container.stats_store.bucket(world.owner, f"{YEAR}-01")[0].values()
        )
        == 2
    )


def test_given_records_of_several_activities_interleaved_across_shards_then_exact(
    world: World,
) -> None:
    a = world.create(individuel(world, 1))
    b = world.create(individuel(world, 2, beneficiaire_id=world.people[2]))
    world.edit(a.id, individuel(world, 2, day=3))
    world.edit(b.id, individuel(world, 4, beneficiaire_id=world.people[2]))
    records = world.collect()
    shard_a = [r for r in records if item_of(r) == "ACT#" + a.id]
    shard_b = [r for r in records if item_of(r) == "ACT#" + b.id]

    # b's shard runs ahead of a's: b's edit is projected before a's creation
    for batch in (shard_b[1:], shard_a[:1], shard_b[:1], shard_a[1:]):
        assert deliver(world, batch) == []

    world.assert_exact([Selection()])


def test_through_the_lambda_handler_the_batch_item_failures_are_empty(
    world: World, app_setup: Any
) -> None:
    from chalice.test import Client

    world.create(individuel(world, 1))
    world.create(individuel(world, 2))
    with Client(app_setup, stage_name="local") as client:
        answer = client.lambda_.invoke("statistiques", {"Records": world.collect()}).payload

    assert answer == {"batchItemFailures": []}
    world.assert_exact([Selection()])
