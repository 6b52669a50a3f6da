"""Mes statistiques (SPEC §5): the page with its period and filters, the JSON API (SPEC §10) and
the 30-day summary of the dashboard.

Handlers are wiring: read the query, ask the statistics service for the period and the figures
(the JSON of SPEC §10), and turn that JSON into what the page shows: figures as "42 (12,5 %)",
one server-drawn chart per figure, each followed by its data table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response
from markupsafe import Markup

from chalicelib import observability
from chalicelib.domain import statistiques as blocs
from chalicelib.domain import vocab
from chalicelib.domain.dates import CUSTOM, DEFAULT_PRESET, PERIODES, Periode
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.mediateurs import Profile
from chalicelib.web import svg
from chalicelib.web.context import current, profile
from chalicelib.web.http import model_response
from chalicelib.web.pages_common import render_page
from chalicelib.web.params import StatsRequest, stats_query, stats_request
from chalicelib.web.render import date_fr
from chalicelib.web.routing import api, page

bp = Blueprint(__name__)

LABELS = {
    "periode": "Période",
    "du": "Du",
    "au": "Au",
    "type": "Type d'activité",
    "canal": "Canal",
    "lieu": "Lieu d'activité",
}
MAX_BARS = 10  # a chart keeps the most frequent values; its table gives them all


def _service() -> Any:
    """The statistics service of the container (`chalicelib.stats.service.StatsService`)."""
    return current().container.statistics


def periode_and_figures(
    demande: StatsRequest, compute: Callable[[Periode], dict[str, Any]]
) -> tuple[Periode | None, dict[str, Any] | None]:
    """(period, figures) of a checked request; the period's rule errors (du > au, before 2020)
    join the request's errors and leave the figures out. Shared with the structure's views."""
    periode = demande_periode(demande)
    return (periode, compute(periode)) if periode is not None else (None, None)


def demande_periode(demande: StatsRequest) -> Periode | None:
    """The period of a checked request, or None with its errors (du > au, before 2020, after
    today) joined to the request's."""
    if demande.errors:
        return None
    try:
        return _service().periode(demande.preset, demande.du, demande.au)
    except ValidationFailed as exc:
        demande.errors.update(exc.errors)
        return None


def asked_query(demande: StatsRequest) -> str:
    """The period and filters as asked, as a query string (a preset stays a preset)."""
    names = ("periode", "du", "au", "type", "canal", "lieu")
    return urlencode({name: demande.saisie[name] for name in names if demande.saisie.get(name)})


def export_link(demande: StatsRequest, structure: bool = False) -> str:
    """« Exporter les statistiques »: the confirmation page of Mes exports, with the period and
    filters asked (the period is resolved when the export is asked)."""
    portee = "&portee=structure" if structure else ""
    asked = asked_query(demande)
    return "/exports?kind=statistiques" + portee + (f"&{asked}" if asked else "")


def figures_response(demande: StatsRequest, figures: dict[str, Any] | None) -> Response:
    """The JSON API's answer: the figures (SPEC §10), or 422 with a message per parameter."""
    from chalicelib.schemas.statistiques import Statistiques

    if demande.errors or figures is None:
        raise ValidationFailed(demande.errors)
    return model_response(Statistiques.of(figures))


# --- the JSON API -------------------------------------------------------------------------------


def _mine(for_page: bool) -> tuple[StatsRequest, Periode | None, dict[str, Any] | None]:
    """The signed-in mediator's request, period and figures."""
    me = profile()
    demande = stats_request(for_page=for_page, lieux={lieu.id for lieu in me.lieux})
    periode, figures = periode_and_figures(
        demande,
        lambda periode: _service().figures(me, periode, demande.type, demande.canal, demande.lieu),
    )
    return demande, periode, figures


@api(bp, "/api/statistiques")
def statistiques_api() -> Response:
    demande, _, figures = _mine(for_page=False)
    return figures_response(demande, figures)


# --- what the page shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ligne:
    libelle: str
    nombre: int
    texte: str  # "42 (12,5 %)"


