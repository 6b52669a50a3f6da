"""The stream projector, in memory, over thousands of random histories (SPEC §5, ARCHITECTURE §4).

The integration test `tests/integration/test_stats_exactness.py` drives the same projector with
the *real* records of moto's stream, decoded by `store/stream.py` (a dozen examples in CI: each
costs about 100 AWS calls). Here the table, its stream and the statistics store are in memory
(the ports of `stats/ports.py`; nothing of `chalicelib.store`, so no pynamodb), so hypothesis
can try thousands of histories in seconds: random creates / edits (moving an activity to another
month, lieu, canal or type) / deletes across several mediators, each write turned into the
stream's `Change` (its sequence number, its mediator, the old and the new image's months);
delivered with duplicates, batches of any size, shards interleaved, whole-batch retries after a
crash, retries from the failed record after a partial failure, and writes landing between a
recomputation's read and its save.
Mediators also move between structures (their sign-in's `join`), before and during the
deliveries. At the end every (mediator, month) bucket equals `bucket_of` of that month's
activities, and every (structure, month) bucket the sum of its current members' recomputations.

`PROJECTOR_PROPERTY_EXAMPLES` sets the number of examples (400 in CI, about 25 s; run thousands
locally).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.activites import Activite, ActiviteInput, Filtres, ParticipantsAnonymes
from chalicelib.domain.dates import Calendar, month_bounds, month_of
from chalicelib.stats.aggregation import Bucket, bucket_of, bucket_to_map, structure_bucket
from chalicelib.stats.ports import Change, Owner, StaleBucket
from chalicelib.stats.projector import Projector

EXAMPLES = int(os.environ.get("PROJECTOR_PROPERTY_EXAMPLES", "400"))
NOW = datetime(2025, 6, 1, tzinfo=UTC)
CALENDAR = Calendar(lambda: NOW)
MEDIATORS = ("m1", "m2", "m3")
STRUCTURES = ("S1", "S2")
MONTHS = (1, 2, 3)


@dataclass
class Table:
    """The activities table and its stream, one shard per activity (changes of one item stay in
    order within their shard, as DynamoDB guarantees; shards are independent)."""

    items: dict[tuple[str, str], Activite] = field(default_factory=dict)
    shards: dict[str, list[Change]] = field(default_factory=dict)
    sequence: int = 0

    def write(self, activity: Activite | None, key: tuple[str, str]) -> None:
        """Store (or delete, None) one activity; its stream record names the months of the old
        and the new image (an activity moved to another month changes both)."""
        old = self.items.get(key)
        if activity is None:
            self.items.pop(key, None)
        else:
            self.items[key] = activity
        self.sequence += 1
        months = frozenset(month_of(a.date) for a in (old, activity) if a is not None)
        change = Change(f"{self.sequence:021d}", key[0], months)
        self.shards.setdefault(key[1], []).append(change)

    def activities(self, mediateur_id: str, du: date, au: date) -> list[Activite]:
        return [
            a
            for (m, _), a in sorted(self.items.items())
            if m == mediateur_id and du <= a.date <= au
        ]

    def between(
        self, mediateur_id: str, filtres: Filtres, consistent: bool = False
    ) -> Iterator[Activite]:
        """`stats.ports.ActivitiesReader`: always up to date (strongly consistent)."""
        du, au = filtres.du or date.min, filtres.au or date.max
        return iter(self.activities(mediateur_id, du, au))


@dataclass
class Stats:
    """`stats.ports.StatsStore` in memory: buckets with versions, a mediator's and a structure's
    alike (by `Owner`), failing like DynamoDB under load when asked to; the memberships beside
    them. Newcomers are not modelled (`stats.nouveaux` files them; tests/integration)."""

    rnd: random.Random
    failure_rate: float = 0.0
    meanwhile: Callable[[Owner, str], None] | None = None  # runs between a read and its save
    kept: dict[tuple[Owner, str], tuple[Bucket, int]] = field(default_factory=dict)
    membership: dict[str, str] = field(default_factory=dict)
    formerly: dict[str, set[str]] = field(default_factory=dict)
    noted: set[str] = field(default_factory=set)

    # --- buckets ---

    def bucket(self, owner: Owner, month: str) -> tuple[Bucket, int]:
        return self.kept.get((owner, month), (bucket_of([]), 0))

    def buckets(self, owner: Owner, months: Iterable[str]) -> dict[str, tuple[Bucket, int]]:
        return {m: self.kept[(owner, m)] for m in months if (owner, m) in self.kept}

    def save_bucket(self, owner: Owner, month: str, bucket: Bucket, expected: int) -> None:
        # The projector has read the bucket and the activities (or the members' buckets): a
        # write landing now is the dangerous interleaving (a stale computation must never
        # overwrite a fresher one).
        if self.meanwhile is not None:
            self.meanwhile(owner, month)
        if self.rnd.random() < self.failure_rate:
            raise TimeoutError("throttled")
        _, version = self.bucket(owner, month)
        if version != expected:
            raise StaleBucket
        self.kept[(owner, month)] = (bucket, version + 1)

    def confirm_bucket(self, owner: Owner, month: str, expected: int) -> None:
        bucket, _ = self.bucket(owner, month)
        self.save_bucket(owner, month, bucket, expected)

    def member_buckets(self, mediateur_ids: Iterable[str], month: str) -> dict[str, Bucket]:
        found = {m: self.kept.get((Owner.mediateur(m), month)) for m in mediateur_ids}
        return {m: kept[0] for m, kept in found.items() if kept is not None}

    def months_with_buckets(self, owner: Owner) -> list[str]:
        return sorted(month for o, month in self.kept if o == owner)

    # --- membership ---

    def structure_of(self, mediateur_id: str) -> str | None:
        return self.membership.get(mediateur_id)

    def members(self, siret: str) -> set[str]:
        return {m for m, s in self.membership.items() if s == siret}

    def former_structures(self, mediateur_id: str) -> set[str]:
        return set(self.formerly.get(mediateur_id, ()))

    def set_structure(self, mediateur_id: str, before: str | None, after: str | None) -> None:
        if before:
            self.formerly.setdefault(mediateur_id, set()).add(before)
        if after:
            self.membership[mediateur_id] = after
        else:
            self.membership.pop(mediateur_id, None)

    # --- newcomers (not modelled) ---

    def newcomers(self, owner: Owner, months: Iterable[str]) -> dict[str, date]:
        return {}

    def newcomer_months(self, owner: Owner) -> dict[str, dict[str, str]]:
        return {}

    def set_newcomers(self, owner: Owner, month: str, people: dict[str, str]) -> None:
        pass

    def move_newcomers(self, mediateur_id: str, before: str | None, after: str | None) -> None:
        pass

    # --- who changed ---

    def touch(self, mediateur_ids: Iterable[str], day: date) -> None:
        self.noted.update(mediateur_ids)

    def touched(self, day: date) -> list[str]:
        return sorted(self.noted)


def activity(draw: Any, mediateur_id: str, activity_id: str, version: int) -> Activite:
    type_ = draw(st.sampled_from(("individuel", "demarche", "collectif")))
    canal = draw(st.sampled_from(("lieu_activite", "domicile", "a_distance")))
    fields: dict[str, Any] = {
        "date": date(2025, draw(st.sampled_from(MONTHS)), draw(st.integers(1, 28))),
        "duree": draw(st.sampled_from((15, 45, 90, 200))),
        "canal": canal,
        "lieu_id": draw(st.sampled_from(("L1", "L2"))) if canal == "lieu_activite" else None,
        "commune_insee": "42218" if canal == "domicile" else None,
    }
    if type_ != "demarche":
        fields["thematiques"] = (draw(st.sampled_from(("email", "banque_en_ligne"))),)
    else:
        fields["thematiques_demarche"] = ("logement",)
    if type_ == "collectif":
        fields["participants_anonymes"] = ParticipantsAnonymes(total=draw(st.integers(1, 5)))
    data = ActiviteInput(type=type_, **fields).normalised()
    return Activite(
        id=activity_id,
        mediateur_id=mediateur_id,
        data=data,
        version=version,
        cree_le=NOW,
        modifie_le=NOW,
    )


def random_write(draw: Any, table: Table, counter: list[int]) -> None:
    """Create, edit (possibly moving month / lieu / type) or delete one activity."""
    existing = sorted(table.items)
    choice = draw(st.sampled_from(("create", "edit", "delete"))) if existing else "create"
    if choice == "create":
        counter[0] += 1
        key = (draw(st.sampled_from(MEDIATORS)), f"a{counter[0]:03d}")
        table.write(activity(draw, key[0], key[1], 1), key)
    elif choice == "edit":
        key = draw(st.sampled_from(existing))
        table.write(activity(draw, key[0], key[1], table.items[key].version + 1), key)
    else:
        table.write(None, draw(st.sampled_from(existing)))


@dataclass
class Stream:
    """What the event source mapping has handed out so far, shard by shard. A shard being
    handled by one Lambda (busy) is not handed to another: records of one item stay in order."""

    shards: dict[str, list[Change]]  # the table's, live: writes made meanwhile show up
    done: dict[str, int] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)

    def pending(self) -> list[str]:
        return sorted(
            shard
            for shard, records in self.shards.items()
            if self.done.get(shard, 0) < len(records) and shard not in self.busy
        )


def deliver(projector: Projector, stream: Stream, rnd: random.Random) -> None:
    """Lambda's event source mapping, with its failure modes: each shard's records are read in
    order in batches of random size; a batch may be delivered twice, crash midway and be retried
    whole, or report a failure and be retried from the failed record. Shards interleave."""
    while pending := stream.pending():
        shard = rnd.choice(pending)
        start = stream.done.get(shard, 0)
        batch = stream.shards[shard][start : start + rnd.randint(1, 4)]
        stream.busy.add(shard)
        try:
            stream.done[shard] = start + handled(projector, batch, rnd)
        finally:
            stream.busy.discard(shard)


def handled(projector: Projector, batch: list[Change], rnd: random.Random) -> int:
    """How many records of the batch Lambda considers done after one delivery."""
    if rnd.random() < 0.2:  # delivered once more (at-least-once)
        projector.handle(batch)
    if rnd.random() < 0.15:  # crashed after handling part of it: retried whole later
        projector.handle(batch[: rnd.randint(0, len(batch))])
        return 0
    failures = projector.handle(batch)
    if failures:  # retried from the failed record
        sequences = [change.sequence for change in batch]
        return next(i for i, sequence in enumerate(sequences) if sequence in failures)
    return len(batch)


def move(draw: Any, projector: Projector, stats: Stats) -> None:
    """A mediator signs in with another structure (or none): the sign-in's `join`. It does not
    fail here (in production a failed move is finished by the daily verification, see
    tests/integration/test_structure_stats.py)."""
    rate, stats.failure_rate = stats.failure_rate, 0.0
    try:
        mediateur_id = draw(st.sampled_from(MEDIATORS))
        projector.join(mediateur_id, draw(st.sampled_from((*STRUCTURES, None))))
    finally:
        stats.failure_rate = rate


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
def test_whatever_the_history_and_the_delivery_every_bucket_equals_a_recomputation(
    data: st.DataObject,
) -> None:
    draw = data.draw
    rnd = draw(st.randoms(use_true_random=False))
    table, counter = Table(), [0]
    stats = Stats(rnd)
    projector = Projector(stats, table, CALENDAR, max_attempts=3)
    for mediateur_id, siret in zip(MEDIATORS, ("S1", "S1", "S2"), strict=True):
        projector.join(mediateur_id, siret)
    for _ in range(draw(st.integers(1, 12))):
        random_write(draw, table, counter)
    stats.failure_rate = draw(st.sampled_from((0.0, 0.1, 0.3)))

    # Writes (and structure moves) that land while a recomputation is between its reads and its
    # save; at once another Lambda handles every shard this one is not busy with (the write's
    # own shard may be it).
    stream = Stream(table.shards)
    racing = draw(st.integers(0, 3))

    def meanwhile(owner: Owner, month: str) -> None:
        nonlocal racing
        if racing <= 0 or rnd.random() < 0.5:
            return
        racing -= 1
        stats.meanwhile = None  # the other Lambda's own saves are not raced
        try:
            if rnd.random() < 0.25:
                move(draw, Projector(stats, table, CALENDAR), stats)
            else:
                random_write(draw, table, counter)
            deliver(Projector(stats, table, CALENDAR, max_attempts=3), stream, rnd)
        finally:
            stats.meanwhile = meanwhile

    stats.meanwhile = meanwhile
    deliver(projector, stream, rnd)

    for month in MONTHS:
        key = f"2025-{month:02d}"
        du, au = month_bounds(key)
        for mediateur_id in MEDIATORS:
            expected = bucket_to_map(bucket_of(table.activities(mediateur_id, du, au)))
            stored = stats.bucket(Owner.mediateur(mediateur_id), key)[0]
            assert bucket_to_map(stored) == expected, (mediateur_id, key)
        for siret in STRUCTURES:
            members = [m for m in MEDIATORS if stats.membership.get(m) == siret]
            expected = bucket_to_map(
                structure_bucket(bucket_of(table.activities(m, du, au)) for m in members)
            )
            stored = stats.bucket(Owner.structure(siret), key)[0]
            assert bucket_to_map(stored) == expected, (siret, key, members)
