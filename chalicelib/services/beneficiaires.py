"""Use cases of beneficiaries: create, search, list, profile, edit, delete (pseudonymise) —
always within the signed-in mediator's own people."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from chalicelib.domain.activites import Activite
from chalicelib.domain.beneficiaires import (
    Beneficiaire,
    BeneficiaireInput,
    RuleContext,
    check,
    pseudonymised,
)
from chalicelib.domain.dates import Calendar
from chalicelib.domain.errors import Conflict, NotFound, Unavailable
from chalicelib.domain.ids import looks_like_id, new_id
from chalicelib.domain.recherche import query_words, sort_key_nom, tokens

PAGE_SIZE = 20
DELETE_ATTEMPTS = 5  # edits come at human pace: a delete rarely needs a second read
MAX_SEARCH_EXPORT = 5000  # a search export: the best matches, as many as a mediator follows
SORTS = ("nom", "prenom", "annee", "accompagnements")
# A DynamoDB transaction holds at most 100 actions, and an edit writes the person, deletes the
# old words and writes the new ones in one: 1 + 49 + 49. Only very long names or e-mail addresses
# have more words; the name's words are kept first, then the phone's, the commune's, the e-mail's.
MAX_INDEX_TOKENS = 49


class BeneficiaryStore(Protocol):
    def create(self, b: Beneficiaire, tokens: frozenset[str]) -> Beneficiaire: ...
    def update(
        self,
        current: Beneficiaire,
        updated: Beneficiaire,
        old_tokens: frozenset[str],
        new_tokens: frozenset[str],
        expected_version: int,
    ) -> Beneficiaire: ...
    def pseudonymise(
        self, current: Beneficiaire, gone: Beneficiaire, tokens: frozenset[str]
    ) -> None: ...
    def get(self, mediateur_id: str, beneficiaire_id: str) -> Beneficiaire: ...
    def get_many(self, mediateur_id: str, ids: Iterable[str]) -> dict[str, Beneficiaire]: ...
    def existing_ids(self, mediateur_id: str, ids: Iterable[str]) -> set[str]: ...
    def page_by_name(
        self, mediateur_id: str, cursor: str | None, limit: int
    ) -> tuple[list[Beneficiaire], str | None]: ...
    def all_active(self, mediateur_id: str) -> list[Beneficiaire]: ...
    def search(self, mediateur_id: str, words: list[str], limit: int) -> tuple[list[str], bool]: ...


class LinkedActivities(Protocol):
    def for_beneficiaire(self, mediateur_id: str, beneficiaire_id: str) -> list[Activite]: ...


@dataclass(frozen=True)
class Liste:
    items: list[Beneficiaire]
    cursor: str | None = None
    page: int = 1
    pages: int = 1
    tronquee: bool = False  # a very short search stopped early: type more letters
    total: int | None = None  # a search: how many people matched (`items` are the best ones)


class CommuneNames(Protocol):
    def nom(self, insee: str | None) -> str | None: ...
    def __contains__(self, insee: object) -> bool: ...


@dataclass(frozen=True)
class Fiche:
    """A person's page: who they are and what was done with them."""

    beneficiaire: Beneficiaire
    activites: list[Activite]
    thematiques: list[tuple[str, int]]  # slug, count (médiation numérique and démarches)
    autonomie: list[tuple[date, str]]  # (date, level) oldest first


class OwnedIds:
    """`in` tells whether an id is one of the mediator's own (non deleted) beneficiaries;
    the activity rules use it. Ids are looked up in one batch, on first use."""

    def __init__(self, store: BeneficiaryStore, mediateur_id: str) -> None:
        self._store = store
        self._mediateur_id = mediateur_id
        self._known: dict[str, bool] = {}

    def prefetch(self, ids: Iterable[str]) -> None:
        wanted = [
            i for i in ids if isinstance(i, str) and looks_like_id(i) and i not in self._known
        ]
        if wanted:
            found = self._store.existing_ids(self._mediateur_id, wanted)
            self._known.update({i: i in found for i in wanted})

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str) or not looks_like_id(value):
            return False
        self.prefetch([value])
        return self._known.get(value, False)


