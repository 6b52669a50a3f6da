"""Stream changes of the activities table -> statistics buckets (ARCHITECTURE §4, design 2).

Recompute-on-change: a change only says *which* (mediator, month) buckets may have changed —
the old image's month and the new image's month (`store/stream.py` decodes the records). Each
of them is recomputed from the stored activities (strongly consistent read) and written only if
nobody wrote it since it was read (version `v`); a computation that finds the bucket right still
bumps the version. So duplicates, retries, any order across shards, partial batch failures and
concurrent edits all converge on "bucket == recomputation": a stale computation can never
overwrite a fresher one (not even one that concluded "nothing to change"), and the record of the
last change always triggers a computation that reads it. The in-memory property test
(tests/unit/test_projector_property.py) found the "nothing to change" race.

Structures: after a batch's mediator months, each (structure, month) they belong to is
recomputed the same way from its members' buckets; a mediator who signs in with another SIRET
moves with `join`.
"""

from __future__ import annotations

from chalicelib import observability
from chalicelib.domain.activites import Filtres
from chalicelib.domain.dates import Calendar, month_bounds
from chalicelib.stats.aggregation import Bucket, bucket_of, bucket_to_map, structure_bucket
from chalicelib.stats.ports import ActivitiesReader, Change, Owner, StaleBucket, StatsStore

MAX_ATTEMPTS = 5


class Projector:
    def __init__(
        self,
        store: StatsStore,
        activities: ActivitiesReader,
        calendar: Calendar,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._store = store
        self._activities = activities
        self._calendar = calendar
        self._max_attempts = max_attempts

    def recompute(self, owner: Owner, month: str) -> bool:
        """Bring one bucket in line with what it sums: a mediator's activities of the month, or
        a structure's members' buckets of the month (read strongly consistent, after the
        structure's version, like the activities: the same argument makes it exact). True if it
        had to change."""
        for _ in range(self._max_attempts):
            # The bucket (and its version) first, its inputs second: a computation that saves
            # under this version read every input write whose own computation ended before it,
            # and any later one bumps the version (see `confirm_bucket`).
            current, version = self._store.bucket(owner, month)
            fresh = self._fresh(owner, month)
            changed = bucket_to_map(fresh) != bucket_to_map(current)
            try:
                if changed:
                    self._store.save_bucket(owner, month, fresh, version)
                else:
                    # Right as it is, yet the version must move: a slower computation that
                    # read the inputs before this one must not save over it.
                    self._store.confirm_bucket(owner, month, version)
            except StaleBucket:
                continue  # someone else computed it meanwhile: read again
            return changed
        raise StaleBucket(f"{owner} {month}: still moving after {self._max_attempts} attempts")

    def _fresh(self, owner: Owner, month: str) -> Bucket:
        if owner.is_structure:
            members = self._store.members(owner.id)
            found = self._store.member_buckets(members, month) if members else {}
            return structure_bucket(found.values())
        du, au = month_bounds(month)
        return bucket_of(self._activities.between(owner.id, Filtres(du=du, au=au), True))

    def handle(self, changes: list[Change]) -> list[str]:
        """Recompute what the batch touched: the mediators' months, then their structures'
        months (once per batch each). Returns the sequence number to retry from (the first
        change whose buckets could not all be written), as `batchItemFailures` expects."""
        ok: dict[tuple[Owner, str], bool] = {}
        for change in changes:
            for month in sorted(change.months):
                key = (Owner.mediateur(change.mediateur_id), month)
                if key not in ok:
                    ok[key] = self._safely(*key)
        # Their structures are read only now, after the mediators' saves: a move at sign-in
        # (`join`) that this read misses lists the months saved above and recomputes them.
        structures: dict[str, str | None] = {}
        for change in changes:
            if change.mediateur_id not in structures:
                structures[change.mediateur_id] = self._structure_of(change.mediateur_id)
            siret = structures[change.mediateur_id]
            for month in sorted(change.months):
                if siret and (Owner.structure(siret), month) not in ok:
                    ok[(Owner.structure(siret), month)] = self._safely(
                        Owner.structure(siret), month
                    )

        def handled(change: Change) -> bool:
            siret = structures[change.mediateur_id]
            return siret != "" and all(
                ok[(Owner.mediateur(change.mediateur_id), m)]
                and (not siret or ok[(Owner.structure(siret), m)])
                for m in change.months
            )

        failed_at = next((i for i, change in enumerate(changes) if not handled(change)), None)
        self._store.touch({c.mediateur_id for c in changes}, self._calendar.today())
        return [] if failed_at is None else [changes[failed_at].sequence]

    def _structure_of(self, mediateur_id: str) -> str | None:
        """ "" when it could not be read (the record is then retried)."""
        try:
            return self._store.structure_of(mediateur_id)
        except Exception as exc:
            _failed(exc, "")
            return ""

    def _safely(self, owner: Owner, month: str) -> bool:
        try:
            self.recompute(owner, month)
        except Exception as exc:
            _failed(exc, month)
            return False
        return True

    # --- a mediator changes structure --------------------------------------------------------

    def join(self, mediateur_id: str, siret: str | None) -> bool:
        """Count a mediator's statistics in this structure (None: in none) from now on: move
        the membership, then recompute both structures' months where the mediator has buckets,
        and move their newcomers. True when something moved. A failure midway leaves the
        mediator noted as changed today: the daily verification finishes the job."""
        before = self._store.structure_of(mediateur_id)
        if before == (siret or None):
            return False
        self._store.touch([mediateur_id], self._calendar.today())
        self._store.set_structure(mediateur_id, before, siret or None)
        self._store.move_newcomers(mediateur_id, before, siret or None)
        months = self._store.months_with_buckets(Owner.mediateur(mediateur_id))
        for structure in [s for s in (before, siret) if s]:
            for month in months:
                self.recompute(Owner.structure(structure), month)
        return True

    def join_at_sign_in(self, mediateur_id: str, siret: str | None) -> None:
        """At every sign-in (the profile's SIRET comes from ProConnect). Never fails the
        sign-in: what could not be moved is finished by the daily verification."""
        try:
            if self.join(mediateur_id, siret):
                observability.count("StatsStructureMoves")
        except Exception as exc:
            observability.logger().warning(
                "structure statistics not moved", error=type(exc).__name__
            )
            observability.count("StatsStructureMoveFailures")


def _failed(exc: Exception, month: str) -> None:
    observability.logger().warning(
        "statistics bucket not recomputed", error=type(exc).__name__, month=month
    )
    observability.count("StatsBucketFailures")