@dataclass(frozen=True)
class Figure:
    cle: str
    titre: str
    colonne: str  # header of the label column of the data table
    lignes: list[Ligne]
    graphique: Markup
    legende: str  # the table's caption
    note: str = ""


@dataclass(frozen=True)
class Chiffre:
    libelle: str
    valeur: str
    detail: str = ""


@dataclass(frozen=True)
class Vue:
    total: int
    chiffres: list[Chiffre]
    mois: Figure
    accompagnements: list[Figure]
    beneficiaires: list[Figure]


def _lignes(tableau: blocs.Tableau) -> list[Ligne]:
    return [
        Ligne(ligne.libelle, ligne.nombre, svg.nombre_et_part(ligne.nombre, ligne.pourcentage))
        for ligne in tableau.lignes
    ]


def _figure(tableau: blocs.Tableau, periode: str) -> Figure:
    definition = tableau.definition
    shown = tableau.lignes[:MAX_BARS]
    desc = f"Nombre et part des accompagnements {definition.par}, {periode}."
    if len(tableau.lignes) > MAX_BARS:
        desc += f" Les {MAX_BARS} plus fréquents ; le tableau qui suit les donne tous."
    chart = svg.share_chart(
        [(ligne.libelle, ligne.nombre, ligne.pourcentage) for ligne in shown],
        chart_id=f"graphique-{definition.cle}",
        title=definition.titre,
        desc=desc,
    )
    return Figure(
        definition.cle,
        definition.titre,
        definition.colonne,
        _lignes(tableau),
        chart,
        f"Données du graphique : {definition.titre}",
        definition.note,
    )


def _months(figures: Mapping[str, Any], tableau: blocs.Tableau, periode: str) -> Figure:
    months = [(str(m["mois"]), int(m["accompagnements"])) for m in figures.get("par_mois", [])]
    titre = tableau.definition.titre
    chart = svg.month_chart(
        months,
        chart_id="graphique-par-mois",
        title=titre,
        desc=f"Nombre d'accompagnements de chaque mois, {periode}.",
    )
    return Figure(
        "par_mois", titre, "Mois", _lignes(tableau), chart, f"Données du graphique : {titre}"
    )


def _chiffre(chiffre: blocs.Chiffre) -> Chiffre:
    if chiffre.pourcentage is None:
        valeur = svg.nombre_fr(chiffre.nombre)
    else:
        valeur = svg.nombre_et_part(chiffre.nombre, chiffre.pourcentage)
    return Chiffre(chiffre.libelle, valeur, chiffre.detail)


def vue(figures: Mapping[str, Any]) -> Vue:
    """The page's view of the statistics JSON (SPEC §10): the report of `domain.statistiques`
    with its charts and "42 (12,5 %)" texts."""
    periode = _period_text(figures["periode"]["du"], figures["periode"]["au"])
    rapport = blocs.rapport(figures)
    return Vue(
        total=rapport.total,
        chiffres=[_chiffre(c) for c in rapport.chiffres],
        mois=_months(figures, rapport.mois, periode),
        accompagnements=[_figure(t, periode) for t in rapport.accompagnements],
        beneficiaires=[_figure(t, periode) for t in rapport.beneficiaires],
    )


def _period_text(du: str | date, au: str | date) -> str:
    start = du if isinstance(du, date) else date.fromisoformat(du)
    end = au if isinstance(au, date) else date.fromisoformat(au)
    return f"du {date_fr(start)} au {date_fr(end)}"


# --- the page ----------------------------------------------------------------------------------


def _lieux_choix(profile: Profile) -> list[tuple[str, str]]:
    return [
        (lieu.id, lieu.nom + (" (archivé)" if lieu.archive else ""))
        for lieu in sorted(profile.lieux, key=lambda x: (x.archive, x.nom.lower()))
    ]


def _filtres_actifs(demande: StatsRequest, lieux: Mapping[str, str]) -> list[str]:
    active: list[str] = []
    if demande.type:
        active.append(vocab.TYPES_ACTIVITE.label(demande.type))
    if demande.canal:
        active.append(vocab.CANAUX.label(demande.canal))
    if demande.lieu:
        active.append(lieux.get(demande.lieu, demande.lieu))
    return active


