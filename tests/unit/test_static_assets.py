"""Static assets: the build ships a self-consistent DSFR, the server hands it out compressed and
cacheable forever, and nothing outside the built tree is reachable."""

from __future__ import annotations

import base64
import gzip
import json
import posixpath
import re
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.config import Config
from chalice.local import create_local_server
from chalice.test import Client

from chalicelib.web.static import (
    IMMUTABLE,
    STATIC_ROOT,
    BinaryResponse,
    StaticAssets,
    accepts_gzip,
    static_blueprint,
)
from infra import build_assets

URL_PATTERN = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""")
FONT_FACE_PATTERN = re.compile(r"@font-face\s*{([^}]*)}")
DROPPED_FORMATS = (".woff", ".ttf")


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    if not (STATIC_ROOT / "manifest.json").exists():
        build_assets.main()
    return json.loads((STATIC_ROOT / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def version(manifest: dict[str, Any]) -> str:
    return manifest["version"]


@pytest.fixture
def assets(manifest: dict[str, Any]) -> StaticAssets:
    return StaticAssets()


@pytest.fixture
def client(manifest: dict[str, Any]) -> Iterator[Client]:
    # Default binary types on purpose: the bytes must not depend on that list.
    app = Chalice(app_name="t")
    app.register_blueprint(static_blueprint)
    with Client(app) as test_client:
        yield test_client


def built_file(version: str, path: str) -> bytes:
    return (STATIC_ROOT / version / path).read_bytes()


def relative_urls(css: str) -> list[str]:
    urls = [match.group(2) for match in URL_PATTERN.finditer(css)]
    return [url for url in urls if not url.startswith(("data:", "#", "http:", "https:", "//"))]


def resolve(css_path: str, url: str) -> str:
    target = url.split("#", 1)[0].split("?", 1)[0]
    return posixpath.normpath(posixpath.join(posixpath.dirname(css_path), target))


# --- The build -------------------------------------------------------------------------------


def test_given_a_build_when_reading_the_manifest_then_dsfr_fonts_icons_and_ours_are_listed(
    manifest: dict[str, Any],
) -> None:
    files = manifest["files"]
    assert manifest["dsfr"] == "1.14.4"
    for path in (
        "dsfr/dsfr.min.css",
        "dsfr/utility/icons/icons.min.css",
        "dsfr/fonts/Marianne-Regular.woff2",
        "dsfr/icons/system/close-line.svg",
        "dsfr/favicon/favicon.svg",
        "dsfr/LICENSE.md",
        "coop.css",
        "coop.js",
    ):
        assert path in files, path
    assert sum(path.endswith(".woff2") for path in files) == 10
    assert sum(path.startswith("dsfr/icons/") for path in files) > 1000
    assert not any(path.endswith((*DROPPED_FORMATS, ".map")) for path in files)


def test_given_a_build_when_listing_the_tree_then_every_manifest_file_and_gzip_sibling_exists(
    manifest: dict[str, Any], version: str
) -> None:
    for path, entry in manifest["files"].items():
        raw = built_file(version, path)
        assert len(raw) == entry["size"], path
        if entry["gz"]:
            assert gzip.decompress(built_file(version, path + ".gz")) == raw, path
    assert manifest["files"]["dsfr/dsfr.min.css"]["gz"] is True
    assert manifest["files"]["dsfr/fonts/Marianne-Regular.woff2"]["gz"] is False


@pytest.mark.parametrize("css_path", ["dsfr/dsfr.min.css", "dsfr/utility/icons/icons.min.css"])
def test_given_dsfr_css_when_resolving_its_relative_urls_then_every_file_is_shipped(
    manifest: dict[str, Any], version: str, css_path: str
) -> None:
    css = built_file(version, css_path).decode("utf-8")
    urls = relative_urls(css)
    assert urls, "the DSFR CSS references fonts/icons: the regex must find them"
    missing = {
        resolve(css_path, url)
        for url in urls
        if not url.endswith(DROPPED_FORMATS) and resolve(css_path, url) not in manifest["files"]
    }
    assert missing == set()


def test_given_font_faces_when_a_browser_picks_the_first_source_then_it_is_a_shipped_woff2(
    manifest: dict[str, Any], version: str
) -> None:
    css = built_file(version, "dsfr/dsfr.min.css").decode("utf-8")
    font_faces = FONT_FACE_PATTERN.findall(css)
    assert len(font_faces) == 10
    for block in font_faces:
        first = relative_urls(block)[0]
        assert first.endswith(".woff2"), block
        assert resolve("dsfr/dsfr.min.css", first) in manifest["files"]


def test_given_the_same_inputs_when_hashing_then_the_version_is_stable_and_content_sensitive() -> (
    None
):
    sources = {"coop.css": b"body{}", "dsfr/dsfr.min.css": b".fr{}"}
    changed = {**sources, "coop.css": b"body{ }"}
    assert build_assets.content_version(sources) == build_assets.content_version(dict(sources))
    assert build_assets.content_version(sources) != build_assets.content_version(changed)
    assert build_assets.compress(b"x" * 100) == build_assets.compress(b"x" * 100)


@pytest.mark.parametrize(
    ("member", "target"),
    [
        ("package/dist/dsfr.min.css", "dsfr/dsfr.min.css"),
        ("package/dist/fonts/Marianne-Bold.woff2", "dsfr/fonts/Marianne-Bold.woff2"),
        ("package/dist/fonts/Marianne-Bold.woff", None),
        ("package/dist/dsfr.min.css.map", None),
        ("package/dist/icons/../../../etc/passwd.svg", None),
        ("package/LICENSE.md", "dsfr/LICENSE.md"),
        ("package/src/core/index.js", None),
    ],
)
def test_given_a_tarball_member_when_selecting_then_only_shipped_files_are_kept(
    member: str, target: str | None
) -> None:
    assert build_assets.dsfr_target(member) == target


# --- URLs for templates ----------------------------------------------------------------------


def test_given_a_built_asset_when_templates_ask_its_url_then_it_embeds_the_version(
    assets: StaticAssets, version: str
) -> None:
    assert assets.url("dsfr/dsfr.min.css") == f"/static/{version}/dsfr/dsfr.min.css"
    assert assets.url("coop.js") == f"/static/{version}/coop.js"


def test_given_a_typo_when_templates_ask_its_url_then_rendering_fails_loudly(
    assets: StaticAssets,
) -> None:
    with pytest.raises(LookupError, match=re.escape("dsfr/dsfr.css")):
        assets.url("dsfr/dsfr.css")


# --- Serving ---------------------------------------------------------------------------------


def test_given_a_gzip_client_when_fetching_the_dsfr_css_then_it_gets_gzip_cached_forever(
    client: Client, version: str
) -> None:
    response = client.http.get(
        f"/static/{version}/dsfr/dsfr.min.css", headers={"Accept-Encoding": "gzip, deflate, br"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert gzip.decompress(response.body) == built_file(version, "dsfr/dsfr.min.css")


def test_given_a_client_without_gzip_when_fetching_the_dsfr_css_then_it_gets_the_raw_css(
    client: Client, version: str
) -> None:
    response = client.http.get(f"/static/{version}/dsfr/dsfr.min.css")
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.body == built_file(version, "dsfr/dsfr.min.css")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("coop.js", "text/javascript; charset=utf-8"),
        ("dsfr/icons/system/close-line.svg", "image/svg+xml"),
        ("dsfr/utility/icons/icons.min.css", "text/css; charset=utf-8"),
        ("dsfr/fonts/Marianne-Bold.woff2", "font/woff2"),
        ("dsfr/favicon/favicon.ico", "image/x-icon"),
        ("dsfr/favicon/manifest.webmanifest", "application/manifest+json"),
    ],
)
def test_given_any_depth_when_fetching_an_asset_then_it_has_its_content_type(
    client: Client, version: str, path: str, content_type: str
) -> None:
    response = client.http.get(f"/static/{version}/{path}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    body = response.body
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert body == built_file(version, path)


def test_given_a_woff2_font_when_fetched_then_it_is_never_gzipped_and_byte_identical(
    client: Client, version: str
) -> None:
    path = "dsfr/fonts/Marianne-Regular.woff2"
    response = client.http.get(f"/static/{version}/{path}", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
    assert "Vary" not in response.headers
    assert response.body == built_file(version, path)


@pytest.mark.parametrize(
    "url",
    [
        "/static/0000deadbeef/dsfr/dsfr.min.css",
        "/static/{version}/dsfr/nope.css",
        "/static/{version}/dsfr/dsfr.min.css.gz",
        "/static/{version}/dsfr/..",
        "/static/{version}/dsfr/../manifest.json",
        "/static/{version}/%2E%2E/manifest.json",
        "/static/{version}/dsfr/%2e%2e/%2e%2e/manifest.json",
        "/static/{version}/..%5Cmanifest.json",
    ],
)
def test_given_an_unknown_or_escaping_path_when_fetched_then_404(
    client: Client, version: str, url: str
) -> None:
    response = client.http.get(url.format(version=version))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../manifest.json",
        "dsfr/../../manifest.json",
        "dsfr\\dsfr.min.css",
        "dsfr//dsfr.min.css",
        "./coop.css",
        "coop.css\x00",
    ],
)
def test_given_a_traversal_attempt_when_asking_a_response_then_404(
    assets: StaticAssets, version: str, path: str
) -> None:
    assert assets.response(version, path, accept_encoding="gzip").status == 404


def test_given_an_unknown_version_when_asking_a_response_then_404(assets: StaticAssets) -> None:
    assert assets.response("../static", "coop.css", accept_encoding=None).status == 404


def test_given_a_cached_copy_when_revalidating_with_its_etag_then_304_without_body(
    client: Client, version: str
) -> None:
    url = f"/static/{version}/coop.css"
    first = client.http.get(url, headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]

    again = client.http.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    weak = client.http.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": f"W/{etag}"})
    other = client.http.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": '"stale"'})

    assert again.status_code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == IMMUTABLE
    assert weak.status_code == 304
    assert other.status_code == 200


def test_given_the_gzip_etag_when_a_client_without_gzip_revalidates_then_it_gets_the_raw_file(
    client: Client, version: str
) -> None:
    url = f"/static/{version}/coop.css"
    gzip_etag = client.http.get(url, headers={"Accept-Encoding": "gzip"}).headers["ETag"]

    response = client.http.get(url, headers={"If-None-Match": gzip_etag})

    assert response.status_code == 200
    assert response.headers["ETag"] != gzip_etag
    assert response.body == built_file(version, "coop.css")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5, br", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, *", False),
        ("*", True),
        ("identity", False),
        ("br;q=1, *;q=0", False),
        ("gzip;q=oops", False),
    ],
)
def test_given_an_accept_encoding_when_negotiating_then_gzip_only_if_acceptable(
    header: str | None, expected: bool
) -> None:
    assert accepts_gzip(header) is expected


def test_given_a_binary_response_when_serialised_then_the_body_is_always_base64(
    version: str,
) -> None:
    payload = gzip.compress(b"body{}")
    for binary_types in (None, [], ["*/*"], ["text/css"]):
        response = BinaryResponse(payload, headers={"Content-Type": "text/css"})
        serialised = response.to_dict(binary_types)
        assert serialised["isBase64Encoded"] is True
        assert base64.b64decode(serialised["body"]) == payload
    text = BinaryResponse("é", headers={"Content-Type": "text/plain"}).to_dict()
    assert base64.b64decode(text["body"]) == "é".encode()


# --- Real HTTP through `chalice local` --------------------------------------------------------


@pytest.fixture
def local_server(manifest: dict[str, Any]) -> Iterator[str]:
    app = Chalice(app_name="coop")
    app.register_blueprint(static_blueprint)
    config = Config.create(chalice_stage="local", app_name="coop")
    server = create_local_server(app, config, "127.0.0.1", 0)
    host, port = server.server.server_address[:2]
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def http_get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_given_chalice_local_when_a_browser_fetches_a_font_then_the_bytes_are_identical(
    local_server: str, version: str
) -> None:
    path = "dsfr/fonts/Marianne-Bold.woff2"
    status, headers, body = http_get(
        f"{local_server}/static/{version}/{path}",
        {"Accept": "*/*", "Accept-Encoding": "gzip, deflate, br"},
    )
    assert status == 200
    assert headers["Content-Type"] == "font/woff2"
    assert body == built_file(version, path)


def test_given_chalice_local_when_a_browser_fetches_the_css_then_gzip_bytes_arrive_intact(
    local_server: str, version: str
) -> None:
    path = "dsfr/dsfr.min.css"
    status, headers, body = http_get(
        f"{local_server}/static/{version}/{path}",
        {"Accept": "text/css,*/*;q=0.1", "Accept-Encoding": "gzip"},
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Cache-Control"] == IMMUTABLE
    assert gzip.decompress(body) == built_file(version, path)


def test_given_the_static_root_when_packaged_then_it_lives_inside_chalicelib() -> None:
    # `chalice package` ships only app.py, chalicelib/ and vendor/ (ARCHITECTURE §3).
    assert Path("chalicelib") in STATIC_ROOT.relative_to(Path(build_assets.ROOT)).parents


def test_given_the_icon_sheet_when_built_then_it_defines_every_icon_the_app_names_and_little_else(
    version: str,
) -> None:
    used = build_assets.used_icons(build_assets.ROOT)
    assert {"fr-icon-add-line", "fr-icon-home-4-line"} <= used  # a template and the side menu
    css = built_file(version, build_assets.ICONS_CSS).decode("utf-8")
    for icon in used:
        assert f".{icon}:before" in css, icon
    assert ".fr-icon-virus-line" not in css
    assert len(css) < 20_000


def test_given_rules_at_top_level_and_in_media_when_subsetting_then_only_used_selectors_remain() -> (
    None
):
    css = (
        "/*! licence */.fr-icon-a-line:before,.fr-icon-b-line:before{mask:url(a.svg)}"
        ".fr-icon-c-line:before{mask:url(c.svg)}"
        "@media (min-width:36em){/*! sm */}"
        "@media screen and (min-width:0\\0){.fr-icon-a-line:before{background:url(a.svg)}"
        ".fr-icon-c-line:before{background:url(c.svg)}}"
    )
    assert build_assets.subset_icons(css, {"fr-icon-a-line"}) == (
        "/*! licence */.fr-icon-a-line:before{mask:url(a.svg)}"
        "@media screen and (min-width:0\\0){.fr-icon-a-line:before{background:url(a.svg)}}\n"
    )
