"""The « Exporter les statistiques » workbook (SPEC §5 Reporting), pure: the report of the page
(`domain.statistiques.rapport`, from the same figures) as sheets of tables — Général,
Accompagnements, Bénéficiaires — each distribution a table of libellé, nombre and pourcentage
(real numbers; the writer gives percentages a % format)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.statistiques import Rapport, Tableau

Row = tuple[str, int, float | None, str]  # libellé, nombre, pourcentage (0–100), précision


@dataclass(frozen=True)
class Section:
    titre: str
    colonne: str  # the label column's header
    lignes: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class Feuille:
    nom: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Classeur:
    titre: str
    preambule: tuple[tuple[str, str], ...]
    feuilles: tuple[Feuille, ...]
    cree_le: datetime | None = None


def _section(tableau: Tableau) -> Section:
    d = tableau.definition
    lignes = tuple((ligne.libelle, ligne.nombre, ligne.pourcentage, "") for ligne in tableau.lignes)
    return Section(d.titre, d.colonne, lignes, d.note)


def classeur(
    rapport: Rapport,
    titre: str,
    preambule: tuple[tuple[str, str], ...],
    cree_le: datetime | None = None,
) -> Classeur:
    chiffres = Section(
        "Chiffres clés",
        "Indicateur",
        tuple((c.libelle, c.nombre, c.pourcentage, c.detail) for c in rapport.chiffres),
    )
    return Classeur(
        titre,
        preambule,
        (
            Feuille("Général", (chiffres, _section(rapport.mois))),
            Feuille("Accompagnements", tuple(_section(t) for t in rapport.accompagnements)),
            Feuille("Bénéficiaires", tuple(_section(t) for t in rapport.beneficiaires)),
        ),
        cree_le,
    )
