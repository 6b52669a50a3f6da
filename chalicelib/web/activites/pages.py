"""Pages of activities: type choice, the three forms (create, edit, duplicate), list with
filters, detail, deletion. Handlers are wiring: parse, call the service, render."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.auth.sessions import new_secret
from chalicelib.domain import vocab
from chalicelib.domain.activites import Activite, ActiviteInput, Filtres
from chalicelib.domain.errors import (
    Conflict,
    IdempotencyKeyReused,
    NotesNeedConfirmation,
    NotFound,
    ValidationFailed,
)
from chalicelib.domain.ids import looks_like_id
from chalicelib.web.activites import form as activites_form
from chalicelib.web.context import current, mediateur_id, profile
from chalicelib.web.http import redirect
from chalicelib.web.pages_common import FLASH, render_page
from chalicelib.web.params import (
    FILTRE_LABELS,
    activity_filters,
    filters_query_string,
    form_version,
    search_text,
    version_or_none,
)
from chalicelib.web.routing import page
from chalicelib.web.svg import nombre_fr

bp = Blueprint(__name__)

ACTION_IMPLICITE = "implicite"  # the form's default button: Enter pressed in a text field
RESULTATS_AFFICHES = 10  # people shown by « Rechercher un bénéficiaire »; more: be precise
LISTE_NOMBRE_MAX = 1000  # Mes activités counts up to there, then says « Plus de 1 000 »
PERSONNE_INCONNUE = "bénéficiaire introuvable"

FLASH.update(
    {
        "activite_enregistree": "L'activité a été enregistrée.",
        "activite_modifiee": "L'activité a été modifiée.",
        "activite_supprimee": "L'activité a été supprimée.",
    }
)


def _type_or_404(type_: str) -> str:
    if type_ not in vocab.TYPES_ACTIVITE:
        raise NotFound(type_)
    return type_


# --- the form ---------------------------------------------------------------------------------


@dataclass
class FormState:
    """Everything a form page needs besides the common context."""

    type: str
    mode: str  # creer | modifier | dupliquer
    action: str
    valeurs: dict[str, Any]
    jeton: str
    errors: dict[str, str]
    communes: dict[str, Any]
    version: int | None = None
    conflit: bool = False
    deja_enregistre: bool = False  # the jeton already saved other values (a fresh one is given)
    alerte_notes: list[str] | None = None
    annuler: str = "/activites"
    recherche: Recherche | None = None  # "Rechercher un bénéficiaire" just answered
    durees_frequentes: tuple[int, ...] | None = None  # the mediator's, most used first


@dataclass(frozen=True)
class Recherche:
    """A « Rechercher un bénéficiaire » answered inside the form: what was typed, the best
    matches shown, how many matched in all (`tronquee`: at least that many)."""

    q: str
    trouves: list[Any]
    total: int
    tronquee: bool = False


def _show_form(state: FormState, status: int = 200) -> Response:
    me = profile()
    lieux = me.lieux_actifs
    frequentes = state.durees_frequentes
    if frequentes is None:
        frequentes = current().container.activities.defaults(me).durees_frequentes
    if state.mode == "modifier":
        # An archived lieu stays valid on its old activities: offer it, or the form loses it.
        choisi = str(state.valeurs.get("lieu_id") or "")
        lieux = lieux + [x for x in me.lieux if x.archive and x.id == choisi]
    return render_page(
        "activites/formulaire.html",
        status=status,
        type=state.type,
        type_label=vocab.TYPES_ACTIVITE.label(state.type),
        mode=state.mode,
        action=state.action,
        valeurs=state.valeurs,
        errors=state.errors,
        labels=activites_form.LABELS,
        lieux=lieux,
        communes=state.communes,
        beneficiaires=_people_offered(state),
        recherche=state.recherche,
        durees=activites_form.durees_choices(frequentes),
        partenaires=[],
        jeton=state.jeton,
        version=state.version,
        conflit=state.conflit,
        deja_enregistre=state.deja_enregistre,
        alerte_notes=state.alerte_notes or [],
        annuler=state.annuler,
        aujourdhui=current().container.calendar.today(),
    )


def _people_offered(state: FormState) -> list[Any]:
    """The people already linked in the form, then the ones just found by a search."""
    valeurs = state.valeurs
    linked = [valeurs.get("beneficiaire_id") or "", *_as_list(valeurs.get("participants_ids"))]
    ids = [i for i in dict.fromkeys(linked) if looks_like_id(i)]
    known = current().container.beneficiaries.names(mediateur_id(), ids) if ids else {}
    offered = [known[i] for i in ids if i in known and not known[i].supprime]
    seen = {b.id for b in offered}
    found = state.recherche.trouves if state.recherche else []
    return offered + [b for b in found if b.id not in seen]


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)] if value else []


def _side_action(state: FormState) -> Response | None:
    """The form's secondary buttons: search a person, or go and create one (keeping the form).

    Enter in a text field submits the form through its default button (its first), which says
    `implicite`: a search when « Rechercher un bénéficiaire » holds text, so that Enter there
    never saves; a save otherwise. (One HTML form has no per-field default button; coop.js
    makes Enter in the search field press « Rechercher » and the other fields save.)"""
    form = current().form
    action = form.get("action")
    q, _ = search_text(form.get("recherche_beneficiaire"))
    if action == "chercher_beneficiaire" or (action == ACTION_IMPLICITE and q):
        return _search(state, q)
    if action == "creer_beneficiaire":
        session = current().session
        assert session is not None
        # The search is over once the person exists: the draft forgets it, or Enter in the
        # form brought back would search again instead of saving.
        ignored = ("csrf_token", "action", "recherche_beneficiaire", "recherche_faite")
        champs = {k: v for k, v in form.to_dict().items() if k not in ignored}
        draft = json.dumps({"cible": state.action, "champs": champs}, ensure_ascii=False)
        current().container.sessions.keep_draft(session, draft)
        typed = q or search_text(form.get("recherche_faite"))[0]  # the search just answered
        query = {"depuis": "activite", **_names_typed(typed)}
        return redirect("/beneficiaires/nouveau?" + urlencode(query))
    return None


def _search(state: FormState, q: str) -> Response:
    """The form again, landing on the results; a single match is chosen already."""
    liste = (
        current().container.beneficiaries.search(mediateur_id(), q, limit=RESULTATS_AFFICHES)
        if q
        else None
    )
    found = liste.items if liste else []
    total = liste.total if liste and liste.total is not None else len(found)
    state.errors = {}
    state.recherche = Recherche(q, found, total, bool(liste and liste.tronquee))
    if len(found) == 1 and total == 1:
        person = found[0].id
        if state.type == "collectif":
            chosen = _as_list(state.valeurs.get("participants_ids"))
            state.valeurs["participants_ids"] = (
                [*chosen, person] if person not in chosen else chosen
            )
        else:
            state.valeurs["beneficiaire_id"] = person
    return _show_form(state)


def _names_typed(q: str) -> dict[str, str]:
    """What was typed in the search, as the new person's prénom (first word) and nom (the
    rest): « Créer un bénéficiaire » does not make the mediator type it again."""
    words = q.split()
    names = {"prenom": words[0][:100] if words else "", "nom": " ".join(words[1:])[:100]}
    return {k: v for k, v in names.items() if v}


def _communes_for(valeurs: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.web.communes_field import for_insee

    index = current().container.communes
    return {
        name: for_insee(index, str(valeurs.get(name) or ""))
        for name in ("commune_insee", "anonyme_commune_insee")
    }


def _submitted(
    type_: str,
) -> tuple[ActiviteInput, dict[str, Any], dict[str, str], dict[str, Any], str]:
    """Parse the posted form as `type_` (from the URL or the stored activity, never the post):
    (input, values to re-render, parse errors, pickers, jeton)."""
    state = current()
    form = state.form
    data, errors, pickers = activites_form.parse(form, type_, state.container.communes)
    valeurs = activites_form.form_values(form)
    valeurs["type"] = type_
    return data, valeurs, errors, pickers, form.get("jeton")[:100]


def _failed(state: FormState, exc: ValidationFailed) -> Response:
    for key, message in exc.errors.items():
        state.errors.setdefault(activites_form.error_anchor(key), message)
    if isinstance(exc, NotesNeedConfirmation):
        state.alerte_notes = exc.found
    return _show_form(state, status=400)


@page(bp, "/activites/nouvelle", needs_lieu=True)
def activite_choix() -> Response:
    beneficiaire = current().query("beneficiaire")
    suffixe = "?" + urlencode({"beneficiaire": beneficiaire}) if looks_like_id(beneficiaire) else ""
    return render_page("activites/choix.html", suffixe=suffixe)


@page(bp, "/activites/nouvelle/{type_activite}", needs_lieu=True)
def activite_nouvelle(type_activite: str) -> Response:
    type_ = _type_or_404(type_activite)
    c = current().container
    defaults = c.activities.defaults(profile())
    valeurs = activites_form.defaults(c.calendar.today(), defaults.lieu_id, defaults.duree)
    beneficiaire = current().query("beneficiaire")
    if looks_like_id(beneficiaire):
        valeurs["beneficiaire_id"] = beneficiaire
    state = FormState(
        type_,
        "creer",
        f"/activites/nouvelle/{type_}",
        valeurs,
        new_secret(),
        {},
        _communes_for(valeurs),
        durees_frequentes=defaults.durees_frequentes,
    )
    return _show_form(state)


@page(bp, "/activites/nouvelle/{type_activite}", methods=("POST",), needs_lieu=True)
def activite_nouvelle_post(type_activite: str) -> Response:
    type_ = _type_or_404(type_activite)
    data, valeurs, errors, pickers, jeton = _submitted(type_)
    state = FormState(
        type_,
        "creer",
        f"/activites/nouvelle/{type_}",
        valeurs,
        jeton or new_secret(),
        {},
        pickers,
    )
    side = _side_action(state)
    if side:
        return side
    try:
        current().container.activities.record(
            profile(), replace(data, type=type_), jeton or None, read_errors=errors
        )
    except ValidationFailed as exc:
        return _failed(state, exc)
    except IdempotencyKeyReused:
        # Back, edited, saved again: these values are another activity if the user says so.
        state.deja_enregistre, state.jeton = True, new_secret()
        return _show_form(state, status=409)
    return redirect("/activites?message=activite_enregistree")


@page(bp, "/activites/{activite_id}/modifier", needs_lieu=True)
def activite_modifier(activite_id: str) -> Response:
    activite = _own(activite_id)
    valeurs = activites_form.values_of(activite.data)
    state = FormState(
        activite.type,
        "modifier",
        f"/activites/{activite.id}/modifier",
        valeurs,
        new_secret(),
        {},
        _communes_for(valeurs),
        version=activite.version,
        annuler=f"/activites/{activite.id}",
    )
    return _show_form(state)


@page(bp, "/activites/{activite_id}/modifier", methods=("POST",), needs_lieu=True)
def activite_modifier_post(activite_id: str) -> Response:
    activite = _own(activite_id)
    data, valeurs, errors, pickers, jeton = _submitted(activite.type)
    state = FormState(
        activite.type,
        "modifier",
        f"/activites/{activite.id}/modifier",
        valeurs,
        jeton or new_secret(),
        {},
        pickers,
        version=form_version(),
        annuler=f"/activites/{activite.id}",
    )
    side = _side_action(state)
    if side:
        return side
    try:
        current().container.activities.modify(
            profile(), activite.id, data, state.version, read_errors=errors
        )
    except ValidationFailed as exc:
        return _failed(state, exc)
    except Conflict:
        # Another device saved first: show the user's values again, ready to be saved over it.
        state.conflit = True
        state.version = _own(activite_id).version
        return _show_form(state, status=409)
    return redirect(f"/activites/{activite.id}?message=activite_modifiee")


@page(bp, "/activites/{activite_id}/dupliquer", needs_lieu=True)
def activite_dupliquer(activite_id: str) -> Response:
    activite = _own(activite_id)
    data = current().container.activities.duplicate_of(mediateur_id(), activite.id)
    valeurs = activites_form.values_of(data)
    state = FormState(
        activite.type,
        "dupliquer",
        f"/activites/nouvelle/{activite.type}",
        valeurs,
        new_secret(),
        {},
        _communes_for(valeurs),
        annuler=f"/activites/{activite.id}",
    )
    return _show_form(state)


# --- detail, deletion ---------------------------------------------------------------------------


def _own(activite_id: str) -> Activite:
    """The signed-in mediator's activity, or 404 (also for another mediator's id)."""
    return current().container.activities.get(mediateur_id(), activite_id)


def _lieux_par_id() -> dict[str, Any]:
    return {lieu.id: lieu for lieu in profile().lieux}


@page(bp, "/activites/{activite_id}")
def activite_detail(activite_id: str) -> Response:
    activite = _own(activite_id)
    return render_page(
        "activites/detail.html",
        activite=activite,
        d=activite.data,
        lieux=_lieux_par_id(),
        communes=current().container.communes,
        personnes=people_of([activite]),
    )


@page(bp, "/activites/{activite_id}/supprimer")
def activite_supprimer(activite_id: str) -> Response:
    activite = _own(activite_id)
    return render_page("activites/supprimer.html", activite=activite, lieux=_lieux_par_id())


@page(bp, "/activites/{activite_id}/supprimer", methods=("POST",))
def activite_supprimer_post(activite_id: str) -> Response:
    activite = _own(activite_id)
    with suppress(NotFound):  # already deleted (double tap): the outcome the user wanted
        current().container.activities.remove(activite.mediateur_id, activite.id)
    return redirect("/activites?message=activite_supprimee")


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiltrePersonne:
    """The list's bénéficiaire filter, a search then a pick: what was typed, the matches to
    pick from, and the person the list is filtered on (None: nobody)."""

    q: str = ""
    candidats: list[Any] = field(default_factory=list)
    personne: Any | None = None


@dataclass(frozen=True)
class Tag:
    """An active filter, shown as a tag that removes it (a link to the list without it)."""

    libelle: str
    retirer: str


def _person_filter(filtres: Filtres) -> tuple[Filtres, FiltrePersonne]:
    """`?beneficiaire_q=` searches the mediator's people: one match filters at once, several
    are offered; a person picked (`?beneficiaire=`) among them, or given alone (from a
    profile), filters the list."""
    people = current().container.beneficiaries
    q, _ = search_text(current().query("beneficiaire_q"))
    chosen, candidats = filtres.beneficiaire, []
    if q:
        found = people.search(mediateur_id(), q, limit=RESULTATS_AFFICHES)
        candidats = found.items
        if len(candidats) == 1 and found.total == 1:
            chosen = candidats[0].id
        elif chosen not in {b.id for b in candidats}:
            chosen = None  # a new search: the former pick goes unless it is found again
    personne = people.names(mediateur_id(), [chosen]).get(chosen) if chosen else None
    return replace(filtres, beneficiaire=chosen), FiltrePersonne(q, candidats, personne)


def _filter_values(filtres: Filtres, lieux: dict[str, Any], personne: Any | None) -> dict[str, str]:
    """Each active filter's value as people read it."""
    thematiques = dict(vocab.THEMATIQUES.choices() + vocab.THEMATIQUES_DEMARCHE.choices())
    values = {
        "du": filtres.du.strftime("%d/%m/%Y") if filtres.du else None,
        "au": filtres.au.strftime("%d/%m/%Y") if filtres.au else None,
        "type": vocab.TYPES_ACTIVITE.label(filtres.type) if filtres.type else None,
        "canal": vocab.CANAUX.label(filtres.canal) if filtres.canal else None,
        "lieu": lieux[filtres.lieu].nom if filtres.lieu in lieux else None,
        # Someone else's id (or a mistyped one) filters on nobody: the tag says so and removes it.
        "beneficiaire": personne.nom_complet if personne else PERSONNE_INCONNUE,
        "thematique": thematiques.get(filtres.thematique or ""),
    }
    return {name: value for name, value in values.items() if value and getattr(filtres, name)}


