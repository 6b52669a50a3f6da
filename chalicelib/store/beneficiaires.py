"""Beneficiaries in DynamoDB (the beneficiaries table).

- item   pk = MED#<mediator>  sk = BEN#<id>             the person (one mediator only)
- lsi1   pk = MED#<mediator>  lsi1sk = <nom prénom>#<id> the list sorted by name, paginated
- index  pk = IDX#<mediator>  sk = <word>#<id>           one entry per searchable word:
         a search reads the entries whose word starts with the longest typed word, inside the
         mediator's own partition — never anyone else's data, and reads that do not grow with
         the number of beneficiaries
- links  pk = BEN#<id>        sk = ACT#<date>#<activity> one per (person, activity), written
         with the activity by the activities store (`link_items`, `touch_actions`)
Deleting a person (pseudonymisation) removes the identifying fields and every index entry in
one transaction; the links stay so that past activities keep counting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from chalicelib.stats.nouveaux import Filing, Links
from chalicelib.store import models
from chalicelib.store.dynamo import (
    BEN,
    IDX,
    ben,
    condition_failed,
    decode_cursor,
    encode_cursor,
    med,
    owner_key,
    transact,
)
from chalicelib.store.models import Database, _Meta
from chalicelib.store.stats import NewcomersItem, ensure_newcomers

MAX_INDEX_READS = 2000
MAX_CURSOR_PART = 400  # a one-letter search stops there; the page says to type more


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


class LienBeneficiaireItem(Model):
    """One (beneficiary, activity) link with what the profile page shows without another read."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # BEN#<beneficiary>
    sk = UnicodeAttribute(range_key=True)  # ACT#<date>#<activity>
    kind = UnicodeAttribute(default="lien")
    mediateur_id = UnicodeAttribute()
    activite_id = UnicodeAttribute()
    type = UnicodeAttribute()
    date = UnicodeAttribute()
    duree = NumberAttribute()
    thematiques = ListAttribute(of=UnicodeAttribute, null=True)
    thematiques_demarche = ListAttribute(of=UnicodeAttribute, null=True)
    autonomie = UnicodeAttribute(null=True)


models.register(BeneficiaireItem, "beneficiaries")
models.register(IndexItem, "beneficiaries")
models.register(LienBeneficiaireItem, "beneficiaries")


def _to_item(b: Beneficiaire) -> BeneficiaireItem:
    d = b.data
    return BeneficiaireItem(
        med(b.mediateur_id),
        ben(b.id),
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
            IDX + b.mediateur_id,
            f"{token}#{b.id}",
            beneficiaire_id=b.id,
            prenom=b.data.prenom,
            nom=b.data.nom,
            tokens=ordered,
        )
        for token in ordered
    ]


class DynamoBeneficiaryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- writes -------------------------------------------------------------------------------

    def create(self, b: Beneficiaire, tokens: frozenset[str]) -> Beneficiaire:
        item = _to_item(b)

        def write(tx: TransactWrite) -> None:
            tx.save(item, condition=BeneficiaireItem.sk.does_not_exist())
            for entry in _index_items(b, tokens):
                tx.save(entry)

        transact(self._db.connection, write)
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
        item = BeneficiaireItem(med(current.mediateur_id), ben(current.id))
        item.version = expected_version
        actions = _field_actions(updated)

        def write(tx: TransactWrite) -> None:
            # Not if deleted meanwhile (the delete removed the words it knew of), and only over
            # the version read (its words are the ones removed here).
            tx.update(item, actions=actions, condition=BeneficiaireItem.supprime.does_not_exist())
            for token in old_tokens - new_tokens:
                tx.delete(IndexItem(IDX + current.mediateur_id, f"{token}#{current.id}"))
            for entry in _index_items(updated, new_tokens):
                tx.save(entry)

        try:
            transact(self._db.connection, write)
        except TransactWriteError as exc:
            if condition_failed(exc):
                raise Conflict(current.id) from None
            raise
        return self.get(current.mediateur_id, current.id)

    def pseudonymise(
        self, current: Beneficiaire, gone: Beneficiaire, tokens: frozenset[str]
    ) -> None:
        """Identifying fields and index entries disappear together, for good — only over the
        version read, whose words `tokens` are: an edit saved since wrote other words, and the
        delete must read again (Conflict) to remove those."""
        item = BeneficiaireItem(med(current.mediateur_id), ben(current.id))
        item.version = current.version
        actions = [*_field_actions(gone), BeneficiaireItem.supprime.set(True)]

        def write(tx: TransactWrite) -> None:
            tx.update(item, actions=actions)
            for token in tokens:
                tx.delete(IndexItem(IDX + current.mediateur_id, f"{token}#{current.id}"))

        try:
            transact(self._db.connection, write)
        except TransactWriteError as exc:
            if condition_failed(exc):
                raise Conflict(current.id) from None
            raise

    # --- reads --------------------------------------------------------------------------------

    def get(self, mediateur_id: str, beneficiaire_id: str) -> Beneficiaire:
        try:
            item = BeneficiaireItem.get(
                med(mediateur_id), ben(beneficiaire_id), consistent_read=True
            )
        except DoesNotExist:
            raise NotFound(beneficiaire_id) from None
        return from_item(item)

    def get_many(self, mediateur_id: str, ids: Iterable[str]) -> dict[str, Beneficiaire]:
        keys = [(med(mediateur_id), ben(i)) for i in dict.fromkeys(ids)]
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
        start = decode_cursor(cursor, BEN, MAX_CURSOR_PART)
        last_key = (
            {"pk": {"S": med(mediateur_id)}, "sk": {"S": start[0]}, "lsi1sk": {"S": start[1]}}
            if start
            else None
        )
        found: list[BeneficiaireItem] = []
        for item in BeneficiaireItem.par_nom.query(
            med(mediateur_id),
            filter_condition=BeneficiaireItem.supprime.does_not_exist(),
            last_evaluated_key=last_key,
            page_size=limit + 1,
        ):
            found.append(item)
            if len(found) > limit:
                last = found[limit - 1]
                return [from_item(i) for i in found[:limit]], encode_cursor(last.sk, last.lsi1sk)
        return [from_item(i) for i in found], None

    def all_active(self, mediateur_id: str) -> list[Beneficiaire]:
        return [
            from_item(item)
            for item in BeneficiaireItem.query(
                med(mediateur_id),
                BeneficiaireItem.sk.startswith("BEN#"),
                filter_condition=BeneficiaireItem.supprime.does_not_exist(),
            )
        ]

    def search(self, mediateur_id: str, words: list[str], limit: int) -> tuple[list[str], bool]:
        """Ids of the best matches (ranked) and whether the read was cut short."""
        ranked: dict[str, tuple[Any, ...]] = {}
        reads = 0
        for entry in IndexItem.query(IDX + mediateur_id, IndexItem.sk.startswith(key_word(words))):
            reads += 1
            if reads > MAX_INDEX_READS:
                break
            tokens: frozenset[str] = frozenset(str(t) for t in entry.tokens or ())
            if entry.beneficiaire_id not in ranked and matches(words, tokens):
                ranked[entry.beneficiaire_id] = score(words, entry.prenom, entry.nom, tokens)
        ordered = sorted(ranked, key=lambda i: ranked[i])
        return ordered[:limit], reads > MAX_INDEX_READS

    # --- counters and newcomers (`stats.nouveaux`) -----------------------------------------

    def link_counts(self, beneficiaire_id: str) -> tuple[int, date | None, date | None]:
        """Accompagnements, first and last dates, straight from the links."""
        dates = [
            link.date
            for link in LienBeneficiaireItem.query(ben(beneficiaire_id), consistent_read=True)
        ]
        if not dates:
            return 0, None, None
        return len(dates), date.fromisoformat(min(dates)), date.fromisoformat(max(dates))

    def links(self, mediateur_id: str, beneficiaire_id: str) -> Links | None:
        """The person's links, read after their `liens_seq` (None: not the mediator's)."""
        try:
            item = BeneficiaireItem.get(
                med(mediateur_id), ben(beneficiaire_id), consistent_read=True
            )
        except DoesNotExist:
            return None
        count, first, last = self.link_counts(beneficiaire_id)
        return Links(
            int(item.liens_seq or 0), count, first, last, _date(item.premier_accompagnement)
        )

    def save_counters(
        self, mediateur_id: str, beneficiaire_id: str, links: Links, filings: list[Filing]
    ) -> None:
        """The counters and the newcomers filing in one transaction, unless the links changed
        since `links` was read: that change's own refresh then writes the right values."""
        for filing in filings:
            ensure_newcomers(owner_key(filing.owner), filing.month)  # the map must exist
        item = BeneficiaireItem(med(mediateur_id), ben(beneficiaire_id))
        try:
            with TransactWrite(connection=self._db.connection) as tx:
                tx.update(
                    item,
                    actions=_counter_actions(links.count, links.first, links.last),
                    condition=BeneficiaireItem.liens_seq == links.seq,
                    add_version_condition=False,
                )
                for filing in filings:
                    entry = NewcomersItem.ids[beneficiaire_id]
                    tx.update(
                        NewcomersItem(owner_key(filing.owner), "P#" + filing.month),
                        actions=[
                            entry.set(filing.day.isoformat()) if filing.day else entry.remove()
                        ],
                    )
        except TransactWriteError:
            # A newer link change (or a transaction racing on the same items) wins; whatever
            # this leaves, that change's refresh or the daily verification files it right.
            return


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


# --- what an activity write changes on this side (`store/activites.py`) --------------------------


def link_items(
    mediateur_id: str, activite_id: str, day: date, duree: int, data: Any, ids: Sequence[str]
) -> list[LienBeneficiaireItem]:
    """One link per followed person of an activity, with what the profile page shows."""
    return [
        LienBeneficiaireItem(
            ben(beneficiaire_id),
            f"ACT#{day.isoformat()}#{activite_id}",
            mediateur_id=mediateur_id,
            activite_id=activite_id,
            type=data.type,
            date=day.isoformat(),
            duree=duree,
            thematiques=list(data.thematiques) or None,
            thematiques_demarche=list(data.thematiques_demarche) or None,
            autonomie=data.autonomie_de(beneficiaire_id),
        )
        for beneficiaire_id in ids
    ]


def touch_links(tx: TransactWrite, mediateur_id: str, ids: Iterable[str]) -> None:
    """Bump each linked person's `liens_seq` in the activity's transaction, so that a counters
    refresh that read the links before this change can no longer overwrite what it produces."""
    for beneficiaire_id in ids:
        tx.update(
            BeneficiaireItem(med(mediateur_id), ben(beneficiaire_id)),
            actions=[BeneficiaireItem.liens_seq.add(1)],
            condition=BeneficiaireItem.sk.exists(),
            add_version_condition=False,
        )


def activity_links(beneficiaire_id: str) -> list[tuple[str, str]]:
    """(mediator id, activity id) of a person's activities, newest first."""
    return [
        (link.mediateur_id, link.activite_id)
        for link in LienBeneficiaireItem.query(ben(beneficiaire_id), scan_index_forward=False)
    ]
