"""Mes exports (SPEC §6): ask for an export, follow it, download it; and the JSON API.

- `GET /exports`                     the list (refreshes itself while an export is being prepared)
- `GET /exports?kind=activites&…`    the confirmation form: the list's filters (or the search),
                                     the format; for a gestionnaire, the structure as a whole
- `POST /exports?kind=…&…`           ask (the filters travel in the URL, as on the list page)
- `GET /exports/{id}/telecharger`    checks who asks, then 302 to a presigned S3 link
- `GET|POST /api/exports`, `GET /api/exports/{id}`
Handlers are wiring: parse, call the service, render.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.domain.activites import Filtres
from chalicelib.domain.dates import PARIS, periode_fr
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.exports import (
    FORMATS,
    KINDS,
    SCOPES,
    STATISTIQUES,
    STATUTS,
    Export,
    ExportRequest,
)
from chalicelib.domain.mediateurs import Profile
from chalicelib.exports import columns as cols
from chalicelib.services.exports import ExportExpire, ExportPasPret, is_gestionnaire
from chalicelib.web.context import current, profile
from chalicelib.web.http import model_response, redirect
from chalicelib.web.pages_common import FLASH, render_page
from chalicelib.web.params import (
    FILTRE_LABELS,
    activity_filters,
    filters_query_string,
    json_body,
    search_text,
    stats_request,
)
from chalicelib.web.routing import api, page
from chalicelib.web.statistiques import LABELS as STATS_LABELS
from chalicelib.web.statistiques import asked_query, demande_periode

bp = Blueprint(__name__)

FLASH.update(
    {
        "export_demande": "Votre export est en préparation. Il sera prêt ici dans quelques"
        " instants ; vous pouvez aussi quitter cette page et revenir plus tard.",
    }
)
REFRESH_SECONDS = 3
LABELS = {"format": "Format", "scope": "Périmètre", "kind": "Export"}
BADGES = {
    "en_attente": "fr-badge--info",
    "en_cours": "fr-badge--new",
    "pret": "fr-badge--success",
    "echec": "fr-badge--error",
    "expire": "",
}


# --- view models ----------------------------------------------------------------------------------


def quand_fr(value: datetime) -> str:
    from chalicelib.web.render import date_fr

    local = value.astimezone(PARIS)
    return f"{date_fr(local)} à {local.strftime('%H:%M')}"


def taille_fr(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} octets"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


def nombre_fr(count: int) -> str:
    return f"{count:,}".replace(",", "\u202f")


@dataclass(frozen=True)
class ExportVue:
    export: Export
    titre: str
    statut: str
    libelle: str
    badge: str
    demande: str
    criteres: str
    lignes: str
    taille: str
    raison: str | None
    expire_le: str
    telecharger: str
    partage: str | None  # the absolute link to hand to the structure's other gestionnaires

    @property
    def en_preparation(self) -> bool:
        return self.statut in ("en_attente", "en_cours")


def _titre(export: Export) -> str:
    what = KINDS.label(export.kind)
    if export.scope == "structure":
        what += " de la structure"
    return f"{what} — {FORMATS.label(export.format)}"


def _resume(kind: str, filtres: Filtres, q: str, profile: Profile, names: dict[str, str]) -> str:
    """The filters (or the search) in one French line, with the lieu's and person's names."""
    if kind == "beneficiaires":
        return cols.resume_recherche(q)
    if kind == STATISTIQUES and filtres.du and filtres.au:
        periode = "Période : " + periode_fr(filtres.du, filtres.au)
        rest = cols.resume_filtres(replace(filtres, du=None, au=None), _lieu_nom(profile, filtres))
        return periode if rest.startswith("Aucun filtre") else f"{periode} · {rest}"
    lieux = {lieu.id: lieu.nom for lieu in profile.lieux}
    personne = names.get(filtres.beneficiaire) if filtres.beneficiaire else None
    return cols.resume_filtres(filtres, lieux.get(filtres.lieu or ""), personne)


def _lieu_nom(profile: Profile, filtres: Filtres) -> str | None:
    return next((x.nom for x in profile.lieux if x.id == filtres.lieu), None)


def _lignes(export: Export, statut: str) -> str:
    unit = "ligne" if export.lignes <= 1 else "lignes"
    if statut == "en_cours":
        return f"{nombre_fr(export.lignes)} {unit} lues"
    if statut in ("pret", "expire") and export.termine_le:
        return f"{nombre_fr(export.lignes)} {unit}"
    return ""


def vue(export: Export, now: datetime, profile: Profile, names: dict[str, str]) -> ExportVue:
    statut = export.statut_affiche(now)
    path = f"/exports/{export.id}/telecharger"
    public = current().container.settings.public_url.rstrip("/")
    return ExportVue(
        export=export,
        titre=_titre(export),
        statut=statut,
        libelle=STATUTS.label(statut),
        badge=BADGES[statut],
        demande=quand_fr(export.cree_le),
        criteres=_resume(export.kind, export.filtres, export.q, profile, names),
        lignes=_lignes(export, statut),
        taille=taille_fr(export.taille) if statut == "pret" else "",
        raison=export.raison_affichee(now) if statut == "echec" else None,
        expire_le=quand_fr(export.expire_le()),
        telecharger=path,
        partage=public + path if export.scope == "structure" and statut == "pret" else None,
    )


def _names_of(ids: set[str]) -> dict[str, str]:
    """Names of the mediator's own people used as filters (one batch read)."""
    if not ids:
        return {}
    found = current().container.beneficiaries.names(profile().mediateur.id, ids)
    return {i: b.nom_complet for i, b in found.items()}


