"""JSON API of activities (SPEC §10): the rules of the forms, the mediator's own activities only."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.errors import ValidationFailed
from chalicelib.web.context import current, mediateur_id, profile
from chalicelib.web.http import json_response, model_response
from chalicelib.web.params import activity_filters, json_body, version, versioned_body
from chalicelib.web.routing import api

bp = Blueprint(__name__)

MAX_IDEMPOTENCY_KEY = 200


@api(bp, "/api/activites")
def activites_list() -> Response:
    from chalicelib.schemas.activites import ActiviteOut, ActivitesPage

    filtres, errors = activity_filters({lieu.id for lieu in profile().lieux})
    if errors:
        raise ValidationFailed(errors)
    cursor = current().query("cursor")[:600] or None
    page = current().container.activities.page(mediateur_id(), filtres, cursor)
    return model_response(
        ActivitesPage(items=[ActiviteOut.of(a) for a in page.items], cursor=page.cursor)
    )


@api(bp, "/api/activites", methods=("POST",))
def activites_create() -> Response:
    from chalicelib.schemas.activites import ActiviteIn, ActiviteOut

    body = json_body(ActiviteIn)
    key = (current().request.headers.get("idempotency-key") or "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            {"Idempotency-Key": "La clé d'idempotence doit faire 200 caractères au plus."}
        )
    recorded = current().container.activities.record(profile(), body.to_domain(), key or None)
    headers = {"Location": f"/api/activites/{recorded.activite.id}"}
    if not recorded.created:
        headers["Idempotent-Replayed"] = "true"
    return model_response(ActiviteOut.of(recorded.activite), status=201, headers=headers)


@api(bp, "/api/activites/{activite_id}")
def activites_read(activite_id: str) -> Response:
    from chalicelib.schemas.activites import ActiviteOut

    activite = current().container.activities.get(mediateur_id(), activite_id)
    return model_response(ActiviteOut.of(activite))


@api(bp, "/api/activites/{activite_id}", methods=("PUT",))
def activites_replace(activite_id: str) -> Response:
    from chalicelib.schemas.activites import ActiviteIn, ActiviteOut

    service = current().container.activities
    existing = service.get(mediateur_id(), activite_id)  # 404 before any 422
    body, expected = versioned_body(ActiviteIn, read_only=ActiviteOut)
    if body.type != existing.type:
        raise ValidationFailed({"type": "Le type d'une activité ne peut pas être modifié."})
    updated = service.modify(profile(), existing.id, body.to_domain(), expected)
    return model_response(ActiviteOut.of(updated))


@api(bp, "/api/activites/{activite_id}", methods=("DELETE",))
def activites_delete(activite_id: str) -> Response:
    expected = version(current().query("version"))  # absent: delete whatever the version
    current().container.activities.remove(mediateur_id(), activite_id, expected)
    return Response(body="", status_code=204)


@api(bp, "/api/openapi.json", auth=False)
def openapi() -> Response:
    from chalicelib.web.openapi import document

    return json_response(document(), headers={"Cache-Control": "public, max-age=3600"})
