"""Statistics are exact under the platform's real behaviour (SPEC §5, ARCHITECTURE §4).

Activities are written through the real service and store (moto); the REAL records of the moto
stream are then handed to `Projector.handle` the way Lambda's event source mapping may hand them:
twice, in batches of any size, a batch retried whole after a crash or from its failed record
after a partial failure, records of different activities interleaved in any order (several
shards), a recomputation that read the activities just before a write and saves just after it.
At the end, every month's stored bucket equals `bucket_of(the month's activities)` and the
service's figures equal figures computed straight from the activities.

Each hypothesis example works with a fresh mediator (fresh partition, fresh buckets) and reads
only that mediator's stream records. `STATS_PROPERTY_EXAMPLES` sets the number of examples
(default sized for CI; run thousands locally).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import boto3
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
from chalicelib.domain.beneficiaires import BeneficiaireInput
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.mediateurs import Identity, LieuInput, Profile
from chalicelib.stats.aggregation import (
    Bucket,
    Labels,
    Selection,
    bucket_of,
    bucket_to_map,
    figures,
    month_of,
    structure_bucket,
    total,
)
from chalicelib.stats.projector import Projector
from chalicelib.stats.service import Periode, months_between
from chalicelib.store.stats import MonthReader
from infra.local.pump import stream_event_record
from tests.conftest import Stack

REGION = "eu-west-3"
EXAMPLES = int(os.environ.get("STATS_PROPERTY_EXAMPLES", "12"))
YEAR = 2024
MONTHS = (1, 2, 3, 4)
COMMUNES = ("69383", "13055")
THEMES = ("email", "sante", "bureautique")
Record = Mapping[str, Any]  # one stream record, as Lambda hands it over
Draw = Callable[..., Any]  # hypothesis' `draw`


# --- the stream --------------------------------------------------------------------------------------


class StreamTail:
    """The activities table's stream as Lambda delivers it (event-shaped records): each call
    returns one mediator's records not returned before."""

    def __init__(self, aws: Stack) -> None:
        dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name=REGION)
        self._streams = boto3.client(
            "dynamodbstreams", endpoint_url=aws.endpoint, region_name=REGION
        )
        table = dynamodb.describe_table(TableName=aws.names.table("activities"))["Table"]
        self.arn = table["LatestStreamArn"]
        self._iterators: dict[str, str] = {}
        self._unclaimed: dict[str, list[Record]] = {}  # by partition, until asked for

    def _new_records(self) -> Iterator[dict[str, Any]]:
        shards = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator: str | None = (
                self._iterators.get(shard_id)
                or self._streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            while iterator:
                page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page.get("NextShardIterator")
                if iterator:
                    self._iterators[shard_id] = iterator
                yield from page.get("Records", [])
                if not page.get("Records"):
                    break

    def records(self, mediateur_id: str) -> list[Record]:
        for record in self._new_records():
            event = stream_event_record(record, self.arn, REGION)
            self._unclaimed.setdefault(pk_of(event), []).append(event)
        return self._unclaimed.pop("MED#" + mediateur_id, [])


def pk_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["pk"]["S"])


def item_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["sk"]["S"])


def sequence_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@pytest.fixture(scope="module")
def tail(aws: Stack) -> StreamTail:
    return StreamTail(aws)


# --- a store that fails like DynamoDB under load ------------------------------------------------------


class Throttled(Exception):
    """What a throttled or timed-out DynamoDB write looks like to the projector."""


class FlakyStatsStore:
    """The real stats store; `save_bucket` fails while `budget` lasts, each time with
    probability `p` (a bucket may fail on its first attempt and succeed on the retry), and
    `touch` raises (the whole batch is then retried) with probability `crash`."""

    def __init__(self, real: Any, rnd: random.Random, p: float, crash: float, budget: int) -> None:
        self.real, self.rnd, self.p, self.crash, self.budget = real, rnd, p, crash, budget
        self.failures = 0

    def _fails(self, p: float) -> bool:
        if self.budget > 0 and self.rnd.random() < p:
            self.budget -= 1
            self.failures += 1
            return True
        return False

    def bucket(self, mediateur_id: str, month: str) -> tuple[Bucket, int]:
        found: tuple[Bucket, int] = self.real.bucket(mediateur_id, month)
        return found

    def save_bucket(self, mediateur_id: str, month: str, bucket: Bucket, expected: int) -> None:
        if self._fails(self.p):
            raise Throttled(month)
        self.real.save_bucket(mediateur_id, month, bucket, expected)

    def confirm_bucket(self, mediateur_id: str, month: str, expected: int) -> None:
        if self._fails(self.p):
            raise Throttled(month)
        self.real.confirm_bucket(mediateur_id, month, expected)

    def touch(self, mediateur_ids: Any, day: date) -> None:
        if self._fails(self.crash):
            raise Throttled("touch")
        self.real.touch(mediateur_ids, day)

    def save_structure_bucket(self, siret: str, month: str, bucket: Bucket, expected: int) -> None:
        if self._fails(self.p):
            raise Throttled(month)
        self.real.save_structure_bucket(siret, month, bucket, expected)

    def confirm_structure_bucket(self, siret: str, month: str, expected: int) -> None:
        if self._fails(self.p):
            raise Throttled(month)
        self.real.confirm_structure_bucket(siret, month, expected)

    def __getattr__(self, name: str) -> Any:  # the reads, as they are
        return getattr(self.real, name)


