"""Activities in DynamoDB.

Access patterns (the activities table, one partition per mediator):
- item     pk = MED#<mediator>  sk = ACT#<id>          the activity (stream: NEW_AND_OLD_IMAGES)
- lsi1     pk = MED#<mediator>  lsi1sk = <date>#<id>   newest first, période as a key range
Links to followed beneficiaries live in the beneficiaries table, one per (beneficiary, activity)
(`store/beneficiaires.py`):
- link     pk = BEN#<beneficiary> sk = ACT#<date>#<id>  a beneficiary's history without a scan
Idempotency keys live in the app table (pk = IDEM#<mediator>, sk = <key digest>, 24 h TTL).
Every write is one transaction: the activity, its links and its idempotency key change together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.constants import COUNT
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.activites import (
    Activite,
    ActiviteInput,
    Anonyme,
    Filtres,
    Instantane,
    Page,
    ParticipantsAnonymes,
    Personne,
)
from chalicelib.domain.errors import Conflict, DuplicateRequest, IdempotencyKeyReused, NotFound
from chalicelib.store import models
from chalicelib.store.beneficiaires import (
    LienBeneficiaireItem,
    activity_links,
    link_items,
    touch_links,
)
from chalicelib.store.dynamo import (
    ACT,
    BEN,
    IDEM,
    as_dict,
    condition_failed,
    decode_cursor,
    encode_cursor,
    med,
    transact,
)
from chalicelib.store.models import Database, _Meta

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_CURSOR_PART = 60


class ParDate(LocalSecondaryIndex["ActiviteItem"]):
    class Meta:
        index_name = "lsi1"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    lsi1sk = UnicodeAttribute(range_key=True)


class ActiviteItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    lsi1sk = UnicodeAttribute()
    par_date = ParDate()
    kind = UnicodeAttribute(default="activite")  # the stream projector keys on it
    mediateur_id = UnicodeAttribute()
    type = UnicodeAttribute()
    date = UnicodeAttribute()
    duree = NumberAttribute()
    canal = UnicodeAttribute()
    lieu_id = UnicodeAttribute(null=True)
    commune_insee = UnicodeAttribute(null=True)
    materiel = ListAttribute(of=UnicodeAttribute, null=True)
    thematiques = ListAttribute(of=UnicodeAttribute, null=True)
    thematiques_demarche = ListAttribute(of=UnicodeAttribute, null=True)
    nom_demarche = UnicodeAttribute(null=True)
    finalisation = UnicodeAttribute(null=True)
    autonomie = UnicodeAttribute(null=True)
    oriente = BooleanAttribute(null=True)
    structure_redirection = UnicodeAttribute(null=True)
    partenaire_id = UnicodeAttribute(null=True)
    poursuite = UnicodeAttribute(null=True)
    beneficiaire_id = UnicodeAttribute(null=True)
    anonyme = MapAttribute(null=True)  # type: ignore[var-annotated]
    titre_atelier = UnicodeAttribute(null=True)
    niveau = UnicodeAttribute(null=True)
    participants_ids = ListAttribute(of=UnicodeAttribute, null=True)
    participants_anonymes = MapAttribute(null=True)  # type: ignore[var-annotated]
    autonomies = MapAttribute(null=True)  # type: ignore[var-annotated]
    participants = NumberAttribute()
    personnes = ListAttribute(of=MapAttribute, null=True)
    commune_lieu = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    notes_confirmees = BooleanAttribute(null=True)
    cree_le = UTCDateTimeAttribute()
    modifie_le = UTCDateTimeAttribute()
    version = VersionAttribute()


class IdempotencyItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # IDEM#<mediator>
    sk = UnicodeAttribute(range_key=True)  # sha256(key)
    activite_id = UnicodeAttribute()
    empreinte = UnicodeAttribute(null=True)  # digest of what the first request said
    expires_at = TTLAttribute()


models.register(ActiviteItem, "activities")
models.register(IdempotencyItem, "app")


# --- mapping ----------------------------------------------------------------------------------


def _none_if_empty(values: tuple[str, ...]) -> list[str] | None:
    return list(values) if values else None


def _anonyme_map(anonyme: Anonyme | None) -> dict[str, Any] | None:
    if anonyme is None:
        return None
    return {k: v for k, v in asdict(anonyme).items() if v is not None} or None


def _participants_map(pa: ParticipantsAnonymes | None) -> dict[str, Any] | None:
    if pa is None:
        return None
    return {
        "total": pa.total,
        "deja_accompagnes": pa.deja_accompagnes,
        "genres": {k: v for k, v in pa.genres.items() if v},
        "tranches_age": {k: v for k, v in pa.tranches_age.items() if v},
        "statuts": {k: v for k, v in pa.statuts.items() if v},
    }


def _personne_map(p: Personne) -> dict[str, str]:
    return {k: v for k, v in asdict(p).items() if v is not None}


def to_item(
    mediateur_id: str,
    activite_id: str,
    data: ActiviteInput,
    created: datetime,
    now: datetime,
    instantane: Instantane = Instantane(),  # noqa: B008 - immutable
) -> ActiviteItem:
    assert data.date is not None
    assert data.duree is not None
    assert data.canal is not None
    day = data.date.isoformat()
    return ActiviteItem(
        med(mediateur_id),
        ACT + activite_id,
        lsi1sk=f"{day}#{activite_id}",
        mediateur_id=mediateur_id,
        type=data.type,
        date=day,
        duree=data.duree,
        canal=data.canal,
        lieu_id=data.lieu_id,
        commune_insee=data.commune_insee,
        materiel=_none_if_empty(data.materiel),
        thematiques=_none_if_empty(data.thematiques),
        thematiques_demarche=_none_if_empty(data.thematiques_demarche),
        nom_demarche=data.nom_demarche,
        finalisation=data.finalisation,
        autonomie=data.autonomie,
        oriente=data.oriente,
        structure_redirection=data.structure_redirection,
        partenaire_id=data.partenaire_id,
        poursuite=data.poursuite,
        beneficiaire_id=data.beneficiaire_id,
        anonyme=_anonyme_map(data.anonyme),
        titre_atelier=data.titre_atelier,
        niveau=data.niveau,
        participants_ids=_none_if_empty(data.participants_ids),
        participants_anonymes=_participants_map(data.participants_anonymes),
        autonomies=dict(data.autonomies) or None,
        participants=data.participants,
        personnes=[_personne_map(p) for p in instantane.personnes] or None,
        commune_lieu=instantane.commune_lieu,
        notes=data.notes or None,
        notes_confirmees=data.confirmer_notes or None,
        cree_le=created,
        modifie_le=now,
    )


def _counts(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in as_dict(value).items()}


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or ()))


def from_item(item: ActiviteItem) -> Activite:
    anonyme = as_dict(item.anonyme)
    pa = as_dict(item.participants_anonymes)
    data = ActiviteInput(
        type=item.type,
        date=date.fromisoformat(item.date),
        duree=int(item.duree),
        canal=item.canal,
        lieu_id=item.lieu_id,
        commune_insee=item.commune_insee,
        materiel=_strings(item.materiel),
        thematiques=_strings(item.thematiques),
        notes=item.notes or "",
        confirmer_notes=bool(item.notes_confirmees),
        beneficiaire_id=item.beneficiaire_id,
        anonyme=Anonyme(**anonyme) if anonyme else None,
        autonomie=item.autonomie,
        oriente=item.oriente,
        structure_redirection=item.structure_redirection,
        partenaire_id=item.partenaire_id,
        poursuite=item.poursuite,
        thematiques_demarche=_strings(item.thematiques_demarche),
        nom_demarche=item.nom_demarche,
        finalisation=item.finalisation,
        titre_atelier=item.titre_atelier,
        niveau=item.niveau,
        participants_ids=_strings(item.participants_ids),
        autonomies={str(k): str(v) for k, v in as_dict(item.autonomies).items()},
        participants_anonymes=ParticipantsAnonymes(
            total=int(pa.get("total", 0)),
            deja_accompagnes=int(pa.get("deja_accompagnes", 0)),
            genres=_counts(pa.get("genres")),
            tranches_age=_counts(pa.get("tranches_age")),
            statuts=_counts(pa.get("statuts")),
        )
        if pa
        else None,
    )
    return Activite(
        id=item.sk.removeprefix("ACT#"),
        mediateur_id=item.mediateur_id,
        data=data,
        version=int(item.version or 1),
        cree_le=item.cree_le,
        modifie_le=item.modifie_le,
        personnes=tuple(
            Personne(**{k: str(v) for k, v in as_dict(p).items() if k in _PERSONNE_FIELDS})
            for p in item.personnes or ()
        ),
        commune_lieu=item.commune_lieu,
    )


_PERSONNE_FIELDS = ("id", "genre", "tranche_age", "statut", "commune_insee")


def _links(mediateur_id: str, activite_id: str, data: ActiviteInput) -> list[LienBeneficiaireItem]:
    assert data.date is not None
    return link_items(
        mediateur_id, activite_id, data.date, data.duree or 0, data, data.beneficiaires_lies()
    )


# --- the repository ---------------------------------------------------------------------------


class DynamoActivityStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, mediateur_id: str, activite_id: str) -> Activite:
        try:
            return from_item(
                ActiviteItem.get(med(mediateur_id), ACT + activite_id, consistent_read=True)
            )
        except DoesNotExist:
            raise NotFound(activite_id) from None

    def create(
        self,
        mediateur_id: str,
        activite_id: str,
        data: ActiviteInput,
        now: datetime,
        idempotency_key: str | None,
        instantane: Instantane = Instantane(),  # noqa: B008 - immutable
    ) -> Activite:
        """Save a new activity, its links and its idempotency key in one transaction. A key used
        before answers what it created (DuplicateRequest) when it was for the same values,
        IdempotencyKeyReused when it was for other values (nothing is saved then)."""
        item = to_item(mediateur_id, activite_id, data, now, now, instantane)
        empreinte = data.empreinte()

        def write(tx: TransactWrite) -> None:
            tx.save(item, condition=ActiviteItem.sk.does_not_exist())
            if idempotency_key:
                tx.save(
                    IdempotencyItem(
                        IDEM + mediateur_id,
                        _digest(idempotency_key),
                        activite_id=activite_id,
                        empreinte=empreinte,
                        expires_at=now + IDEMPOTENCY_TTL,
                    ),
                    condition=IdempotencyItem.sk.does_not_exist(),
                )
            for link in _links(mediateur_id, activite_id, data):
                tx.save(link)
            touch_links(tx, mediateur_id, data.beneficiaires_lies())

        try:
            transact(self._db.connection, write)
        except TransactWriteError:
            earlier = self._earlier(mediateur_id, idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            if earlier.empreinte and earlier.empreinte != empreinte:
                raise IdempotencyKeyReused(earlier.activite_id) from None
            raise DuplicateRequest(earlier.activite_id) from None
        return from_item(item)

    def _earlier(self, mediateur_id: str, key: str) -> IdempotencyItem | None:
        try:
            return IdempotencyItem.get(IDEM + mediateur_id, _digest(key), consistent_read=True)
        except DoesNotExist:
            return None

    def update(
        self,
        current: Activite,
        data: ActiviteInput,
        expected_version: int,
        now: datetime,
        instantane: Instantane = Instantane(),  # noqa: B008 - immutable
    ) -> Activite:
        item = to_item(current.mediateur_id, current.id, data, current.cree_le, now, instantane)
        item.version = expected_version  # saved only if the stored version is still this one
        old_links = {
            (link.pk, link.sk) for link in _links(current.mediateur_id, current.id, current.data)
        }
        new_links = _links(current.mediateur_id, current.id, data)
        changed = old_links ^ {(link.pk, link.sk) for link in new_links}
        touched = sorted({pk.removeprefix(BEN) for pk, _ in changed})

        def write(tx: TransactWrite) -> None:
            tx.save(item)
            for pk, sk in old_links - {(link.pk, link.sk) for link in new_links}:
                tx.delete(LienBeneficiaireItem(pk, sk))
            for link in new_links:
                tx.save(link)
            touch_links(tx, current.mediateur_id, touched)

        try:
            transact(self._db.connection, write)
        except TransactWriteError as exc:
            # pynamodb sends deletes before puts: the activity is not always the first item, but
            # it is the only one with a condition.
            if condition_failed(exc):
                raise Conflict(current.id) from None
            raise
        return from_item(item)

    def delete(self, current: Activite, expected_version: int | None) -> None:
        item = ActiviteItem(med(current.mediateur_id), ACT + current.id)
        item.version = expected_version if expected_version is not None else current.version

        def write(tx: TransactWrite) -> None:
            tx.delete(item)
            for link in _links(current.mediateur_id, current.id, current.data):
                tx.delete(LienBeneficiaireItem(link.pk, link.sk))
            touch_links(tx, current.mediateur_id, current.data.beneficiaires_lies())

        try:
            transact(self._db.connection, write)
        except TransactWriteError as exc:
            if condition_failed(exc):
                raise Conflict(current.id) from None
            raise

    # --- reads --------------------------------------------------------------------------------

    def page(self, mediateur_id: str, filtres: Filtres, cursor: str | None, limit: int) -> Page:
        """Newest first, `limit` items that match, and a cursor when there may be more."""
        start = decode_cursor(cursor, ACT, MAX_CURSOR_PART)
        items: list[Activite] = []
        last: ActiviteItem | None = None
        for item in self._query(mediateur_id, filtres, start, limit):
            items.append(from_item(item))
            last = item
            if len(items) == limit:
                break
        else:
            return Page(items, None)
        assert last is not None
        return Page(items, encode_cursor(last.sk, last.lsi1sk))

    def between(
        self, mediateur_id: str, filtres: Filtres, consistent: bool = False, batch: int = 100
    ) -> Iterator[Activite]:
        """Every matching activity, newest first (statistics, exports). `batch`: about half the
        items read per DynamoDB page (exports read big pages: fewer round trips)."""
        for item in self._query(mediateur_id, filtres, None, batch, consistent):
            yield from_item(item)

    def count(self, mediateur_id: str, filtres: Filtres, cap: int) -> int:
        """How many activities match, at most `cap`: the list's query with Select=COUNT (no
        item comes back), page after page until the end of the range or `cap`."""
        low, high = _date_range(filtres)
        connection = ActiviteItem._get_connection()
        total, start = 0, None
        while True:
            answer = connection.query(
                med(mediateur_id),
                range_key_condition=ActiviteItem.lsi1sk.between(low, high),
                filter_condition=_filter_condition(filtres),
                index_name=ActiviteItem.par_date.Meta.index_name,
                select=COUNT,
                exclusive_start_key=start,
            )
            total += int(answer.get("Count", 0))
            start = answer.get("LastEvaluatedKey")
            if not start or total >= cap:
                return min(total, cap)

    def _query(
        self,
        mediateur_id: str,
        filtres: Filtres,
        start: tuple[str, str] | None,
        limit: int,
        consistent: bool = False,
    ) -> Iterator[ActiviteItem]:
        low = filtres.du.isoformat() if filtres.du else "0000"
        high = (filtres.au.isoformat() if filtres.au else "9999") + "#~"
        if start and not low <= start[1] <= high:
            start = None  # a cursor from other filters (or forged): DynamoDB would refuse it
        exclusive_start = (
            {"pk": {"S": med(mediateur_id)}, "sk": {"S": start[0]}, "lsi1sk": {"S": start[1]}}
            if start
            else None
        )
        return ActiviteItem.par_date.query(
            med(mediateur_id),
            ActiviteItem.lsi1sk.between(low, high),
            filter_condition=_filter_condition(filtres),
            scan_index_forward=False,
            consistent_read=consistent,
            last_evaluated_key=exclusive_start,
            page_size=max(limit * 2, 25),
        )

    def recent(self, mediateur_id: str, count: int) -> list[Activite]:
        return self.page(mediateur_id, Filtres(), None, count).items

    def for_beneficiaire(self, mediateur_id: str, beneficiaire_id: str) -> list[Activite]:
        """The mediator's activities linked to this person, newest first (links + one batch)."""
        ids = [a for m, a in self.ids_for_beneficiaire(beneficiaire_id) if m == mediateur_id]
        keys = [(med(mediateur_id), ACT + i) for i in ids]
        found = {item.sk.removeprefix("ACT#"): item for item in ActiviteItem.batch_get(keys)}
        return [from_item(found[i]) for i in ids if i in found]

    def ids_for_beneficiaire(self, beneficiaire_id: str) -> list[tuple[str, str]]:
        """(mediator id, activity id) of a beneficiary's activities, newest first."""
        return activity_links(beneficiaire_id)


def _date_range(filtres: Filtres) -> tuple[str, str]:
    """The index range (`lsi1sk` = date#id) of the période, as `_query` reads it."""
    low = filtres.du.isoformat() if filtres.du else "0000"
    high = (filtres.au.isoformat() if filtres.au else "9999") + "#~"
    return low, high


def _filter_condition(filtres: Filtres) -> Any:
    conditions = []
    if filtres.type:
        conditions.append(ActiviteItem.type == filtres.type)
    if filtres.canal:
        conditions.append(ActiviteItem.canal == filtres.canal)
    if filtres.lieu:
        conditions.append(ActiviteItem.lieu_id == filtres.lieu)
    if filtres.thematique:
        conditions.append(
            ActiviteItem.thematiques.contains(filtres.thematique)
            | ActiviteItem.thematiques_demarche.contains(filtres.thematique)
        )
    if filtres.beneficiaire:
        conditions.append(
            (ActiviteItem.beneficiaire_id == filtres.beneficiaire)
            | ActiviteItem.participants_ids.contains(filtres.beneficiaire)
        )
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
