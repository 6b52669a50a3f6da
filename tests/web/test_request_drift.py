"""Drift between the copies of request parsing: the same query or body must mean the same thing
on every route that takes it, and the API must answer what its OpenAPI description says.

Each test reproduces a place where one copy of the parsing wandered off from the others: a date
format accepted here and refused there, a filter checked by the API but dropped by a page, a
`version` read three different ways, a GET body that PUT refuses, a route missing from
/api/openapi.json.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.stats.__main__ import main as stats_command
from tests.conftest import Browser

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _today() -> date:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today()


def _ready(browser: Browser, email: str) -> Browser:
    """Signed in and onboarded: the mediator has one lieu d'activité."""
    browser.sign_in(email)
    browser.onboard()
    browser.refresh_csrf()
    return browser


def _lieu_id(browser: Browser) -> str:
    return str(browser.api("GET", "/api/lieux").json()["items"][0]["id"])


def _create_activity(browser: Browser, **fields: Any) -> dict[str, Any]:
    body = {
        "type": "individuel",
        "date": _today().isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": _lieu_id(browser),
        "thematiques": ["email"],
        **fields,
    }
    page = browser.api("POST", "/api/activites", body)
    assert page.status == 201, page.text
    return dict(page.json())


def _error_fields(page: Any) -> list[str]:
    """The fields a JSON error names ([] for an empty or non-JSON answer)."""
    try:
        return sorted(page.json().get("errors") or {})
    except ValueError:
        return []


def _shows_an_error(page: Any) -> bool:
    """The page says something is wrong: the error summary or an error next to a field."""
    return 'id="resume-erreurs"' in page.text or bool(page.field_errors())


def _create_person(browser: Browser, prenom: str = "Hélène", nom: str = "Dupont") -> dict[str, Any]:
    page = browser.api("POST", "/api/beneficiaires", {"prenom": prenom, "nom": nom})
    assert page.status == 201, page.text
    return dict(page.json())


@pytest.fixture
def gestionnaire(new_browser: Callable[[], Browser], idp: Any) -> Browser:
    """A gestionnaire of a structure (SIRET) of their own, signed in, with a lieu d'activité."""
    siret = "9" + "".join(random.choices("0123456789", k=13))
    email = f"drift.gestionnaire.{random.randrange(10**9)}@structure.example.org"
    browser = new_browser()
    idp.provider.override_userinfo_claims = {"siret": siret}
    try:
        browser.sign_in(email)
    finally:
        idp.provider.override_userinfo_claims = {}
    browser.onboard()
    browser.refresh_csrf()
    moi = browser.api("GET", "/api/moi").json()
    assert stats_command(["grant", "--email", moi["email"]]) == 0
    return browser


# --- dates: one format for the whole API --------------------------------------------------------


def test_structure_api_refuses_french_dates_like_the_mediator_api(gestionnaire: Browser) -> None:
    """Given a gestionnaire, when a script sends JJ/MM/AAAA dates to the API, then both
    statistics endpoints refuse them the same way (the API documents AAAA-MM-JJ only): the
    structure's figures are not computed over a range the mediator API would not accept."""
    mediateur = gestionnaire.api("GET", "/api/statistiques?du=31/01/2025")
    assert mediateur.status == 422, mediateur.text  # the reference behaviour
    assert "du" in mediateur.json()["errors"]

    structure = gestionnaire.api("GET", "/api/structure/statistiques?du=31/01/2025&au=28/02/2025")

    assert structure.status == 422, structure.text[:200]
    errors = structure.json()["errors"]
    assert "du" in errors
    assert errors["du"] == mediateur.json()["errors"]["du"]


# --- list filters: checked everywhere, never silently dropped -------------------------------------


def test_export_page_with_an_invalid_filter_shows_the_error_instead_of_exporting_everything(
    browser: Browser,
) -> None:
    """Given a mediator on the export confirmation with a filter the list does not know, when they
    confirm, then the form comes back with an error for that filter and nothing is exported
    (exporting every activity instead of the ones asked for is the worst answer)."""
    _ready(browser, "drift.export.filtre@example.org")
    _create_activity(browser)

    asked = browser.post(
        "/exports?kind=activites&type=nimportequoi", {"format": "xlsx", "scope": "mediateur"}
    )

    assert asked.status == 400, (asked.status, asked.location)
    assert _shows_an_error(asked)
    assert browser.api("GET", "/api/exports").json()["items"] == []

    confirm = browser.get("/exports?kind=activites&canal=xxx")

    assert confirm.status == 400  # not a confirmation listing no filter at all
    assert _shows_an_error(confirm)


def test_activity_list_page_reports_an_unknown_filter(browser: Browser) -> None:
    """Given a mediator, when the list is asked with a type that does not exist, then the page
    says so next to the filter (like the API's 422) instead of listing every activity as if no
    filter had been asked for."""
    _ready(browser, "drift.liste.filtre@example.org")
    _create_activity(browser)
    api = browser.api("GET", "/api/activites?type=nimportequoi")
    assert api.status == 422 and "type" in api.json()["errors"]  # the reference behaviour

    page = browser.get("/activites?type=nimportequoi")

    assert page.status == 400
    assert page.field_errors(), "no error shown next to the filters"


# --- optimistic locking: `version` means one thing -----------------------------------------------