class BeneficiaryService:
    def __init__(
        self,
        store: BeneficiaryStore,
        calendar: Calendar,
        communes: CommuneNames,
        activities: LinkedActivities,
    ) -> None:
        self._store = store
        self._calendar = calendar
        self._communes = communes
        self._activities = activities

    def owned(self, mediateur_id: str) -> OwnedIds:
        return OwnedIds(self._store, mediateur_id)

    # --- rules --------------------------------------------------------------------------------

    def check(
        self, data: BeneficiaireInput, read_errors: Mapping[str, str] | None = None
    ) -> BeneficiaireInput:
        """The normalised input, or one ValidationFailed with every French message: what the
        form could not even read (`read_errors`) and every broken rule."""
        today = self._calendar.today()
        return check(data, RuleContext(today=today, communes=self._communes)).accepted(read_errors)

    def _tokens(self, data: BeneficiaireInput) -> frozenset[str]:
        commune = self._communes.nom(data.commune_insee)
        everything = tokens(data, commune)
        if len(everything) <= MAX_INDEX_TOKENS:
            return everything
        by_priority = (
            tokens(replace(data, telephone=None, email=None), None),
            tokens(replace(data, email=None), None),
            tokens(replace(data, email=None), commune),
            everything,
        )
        kept: list[str] = []
        for layer in by_priority:
            kept += sorted(layer - set(kept))[: MAX_INDEX_TOKENS - len(kept)]
        return frozenset(kept)

    # --- writes -------------------------------------------------------------------------------

    def create(
        self,
        mediateur_id: str,
        data: BeneficiaireInput,
        read_errors: Mapping[str, str] | None = None,
    ) -> Beneficiaire:
        clean = self.check(data, read_errors)
        now = self._calendar.now()
        b = Beneficiaire(
            id=new_id(),
            mediateur_id=mediateur_id,
            data=clean,
            version=1,
            cree_le=now,
            modifie_le=now,
        )
        return self._store.create(b, self._tokens(clean))

    def modify(
        self,
        mediateur_id: str,
        beneficiaire_id: str,
        data: BeneficiaireInput,
        version: int | None,
        read_errors: Mapping[str, str] | None = None,
    ) -> Beneficiaire:
        current = self.get(mediateur_id, beneficiaire_id)
        clean = self.check(data, read_errors)
        if version is None or current.version != version:
            raise Conflict(beneficiaire_id)
        updated = replace(current, data=clean, modifie_le=self._calendar.now())
        return self._store.update(
            current, updated, self._tokens(current.data), self._tokens(clean), version
        )

    def delete(self, mediateur_id: str, beneficiaire_id: str) -> None:
        """Pseudonymise: identifying fields gone for good, past activities still counted. An
        edit saved between the read and the delete wrote other search words: read again and
        remove those (the store only deletes over the version read)."""
        for _ in range(DELETE_ATTEMPTS):
            current = self.get(mediateur_id, beneficiaire_id)
            gone = pseudonymised(current, self._calendar.now())
            try:
                self._store.pseudonymise(current, gone, self._tokens(current.data))
            except Conflict:
                continue
            return
        raise Unavailable("beneficiary delete")

    # --- reads --------------------------------------------------------------------------------

    def get(self, mediateur_id: str, beneficiaire_id: str) -> Beneficiaire:
        """The mediator's own, non-deleted person; 404 otherwise (whoever owns the id)."""
        if not looks_like_id(beneficiaire_id):
            raise NotFound(beneficiaire_id)
        found = self._store.get(mediateur_id, beneficiaire_id)
        if found.supprime:
            raise NotFound(beneficiaire_id)
        return found

    def names(self, mediateur_id: str, ids: Iterable[str]) -> dict[str, Beneficiaire]:
        return self._store.get_many(mediateur_id, ids)

    def for_export(self, mediateur_id: str, q: str) -> list[Beneficiaire]:
        """The current search's matches (by relevance, like the page), or every beneficiary
        sorted by name. One partition read: a few thousand people at most per mediator."""
        if q.strip():
            return list(self.search(mediateur_id, q, limit=MAX_SEARCH_EXPORT).items)
        return sorted(self._store.all_active(mediateur_id), key=_by_name)

    def search(self, mediateur_id: str, q: str, limit: int = PAGE_SIZE) -> Liste:
        words = query_words(q)
        if not words:
            return Liste([])
        # The store ranks every match it reads whatever the limit: ask for all of them to know
        # how many there are, and fetch only the best `limit`.
        ranked, truncated = self._store.search(mediateur_id, words, max(limit, MAX_SEARCH_EXPORT))
        ids = ranked[:limit]
        found = self._store.get_many(mediateur_id, ids)
        return Liste(
            [found[i] for i in ids if i in found and not found[i].supprime],
            tronquee=truncated,
            total=len(ranked),
        )

    def list(
        self, mediateur_id: str, sort: str = "nom", cursor: str | None = None, page: int = 1
    ) -> Liste:
        """By name: paginated in DynamoDB. Other sorts: the mediator's people sorted in memory
        (one partition read), paginated by page number."""
        if sort not in SORTS or sort == "nom":
            items, next_cursor = self._store.page_by_name(mediateur_id, cursor, PAGE_SIZE)
            return Liste(items, next_cursor)
        everyone = sorted(self._store.all_active(mediateur_id), key=_SORT_KEYS[sort])
        pages = max(1, -(-len(everyone) // PAGE_SIZE))
        page = min(max(1, page), pages)
        return Liste(everyone[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], page=page, pages=pages)

    def fiche(self, mediateur_id: str, beneficiaire_id: str) -> Fiche:
        b = self.get(mediateur_id, beneficiaire_id)
        activites = self._activities.for_beneficiaire(mediateur_id, b.id)
        counts: Counter[str] = Counter()
        for a in activites:
            counts.update(dict.fromkeys(a.data.thematiques, 1))
            counts.update(dict.fromkeys(a.data.thematiques_demarche, 1))
        levels = [(a.date, a.data.autonomie_de(b.id)) for a in activites]
        autonomie = sorted((day, level) for day, level in levels if level)
        return Fiche(
            b, activites, counts.most_common(), [(d, level) for d, level in autonomie if level]
        )


def _by_name(b: Beneficiaire) -> Any:
    return sort_key_nom(b.data.prenom, b.data.nom)


_SORT_KEYS: dict[str, Callable[[Beneficiaire], Any]] = {
    "prenom": lambda b: (sort_key_nom("", b.data.prenom), _by_name(b)),
    "annee": lambda b: (b.data.annee_naissance is None, b.data.annee_naissance or 0, _by_name(b)),
    "accompagnements": lambda b: (-b.nombre_accompagnements, _by_name(b)),
}
