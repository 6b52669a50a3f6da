"""Gestionnaire de structure (SPEC §1): the structure's statistics and its gestionnaires.

Only a gestionnaire sees these pages, and only for their own structure (the SIRET of their
profile, never one from the URL). The statistics are the sum of the structure's mediators'
figures (`StatsService.structure_figures`): counts and percentages only, never a beneficiary.
The figures are shown with the building blocks of Mes statistiques (`web/statistiques.vue` and
`statistiques/_figure.html`), so both pages read the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain import vocab
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.mediateurs import ROLE_GESTIONNAIRE, Mediateur
from chalicelib.web.context import current
from chalicelib.web.errors import error_page, json_error
from chalicelib.web.http import json_response, redirect
from chalicelib.web.pages_common import render_page
from chalicelib.web.render import date_fr
from chalicelib.web.routing import api, page

bp = Blueprint(__name__)

CUSTOM = "personnalisee"
PERIODES = (
    ("cette_annee", "Cette année"),
    ("ce_mois", "Ce mois-ci"),
    ("mois_dernier", "Mois dernier"),
    ("12_mois", "12 derniers mois"),
    ("annee_derniere", "Année dernière"),
    (CUSTOM, "Personnalisée"),
)
PRESETS = frozenset(slug for slug, _ in PERIODES if slug != CUSTOM)
LABELS = {"periode": "Période", "du": "Du", "au": "Au", "type": "Type d'activité", "canal": "Canal"}
GESTIONNAIRE_LABELS = {"email": "Adresse e-mail du médiateur"}
GESTIONNAIRE_AJOUTE = "{nom} est maintenant gestionnaire de la structure."


def _gestionnaire() -> Mediateur | None:
    """The signed-in mediator when they manage a structure (None otherwise)."""
    account = current().account
    assert account is not None  # guaranteed by @page / @api (auth=True)
    mediateur = account.profile.mediateur
    return mediateur if mediateur.siret and ROLE_GESTIONNAIRE in mediateur.roles else None


# --- the period and filters --------------------------------------------------------------------


@dataclass
class Demande:
    preset: str | None = None
    du: date | None = None
    au: date | None = None
    type: str | None = None
    canal: str | None = None
    coche: str = "cette_annee"
    saisie: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _parse_date(raw: str) -> date | None:
    for parse in (date.fromisoformat, lambda s: datetime.strptime(s, "%d/%m/%Y").date()):
        try:
            return parse(raw)
        except ValueError:
            continue
    return None


def _read(for_page: bool) -> Demande:
    """Like Mes statistiques: typed dates that differ from the ones shown (`du_affiche`,
    `au_affiche`) make a custom range; unchanged, the preset chosen wins."""
    q = current().query
    saisie = {n: q(n).strip()[:40] for n in (*LABELS, "du_affiche", "au_affiche")}
    demande = Demande(saisie=saisie)
    periode = saisie["periode"]
    if periode and periode not in PRESETS and periode != CUSTOM:
        demande.errors["periode"] = "Choisissez une période dans la liste."
    demande.preset = periode if periode in PRESETS else None
    demande.coche = periode if periode in (*PRESETS, CUSTOM) else "cette_annee"
    unchanged = saisie["du"] == saisie["du_affiche"] and saisie["au"] == saisie["au_affiche"]
    if not (for_page and demande.preset and unchanged):
        for name in ("du", "au"):
            if saisie[name]:
                demande.coche = CUSTOM
                parsed = _parse_date(saisie[name])
                setattr(demande, name, parsed)
                if parsed is None:
                    demande.errors[name] = "Saisissez une date valide, par exemple 31/01/2025."
    for name, allowed in (("type", vocab.TYPES_ACTIVITE), ("canal", vocab.CANAUX)):
        if saisie[name] and saisie[name] not in allowed:
            demande.errors[name] = "Choisissez une valeur dans la liste."
        else:
            setattr(demande, name, saisie[name] or None)
    return demande


def _figures(siret: str, demande: Demande) -> tuple[Any, dict[str, Any] | None]:
    if demande.errors:
        return None, None
    service = current().container.statistics
    try:
        periode = service.periode(demande.preset, demande.du, demande.au)
    except ValidationFailed as exc:
        demande.errors.update(exc.errors)
        return None, None
    return periode, service.structure_figures(siret, periode, demande.type, demande.canal)


# --- statistics --------------------------------------------------------------------------------


@api(bp, "/api/structure/statistiques")
def structure_statistiques_api() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None or gestionnaire.siret is None:
        return json_error(403)
    demande = _read(for_page=False)
    _, figures = _figures(gestionnaire.siret, demande)
    if figures is None:
        return json_error(422, demande.errors)
    return json_response(figures)


@page(bp, "/structure/statistiques")
def structure_statistiques() -> Response:
    gestionnaire = _gestionnaire()
    if gestionnaire is None or gestionnaire.siret is None:
        return error_page(403)
    from chalicelib.web.statistiques import vue

    demande = _read(for_page=True)
    periode, figures = _figures(gestionnaire.siret, demande)
    if periode is not None:
        dates = {"du": periode.du.isoformat(), "au": periode.au.isoformat()}
        texte = f"du {date_fr(periode.du)} au {date_fr(periode.au)}"
    else:
        dates, texte = {"du": demande.saisie["du"], "au": demande.saisie["au"]}, ""
    actifs = [
        label(value)
        for value, label in (
            (demande.type, vocab.TYPES_ACTIVITE.label),
            (demande.canal, vocab.CANAUX.label),
        )
        if value
    ]
    return render_page(
        "structure/statistiques.html",
        errors=demande.errors,
        labels=LABELS,
        periodes=PERIODES,
        coche=demande.coche,
        dates=dates,
        filtres={"type": demande.type, "canal": demande.canal},
        periode_texte=texte,
        filtres_actifs=actifs,
        siret=gestionnaire.siret,
        mediateurs=current().container.accounts.structure_mediateurs(gestionnaire.siret),
        vue=vue(figures) if figures is not None else None,
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
