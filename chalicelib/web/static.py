"""Serve the built static assets (DSFR + ours) from the Lambda package, never from a CDN.

``infra/build_assets.py`` writes ``chalicelib/static/<version>/...`` plus ``manifest.json``. URLs
embed the content version, so every response may be cached for a year (``immutable``); a new build
gives new URLs. Text files are pre-compressed at build time: the Lambda only picks a variant.

Deployment note: API Gateway (REST) decodes a base64 body only when the request's *first* Accept
value matches the API's binaryMediaTypes. Browsers send ``text/css,*/*``, so the app must declare
``app.api.binary_types = ["*/*"]`` (Chalice then also never rejects a binary response whatever the
Accept header). ``BinaryResponse`` always base64-encodes, so the body never depends on that list.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from chalice import Blueprint, Response

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
URL_PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"
# Everything we ship weighs ~2.5 MiB raw + ~1 MiB gzip: the budget keeps all of it warm while
# guaranteeing a bad build (say, a huge file) cannot exhaust the Lambda's memory.
DEFAULT_CACHE_BUDGET = 32 * 1024 * 1024


class AssetsNotBuiltError(RuntimeError):
    """The manifest is missing: ``make assets`` (or ``python -m infra.build_assets``) not run."""


class BinaryResponse(Response):
    """A response whose body always travels base64-encoded (``isBase64Encoded: true``).

    Chalice only encodes bodies whose Content-Type is in ``app.api.binary_types``; gzip or woff2
    bytes must survive whatever that list holds, so the decision is not left to it.
    """

    def to_dict(self, binary_types: list[str] | None = None) -> dict[str, Any]:
        # An empty list: the base class serialises headers/status but never encodes the body.
        response = super().to_dict([])
        body = response["body"]
        raw = body if isinstance(body, bytes) else str(body).encode("utf-8")
        response["body"] = base64.b64encode(raw).decode("ascii")
        response["isBase64Encoded"] = True
        return response


@dataclass(frozen=True)
class AssetEntry:
    content_type: str
    size: int
    has_gzip: bool
    digest: str


@dataclass(frozen=True)
class Manifest:
    version: str
    dsfr: str
    files: dict[str, AssetEntry]


class StaticResponse(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def not_found() -> StaticResponse:
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        # Revalidated every time: a 404 for a version being deployed right now must not stick.
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    return StaticResponse(404, headers, b"Not found")


class StaticAssets:
    """Built assets: URLs for templates and HTTP responses for the static routes."""

    def __init__(
        self,
        root: Path = STATIC_ROOT,
        url_prefix: str = URL_PREFIX,
        cache_budget: int = DEFAULT_CACHE_BUDGET,
    ) -> None:
        self._root = root
        self._url_prefix = url_prefix.rstrip("/")
        self._cache_budget = cache_budget
        self._manifest: Manifest | None = None
        self._cache: dict[Path, bytes] = {}
        self._cached_bytes = 0
        # `chalice local` serves requests from threads; Lambda never does, the lock is cheap.
        self._lock = threading.Lock()

    @property
    def manifest(self) -> Manifest:
        """Loaded on first use, not at import: importing the app stays cheap and pure."""
        if self._manifest is None:
            self._manifest = load_manifest(self._root / "manifest.json")
        return self._manifest

    @property
    def version(self) -> str:
        return self.manifest.version

    def url(self, path: str) -> str:
        """URL of a built asset, e.g. ``url("dsfr/dsfr.min.css")``; unknown paths fail loudly."""
        if path not in self.manifest.files:
            raise LookupError(f"unknown static asset {path!r} (not in {self._root}/manifest.json)")
        return f"{self._url_prefix}/{self.version}/{path}"

    def response(
        self,
        version: str,
        path: str,
        accept_encoding: str | None,
        if_none_match: str | None = None,
    ) -> StaticResponse:
        """Status, headers and body for ``GET /static/<version>/<path>``."""
        entry = self._find(version, path)
        if entry is None:
            return not_found()
        use_gzip = entry.has_gzip and accepts_gzip(accept_encoding)
        headers = self._headers(entry, use_gzip)
        if if_none_match is not None and etag_matches(if_none_match, headers["ETag"]):
            return StaticResponse(304, not_modified_headers(headers), b"")
        file_path = self._root / version / (path + ".gz" if use_gzip else path)
        return StaticResponse(200, headers, self._read(file_path))

    def _find(self, version: str, path: str) -> AssetEntry | None:
        # The manifest is an allow-list; the explicit check keeps the intent obvious and cheap.
        if not is_safe_asset_path(path) or version != self.version:
            return None
        return self.manifest.files.get(path)

    def _headers(self, entry: AssetEntry, use_gzip: bool) -> dict[str, str]:
        headers = {
            "Content-Type": entry.content_type,
            "Cache-Control": IMMUTABLE,
            "X-Content-Type-Options": "nosniff",
            # Each representation gets its own strong ETag, as HTTP requires.
            "ETag": f'"{entry.digest}-gz"' if use_gzip else f'"{entry.digest}"',
        }
        if entry.has_gzip:
            # On both variants: a shared cache must never hand gzip to a client that refused it.
            headers["Vary"] = "Accept-Encoding"
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        return headers

    def _read(self, file_path: Path) -> bytes:
        with self._lock:
            cached = self._cache.get(file_path)
        if cached is not None:
            return cached
        data = file_path.read_bytes()
        with self._lock:
            if self._cached_bytes + len(data) <= self._cache_budget:
                self._cache[file_path] = data
                self._cached_bytes += len(data)
        return data


def load_manifest(manifest_path: Path) -> Manifest:
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise AssetsNotBuiltError(
            f"{manifest_path} is missing: run `make assets` (python -m infra.build_assets)"
        ) from error
    files = {
        path: AssetEntry(
            content_type=item["type"],
            size=int(item["size"]),
            has_gzip=bool(item["gz"]),
            digest=item["sha256"],
        )
        for path, item in raw["files"].items()
    }
    return Manifest(version=raw["version"], dsfr=raw["dsfr"], files=files)


def is_safe_asset_path(path: str) -> bool:
    """Relative, forward-slash, no empty/``.``/``..`` segment: nothing can escape the tree."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the Accept-Encoding header allows gzip (explicitly or via ``*``), q > 0."""
    if not accept_encoding:
        return False
    qualities = dict(parse_coding(item) for item in accept_encoding.split(",") if item.strip())
    if "gzip" in qualities:
        return qualities["gzip"] > 0
    return qualities.get("*", 0.0) > 0


