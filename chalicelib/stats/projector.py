"""Stream records of the activities table -> statistics buckets (ARCHITECTURE §4, design 2).

Recompute-on-change: a record only says *which* (mediator, month) buckets may have changed —
the old image's month and the new image's month. Each of them is recomputed from the stored
activities (strongly consistent read) and written only if nobody wrote it since it was read
(version `v`); a computation that finds the bucket right still bumps the version. So
duplicates, retries, any order across shards, partial batch failures and concurrent edits all
converge on "bucket == recomputation": a stale computation can never overwrite a fresher one
(not even one that concluded "nothing to change"), and the record of the last change always
triggers a computation that reads it. The in-memory property test
(tests/unit/test_projector_property.py) found the "nothing to change" race.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from chalicelib.domain.activites import Activite
from chalicelib.stats.aggregation import Bucket, bucket_of, bucket_to_map

MAX_ATTEMPTS = 5


class StatsStore(Protocol):
    def bucket(self, mediateur_id: str, month: str) -> tuple[Bucket, int]: ...
    def save_bucket(self, mediateur_id: str, month: str, bucket: Bucket, expected: int) -> None: ...
    def confirm_bucket(self, mediateur_id: str, month: str, expected: int) -> None: ...
    def touch(self, mediateur_ids: Iterable[str], day: date) -> None: ...


class ActivityReader(Protocol):
    def activities(self, mediateur_id: str, du: date, au: date) -> list[Activite]: ...


@dataclass(frozen=True)
class Change:
    sequence: str
    mediateur_id: str
    months: frozenset[str]


def _string(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, dict) and isinstance(value.get("S"), str):
        return str(value["S"])
    return None


def _activity_month(image: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(mediator, YYYY-MM) of an activity image; None for other item kinds or no image."""
    if not image or _string(image, "kind") not in (None, "activite"):
        return None
    pk, day = _string(image, "pk"), _string(image, "date")
    if not pk or not pk.startswith("MED#") or not day or len(day) < 7:
        return None
    if not (_string(image, "sk") or "").startswith("ACT#"):
        return None
    return pk.removeprefix("MED#"), day[:7]


def changes_of(records: Iterable[Mapping[str, Any]]) -> list[Change]:
    """What each record may have changed (records of other item kinds change nothing)."""
    changes = []
    for record in records:
        body = record.get("dynamodb") or {}
        found = [_activity_month(body.get("OldImage")), _activity_month(body.get("NewImage"))]
        touched = [f for f in found if f]
        if touched:
            mediateur_id = touched[0][0]
            months = frozenset(month for _, month in touched)
            changes.append(Change(str(body.get("SequenceNumber", "")), mediateur_id, months))
    return changes


def month_bounds(month: str) -> tuple[date, date]:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


class Projector:
    def __init__(
        self,
        store: StatsStore,
        reader: ActivityReader,
        today: Callable[[], date],
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._store = store
        self._reader = reader
        self._today = today
        self._max_attempts = max_attempts

    def recompute(self, mediateur_id: str, month: str) -> bool:
        """Bring one bucket in line with the activities. True if it had to change."""
        from chalicelib.store.stats import StaleBucket

        du, au = month_bounds(month)
        for _ in range(self._max_attempts):
            # The bucket (and its version) first, the activities second: a computation that
            # saves under this version read every activity write whose own computation ended
            # before it, and any later one bumps the version (see `confirm_bucket`).
            current, version = self._store.bucket(mediateur_id, month)
            fresh = bucket_of(self._reader.activities(mediateur_id, du, au))
            changed = bucket_to_map(fresh) != bucket_to_map(current)
            try:
                if changed:
                    self._store.save_bucket(mediateur_id, month, fresh, version)
                else:
                    # Right as it is, yet the version must move: a slower computation that
                    # read the activities before this one must not save over it.
                    self._store.confirm_bucket(mediateur_id, month, version)
            except StaleBucket:
                continue  # someone else computed it meanwhile: read again
            return changed
        raise StaleBucketsError(mediateur_id, month)

    def handle(self, records: list[Mapping[str, Any]]) -> list[str]:
        """Recompute what the batch touched. Returns the sequence number to retry from (the
        first record whose bucket could not be written), as `batchItemFailures` expects."""
        changes = changes_of(records)
        failed_at: int | None = None
        done: dict[tuple[str, str], bool] = {}
        for position, change in enumerate(changes):
            for month in sorted(change.months):
                key = (change.mediateur_id, month)
                if key not in done:
                    done[key] = self._safely(*key)
                if not done[key] and failed_at is None:
                    failed_at = position
        self._store.touch({c.mediateur_id for c in changes}, self._today())
        return [] if failed_at is None else [changes[failed_at].sequence]

    def _safely(self, mediateur_id: str, month: str) -> bool:
        from chalicelib import observability

        try:
            self.recompute(mediateur_id, month)
        except Exception as exc:
            observability.logger().warning(
                "statistics bucket not recomputed", error=type(exc).__name__, month=month
            )
            observability.count("StatsBucketFailures")
            return False
        return True


class StaleBucketsError(Exception):
    """A bucket kept changing under us (very busy mediator): the record is retried later."""
