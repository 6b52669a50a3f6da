"""JSON API (SPEC §10): same session cookie as the pages, `X-CSRF-Token` on writes."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.mediateurs import Lieu
from chalicelib.web.context import current
from chalicelib.web.errors import json_error
from chalicelib.web.http import json_response
from chalicelib.web.routing import api

bp = Blueprint(__name__)


def lieu_json(lieu: Lieu) -> dict[str, object]:
    return {
        "id": lieu.id,
        "nom": lieu.nom,
        "adresse": lieu.adresse,
        "commune_insee": lieu.commune_insee,
        "archive": lieu.archive,
        "version": lieu.version,
        "cree_le": lieu.cree_le.isoformat() if lieu.cree_le else None,
        "modifie_le": lieu.modifie_le.isoformat() if lieu.modifie_le else None,
    }


@api(bp, "/api/moi")
def moi() -> Response:
    state = current()
    account = state.account
    session = state.session
    assert account is not None and session is not None
    m = account.profile.mediateur
    return json_response(
        {
            "id": m.id,
            "prenom": m.prenom,
            "nom": m.nom,
            "email": m.email,
            "roles": list(m.roles),
            "structure": {"siret": m.siret} if m.siret else None,
            "lieux": [lieu_json(lieu) for lieu in account.profile.lieux],
            "csrf_token": session.csrf_token,
        }
    )


@api(bp, "/api/communes", auth=False)
def communes() -> Response:
    from chalicelib.referentiel.communes import to_json

    state = current()
    q = state.query("q").strip()
    if len(q) > 80:
        return json_error(422, {"q": "La recherche doit faire 80 caractères au plus."})
    results = state.container.communes().search(q, limit=10) if q else []
    # Reference data, identical for everyone: cacheable, unlike the personal pages.
    return json_response([to_json(c) for c in results], headers={"Cache-Control": "public, max-age=86400"})
