"""Use cases of the signed-in mediator's account: sign-in, profile, lieux, tool preferences."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain import outils
from chalicelib.domain.dates import Calendar
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.ids import mediateur_id_for, new_id
from chalicelib.domain.mediateurs import (
    ROLE_GESTIONNAIRE,
    Identity,
    Lieu,
    LieuInput,
    Mediateur,
    Profile,
    libelle_structure,
    profile_from_identity,
    validate_lieu,
    validate_nom_structure,
)
from chalicelib.domain.outils import OutilsPrefs


class AccountStore(Protocol):
    def load(self, mediateur_id: str) -> tuple[Mediateur | None, list[Lieu], OutilsPrefs]: ...
    def save_sign_in(self, mediateur: Mediateur) -> Mediateur: ...
    def get_lieu(self, mediateur_id: str, lieu_id: str) -> Lieu: ...
    def add_lieu(self, mediateur_id: str, lieu_id: str, data: LieuInput, now: datetime) -> Lieu: ...
    def update_lieu(
        self, lieu: Lieu, data: LieuInput | None, archive: bool, version: int, now: datetime
    ) -> Lieu: ...
    def save_outils(self, mediateur_id: str, prefs: OutilsPrefs) -> OutilsPrefs: ...
    def grant_role(self, mediateur_id: str, role: str) -> Mediateur: ...
    def structure_mediateurs(self, siret: str) -> list[Mediateur]: ...
    def find_by_email(self, email: str) -> list[Mediateur]: ...
    def mediateur_ids(self) -> list[str]: ...
    def set_accompagne(self, mediateur_id: str, accompagne: bool) -> None: ...
    def structure_nom(self, siret: str) -> str | None: ...
    def set_structure_nom(self, siret: str, nom: str, now: datetime) -> None: ...


class StructureMembership(Protocol):
    """Told at every sign-in which structure the mediator's statistics count for (their
    profile's SIRET); it never fails the sign-in (`stats.projector.Projector.join_at_sign_in`)."""

    def join_at_sign_in(self, mediateur_id: str, siret: str | None) -> None: ...


@dataclass
class Account:
    profile: Profile
    outils: OutilsPrefs


