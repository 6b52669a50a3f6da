"""Share links of the statistics (SPEC §5 « Partager », §10): make, list, revoke, and the public
read-only page.

- `GET /statistiques/partages/nouveau?<statistics request>[&portee=structure]`  what will be
  shared, an optional expiry date, « Créer le lien » (the request travels in the URL)
- `POST /statistiques/partages?<statistics request>[&portee=…]`  make it: the list, with the new
  link's URL shown this once
- `GET /statistiques/partages`, `POST /statistiques/partages/{id}/revoquer`  list and revoke
- `GET /s/{jeton}`  public: the figures only, `noindex`, `Referrer-Policy: no-referrer`
- `GET|POST /api/statistiques/partages`, `DELETE /api/statistiques/partages/{id}`
Handlers are wiring: parse (the statistics request parser of `web/params.py`), call
`PartageService`, render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain import vocab
from chalicelib.domain.dates import PERIODES, Periode
from chalicelib.domain.errors import NotFound, TooManyRequests, ValidationFailed
from chalicelib.domain.mediateurs import Mediateur, Profile
from chalicelib.domain.partages import (
    LIEU_STRUCTURE,
    MEDIATEUR,
    PORTEES,
    STRUCTURE,
    Partage,
    PartageFiltres,
)
from chalicelib.services.partages import Consultation, is_gestionnaire
from chalicelib.web import errors as web_errors
from chalicelib.web.context import current, profile
from chalicelib.web.exports import quand_fr
from chalicelib.web.http import model_response, redirect
from chalicelib.web.pages_common import FLASH, render_page
from chalicelib.web.params import (
    DATE_PAGE,
    StatsRequest,
    json_body,
    parse_date,
    stats_query,
    stats_request,
)
from chalicelib.web.render import date_fr
from chalicelib.web.routing import api, page
from chalicelib.web.statistiques import vue

bp = Blueprint(__name__)

FLASH.update({"partage_revoque": "Le lien a été révoqué : il ne fonctionne plus."})
LABELS = {"expire_le": "Date d'expiration"}
PUBLIC_HEADERS = {
    # The token is in the URL: no page it links to may learn it, and no search engine keeps it.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow, noarchive",
}


# --- view models ----------------------------------------------------------------------------------


def periode_texte(periode: Periode) -> str:
    return f"du {date_fr(periode.du)} au {date_fr(periode.au)}"


def criteres(filtres: PartageFiltres, lieux: dict[str, str]) -> list[str]:
    """The request of a link in words: the period (a preset says it follows the date), then
    the filters."""
    if filtres.preset:
        parts = [f"{PERIODES.label(filtres.preset)} (suit la date du jour)"]
    else:
        du = date_fr(filtres.du) if filtres.du else "le 1er janvier 2020"
        parts = [f"Du {du} au {date_fr(filtres.au) if filtres.au else 'jour de la consultation'}"]
    if filtres.type:
        parts.append(vocab.TYPES_ACTIVITE.label(filtres.type))
    if filtres.canal:
        parts.append(vocab.CANAUX.label(filtres.canal))
    if filtres.lieu:
        parts.append(lieux.get(filtres.lieu, "Lieu supprimé"))
    return parts


@dataclass(frozen=True)
class Lien:
    """A link as the owner's list shows it."""

    partage: Partage
    criteres: str
    cree: str
    expiration: str
    ouvertures: str
    derniere: str
    expire: bool


def _lien(partage: Partage, today: date, lieux: dict[str, str], noms: dict[str, str]) -> Lien:
    cree = f"Créé le {quand_fr(partage.cree_le)}"
    if partage.portee == STRUCTURE:
        cree += f" par {noms.get(partage.createur, 'un ancien gestionnaire')}"
    if partage.expire_le is None:
        expiration = "Sans date d'expiration"
    elif partage.expire(today):
        expiration = f"Expiré depuis le {date_fr(partage.expire_le)}"
    else:
        expiration = f"Ne fonctionne plus à partir du {date_fr(partage.expire_le)}"
    n = partage.ouvertures
    return Lien(
        partage=partage,
        criteres=" · ".join(criteres(partage.filtres, lieux)),
        cree=cree,
        expiration=expiration,
        ouvertures="Jamais ouvert" if n == 0 else f"Ouvert {n} fois",
        derniere=(
            f"Dernière ouverture le {quand_fr(partage.derniere_ouverture)}"
            if partage.derniere_ouverture
            else ""
        ),
        expire=partage.expire(today),
    )