class RacingReader:
    """Reads a month's activities, then lets `hook(month)` run (another write, maybe its own
    recomputation) before the caller goes on to save what it read: a stale computation."""

    def __init__(self, real: Any, hook: Callable[[str], None]) -> None:
        self.real, self.hook = real, hook
        self.raced = False

    def activities(self, mediateur_id: str, du: date, au: date) -> list[Activite]:
        found: list[Activite] = self.real.activities(mediateur_id, du, au)
        if not self.raced:
            self.raced = True
            self.hook(month_of(du))
        return found


# --- Lambda's delivery ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    """Delivers records like Lambda: shards, batches, retries, duplicates."""

    projector: Projector
    rnd: random.Random
    shards: int = 3
    max_batch: int = 4
    duplicates: float = 0.2
    batches: int = 0
    retries: int = 0

    def run(self, records: list[Record]) -> None:
        # The records of one activity stay in order in one shard; shards interleave freely.
        lanes: list[list[Record]] = [[] for _ in range(self.rnd.randint(1, self.shards))]
        lane_of: dict[str, int] = {}
        for record in records:
            lane = lane_of.setdefault(item_of(record), self.rnd.randrange(len(lanes)))
            lanes[lane].append(record)
        done: list[list[Record]] = []
        positions = [0] * len(lanes)
        for _ in range(10_000):
            waiting = [i for i, lane in enumerate(lanes) if positions[i] < len(lane)]
            if not waiting:
                return
            i = self.rnd.choice(waiting)
            batch = lanes[i][positions[i] : positions[i] + self.rnd.randint(1, self.max_batch)]
            positions[i] += self._invoke(batch)
            if positions[i] and self.rnd.random() < self.duplicates:
                done.append(batch)
                self._invoke(self.rnd.choice(done))  # at-least-once: a batch delivered again
        raise AssertionError("the delivery never finished")

    def _invoke(self, batch: list[Record]) -> int:
        """How many records of the batch are done (Lambda moves past them)."""
        self.batches += 1
        try:
            failed = self.projector.handle(batch)
        except Throttled:
            self.retries += 1
            return 0  # the whole batch comes back
        if not failed:
            return len(batch)
        self.retries += 1
        return [sequence_of(r) for r in batch].index(failed[0])


# --- one mediator's world --------------------------------------------------------------------------------


