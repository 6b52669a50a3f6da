"""JSON bodies of activities (SPEC §10). Shape only: the rules are the domain's.

`ActiviteIn` is what clients send; `ActiviteOut` is what they receive: responses are built from it
(`ActiviteOut.of`) and OpenAPI documents it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.activites import Activite, ActiviteInput, Anonyme, ParticipantsAnonymes

# strict: JSON types are not coerced ("12" is not a number, true is not 1 minute).
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
_Slug = Field(default=None, max_length=60)
_Id = Field(default=None, max_length=40)
_Text = Field(default=None, max_length=500)


class AnonymeIn(BaseModel):
    model_config = _STRICT

    deja_accompagne: bool | None = None
    commune_insee: str | None = Field(default=None, max_length=10)
    genre: str | None = _Slug
    tranche_age: str | None = _Slug
    statut: str | None = _Slug


class ParticipantsAnonymesIn(BaseModel):
    model_config = _STRICT

    total: int = Field(default=0, ge=0, le=100_000)
    deja_accompagnes: int = Field(default=0, ge=0, le=100_000)
    genres: dict[str, int] = Field(default_factory=dict, max_length=10)
    tranches_age: dict[str, int] = Field(default_factory=dict, max_length=10)
    statuts: dict[str, int] = Field(default_factory=dict, max_length=10)


class ActiviteIn(BaseModel):
    """Create (POST) or replace (PUT, with `version`) an activity."""

    model_config = _STRICT

    type: str = Field(max_length=20)
    date: dt.date | None = None
    duree: int | None = Field(default=None, description="Durée en minutes (1 à 1439)")
    canal: str | None = _Slug
    lieu_id: str | None = _Id
    commune_insee: str | None = Field(default=None, max_length=10)
    materiel: list[str] = Field(default_factory=list, max_length=10)
    thematiques: list[str] = Field(default_factory=list, max_length=30)
    thematiques_demarche: list[str] = Field(default_factory=list, max_length=20)
    nom_demarche: str | None = _Text
    finalisation: str | None = _Slug
    autonomie: str | None = _Slug
    oriente: bool | None = None
    structure_redirection: str | None = _Slug
    partenaire_id: str | None = _Id
    poursuite: str | None = _Slug
    beneficiaire_id: str | None = _Id
    anonyme: AnonymeIn | None = None
    titre_atelier: str | None = _Text
    niveau: str | None = _Slug
    participants_ids: list[str] = Field(default_factory=list, max_length=200)
    participants_anonymes: ParticipantsAnonymesIn | None = None
    autonomies: dict[str, str] = Field(
        default_factory=dict,
        max_length=200,
        description="Atelier : l'autonomie de chaque participant suivi (identifiant → niveau)",
    )
    notes: str = Field(default="", max_length=20_000)
    confirmer_notes: bool = False
    version: int | None = Field(default=None, description="Obligatoire pour PUT")

    def to_domain(self) -> ActiviteInput:
        anonyme = Anonyme(**self.anonyme.model_dump()) if self.anonyme else None
        pa = self.participants_anonymes
        return ActiviteInput(
            type=self.type,
            date=self.date,
            duree=self.duree,
            canal=self.canal or None,
            lieu_id=self.lieu_id or None,
            commune_insee=self.commune_insee or None,
            materiel=tuple(self.materiel),
            thematiques=tuple(self.thematiques),
            thematiques_demarche=tuple(self.thematiques_demarche),
            nom_demarche=self.nom_demarche or None,
            finalisation=self.finalisation or None,
            autonomie=self.autonomie or None,
            oriente=self.oriente,
            structure_redirection=self.structure_redirection or None,
            partenaire_id=self.partenaire_id or None,
            poursuite=self.poursuite or None,
            beneficiaire_id=self.beneficiaire_id or None,
            anonyme=anonyme,
            titre_atelier=self.titre_atelier or None,
            niveau=self.niveau or None,
            participants_ids=tuple(self.participants_ids),
            participants_anonymes=ParticipantsAnonymes(
                total=pa.total,
                deja_accompagnes=pa.deja_accompagnes,
                genres=dict(pa.genres),
                tranches_age=dict(pa.tranches_age),
                statuts=dict(pa.statuts),
            )
            if pa
            else None,
            autonomies=dict(self.autonomies),
            notes=self.notes,
            confirmer_notes=self.confirmer_notes,
        )


class ActiviteOut(ActiviteIn):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    id: str
    version: int | None = None
    participants: int = Field(description="Nombre d'accompagnements comptés (SPEC §5)")
    cree_le: dt.datetime
    modifie_le: dt.datetime

    @classmethod
    def of(cls, activite: Activite) -> ActiviteOut:
        return cls.model_validate(_fields(activite), strict=False)


class ActivitesPage(BaseModel):
    items: list[ActiviteOut]
    cursor: str | None


def _fields(activite: Activite) -> dict[str, Any]:
    d = activite.data
    pa = d.participants_anonymes
    return {
        "id": activite.id,
        "type": d.type,
        "date": d.date.isoformat() if d.date else None,
        "duree": d.duree,
        "canal": d.canal,
        "lieu_id": d.lieu_id,
        "commune_insee": d.commune_insee,
        "materiel": list(d.materiel),
        "thematiques": list(d.thematiques),
        "thematiques_demarche": list(d.thematiques_demarche),
        "nom_demarche": d.nom_demarche,
        "finalisation": d.finalisation,
        "autonomie": d.autonomie,
        "oriente": d.oriente,
        "structure_redirection": d.structure_redirection,
        "partenaire_id": d.partenaire_id,
        "poursuite": d.poursuite,
        "beneficiaire_id": d.beneficiaire_id,
        "anonyme": (
            {
                "deja_accompagne": d.anonyme.deja_accompagne,
                "commune_insee": d.anonyme.commune_insee,
                "genre": d.anonyme.genre,
                "tranche_age": d.anonyme.tranche_age,
                "statut": d.anonyme.statut,
            }
            if d.anonyme
            else None
        ),
        "titre_atelier": d.titre_atelier,
        "niveau": d.niveau,
        "participants_ids": list(d.participants_ids),
        "participants_anonymes": (
            {
                "total": pa.total,
                "deja_accompagnes": pa.deja_accompagnes,
                "genres": dict(pa.genres),
                "tranches_age": dict(pa.tranches_age),
                "statuts": dict(pa.statuts),
            }
            if pa
            else None
        ),
        "autonomies": dict(d.autonomies),
        "notes": d.notes,
        "confirmer_notes": d.confirmer_notes,
        "version": activite.version,
        "participants": activite.participants,
        "cree_le": activite.cree_le.isoformat(),
        "modifie_le": activite.modifie_le.isoformat(),
    }
