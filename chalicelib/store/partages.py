"""Share links of the statistics in DynamoDB.

App table (the product's data, point-in-time recovery), two items per link written and deleted
together in one transaction:
- pk = PART#MED#<mediator> | PART#STR#<siret>   sk = <link id>
      the owner's list (time-sortable ids: a partition read backwards is newest first), with
      the counters (opens, last opened); not in the mediator's `MED#` partition, which is loaded
      on every request and must stay small
- pk = JETON#<sha256 of the token>              sk = PARTAGE
      the public lookup: one strongly consistent GetItem, so a revoked link answers 404 at once
      (a GSI would be eventually consistent)
Both carry the link's immutable fields; only the owner's item is counted on. Neither holds the
token. An expired link's items expire (TTL) 30 days after its expiry date; the app enforces the
expiry itself (TTL deletion is lazy, and never happens in moto).

Sessions table (short-lived security counters, like the signed-out quota):
- pk = o#<sha256 of the token>#<window start>   opens of one link in one minute (TTL)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.partages import STRUCTURE, Partage, PartageFiltres
from chalicelib.store import models
from chalicelib.store.dynamo import MED, STR, as_dict, condition_failed, transact
from chalicelib.store.models import Database, _Meta

PART = "PART#"
JETON = "JETON#"
JETON_SK = "PARTAGE"
MAX_LISTED = 200  # MAX_ACTIFS live links + the expired ones still listed


class PartageItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # PART#MED#<id> | PART#STR#<siret> | JETON#<sha256>
    sk = UnicodeAttribute(range_key=True)  # <link id> | PARTAGE
    kind = UnicodeAttribute(default="partage")
    partage_id = UnicodeAttribute()
    portee = UnicodeAttribute()
    proprietaire = UnicodeAttribute()
    createur = UnicodeAttribute()
    filtres = MapAttribute(null=True)  # type: ignore[var-annotated]
    jeton = UnicodeAttribute()  # SHA-256 of the token
    cree_le = UTCDateTimeAttribute()
    expire_le = UnicodeAttribute(null=True)  # AAAA-MM-JJ
    ouvertures = NumberAttribute(default=0)  # owner's item only
    derniere_ouverture = UTCDateTimeAttribute(null=True)  # owner's item only
    expires_at = TTLAttribute(null=True)


class OuverturesItem(Model):
    """Opens of one link in one window (the rate limit)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # o#<sha256>#<window start>
    n = NumberAttribute(default=0)
    expires_at = TTLAttribute()


models.register(PartageItem, "app")
models.register(OuverturesItem, "sessions")


def partition(portee: str, proprietaire: str) -> str:
    return PART + (STR if portee == STRUCTURE else MED) + proprietaire


def _items(partage: Partage) -> tuple[PartageItem, PartageItem]:
    fields: dict[str, Any] = {
        "partage_id": partage.id,
        "portee": partage.portee,
        "proprietaire": partage.proprietaire,
        "createur": partage.createur,
        "filtres": partage.filtres.to_map() or None,
        "jeton": partage.jeton,
        "cree_le": partage.cree_le,
        "expire_le": partage.expire_le.isoformat() if partage.expire_le else None,
    }
    until = partage.conserve_jusqu_au()
    if until is not None:
        fields["expires_at"] = datetime.combine(until, time(), tzinfo=UTC)
    owner = PartageItem(partition(partage.portee, partage.proprietaire), partage.id, **fields)
    lookup = PartageItem(JETON + partage.jeton, JETON_SK, **fields)
    return owner, lookup


def from_item(item: PartageItem) -> Partage:
    return Partage(
        id=item.partage_id,
        portee=item.portee,
        proprietaire=item.proprietaire,
        createur=item.createur,
        filtres=PartageFiltres.from_map(as_dict(item.filtres)),
        cree_le=item.cree_le,
        jeton=item.jeton,
        expire_le=date.fromisoformat(item.expire_le) if item.expire_le else None,
        ouvertures=int(item.ouvertures or 0),
        derniere_ouverture=item.derniere_ouverture,
    )


class DynamoPartageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, partage: Partage) -> None:
        owner, lookup = _items(partage)

        def write(tx: TransactWrite) -> None:
            tx.save(owner, condition=PartageItem.sk.does_not_exist())
            tx.save(lookup, condition=PartageItem.pk.does_not_exist())

        transact(self._db.connection, write)

    def by_jeton(self, jeton_digest: str) -> Partage | None:
        try:
            item = PartageItem.get(JETON + jeton_digest, JETON_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return from_item(item)

    def of(self, portee: str, proprietaire: str) -> list[Partage]:
        items = PartageItem.query(
            partition(portee, proprietaire),
            scan_index_forward=False,
            consistent_read=True,
            limit=MAX_LISTED,
            page_size=MAX_LISTED,
        )
        return [from_item(item) for item in items]

    def find(self, portee: str, proprietaire: str, partage_id: str) -> Partage | None:
        try:
            item = PartageItem.get(
                partition(portee, proprietaire), partage_id, consistent_read=True
            )
        except DoesNotExist:
            return None
        return from_item(item)

    def delete(self, partage: Partage) -> bool:
        owner, lookup = _items(partage)

        def write(tx: TransactWrite) -> None:
            tx.delete(owner, condition=PartageItem.pk.exists())
            tx.delete(lookup)

        try:
            transact(self._db.connection, write)
        except TransactWriteError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def count_opening(self, partage: Partage, now: datetime) -> bool:
        item = PartageItem(partition(partage.portee, partage.proprietaire), partage.id)
        try:
            item.update(
                actions=[
                    PartageItem.ouvertures.add(1),
                    PartageItem.derniere_ouverture.set(now),
                ],
                condition=PartageItem.pk.exists(),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def spend(self, jeton_digest: str, window: int, limit: int, expires_at: int) -> bool:
        """One conditional update, like the signed-out quota (`DynamoSessionStore.spend`):
        counted only while under the limit, whatever the number of concurrent opens."""
        item = OuverturesItem(pk=f"o#{jeton_digest}#{window}")
        try:
            item.update(
                actions=[
                    OuverturesItem.n.add(1),
                    OuverturesItem.expires_at.set(datetime.fromtimestamp(expires_at, tz=UTC)),
                ],
                condition=OuverturesItem.n.does_not_exist() | (OuverturesItem.n < limit),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True