def _tags(filtres: Filtres, lieux: dict[str, Any], personne: Any | None) -> list[Tag]:
    tags = []
    for name, value in _filter_values(filtres, lieux, personne).items():
        rest = filters_query_string(replace(filtres, **{name: None}))
        tags.append(
            Tag(f"{FILTRE_LABELS[name]} : {value}", f"/activites?{rest}" if rest else "/activites")
        )
    return tags


def _nombre(n: int) -> str:
    if n > LISTE_NOMBRE_MAX:
        return f"Plus de {nombre_fr(LISTE_NOMBRE_MAX)} activités"
    if n == 0:
        return "Aucune activité ne correspond à ces filtres."
    return f"{nombre_fr(n)} activité{'s' if n > 1 else ''}"


@page(bp, "/activites")
def activites_liste() -> Response:
    state = current()
    me = profile()
    filtres, errors = activity_filters({lieu.id for lieu in me.lieux}, for_page=True)
    filtre_personne = FiltrePersonne()
    if not errors:
        filtres, filtre_personne = _person_filter(filtres)
    nombre = None
    if errors:
        items, cursor = [], None
    else:
        result = state.container.activities.page(me.mediateur.id, filtres, query_cursor())
        items, cursor = result.items, result.cursor
        if items or not filtres.is_empty():
            nombre = state.container.activities.count(
                me.mediateur.id, filtres, cap=LISTE_NOMBRE_MAX + 1
            )
    suivante = f"/activites?{filters_query_string(filtres, apres=cursor)}" if cursor else None
    filtres_qs = filters_query_string(filtres)
    lieux = _lieux_par_id()
    return render_page(
        "activites/liste.html",
        status=400 if errors else 200,
        activites=items,
        personnes=people_of(items),
        filtres=filtres,
        filtre_errors=errors,
        filtre_labels=FILTRE_LABELS,
        filtre_personne=filtre_personne,
        tags=[] if errors else _tags(filtres, lieux, filtre_personne.personne),
        nombre=_nombre(nombre) if nombre is not None else None,
        suivante=suivante,
        premiere=f"/activites?{filtres_qs}" if state.query("apres") else None,
        export_qs=filtres_qs,
        lieux=lieux,
        lieux_choix=[(lieu.id, lieu.nom) for lieu in me.lieux],
        thematiques_choix=vocab.THEMATIQUES.choices() + vocab.THEMATIQUES_DEMARCHE.choices(),
    )


