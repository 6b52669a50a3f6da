"""Use cases of activities: record, read, list, edit, duplicate, delete — always for the
signed-in mediator (ownership is enforced here and by the keys of every read)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from chalicelib.domain.activites import (
    Activite,
    ActiviteInput,
    Filtres,
    Instantane,
    Page,
    Personne,
)
from chalicelib.domain.activites_rules import RuleContext, check
from chalicelib.domain.beneficiaires import Beneficiaire, derived_tranche_age
from chalicelib.domain.dates import Calendar
from chalicelib.domain.errors import Conflict, DuplicateRequest, NotFound
from chalicelib.domain.ids import looks_like_id, new_id
from chalicelib.domain.mediateurs import Profile

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
RECENT_FOR_DEFAULTS = 50
COUNT_CAP = 1000  # beyond, the list says « plus de 1 000 activités »


class ActivityStore(Protocol):
    def get(self, mediateur_id: str, activite_id: str) -> Activite: ...
    def create(
        self,
        mediateur_id: str,
        activite_id: str,
        data: ActiviteInput,
        now: datetime,
        idempotency_key: str | None,
        instantane: Instantane = ...,
    ) -> Activite: ...
    def update(
        self,
        current: Activite,
        data: ActiviteInput,
        expected_version: int,
        now: datetime,
        instantane: Instantane = ...,
    ) -> Activite: ...
    def delete(self, current: Activite, expected_version: int | None) -> None: ...
    def page(self, mediateur_id: str, filtres: Filtres, cursor: str | None, limit: int) -> Page: ...
    def count(self, mediateur_id: str, filtres: Filtres, cap: int) -> int: ...
    def recent(self, mediateur_id: str, count: int) -> list[Activite]: ...


class People(Protocol):
    """The mediator's own beneficiaries, as activities see them (`BeneficiaryService`)."""

    def owned(self, mediateur_id: str) -> Container[str]: ...
    def names(self, mediateur_id: str, ids: Iterable[str]) -> Mapping[str, Beneficiaire]: ...


class Partenaires(Protocol):
    def owned(self, mediateur_id: str) -> Container[str]: ...


class NoPartenaires:
    """Until Mes partenaires exists, nobody has a partner an activity could name."""

    def owned(self, mediateur_id: str) -> Container[str]:
        return frozenset()


