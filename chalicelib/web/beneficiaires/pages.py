"""Pages of Mes bénéficiaires (SPEC §2, §4): search and list, create, profile, modify, delete.

Handlers are wiring: parse, call the service, render. Every id goes through the service, which
answers NotFound for another mediator's person, a deleted one or a garbage id (-> 404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.domain import vocab
from chalicelib.domain.activites import Activite
from chalicelib.domain.beneficiaires import Beneficiaire, format_phone
from chalicelib.domain.errors import Conflict, NotesNeedConfirmation, ValidationFailed
from chalicelib.services.beneficiaires import SORTS, Liste
from chalicelib.web import svg
from chalicelib.web.beneficiaires import form as beneficiaires_form
from chalicelib.web.communes_field import CommuneChoice, for_insee
from chalicelib.web.context import current, mediateur_id
from chalicelib.web.http import redirect
from chalicelib.web.pages_common import FLASH, render_page
from chalicelib.web.params import form_version, page_number, search_text
from chalicelib.web.routing import page

bp = Blueprint(__name__)

FLASH.update(
    {
        "beneficiaire_cree": "Le bénéficiaire a été créé.",
        "beneficiaire_modifie": "Le bénéficiaire a été modifié.",
        "beneficiaire_supprime": (
            "Le bénéficiaire a été supprimé. Ses activités passées restent comptées dans vos"
            " statistiques."
        ),
    }
)

SEARCH_LIMIT = 50  # matches shown at once; more means the search should be more precise
# Sort links of the list: slug -> (column label, aria-sort of that column when it is current).
TRIS = {
    "nom": ("Nom", "ascending"),
    "prenom": ("Prénom", "ascending"),
    "annee": ("Année de naissance", "ascending"),
    "accompagnements": ("Nombre d'accompagnements", "descending"),
}
# The activity forms send people here to create someone, then take them back (SPEC §3.3).
DEPUIS_ACTIVITE = "activite"
RETOUR_ACTIVITE = "/activites/reprendre"


def _own(beneficiaire_id: str) -> Beneficiaire:
    return current().container.beneficiaries.get(mediateur_id(), beneficiaire_id)


# --- the list ----------------------------------------------------------------------------------


def _url(**params: str | int | None) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "/beneficiaires" + ("?" + urlencode(kept) if kept else "")


def _tri_url(tri: str, **params: str | int | None) -> str:
    return _url(tri=None if tri == "nom" else tri, **params)


@dataclass
class Pagination:
    suivante: str | None = None
    precedente: str | None = None
    premiere: str | None = None
    page: int = 1
    pages: int = 1


def _pagination(tri: str, liste: Liste, apres: str | None) -> Pagination:
    if tri == "nom":  # cursor pages: forward, or back to the start
        return Pagination(
            suivante=_tri_url(tri, apres=liste.cursor) if liste.cursor else None,
            premiere=_tri_url(tri) if apres else None,
        )
    return Pagination(
        suivante=_tri_url(tri, page=liste.page + 1) if liste.page < liste.pages else None,
        precedente=_tri_url(tri, page=liste.page - 1) if liste.page > 1 else None,
        page=liste.page,
        pages=liste.pages,
    )


@page(bp, "/beneficiaires")
def beneficiaires_liste() -> Response:
    state = current()
    service = state.container.beneficiaries
    q, _ = search_text(state.query("q"))  # the page searches with what fits
    tri = state.query("tri") if state.query("tri") in SORTS else "nom"
    pagination = Pagination()
    plus = False
    if q:
        liste = service.search(mediateur_id(), q, limit=SEARCH_LIMIT + 1)
        plus = len(liste.items) > SEARCH_LIMIT
        items = liste.items[:SEARCH_LIMIT]
    else:
        apres = state.query("apres").strip() or None
        liste = service.list(
            mediateur_id(), tri, cursor=apres, page=page_number(state.query("page")) or 1
        )
        items = liste.items
        pagination = _pagination(tri, liste, apres)
    return render_page(
        "beneficiaires/liste.html",
        q=q,
        tri=tri,
        tri_label=TRIS[tri][0].lower(),
        tris=[(slug, label, aria, _tri_url(slug)) for slug, (label, aria) in TRIS.items()],
        beneficiaires=items,
        plus_de_resultats=plus,
        tronquee=liste.tronquee or plus,
        pagination=pagination,
        export_url="/exports?" + urlencode({"kind": "beneficiaires", **({"q": q} if q else {})}),
        limite=SEARCH_LIMIT,
    )


# --- the form ----------------------------------------------------------------------------------


@dataclass
class FormState:
    action: str
    valeurs: dict[str, Any]
    commune: CommuneChoice
    errors: dict[str, str] = field(default_factory=dict)
    beneficiaire: Beneficiaire | None = None
    version: int | None = None
    depuis: str = ""
    conflit: bool = False
    alerte_notes: list[str] = field(default_factory=list)


def _show_form(state: FormState, status: int = 200) -> Response:
    b = state.beneficiaire
    if b is not None:
        annuler = f"/beneficiaires/{b.id}"
    else:
        annuler = RETOUR_ACTIVITE if state.depuis else "/beneficiaires"
    return render_page(
        "beneficiaires/formulaire.html",
        status=status,
        action=state.action,
        beneficiaire=b,
        valeurs=state.valeurs,
        commune=state.commune,
        errors=beneficiaires_form.ordered_errors(state.errors),
        labels=beneficiaires_form.LABELS,
        version=state.version,
        depuis=state.depuis,
        conflit=state.conflit,
        alerte_notes=state.alerte_notes,
        annuler=annuler,
    )


def _depuis() -> str:
    state = current()
    raw = state.form.get("depuis") if state.request.method == "POST" else state.query("depuis")
    return DEPUIS_ACTIVITE if raw == DEPUIS_ACTIVITE else ""


def _posted(action: str, **extra: Any) -> tuple[FormState, Any]:
    """The posted form: its state to show it again, and the parsed input."""
    state = current()
    c = state.container
    data, errors, commune = beneficiaires_form.parse(state.form, c.communes)
    valeurs = beneficiaires_form.form_values(state.form, c.calendar.today())
    return FormState(action, valeurs, commune, errors, depuis=_depuis(), **extra), data


def _failed(form: FormState, exc: ValidationFailed) -> Response:
    form.errors = beneficiaires_form.ordered_errors(form.errors, exc.errors)
    if isinstance(exc, NotesNeedConfirmation):
        form.alerte_notes = exc.found
    return _show_form(form, status=400)


@page(bp, "/beneficiaires/nouveau")
def beneficiaire_nouveau() -> Response:
    # From an activity form's search, the names typed there (`?prenom=&nom=`) come prefilled.
    typed = {name: current().query(name).strip()[:100] for name in ("prenom", "nom")}
    valeurs = {name: value for name, value in typed.items() if value}
    form = FormState("/beneficiaires/nouveau", valeurs, CommuneChoice(), depuis=_depuis())
    return _show_form(form)


@page(bp, "/beneficiaires/nouveau", methods=("POST",))
def beneficiaire_nouveau_post() -> Response:
    form, data = _posted("/beneficiaires/nouveau")
    read_errors, form.errors = form.errors, {}
    try:
        created = current().container.beneficiaries.create(mediateur_id(), data, read_errors)
    except ValidationFailed as exc:
        return _failed(form, exc)
    if form.depuis:
        return redirect(f"{RETOUR_ACTIVITE}?{urlencode({'beneficiaire': created.id})}")
    return redirect(f"/beneficiaires/{created.id}?message=beneficiaire_cree")


@page(bp, "/beneficiaires/{beneficiaire_id}/modifier")
def beneficiaire_modifier(beneficiaire_id: str) -> Response:
    b = _own(beneficiaire_id)
    c = current().container
    form = FormState(
        f"/beneficiaires/{b.id}/modifier",
        beneficiaires_form.values_of(b, c.calendar.today()),
        for_insee(c.communes, b.data.commune_insee or ""),
        beneficiaire=b,
        version=b.version,
    )
    return _show_form(form)


@page(bp, "/beneficiaires/{beneficiaire_id}/modifier", methods=("POST",))
def beneficiaire_modifier_post(beneficiaire_id: str) -> Response:
    b = _own(beneficiaire_id)
    version = form_version()
    form, data = _posted(f"/beneficiaires/{b.id}/modifier", beneficiaire=b, version=version)
    read_errors, form.errors = form.errors, {}
    try:
        current().container.beneficiaries.modify(b.mediateur_id, b.id, data, version, read_errors)
    except ValidationFailed as exc:
        return _failed(form, exc)
    except Conflict:
        # Saved meanwhile on another device: the user's values again, ready to be saved over it.
        form.conflit = True
        form.version = _own(beneficiaire_id).version
        return _show_form(form, status=409)
    return redirect(f"/beneficiaires/{b.id}?message=beneficiaire_modifie")


# --- profile -----------------------------------------------------------------------------------


def _thematique_label(slug: str) -> str:
    for vocabulary in (vocab.THEMATIQUES, vocab.THEMATIQUES_DEMARCHE):
        if slug in vocabulary:
            return vocabulary.label(slug)
    return slug


@page(bp, "/beneficiaires/{beneficiaire_id}")
def beneficiaire_profil(beneficiaire_id: str) -> Response:
    c = current().container
    fiche = c.beneficiaries.fiche(mediateur_id(), beneficiaire_id)
    b = fiche.beneficiaire
    commune = c.communes.get(b.data.commune_insee) if b.data.commune_insee else None
    activites: list[Activite] = sorted(
        fiche.activites, key=lambda a: (a.date, a.cree_le), reverse=True
    )
    return render_page(
        "beneficiaires/profil.html",
        beneficiaire=b,
        d=b.data,
        telephone=format_phone(b.data.telephone) if b.data.telephone else "",
        commune_libelle=commune.libelle if commune else "",
        activites=activites,
        thematiques=[(_thematique_label(slug), n) for slug, n in fiche.thematiques],
        autonomie_svg=svg.autonomy_chart(fiche.autonomie, chart_id="graphique-autonomie"),
        autonomie=[
            (day, vocab.AUTONOMIE.label(level))
            for day, level in fiche.autonomie
            if level in vocab.AUTONOMIE
        ],
    )


# --- deletion ----------------------------------------------------------------------------------


@page(bp, "/beneficiaires/{beneficiaire_id}/supprimer")
def beneficiaire_supprimer(beneficiaire_id: str) -> Response:
    return render_page("beneficiaires/supprimer.html", beneficiaire=_own(beneficiaire_id))


@page(bp, "/beneficiaires/{beneficiaire_id}/supprimer", methods=("POST",))
def beneficiaire_supprimer_post(beneficiaire_id: str) -> Response:
    b = _own(beneficiaire_id)
    current().container.beneficiaries.delete(b.mediateur_id, b.id)
    return redirect("/beneficiaires?message=beneficiaire_supprime")
