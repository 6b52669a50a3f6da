"""Dashboard, menu without JavaScript, Mes outils ordering, legal pages, health check."""

from __future__ import annotations

import re

from tests.conftest import Browser


def _ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def test_anonymous_home_offers_proconnect(browser: Browser) -> None:
    page = browser.get("/")

    assert page.status == 200
    assert "S'identifier avec" in page.text and 'href="/connexion"' in page.plain


def test_dashboard_greets_and_offers_quick_actions(browser: Browser) -> None:
    page = _ready(browser, "accueil@example.org").get("/")

    assert page.h1 == "Bonjour Accueil"
    assert 'href="/activites/nouvelle"' in page.plain
    assert 'href="/beneficiaires/nouveau"' in page.plain
    assert "Voir toutes mes activités" in page.plain
    assert "30 derniers jours" in page.plain


def test_the_menu_page_reaches_every_section_without_javascript(browser: Browser) -> None:
    page = _ready(browser, "menu@example.org").get("/menu")

    links = set(re.findall(r'href="(/[^"]*)"', page.text))
    for section in (
        "/",
        "/statistiques",
        "/activites",
        "/beneficiaires",
        "/outils",
        "/partenaires",
        "/activites/nouvelle",
    ):
        assert section in links, section
    assert 'action="/deconnexion"' in page.plain
    assert 'href="/menu"' in browser.get("/").text  # the header links to it on every page


def test_footer_links_to_legal_pages_and_accessibility_statement(browser: Browser) -> None:
    page = browser.get("/")

    for path, title in (
        ("/accessibilite", "Déclaration d'accessibilité"),
        ("/mentions-legales", "Mentions légales"),
        ("/donnees-personnelles", "Données personnelles"),
    ):
        assert f'href="{path}"' in page.plain
        assert browser.get(path).h1 == title


def test_skip_links_lead_to_the_content(browser: Browser) -> None:
    page = _ready(browser, "skip@example.org").get("/")

    assert 'href="#contenu"' in page.text and 'id="contenu"' in page.plain
    assert 'href="#navigation"' in page.text and 'id="navigation"' in page.plain


def _order(page_text: str) -> list[str]:
    return re.findall(r'id="outil-(\w+)"', page_text)


def test_mes_outils_lists_the_six_tools_with_their_links(browser: Browser) -> None:
    page = _ready(browser, "outils@example.org").get("/outils")

    assert _order(page.text) == [
        "rdv_service_public",
        "pix_orga",
        "les_bases",
        "cartographie",
        "aidants_connect",
        "abc_diag",
    ]
    assert 'href="https://orga.pix.fr/connexion"' in page.plain


def test_moving_a_tool_up_is_saved_for_this_mediator_only(browser: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    _ready(browser, "ordre@example.org")
    other = _ready(new_browser(), "autre-ordre@example.org")

    answer = browser.post("/outils", {"outil": "abc_diag", "action": "monter"})
    page = browser.follow(answer)

    assert _order(page.text)[-2:] == ["abc_diag", "aidants_connect"]
    assert "L'ordre de vos outils a été enregistré." in page.plain
    assert _order(other.get("/outils").text)[-1] == "abc_diag"


def test_a_pinned_tool_comes_first(browser: Browser) -> None:
    _ready(browser, "epingle@example.org")

    page = browser.follow(browser.post("/outils", {"outil": "les_bases", "action": "epingler"}))

    assert _order(page.text)[0] == "les_bases"
    assert "Désépingler" in page.plain


def test_healthz_reports_storage_reachable(browser: Browser) -> None:
    page = browser.get("/healthz")

    assert page.status == 200
    body = page.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"table:app", "table:sessions", "table:activities", "bucket"}


def test_healthz_says_degraded_when_the_bucket_is_missing(browser: Browser, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from chalicelib import bootstrap
    from chalicelib.config import Settings

    monkeypatch.setenv("EXPORT_BUCKET", "coop-test-missing-bucket")
    bootstrap.override(bootstrap.Container(Settings.from_env(os.environ)))

    page = browser.get("/healthz")

    assert page.status == 503
    assert page.json()["status"] == "degraded"
    assert page.json()["checks"]["bucket"] != "ok"


def test_commune_search_api_is_accent_insensitive(browser: Browser) -> None:
    results = browser.get("/api/communes?q=st%20etienne").json()

    assert results[0]["insee"] == "42218" and results[0]["nom"] == "Saint-Étienne"
    assert "42000" in results[0]["codes_postaux"]
    assert browser.get("/api/communes?q=").json() == []
    assert browser.get("/api/communes?q=" + "a" * 200).status == 422