def _filter_people(exports: list[Export]) -> set[str]:
    me = profile().mediateur.id
    return {
        e.filtres.beneficiaire
        for e in exports
        if e.filtres.beneficiaire and e.scope == "mediateur" and e.owner == me
    }


# --- pages ----------------------------------------------------------------------------------------


def _liste() -> Response:
    service = current().container.exports
    me = profile()
    exports = service.list(me.mediateur)
    now = service.now()
    names = _names_of(_filter_people(exports))
    vues = [vue(e, now, me, names) for e in exports]
    en_preparation = any(v.en_preparation for v in vues)
    extra: dict[str, Any] = {}
    if not en_preparation and current().query("message") == "export_demande":
        extra["flash"] = None  # « en préparation » is over: the card says « Prêt » (or why not)
    return render_page(
        "exports/liste.html",
        exports=vues,
        rafraichir=REFRESH_SECONDS if en_preparation else None,
        gestionnaire=is_gestionnaire(me.mediateur),
        **extra,
    )


SCOPES_STATISTIQUES = [
    ("mediateur", "Mes statistiques"),
    ("structure", "Les statistiques de toute ma structure"),
]
FILTRE_INVALIDE = (
    "Ce filtre n'est pas valide : {filtres}. Revenez à la liste pour le corriger, rien n'a été"
    " exporté."
)


@dataclass(frozen=True)
class Criteres:
    """What the confirmation page exports: the list's filters or the search, as asked in the
    URL, and the French error of each filter that is not valid (nothing is exported then)."""

    kind: str
    filtres: Filtres
    q: str
    errors: dict[str, str]
    asked: str = ""  # statistics: the period and filters as asked (the page's query string)

    @property
    def query_string(self) -> str:
        if self.kind == "activites":
            return filters_query_string(self.filtres)
        if self.kind == STATISTIQUES:
            return self.asked
        return urlencode({"q": self.q} if self.q else {})


def _criteres(kind: str) -> Criteres:
    if kind == STATISTIQUES:
        return _criteres_statistiques()
    if kind != "activites":
        q, _ = search_text(current().query("q"))  # what the list searched with
        return Criteres(kind, Filtres(), q, {})
    filtres, invalid = activity_filters({lieu.id for lieu in profile().lieux}, for_page=True)
    errors = {}
    if invalid:
        noms = ", ".join(FILTRE_LABELS.get(name, name) for name in invalid)
        errors["kind"] = FILTRE_INVALIDE.format(filtres=noms)
    return Criteres(kind, filtres, "", errors)


def _criteres_statistiques() -> Criteres:
    """The statistics page's period and filters (the structure's page has no lieu filter)."""
    structure = current().query("portee") == "structure"
    demande = stats_request(for_page=True, lieux=None if structure else _lieux_ids())
    periode = demande_periode(demande)
    errors = {}
    if periode is None:
        noms = ", ".join(STATS_LABELS.get(name, name) for name in demande.errors)
        errors["kind"] = FILTRE_INVALIDE.format(filtres=noms)
    filtres = Filtres(
        du=periode.du if periode else None,
        au=periode.au if periode else None,
        type=demande.type,
        canal=demande.canal,
        lieu=demande.lieu,
    )
    asked = asked_query(demande) + ("&portee=structure" if structure else "")
    return Criteres(STATISTIQUES, filtres, "", errors, asked.lstrip("&"))


