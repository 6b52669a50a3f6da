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

Structures: after a batch's mediator months, each (structure, month) they belong to is
recomputed the same way from its members' buckets (`recompute_structure`); a mediator who signs
in with another SIRET moves with `join`.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from chalicelib.domain.activites import Activite
from chalicelib.stats.aggregation import Bucket, bucket_of, bucket_to_map, structure_bucket

MAX_ATTEMPTS = 5


class StatsStore(Protocol):
    def bucket(self, mediateur_id: str, month: str) -> tuple[Bucket, int]: ...
    def save_bucket(self, mediateur_id: str, month: str, bucket: Bucket, expected: int) -> None: ...
    def confirm_bucket(self, mediateur_id: str, month: str, expected: int) -> None: ...
    def touch(self, mediateur_ids: Iterable[str], day: date) -> None: ...
    # structures
    def structure_of(self, mediateur_id: str) -> str | None: ...
    def members(self, siret: str) -> set[str]: ...
    def member_buckets(self, mediateur_ids: Iterable[str], month: str) -> dict[str, Bucket]: ...
    def structure_bucket(self, siret: str, month: str) -> tuple[Bucket, int]: ...
    def save_structure_bucket(
        self, siret: str, month: str, bucket: Bucket, expected: int
    ) -> None: ...
    def confirm_structure_bucket(self, siret: str, month: str, expected: int) -> None: ...
    def months_with_buckets(self, mediateur_id: str) -> list[str]: ...
    def structure_months(self, siret: str) -> list[str]: ...
    def set_structure(self, mediateur_id: str, before: str | None, after: str | None) -> None: ...
    def move_newcomers(self, mediateur_id: str, before: str | None, after: str | None) -> None: ...


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
        """Bring one mediator's bucket in line with the activities. True if it had to change."""
        du, au = month_bounds(month)
        return self._converge(
            lambda: self._store.bucket(mediateur_id, month),
            lambda: bucket_of(self._reader.activities(mediateur_id, du, au)),
            lambda fresh, version: self._store.save_bucket(mediateur_id, month, fresh, version),
            lambda version: self._store.confirm_bucket(mediateur_id, month, version),
            f"{mediateur_id} {month}",
        )

    def recompute_structure(self, siret: str, month: str) -> bool:
        """Bring one structure's bucket in line with its mediators' buckets of the month (read
        strongly consistent, after the structure's version, like the activities above: the
        same argument makes it exact). True if it had to change."""

        def fresh() -> Bucket:
            members = self._store.members(siret)
            found = self._store.member_buckets(members, month) if members else {}
            return structure_bucket(found.values())

        return self._converge(
            lambda: self._store.structure_bucket(siret, month),
            fresh,
            lambda bucket, version: self._store.save_structure_bucket(
                siret, month, bucket, version
            ),
            lambda version: self._store.confirm_structure_bucket(siret, month, version),
            f"{siret} {month}",
        )

    def _converge(
        self,
        read: Callable[[], tuple[Bucket, int]],
        compute: Callable[[], Bucket],
        save: Callable[[Bucket, int], None],
        confirm: Callable[[int], None],
        what: str,
    ) -> bool:
        from chalicelib.store.stats import StaleBucket

        for _ in range(self._max_attempts):
            # The bucket (and its version) first, its inputs second: a computation that saves
            # under this version read every input write whose own computation ended before it,
            # and any later one bumps the version (see `confirm_bucket`).
            current, version = read()
            fresh = compute()
            changed = bucket_to_map(fresh) != bucket_to_map(current)
            try:
                if changed:
                    save(fresh, version)
                else:
                    # Right as it is, yet the version must move: a slower computation that
                    # read the inputs before this one must not save over it.
                    confirm(version)
            except StaleBucket:
                continue  # someone else computed it meanwhile: read again
            return changed
        raise StaleBucketsError(what)

    def handle(self, records: list[Mapping[str, Any]]) -> list[str]:
        """Recompute what the batch touched: the mediators' months, then their structures'
        months (once per batch each). Returns the sequence number to retry from (the first
        record whose buckets could not all be written), as `batchItemFailures` expects."""
        changes = changes_of(records)
        ok: dict[tuple[str, str], bool] = {}
        for change in changes:
            for month in sorted(change.months):
                key = (change.mediateur_id, month)
                if key not in ok:
                    ok[key] = self._safely(self.recompute, *key)
        # Their structures are read only now, after the mediators' saves: a move at sign-in
        # (`join`) that this read misses lists the months saved above and recomputes them.
        structures: dict[str, str | None] = {}
        done: dict[tuple[str, str], bool] = {}
        for change in changes:
            if change.mediateur_id not in structures:
                structures[change.mediateur_id] = self._structure_of(change.mediateur_id)
            siret = structures[change.mediateur_id]
            for month in sorted(change.months):
                if siret and (siret, month) not in done:
                    done[(siret, month)] = self._safely(self.recompute_structure, siret, month)

        def handled(change: Change) -> bool:
            siret = structures[change.mediateur_id]
            return siret != "" and all(
                ok[(change.mediateur_id, m)] and (not siret or done[(siret, m)])
                for m in change.months
            )

        failed_at = next((i for i, change in enumerate(changes) if not handled(change)), None)
        self._store.touch({c.mediateur_id for c in changes}, self._today())
        return [] if failed_at is None else [changes[failed_at].sequence]

    def _structure_of(self, mediateur_id: str) -> str | None:
        """ "" when it could not be read (the record is then retried)."""
        try:
            return self._store.structure_of(mediateur_id)
        except Exception as exc:
            self._failed(exc, "")
            return ""

    def _safely(self, recompute: Callable[[str, str], bool], owner: str, month: str) -> bool:
        try:
            recompute(owner, month)
        except Exception as exc:
            self._failed(exc, month)
            return False
        return True

    def _failed(self, exc: Exception, month: str) -> None:
        from chalicelib import observability

        observability.logger().warning(
            "statistics bucket not recomputed", error=type(exc).__name__, month=month
        )
        observability.count("StatsBucketFailures")

    # --- a mediator changes structure --------------------------------------------------------

    def join(self, mediateur_id: str, siret: str | None) -> bool:
        """Count a mediator's statistics in this structure (None: in none) from now on: move
        the membership, then recompute both structures' months where the mediator has buckets,
        and move their newcomers. Called at every sign-in (the profile's SIRET comes from
        ProConnect); True when something moved. A failure midway leaves the mediator noted as
        changed today: the daily verification finishes the job."""
        before = self._store.structure_of(mediateur_id)
        if before == (siret or None):
            return False
        self._store.touch([mediateur_id], self._today())
        self._store.set_structure(mediateur_id, before, siret or None)
        self._store.move_newcomers(mediateur_id, before, siret or None)
        months = self._store.months_with_buckets(mediateur_id)
        for structure in [s for s in (before, siret) if s]:
            for month in months:
                self.recompute_structure(structure, month)
        return True


class StaleBucketsError(Exception):
    """A bucket kept changing under us (very busy mediator): the record is retried later."""