def query_cursor() -> str | None:
    return current().query("apres")[:600] or None


def people_of(activites: list[Activite]) -> dict[str, Any]:
    """Names of the followed people of these activities (one batch read)."""
    ids = {i for a in activites for i in a.data.beneficiaires_lies()}
    if not ids:
        return {}
    return current().container.beneficiaries.names(mediateur_id(), ids)


# --- back from "Créer un bénéficiaire" -----------------------------------------------------------


def _draft_target(cible: str) -> tuple[str, str, str | None] | None:
    """(type, mode, activity id) of a form URL kept in a draft; None for anything else."""
    parts = cible.strip("/").split("/")
    if (
        len(parts) == 3
        and parts[:2] == ["activites", "nouvelle"]
        and parts[2] in vocab.TYPES_ACTIVITE
    ):
        return parts[2], "creer", None
    if len(parts) == 3 and parts[0] == "activites" and parts[2] == "modifier":
        activite = _own(parts[1])
        return activite.type, "modifier", activite.id
    return None


@page(bp, "/activites/reprendre", needs_lieu=True)
def activite_reprendre() -> Response:
    """The activity form as it was when "Créer un bénéficiaire" was pressed, with the new
    person linked (SPEC §3.3: the form's values are kept)."""
    state = current()
    session = state.session
    draft = json.loads(session.reprise) if session and session.reprise else None
    target = _draft_target(str(draft.get("cible", ""))) if isinstance(draft, dict) else None
    if not draft or target is None:
        return redirect("/activites/nouvelle")
    type_, mode, activite_id = target
    champs = {k: v for k, v in draft.get("champs", {}).items() if isinstance(v, list)}
    valeurs = {k: (v[0] if len(v) == 1 else v) for k, v in champs.items()}
    for name in activites_form.MULTI_FIELDS:
        valeurs[name] = [str(v) for v in champs.get(name, [])]
    nouveau = state.query("beneficiaire")
    if looks_like_id(nouveau):
        person = state.container.beneficiaries.get(mediateur_id(), nouveau)
        if type_ == "collectif":
            valeurs["participants_ids"] = [*valeurs["participants_ids"], person.id]
        else:
            valeurs["beneficiaire_id"] = person.id
    state.container.sessions.keep_draft(session, None)  # type: ignore[arg-type]
    form_state = FormState(
        type_,
        mode,
        str(draft["cible"]),
        valeurs,
        str(valeurs.get("jeton") or new_secret()),
        {},
        _communes_for(valeurs),
        version=version_or_none(str(valeurs.get("version") or "")),
        annuler=f"/activites/{activite_id}" if activite_id else "/activites",
    )
    return _show_form(form_state)
