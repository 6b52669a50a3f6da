"""Use cases of share links (SPEC §5 « Partager »): make one, list them, revoke one, open one.

Ownership: a mediator lists and revokes their own links (in their own partition); a structure's
links are listed and revoked by any gestionnaire of that SIRET, and by nobody else. Anyone else
gets NotFound, whatever the id (nothing tells "someone else's" from "does not exist").

Opening a link (`open`) is public: the token is the credential. An unknown, revoked or expired
token is NotFound; more than `OUVERTURES_PAR_MINUTE` opens of one link in a minute is
TooManyRequests (nothing counted); each other open is counted atomically.
"""

from __future__ import annotations

import secrets
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain.activites_rules import CHOIX_INVALIDE
from chalicelib.domain.dates import Calendar, Periode
from chalicelib.domain.errors import Forbidden, NotFound, TooManyRequests, ValidationFailed
from chalicelib.domain.ids import looks_like_id, new_id
from chalicelib.domain.mediateurs import ROLE_GESTIONNAIRE, Mediateur, Profile
from chalicelib.domain.partages import (
    FENETRE_SECONDES,
    LIEU_STRUCTURE,
    MAX_ACTIFS,
    MEDIATEUR,
    OUVERTURES_PAR_MINUTE,
    STRUCTURE,
    TOKEN_BYTES,
    TROP_DE_LIENS,
    Partage,
    PartageFiltres,
    check_expiration,
    digest,
    fenetre,
    looks_like_token,
)


class PartageStore(Protocol):
    def create(self, partage: Partage) -> None: ...
    def by_jeton(self, jeton_digest: str) -> Partage | None:
        """The link of this token (consistent read), without its counters."""
        ...

    def of(self, portee: str, proprietaire: str) -> list[Partage]:
        """An owner's links with their counters, newest first."""
        ...

    def find(self, portee: str, proprietaire: str, partage_id: str) -> Partage | None: ...
    def delete(self, partage: Partage) -> bool:
        """Remove the link (False: it was already gone)."""
        ...

    def count_opening(self, partage: Partage, now: datetime) -> bool:
        """One more open, atomically (False: the link was revoked meanwhile)."""
        ...

    def spend(self, jeton_digest: str, window: int, limit: int, expires_at: int) -> bool:
        """Count one open of this link in this window; False (nothing counted) at `limit`."""
        ...


class Statistics(Protocol):
    """The statistics read service (`chalicelib.stats.service.StatsService`)."""

    def periode(self, preset: str | None, du: date | None, au: date | None) -> Periode: ...
    def figures(
        self,
        profile: Profile,
        periode: Periode,
        type: str | None = None,
        canal: str | None = None,
        lieu: str | None = None,
    ) -> dict[str, Any]: ...
    def structure_figures(
        self, siret: str, periode: Periode, type: str | None = None, canal: str | None = None
    ) -> dict[str, Any]: ...


class Profiles(Protocol):
    """Mediators' profiles (`AccountService`)."""

    def profile(self, mediateur_id: str) -> Profile | None: ...


@dataclass(frozen=True)
class Consultation:
    """What an opened link shows: the period as of today and every figure of SPEC §5."""

    partage: Partage
    periode: Periode
    figures: dict[str, Any]
    profile: Profile | None  # the owner of a mediator's link (their name, their lieux' names)


def is_gestionnaire(mediateur: Mediateur) -> bool:
    return bool(mediateur.siret) and ROLE_GESTIONNAIRE in mediateur.roles


