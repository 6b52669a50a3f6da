"""JSON API (SPEC §10): the signed-in mediator, the communes reference and the lieux d'activité.
Same session cookie as the pages, `X-CSRF-Token` on writes."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.ids import looks_like_id
from chalicelib.web.context import current, mediateur_id, profile
from chalicelib.web.http import json_response, model_response
from chalicelib.web.params import json_body, versioned_body
from chalicelib.web.routing import api

bp = Blueprint(__name__)

MAX_COMMUNE_QUERY = 80


@api(bp, "/api/moi")
def moi() -> Response:
    from chalicelib.schemas.lieux import Moi

    session = current().session
    assert session is not None  # guaranteed by @api(auth=True)
    return model_response(Moi.of(profile(), session.csrf_token))


@api(bp, "/api/communes", auth=False)
def communes() -> Response:
    from chalicelib.schemas.lieux import CommuneOut

    q = current().query("q").strip()
    if len(q) > MAX_COMMUNE_QUERY:
        raise ValidationFailed({"q": "La recherche doit faire 80 caractères au plus."})
    results = current().container.communes.search(q, limit=10) if q else []
    # Reference data, identical for everyone: cacheable, unlike the personal pages.
    return json_response(
        [CommuneOut.of(c).model_dump(mode="json") for c in results],
        headers={"Cache-Control": "public, max-age=86400"},
    )


# --- lieux d'activité -------------------------------------------------------------------------


@api(bp, "/api/lieux")
def lieux_list() -> Response:
    from chalicelib.schemas.lieux import LieuOut, LieuxPage

    return model_response(LieuxPage(items=[LieuOut.of(lieu) for lieu in profile().lieux]))


@api(bp, "/api/lieux", methods=("POST",))
def lieux_create() -> Response:
    from chalicelib.schemas.lieux import LieuIn, LieuOut

    body = json_body(LieuIn)
    lieu = current().container.accounts.add_lieu(mediateur_id(), body.to_domain())
    return model_response(LieuOut.of(lieu), status=201)


@api(bp, "/api/lieux/{lieu_id}")
def lieux_read(lieu_id: str) -> Response:
    from chalicelib.schemas.lieux import LieuOut

    _check_id(lieu_id)
    return model_response(LieuOut.of(current().container.accounts.lieu(mediateur_id(), lieu_id)))


@api(bp, "/api/lieux/{lieu_id}", methods=("PUT",))
def lieux_update(lieu_id: str) -> Response:
    from chalicelib.schemas.lieux import LieuIn, LieuOut

    _check_id(lieu_id)
    body, expected = versioned_body(LieuIn, read_only=LieuOut)
    lieu = current().container.accounts.update_lieu(
        mediateur_id(), lieu_id, body.to_domain(), expected
    )
    return model_response(LieuOut.of(lieu))


@api(bp, "/api/lieux/{lieu_id}", methods=("DELETE",))
def lieux_archive(lieu_id: str) -> Response:
    """A lieu is archived, not erased: its past activities keep pointing to it."""
    from chalicelib.schemas.lieux import LieuOut

    _check_id(lieu_id)
    service = current().container.accounts
    lieu = service.lieu(mediateur_id(), lieu_id)
    archived = service.set_archive(lieu.mediateur_id, lieu.id, True, lieu.version)
    return model_response(LieuOut.of(archived))


def _check_id(value: str) -> None:
    if not looks_like_id(value):
        raise NotFound(value)
