"""JSON body of a lieu d'activité (SPEC §10: `nom`, `adresse`, `commune_insee`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.mediateurs import LieuInput


class LieuIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    nom: str = Field(default="", max_length=500)
    adresse: str = Field(default="", max_length=500)
    commune_insee: str = Field(default="", max_length=10)
    version: int | None = None

    def to_domain(self) -> LieuInput:
        return LieuInput(self.nom, self.adresse, self.commune_insee)