def parse_coding(item: str) -> tuple[str, float]:
    coding, *params = (piece.strip() for piece in item.split(";"))
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            quality = parse_quality(value)
    return coding.lower(), quality


def parse_quality(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        return 0.0  # a malformed q-value is treated as "not acceptable", never as an error


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as RFC 9110 prescribes for If-None-Match."""
    candidates = [candidate.strip() for candidate in if_none_match.split(",")]
    return "*" in candidates or etag in (candidate.removeprefix("W/") for candidate in candidates)


def not_modified_headers(headers: dict[str, str]) -> dict[str, str]:
    # A 304 repeats the caching metadata of the 200 it stands for, but describes no body.
    kept = ("Cache-Control", "ETag", "Vary", "X-Content-Type-Options")
    return {name: value for name, value in headers.items() if name in kept}


@cache
def assets() -> StaticAssets:
    """The process-wide instance (built on first use, then reused across warm invocations)."""
    return StaticAssets()


# Chalice has no greedy path parameter: one route per depth, deep enough for
# ``dsfr/icons/<category>/<name>.svg`` and ``dsfr/utility/icons/icons.min.css``.
static_blueprint = Blueprint(__name__)


def _serve(version: str, *parts: str) -> BinaryResponse:
    request = static_blueprint.current_request
    result = assets().response(
        version,
        "/".join(parts),
        accept_encoding=request.headers.get("accept-encoding"),
        if_none_match=request.headers.get("if-none-match"),
    )
    return BinaryResponse(body=result.body, headers=dict(result.headers), status_code=result.status)


@static_blueprint.route("/static/{version}/{a}", methods=["GET"])
def static_asset_1(version: str, a: str) -> BinaryResponse:
    return _serve(version, a)


@static_blueprint.route("/static/{version}/{a}/{b}", methods=["GET"])
def static_asset_2(version: str, a: str, b: str) -> BinaryResponse:
    return _serve(version, a, b)


@static_blueprint.route("/static/{version}/{a}/{b}/{c}", methods=["GET"])
def static_asset_3(version: str, a: str, b: str, c: str) -> BinaryResponse:
    return _serve(version, a, b, c)


@static_blueprint.route("/static/{version}/{a}/{b}/{c}/{d}", methods=["GET"])
def static_asset_4(version: str, a: str, b: str, c: str, d: str) -> BinaryResponse:
    return _serve(version, a, b, c, d)