def test_delete_with_a_version_that_is_not_a_number_is_refused_and_deletes_nothing(
    browser: Browser,
) -> None:
    """Given an activity, when a DELETE carries a `version` that is not a version number, then it
    answers 422 on `version` and the activity is still there (a garbled version must not turn the
    locked delete into an unconditional one, nor crash); the right version deletes it."""
    _ready(browser, "drift.delete.version@example.org")
    outcomes: dict[str, tuple[int, list[str], int]] = {}

    for bad in ("abc", "-1", "²"):
        activite = _create_activity(browser)
        url = f"/api/activites/{activite['id']}"
        answer = browser.api("DELETE", f"{url}?version={quote(bad)}")
        outcomes[bad] = (answer.status, _error_fields(answer), browser.api("GET", url).status)

    assert outcomes == {bad: (422, ["version"], 200) for bad in ("abc", "-1", "²")}
    activite = _create_activity(browser)
    url = f"/api/activites/{activite['id']}"
    assert browser.api("DELETE", f"{url}?version=1").status == 204
    assert browser.api("GET", url).status == 404


# --- round trip: what GET returns, PUT takes ----------------------------------------------------


def test_put_accepts_the_body_that_get_returned(browser: Browser) -> None:
    """Given an activity, a beneficiary and a lieu read over the API, when a client changes one
    field of what GET returned and PUTs the whole object back, then it is saved: the read-only
    fields GET adds (id, dates, counters) are ignored, not refused."""
    _ready(browser, "drift.put.aller.retour@example.org")
    activite = _create_activity(browser)
    personne = _create_person(browser)
    resources = {
        "activite": (f"/api/activites/{activite['id']}", "duree", 45),
        "beneficiaire": (f"/api/beneficiaires/{personne['id']}", "nom", "Durand"),
        "lieu": (f"/api/lieux/{_lieu_id(browser)}", "nom", "Espace numérique des Lilas"),
    }
    outcomes: dict[str, tuple[int, dict[str, str]]] = {}
    saved: dict[str, Any] = {}

    for name, (url, champ, valeur) in resources.items():
        read = browser.api("GET", url)
        assert read.status == 200, read.text
        body = {**read.json(), champ: valeur}
        answer = browser.api("PUT", url, body)
        outcomes[name] = (answer.status, answer.json().get("errors") or {})
        saved[name] = browser.api("GET", url).json()[champ]

    assert outcomes == {name: (200, {}) for name in resources}
    assert saved == {name: valeur for name, (_, _, valeur) in resources.items()}


# --- OpenAPI: every route, every answer ----------------------------------------------------------


def _shape(path: str) -> str:
    """`/api/activites/{activite_id}` and `/api/activites/{id}` are the same route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_api_route_is_in_openapi(app_setup: Any, browser: Browser) -> None:
    """Given the app's routes, when a client reads /api/openapi.json, then every /api/ route and
    method the app serves is described there (a script author only has this document)."""
    document = browser.get("/api/openapi.json").json()
    documented = {
        (_shape(path), method.lower())
        for path, item in document["paths"].items()
        for method in item
        if method.lower() in HTTP_METHODS
    }

    served = {
        (_shape(path), method.lower())
        for path, entries in app_setup.routes.items()
        if path.startswith("/api/") and path != "/api/openapi.json"
        for method in entries
    }

    assert served, "no /api/ route found on the app"
    assert sorted(served - documented) == []


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _keys_match(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """Every key of the answer is a property of its model and every property is in the answer,
    down through nested models and lists."""
    schema = _resolve(document, schema)
    if "anyOf" in schema:  # `X | None`: the branch of the value's own shape
        for branch in (_resolve(document, s) for s in schema["anyOf"]):
            if ("properties" in branch and isinstance(value, dict)) or (
                "items" in branch and isinstance(value, list)
            ):
                _keys_match(document, branch, value, where)
        return
    if isinstance(value, dict) and "properties" in schema:
        assert set(value) == set(schema["properties"]), (
            where,
            sorted(set(value) - set(schema["properties"])),
            sorted(set(schema["properties"]) - set(value)),
        )
        for key, sub in schema["properties"].items():
            _keys_match(document, sub, value[key], f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _keys_match(document, schema["items"], item, f"{where}[{i}]")


def test_json_responses_follow_the_documented_models(browser: Browser) -> None:
    """Given a mediator with an activity, a beneficiary and an export, when each is read over the
    API, then the JSON is valid against the component schema that /api/openapi.json names for
    it, with exactly its properties (nothing undocumented, nothing missing)."""
    from jsonschema import Draft202012Validator

    _ready(browser, "drift.openapi.modeles@example.org")
    personne = _create_person(browser)
    activite = _create_activity(browser, beneficiaire_id=personne["id"])
    asked = browser.api("POST", "/api/exports", {"kind": "activites"})
    assert asked.status == 202, asked.text
    document = browser.get("/api/openapi.json").json()
    answers = {
        f"/api/activites/{activite['id']}": "ActiviteOut",
        f"/api/beneficiaires/{personne['id']}": "BeneficiaireOut",
        f"/api/lieux/{_lieu_id(browser)}": "LieuOut",
        "/api/moi": "Moi",
        "/api/statistiques": "Statistiques",
        "/api/exports": "ExportsPage",
    }

    for url, model in answers.items():
        page = browser.api("GET", url)
        assert page.status == 200, (url, page.text)
        body = page.json()
        schema = {"$ref": f"#/components/schemas/{model}", "components": document["components"]}
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(body)
        ]
        assert problems == [], (url, model, problems)
        _keys_match(document, schema, body, model)
