"""Helpers of the statistics tests on moto (integration and web): the activities stream as
Lambda delivers it, a stats store failing like DynamoDB under load, Lambda's chaotic delivery,
and one mediator's world (activities written through the real service, what the statistics
should say computed straight from them).

Used by tests/integration/test_stats_exactness.py, test_stats_verify.py,
test_structure_stats.py and tests/web/test_structure.py.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import boto3

from chalicelib.domain.activites import Activite, ActiviteInput, Filtres
from chalicelib.domain.beneficiaires import BeneficiaireInput
from chalicelib.domain.dates import Periode, month_of, months_between
from chalicelib.domain.mediateurs import Identity, LieuInput, Profile
from chalicelib.stats.aggregation import (
    Bucket,
    Labels,
    Selection,
    bucket_of,
    bucket_to_map,
    figures,
    structure_bucket,
    total,
)
from chalicelib.stats.ports import Owner
from chalicelib.stats.projector import Projector
from chalicelib.store.stream import changes_of
from infra.local.pump import stream_event_record
from tests.conftest import Stack

REGION = "eu-west-3"
YEAR = 2024
Record = Mapping[str, Any]  # one stream record, as Lambda hands it over


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


def handle(projector: Projector, records: Iterable[Record]) -> list[str]:
    """One Lambda invocation of the statistics handler: the records decoded, then projected."""
    return projector.handle(changes_of(records))


# --- a store that fails like DynamoDB under load ------------------------------------------------------


class Throttled(Exception):
    """What a throttled or timed-out DynamoDB write looks like to the projector."""


class FlakyStatsStore:
    """The real stats store; `save_bucket` and `confirm_bucket` (a mediator's or a structure's)
    fail while `budget` lasts, each time with probability `p` (a bucket may fail on its first
    attempt and succeed on the retry), and `touch` raises (the whole batch is then retried) with
    probability `crash`."""

    def __init__(self, real: Any, rnd: random.Random, p: float, crash: float, budget: int) -> None:
        self.real, self.rnd, self.p, self.crash, self.budget = real, rnd, p, crash, budget
        self.failures = 0

    def _fails(self, p: float) -> bool:
        if self.budget > 0 and self.rnd.random() < p:
            self.budget -= 1
            self.failures += 1
            return True
        return False

    def bucket(self, owner: Owner, month: str) -> tuple[Bucket, int]:
        found: tuple[Bucket, int] = self.real.bucket(owner, month)
        return found

    def save_bucket(self, owner: Owner, month: str, bucket: Bucket, expected: int) -> None:
        if self._fails(self.p):
            raise Throttled(month)
        self.real.save_bucket(owner, month, bucket, expected)

    def confirm_bucket(self, owner: Owner, month: str, expected: int) -> None:
        if self._fails(self.p):
            raise Throttled(month)
        self.real.confirm_bucket(owner, month, expected)

    def touch(self, mediateur_ids: Any, day: date) -> None:
        if self._fails(self.crash):
            raise Throttled("touch")
        self.real.touch(mediateur_ids, day)

    def __getattr__(self, name: str) -> Any:  # the reads, as they are
        return getattr(self.real, name)


def flaky_projector(container: Any, store: FlakyStatsStore) -> Projector:
    """The container's projector, over a flaky stats store."""
    return Projector(store, container.activity_store, container.calendar)


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
            failed = handle(self.projector, batch)
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
    def owner(self) -> Owner:
        return Owner.mediateur(self.mediateur_id)

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
        updated = c.activity_store.update(
            current, clean, current.version, c.calendar.now(), snapshot
        )
        c.nouveaux.links_changed(
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
        bucket, _ = self.container.stats_store.bucket(self.owner, month)
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
        store = self.container.stats_store
        structure = Owner.structure(siret)
        kept = store.buckets(structure, months)
        for month in months:
            got = bucket_to_map(kept[month][0]) if month in kept else {}
            assert got == bucket_to_map(structure_bucket([bucket_of(self.month(month))])), month
        assert store.newcomers(structure, months) == store.newcomers(self.owner, months)

    def assert_exact(self, selections: list[Selection]) -> None:
        stored = list(
            self.container.activity_store.between(self.mediateur_id, Filtres(), consistent=True)
        )
        assert {a.id: a.version for a in stored} == {
            a.id: a.version for a in self.activities.values()
        }
        months = [f"{YEAR}-{number:02d}" for number in range(1, 13)]
        buckets = self.container.stats_store.buckets(self.owner, months)
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
    index = worlds[0].container.communes

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


# --- the same, case by case -------------------------------------------------------------------------------


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
    """One Lambda invocation with the real store (the container's projector)."""
    return handle(world.container.projector, records)