def _lieux(me: Profile) -> dict[str, str]:
    return {lieu.id: lieu.nom for lieu in me.lieux}


def _public_url(jeton: str) -> str:
    return current().container.settings.public_url.rstrip("/") + "/s/" + jeton


# --- the owner's pages ----------------------------------------------------------------------------


def _portee() -> str:
    portee = current().query("portee") or MEDIATEUR
    if portee not in PORTEES:
        raise NotFound(portee)
    return portee


def _demande(portee: str) -> tuple[StatsRequest, Periode | None]:
    """The statistics request of the URL, checked like the statistics page checks it, and the
    period it means today (None when it cannot be read: the errors say why)."""
    me = profile()
    lieux = None if portee == STRUCTURE else {lieu.id for lieu in me.lieux}
    demande = stats_request(for_page=True, lieux=lieux)
    if demande.errors:
        return demande, None
    try:
        periode = current().container.statistics.periode(demande.preset, demande.du, demande.au)
    except ValidationFailed as exc:
        demande.errors.update(exc.errors)
        return demande, None
    return demande, periode


def _filtres(demande: StatsRequest) -> PartageFiltres:
    custom = demande.du is not None or demande.au is not None
    return PartageFiltres(
        periode=None if custom else demande.preset,
        du=demande.du,
        au=demande.au,
        type=demande.type,
        canal=demande.canal,
        lieu=demande.lieu,
    )


def _nouveau(
    portee: str,
    errors: dict[str, str] | None = None,
    expire_le: str = "",
    status: int = 200,
) -> Response:
    me = profile()
    if portee == STRUCTURE and not is_gestionnaire(me.mediateur):
        return web_errors.error_page(403)
    demande, periode = _demande(portee)
    requete = stats_query(demande)
    page_stats = "/structure/statistiques" if portee == STRUCTURE else "/statistiques"
    return render_page(
        "partages/nouveau.html",
        status=400 if demande.errors else status,
        portee=portee,
        titre=(
            "Partager les statistiques de ma structure"
            if portee == STRUCTURE
            else "Partager mes statistiques"
        ),
        demande_errors=demande.errors,
        criteres=criteres(_filtres(demande), _lieux(me)) if periode else [],
        periode_texte=periode_texte(periode) if periode else "",
        action="/statistiques/partages?" + stats_query(demande, portee=portee),
        retour=f"{page_stats}?{requete}" if requete else page_stats,
        expire_le=expire_le,
        demain=(current().container.partages.today() + timedelta(days=1)).isoformat(),
        errors=errors or {},
        labels=LABELS,
    )


@page(bp, "/statistiques/partages/nouveau")
def partage_nouveau() -> Response:
    return _nouveau(_portee())


@page(bp, "/statistiques/partages", methods=("POST",))
def partage_creer() -> Response:
    portee = _portee()
    state = current()
    saisie = state.form.get("expire_le").strip()[:40]
    expire_le = parse_date(saisie, french_too=True) if saisie else None
    if saisie and expire_le is None:
        return _nouveau(portee, {"expire_le": DATE_PAGE}, saisie, status=400)
    demande, periode = _demande(portee)
    if demande.errors or periode is None:
        return _nouveau(portee, expire_le=saisie)
    me = profile()
    try:
        partage, jeton = state.container.partages.create(
            me.mediateur, {lieu.id for lieu in me.lieux}, portee, _filtres(demande), expire_le
        )
    except ValidationFailed as exc:
        return _nouveau(portee, dict(exc.errors), saisie, status=400)
    return _liste(nouveau=(partage, _public_url(jeton)))


def _noms(mediateur: Mediateur) -> dict[str, str]:
    """Names of the structure's gestionnaires who made its links."""
    if not is_gestionnaire(mediateur) or not mediateur.siret:
        return {}
    members = current().container.accounts.structure_mediateurs(mediateur.siret)
    return {m.id: m.nom_complet for m in members}


