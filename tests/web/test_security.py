"""CSRF, cross-site refusal, security headers, compression and error pages."""

from __future__ import annotations

import gzip

from tests.conftest import Browser


def _signed_in(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def test_a_form_post_without_the_csrf_token_is_refused_in_french(browser: Browser) -> None:
    _signed_in(browser, "csrf1@example.org")

    page = browser.post("/outils", {"outil": "pix_orga", "action": "descendre"}, csrf=False)

    assert page.status == 403
    assert page.h1 == "Vous n'avez pas accès à cette page"
    assert "autorisation" in page.text


def test_a_token_from_another_session_is_refused(browser: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    _signed_in(browser, "csrf2@example.org")
    other = _signed_in(new_browser(), "csrf3@example.org")

    page = browser.post(
        "/outils", {"outil": "pix_orga", "action": "descendre", "csrf_token": other.csrf_token}
    )

    assert page.status == 403


def test_a_cross_site_post_is_refused_even_with_the_token(browser: Browser) -> None:
    _signed_in(browser, "csrf4@example.org")

    by_origin = browser.post(
        "/outils",
        {"outil": "pix_orga", "action": "descendre"},
        headers={"Origin": "https://evil.example"},
    )
    by_fetch_metadata = browser.post(
        "/outils",
        {"outil": "pix_orga", "action": "descendre"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )

    assert by_origin.status == 403
    assert by_fetch_metadata.status == 403


def test_a_same_origin_post_with_the_token_is_accepted(browser: Browser) -> None:
    _signed_in(browser, "csrf5@example.org")

    page = browser.post(
        "/outils",
        {"outil": "pix_orga", "action": "descendre"},
        headers={"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
    )

    assert page.status == 303


def test_the_api_needs_the_csrf_header_on_writes(browser: Browser) -> None:
    _signed_in(browser, "csrf6@example.org")
    token = browser.csrf_token
    browser.csrf_token = ""

    refused = browser.api(
        "POST", "/api/lieux", {"nom": "X", "adresse": "Y", "commune_insee": "69383"}
    )
    browser.csrf_token = token
    accepted = browser.api(
        "POST", "/api/lieux", {"nom": "X", "adresse": "Y", "commune_insee": "69383"}
    )

    assert refused.status == 403
    assert refused.json()["message"].startswith("Vous n'avez pas")
    assert accepted.status == 201


def test_every_page_carries_the_security_headers(browser: Browser) -> None:
    _signed_in(browser, "headers@example.org")

    for path in ("/", "/outils", "/menu", "/api/moi", "/introuvable", "/healthz"):
        headers = browser.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert headers["Strict-Transport-Security"].startswith("max-age="), path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["Cache-Control"] == "no-store", path


def test_pages_contain_no_inline_script_or_style(browser: Browser) -> None:
    _signed_in(browser, "inline@example.org")

    for path in ("/", "/outils", "/lieux", "/lieux/nouveau", "/menu", "/accessibilite"):
        html = browser.get(path).text
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path
        assert "onclick=" not in html, path


def test_html_is_gzipped_when_the_browser_accepts_it(browser: Browser) -> None:
    _signed_in(browser, "gzip@example.org")

    page = browser.get("/outils", headers={"Accept-Encoding": "gzip, deflate, br"})

    assert page.headers["Content-Encoding"] == "gzip"
    assert page.headers["Vary"] == "Accept-Encoding"
    assert "Mes outils" in gzip.decompress(page.body).decode()
    assert "Content-Encoding" not in browser.get("/outils").headers


def test_unknown_pages_get_a_french_404(browser: Browser) -> None:
    page = browser.get("/introuvable")

    assert page.status == 404
    assert page.h1 == "Page introuvable"
    assert "Traceback" not in page.text


def test_pages_that_need_sign_in_send_anonymous_visitors_to_connexion(browser: Browser) -> None:
    page = browser.get("/outils")

    assert page.status == 303
    assert page.location == "/connexion?retour=%2Foutils"
    assert browser.get("/api/moi").status == 401
