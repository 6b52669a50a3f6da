"""Mes exports (SPEC §6) and /api/exports (SPEC §10), seen from the browser: the "Exporter" buttons
lead to a confirmation form that keeps the filters, the list refreshes itself while a file is being
prepared, downloads check who asks, and the API answers 202/404/422/403 like the rest.

The files themselves are built by the worker: tests/integration/test_exports.py.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from tests.conftest import Browser, Clock, Stack
from tests.support.exports import (
    Worker,
    ask,
    create_activity,
    create_person,
    export_of,
    lieu_id,
    ready,
    today,
)

NOBODY = "0000000000zzzzzzzzzzzzzzzz"
REFRESH = 'data-rafraichir="3"'


def _action(page: Any) -> str:
    match = re.search(r'<form method="post" action="(/exports\?[^"]+)"', page.text)
    assert match, page.text
    return match.group(1).replace("&amp;", "&")


# --- asking from the pages ----------------------------------------------------------------------


def test_exporter_on_the_activities_list_keeps_the_filters_up_to_mes_exports(
    browser: Browser,
) -> None:
    ready(browser, "pages.export.filtres@example.org")
    lieu = lieu_id(browser)
    du = today().replace(day=1).isoformat()
    listing = browser.get(f"/activites?du={du}&type=collectif&lieu={lieu}")
    href = re.search(r'href="(/exports\?kind=activites[^"]*)"', listing.text)
    assert href

    confirm = browser.get(href.group(1).replace("&amp;", "&"))

    assert confirm.status == 200
    assert confirm.h1 == "Exporter mes activités"
    assert "Type : Atelier collectif de médiation numérique" in confirm.plain
    assert "Lieu d'activité : Médiathèque Louise Michel" in confirm.plain
    assert f"Période : depuis le {today().replace(day=1).strftime('%d/%m/%Y')}" in confirm.plain
    assert 'value="xlsx" checked' in confirm.text
    assert "Périmètre" not in confirm.plain  # not a gestionnaire
    action = _action(confirm)
    assert action.startswith("/exports?kind=activites&") and f"lieu={lieu}" in action

    done = browser.post(action, {"format": "csv"})

    assert done.status == 303 and done.location == "/exports?message=export_demande"
    page = browser.get(done.location)
    assert "Votre export est en préparation" in page.plain
    assert REFRESH in page.text  # coop.js checks again; without it, a link
    assert (
        '<a class="fr-btn fr-btn--secondary fr-icon-refresh-line fr-btn--icon-left" href="/exports">Actualiser la page</a>'
        in page.text
    )
    assert 'http-equiv="refresh"' not in page.text
    assert "En attente" in page.plain
    assert "Activités — CSV (.csv)" in page.plain
    assert "Type : Atelier collectif" in page.plain
    [export] = browser.api("GET", "/api/exports").json()["items"]
    assert export["format"] == "csv"
    assert export["filters"] == {"du": du, "type": "collectif", "lieu": lieu}


def test_exporter_on_the_beneficiaries_list_keeps_the_search(browser: Browser) -> None:
    ready(browser, "pages.export.recherche@example.org")
    create_person(browser, "Hélène", "Dupont")
    listing = browser.get("/beneficiaires?q=dupont")
    href = re.search(r'href="(/exports\?kind=beneficiaires[^"]*)"', listing.text)
    assert href

    confirm = browser.get(href.group(1).replace("&amp;", "&"))

    assert confirm.h1 == "Exporter mes bénéficiaires"
    assert "Recherche : « dupont »" in confirm.plain
    assert browser.post(_action(confirm), {"format": "xlsx"}).status == 303
    [export] = browser.api("GET", "/api/exports").json()["items"]
    assert (export["kind"], export["filters"]) == ("beneficiaires", {"q": "dupont"})


def test_a_confirmation_without_format_comes_back_with_a_french_error(browser: Browser) -> None:
    ready(browser, "pages.export.erreur@example.org")

    page = browser.post("/exports?kind=activites", {})

    assert page.status == 400
    assert "Le formulaire contient une erreur" in page.plain
    assert "Format : Choisissez une valeur dans la liste." in page.plain
    assert browser.api("GET", "/api/exports").json()["items"] == []
    assert browser.get("/exports?kind=inconnu").status == 404


def test_mes_exports_is_a_real_page_now(browser: Browser) -> None:
    ready(browser, "pages.export.vide@example.org")

    page = browser.get("/exports")

    assert page.status == 200 and page.h1 == "Mes exports"
    assert "arrive bientôt" not in page.plain
    assert REFRESH not in page.text
    assert "Vous n'avez pas encore demandé d'export" in page.plain
    assert "Exporter les activités de ma structure" not in page.plain


def test_anonymous_visitors_sign_in_first(new_browser: Any) -> None:
    anonymous = new_browser()

    page = anonymous.get("/exports")
    assert page.status in (302, 303) and page.location.startswith("/connexion")
    assert anonymous.api("GET", "/api/exports").status == 401
    assert anonymous.get(f"/exports/{NOBODY}/telecharger").status in (302, 303)


# --- following an export ------------------------------------------------------------------------


def test_the_list_shows_progress_then_the_download_button(
    browser: Browser, app_setup: Any, aws: Stack, tmp_path: Any
) -> None:
    ready(browser, "pages.export.suivi@example.org")
    create_activity(browser)
    export = ask(browser)
    assert browser.get(f"/exports/{export['id']}/telecharger").location == (
        f"/exports#export-{export['id']}"
    )  # not ready yet: back to the list

    Worker(app_setup, aws, tmp_path).run()

    page = browser.get("/exports")
    assert REFRESH not in page.text
    assert "Prêt" in page.plain
    assert "1 ligne · " in page.plain and "disponible jusqu'au" in page.plain
    assert f'href="/exports/{export["id"]}/telecharger"' in page.text
    assert "Télécharger" in page.plain
    assert "Lien à transmettre" not in page.plain  # a mediator's own export is not shared


def test_someone_else_s_export_is_not_found(browser: Browser, new_browser: Any) -> None:
    ready(browser, "pages.export.proprietaire@example.org")
    export = ask(browser)
    other = ready(new_browser(), "pages.export.curieux@example.org")

    for path in (f"/exports/{export['id']}/telecharger", f"/exports/{NOBODY}/telecharger"):
        assert other.get(path).status == 404
    assert other.get("/exports/..%2F..%2Fetc/telecharger").status == 404
    assert other.api("GET", f"/api/exports/{export['id']}").status == 404
    assert other.api("GET", "/api/exports/pas-un-id!").status == 404
    assert other.api("GET", "/api/exports").json()["items"] == []
    assert export_of(browser, export["id"])["id"] == export["id"]


# --- the JSON API ---------------------------------------------------------------------------------


def test_the_api_asks_with_202_and_describes_the_export(browser: Browser) -> None:
    ready(browser, "api.export@example.org")

    page = browser.api(
        "POST",
        "/api/exports",
        {"kind": "activites", "format": "csv", "filters": {"type": "demarche", "du": "2025-01-01"}},
    )

    assert page.status == 202
    body = page.json()
    assert page.headers["Location"] == f"/api/exports/{body['id']}"
    assert body["statut"] == "en_attente" and body["libelle_statut"] == "En attente"
    assert body["url"] is None and body["taille"] is None and body["lignes"] == 0
    assert body["fichier"] == f"coop_activites_{today().isoformat()}.csv"
    assert body["telechargement"] == f"/exports/{body['id']}/telecharger"
    assert body["filters"] == {"du": "2025-01-01", "type": "demarche"}
    assert body["scope"] == "mediateur" and body["demandeur"]
    assert export_of(browser, body["id"]) == body


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({}, {"kind": "Ce champ est obligatoire."}),
        ({"kind": "notes"}, {"kind": "Choisissez une valeur dans la liste."}),
        (
            {"kind": "activites", "format": "pdf"},
            {"format": "Choisissez une valeur dans la liste."},
        ),
        (
            {"kind": "activites", "filters": {"type": "atelier"}},
            {"filters.type": "Choisissez une valeur dans la liste."},
        ),
        (
            {"kind": "activites", "filters": {"lieu": NOBODY}},
            {"filters.lieu": "Choisissez une valeur dans la liste."},
        ),
        (
            {"kind": "activites", "filters": {"du": "2025-02-01", "au": "2025-01-01"}},
            {"filters.au": "La date de fin doit être après la date de début."},
        ),
        (
            {"kind": "activites", "filters": {"du": "hier"}},
            {"filters.du": "Saisissez une date valide (AAAA-MM-JJ)."},
        ),
        ({"kind": "activites", "extra": 1}, {"extra": "Ce champ n'est pas attendu."}),
        ({"kind": "beneficiaires", "filters": {"q": "x" * 201}}, None),
    ],
)
def test_the_api_refuses_bad_bodies_in_french(
    browser: Browser, payload: dict[str, Any], errors: dict[str, str] | None
) -> None:
    ready(browser, "api.export.invalide@example.org")

    page = browser.api("POST", "/api/exports", payload)

    assert page.status == 422, page.text
    if errors is not None:
        assert page.json()["errors"] == errors
    assert browser.api("GET", "/api/exports").json()["items"] == []


def test_the_api_refuses_non_json_bodies_and_writes_without_csrf(browser: Browser) -> None:
    ready(browser, "api.export.csrf@example.org")

    assert (
        browser.request(
            "POST",
            "/api/exports",
            body="[1]",
            headers={"Content-Type": "application/json", "X-CSRF-Token": browser.csrf_token},
        ).status
        == 422
    )
    no_token = browser.request(
        "POST",
        "/api/exports",
        body=json.dumps({"kind": "activites"}),
        headers={"Content-Type": "application/json"},
    )
    assert no_token.status == 403


def test_only_gestionnaires_export_a_whole_structure(browser: Browser) -> None:
    ready(browser, "api.export.structure@example.org")

    page = browser.api("POST", "/api/exports", {"kind": "activites", "scope": "structure"})

    assert page.status == 403
    assert (
        browser.post("/exports?kind=activites", {"format": "xlsx", "scope": "structure"}).status
        == 403
    )


def test_a_mediator_has_at_most_three_exports_in_preparation(browser: Browser) -> None:
    ready(browser, "api.export.limite@example.org")
    for _ in range(3):
        ask(browser)

    page = browser.api("POST", "/api/exports", {"kind": "beneficiaires"})

    assert page.status == 422
    assert page.json()["errors"]["kind"].startswith("Vous avez déjà 3 exports en préparation")


def test_a_queue_out_of_reach_marks_the_export_failed_with_a_reason(
    browser: Browser, clock: Clock, aws: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    ready(browser, "api.export.file@example.org")
    monkeypatch.setenv("EXPORT_QUEUE_URL", aws.queues["queue"] + "-missing")
    bootstrap.override(bootstrap.Container(Settings.from_env(os.environ), clock=clock))

    body = ask(browser)

    assert body["statut"] == "echec"
    assert body["raison"].startswith("Le service d'export est momentanément indisponible")
    assert "momentanément indisponible" in browser.get("/exports").plain


def test_the_openapi_document_describes_the_exports(browser: Browser) -> None:
    document = browser.get("/api/openapi.json").json()

    assert set(document["paths"]["/api/exports"]) == {"get", "post"}
    assert "202" in document["paths"]["/api/exports"]["post"]["responses"]
    assert "get" in document["paths"]["/api/exports/{id}"]
    schemas = document["components"]["schemas"]
    assert schemas["ExportIn"]["properties"]["kind"]["enum"] == [
        "activites",
        "beneficiaires",
        "statistiques",
    ]
    assert "url" in schemas["ExportOut"]["properties"]
