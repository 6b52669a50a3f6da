"""Resolving the commune picker of a form (typed text, datalist label or a chosen radio)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chalicelib.domain.communes import words
from chalicelib.web.http import FormData

if TYPE_CHECKING:
    from chalicelib.domain.communes import Commune, CommuneReference


@dataclass
class CommuneChoice:
    insee: str = ""
    text: str = ""
    candidates: list[Commune] = field(default_factory=list)
    error: str | None = None


def for_insee(index: CommuneReference, insee: str) -> CommuneChoice:
    commune = index.get(insee) if insee else None
    return CommuneChoice(insee, commune.libelle) if commune else CommuneChoice()


def resolve(form: FormData, name: str, index: CommuneReference, required: bool) -> CommuneChoice:
    picked = form.get(name).strip()
    text = form.get(name + "_q").strip()[:80]
    chosen = index.get(picked) if picked else None
    if chosen and (not text or text in (chosen.libelle, chosen.nom)):
        return CommuneChoice(chosen.insee, chosen.libelle)
    if not text:
        return CommuneChoice(error="Choisissez une commune." if required else None)
    matches = index.search(text, limit=10)
    if chosen and any(c.insee == chosen.insee for c in matches):
        return CommuneChoice(chosen.insee, chosen.libelle)  # picked among the candidates
    # A code can be one commune's INSEE code and another's postal code ("69003": Albigny-sur-Saône
    # / Lyon 3e): both count as exact, so the mediator is asked instead of silently given one.
    exact = [c for c in matches if text in (c.libelle, c.insee, *c.codes_postaux)] or [
        c for c in matches if words(c.nom) == words(text)
    ]
    if len(exact) == 1 or len(matches) == 1:
        found = exact[0] if len(exact) == 1 else matches[0]
        return CommuneChoice(found.insee, found.libelle)
    if not matches:
        return CommuneChoice(text=text, error=f"Aucune commune ne correspond à « {text} ».")
    return CommuneChoice(
        text=text, candidates=matches, error="Choisissez la commune dans la liste."
    )