@dataclass
class World:
    container: Any
    tail: StreamTail
    profile: Profile
    people: list[str]
    identity: Identity | None = None  # to sign in again
    activities: dict[str, Activite] = field(default_factory=dict)  # what should be stored
    pending: list[Record] = field(default_factory=list)  # records not delivered yet

    @property
    def mediateur_id(self) -> str:
        return self.profile.mediateur.id

    @property
    def lieux(self) -> list[str]:
        return [lieu.id for lieu in self.profile.lieux]

    def collect(self) -> list[Record]:
        new = self.tail.records(self.mediateur_id)
        self.pending += new
        return new

    # writes, through the real service

    def create(self, data: ActiviteInput) -> Activite:
        created = self.container.activities.record(self.profile, data).activite
        self.activities[created.id] = created
        return created

    def edit(self, activite_id: str, data: ActiviteInput) -> Activite:
        current = self.activities[activite_id]
        updated = self.container.activities.modify(self.profile, activite_id, data, current.version)
        self.activities[activite_id] = updated
        return updated

    def retype(self, activite_id: str, data: ActiviteInput) -> Activite:
        """The service keeps an activity's type (the form is the type's); the store does not
        care, and neither may the statistics: change it under the service."""
        c = self.container
        current = self.activities[activite_id]
        clean = c.activities.check(self.profile, data, current)
        snapshot = c.activities._instantane(self.profile, clean)
        updated = c._activity_store.update(current, clean, current.version, c.clock(), snapshot)
        c.beneficiaries.refresh_counters(
            self.mediateur_id, [*current.data.beneficiaires_lies(), *clean.beneficiaires_lies()]
        )
        self.activities[activite_id] = updated
        return updated

    def delete(self, activite_id: str) -> None:
        current = self.activities.pop(activite_id)
        self.container.activities.remove(self.mediateur_id, activite_id, current.version)

    # reading what the statistics should say

    def month(self, month: str) -> list[Activite]:
        return [a for a in self.activities.values() if month_of(a.date) == month]

    def stored_bucket(self, month: str) -> dict[str, Any]:
        bucket, _ = self.container._stats_store.bucket(self.mediateur_id, month)
        return bucket_to_map(bucket)

    def direct_figures(self, periode: Periode, selection: Selection) -> dict[str, Any]:
        """SPEC §5 straight from the activities (no bucket, no newcomers item)."""
        return direct_figures([self], periode, selection)

    def assert_structure_exact(self, months: list[str]) -> None:
        """The mediator's structure (alone in it) holds the same, lieux aside, and the same
        newcomers."""
        siret = self.profile.mediateur.siret
        if not siret:
            return
        store = self.container._stats_store
        kept = store.structure_buckets(siret, months)
        for month in months:
            got = bucket_to_map(kept[month][0]) if month in kept else {}
            assert got == bucket_to_map(structure_bucket([bucket_of(self.month(month))])), month
        assert store.structure_newcomers(siret, months) == store.newcomers(
            self.mediateur_id, months
        )

    def assert_exact(self, selections: list[Selection]) -> None:
        stored = list(
            self.container._activity_store.between(self.mediateur_id, Filtres(), consistent=True)
        )
        assert {a.id: a.version for a in stored} == {
            a.id: a.version for a in self.activities.values()
        }
        months = [f"{YEAR}-{number:02d}" for number in range(1, 13)]
        buckets = self.container._stats_store.buckets(self.mediateur_id, months)
        for month in months:
            kept = bucket_to_map(buckets[month][0]) if month in buckets else {}
            assert kept == bucket_to_map(bucket_of(self.month(month))), month
        self.assert_structure_exact(months)
        periodes = [
            Periode(date(YEAR, 1, 1), date(YEAR, 12, 31)),  # whole months: the buckets
            Periode(date(YEAR, 1, 15), date(YEAR, 3, 10)),  # edges: computed from activities
            Periode(date(YEAR, 2, 1), date(YEAR, 2, 29)),
        ]
        statistics = self.container.statistics
        for periode in periodes:
            for s in selections:
                got = statistics.figures(self.profile, periode, s.type, s.canal, s.lieu)
                assert got == self.direct_figures(periode, s), (periode, s)


def direct_figures(
    worlds: list[World],
    periode: Periode,
    selection: Selection,
    combine: Callable[[Bucket], Bucket] = lambda bucket: bucket,
) -> dict[str, Any]:
    """SPEC §5 straight from these mediators' activities, each month's bucket `combine`d (a
    structure's drops the lieu from its keys)."""
    du, au = periode.du, periode.au
    everything = [a for w in worlds for a in w.activities.values()]
    inside = [a for a in everything if du <= a.date <= au]
    by_month = {
        m: combine(bucket_of(a for a in inside if month_of(a.date) == m))
        for m in months_between(du, au)
    }
    combo = total(by_month.values(), selection)
    par_mois = [(m, total([b], selection).counters.get("n", 0)) for m, b in by_month.items()]
    first: dict[str, date] = {}
    for a in everything:
        for person in a.data.beneficiaires_lies():
            first[person] = min(first.get(person, a.date), a.date)
    nouveaux = sum(1 for p in combo.suivis if du <= first[p] <= au)
    lieux = {lieu.id: lieu.nom for w in worlds for lieu in w.profile.lieux}
    index = worlds[0].container.communes()

    def commune(insee: str) -> str:
        found = index.get(insee)
        return str(found.libelle) if found else insee

    labels = Labels(lieu=lambda i: lieux.get(i, "Lieu supprimé"), commune=commune)
    return figures(combo, du, au, par_mois[-12:], nouveaux, labels)


def new_siret() -> str:
    """A structure of its own (not `random`: hypothesis seeds it the same in every example)."""
    return "8" + str(uuid.uuid4().int)[:13]


