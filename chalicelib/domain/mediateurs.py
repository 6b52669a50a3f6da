"""Mediators (médiateurs numériques), their structure employeuse and their lieux d'activité."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime

ROLE_MEDIATEUR = "mediateur"
ROLE_GESTIONNAIRE = "gestionnaire"


@dataclass(frozen=True)
class Identity:
    """What ProConnect tells us about the person signing in (verified claims only)."""

    sub: str
    idp_id: str
    email: str
    prenom: str
    nom: str
    siret: str | None


@dataclass(frozen=True)
class Mediateur:
    id: str
    prenom: str
    nom: str
    email: str
    siret: str | None
    roles: tuple[str, ...] = (ROLE_MEDIATEUR,)
    cree_le: datetime | None = None
    derniere_connexion: datetime | None = None
    # « Vous accompagnez des personnes ? » at the first sign-in: None until answered; False for
    # an employer who manages a structure without accompanying anyone (no lieu asked).
    accompagne: bool | None = None

    @property
    def gestionnaire(self) -> bool:
        return bool(self.siret) and ROLE_GESTIONNAIRE in self.roles

    @property
    def nom_complet(self) -> str:
        return f"{self.prenom} {self.nom}".strip()


@dataclass(frozen=True)
class Lieu:
    id: str
    mediateur_id: str
    nom: str
    adresse: str
    commune_insee: str
    archive: bool = False
    version: int = 1
    cree_le: datetime | None = None
    modifie_le: datetime | None = None


@dataclass(frozen=True)
class LieuInput:
    nom: str
    adresse: str
    commune_insee: str


@dataclass
class Profile:
    """What the pages need about the signed-in mediator."""

    mediateur: Mediateur
    lieux: list[Lieu] = field(default_factory=list)

    @property
    def lieux_actifs(self) -> list[Lieu]:
        return [lieu for lieu in self.lieux if not lieu.archive]

    @property
    def needs_onboarding(self) -> bool:
        """A mediator must declare at least one lieu before recording a CRA (SPEC §1); an
        employer who said they accompany nobody is not asked for one (SPEC §13)."""
        return not self.lieux_actifs and self.mediateur.accompagne is not False


def profile_from_identity(mediateur_id: str, identity: Identity, now: datetime) -> Mediateur:
    return Mediateur(
        id=mediateur_id,
        prenom=identity.prenom.strip(),
        nom=identity.nom.strip(),
        email=identity.email.strip().lower(),
        siret=(identity.siret or None),
        cree_le=now,
        derniere_connexion=now,
    )


def validate_lieu(data: LieuInput, communes: Container[str]) -> dict[str, str]:
    """Rules of a lieu d'activité; returns field -> French message (empty when valid)."""
    errors: dict[str, str] = {}
    if not data.nom.strip():
        errors["nom"] = "Saisissez le nom du lieu."
    elif len(data.nom.strip()) > 120:
        errors["nom"] = "Le nom du lieu doit faire 120 caractères au plus."
    if not data.adresse.strip():
        errors["adresse"] = "Saisissez l'adresse du lieu."
    elif len(data.adresse.strip()) > 200:
        errors["adresse"] = "L'adresse doit faire 200 caractères au plus."
    if not data.commune_insee.strip():
        errors["commune_insee"] = "Choisissez la commune du lieu."
    elif data.commune_insee.strip() not in communes:
        errors["commune_insee"] = "Choisissez une commune de la liste."
    return errors


MAX_NOM_STRUCTURE = 120


def libelle_structure(siret: str, nom: str | None) -> str:
    """How a structure shows: the name a gestionnaire gave it, until then its SIRET."""
    return nom or f"Structure (SIRET {siret})"


def validate_nom_structure(nom: str) -> dict[str, str]:
    if not nom.strip():
        return {"nom": "Saisissez le nom de la structure."}
    if len(nom.strip()) > MAX_NOM_STRUCTURE:
        return {"nom": f"Le nom doit faire {MAX_NOM_STRUCTURE} caractères au plus."}
    return {}