def checked(demande: StatsRequest) -> str:
    """The radio to check: the custom range as soon as typed dates are used."""
    if demande.personnalisee:
        return CUSTOM
    return demande.preset or ("" if "periode" in demande.errors else DEFAULT_PRESET)


@dataclass(frozen=True)
class Rapport:
    """How a statistics page is printed and shared (SPEC §5 « Imprimer / PDF », « Partager »):
    whose figures they are, the page itself, and the share form of the same figures."""

    titre: str  # the print view's heading
    sujet: str  # the mediator's name, or the structure: on top of every printed page
    page: str  # "/statistiques"
    portee: str = "mediateur"  # of the share link


IMPRESSION = "statistiques/impression.html"


@page(bp, "/statistiques")
def statistiques() -> Response:
    demande, periode, figures = _mine(for_page=True)
    lieux = _lieux_choix(profile())
    return render_statistics(
        "statistiques/page.html",
        demande,
        periode,
        figures,
        LABELS,
        filtres={"type": demande.type, "canal": demande.canal, "lieu": demande.lieu},
        lieux_choix=lieux,
        filtres_actifs=_filtres_actifs(demande, dict(lieux)),
        export_url=export_link(demande),
        rapport=Rapport("Mes statistiques", profile().mediateur.nom_complet, "/statistiques"),
    )


def render_statistics(
    template: str,
    demande: StatsRequest,
    periode: Periode | None,
    figures: dict[str, Any] | None,
    labels: dict[str, str],
    rapport: Rapport | None = None,
    **context: Any,
) -> Response:
    """A statistics page (the mediator's or the structure's): the period form as typed, and
    the figures when the request could be read. With `?imprimer=1`, the print view of the same
    figures (without the form; what « Imprimer / PDF » opens without JavaScript)."""
    if rapport is not None and figures is not None and current().query("imprimer") == "1":
        template = IMPRESSION
    return render_page(
        template,
        rapport=rapport,
        requete=stats_query(demande),
        aujourd_hui=date_fr(current().container.calendar.today()),
        status=400 if demande.errors else 200,
        errors=demande.errors,
        labels=labels,
        periodes=PERIODES.choices(),
        coche=checked(demande),
        dates=dates_shown(demande, periode),
        saisie=demande.saisie,
        periode_texte=_period_text(periode.du, periode.au) if periode is not None else "",
        vue=vue(figures) if figures is not None else None,
        **context,
    )


def dates_shown(demande: StatsRequest, periode: Periode | None) -> dict[str, str]:
    """The period's dates, or what was typed when it could not be read (unchanged, it then
    gives way to a preset: see `params.stats_request`)."""
    if periode is not None:
        return {"du": periode.du.isoformat(), "au": periode.au.isoformat()}
    return {"du": demande.saisie["du"], "au": demande.saisie["au"]}


# --- the dashboard's 30 days --------------------------------------------------------------------


@dataclass(frozen=True)
class Resume:
    accompagnements: int
    beneficiaires: int
    thematiques: list[Ligne]  # the 3 most frequent, most frequent first


def resume_30_jours(
    profile: Profile, fetch: Callable[[Profile], Mapping[str, Any]] | None = None
) -> Resume | None:
    """The dashboard's summary, or None when the statistics cannot be read: the dashboard
    shows its placeholder then, it never breaks for it."""
    try:
        figures = (fetch or _service().resume_30_jours)(profile)
        themes = blocs.tableau(blocs.ACCOMPAGNEMENTS[0], list(figures.get("thematiques", [])))
        return Resume(
            accompagnements=int(figures["accompagnements"]["total"]),
            beneficiaires=int(figures["beneficiaires"]["total"]),
            thematiques=_lignes(themes)[:3],
        )
    except Exception as exc:  # any failure: the placeholder, and a log line without data
        observability.logger().warning("30-day summary unavailable", error=type(exc).__name__)
        return None