def new_world(container: Any, tail: StreamTail, siret: str | None = None) -> World:
    """A mediator who just signed in (employed by `siret`), with two lieux and three followed
    people."""
    sub = uuid.uuid4().hex
    identity = Identity(sub, "test", f"stats-{sub[:12]}@example.org", "Camille", "Stats", siret)
    mediateur = container.accounts.sign_in(identity)
    for nom, commune in (("Médiathèque", "69383"), ("Mairie annexe", "75056")):
        container.accounts.add_lieu(mediateur.id, LieuInput(nom, "1 place de la Mairie", commune))
    people = [
        container.beneficiaries.create(
            mediateur.id,
            BeneficiaireInput(
                prenom="Ana",
                nom=f"Personne{i}",
                annee_naissance=1950 + 20 * i,
                genre=genre,
                commune_insee="69383",
            ),
        ).id
        for i, genre in enumerate(("feminin", "masculin", None))
    ]
    account = container.accounts.account(mediateur.id)
    world = World(container, tail, account.profile, people, identity)
    world.collect()  # nothing of this mediator's is in the activities stream yet
    return world


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
    reader = RacingReader(MonthReader(world.container._activity_store), concurrent_write)
    projector = Projector(world.container._stats_store, reader, today=world.container.today)
    assert projector.handle(batch) == []


def chaotic(world: World, rnd: random.Random) -> Delivery:
    c = world.container
    flaky = FlakyStatsStore(c._stats_store, rnd, p=0.2, crash=0.1, budget=6)
    projector = Projector(flaky, MonthReader(c._activity_store), today=c.today)
    return Delivery(projector, rnd)


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


def individuel(world: World, month: int, day: int = 10, **fields: Any) -> ActiviteInput:
    defaults: dict[str, Any] = {
        "date": date(YEAR, month, day),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": world.lieux[0],
        "thematiques": ("email",),
    }
    return ActiviteInput(type="individuel", **{**defaults, **fields})


def deliver(world: World, records: list[Record]) -> list[str]:
    """One Lambda invocation with the real store."""
    c = world.container
    return Projector(c._stats_store, MonthReader(c._activity_store), today=c.today).handle(records)


@pytest.fixture
def world(container: Any, tail: StreamTail) -> World:
    return new_world(container, tail)


def test_given_a_record_delivered_twice_then_counted_once_and_the_content_is_not_rewritten(
    world: World,
) -> None:
    world.create(individuel(world, 1, beneficiaire_id=world.people[0]))
    records = world.collect()

    assert deliver(world, records) == []
    content, version = world.container._stats_store.bucket(world.mediateur_id, f"{YEAR}-01")
    assert deliver(world, records) == []
    assert deliver(world, records + records) == []  # one recomputation per month and batch

    after, new_version = world.container._stats_store.bucket(world.mediateur_id, f"{YEAR}-01")
    assert after == content
    assert new_version == version + 2  # confirmed (version bumped), content left as it was
    world.assert_exact([Selection()])


def test_given_a_batch_that_crashed_when_retried_whole_then_exact(
    world: World, container: Any
) -> None:
    world.create(individuel(world, 1))
    world.create(individuel(world, 2))
    records = world.collect()
    crashing = FlakyStatsStore(container._stats_store, random.Random(0), p=0, crash=1, budget=1)
    projector = Projector(crashing, MonthReader(container._activity_store), today=container.today)

    with pytest.raises(Throttled):
        projector.handle(records)  # buckets written, then the invocation fails: all comes back
    assert projector.handle(records) == []

    world.assert_exact([Selection()])


def test_given_a_partial_failure_when_lambda_retries_from_the_failed_record_then_exact(
    world: World, container: Any
) -> None:
    world.create(individuel(world, 1))
    world.create(individuel(world, 2))
    world.create(individuel(world, 3))
    records = world.collect()

    class FailsFebruaryOnce(FlakyStatsStore):
        def save_bucket(self, mediateur_id: str, month: str, bucket: Bucket, expected: int) -> None:
            if month.endswith("-02") and self.budget:
                self.budget -= 1
                raise Throttled(month)
            self.real.save_bucket(mediateur_id, month, bucket, expected)

    flaky = FailsFebruaryOnce(container._stats_store, random.Random(0), 0, 0, budget=1)
    projector = Projector(flaky, MonthReader(container._activity_store), today=container.today)

    failed = projector.handle(records)

    assert failed == [sequence_of(records[1])]  # January done; retry from February's record
    assert projector.handle(records[1:]) == []
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

    stored = world.container._stats_store.buckets(world.mediateur_id, [f"{YEAR}-01", f"{YEAR}-03"])
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

    [(key, _)] = world.container._stats_store.bucket(world.mediateur_id, f"{YEAR}-02")[0].items()
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

    reader = RacingReader(MonthReader(container._activity_store), meanwhile)
    slow = Projector(container._stats_store, reader, today=container.today)

    assert slow.handle(first) == []  # its stale save was refused; it read again

    world.assert_exact([Selection()])
    assert (
        sum(
            c.counters["n"]
            for c in world.container._stats_store.bucket(world.mediateur_id, f"{YEAR}-01")[
                0
            ].values()
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
