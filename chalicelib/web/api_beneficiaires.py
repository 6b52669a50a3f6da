"""JSON API of beneficiaries (SPEC §10): the rules of the forms, the mediator's own people only.

`GET /api/beneficiaires?q=&tri=&cursor=` searches (q) or lists (tri, cursor); one person is read,
replaced (PUT, `version` in the body) and deleted (pseudonymised: 204, then 404 everywhere).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.domain.errors import ValidationFailed
from chalicelib.services.beneficiaires import PAGE_SIZE, SORTS
from chalicelib.web.context import current
from chalicelib.web.errors import json_error
from chalicelib.web.http import json_response
from chalicelib.web.routing import api

if TYPE_CHECKING:
    from chalicelib.schemas.beneficiaires import BeneficiaireIn

bp = Blueprint(__name__)

MAX_QUERY = 200  # the search reads at most 200 characters anyway (recherche.MAX_QUERY_LENGTH)
MAX_CURSOR = 600
CHOIX_INVALIDE = "Choisissez une valeur dans la liste."


def _mediateur_id() -> str:
    account = current().account
    assert account is not None  # guaranteed by @api(auth=True)
    return account.profile.mediateur.id


def _body() -> tuple[BeneficiaireIn | None, Response | None]:
    from pydantic import ValidationError

    from chalicelib.schemas.beneficiaires import BeneficiaireIn
    from chalicelib.schemas.errors import french_errors

    if not isinstance(current().json, dict):
        return None, json_error(422, {"corps": "Le corps de la requête doit être un objet JSON."})
    try:
        return BeneficiaireIn.model_validate_json(current().request.raw_body or b"{}"), None
    except ValidationError as exc:
        return None, json_error(422, french_errors(exc))


def _list_params() -> tuple[str, str, str | None, dict[str, str]]:
    """q, tri and cursor from the query string; unknown values are errors, not ignored."""
    state = current()
    errors: dict[str, str] = {}
    q = state.query("q").strip()
    if len(q) > MAX_QUERY:
        errors["q"] = f"La recherche doit faire {MAX_QUERY} caractères au plus."
    tri = state.query("tri").strip() or "nom"
    if tri not in SORTS:
        errors["tri"] = CHOIX_INVALIDE
    cursor = state.query("cursor").strip() or None
    if cursor is not None and (len(cursor) > MAX_CURSOR or (tri != "nom" and not _page(cursor))):
        errors["cursor"] = "Ce curseur n'est pas valide : reprenez à la première page."
    return q, tri, cursor, errors


def _page(cursor: str) -> int | None:
    """Sorts other than by name are paginated by page number: their cursor is that number."""
    return int(cursor) if cursor.isdecimal() and cursor.isascii() and len(cursor) < 7 else None


@api(bp, "/api/beneficiaires")
def beneficiaires_list() -> Response:
    from chalicelib.schemas.beneficiaires import beneficiaire_json

    q, tri, cursor, errors = _list_params()
    if errors:
        return json_error(422, errors)
    service = current().container.beneficiaries
    next_cursor: str | None = None
    if q:
        # A search answers the best matches at once, by relevance: no further page.
        found = service.search(_mediateur_id(), q, limit=PAGE_SIZE)
    elif tri == "nom":
        found = service.list(_mediateur_id(), "nom", cursor=cursor)
        next_cursor = found.cursor
    else:
        found = service.list(_mediateur_id(), tri, page=_page(cursor or "1") or 1)
        next_cursor = str(found.page + 1) if found.page < found.pages else None
    return json_response(
        {
            "items": [beneficiaire_json(b) for b in found.items],
            "cursor": next_cursor,
            "tronquee": found.tronquee,
        }
    )


@api(bp, "/api/beneficiaires", methods=("POST",))
def beneficiaires_create() -> Response:
    from chalicelib.schemas.beneficiaires import beneficiaire_json

    parsed, error = _body()
    if error or parsed is None:
        return error or json_error(422)
    created = current().container.beneficiaries.create(_mediateur_id(), parsed.to_domain())
    return json_response(
        beneficiaire_json(created),
        status=201,
        headers={"Location": f"/api/beneficiaires/{created.id}"},
    )


@api(bp, "/api/beneficiaires/{beneficiaire_id}")
def beneficiaires_read(beneficiaire_id: str) -> Response:
    from chalicelib.schemas.beneficiaires import beneficiaire_json

    found = current().container.beneficiaries.get(_mediateur_id(), beneficiaire_id)
    return json_response(beneficiaire_json(found))


@api(bp, "/api/beneficiaires/{beneficiaire_id}", methods=("PUT",))
def beneficiaires_replace(beneficiaire_id: str) -> Response:
    from chalicelib.schemas.beneficiaires import beneficiaire_json

    service = current().container.beneficiaries
    existing = service.get(_mediateur_id(), beneficiaire_id)  # 404 before any 422
    parsed, error = _body()
    if error or parsed is None:
        return error or json_error(422)
    if parsed.version is None:
        raise ValidationFailed({"version": "Ce champ est obligatoire."})
    updated = service.modify(_mediateur_id(), existing.id, parsed.to_domain(), parsed.version)
    return json_response(beneficiaire_json(updated))


@api(bp, "/api/beneficiaires/{beneficiaire_id}", methods=("DELETE",))
def beneficiaires_delete(beneficiaire_id: str) -> Response:
    current().container.beneficiaries.delete(_mediateur_id(), beneficiaire_id)
    return Response(body="", status_code=204)
