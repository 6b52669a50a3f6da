"""Beneficiaries in DynamoDB (the beneficiaries table).

- item   pk = MED#<mediator>  sk = BEN#<id>             the person (one mediator only)
- lsi1   pk = MED#<mediator>  lsi1sk = <nom prénom>#<id> the list sorted by name, paginated
- index  pk = IDX#<mediator>  sk = <word>#<id>           one entry per searchable word:
         a search reads the entries whose word starts with the longest typed word, inside the
         mediator's own partition — never anyone else's data, and reads that do not grow with
         the number of beneficiaries
- links  pk = BEN#<id>        sk = ACT#<date>#<activity> written by the activities store
Deleting a person (pseudonymisation) removes the identifying fields and every index entry in
one transaction; the links stay so that past activities keep counting.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from contextlib import suppress
from datetime import date
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.beneficiaires import Beneficiaire, BeneficiaireInput
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.recherche import key_word, matches, score, sort_key_nom
from chalicelib.store import models
from chalicelib.store.activites import LienBeneficiaireItem
from chalicelib.store.models import _Meta

MAX_INDEX_READS = 2000  # a one-letter search stops there; the page says to type more


class ParNom(LocalSecondaryIndex["BeneficiaireItem"]):
    class Meta:
        index_name = "lsi1"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    lsi1sk = UnicodeAttribute(range_key=True)


class BeneficiaireItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    lsi1sk = UnicodeAttribute()
    par_nom = ParNom()
    kind = UnicodeAttribute(default="beneficiaire")
    prenom = UnicodeAttribute(null=True)
    nom = UnicodeAttribute(null=True)
    annee_naissance = NumberAttribute(null=True)
    telephone = UnicodeAttribute(null=True)
    pas_de_telephone = BooleanAttribute(null=True)
    email = UnicodeAttribute(null=True)
    commune_insee = UnicodeAttribute(null=True)
    genre = UnicodeAttribute(null=True)
    tranche_age = UnicodeAttribute(null=True)
    statut = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    notes_confirmees = BooleanAttribute(null=True)
    nombre_accompagnements = NumberAttribute(default=0)
    liens_seq = NumberAttribute(default=0)  # +1 at every link change: guards date refreshes
    premier_accompagnement = UnicodeAttribute(null=True)
    dernier_accompagnement = UnicodeAttribute(null=True)
    supprime = BooleanAttribute(null=True)
    cree_le = UTCDateTimeAttribute()
    modifie_le = UTCDateTimeAttribute()
    version = VersionAttribute()


class IndexItem(Model):
    """One searchable word of one beneficiary, with what ranking and matching need."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # IDX#<mediator>
    sk = UnicodeAttribute(range_key=True)  # <word>#<beneficiary id>
    kind = UnicodeAttribute(default="index")
    beneficiaire_id = UnicodeAttribute()
    prenom = UnicodeAttribute()
    nom = UnicodeAttribute()
    tokens = ListAttribute(of=UnicodeAttribute)


models.register(BeneficiaireItem, "beneficiaries")
models.register(IndexItem, "beneficiaries")


def _med(mediateur_id: str) -> str:
    return "MED#" + mediateur_id


def _ben(beneficiaire_id: str) -> str:
    return "BEN#" + beneficiaire_id


