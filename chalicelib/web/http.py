"""Small HTTP helpers on top of Chalice: forms, cookies, redirects, typed responses."""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from chalice import Response
from chalice.app import Request

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
# Far more than any real form (5 000 characters of notes are 30 KB once encoded); beyond, the
# first MAX_FORM_BYTES are read and the field cut there keeps what fits, so the page comes back
# with what was typed and the field's own rule says it is too long.
MAX_FORM_BYTES = 1024 * 1024


class FormData:
    """A parsed urlencoded body: `get` for single values, `getlist` for checkboxes."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def get(self, name: str, default: str = "") -> str:
        values = self._values.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._values.items()}


def parse_form(request: Request) -> FormData:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    content_type = (request.headers.get("content-type") or "").lower()
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return FormData({})
    if len(raw) > MAX_FORM_BYTES:
        raw = _cut(raw[:MAX_FORM_BYTES])
    text = raw.decode("utf-8", errors="replace")
    try:
        return FormData(parse_qs(text, keep_blank_values=True, max_num_fields=2000))
    except ValueError:  # more fields than any form has
        return FormData({})


def _cut(raw: bytes) -> bytes:
    """A body cut at MAX_FORM_BYTES, never inside a percent escape ("%C3" split from "%A9")."""
    tail = raw[-2:]
    if b"%" in tail:
        raw = raw[: len(raw) - 2 + tail.index(b"%")]
    return raw


def parse_json(request: Request) -> Any:
    """The JSON body, or None for no body or anything that is not JSON (invalid UTF-8, numbers
    with thousands of digits, nesting deeper than the parser goes)."""
    raw = request.raw_body or b""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    header = request.headers.get("cookie") or ""
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def set_cookie(
    name: str, value: str, *, secure: bool, max_age: int | None = None, http_only: bool = True
) -> str:
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def clear_cookie(name: str, *, secure: bool) -> str:
    return set_cookie(name, "", secure=secure, max_age=0)


def html(body: str, status: int = 200, headers: dict[str, Any] | None = None) -> Response:
    return Response(
        body=body, status_code=status, headers={"Content-Type": HTML, **(headers or {})}
    )


def json_response(data: Any, status: int = 200, headers: dict[str, Any] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(
        body=body, status_code=status, headers={"Content-Type": JSON, **(headers or {})}
    )


def model_response(
    model: Any, status: int = 200, headers: dict[str, Any] | None = None
) -> Response:
    """A pydantic response model (the one OpenAPI documents) as the JSON body."""
    return json_response(model.model_dump(mode="json"), status=status, headers=headers)


def redirect(location: str, status: int = 303, headers: dict[str, Any] | None = None) -> Response:
    """A redirection; the location's non-ASCII characters are percent-encoded (a header carries
    ASCII only: "/é" would otherwise break the response)."""
    return Response(
        body="", status_code=status, headers={"Location": ascii_url(location), **(headers or {})}
    )


def ascii_url(url: str) -> str:
    return url if url.isascii() else quote(url, safe=URL_SAFE)


URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}')


def safe_local_path(target: str | None, default: str = "/") -> str:
    """Only same-site absolute paths are accepted as redirect targets (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def client_address(request: Request) -> str:
    """The caller's IP address as API Gateway saw it ("" when unknown): quotas only."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "")


def wants_json(request: Request) -> bool:
    route = route_of(request)
    return route.startswith("/api/") or route == "/healthz"


def concrete_path(request: Request) -> str:
    """The path the browser asked for. Chalice's `request.path` is the route template
    ("/activites/{activite_id}"), so the parameters are put back in."""
    from urllib.parse import quote

    path = request.path
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def route_of(request: Request) -> str:
    """The route template ("/activites/{id}"): never the concrete path, which may carry ids."""
    context = request.context or {}
    return str(context.get("resourcePath") or "")