class PartageService:
    def __init__(
        self,
        store: PartageStore,
        statistics: Statistics,
        profiles: Profiles,
        calendar: Calendar,
        limit: int = OUVERTURES_PAR_MINUTE,
    ) -> None:
        self._store = store
        self._statistics = statistics
        self._profiles = profiles
        self._calendar = calendar
        self._limit = limit

    def today(self) -> date:
        return self._calendar.today()

    # --- owners ---------------------------------------------------------------------------------

    def _owners(self, mediateur: Mediateur) -> list[tuple[str, str]]:
        """The partitions this mediator reads and revokes in: their own, and their structure's
        when they manage it."""
        owners = [(MEDIATEUR, mediateur.id)]
        if is_gestionnaire(mediateur) and mediateur.siret:
            owners.append((STRUCTURE, mediateur.siret))
        return owners

    def _owner(self, mediateur: Mediateur, portee: str) -> str:
        if portee == STRUCTURE:
            if not is_gestionnaire(mediateur) or not mediateur.siret:
                raise Forbidden(mediateur.id)
            return mediateur.siret
        return mediateur.id

    # --- making one -----------------------------------------------------------------------------

    def create(
        self,
        mediateur: Mediateur,
        lieux: Container[str],
        portee: str,
        filtres: PartageFiltres,
        expire_le: date | None,
    ) -> tuple[Partage, str]:
        """A new link and its token (the only time the token is seen)."""
        proprietaire = self._owner(mediateur, portee)
        errors = check_expiration(expire_le, self.today())
        if filtres.lieu and (portee == STRUCTURE or filtres.lieu not in lieux):
            errors["filters.lieu"] = LIEU_STRUCTURE if portee == STRUCTURE else CHOIX_INVALIDE
        try:  # the period's own rules (custom ranges: not before 2020, not in the future)
            self._statistics.periode(filtres.preset, filtres.du, filtres.au)
        except ValidationFailed as exc:
            errors.update({f"filters.{k}": v for k, v in exc.errors.items()})
        if errors:
            raise ValidationFailed(errors)
        actifs = [p for p in self._store.of(portee, proprietaire) if not p.expire(self.today())]
        if len(actifs) >= MAX_ACTIFS:
            raise ValidationFailed({"expire_le": TROP_DE_LIENS.format(n=len(actifs))})
        jeton = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._calendar.now()
        partage = Partage(
            id=new_id(int(now.timestamp() * 1000)),
            portee=portee,
            proprietaire=proprietaire,
            createur=mediateur.id,
            filtres=filtres,
            cree_le=now,
            jeton=digest(jeton),
            expire_le=expire_le,
        )
        self._store.create(partage)
        return partage, jeton

    # --- the owner's list -----------------------------------------------------------------------

    def list(self, mediateur: Mediateur) -> list[Partage]:
        """The mediator's own links, then their structure's (gestionnaires), newest first."""
        return [
            p for portee, owner in self._owners(mediateur) for p in self._store.of(portee, owner)
        ]

    def revoke(self, mediateur: Mediateur, partage_id: str) -> Partage:
        """Remove a link at once: its token answers 404 from now on."""
        if looks_like_id(partage_id):
            for portee, owner in self._owners(mediateur):
                found = self._store.find(portee, owner, partage_id)
                if found is not None and self._store.delete(found):
                    return found
        raise NotFound(partage_id)

    # --- opening a link -------------------------------------------------------------------------

    def open(self, jeton: str) -> Consultation:
        """The figures a link shows today, counted as one open."""
        if not looks_like_token(jeton):
            raise NotFound("partage")
        jeton_digest = digest(jeton)
        partage = self._store.by_jeton(jeton_digest)
        if partage is None or partage.expire(self.today()):
            raise NotFound("partage")
        now = self._calendar.timestamp()
        window = fenetre(now)
        if not self._store.spend(jeton_digest, window, self._limit, window + 2 * FENETRE_SECONDES):
            raise TooManyRequests("share link opens", retry_after=window + FENETRE_SECONDES - now)
        profile = None
        if partage.portee == MEDIATEUR:
            profile = self._profiles.profile(partage.proprietaire)
            if profile is None:  # the mediator's account is gone: so are their figures
                raise NotFound("partage")
        if not self._store.count_opening(partage, self._calendar.now()):
            raise NotFound("partage")  # revoked between the read and now
        f = partage.filtres
        periode = self._statistics.periode(f.preset, f.du, f.au)
        if profile is not None:
            figures = self._statistics.figures(profile, periode, f.type, f.canal, f.lieu)
        else:
            figures = self._statistics.structure_figures(
                partage.proprietaire, periode, f.type, f.canal
            )
        return Consultation(partage, periode, figures, profile)