class AccountService:
    def __init__(
        self,
        store: AccountStore,
        communes: Container[str],
        calendar: Calendar,
        membership: StructureMembership,
    ) -> None:
        self._store = store
        self._communes = communes
        self._calendar = calendar
        self._membership = membership

    def sign_in(self, identity: Identity) -> Mediateur:
        mediateur_id = mediateur_id_for(identity.idp_id, identity.sub)
        mediateur = self._store.save_sign_in(
            profile_from_identity(mediateur_id, identity, self._calendar.now())
        )
        self._membership.join_at_sign_in(mediateur.id, mediateur.siret)
        return mediateur

    def account(self, mediateur_id: str) -> Account | None:
        mediateur, lieux, prefs = self._store.load(mediateur_id)
        if mediateur is None:
            return None
        return Account(Profile(mediateur, lieux), prefs)

    def profile(self, mediateur_id: str) -> Profile | None:
        account = self.account(mediateur_id)
        return account.profile if account else None

    def siret_of(self, mediateur_id: str) -> str | None:
        """The structure the mediator's profile names (None: none, or no such mediator)."""
        mediateur, _, _ = self._store.load(mediateur_id)
        return mediateur.siret if mediateur else None

    # --- gestionnaires de structure ----------------------------------------------------------

    def grant_gestionnaire(
        self, mediateur_id: str | None = None, email: str | None = None
    ) -> Mediateur:
        """Ops: make an existing mediator (by id or e-mail) gestionnaire of their structure."""
        if mediateur_id:
            mediateur, _, _ = self._store.load(mediateur_id)
            found = [mediateur] if mediateur else []
        else:
            found = self._store.find_by_email(email or "")
        if len(found) != 1:
            raise NotFound(mediateur_id or email or "")
        if not found[0].siret:
            raise ValidationFailed({"siret": "Ce médiateur n'a pas de structure employeuse."})
        return self._store.grant_role(found[0].id, ROLE_GESTIONNAIRE)

    def grant_in_structure(self, gestionnaire: Mediateur, email: str) -> Mediateur:
        """A gestionnaire makes another mediator of the SAME structure gestionnaire. Someone of
        another structure (or nobody) gets the same answer: nothing tells them apart."""
        siret = gestionnaire.siret
        if not siret or ROLE_GESTIONNAIRE not in gestionnaire.roles:
            raise Forbidden(gestionnaire.id)
        wanted = email.strip().lower()
        if not wanted:
            raise ValidationFailed({"email": "Saisissez l'adresse e-mail du médiateur."})
        colleague = next(
            (m for m in self._store.structure_mediateurs(siret) if m.email == wanted), None
        )
        if colleague is None:
            raise ValidationFailed(
                {"email": "Aucun médiateur de votre structure n'a cette adresse e-mail."}
            )
        return self._store.grant_role(colleague.id, ROLE_GESTIONNAIRE)

    def structure_mediateurs(self, siret: str) -> list[Mediateur]:
        return self._store.structure_mediateurs(siret)

    def structure_nom(self, siret: str) -> str | None:
        """The name a gestionnaire set (None until then)."""
        return self._store.structure_nom(siret)

    def structure_libelle(self, siret: str) -> str:
        """The structure's name as its gestionnaires set it, « Structure (SIRET …) » until then."""
        return libelle_structure(siret, self._store.structure_nom(siret))

    def name_structure(self, gestionnaire: Mediateur, nom: str) -> str:
        """A gestionnaire names their own structure (the SIRET of their profile, never another)."""
        if not gestionnaire.gestionnaire or not gestionnaire.siret:
            raise Forbidden(gestionnaire.id)
        errors = validate_nom_structure(nom)
        if errors:
            raise ValidationFailed(errors)
        cleaned = " ".join(nom.split())
        self._store.set_structure_nom(gestionnaire.siret, cleaned, self._calendar.now())
        return cleaned

    # --- onboarding ----------------------------------------------------------------------------

    def declare_accompagne(self, mediateur_id: str, accompagne: bool) -> None:
        """The answer to « Vous accompagnez des personnes ? » at the first sign-in."""
        self._store.set_accompagne(mediateur_id, accompagne)

    def mediateur_ids(self) -> list[str]:
        """Every mediator (ops: walks the whole table)."""
        return self._store.mediateur_ids()

    def structure_profiles(self, siret: str) -> list[Profile]:
        """The profiles (with their lieux) of the structure's mediators."""
        profiles = []
        for mediateur in self._store.structure_mediateurs(siret):
            account = self.account(mediateur.id)
            if account is not None:
                profiles.append(account.profile)
        return profiles

    # --- lieux ---------------------------------------------------------------------------------

    def _checked(self, data: LieuInput) -> LieuInput:
        errors = validate_lieu(data, self._communes)
        if errors:
            raise ValidationFailed(errors)
        return LieuInput(data.nom.strip(), data.adresse.strip(), data.commune_insee.strip())

    def add_lieu(self, mediateur_id: str, data: LieuInput) -> Lieu:
        return self._store.add_lieu(
            mediateur_id, new_id(), self._checked(data), self._calendar.now()
        )

    def lieu(self, mediateur_id: str, lieu_id: str) -> Lieu:
        return self._store.get_lieu(mediateur_id, lieu_id)

    def update_lieu(self, mediateur_id: str, lieu_id: str, data: LieuInput, version: int) -> Lieu:
        lieu = self._store.get_lieu(mediateur_id, lieu_id)
        checked = self._checked(data)
        if lieu.version != version:
            raise Conflict(lieu_id)
        return self._store.update_lieu(lieu, checked, lieu.archive, version, self._calendar.now())

    def set_archive(self, mediateur_id: str, lieu_id: str, archive: bool, version: int) -> Lieu:
        """Archived lieux disappear from the forms but keep their past activities."""
        lieu = self._store.get_lieu(mediateur_id, lieu_id)
        if lieu.version != version:
            raise Conflict(lieu_id)
        return self._store.update_lieu(lieu, None, archive, version, self._calendar.now())

    # --- outils --------------------------------------------------------------------------------

    def move_outil(
        self, mediateur_id: str, prefs: OutilsPrefs, slug: str, direction: str
    ) -> OutilsPrefs:
        if slug not in outils.SLUGS:
            raise NotFound(slug)
        return self._store.save_outils(mediateur_id, outils.move(prefs, slug, direction))

    def pin_outil(self, mediateur_id: str, prefs: OutilsPrefs, slug: str) -> OutilsPrefs:
        if slug not in outils.SLUGS:
            raise NotFound(slug)
        return self._store.save_outils(mediateur_id, outils.toggle_pin(prefs, slug))

    def order_outils(self, mediateur_id: str, prefs: OutilsPrefs, order: list[str]) -> OutilsPrefs:
        return self._store.save_outils(mediateur_id, outils.with_order(prefs, order))