class LinksListener(Protocol):
    """Told after each write which followed people's links changed (their counters and their
    filing as "nouveaux": `stats.nouveaux.Nouveaux`)."""

    def links_changed(self, mediateur_id: str, ids: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class Recorded:
    activite: Activite
    created: bool  # False when an earlier identical request (same key) already created it


@dataclass(frozen=True)
class FormDefaults:
    lieu_id: str | None
    duree: int | None
    # Every durée of the latest activities, most used first (ties: the most recent first).
    durees_frequentes: tuple[int, ...] = ()


class _Either:
    def __init__(self, first: Container[str], second: Container[str]) -> None:
        self._first, self._second = first, second

    def __contains__(self, value: object) -> bool:
        return value in self._second or value in self._first


class ActivityService:
    def __init__(
        self,
        store: ActivityStore,
        calendar: Calendar,
        communes: Container[str],
        people: People,
        partenaires: Partenaires,
        links: LinksListener,
    ) -> None:
        self._store = store
        self._calendar = calendar
        self._communes = communes
        self._people = people
        self._partenaires = partenaires
        self._links = links

    # --- rules --------------------------------------------------------------------------------

    def _context(
        self, profile: Profile, current: Activite | None = None, data: ActiviteInput | None = None
    ) -> RuleContext:
        lieux = {lieu.id for lieu in profile.lieux_actifs}
        if current and current.data.lieu_id:
            lieux.add(current.data.lieu_id)  # an archived lieu stays valid on its old activities
        mediateur_id = profile.mediateur.id
        beneficiaires: Container[str] = self._people.owned(mediateur_id)
        prefetch = getattr(beneficiaires, "prefetch", None)
        if prefetch and data is not None:
            prefetch(data.beneficiaires_lies())  # one batch read for every linked person
        if current is not None:
            # A person deleted since stays linked to their past activities, which remain editable.
            beneficiaires = _Either(beneficiaires, frozenset(current.data.beneficiaires_lies()))
        return RuleContext(
            today=self._calendar.latest_allowed(),
            lieux=lieux,
            communes=self._communes,
            beneficiaires=beneficiaires,
            partenaires=self._partenaires.owned(mediateur_id),
        )

    def check(
        self,
        profile: Profile,
        data: ActiviteInput,
        current: Activite | None = None,
        read_errors: Mapping[str, str] | None = None,
    ) -> ActiviteInput:
        """The normalised input, or one ValidationFailed with every French message: what the
        form could not even read (`read_errors`, keyed like the rules) and every broken rule."""
        data = self._at_home(profile, data)
        return check(data, self._context(profile, current, data)).accepted(read_errors)

    def _at_home(self, profile: Profile, data: ActiviteInput) -> ActiviteInput:
        """« À domicile » with a linked person and no commune typed: the person's commune
        (SPEC §3.1); without one on their record, the commune stays required."""
        if data.canal != "domicile" or data.commune_insee or data.type == "collectif":
            return data
        if not isinstance(data.beneficiaire_id, str) or not data.beneficiaire_id:
            return data
        found = self._people.names(profile.mediateur.id, [data.beneficiaire_id])
        person = found.get(data.beneficiaire_id)
        if person is None or person.supprime or not person.data.commune_insee:
            return data
        return replace(data, commune_insee=person.data.commune_insee)

    def _instantane(self, profile: Profile, data: ActiviteInput) -> Instantane:
        """Freeze what statistics need from the people and the lieu (SPEC §3.6: the age band
        is the one at the activity's date)."""
        assert data.date is not None
        found = self._people.names(profile.mediateur.id, data.beneficiaires_lies())
        personnes = tuple(
            Personne(
                id=b.id,
                genre=b.data.genre,
                tranche_age=derived_tranche_age(b.data.annee_naissance, data.date)
                or b.data.tranche_age,
                statut=b.data.statut,
                commune_insee=b.data.commune_insee,
            )
            for i in data.beneficiaires_lies()
            if (b := found.get(i)) is not None
        )
        lieu = next((lieu for lieu in profile.lieux if lieu.id == data.lieu_id), None)
        return Instantane(personnes, lieu.commune_insee if lieu else None)

    # --- writes -------------------------------------------------------------------------------

    def record(
        self,
        profile: Profile,
        data: ActiviteInput,
        idempotency_key: str | None = None,
        read_errors: Mapping[str, str] | None = None,
    ) -> Recorded:
        clean = self.check(profile, data, read_errors=read_errors)
        mediateur_id = profile.mediateur.id
        try:
            created = self._store.create(
                mediateur_id,
                new_id(),
                clean,
                self._calendar.now(),
                idempotency_key,
                self._instantane(profile, clean),
            )
        except DuplicateRequest as duplicate:
            return Recorded(self._store.get(mediateur_id, duplicate.activite_id), created=False)
        self._links.links_changed(mediateur_id, clean.beneficiaires_lies())
        return Recorded(created, created=True)

    def modify(
        self,
        profile: Profile,
        activite_id: str,
        data: ActiviteInput,
        version: int | None,
        read_errors: Mapping[str, str] | None = None,
    ) -> Activite:
        """Replace an activity's values (its type stays), unless another device saved it since
        `version` was read (Conflict)."""
        current = self.get(profile.mediateur.id, activite_id)
        clean = self.check(profile, replace(data, type=current.type), current, read_errors)
        if version is None or current.version != version:
            raise Conflict(activite_id)
        updated = self._store.update(
            current, clean, version, self._calendar.now(), self._instantane(profile, clean)
        )
        linked = (*current.data.beneficiaires_lies(), *clean.beneficiaires_lies())
        self._links.links_changed(profile.mediateur.id, linked)
        return updated

    def remove(self, mediateur_id: str, activite_id: str, version: int | None = None) -> None:
        current = self.get(mediateur_id, activite_id)
        if version is not None and current.version != version:
            raise Conflict(activite_id)
        self._store.delete(current, version)
        self._links.links_changed(mediateur_id, current.data.beneficiaires_lies())

    # --- reads --------------------------------------------------------------------------------

    def get(self, mediateur_id: str, activite_id: str) -> Activite:
        if not looks_like_id(activite_id):
            raise NotFound(activite_id)
        return self._store.get(mediateur_id, activite_id)

    def page(
        self,
        mediateur_id: str,
        filtres: Filtres,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> Page:
        return self._store.page(mediateur_id, filtres, cursor, max(1, min(limit, MAX_PAGE_SIZE)))

    def count(self, mediateur_id: str, filtres: Filtres, cap: int = COUNT_CAP) -> int:
        """How many activities match, counted up to `cap` (the list says « plus de … » there):
        a count is read from the same index as the list, without the items."""
        return self._store.count(mediateur_id, filtres, max(1, cap))

    def latest(self, mediateur_id: str, count: int = 3) -> list[Activite]:
        return self._store.recent(mediateur_id, count)

    def defaults(self, profile: Profile) -> FormDefaults:
        """The most used active lieu, the last durée and the durées used most, from the latest
        activities."""
        recent = self._store.recent(profile.mediateur.id, RECENT_FOR_DEFAULTS)
        actifs = {lieu.id for lieu in profile.lieux_actifs}
        usage = Counter(a.data.lieu_id for a in recent if a.data.lieu_id in actifs)
        lieu = usage.most_common(1)[0][0] if usage else None
        if lieu is None and len(actifs) == 1:
            lieu = next(iter(actifs))
        durees = Counter(a.data.duree for a in recent if a.data.duree)
        return FormDefaults(
            lieu_id=lieu,
            duree=recent[0].data.duree if recent else None,
            durees_frequentes=tuple(d for d, _ in durees.most_common() if d is not None),
        )

    def duplicate_of(self, mediateur_id: str, activite_id: str) -> ActiviteInput:
        """A new activity's values from an existing one, dated today (SPEC §3.7)."""
        source = self.get(mediateur_id, activite_id)
        return replace(source.data, date=self._calendar.today(), confirmer_notes=False)
