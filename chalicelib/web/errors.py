"""The one place that turns domain errors and failures into French pages and JSON errors."""

from __future__ import annotations

import traceback

from chalice import Response

from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    TooManyRequests,
    Unavailable,
    ValidationFailed,
)
from chalicelib.web.http import html, json_response

MESSAGES = {
    401: "Vous devez vous connecter pour accéder à cette page.",
    403: "Vous n'avez pas l'autorisation d'effectuer cette action.",
    404: "La page que vous cherchez est introuvable.",
    405: "Cette adresse n'accepte pas cette méthode.",
    409: "Cet élément a été modifié entre-temps. Rechargez-le puis recommencez.",
    413: "La requête est trop volumineuse.",
    415: "Le format de la requête n'est pas accepté : envoyez du JSON (application/json) ou un"
    " formulaire.",
    422: "Les données envoyées ne sont pas valides.",
    429: "Trop de demandes en peu de temps. Patientez quelques minutes puis réessayez.",
    500: "Une erreur inattendue s'est produite. Réessayez dans quelques instants.",
    503: "Le service est momentanément surchargé : rien n'a été enregistré. Réessayez dans"
    " quelques instants.",
}
CLE_REUTILISEE = (
    "Cette clé d'idempotence a déjà servi à enregistrer une autre activité, avec d'autres"
    " valeurs : rien n'a été enregistré. Utilisez une nouvelle clé pour une nouvelle activité."
)


def status_of(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, TooManyRequests):
        return 429
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, ValidationFailed):
        return 422
    return 400


def json_error(
    status: int,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, object] = {"message": message or MESSAGES.get(status, "Erreur.")}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status=status, headers=headers)


def _retry_after(exc: DomainError) -> dict[str, str] | None:
    seconds = getattr(exc, "retry_after", None)
    return {"Retry-After": str(seconds)} if seconds else None


def error_page(status: int, detail: str | None = None, anonymous: bool = False) -> Response:
    from chalicelib.web.pages_common import render_page

    template = f"erreurs/{status if status in (403, 404, 500) else 'generique'}.html"
    return render_page(
        template,
        status=status,
        anonymous=anonymous,
        message=MESSAGES.get(status, ""),
        detail=detail,
    )


def for_domain_error(exc: DomainError, as_json: bool) -> Response:
    status = status_of(exc)
    headers = _retry_after(exc)
    if as_json:
        errors = exc.errors if isinstance(exc, ValidationFailed) else None
        message = CLE_REUTILISEE if isinstance(exc, IdempotencyKeyReused) else None
        return json_error(status, errors, message, headers)
    page = error_page(status)
    page.headers.update(headers or {})
    return page


def for_crash(as_json: bool, show_trace: bool) -> Response:
    """A 500 without stack trace, except on a developer's machine."""
    detail = traceback.format_exc() if show_trace else None
    if as_json:
        return json_error(500)
    try:
        return error_page(500, detail, anonymous=True)
    except Exception:  # the error page itself failed: plain text, still French
        return html("<h1>Erreur</h1><p>" + MESSAGES[500] + "</p>", status=500)
