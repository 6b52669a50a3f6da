"""JSON bodies of beneficiaries (SPEC §10). Shape only: the rules are the domain's.

`BeneficiaireIn` is what clients send; `BeneficiaireOut` is what they receive: responses are built
from it (`BeneficiaireOut.of`) and OpenAPI documents it.
Missing names are left to the domain, which answers in the same words as the form ("Saisissez le
prénom.").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.beneficiaires import Beneficiaire, BeneficiaireInput

# strict: JSON types are not coerced ("1975" is not a year, 1 is not true).
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
_Slug = Field(default=None, max_length=60)


class BeneficiaireIn(BaseModel):
    """Create (POST) or replace (PUT, with `version`) a beneficiary."""

    model_config = _STRICT

    prenom: str = Field(default="", max_length=500)
    nom: str = Field(default="", max_length=500)
    annee_naissance: int | None = Field(default=None, description="Entre 1900 et l'année en cours")
    telephone: str | None = Field(
        default=None, max_length=60, description="Numéro français ; enregistré au format E.164"
    )
    pas_de_telephone: bool = False
    email: str | None = Field(default=None, max_length=500)
    commune_insee: str | None = Field(default=None, max_length=10)
    genre: str | None = _Slug
    tranche_age: str | None = Field(
        default=None,
        max_length=60,
        description="Calculée à partir de l'année de naissance quand elle est connue",
    )
    statut: str | None = _Slug
    notes: str | None = Field(default="", max_length=20_000)
    confirmer_notes: bool = Field(
        default=False, description="Confirme que des notes signalées ne sont pas sensibles"
    )
    version: int | None = Field(default=None, description="Obligatoire pour PUT")

    def to_domain(self) -> BeneficiaireInput:
        return BeneficiaireInput(
            prenom=self.prenom,
            nom=self.nom,
            annee_naissance=self.annee_naissance,
            telephone=self.telephone or None,
            pas_de_telephone=self.pas_de_telephone,
            email=self.email or None,
            commune_insee=self.commune_insee or None,
            genre=self.genre or None,
            tranche_age=self.tranche_age or None,
            statut=self.statut or None,
            notes=self.notes or "",
            confirmer_notes=self.confirmer_notes,
        )


class BeneficiaireOut(BeneficiaireIn):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    id: str
    version: int | None = None
    nombre_accompagnements: int = Field(description="Activités où la personne est accompagnée")
    premier_accompagnement: dt.date | None
    dernier_accompagnement: dt.date | None
    cree_le: dt.datetime
    modifie_le: dt.datetime

    @classmethod
    def of(cls, b: Beneficiaire) -> BeneficiaireOut:
        return cls.model_validate(_fields(b), strict=False)


class BeneficiairesPage(BaseModel):
    items: list[BeneficiaireOut]
    cursor: str | None = Field(description="À renvoyer dans `cursor` pour la page suivante")
    tronquee: bool = Field(
        default=False, description="Recherche arrêtée avant la fin : précisez la recherche"
    )


def _fields(b: Beneficiaire) -> dict[str, Any]:
    d = b.data
    return {
        "id": b.id,
        "prenom": d.prenom,
        "nom": d.nom,
        "annee_naissance": d.annee_naissance,
        "telephone": d.telephone,
        "pas_de_telephone": d.pas_de_telephone,
        "email": d.email,
        "commune_insee": d.commune_insee,
        "genre": d.genre,
        "tranche_age": d.tranche_age,
        "statut": d.statut,
        "notes": d.notes,
        "confirmer_notes": d.confirmer_notes,
        "version": b.version,
        "nombre_accompagnements": b.nombre_accompagnements,
        "premier_accompagnement": _iso(b.premier_accompagnement),
        "dernier_accompagnement": _iso(b.dernier_accompagnement),
        "cree_le": b.cree_le.isoformat(),
        "modifie_le": b.modifie_le.isoformat(),
    }


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
