"""JSON bodies of share links (SPEC §5, §10). Shape only: the filters are read by the statistics
request parser (`web/params.stats_request`, the same rules as `/api/statistiques`), the rest
of the rules are the service's.

`POST /api/statistiques/partages {"filters": {…}, "expire_le": "AAAA-MM-JJ"|null,
"portee": "mediateur"|"structure"}` → 201 with the link's `url` (shown this once only).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.partages import Partage

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class FiltresPartageIn(BaseModel):
    """The statistics request the link answers (the parameters of /api/statistiques)."""

    model_config = _STRICT

    periode: str | None = Field(
        default=None,
        max_length=40,
        description="Période prédéfinie (cette_annee par défaut) : elle suit la date du jour ;"
        " `du` / `au` l'emportent sur elle",
    )
    du: str | None = Field(
        default=None,
        max_length=40,
        description="Premier jour (AAAA-MM-JJ, pas avant 2020-01-01)",
        json_schema_extra={"format": "date"},
    )
    au: str | None = Field(
        default=None,
        max_length=40,
        description="Dernier jour (AAAA-MM-JJ)",
        json_schema_extra={"format": "date"},
    )
    type: str | None = Field(default=None, max_length=40, description="Type d'activité")
    canal: str | None = Field(default=None, max_length=40, description="Canal")
    lieu: str | None = Field(
        default=None,
        max_length=40,
        description="Un de mes lieux d'activité (pas pour la structure)",
    )


class PartageIn(BaseModel):
    """Make a share link of the statistics."""

    model_config = _STRICT

    filters: FiltresPartageIn = Field(default_factory=FiltresPartageIn)
    expire_le: dt.date | None = Field(
        default=None,
        description="Premier jour où le lien ne fonctionne plus (dans moins d'un an) ; null :"
        " sans date d'expiration",
    )
    portee: Literal["mediateur", "structure"] = Field(
        default="mediateur",
        description="`structure` (gestionnaires) : les statistiques de toute la structure",
    )


class PartageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    url: str | None = Field(
        description="Le lien public : donné une seule fois, à la création (seule son empreinte"
        " est conservée) ; null ensuite"
    )
    portee: Literal["mediateur", "structure"]
    filters: dict[str, str] = Field(description="periode (prédéfinie), du, au, type, canal, lieu")
    cree_le: dt.datetime
    createur: str = Field(description="Identifiant du médiateur qui a créé le lien")
    expire_le: dt.date | None
    expire: bool = Field(description="Le lien a expiré : il répond 404")
    ouvertures: int = Field(description="Nombre d'ouvertures du lien")
    derniere_ouverture: dt.datetime | None

    @classmethod
    def of(cls, partage: Partage, today: dt.date, url: str | None = None) -> PartageOut:
        return cls(
            id=partage.id,
            url=url,
            portee=partage.portee,  # type: ignore[arg-type]
            filters=partage.filtres.to_map(),
            cree_le=partage.cree_le,
            createur=partage.createur,
            expire_le=partage.expire_le,
            expire=partage.expire(today),
            ouvertures=partage.ouvertures,
            derniere_ouverture=partage.derniere_ouverture,
        )


class PartagesPage(BaseModel):
    items: list[PartageOut]
