"""JSON API of activities (SPEC §10) and the OpenAPI description of the whole API."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib.domain import vocab
from chalicelib.domain.activites import Filtres
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ids import looks_like_id
from chalicelib.web.context import current
from chalicelib.web.errors import json_error
from chalicelib.web.http import json_response
from chalicelib.web.routing import api

if TYPE_CHECKING:
    from chalicelib.schemas.activites import ActiviteIn

bp = Blueprint(__name__)


def _mediateur_id() -> str:
    account = current().account
    assert account is not None
    return account.profile.mediateur.id


def _profile() -> Any:
    account = current().account
    assert account is not None
    return account.profile


def _body() -> tuple[ActiviteIn | None, Response | None]:
    from pydantic import ValidationError

    from chalicelib.schemas.activites import ActiviteIn
    from chalicelib.schemas.errors import french_errors

    body = current().json
    if not isinstance(body, dict):
        return None, json_error(422, {"corps": "Le corps de la requête doit être un objet JSON."})
    try:
        return ActiviteIn.model_validate_json(current().request.raw_body or b"{}"), None
    except ValidationError as exc:
        return None, json_error(422, french_errors(exc))


def _date(name: str, errors: dict[str, str]) -> date | None:
    raw = current().query(name).strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Saisissez une date valide (AAAA-MM-JJ)."
        return None


def _slug(name: str, allowed: Any, errors: dict[str, str]) -> str | None:
    raw = current().query(name).strip()
    if raw and raw not in allowed:
        errors[name] = "Choisissez une valeur dans la liste."
        return None
    return raw or None


def _filtres() -> tuple[Filtres, dict[str, str]]:
    """The list filters from the query string; unknown values are errors (not ignored)."""
    errors: dict[str, str] = {}
    lieux = {lieu.id for lieu in _profile().lieux}
    filtres = Filtres(
        du=_date("du", errors),
        au=_date("au", errors),
        type=_slug("type", vocab.TYPES_ACTIVITE, errors),
        canal=_slug("canal", vocab.CANAUX, errors),
        lieu=_slug("lieu", lieux, errors),
        beneficiaire=_slug("beneficiaire", _IdLike(), errors),
        thematique=_slug(
            "thematique", set(vocab.THEMATIQUES) | set(vocab.THEMATIQUES_DEMARCHE), errors
        ),
    )
    if filtres.du and filtres.au and filtres.du > filtres.au:
        errors["au"] = "La date de fin doit être après la date de début."
    return filtres, errors


class _IdLike:
    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and looks_like_id(value)


@api(bp, "/api/activites")
def activites_list() -> Response:
    from chalicelib.schemas.activites import activite_json

    filtres, errors = _filtres()
    if errors:
        return json_error(422, errors)
    cursor = current().query("cursor") or None
    page = current().container.activities.page(_mediateur_id(), filtres, cursor)
    return json_response({"items": [activite_json(a) for a in page.items], "cursor": page.cursor})


@api(bp, "/api/activites", methods=("POST",))
def activites_create() -> Response:
    from chalicelib.schemas.activites import activite_json

    parsed, error = _body()
    if error or parsed is None:
        return error or json_error(422)
    key = (current().request.headers.get("idempotency-key") or "").strip()
    if len(key) > 200:
        return json_error(
            422, {"Idempotency-Key": "La clé d'idempotence doit faire 200 caractères au plus."}
        )
    recorded = current().container.activities.record(_profile(), parsed.to_domain(), key or None)
    headers = {"Location": f"/api/activites/{recorded.activite.id}"}
    if not recorded.created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(activite_json(recorded.activite), status=201, headers=headers)


@api(bp, "/api/activites/{activite_id}")
def activites_read(activite_id: str) -> Response:
    from chalicelib.schemas.activites import activite_json

    return json_response(
        activite_json(current().container.activities.get(_mediateur_id(), activite_id))
    )


@api(bp, "/api/activites/{activite_id}", methods=("PUT",))
def activites_replace(activite_id: str) -> Response:
    from chalicelib.schemas.activites import activite_json

    service = current().container.activities
    existing = service.get(_mediateur_id(), activite_id)
    parsed, error = _body()
    if error or parsed is None:
        return error or json_error(422)
    if parsed.version is None:
        raise ValidationFailed({"version": "Ce champ est obligatoire."})
    if parsed.type != existing.type:
        raise ValidationFailed({"type": "Le type d'une activité ne peut pas être modifié."})
    updated = service.modify(_profile(), existing.id, parsed.to_domain(), parsed.version)
    return json_response(activite_json(updated))


@api(bp, "/api/activites/{activite_id}", methods=("DELETE",))
def activites_delete(activite_id: str) -> Response:
    raw_version = current().query("version")
    version = int(raw_version) if raw_version.isdigit() else None
    current().container.activities.remove(_mediateur_id(), activite_id, version)
    return Response(body="", status_code=204)


@api(bp, "/api/openapi.json", auth=False)
def openapi() -> Response:
    from chalicelib.web.openapi import document

    return json_response(document(), headers={"Cache-Control": "public, max-age=3600"})
