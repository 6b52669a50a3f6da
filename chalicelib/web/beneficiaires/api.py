"""JSON API of beneficiaries (SPEC §10): the rules of the forms, the mediator's own people only.

`GET /api/beneficiaires?q=&tri=&cursor=` searches (q) or lists (tri, cursor); one person is read,
replaced (PUT, `version` in the body) and deleted (pseudonymised: 204, then 404 everywhere).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.errors import ValidationFailed
from chalicelib.services.beneficiaires import PAGE_SIZE, SORTS
from chalicelib.web.context import current, mediateur_id
from chalicelib.web.http import model_response
from chalicelib.web.params import json_body, page_number, search_text, versioned_body
from chalicelib.web.routing import api

bp = Blueprint(__name__)

MAX_CURSOR = 600
CHOIX_INVALIDE = "Choisissez une valeur dans la liste."
CURSEUR_INVALIDE = "Ce curseur n'est pas valide : reprenez à la première page."


def _list_params() -> tuple[str, str, str | None]:
    """q, tri and cursor from the query string; unknown values are errors, not ignored."""
    state = current()
    errors: dict[str, str] = {}
    q, error = search_text(state.query("q"))
    if error:
        errors["q"] = error
    tri = state.query("tri").strip() or "nom"
    if tri not in SORTS:
        errors["tri"] = CHOIX_INVALIDE
    cursor = state.query("cursor").strip() or None
    if cursor is not None and (
        len(cursor) > MAX_CURSOR or (tri != "nom" and page_number(cursor) is None)
    ):
        errors["cursor"] = CURSEUR_INVALIDE
    if errors:
        raise ValidationFailed(errors)
    return q, tri, cursor


@api(bp, "/api/beneficiaires")
def beneficiaires_list() -> Response:
    from chalicelib.schemas.beneficiaires import BeneficiaireOut, BeneficiairesPage

    q, tri, cursor = _list_params()
    service = current().container.beneficiaries
    next_cursor: str | None = None
    if q:
        # A search answers the best matches at once, by relevance: no further page.
        found = service.search(mediateur_id(), q, limit=PAGE_SIZE)
    elif tri == "nom":
        found = service.list(mediateur_id(), "nom", cursor=cursor)
        next_cursor = found.cursor
    else:
        found = service.list(mediateur_id(), tri, page=page_number(cursor or "1") or 1)
        next_cursor = str(found.page + 1) if found.page < found.pages else None
    return model_response(
        BeneficiairesPage(
            items=[BeneficiaireOut.of(b) for b in found.items],
            cursor=next_cursor,
            tronquee=found.tronquee,
        )
    )


@api(bp, "/api/beneficiaires", methods=("POST",))
def beneficiaires_create() -> Response:
    from chalicelib.schemas.beneficiaires import BeneficiaireIn, BeneficiaireOut

    body = json_body(BeneficiaireIn)
    created = current().container.beneficiaries.create(mediateur_id(), body.to_domain())
    return model_response(
        BeneficiaireOut.of(created),
        status=201,
        headers={"Location": f"/api/beneficiaires/{created.id}"},
    )


@api(bp, "/api/beneficiaires/{beneficiaire_id}")
def beneficiaires_read(beneficiaire_id: str) -> Response:
    from chalicelib.schemas.beneficiaires import BeneficiaireOut

    found = current().container.beneficiaries.get(mediateur_id(), beneficiaire_id)
    return model_response(BeneficiaireOut.of(found))


@api(bp, "/api/beneficiaires/{beneficiaire_id}", methods=("PUT",))
def beneficiaires_replace(beneficiaire_id: str) -> Response:
    from chalicelib.schemas.beneficiaires import BeneficiaireIn, BeneficiaireOut

    service = current().container.beneficiaries
    existing = service.get(mediateur_id(), beneficiaire_id)  # 404 before any 422
    body, expected = versioned_body(BeneficiaireIn, read_only=BeneficiaireOut)
    updated = service.modify(mediateur_id(), existing.id, body.to_domain(), expected)
    return model_response(BeneficiaireOut.of(updated))


@api(bp, "/api/beneficiaires/{beneficiaire_id}", methods=("DELETE",))
def beneficiaires_delete(beneficiaire_id: str) -> Response:
    current().container.beneficiaries.delete(mediateur_id(), beneficiaire_id)
    return Response(body="", status_code=204)
