"""Statistics aggregates in DynamoDB (the stats table).

Owners (`stats.ports.Owner`): a mediator (pk = MED#<id>) or a structure (pk = STR#<siret>).
- bucket     pk = <owner>         sk = M#<YYYY-MM>   counters of the month (`b`), version `v`
             pk = <owner>         sk = M#<YYYY-MM>#<n> followed people of a big bucket (parts)
- newcomers  pk = <owner>         sk = P#<YYYY-MM>   followed people whose FIRST accompaniment
                                                     ever is in that month: {id: date}
- membership pk = MED#<mediator>  sk = STRUCTURE     / pk = STR#<siret> sk = MEMBRES
- touched    pk = TOUCHED#<day>   sk = <mediator>    who changed that day (daily verification)

A year of statistics reads 12 buckets + 12 newcomer items, whatever the number of activities.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.stats.aggregation import Bucket, Combo, bucket_from_map, bucket_to_map
from chalicelib.stats.ports import Owner, StaleBucket
from chalicelib.store import models
from chalicelib.store.dynamo import STR, as_dict, condition_failed, med, owner_key, transact
from chalicelib.store.models import Database, _Meta


class BucketItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    b = MapAttribute(null=True)  # type: ignore[var-annotated]
    v = NumberAttribute(default=0)
    at = UnicodeAttribute(null=True)  # when it was computed (ISO), for operators
    np = NumberAttribute(null=True)  # parts holding the followed people (big structures)


class NewcomersItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ids = MapAttribute(null=True)  # type: ignore[var-annotated]


class TouchedItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute()


models.register(BucketItem, "stats")
models.register(NewcomersItem, "stats")
models.register(TouchedItem, "stats")


class MembershipItem(Model):
    """Who counts in a structure's statistics, read with strong consistency by the projector
    (the mediators' index by SIRET is eventually consistent).
    - pk = MED#<mediator>  sk = STRUCTURE   `s` = the SIRET their statistics count for,
                                            `m` = the SIRETs they counted for before (the
                                            verification checks those too)
    - pk = STR#<siret>     sk = MEMBRES     `m` = the mediators counted (a string set)"""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    s = UnicodeAttribute(null=True)
    m = UnicodeSetAttribute(null=True)


models.register(MembershipItem, "stats")


NEWCOMERS_PER_UPDATE = 50  # keeps an update expression far below DynamoDB's 4 KB


def ensure_newcomers(pk: str, month: str) -> None:
    """The map must exist before a key can be set in it."""
    NewcomersItem(pk, "P#" + month).update(actions=[NewcomersItem.ids.set(NewcomersItem.ids | {})])


def set_newcomers(pk: str, month: str, people: dict[str, str]) -> None:
    ensure_newcomers(pk, month)
    NewcomersItem(pk, "P#" + month).update(
        actions=[NewcomersItem.ids[i].set(day) for i, day in people.items()]
    )


def _membership(pk: str, sk: str) -> MembershipItem | None:
    try:
        return MembershipItem.get(pk, sk, consistent_read=True)
    except MembershipItem.DoesNotExist:
        return None


def structure_of(mediateur_id: str) -> str | None:
    """The SIRET this mediator's statistics count for (None: no structure), strongly read."""
    item = _membership(med(mediateur_id), "STRUCTURE")
    return (item.s or None) if item else None


PART_CHARS = 300_000  # followed people's ids per item (DynamoDB's item limit is 400 KB)
PARTS_SEEN_MAX = 10_000  # buckets whose number of parts a store remembers (saves a read)


def spill(raw: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A packed bucket whose followed people would not fit in one item keeps its counters and
    hands the people to parts (`M#<month>#1`, `#2`…) of at most PART_CHARS each: a structure of
    a few hundred mediators (about 11 000 people a month per part)."""
    if sum(len(combo["s"]) for combo in raw.values()) <= PART_CHARS:
        return raw, []
    main = {key: {"c": combo["c"], "s": ""} for key, combo in raw.items()}
    parts: list[dict[str, list[str]]] = [{}]
    size = 0
    for key, combo in raw.items():
        for person in combo["s"].split():
            if size + len(person) + 1 > PART_CHARS:
                parts.append({})
                size = 0
            parts[-1].setdefault(key, []).append(person)
            size += len(person) + 1
    return main, [{key: " ".join(ids) for key, ids in part.items()} for part in parts]


def _read_parts(items: list[BucketItem], consistent: bool) -> dict[tuple[str, str], Any]:
    keys = [
        (item.pk, f"{item.sk}#{number}")
        for item in items
        for number in range(1, int(item.np or 0) + 1)
    ]
    if not keys:
        return {}
    return {
        (part.pk, part.sk): part.b
        for part in BucketItem.batch_get(keys, consistent_read=consistent)
    }


class DynamoStatsStore:
    """`stats.ports.StatsStore` on the stats table."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._touched_day: date | None = None
        self._touched: set[str] = set()
        self._parts_seen: dict[tuple[str, str], tuple[int, int]] = {}  # key -> (version, parts)

    # --- month buckets ----------------------------------------------------------------------

    def buckets(self, owner: Owner, months: Iterable[str]) -> dict[str, tuple[Bucket, int]]:
        """{month: (bucket, version)} for the months that have one (one batch read)."""
        keys = [(owner_key(owner), "M#" + m) for m in dict.fromkeys(months)]
        items = list(BucketItem.batch_get(keys))
        parts = _read_parts(items, consistent=False)
        found: dict[str, tuple[Bucket, int]] = {}
        for item in items:
            found[item.sk.removeprefix("M#")] = (self._unpack(item, parts), int(item.v or 0))
        return found

    def member_buckets(self, mediateur_ids: Iterable[str], month: str) -> dict[str, Bucket]:
        """The month's bucket of each of these mediators (strongly consistent batch read)."""
        keys = [(med(m), "M#" + month) for m in dict.fromkeys(mediateur_ids)]
        items = list(BucketItem.batch_get(keys, consistent_read=True))
        parts = _read_parts(items, consistent=True)
        return {item.pk.removeprefix("MED#"): self._unpack(item, parts) for item in items}

    def bucket(self, owner: Owner, month: str) -> tuple[Bucket, int]:
        """One bucket and its version, strongly consistent ({} and 0 when there is none)."""
        try:
            item = BucketItem.get(owner_key(owner), "M#" + month, consistent_read=True)
        except BucketItem.DoesNotExist:
            return {}, 0
        return self._unpack(item, _read_parts([item], consistent=True)), int(item.v or 0)

    def _unpack(self, item: BucketItem, parts: dict[tuple[str, str], Any]) -> Bucket:
        """A stored bucket, its followed people gathered from its parts if it has any."""
        bucket = bucket_from_map(as_dict(item.b))
        count = int(item.np or 0)
        if len(self._parts_seen) >= PARTS_SEEN_MAX:  # a long-lived container: stay small
            self._parts_seen.clear()
        self._parts_seen[(item.pk, item.sk)] = (int(item.v or 0), count)
        for number in range(1, count + 1):
            for key, people in as_dict(parts.get((item.pk, f"{item.sk}#{number}"))).items():
                bucket.setdefault(str(key), Combo()).suivis.update(str(people).split())
        return bucket

    def save_bucket(self, owner: Owner, month: str, bucket: Bucket, expected: int) -> None:
        """Write a recomputed bucket unless another computation wrote it since it was read."""
        pk = owner_key(owner)
        main, parts = spill(bucket_to_map(bucket))
        item = BucketItem(
            pk,
            "M#" + month,
            b=main or None,
            v=expected + 1,
            at=datetime.now(UTC).isoformat(timespec="seconds"),
            np=len(parts) or None,
        )
        condition = BucketItem.sk.does_not_exist() if expected == 0 else BucketItem.v == expected
        before = self._parts_before(pk, month, expected)
        try:
            if not parts and not before:
                item.save(condition=condition)
                return

            # The bucket and its parts change together, under the bucket's version.
            def write(tx: TransactWrite) -> None:
                tx.save(item, condition=condition)
                for number, part in enumerate(parts, start=1):
                    tx.save(BucketItem(pk, f"M#{month}#{number}", b=part))
                for number in range(len(parts) + 1, before + 1):
                    tx.delete(BucketItem(pk, f"M#{month}#{number}"))

            transact(self._db.connection, write)
        except (PutError, TransactWriteError) as exc:
            if condition_failed(exc):
                raise StaleBucket(month) from None
            raise

    def _parts_before(self, pk: str, month: str, expected: int) -> int:
        """How many parts the stored version has (known from the read that preceded)."""
        if expected == 0:
            return 0
        seen = self._parts_seen.get((pk, "M#" + month))
        if seen is not None and seen[0] == expected:
            return seen[1]
        try:
            item = BucketItem.get(pk, "M#" + month, consistent_read=True, attributes_to_get=["np"])
        except BucketItem.DoesNotExist:
            return 0
        return int(item.np or 0)

    def confirm_bucket(self, owner: Owner, month: str, expected: int) -> None:
        """A recomputation found the bucket right: still bump its version, unless another
        computation wrote it since it was read. Every recomputation ending in a write is what
        makes the version check sound: a computation that read the inputs before a later write
        can then never save over one that read them after (README, statistics design)."""
        if expected == 0:
            self.save_bucket(owner, month, {}, 0)
            return
        item = BucketItem(owner_key(owner), "M#" + month)
        try:
            item.update(
                actions=[
                    BucketItem.v.set(expected + 1),
                    BucketItem.at.set(datetime.now(UTC).isoformat(timespec="seconds")),
                ],
                condition=BucketItem.v == expected,
            )
        except UpdateError as exc:
            if condition_failed(exc):
                raise StaleBucket(month) from None
            raise

    def months_with_buckets(self, owner: Owner) -> list[str]:
        return [
            item.sk.removeprefix("M#")
            for item in BucketItem.query(
                owner_key(owner), BucketItem.sk.startswith("M#"), attributes_to_get=["sk"]
            )
            if "#" not in item.sk.removeprefix("M#")  # not a part
        ]

    # --- structure membership -------------------------------------------------------------------

    def structure_of(self, mediateur_id: str) -> str | None:
        return structure_of(mediateur_id)

    def former_structures(self, mediateur_id: str) -> set[str]:
        item = _membership(med(mediateur_id), "STRUCTURE")
        return set(item.m or ()) if item else set()

    def members(self, siret: str) -> set[str]:
        item = _membership(STR + siret, "MEMBRES")
        return set(item.m or ()) if item else set()

    def set_structure(self, mediateur_id: str, before: str | None, after: str | None) -> None:
        """Move a mediator's statistics from one structure to another, in one transaction."""

        def write(tx: TransactWrite) -> None:
            mine = MembershipItem(med(mediateur_id), "STRUCTURE")
            tx.update(
                mine,
                actions=[
                    MembershipItem.s.set(after) if after else MembershipItem.s.remove(),
                    *([MembershipItem.m.add({before})] if before else []),
                ],
            )
            if before:
                tx.update(
                    MembershipItem(STR + before, "MEMBRES"),
                    actions=[MembershipItem.m.delete({mediateur_id})],
                )
            if after:
                tx.update(
                    MembershipItem(STR + after, "MEMBRES"),
                    actions=[MembershipItem.m.add({mediateur_id})],
                )

        transact(self._db.connection, write)

    # --- newcomers ----------------------------------------------------------------------------

    def newcomers(self, owner: Owner, months: Iterable[str]) -> dict[str, date]:
        """Followed people whose first accompaniment ever falls in these months (a structure's
        are its mediators', filed together by `stats.nouveaux`)."""
        keys = [(owner_key(owner), "P#" + m) for m in dict.fromkeys(months)]
        found: dict[str, date] = {}
        for item in NewcomersItem.batch_get(keys):
            for beneficiaire_id, day in as_dict(item.ids).items():
                found[str(beneficiaire_id)] = date.fromisoformat(str(day))
        return found

    def newcomer_months(self, owner: Owner) -> dict[str, dict[str, str]]:
        """{month: {person: date}} of every newcomers item of an owner."""
        return {
            item.sk.removeprefix("P#"): {str(k): str(v) for k, v in as_dict(item.ids).items()}
            for item in NewcomersItem.query(
                owner_key(owner), NewcomersItem.sk.startswith("P#"), consistent_read=True
            )
        }

    def move_newcomers(self, mediateur_id: str, before: str | None, after: str | None) -> None:
        """File a mediator's newcomers under their new structure and out of the former one."""
        mine = self.newcomer_months(Owner.mediateur(mediateur_id))
        for month, people in sorted(mine.items()):
            ids = sorted(people)
            for start in range(0, len(ids), NEWCOMERS_PER_UPDATE):
                part = ids[start : start + NEWCOMERS_PER_UPDATE]
                if before:
                    NewcomersItem(STR + before, "P#" + month).update(
                        actions=[NewcomersItem.ids[i].remove() for i in part]
                    )
                if after:
                    set_newcomers(STR + after, month, {i: people[i] for i in part})

    def set_newcomers(self, owner: Owner, month: str, people: dict[str, str]) -> None:
        """Repair: the owner's newcomers of a month are exactly these."""
        NewcomersItem(owner_key(owner), "P#" + month, ids=people or None).save()

    # --- who changed, for the daily verification ------------------------------------------------

    def touch(self, mediateur_ids: Iterable[str], day: date) -> None:
        """Note who changed something today (the daily verification reads it). A Lambda
        container remembers whom it already noted today: at the reporting peak the same
        mediators come back batch after batch, and each note is a write."""
        if self._touched_day != day:
            self._touched_day, self._touched = day, set()
        fresh = [m for m in dict.fromkeys(mediateur_ids) if m not in self._touched]
        if not fresh:
            return
        expires = datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=8)
        with TouchedItem.batch_write() as batch:
            for mediateur_id in fresh:
                batch.save(
                    TouchedItem("TOUCHED#" + day.isoformat(), mediateur_id, expires_at=expires)
                )
        self._touched.update(fresh)  # only once written: a failed batch is noted again

    def touched(self, day: date) -> list[str]:
        return [item.sk for item in TouchedItem.query("TOUCHED#" + day.isoformat())]
