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


def new_siret() -> str:
    import random

    return "9" + "".join(random.choices("0123456789", k=13))


def sign_in_member(browser: Browser, idp: Any, email: str, siret: str) -> Browser:
    """A mediator of the structure `siret` (ProConnect says so), signed in, with a lieu."""
    idp.provider.override_userinfo_claims = {"siret": siret}
    try:
        browser.sign_in(email)
    finally:
        idp.provider.override_userinfo_claims = {}
    browser.onboard()
    browser.refresh_csrf()
    return browser


def make_gestionnaire(browser: Browser) -> None:
    from chalicelib.stats.__main__ import main as stats_command

    email = browser.api("GET", "/api/moi").json()["email"]
    assert stats_command(["grant", "--email", email]) == 0
