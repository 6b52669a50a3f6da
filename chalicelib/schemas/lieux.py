"""JSON of the signed-in mediator (SPEC §10): their lieux d'activité (`nom`, `adresse`,
`commune_insee`), `/api/moi`, and the communes reference they pick from."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.communes import Commune
from chalicelib.domain.mediateurs import Lieu, LieuInput, Profile


class LieuIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    nom: str = Field(default="", max_length=500)
    adresse: str = Field(default="", max_length=500)
    commune_insee: str = Field(default="", max_length=10)
    version: int | None = None

    def to_domain(self) -> LieuInput:
        return LieuInput(self.nom, self.adresse, self.commune_insee)


class LieuOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    nom: str
    adresse: str
    commune_insee: str
    archive: bool = Field(description="Archivé : absent des formulaires, gardé par ses activités")
    version: int
    cree_le: dt.datetime | None
    modifie_le: dt.datetime | None

    @classmethod
    def of(cls, lieu: Lieu) -> LieuOut:
        return cls(
            id=lieu.id,
            nom=lieu.nom,
            adresse=lieu.adresse,
            commune_insee=lieu.commune_insee,
            archive=lieu.archive,
            version=lieu.version,
            cree_le=lieu.cree_le,
            modifie_le=lieu.modifie_le,
        )


class LieuxPage(BaseModel):
    items: list[LieuOut]


class Structure(BaseModel):
    siret: str


class Moi(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    prenom: str
    nom: str
    email: str
    roles: list[str]
    structure: Structure | None
    lieux: list[LieuOut]
    csrf_token: str = Field(description="À renvoyer dans l'en-tête X-CSRF-Token des écritures")

    @classmethod
    def of(cls, profile: Profile, csrf_token: str) -> Moi:
        m = profile.mediateur
        return cls(
            id=m.id,
            prenom=m.prenom,
            nom=m.nom,
            email=m.email,
            roles=list(m.roles),
            structure=Structure(siret=m.siret) if m.siret else None,
            lieux=[LieuOut.of(lieu) for lieu in profile.lieux],
            csrf_token=csrf_token,
        )


class CommuneOut(BaseModel):
    insee: str
    nom: str
    codes_postaux: list[str]

    @classmethod
    def of(cls, commune: Commune) -> CommuneOut:
        return cls(insee=commune.insee, nom=commune.nom, codes_postaux=list(commune.codes_postaux))
