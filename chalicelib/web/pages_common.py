"""Rendering a page with the context every template expects (user, CSRF token, navigation)."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.web.context import current
from chalicelib.web.http import html, route_of
from chalicelib.web.render import render

# Confirmation messages after a redirect (Post/Redirect/Get): a code in the URL, never free text.
FLASH = {
    "lieu_ajoute": "Le lieu d'activité a été ajouté.",
    "lieu_modifie": "Le lieu d'activité a été modifié.",
    "lieu_archive": "Le lieu d'activité a été archivé.",
    "lieu_restaure": "Le lieu d'activité a été restauré.",
    "outils_enregistres": "L'ordre de vos outils a été enregistré.",
    "bienvenue": "Bienvenue ! Votre espace est prêt.",
    "structure_nommee": "Le nom de la structure a été enregistré.",
}


def base_context(anonymous: bool = False) -> dict[str, Any]:
    """`anonymous` renders without touching the session (the crash page must not crash)."""
    state = current()
    session = None if anonymous else state.session
    account = state.account if session else None
    flash = FLASH.get(state.query("message"))
    return {
        "moi": account.profile.mediateur if account else None,
        "profil": account.profile if account else None,
        "csrf_token": session.csrf_token if session else "",
        "route": route_of(state.request),
        "flash": flash,
        "is_local": state.container.settings.is_local,
        "errors": {},
    }


def render_page(
    template: str, status: int = 200, anonymous: bool = False, **context: Any
) -> Response:
    values = base_context(anonymous)
    values.update(context)
    if values.get("errors"):
        status = status if status != 200 else 400
    return html(render(template, **values), status=status)