def _liste(nouveau: tuple[Partage, str] | None = None) -> Response:
    state = current()
    me = profile()
    service = state.container.partages
    today = service.today()
    lieux, noms = _lieux(me), _noms(me.mediateur)
    liens = [_lien(p, today, lieux, noms) for p in service.list(me.mediateur)]
    return render_page(
        "partages/liste.html",
        miens=[lien for lien in liens if lien.partage.portee == MEDIATEUR],
        structure=[lien for lien in liens if lien.partage.portee == STRUCTURE],
        gestionnaire=is_gestionnaire(me.mediateur),
        nouveau=(_lien(nouveau[0], today, lieux, noms), nouveau[1]) if nouveau else None,
    )


@page(bp, "/statistiques/partages")
def partages_liste() -> Response:
    return _liste()


@page(bp, "/statistiques/partages/{partage_id}/revoquer", methods=("POST",))
def partage_revoquer(partage_id: str) -> Response:
    current().container.partages.revoke(profile().mediateur, partage_id)
    return redirect("/statistiques/partages?message=partage_revoque")


# --- the public page ------------------------------------------------------------------------------


def _titre(consultation: Consultation) -> str:
    if consultation.profile is not None:
        return f"Statistiques de {consultation.profile.mediateur.nom_complet}"
    siret = consultation.partage.proprietaire
    nom = current().container.accounts.structure_nom(siret)
    return f"Statistiques de {nom}" if nom else f"Statistiques de la structure (SIRET {siret})"


@page(bp, "/s/{jeton}", auth=False)
def partage_public(jeton: str) -> Response:
    state = current()
    try:
        consultation = state.container.partages.open(jeton)
    except (NotFound, TooManyRequests) as exc:
        answer = web_errors.for_domain_error(exc, as_json=False)
        answer.headers.update(PUBLIC_HEADERS)
        return answer
    partage = consultation.partage
    lieux = _lieux(consultation.profile) if consultation.profile else {}
    filtres = criteres(partage.filtres, lieux)[1:]  # the period is said with its dates
    answer = render_page(
        "partages/public.html",
        anonymous=True,  # a signed-in visitor sees what the link's recipient sees
        titre=_titre(consultation),
        periode_texte=periode_texte(consultation.periode),
        filtres_actifs=filtres,
        aujourd_hui=date_fr(state.container.calendar.today()),
        vue=vue(consultation.figures),
    )
    answer.headers.update(PUBLIC_HEADERS)
    return answer


# --- JSON API -------------------------------------------------------------------------------------


def _out(partage: Partage, url: str | None = None) -> Any:
    from chalicelib.schemas.partages import PartageOut

    return PartageOut.of(partage, current().container.partages.today(), url)


@api(bp, "/api/statistiques/partages")
def api_partages_liste() -> Response:
    from chalicelib.schemas.partages import PartagesPage

    partages = current().container.partages.list(profile().mediateur)
    return model_response(PartagesPage(items=[_out(p) for p in partages]))


@api(bp, "/api/statistiques/partages", methods=("POST",))
def api_partages_creer() -> Response:
    from chalicelib.schemas.partages import PartageIn

    body = json_body(PartageIn)
    me = profile()
    lieux = None if body.portee == STRUCTURE else {lieu.id for lieu in me.lieux}
    filters = body.filters.model_dump()
    demande = stats_request(for_page=False, lieux=lieux, values=filters)
    errors = {f"filters.{name}": message for name, message in demande.errors.items()}
    if body.portee == STRUCTURE and filters.get("lieu"):
        errors["filters.lieu"] = LIEU_STRUCTURE
    if errors:
        raise ValidationFailed(errors)
    partage, jeton = current().container.partages.create(
        me.mediateur, lieux or set(), body.portee, _filtres(demande), body.expire_le
    )
    return model_response(
        _out(partage, _public_url(jeton)),
        status=201,
        headers={"Location": "/api/statistiques/partages"},
    )


@api(bp, "/api/statistiques/partages/{partage_id}", methods=("DELETE",))
def api_partages_revoquer(partage_id: str) -> Response:
    current().container.partages.revoke(profile().mediateur, partage_id)
    return Response(body="", status_code=204)