def _lieux_ids() -> set[str]:
    return {lieu.id for lieu in profile().lieux}


def _demande(
    criteres: Criteres, errors: dict[str, str] | None = None, valeurs: dict[str, str] | None = None
) -> Response:
    state = current()
    me = profile()
    kind, filtres = criteres.kind, criteres.filtres
    errors = {**criteres.errors, **(errors or {})}
    valeurs = valeurs or {"format": "xlsx", "scope": state.query("portee") or "mediateur"}
    names = _names_of({filtres.beneficiaire}) if filtres.beneficiaire else {}
    qs = criteres.query_string
    structure = kind == STATISTIQUES and valeurs.get("scope") == "structure"
    page = "/structure/statistiques" if structure else f"/{kind}"
    return render_page(
        "exports/demande.html",
        status=400 if errors else 200,
        kind=kind,
        kind_label=KINDS.label(kind),
        criteres=_resume(kind, filtres, criteres.q, me, names),
        action="/exports?" + urlencode({"kind": kind}) + (f"&{qs}" if qs else ""),
        retour=(f"{page}?{qs}" if qs else page),
        formats=[c for c in FORMATS.choices() if kind != STATISTIQUES or c[0] == "xlsx"],
        scopes=SCOPES_STATISTIQUES if kind == STATISTIQUES else SCOPES.choices(),
        gestionnaire=is_gestionnaire(me.mediateur) and kind in ("activites", STATISTIQUES),
        filtres_personnels=bool(filtres.lieu or filtres.beneficiaire),
        valeurs=valeurs,
        errors=errors,
        labels=LABELS,
    )


def _kind_or_404(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(kind)
    return kind


@page(bp, "/exports")
def exports_page() -> Response:
    kind = current().query("kind")
    if kind:
        return _demande(_criteres(_kind_or_404(kind)))
    return _liste()


@page(bp, "/exports", methods=("POST",))
def exports_post() -> Response:
    state = current()
    criteres = _criteres(_kind_or_404(state.query("kind")))
    valeurs = {"format": state.form.get("format"), "scope": state.form.get("scope") or "mediateur"}
    if criteres.errors:
        return _demande(criteres, valeurs=valeurs)
    me = profile()
    request = ExportRequest(
        kind=criteres.kind,
        format=valeurs["format"],
        scope=valeurs["scope"],
        filtres=criteres.filtres,
        q=criteres.q,
    )
    try:
        state.container.exports.request(me.mediateur, {lieu.id for lieu in me.lieux}, request)
    except ValidationFailed as exc:
        return _demande(criteres, errors=dict(exc.errors), valeurs=valeurs)
    return redirect("/exports?message=export_demande")


@page(bp, "/exports/{export_id}/telecharger")
def exports_telecharger(export_id: str) -> Response:
    state = current()
    try:
        telechargement = state.container.exports.download(profile().mediateur, export_id)
    except ExportExpire:
        return render_page("exports/expire.html", status=410)
    except ExportPasPret:
        return redirect(f"/exports#export-{export_id}")
    # The signed link must not leak through a Referer header (it is a bearer credential).
    return Response(
        body="",
        status_code=302,
        headers={"Location": telechargement.url, "Referrer-Policy": "no-referrer"},
    )


# --- JSON API -------------------------------------------------------------------------------------


def _out(export: Export) -> Any:
    from chalicelib.schemas.exports import ExportOut

    service = current().container.exports
    return ExportOut.of(export, service.now(), service.link(export))


@api(bp, "/api/exports")
def api_exports_list() -> Response:
    from chalicelib.schemas.exports import ExportsPage

    exports = current().container.exports.list(profile().mediateur)
    return model_response(ExportsPage(items=[_out(e) for e in exports]))


@api(bp, "/api/exports", methods=("POST",))
def api_exports_create() -> Response:
    from chalicelib.schemas.exports import ExportIn

    body = json_body(ExportIn)
    me = profile()
    export = current().container.exports.request(
        me.mediateur, {lieu.id for lieu in me.lieux}, body.to_domain()
    )
    return model_response(
        _out(export), status=202, headers={"Location": f"/api/exports/{export.id}"}
    )


@api(bp, "/api/exports/{export_id}")
def api_exports_read(export_id: str) -> Response:
    export = current().container.exports.get(profile().mediateur, export_id)
    return model_response(_out(export))
