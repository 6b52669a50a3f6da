"""HTTP middleware: request logging/metrics, CSRF and cross-site refusal, crash pages,
security headers and gzip. One function so that the order of these steps is explicit."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chalice import Response
from chalice.app import ChaliceUnhandledError, Request

from chalicelib import bootstrap, observability
from chalicelib.auth.sessions import csrf_matches
from chalicelib.web import context, errors
from chalicelib.web.http import route_of, wants_json
from chalicelib.web.static import BinaryResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GZIP_MIN_BYTES = 1024
GZIP_TYPES = ("text/html", "application/json", "text/css", "text/javascript", "image/svg+xml")


def content_security_policy(issuer: str) -> str:
    provider = urlsplit(issuer)
    provider_origin = f"{provider.scheme}://{provider.netloc}" if provider.netloc else ""
    # form-action must allow the provider: signing out posts a form that redirects there.
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action 'self' {provider_origin}".strip(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def _header(headers: dict[str, Any], name: str) -> Any:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def security_headers(response: Response, csp: str) -> None:
    headers = response.headers
    defaults = {
        "Content-Security-Policy": csp,
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        # Pages and API answers are personal: never stored by browsers or proxies.
        "Cache-Control": "no-store",
    }
    for name, value in defaults.items():
        if _header(headers, name) is None:
            headers[name] = value


def gzipped(request: Request, response: Response) -> Response:
    accepts = "gzip" in (request.headers.get("accept-encoding") or "").lower()
    content_type = str(_header(response.headers, "Content-Type") or "")
    body = response.body
    if (
        not accepts
        or _header(response.headers, "Content-Encoding")
        or not content_type.startswith(GZIP_TYPES)
        or not isinstance(body, str | bytes)
    ):
        return response
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) < GZIP_MIN_BYTES:
        return response
    headers = dict(response.headers)
    headers["Content-Encoding"] = "gzip"
    headers["Vary"] = "Accept-Encoding"
    return BinaryResponse(
        gzip.compress(raw, compresslevel=6, mtime=0), headers, response.status_code
    )


def _allowed_origins(request: Request) -> set[str]:
    settings = bootstrap.get().settings
    allowed = {settings.public_origin}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{urlsplit(settings.public_url).scheme}://{host}")
    return allowed


def csrf_refusal(request: Request) -> Response | None:
    """403 for a state-changing request that is cross-site or lacks the session's token."""
    if request.method in SAFE_METHODS:
        return None
    fetch_site = (request.headers.get("sec-fetch-site") or "").lower()
    origin = request.headers.get("origin")
    cross_site = fetch_site not in ("", "same-origin", "none")
    if cross_site or (origin and origin not in _allowed_origins(request)):
        return _forbidden(request)
    state = context.current()
    session = state.session
    if session is None:
        return None  # the view answers 401 / sends to sign-in; nothing is changed
    token = request.headers.get("x-csrf-token") or state.form.get("csrf_token")
    if not csrf_matches(session, token):
        return _forbidden(request)
    return None


def _forbidden(request: Request) -> Response:
    observability.count("CsrfRefused")
    if wants_json(request):
        return errors.json_error(403)
    return errors.error_page(403, None)


def http_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    started = time.perf_counter()
    token = context.begin(request)
    log = observability.logger()
    request_id = (request.context or {}).get("requestId") or uuid.uuid4().hex
    log.append_keys(request_id=request_id, route=route_of(request), method=request.method)
    try:
        response = _respond(request, get_response)
        settings = bootstrap.get().settings
        security_headers(response, content_security_policy(settings.oidc_issuer))
        response = gzipped(request, response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        state = context.current()
        log.info(
            "request",
            status=response.status_code,
            duration_ms=round(elapsed_ms, 1),
            mediateur=state.mediateur_id,
        )
        observability.count("Requests")
        if response.status_code >= 500:
            observability.count("ServerErrors")
        observability.milliseconds("Latency", elapsed_ms)
        observability.flush()
        return response
    finally:
        log.remove_keys(["request_id", "route", "method"])
        context.end(token)


def chalice_error_in_french(request: Request, response: Response) -> Response:
    """Chalice answers some requests itself, before any view, in English JSON (`{"Code":
    "UnsupportedMediaType", "Message": …}`: a wrong method or media type). Those become our
    French answers: JSON for the API, a page otherwise."""
    body = response.body
    if response.status_code < 400:
        return response
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return response
    if not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    status = response.status_code
    if wants_json(request):
        return errors.json_error(status)
    return errors.error_page(status, anonymous=context.current().session is None)


def _respond(request: Request, get_response: Callable[[Request], Response]) -> Response:
    as_json = wants_json(request)
    try:
        return chalice_error_in_french(request, csrf_refusal(request) or get_response(request))
    except Exception as exc:
        # Views re-raise crashes as ChaliceUnhandledError; failures outside views (session
        # store down…) land here too. Exception messages may quote user input: log the type
        # and the frames only.
        cause = exc.__cause__ if isinstance(exc, ChaliceUnhandledError) and exc.__cause__ else exc
        observability.logger().error(
            "unhandled error", error=type(cause).__name__, frames=observability.frames(cause)
        )
        observability.count("Crashes")
        return errors.for_crash(as_json, show_trace=_show_trace())


def _show_trace() -> bool:
    try:
        return bootstrap.get().settings.is_local
    except Exception:
        return False
