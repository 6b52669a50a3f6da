"""A session that expires while a mediator is typing never loses what was typed."""

from __future__ import annotations

import html
import re

from tests.conftest import Browser


def hidden_fields(page_text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page_text
    ):
        fields.setdefault(html.unescape(name), []).append(html.unescape(value))
    return fields


def test_an_activity_typed_after_the_session_expired_is_kept_across_sign_in(
    browser: Browser,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    browser.sign_in("expire-en-saisie@example.org")
    browser.onboard()
    lieu = browser.get("/api/moi").json()["lieux"][0]["id"]
    form = browser.get("/activites/nouvelle/individuel")
    jeton = hidden_fields(form.text)["jeton"][0]
    clock.advance(hours=3)  # the mediator was interrupted: the session is gone

    expired = browser.post(
        "/activites/nouvelle/individuel",
        {
            "jeton": jeton,
            "date": clock().date().isoformat(),
            "duree": "45",
            "canal": "lieu_activite",
            "lieu_id": lieu,
            "thematiques": ["email", "bureautique"],
            "notes": "A créé son adresse « prénom.nom » & l'a testée",
        },
    )

    assert expired.status == 401
    assert expired.h1 == "Votre session a expiré"
    kept = hidden_fields(expired.text)
    assert kept["notes"] == ["A créé son adresse « prénom.nom » & l'a testée"]
    assert kept["thematiques"] == ["email", "bureautique"]
    assert "csrf_token" not in kept

    to_provider = browser.post(
        "/connexion/reprise?login_hint=expire-en-saisie@example.org", kept, csrf=False
    )
    back = browser.follow(to_provider)
    assert back.h1 == "Votre saisie a été conservée"
    browser.refresh_csrf()
    main = back.text[back.text.index("<main") :]
    resend = hidden_fields(main)
    action = re.search(r'<form method="post" action="([^"]+)"', main)
    assert action and action.group(1) == "/activites/nouvelle/individuel"

    saved = browser.post(action.group(1), {k: v for k, v in resend.items() if k != "csrf_token"})

    assert saved.status == 303 and saved.location == "/activites?message=activite_enregistree"
    items = browser.get("/api/activites").json()["items"]
    assert len(items) == 1
    assert items[0]["notes"] == "A créé son adresse « prénom.nom » & l'a testée"
    assert items[0]["thematiques"] == ["email", "bureautique"]


def test_sending_the_kept_input_twice_records_one_activity(browser: Browser, clock) -> None:  # type: ignore[no-untyped-def]
    browser.sign_in("reprise-double@example.org")
    browser.onboard()
    lieu = browser.get("/api/moi").json()["lieux"][0]["id"]
    jeton = hidden_fields(browser.get("/activites/nouvelle/individuel").text)["jeton"][0]
    fields = {
        "jeton": jeton,
        "date": clock().date().isoformat(),
        "duree": "30",
        "canal": "lieu_activite",
        "lieu_id": lieu,
        "thematiques": ["email"],
    }
    assert browser.post("/activites/nouvelle/individuel", fields).status == 303
    clock.advance(hours=3)

    expired = browser.post("/activites/nouvelle/individuel", fields)  # a network retry, later
    back = browser.follow(
        browser.post(
            "/connexion/reprise?login_hint=reprise-double@example.org",
            hidden_fields(expired.text),
            csrf=False,
        )
    )
    browser.refresh_csrf()
    main = back.text[back.text.index("<main") :]
    browser.post(
        "/activites/nouvelle/individuel",
        {k: v for k, v in hidden_fields(main).items() if k != "csrf_token"},
    )

    assert len(browser.get("/api/activites").json()["items"]) == 1
