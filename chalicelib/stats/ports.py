"""What the statistics need from storage, in their own words (no DynamoDB here).

- An `Owner` is whose statistics a bucket holds: a mediator, or a structure (SIRET). Mediators'
  and structures' buckets are stored, versioned and read the same way; only how a bucket is
  recomputed differs (from the activities, or from the members' buckets).
- A `Change` is what one stream record may have changed: a mediator's months. The stream's own
  format (DynamoDB images) is decoded by `store/stream.py`.
- `StaleBucket`: someone wrote the bucket since it was read (the version moved): compute again.
  The projector raises it too when a bucket kept moving for all its attempts.

`store/stats.py` implements these ports on DynamoDB; the projector's property test
(tests/unit/test_projector_property.py) implements them in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from chalicelib.domain.activites import Activite, Filtres
from chalicelib.stats.aggregation import Bucket

MEDIATEUR: Literal["mediateur"] = "mediateur"
STRUCTURE: Literal["structure"] = "structure"


@dataclass(frozen=True)
class Owner:
    kind: Literal["mediateur", "structure"]
    id: str  # the mediator's id, or the structure's SIRET

    @classmethod
    def mediateur(cls, mediateur_id: str) -> Owner:
        return cls(MEDIATEUR, mediateur_id)

    @classmethod
    def structure(cls, siret: str) -> Owner:
        return cls(STRUCTURE, siret)

    @property
    def is_structure(self) -> bool:
        return self.kind == STRUCTURE

    def __str__(self) -> str:
        return f"{'structure' if self.is_structure else 'médiateur'} {self.id}"


@dataclass(frozen=True)
class Change:
    """One stream record: the months of one mediator's buckets it may have changed."""

    sequence: str
    mediateur_id: str
    months: frozenset[str]


class StaleBucket(Exception):
    """Someone wrote the bucket since it was read: compute it again."""


class ActivitiesReader(Protocol):
    def between(
        self, mediateur_id: str, filtres: Filtres, consistent: bool = ...
    ) -> Iterator[Activite]: ...


class BucketReader(Protocol):
    """What the statistics pages read: whole months' buckets and newcomers."""

    def buckets(self, owner: Owner, months: Iterable[str]) -> dict[str, tuple[Bucket, int]]: ...
    def newcomers(self, owner: Owner, months: Iterable[str]) -> dict[str, date]: ...


class Membership(Protocol):
    """Which structure a mediator's statistics count for, read strongly consistent."""

    def structure_of(self, mediateur_id: str) -> str | None: ...
    def members(self, siret: str) -> set[str]: ...
    def former_structures(self, mediateur_id: str) -> set[str]: ...
    def set_structure(self, mediateur_id: str, before: str | None, after: str | None) -> None: ...


class StatsStore(BucketReader, Membership, Protocol):
    """What the projector and the verification write and read."""

    def bucket(self, owner: Owner, month: str) -> tuple[Bucket, int]: ...
    def save_bucket(self, owner: Owner, month: str, bucket: Bucket, expected: int) -> None: ...
    def confirm_bucket(self, owner: Owner, month: str, expected: int) -> None: ...
    def member_buckets(self, mediateur_ids: Iterable[str], month: str) -> dict[str, Bucket]: ...
    def months_with_buckets(self, owner: Owner) -> list[str]: ...
    def newcomer_months(self, owner: Owner) -> dict[str, dict[str, str]]: ...
    def set_newcomers(self, owner: Owner, month: str, people: dict[str, str]) -> None: ...
    def move_newcomers(self, mediateur_id: str, before: str | None, after: str | None) -> None: ...
    def touch(self, mediateur_ids: Iterable[str], day: date) -> None: ...
    def touched(self, day: date) -> list[str]: ...
