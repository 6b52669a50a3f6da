"""JSON bodies of exports (SPEC §10). Shape only: the rules are the service's.

`POST /api/exports {"kind": "activites"|"beneficiaires"|"statistiques", "format": "xlsx"|"csv",
"scope": "mediateur"|"structure", "filters": {…}}`. Activities take the list's filters
(du, au, type, canal, lieu, beneficiaire, thematique); beneficiaries take the search (`q`);
statistics (xlsx only) take the statistics page's (periode or du/au, type, canal, lieu).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.activites import Filtres
from chalicelib.domain.exports import STATUTS, Export, ExportRequest, filtres_to_map

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
_Slug = Field(default=None, max_length=60)


class FiltresExportIn(BaseModel):
    model_config = _STRICT

    du: dt.date | None = None
    au: dt.date | None = None
    type: str | None = _Slug
    canal: str | None = _Slug
    lieu: str | None = Field(default=None, max_length=40)
    beneficiaire: str | None = Field(default=None, max_length=40)
    thematique: str | None = _Slug
    q: str | None = Field(default=None, max_length=200, description="Bénéficiaires : la recherche")
    periode: str | None = Field(
        default=None,
        max_length=20,
        description="Statistiques : une période prédéfinie (cette_annee…) ;"
        " `du` / `au` l'emportent",
    )


class ExportIn(BaseModel):
    """Ask for an export; the file is prepared in the background (202)."""

    model_config = _STRICT

    kind: Literal["activites", "beneficiaires", "statistiques"]
    format: Literal["xlsx", "csv"] = "xlsx"
    scope: Literal["mediateur", "structure"] = Field(
        default="mediateur",
        description="`structure` (gestionnaires) : les activités de tous les médiateurs de la"
        " structure, sans noms de bénéficiaires ni notes",
    )
    filters: FiltresExportIn = Field(default_factory=FiltresExportIn)

    def to_domain(self) -> ExportRequest:
        f = self.filters
        return ExportRequest(
            kind=self.kind,
            format=self.format,
            scope=self.scope,
            filtres=Filtres(
                du=f.du,
                au=f.au,
                type=f.type or None,
                canal=f.canal or None,
                lieu=f.lieu or None,
                beneficiaire=f.beneficiaire or None,
                thematique=f.thematique or None,
            ),
            q=f.q or "",
            periode=f.periode or None,
        )


class ExportOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["activites", "beneficiaires", "statistiques"]
    format: Literal["xlsx", "csv"]
    scope: Literal["mediateur", "structure"]
    statut: Literal["en_attente", "en_cours", "pret", "echec", "expire"] = Field(
        description="`expire` : plus de 7 jours, le fichier n'est plus disponible"
    )
    libelle_statut: str
    lignes: int = Field(description="Lignes écrites (progression), puis le total")
    taille: int | None = Field(description="Octets, quand le fichier est prêt")
    raison: str | None = Field(description="En cas d'échec, pourquoi (en français)")
    fichier: str = Field(description="coop_activites_AAAA-MM-JJ.xlsx…")
    demandeur: str
    filters: dict[str, str]
    cree_le: dt.datetime
    termine_le: dt.datetime | None
    expire_le: dt.datetime
    telechargement: str = Field(
        description="Lien stable de l'application (vérifie les droits puis redirige) ; pour un"
        " export de structure, utilisable par les autres gestionnaires de la structure"
    )
    url: str | None = Field(description="Lien signé direct, valable quelques minutes, si prêt")

    @classmethod
    def of(cls, export: Export, now: dt.datetime, url: str | None) -> ExportOut:
        return cls.model_validate(_fields(export, now, url))


class ExportsPage(BaseModel):
    items: list[ExportOut]


def _fields(export: Export, now: dt.datetime, url: str | None) -> dict[str, Any]:
    statut = export.statut_affiche(now)
    filters: dict[str, str] = filtres_to_map(export.filtres)
    if export.q:
        filters["q"] = export.q
    return {
        "id": export.id,
        "kind": export.kind,
        "format": export.format,
        "scope": export.scope,
        "statut": statut,
        "libelle_statut": STATUTS.label(statut),
        "lignes": export.lignes,
        "taille": export.taille,
        "raison": export.raison_affichee(now),
        "fichier": export.filename,
        "demandeur": export.demandeur,
        "filters": filters,
        "cree_le": export.cree_le.isoformat(),
        "termine_le": export.termine_le.isoformat() if export.termine_le else None,
        "expire_le": export.expire_le().isoformat(),
        "telechargement": f"/exports/{export.id}/telecharger",
        "url": url,
    }
