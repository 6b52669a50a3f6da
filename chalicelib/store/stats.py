"""Statistics aggregates in DynamoDB (the stats table).

- bucket     pk = MED#<mediator>  sk = M#<YYYY-MM>   counters of the month (`b`), version `v`
- newcomers  pk = MED#<mediator>  sk = P#<YYYY-MM>   followed people whose FIRST accompaniment
                                                     ever is in that month: {id: date}
- touched    pk = TOUCHED#<day>   sk = <mediator>    who changed that day (daily verification)

A year of statistics reads 12 buckets + 12 newcomer items, whatever the number of activities.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from chalicelib.domain.activites import Activite, Filtres
from chalicelib.stats.aggregation import Bucket, bucket_from_map, bucket_to_map
from chalicelib.store import models
from chalicelib.store.models import _Meta


class BucketItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    b = MapAttribute(null=True)  # type: ignore[var-annotated]
    v = NumberAttribute(default=0)
    at = UnicodeAttribute(null=True)  # when it was computed (ISO), for operators


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


class StaleBucket(Exception):
    """Someone wrote the bucket since it was read: compute it again."""


def _med(mediateur_id: str) -> str:
    return "MED#" + mediateur_id


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, MapAttribute):
        return dict(value.as_dict())
    return dict(value)


class DynamoStatsStore:
    def __init__(self) -> None:
        self._touched_day: date | None = None
        self._touched: set[str] = set()

    def buckets(self, mediateur_id: str, months: Iterable[str]) -> dict[str, tuple[Bucket, int]]:
        """{month: (bucket, version)} for the months that have one (one batch read)."""
        keys = [(_med(mediateur_id), "M#" + m) for m in dict.fromkeys(months)]
        found: dict[str, tuple[Bucket, int]] = {}
        for item in BucketItem.batch_get(keys):
            found[item.sk.removeprefix("M#")] = (
                bucket_from_map(_as_dict(item.b)),
                int(item.v or 0),
            )
        return found

    def bucket(self, mediateur_id: str, month: str) -> tuple[Bucket, int]:
        try:
            item = BucketItem.get(_med(mediateur_id), "M#" + month, consistent_read=True)
        except BucketItem.DoesNotExist:
            return {}, 0
        return bucket_from_map(_as_dict(item.b)), int(item.v or 0)

    def save_bucket(self, mediateur_id: str, month: str, bucket: Bucket, expected: int) -> None:
        """Write a recomputed bucket unless another computation wrote it since it was read."""
        item = BucketItem(
            _med(mediateur_id),
            "M#" + month,
            b=bucket_to_map(bucket) or None,
            v=expected + 1,
            at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        condition = BucketItem.sk.does_not_exist() if expected == 0 else BucketItem.v == expected
        try:
            item.save(condition=condition)
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise StaleBucket(month) from None
            raise

    def confirm_bucket(self, mediateur_id: str, month: str, expected: int) -> None:
        """A recomputation found the bucket right: still bump its version, unless another
        computation wrote it since it was read. Every recomputation ending in a write is what
        makes the version check sound: a computation that read the activities before a later
        write can then never save over one that read them after (README, statistics design)."""
        if expected == 0:
            self.save_bucket(mediateur_id, month, {}, 0)
            return
        item = BucketItem(_med(mediateur_id), "M#" + month)
        try:
            item.update(
                actions=[
                    BucketItem.v.set(expected + 1),
                    BucketItem.at.set(datetime.now(UTC).isoformat(timespec="seconds")),
                ],
                condition=BucketItem.v == expected,
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise StaleBucket(month) from None
            raise

    def months_with_buckets(self, mediateur_id: str) -> list[str]:
        return [
            item.sk.removeprefix("M#")
            for item in BucketItem.query(
                _med(mediateur_id), BucketItem.sk.startswith("M#"), attributes_to_get=["sk"]
            )
        ]

    # --- newcomers ----------------------------------------------------------------------------

    def newcomers(self, mediateur_id: str, months: Iterable[str]) -> dict[str, date]:
        """Followed people whose first accompaniment ever falls in these months."""
        keys = [(_med(mediateur_id), "P#" + m) for m in dict.fromkeys(months)]
        found: dict[str, date] = {}
        for item in NewcomersItem.batch_get(keys):
            for beneficiaire_id, day in _as_dict(item.ids).items():
                found[str(beneficiaire_id)] = date.fromisoformat(str(day))
        return found

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


class MonthReader:
    """The activities of a month, read with strong consistency (a recomputation must see the
    write whose stream record triggered it)."""

    def __init__(self, activities: Any) -> None:
        self._activities = activities

    def activities(self, mediateur_id: str, du: date, au: date) -> list[Activite]:
        return list(self._activities.between(mediateur_id, Filtres(du=du, au=au), consistent=True))
