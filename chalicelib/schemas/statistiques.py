"""JSON of the statistics (SPEC §5, §10): `/api/statistiques` and the structure's. Responses are
built from `Statistiques` (`Statistiques.of`), which OpenAPI documents."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class PeriodeStats(BaseModel):
    du: date
    au: date


class AccompagnementsStats(BaseModel):
    total: int = Field(
        description="Un individuel ou une démarche compte 1, un atelier ses participants"
    )
    individuel: int
    demarche: int
    collectif: int


class BeneficiairesStats(BaseModel):
    total: int = Field(description="Personnes distinctes : suivis + anonymes")
    suivis: int
    anonymes: int
    nouveaux: int


class Mois(BaseModel):
    mois: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="AAAA-MM")
    accompagnements: int


class Repartition(BaseModel):
    cle: str = Field(description="Le slug de la valeur (ou l'identifiant du lieu, le code INSEE…)")
    libelle: str
    nombre: int
    pourcentage: float = Field(
        description="Une décimale. Choix unique : la somme fait 100 (plus forts restes) ;"
        " choix multiples (thématiques, matériel) : part des accompagnements concernés"
    )


class Statistiques(BaseModel):
    """Every figure of SPEC §5 for a period and filters."""

    periode: PeriodeStats
    accompagnements: AccompagnementsStats
    ateliers: int
    beneficiaires: BeneficiairesStats
    par_mois: list[Mois] = Field(description="Les 12 derniers mois de la période au plus")
    thematiques: list[Repartition]
    thematiques_demarche: list[Repartition]
    materiel: list[Repartition]
    canaux: list[Repartition]
    durees: list[Repartition] = Field(description="Clés : moins_30, 30_60, 60_120, 120_plus")
    lieux: list[Repartition]
    communes: list[Repartition]
    autonomie: list[Repartition]
    redirections: list[Repartition]
    partenaires: list[Repartition]
    genres: list[Repartition]
    tranches_age: list[Repartition]
    statuts: list[Repartition]
    communes_residence: list[Repartition]

    @classmethod
    def of(cls, figures: dict[str, Any]) -> Statistiques:
        return cls.model_validate(figures)
