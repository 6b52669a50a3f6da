"""HTML pages of the shell: accueil, menu, legal pages, Mes outils, onboarding and lieux."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain import outils
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.ids import looks_like_id
from chalicelib.domain.mediateurs import LieuInput
from chalicelib.web import communes_field
from chalicelib.web.context import account, current
from chalicelib.web.http import redirect
from chalicelib.web.pages_common import render_page
from chalicelib.web.routing import page

bp = Blueprint(__name__)

LIEU_LABELS = {
    "nom": "Nom du lieu",
    "adresse": "Adresse",
    "commune_insee": "Commune",
}

# Sections delivered by later work; until then they say so instead of answering 404.
UPCOMING = {
    "/partenaires": "Mes partenaires",
}


# --- public and shell pages -------------------------------------------------------------------


@page(bp, "/", auth=False)
def accueil() -> Response:
    signed_in = current().account
    if signed_in is None:
        return render_page("pages/bienvenue_public.html")
    latest = current().container.activities.latest(signed_in.profile.mediateur.id, 3)
    lieux = {lieu.id: lieu for lieu in signed_in.profile.lieux}
    from chalicelib.web.activites.pages import people_of
    from chalicelib.web.statistiques import resume_30_jours

    mediateur = signed_in.profile.mediateur
    structure = (
        current().container.accounts.structure_libelle(mediateur.siret)
        if mediateur.gestionnaire and mediateur.siret
        else None
    )
    return render_page(
        "pages/accueil.html",
        structure=structure,
        dernieres_activites=latest,
        lieux=lieux,
        personnes=people_of(latest),
        resume=resume_30_jours(signed_in.profile),
    )


@page(bp, "/menu", auth=False)
def menu() -> Response:
    return render_page("pages/menu.html", upcoming=UPCOMING)


@page(bp, "/mentions-legales", auth=False)
def mentions_legales() -> Response:
    return render_page("pages/mentions_legales.html")


@page(bp, "/accessibilite", auth=False)
def accessibilite() -> Response:
    return render_page("pages/accessibilite.html")


@page(bp, "/donnees-personnelles", auth=False)
def donnees_personnelles() -> Response:
    return render_page("pages/donnees_personnelles.html")


def _upcoming(path: str) -> Response:
    return render_page("pages/bientot.html", titre=UPCOMING[path])


def _register_upcoming() -> None:
    for path in UPCOMING:
        name = "bientot_" + (path.strip("/").replace("/", "_") or "racine")

        def view(path: str = path) -> Response:
            return _upcoming(path)

        view.__name__ = name
        page(bp, path)(view)


_register_upcoming()


# --- Mes outils -------------------------------------------------------------------------------


@page(bp, "/outils")
def mes_outils() -> Response:
    prefs = account().outils
    cards = [
        (
            outil,
            pinned,
            outils.can_move(prefs, outil.slug, "monter"),
            outils.can_move(prefs, outil.slug, "descendre"),
        )
        for outil, pinned in outils.arranged(prefs)
    ]
    return render_page("pages/outils.html", cartes=cards)


@page(bp, "/outils", methods=("POST",))
def mes_outils_post() -> Response:
    state = current()
    mine = account()
    service = state.container.accounts
    slug = state.form.get("outil")
    action = state.form.get("action")
    mediateur_id = mine.profile.mediateur.id
    for attempt in (1, 2):
        try:
            if action in ("monter", "descendre"):
                service.move_outil(mediateur_id, mine.outils, slug, action)
            elif action == "epingler":
                service.pin_outil(mediateur_id, mine.outils, slug)
            else:
                raise NotFound(action)
            break
        except Conflict:
            # Another tab saved meanwhile: apply the move on top of the fresh order once.
            fresh = service.account(mediateur_id)
            if attempt == 2 or fresh is None:
                raise
            mine = fresh
    return redirect(f"/outils?message=outils_enregistres#outil-{slug}")


# --- onboarding and lieux ---------------------------------------------------------------------


def _lieu_input() -> tuple[LieuInput, communes_field.CommuneChoice]:
    state = current()
    choice = communes_field.resolve(
        state.form, "commune_insee", state.container.communes, required=True
    )
    data = LieuInput(
        nom=state.form.get("nom")[:500],
        adresse=state.form.get("adresse")[:500],
        commune_insee=choice.insee,
    )
    return data, choice


def _lieu_errors(
    choice: communes_field.CommuneChoice, exc: ValidationFailed | None
) -> dict[str, str]:
    errors = dict(exc.errors) if exc else {}
    if choice.error:
        errors["commune_insee"] = choice.error
    # Summary in the order of the form.
    return {k: errors[k] for k in LIEU_LABELS if k in errors}


ACCOMPAGNE_LABEL = "Vous accompagnez des personnes ?"
ACCOMPAGNE_CHOIX = (
    ("oui", "Oui, j'accompagne des personnes"),
    ("non", "Non, je gère une structure sans accompagner moi-même"),
)


def _onboarding_values() -> dict[str, str]:
    """« Oui » comes checked (most who sign in are mediators); « Non » once answered so."""
    return {"accompagne": "non" if account().profile.mediateur.accompagne is False else "oui"}


@page(bp, "/bienvenue")
def bienvenue() -> Response:
    return render_page(
        "pages/onboarding.html",
        valeurs=_onboarding_values(),
        commune=communes_field.CommuneChoice(),
        choix_accompagne=ACCOMPAGNE_CHOIX,
        labels={"accompagne": ACCOMPAGNE_LABEL, **LIEU_LABELS},
    )


@page(bp, "/bienvenue", methods=("POST",))
def bienvenue_post() -> Response:
    """SPEC §13: only those who accompany people are asked for a lieu; an employer who answers
    « Non » goes straight to their space (and to the structure's pages if gestionnaire)."""
    state = current()
    mediateur = account().profile.mediateur
    data, choice = _lieu_input()
    # A client that does not send the question but typed a lieu accompanies people.
    typed = any((data.nom, data.adresse, state.form.get("commune_insee_q"), choice.insee))
    answer = state.form.get("accompagne") or ("oui" if typed else "")
    extra: dict[str, Any] = {
        "choix_accompagne": ACCOMPAGNE_CHOIX,
        "labels": {"accompagne": ACCOMPAGNE_LABEL, **LIEU_LABELS},
    }
    if answer == "non":
        state.container.accounts.declare_accompagne(mediateur.id, False)
        target = "/structure/statistiques" if mediateur.gestionnaire else "/"
        return redirect(f"{target}?message=bienvenue", status=303)
    if answer != "oui":
        errors = {"accompagne": "Indiquez si vous accompagnez des personnes."}
        return render_page(
            "pages/onboarding.html", errors=errors, valeurs=state.form, commune=choice, **extra
        )
    return _create_lieu(
        "pages/onboarding.html",
        "/?message=bienvenue",
        after=lambda: state.container.accounts.declare_accompagne(mediateur.id, True),
        **extra,
    )


@page(bp, "/lieux")
def lieux() -> Response:
    return render_page("lieux/liste.html")


@page(bp, "/lieux/nouveau")
def lieu_nouveau() -> Response:
    return render_page(
        "lieux/formulaire.html", lieu=None, valeurs={}, commune=communes_field.CommuneChoice()
    )


@page(bp, "/lieux/nouveau", methods=("POST",))
def lieu_nouveau_post() -> Response:
    return _create_lieu("lieux/formulaire.html", "/lieux?message=lieu_ajoute", lieu=None)


def _create_lieu(
    template: str, success: str, after: Callable[[], None] | None = None, **extra: Any
) -> Response:
    state = current()
    data, choice = _lieu_input()
    failure: ValidationFailed | None = None
    if not choice.error:
        try:
            state.container.accounts.add_lieu(account().profile.mediateur.id, data)
            if after is not None:
                after()
            return redirect(success)
        except ValidationFailed as exc:
            failure = exc
    else:
        failure = _validation_of(data)
    return render_page(
        template,
        status=400,
        valeurs=state.form,
        commune=choice,
        errors=_lieu_errors(choice, failure),
        **{"labels": LIEU_LABELS, **extra},
    )


def _validation_of(data: LieuInput) -> ValidationFailed | None:
    """Run the other rules too, so that every mistake is reported in one round trip."""
    from chalicelib.domain.mediateurs import validate_lieu

    errors = validate_lieu(data, {"_"})
    errors.pop("commune_insee", None)
    return ValidationFailed(errors) if errors else None


@page(bp, "/lieux/{lieu_id}/modifier")
def lieu_modifier(lieu_id: str) -> Response:
    state = current()
    lieu = _own_lieu(lieu_id)
    commune = communes_field.for_insee(state.container.communes, lieu.commune_insee)
    valeurs = {"nom": lieu.nom, "adresse": lieu.adresse, "version": str(lieu.version)}
    return render_page("lieux/formulaire.html", lieu=lieu, valeurs=valeurs, commune=commune)


@page(bp, "/lieux/{lieu_id}/modifier", methods=("POST",))
def lieu_modifier_post(lieu_id: str) -> Response:
    state = current()
    lieu = _own_lieu(lieu_id)
    data, choice = _lieu_input()
    errors: dict[str, str] = {}
    conflict = False
    if not choice.error:
        try:
            state.container.accounts.update_lieu(
                lieu.mediateur_id, lieu.id, data, _int(state.form.get("version"))
            )
            return redirect("/lieux?message=lieu_modifie")
        except ValidationFailed as exc:
            errors = _lieu_errors(choice, exc)
        except Conflict:
            conflict = True
    else:
        errors = _lieu_errors(choice, _validation_of(data))
    return render_page(
        "lieux/formulaire.html",
        status=409 if conflict else 400,
        lieu=lieu,
        valeurs=state.form,
        commune=choice,
        errors=errors,
        labels=LIEU_LABELS,
        conflit=conflict,
    )


@page(bp, "/lieux/{lieu_id}/archiver", methods=("POST",))
def lieu_archiver(lieu_id: str) -> Response:
    state = current()
    lieu = _own_lieu(lieu_id)
    archive = state.form.get("archive") == "1"
    state.container.accounts.set_archive(
        lieu.mediateur_id, lieu.id, archive, _int(state.form.get("version"))
    )
    return redirect("/lieux?message=" + ("lieu_archive" if archive else "lieu_restaure"))


def _own_lieu(lieu_id: str):  # type: ignore[no-untyped-def]
    if not looks_like_id(lieu_id):
        raise NotFound(lieu_id)
    state = current()
    return state.container.accounts.lieu(account().profile.mediateur.id, lieu_id)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1


@page(bp, "/introuvable", auth=False)
def introuvable() -> Response:
    """Target of unknown URLs (local server rewrite; API Gateway gateway response in production)."""
    from chalicelib.web.errors import error_page

    return error_page(404)
