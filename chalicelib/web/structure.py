"""Gestionnaire de structure (SPEC §1): the structure's statistics and its gestionnaires.

Only a gestionnaire sees these pages, and only for their own structure (the SIRET of their
profile, never one from the URL). The statistics are the sum of the structure's mediators'
figures (`StatsService.structure_figures`): counts and percentages only, never a beneficiary.
The figures are shown with the building blocks of Mes statistiques (`web/statistiques.vue` and
`statistiques/_figure.html`), so both pages read the same.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain import vocab
from chalicelib.domain.dates import Periode
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.mediateurs import ROLE_GESTIONNAIRE, Mediateur
from chalicelib.web.context import current, profile
from chalicelib.web.errors import error_page
from chalicelib.web.http import redirect
from chalicelib.web.pages_common import render_page
from chalicelib.web.params import StatsRequest, stats_request
from chalicelib.web.routing import api, page
from chalicelib.web.statistiques import (
    Rapport,
    export_link,
    figures_response,
    periode_and_figures,
    render_statistics,
)

bp = Blueprint(__name__)

LABELS = {"periode": "Période", "du": "Du", "au": "Au", "type": "Type d'activité", "canal": "Canal"}
GESTIONNAIRE_LABELS = {"email": "Adresse e-mail du médiateur"}
GESTIONNAIRE_AJOUTE = "{nom} est maintenant gestionnaire de la structure."


def _gestionnaire() -> Mediateur | None:
    """The signed-in mediator when they manage a structure (None otherwise)."""
    mediateur = profile().mediateur
    return mediateur if mediateur.siret and ROLE_GESTIONNAIRE in mediateur.roles else None


# --- statistics --------------------------------------------------------------------------------


def _figures(siret: str, demande: StatsRequest) -> tuple[Periode | None, dict[str, Any] | None]:
    return periode_and_figures(
        demande,
        lambda periode: current().container.statistics.structure_figures(
            siret, periode, demande.type, demande.canal
        ),
    )


@api(bp, "/api/structure/statistiques")
def structure_statistiques_api() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None or gestionnaire.siret is None:
        raise Forbidden("gestionnaire")
    demande = stats_request(for_page=False, lieux=None)
    _, figures = _figures(gestionnaire.siret, demande)
    return figures_response(demande, figures)


@page(bp, "/structure/statistiques")
def structure_statistiques() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None or gestionnaire.siret is None:
        return error_page(403)
    demande = stats_request(for_page=True, lieux=None)
    periode, figures = _figures(gestionnaire.siret, demande)
    actifs = [
        label(value)
        for value, label in (
            (demande.type, vocab.TYPES_ACTIVITE.label),
            (demande.canal, vocab.CANAUX.label),
        )
        if value
    ]
    return render_statistics(
        "structure/statistiques.html",
        demande,
        periode,
        figures,
        LABELS,
        filtres={"type": demande.type, "canal": demande.canal},
        filtres_actifs=actifs,
        siret=gestionnaire.siret,
        structure=current().container.accounts.structure_libelle(gestionnaire.siret),
        mediateurs=current().container.accounts.structure_mediateurs(gestionnaire.siret),
        export_url=export_link(demande, structure=True),
        rapport=Rapport(
            "Statistiques de ma structure",
            current().container.accounts.structure_libelle(gestionnaire.siret),
            "/structure/statistiques",
            portee="structure",
        ),
    )


# --- gestionnaires -----------------------------------------------------------------------------


def _gestionnaires_page(
    gestionnaire: Mediateur, errors: dict[str, str], email: str = "", flash: str | None = None
) -> Response:
    assert gestionnaire.siret is not None
    return render_page(
        "structure/gestionnaires.html",
        errors=errors,
        labels=GESTIONNAIRE_LABELS,
        email=email,
        siret=gestionnaire.siret,
        structure=current().container.accounts.structure_libelle(gestionnaire.siret),
        mediateurs=current().container.accounts.structure_mediateurs(gestionnaire.siret),
        role=ROLE_GESTIONNAIRE,
        flash=flash,
    )


@page(bp, "/structure/gestionnaires")
def gestionnaires() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None:
        return error_page(403)
    ajoute = current().query("ajoute")
    colleague = next(
        (
            m
            for m in current().container.accounts.structure_mediateurs(gestionnaire.siret or "")
            if m.id == ajoute
        ),
        None,
    )
    flash = GESTIONNAIRE_AJOUTE.format(nom=colleague.nom_complet) if colleague else None
    return _gestionnaires_page(gestionnaire, {}, flash=flash)


@page(bp, "/structure/gestionnaires", methods=("POST",))
def ajouter_gestionnaire() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None:
        return error_page(403)
    email = current().form.get("email").strip()[:254]
    try:
        granted = current().container.accounts.grant_in_structure(gestionnaire, email)
    except ValidationFailed as exc:
        return _gestionnaires_page(gestionnaire, exc.errors, email=email)
    return redirect(f"/structure/gestionnaires?ajoute={granted.id}", status=303)


# --- the structure's name (SPEC §13) ------------------------------------------------------------

NOM_LABELS = {"nom": "Nom de la structure"}


def _nom_page(gestionnaire: Mediateur, nom: str, errors: dict[str, str]) -> Response:
    assert gestionnaire.siret is not None
    return render_page(
        "structure/nom.html", errors=errors, labels=NOM_LABELS, nom=nom, siret=gestionnaire.siret
    )


@page(bp, "/structure/nom")
def structure_nom() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None or gestionnaire.siret is None:
        return error_page(403)
    return _nom_page(
        gestionnaire, current().container.accounts.structure_nom(gestionnaire.siret) or "", {}
    )


@page(bp, "/structure/nom", methods=("POST",))
def structure_nom_post() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None:
        return error_page(403)
    nom = current().form.get("nom")[:500]
    try:
        current().container.accounts.name_structure(gestionnaire, nom)
    except ValidationFailed as exc:
        return _nom_page(gestionnaire, nom, exc.errors)
    return redirect("/structure/statistiques?message=structure_nommee", status=303)