def _to_item(b: Beneficiaire) -> BeneficiaireItem:
    d = b.data
    return BeneficiaireItem(
        _med(b.mediateur_id),
        _ben(b.id),
        lsi1sk=f"{sort_key_nom(d.prenom, d.nom)[:200]}#{b.id}",
        prenom=d.prenom or None,
        nom=d.nom or None,
        annee_naissance=d.annee_naissance,
        telephone=d.telephone,
        pas_de_telephone=d.pas_de_telephone or None,
        email=d.email,
        commune_insee=d.commune_insee,
        genre=d.genre,
        tranche_age=d.tranche_age,
        statut=d.statut,
        notes=d.notes or None,
        notes_confirmees=d.confirmer_notes or None,
        nombre_accompagnements=b.nombre_accompagnements,
        premier_accompagnement=b.premier_accompagnement.isoformat()
        if b.premier_accompagnement
        else None,
        dernier_accompagnement=b.dernier_accompagnement.isoformat()
        if b.dernier_accompagnement
        else None,
        supprime=b.supprime or None,
        cree_le=b.cree_le,
        modifie_le=b.modifie_le,
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def from_item(item: BeneficiaireItem) -> Beneficiaire:
    data = BeneficiaireInput(
        prenom=item.prenom or "",
        nom=item.nom or "",
        annee_naissance=int(item.annee_naissance) if item.annee_naissance is not None else None,
        telephone=item.telephone,
        pas_de_telephone=bool(item.pas_de_telephone),
        email=item.email,
        commune_insee=item.commune_insee,
        genre=item.genre,
        tranche_age=item.tranche_age,
        statut=item.statut,
        notes=item.notes or "",
        confirmer_notes=bool(item.notes_confirmees),
    )
    return Beneficiaire(
        id=item.sk.removeprefix("BEN#"),
        mediateur_id=item.pk.removeprefix("MED#"),
        data=data,
        version=int(item.version or 1),
        cree_le=item.cree_le,
        modifie_le=item.modifie_le,
        nombre_accompagnements=int(item.nombre_accompagnements or 0),
        premier_accompagnement=_date(item.premier_accompagnement),
        dernier_accompagnement=_date(item.dernier_accompagnement),
        supprime=bool(item.supprime),
    )


def _index_items(b: Beneficiaire, tokens: frozenset[str]) -> list[IndexItem]:
    ordered = sorted(tokens)
    return [
        IndexItem(
            "IDX#" + b.mediateur_id,
            f"{token}#{b.id}",
            beneficiaire_id=b.id,
            prenom=b.data.prenom,
            nom=b.data.nom,
            tokens=ordered,
        )
        for token in ordered
    ]


def _is_condition_failure(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(getattr(r, "code", None) == "ConditionalCheckFailed" for r in reasons if r)


def encode_cursor(lsi1sk: str, sk: str) -> str:
    raw = json.dumps([sk, lsi1sk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    """Only sort keys travel in a cursor; the partition always comes from the session."""
    if not cursor or len(cursor) > 600:
        return None
    try:
        sk, lsi1sk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    if not (isinstance(sk, str) and isinstance(lsi1sk, str) and sk.startswith("BEN#")):
        return None
    return sk, lsi1sk


class DynamoBeneficiaryStore:
    # --- writes -------------------------------------------------------------------------------

    def create(self, b: Beneficiaire, tokens: frozenset[str]) -> Beneficiaire:
        item = _to_item(b)
        with TransactWrite(connection=models.connection()) as tx:
            tx.save(item, condition=BeneficiaireItem.sk.does_not_exist())
            for entry in _index_items(b, tokens):
                tx.save(entry)
        return from_item(item)

    def update(
        self,
        current: Beneficiaire,
        updated: Beneficiaire,
        old_tokens: frozenset[str],
        new_tokens: frozenset[str],
        expected_version: int,
    ) -> Beneficiaire:
        """Replace the person's fields (not the counters) if nobody saved meanwhile."""
        item = BeneficiaireItem(_med(current.mediateur_id), _ben(current.id))
        item.version = expected_version
        actions = _field_actions(updated)
        try:
            with TransactWrite(connection=models.connection()) as tx:
                tx.update(
                    item, actions=actions, condition=BeneficiaireItem.supprime.does_not_exist()
                )
                for token in old_tokens - new_tokens:
                    tx.delete(IndexItem("IDX#" + current.mediateur_id, f"{token}#{current.id}"))
                for entry in _index_items(updated, new_tokens):
                    tx.save(entry)
        except TransactWriteError as exc:
            if _is_condition_failure(exc):
                raise Conflict(current.id) from None
            raise
        return self.get(current.mediateur_id, current.id)

    def pseudonymise(
        self, current: Beneficiaire, gone: Beneficiaire, tokens: frozenset[str]
    ) -> None:
        """Identifying fields and index entries disappear together, for good."""
        item = BeneficiaireItem(_med(current.mediateur_id), _ben(current.id))
        actions = [*_field_actions(gone), BeneficiaireItem.supprime.set(True)]
        with TransactWrite(connection=models.connection()) as tx:
            tx.update(item, actions=actions, add_version_condition=False)
            for token in tokens:
                tx.delete(IndexItem("IDX#" + current.mediateur_id, f"{token}#{current.id}"))

    # --- reads --------------------------------------------------------------------------------

    def get(self, mediateur_id: str, beneficiaire_id: str) -> Beneficiaire:
        try:
            item = BeneficiaireItem.get(
                _med(mediateur_id), _ben(beneficiaire_id), consistent_read=True
            )
        except DoesNotExist:
            raise NotFound(beneficiaire_id) from None
        return from_item(item)

    def get_many(self, mediateur_id: str, ids: Iterable[str]) -> dict[str, Beneficiaire]:
        keys = [(_med(mediateur_id), _ben(i)) for i in dict.fromkeys(ids)]
        found = {}
        for item in BeneficiaireItem.batch_get(keys):
            b = from_item(item)
            found[b.id] = b
        return found

    def existing_ids(self, mediateur_id: str, ids: Iterable[str]) -> set[str]:
        """Which of these ids are the mediator's own, not deleted, beneficiaries."""
        return {b.id for b in self.get_many(mediateur_id, ids).values() if not b.supprime}

    def page_by_name(
        self, mediateur_id: str, cursor: str | None, limit: int
    ) -> tuple[list[Beneficiaire], str | None]:
        start = decode_cursor(cursor)
        last_key = (
            {"pk": {"S": _med(mediateur_id)}, "sk": {"S": start[0]}, "lsi1sk": {"S": start[1]}}
            if start
            else None
        )
        found: list[BeneficiaireItem] = []
        for item in BeneficiaireItem.par_nom.query(
            _med(mediateur_id),
            filter_condition=BeneficiaireItem.supprime.does_not_exist(),
            last_evaluated_key=last_key,
            page_size=limit + 1,
        ):
            found.append(item)
            if len(found) > limit:
                last = found[limit - 1]
                return [from_item(i) for i in found[:limit]], encode_cursor(last.lsi1sk, last.sk)
        return [from_item(i) for i in found], None

    def all_active(self, mediateur_id: str) -> list[Beneficiaire]:
        return [
            from_item(item)
            for item in BeneficiaireItem.query(
                _med(mediateur_id),
                BeneficiaireItem.sk.startswith("BEN#"),
                filter_condition=BeneficiaireItem.supprime.does_not_exist(),
            )
        ]

    def search(self, mediateur_id: str, words: list[str], limit: int) -> tuple[list[str], bool]:
        """Ids of the best matches (ranked) and whether the read was cut short."""
        ranked: dict[str, tuple[Any, ...]] = {}
        reads = 0
        for entry in IndexItem.query(
            "IDX#" + mediateur_id, IndexItem.sk.startswith(key_word(words))
        ):
            reads += 1
            if reads > MAX_INDEX_READS:
                break
            tokens: frozenset[str] = frozenset(str(t) for t in entry.tokens or ())
            if entry.beneficiaire_id not in ranked and matches(words, tokens):
                ranked[entry.beneficiaire_id] = score(words, entry.prenom, entry.nom, tokens)
        ordered = sorted(ranked, key=lambda i: ranked[i])
        return ordered[:limit], reads > MAX_INDEX_READS

    # --- counters maintained by the activities store ------------------------------------------

    def link_counts(self, beneficiaire_id: str) -> tuple[int, date | None, date | None]:
        """Accompagnements, first and last dates, straight from the links."""
        dates = [
            link.date
            for link in LienBeneficiaireItem.query(_ben(beneficiaire_id), consistent_read=True)
        ]
        if not dates:
            return 0, None, None
        return len(dates), date.fromisoformat(min(dates)), date.fromisoformat(max(dates))

    def refresh_counters(self, mediateur_id: str, beneficiaire_id: str) -> None:
        """Recompute count and dates from the links, and file the person under the month of
        their first accompaniment ever (statistics "dont nouveaux"). One transaction, guarded by
        `liens_seq`: a refresh that read before a later link change never overwrites it."""
        from chalicelib.store.stats import NewcomersItem, ensure_newcomers, structure_of

        try:
            item = BeneficiaireItem.get(
                _med(mediateur_id), _ben(beneficiaire_id), consistent_read=True
            )
        except DoesNotExist:
            return
        seq = int(item.liens_seq or 0)
        before = item.premier_accompagnement
        count, first, last = self.link_counts(beneficiaire_id)
        after = first.isoformat() if first else None
        months = {d[:7] for d in (before, after) if d}
        # The structure's statistics file the same newcomers (its "dont nouveaux").
        siret = structure_of(mediateur_id) if months else None
        owners = [_med(mediateur_id), *(["STR#" + siret] if siret else [])]
        for month in months:
            for owner in owners:
                ensure_newcomers(owner, month)
        # A newer link change makes the condition fail: its own refresh writes the right values.
        with suppress(TransactWriteError), TransactWrite(connection=models.connection()) as tx:
            tx.update(
                item,
                actions=_counter_actions(count, first, last),
                condition=BeneficiaireItem.liens_seq == seq,
                add_version_condition=False,
            )
            for month in sorted(months):
                for owner in owners:
                    newcomer = NewcomersItem(owner, "P#" + month)
                    if after and after[:7] == month:
                        action = NewcomersItem.ids[beneficiaire_id].set(after)
                    else:
                        action = NewcomersItem.ids[beneficiaire_id].remove()
                    tx.update(newcomer, actions=[action])


def _counter_actions(count: int, first: date | None, last: date | None) -> list[Any]:
    return [
        BeneficiaireItem.nombre_accompagnements.set(count),
        BeneficiaireItem.premier_accompagnement.set(first.isoformat())
        if first
        else BeneficiaireItem.premier_accompagnement.remove(),
        BeneficiaireItem.dernier_accompagnement.set(last.isoformat())
        if last
        else BeneficiaireItem.dernier_accompagnement.remove(),
    ]


def _field_actions(b: Beneficiaire) -> list[Any]:
    d = b.data
    # Pairs, not a dict: pynamodb attributes overload `==` (conditions) and are not hashable.
    values: list[tuple[Any, Any]] = [
        (BeneficiaireItem.prenom, d.prenom or None),
        (BeneficiaireItem.nom, d.nom or None),
        (BeneficiaireItem.annee_naissance, d.annee_naissance),
        (BeneficiaireItem.telephone, d.telephone),
        (BeneficiaireItem.pas_de_telephone, d.pas_de_telephone or None),
        (BeneficiaireItem.email, d.email),
        (BeneficiaireItem.commune_insee, d.commune_insee),
        (BeneficiaireItem.genre, d.genre),
        (BeneficiaireItem.tranche_age, d.tranche_age),
        (BeneficiaireItem.statut, d.statut),
        (BeneficiaireItem.notes, d.notes or None),
        (BeneficiaireItem.notes_confirmees, d.confirmer_notes or None),
    ]
    actions = [attr.set(value) if value is not None else attr.remove() for attr, value in values]
    actions.append(BeneficiaireItem.lsi1sk.set(f"{sort_key_nom(d.prenom, d.nom)[:200]}#{b.id}"))
    actions.append(BeneficiaireItem.modifie_le.set(b.modifie_le))
    return actions
