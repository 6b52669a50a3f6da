"""Export requests in DynamoDB (the app table), their files in S3 and their queue messages in SQS.

Items (small, one per request):
- pk = EXP#<mediator id>   sk = <export id>   a mediator's own export (only they can read it)
- pk = EXPS#<siret>        sk = <export id>   a structure export (every gestionnaire of that
                                              SIRET reads it: the link can be handed around)
Export ids are time-sortable, so a partition read backwards lists the newest first. These are
not in the mediator's `MED#` partition on purpose: the account is loaded from that partition on
every request and must stay small. Items expire (TTL) 30 days after the request; the files, 7.

Statuses only move forward through conditional updates: `claim` (en_attente|en_cours →
en_cours, attempts + 1), `progress`, `done` (en_cours → pret), `release` (en_cours →
en_attente, before a retry), `fail` (→ echec; never over pret).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from chalicelib.domain.errors import NotFound
from chalicelib.domain.exports import (
    ECHEC,
    EN_ATTENTE,
    EN_COURS,
    ITEM_TTL,
    PRET,
    Export,
    filtres_from_map,
    filtres_to_map,
)
from chalicelib.store import models
from chalicelib.store.dynamo import as_dict, condition_failed
from chalicelib.store.models import Database, _Meta

PRESIGNED_SECONDS = 300  # the download link: long enough to start, short enough to not travel
NO_STORE = "private, no-store"


class ExportItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # EXP#<mediator> | EXPS#<siret>
    sk = UnicodeAttribute(range_key=True)  # <export id>
    kind = UnicodeAttribute(default="export")
    nature = UnicodeAttribute()  # activites | beneficiaires
    format = UnicodeAttribute()
    portee = UnicodeAttribute()  # mediateur | structure
    mediateur_id = UnicodeAttribute()
    demandeur = UnicodeAttribute()
    siret = UnicodeAttribute(null=True)
    filtres = MapAttribute(null=True)  # type: ignore[var-annotated]
    q = UnicodeAttribute(null=True)
    cle = UnicodeAttribute()
    statut = UnicodeAttribute()
    tentatives = NumberAttribute(default=0)
    lignes = NumberAttribute(default=0)
    taille = NumberAttribute(null=True)
    raison = UnicodeAttribute(null=True)
    cree_le = UTCDateTimeAttribute()
    demarre_le = UTCDateTimeAttribute(null=True)
    termine_le = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


models.register(ExportItem, "app")


def partition(scope: str, owner: str) -> str:
    return ("EXPS#" if scope == "structure" else "EXP#") + owner


def _to_item(e: Export) -> ExportItem:
    return ExportItem(
        partition(e.scope, e.owner),
        e.id,
        nature=e.kind,
        format=e.format,
        portee=e.scope,
        mediateur_id=e.mediateur_id,
        demandeur=e.demandeur,
        siret=e.siret,
        filtres=filtres_to_map(e.filtres) or None,
        q=e.q or None,
        cle=e.cle,
        statut=e.statut,
        tentatives=e.tentatives,
        lignes=e.lignes,
        taille=e.taille,
        raison=e.raison,
        cree_le=e.cree_le,
        demarre_le=e.demarre_le,
        termine_le=e.termine_le,
        expires_at=e.cree_le + ITEM_TTL,
    )


def from_item(item: ExportItem) -> Export:
    return Export(
        id=item.sk,
        scope=item.portee,
        owner=item.pk.split("#", 1)[1],
        kind=item.nature,
        format=item.format,
        mediateur_id=item.mediateur_id,
        demandeur=item.demandeur,
        cle=item.cle,
        cree_le=item.cree_le,
        statut=item.statut,
        siret=item.siret,
        filtres=filtres_from_map(as_dict(item.filtres)),
        q=item.q or "",
        tentatives=int(item.tentatives or 0),
        lignes=int(item.lignes or 0),
        taille=int(item.taille) if item.taille is not None else None,
        raison=item.raison,
        demarre_le=item.demarre_le,
        termine_le=item.termine_le,
    )


def _key(export: Export) -> tuple[str, str, str]:
    return export.scope, export.owner, export.id


class DynamoExportStore:
    def __init__(self, db: Database) -> None:
        self._db = db  # models configured for it; transactions would use db.connection

    def create(self, export: Export) -> Export:
        item = _to_item(export)
        item.save(condition=ExportItem.sk.does_not_exist())
        return from_item(item)

    def find(self, scope: str, owner: str, export_id: str) -> Export | None:
        try:
            item = ExportItem.get(partition(scope, owner), export_id, consistent_read=True)
        except DoesNotExist:
            return None
        return from_item(item)

    def get(self, scope: str, owner: str, export_id: str) -> Export:
        found = self.find(scope, owner, export_id)
        if found is None:
            raise NotFound(export_id)
        return found

    def recent(self, scope: str, owner: str, limit: int = 50) -> list[Export]:
        """Newest first."""
        items = ExportItem.query(
            partition(scope, owner), scan_index_forward=False, limit=limit, page_size=limit
        )
        return [from_item(item) for item in items]

    # --- the worker's transitions ---------------------------------------------------------------

    def _update(
        self, key: tuple[str, str, str], actions: list[Any], condition: Any
    ) -> Export | None:
        """Apply `actions` if `condition` holds; the updated request, or None when it does not
        (or when there is no such request)."""
        scope, owner, export_id = key
        item = ExportItem(partition(scope, owner), export_id)
        try:
            item.update(actions=actions, condition=condition & ExportItem.sk.exists())
        except UpdateError as exc:
            if condition_failed(exc):
                return None
            raise
        return from_item(item)

    def claim(self, scope: str, owner: str, export_id: str, now: datetime) -> Export | None:
        """en_attente | en_cours → en_cours and one more attempt; None when the request is
        unknown or already finished (a duplicate delivery)."""
        return self._update(
            (scope, owner, export_id),
            [
                ExportItem.statut.set(EN_COURS),
                ExportItem.tentatives.add(1),
                ExportItem.demarre_le.set(now),
                ExportItem.lignes.set(0),
            ],
            ExportItem.statut.is_in(EN_ATTENTE, EN_COURS),
        )

    def progress(self, export: Export, lignes: int) -> None:
        self._update(_key(export), [ExportItem.lignes.set(lignes)], ExportItem.statut == EN_COURS)

    def done(self, export: Export, lignes: int, taille: int, now: datetime) -> Export | None:
        return self._update(
            _key(export),
            [
                ExportItem.statut.set(PRET),
                ExportItem.lignes.set(lignes),
                ExportItem.taille.set(taille),
                ExportItem.termine_le.set(now),
                ExportItem.raison.remove(),
            ],
            ExportItem.statut == EN_COURS,
        )

    def release(self, export: Export) -> None:
        """Back in the queue's hands before another attempt."""
        self._update(
            _key(export), [ExportItem.statut.set(EN_ATTENTE)], ExportItem.statut == EN_COURS
        )

    def fail(self, export: Export, raison: str, now: datetime) -> Export | None:
        return self._update(
            _key(export),
            [
                ExportItem.statut.set(ECHEC),
                ExportItem.raison.set(raison),
                ExportItem.termine_le.set(now),
            ],
            ExportItem.statut != PRET,
        )


# --- S3 and SQS adapters -----------------------------------------------------------------------


class S3ExportFiles:
    """The export bucket: private, objects deleted by a lifecycle rule after 7 days."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def upload(self, path: str, key: str, content_type: str, filename: str) -> int:
        """Multipart above 8 MB (managed transfer), straight from the file: memory stays flat."""
        self._client.upload_file(
            path,
            self._bucket,
            key,
            ExtraArgs={
                "ContentType": content_type,
                "ContentDisposition": f"attachment; filename={filename}",
                "CacheControl": NO_STORE,
                "ServerSideEncryption": "AES256",
            },
        )
        return os.path.getsize(path)

    def url(self, key: str, filename: str, content_type: str) -> str:
        """A SigV4 presigned GET, valid a few minutes, that makes browsers save the file and
        that no browser or proxy keeps (personal data, like every page)."""
        return str(
            self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": f"attachment; filename={filename}",
                    "ResponseContentType": content_type,
                    "ResponseCacheControl": NO_STORE,
                },
                ExpiresIn=PRESIGNED_SECONDS,
            )
        )


class SqsExportQueue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self._url = url

    def send(self, body: str) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=body)

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        """Bring a failed message back sooner than the queue's visibility timeout (15 min)."""
        self._client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
