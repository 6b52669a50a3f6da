"""Helpers of the web tests: a signed-in, onboarded mediator and what they create over the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.conftest import Browser


def today() -> date:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today()


def ready(browser: Browser, email: str) -> Browser:
    """Signed in and onboarded: the mediator has one lieu d'activité."""
    browser.sign_in(email)
    browser.onboard()
    browser.refresh_csrf()
    return browser


def lieu_id(browser: Browser) -> str:
    return str(browser.api("GET", "/api/lieux").json()["items"][0]["id"])


def activity_body(browser: Browser, **fields: Any) -> dict[str, Any]:
    return {
        "type": "individuel",
        "date": today().isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": lieu_id(browser),
        "thematiques": ["email"],
        **fields,
    }


def create_activity(browser: Browser, **fields: Any) -> dict[str, Any]:
    page = browser.api("POST", "/api/activites", activity_body(browser, **fields))
    assert page.status == 201, page.text
    return dict(page.json())


def create_person(browser: Browser, prenom: str = "Hélène", nom: str = "Dupont") -> dict[str, Any]:
    page = browser.api("POST", "/api/beneficiaires", {"prenom": prenom, "nom": nom})
    assert page.status == 201, page.text
    return dict(page.json())
