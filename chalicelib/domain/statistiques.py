"""The blocks of SPEC §5 as a mediator reads them: the same report for the statistics page, its
print view, the public share page and the « Exporter les statistiques » workbook.

`rapport(figures)` turns the statistics JSON (SPEC §10, computed once by `StatsService`) into
the Général figures, the per-month table and the tables of the Accompagnements and Bénéficiaires
blocks, in the page's order, with their titles and notes. The page adds charts and "42 (12,5 %)"
texts; the workbook writes the same rows as numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.dates import mois_fr


@dataclass(frozen=True)
class Definition:
    cle: str  # key of the statistics JSON
    titre: str
    colonne: str
    par: str  # "par thématique": completes a chart's description
    ordinal: bool = False  # keep the scale's order and its zeros (durées, âges, autonomie)
    note: str = ""
    si_present: bool = False  # leave the whole figure out when it is empty


MULTI_THEMATIQUES = (
    "Chaque pourcentage est la part des accompagnements qui portent sur la thématique ;"
    " une activité peut concerner plusieurs thématiques : le total des pourcentages peut"
    " dépasser 100 %."
)
MULTI_MATERIEL = (
    "Chaque pourcentage est la part des accompagnements où ce matériel a servi ; un"
    " accompagnement peut utiliser plusieurs matériels : le total des pourcentages peut"
    " dépasser 100 %."
)
SUIVI_SEULEMENT = "Accompagnements individuels et aides aux démarches seulement."
AUTONOMIE_NOTEE = (
    "Accompagnements individuels, aides aux démarches, et participants suivis des ateliers dont"
    " l'autonomie a été notée."
)

ACCOMPAGNEMENTS = (
    Definition(
        "thematiques",
        "Thématiques de médiation numérique",
        "Thématique",
        "par thématique",
        note=MULTI_THEMATIQUES,
    ),
    Definition(
        "thematiques_demarche",
        "Thématiques des démarches administratives",
        "Thématique",
        "par thématique de démarche",
        note=MULTI_THEMATIQUES,
    ),
    Definition("materiel", "Matériel utilisé", "Matériel", "par matériel", note=MULTI_MATERIEL),
    Definition("canaux", "Canaux", "Canal", "par canal"),
    Definition("durees", "Durées", "Durée", "par durée", ordinal=True),
    Definition("lieux", "Lieux d'activité", "Lieu d'activité", "par lieu d'activité"),
    Definition("communes", "Communes des lieux d'accompagnement", "Commune", "par commune"),
    Definition(
        "autonomie",
        "Autonomie des bénéficiaires",
        "Le bénéficiaire a réalisé l'action…",
        "par niveau d'autonomie",
        ordinal=True,
        note=AUTONOMIE_NOTEE,
    ),
    Definition(
        "redirections",
        "Orientations vers une autre structure",
        "Structure",
        "par type de structure",
        note=SUIVI_SEULEMENT,
    ),
    Definition(
        "partenaires",
        "Orientations vers mes partenaires",
        "Partenaire",
        "par partenaire",
        si_present=True,
    ),
)
BENEFICIAIRES = (
    Definition("genres", "Genres", "Genre", "par genre"),
    Definition("tranches_age", "Tranches d'âge", "Tranche d'âge", "par tranche d'âge", True),
    Definition("statuts", "Statuts", "Statut", "par statut"),
    Definition(
        "communes_residence", "Communes de résidence", "Commune", "par commune de résidence"
    ),
)


@dataclass(frozen=True)
class Ligne:
    libelle: str
    nombre: int
    pourcentage: float  # one decimal, as the JSON gives it


@dataclass(frozen=True)
class Tableau:
    definition: Definition
    lignes: list[Ligne]


@dataclass(frozen=True)
class Chiffre:
    libelle: str
    nombre: int
    pourcentage: float | None = None  # None: the figure is a total, not a part
    detail: str = ""


@dataclass(frozen=True)
class Rapport:
    total: int
    chiffres: list[Chiffre]
    mois: Tableau
    accompagnements: list[Tableau]
    beneficiaires: list[Tableau]


PAR_MOIS = Definition("par_mois", "Accompagnements par mois", "Mois", "par mois", ordinal=True)


def nombre_fr(value: int) -> str:
    """1234567 -> "1 234 567" (narrow no-break spaces, the French thousands separator)."""
    return f"{value:,}".replace(",", "\u202f")


def largest_remainder(counts: list[int], decimals: int = 1) -> list[float]:
    """Percentages that add up to exactly 100 (all zero -> all 0): floor each share in units of
    10^-decimals, then hand the missing units to the largest remainders (ties: larger count,
    then order)."""
    whole = sum(counts)
    if whole <= 0:
        return [0.0 for _ in counts]
    scale = 100 * 10**decimals
    exact = [c * scale / whole for c in counts]
    floors = [int(x) for x in exact]
    missing = scale - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), -counts[i], i))
    for i in order[:missing]:
        floors[i] += 1
    return [f / 10**decimals for f in floors]


def share(count: int, whole: int) -> float:
    """A multi-choice percentage: the share of accompagnements that include the value."""
    return round(count * 100 / whole, 1) if whole > 0 else 0.0


def _rows(items: list[Mapping[str, Any]], ordinal: bool) -> list[Mapping[str, Any]]:
    if ordinal:
        return items
    kept = [i for i in items if int(i.get("nombre", 0)) > 0]
    return sorted(kept, key=lambda i: -int(i["nombre"]))  # stable: ties keep the JSON order


def tableau(definition: Definition, items: list[Mapping[str, Any]]) -> Tableau:
    """A distribution as shown: most frequent first (or in the scale's order), no row at all
    when every count is zero."""
    rows = _rows(items, definition.ordinal)
    if not any(int(i.get("nombre", 0)) > 0 for i in rows):
        rows = []
    lignes = [Ligne(str(i["libelle"]), int(i["nombre"]), float(i["pourcentage"])) for i in rows]
    return Tableau(definition, lignes)


def _par_mois(figures: Mapping[str, Any]) -> Tableau:
    months = [(str(m["mois"]), int(m["accompagnements"])) for m in figures.get("par_mois", [])]
    parts = largest_remainder([n for _, n in months])
    lignes = [Ligne(mois_fr(m), n, p) for (m, n), p in zip(months, parts, strict=True)]
    return Tableau(PAR_MOIS, lignes)


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{nombre_fr(count)} {singular if count <= 1 else plural}"


def chiffres(figures: Mapping[str, Any]) -> list[Chiffre]:
    """The Général block's figures."""
    acc = figures["accompagnements"]
    ben = figures["beneficiaires"]
    types = [int(acc.get(t, 0)) for t in ("individuel", "demarche", "collectif")]
    parts = largest_remainder(types)
    total_ben = int(ben["total"])
    nouveaux = int(ben["nouveaux"])
    ateliers = _plural(int(figures.get("ateliers", 0)), "atelier", "ateliers")
    personnes = (
        _plural(int(ben["suivis"]), "suivi", "suivis")
        + " et "
        + _plural(int(ben["anonymes"]), "anonyme", "anonymes")
    )
    return [
        Chiffre("Accompagnements", int(acc["total"])),
        Chiffre("Accompagnements individuels", types[0], parts[0]),
        Chiffre("Aides aux démarches administratives", types[1], parts[1]),
        Chiffre("Participants aux ateliers collectifs", types[2], parts[2], "dans " + ateliers),
        Chiffre("Bénéficiaires accompagnés", total_ben, None, personnes),
        Chiffre("dont nouveaux bénéficiaires", nouveaux, share(nouveaux, total_ben)),
    ]


def rapport(figures: Mapping[str, Any]) -> Rapport:
    """Every block of SPEC §5 from the statistics JSON (SPEC §10)."""

    def block(definitions: tuple[Definition, ...]) -> list[Tableau]:
        found = [tableau(d, list(figures.get(d.cle, []))) for d in definitions]
        return [t for t in found if t.lignes or not t.definition.si_present]

    return Rapport(
        total=int(figures["accompagnements"]["total"]),
        chiffres=chiffres(figures),
        mois=_par_mois(figures),
        accompagnements=block(ACCOMPAGNEMENTS),
        beneficiaires=block(BENEFICIAIRES),
    )
