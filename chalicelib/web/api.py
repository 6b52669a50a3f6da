"""JSON API (SPEC §10): same session cookie as the pages, `X-CSRF-Token` on writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.domain.mediateurs import Lieu
from chalicelib.web.context import current
from chalicelib.web.errors import json_error
from chalicelib.web.http import json_response
from chalicelib.web.routing import api

if TYPE_CHECKING:
    from chalicelib.schemas.lieux import LieuIn

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
    assert account is not None
    assert session is not None
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
    return json_response(
        [to_json(c) for c in results], headers={"Cache-Control": "public, max-age=86400"}
    )


# --- lieux d'activité -------------------------------------------------------------------------


def _parse_lieu() -> tuple[LieuIn | None, Response | None]:
    from pydantic import ValidationError

    from chalicelib.schemas.errors import french_errors
    from chalicelib.schemas.lieux import LieuIn

    body = current().json
    if not isinstance(body, dict):
        return None, json_error(422, {"corps": "Le corps de la requête doit être un objet JSON."})
    try:
        return LieuIn.model_validate_json(current().request.raw_body or b"{}"), None
    except ValidationError as exc:
        return None, json_error(422, french_errors(exc))


def _mediateur_id() -> str:
    account = current().account
    assert account is not None
    return account.profile.mediateur.id


@api(bp, "/api/lieux")
def lieux_list() -> Response:
    account = current().account
    assert account is not None
    return json_response({"items": [lieu_json(lieu) for lieu in account.profile.lieux]})


@api(bp, "/api/lieux", methods=("POST",))
def lieux_create() -> Response:
    parsed, error = _parse_lieu()
    if error or parsed is None:
        return error or json_error(422)
    lieu = current().container.accounts.add_lieu(_mediateur_id(), parsed.to_domain())
    return json_response(lieu_json(lieu), status=201)


@api(bp, "/api/lieux/{lieu_id}")
def lieux_read(lieu_id: str) -> Response:
    _check_id(lieu_id)
    return json_response(lieu_json(current().container.accounts.lieu(_mediateur_id(), lieu_id)))


@api(bp, "/api/lieux/{lieu_id}", methods=("PUT",))
def lieux_update(lieu_id: str) -> Response:
    _check_id(lieu_id)
    parsed, error = _parse_lieu()
    if error or parsed is None:
        return error or json_error(422)
    version = parsed.version
    if version is None:
        return json_error(422, {"version": "Ce champ est obligatoire."})
    lieu = current().container.accounts.update_lieu(
        _mediateur_id(),
        lieu_id,
        parsed.to_domain(),
        version,
    )
    return json_response(lieu_json(lieu))


@api(bp, "/api/lieux/{lieu_id}", methods=("DELETE",))
def lieux_archive(lieu_id: str) -> Response:
    """A lieu is archived, not erased: its past activities keep pointing to it."""
    _check_id(lieu_id)
    service = current().container.accounts
    lieu = service.lieu(_mediateur_id(), lieu_id)
    archived = service.set_archive(lieu.mediateur_id, lieu.id, True, lieu.version)
    return json_response(lieu_json(archived))


def _check_id(value: str) -> None:
    from chalicelib.domain.errors import NotFound
    from chalicelib.domain.ids import looks_like_id

    if not looks_like_id(value):
        raise NotFound(value)
