"""Linking followed people inside the activity forms (no JavaScript) and their counters."""

from __future__ import annotations

import html
import re
from typing import Any

from chalicelib import bootstrap
from chalicelib.domain.beneficiaires import BeneficiaireInput
from tests.conftest import Browser


def hidden(page_text: str) -> dict[str, str]:
    return {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page_text)
    }


def _ready(browser: Browser, email: str) -> tuple[str, str]:
    browser.sign_in(email)
    browser.onboard()
    moi = browser.get("/api/moi").json()
    return moi["id"], moi["lieux"][0]["id"]


def _person(mediateur_id: str, prenom: str, nom: str) -> Any:
    return bootstrap.get().beneficiaries.create(
        mediateur_id, BeneficiaireInput(prenom=prenom, nom=nom)
    )


def _individuel(lieu: str, jeton: str, today: str, **extra: Any) -> dict[str, Any]:
    return {
        "jeton": jeton,
        "date": today,
        "duree": "30",
        "canal": "lieu_activite",
        "lieu_id": lieu,
        "thematiques": ["email"],
        "notes": "Ne pas perdre cette note",
        **extra,
    }


def test_searching_a_person_inside_the_form_keeps_the_values_and_links_the_choice(
    browser: Browser, clock: Any
) -> None:
    mediateur_id, lieu = _ready(browser, "lien-recherche@example.org")
    helene = _person(mediateur_id, "Hélène", "Dupont")
    _person(mediateur_id, "Marc", "Durand")
    form = browser.get("/activites/nouvelle/individuel")
    today = clock().date().isoformat()
    fields = _individuel(
        lieu, hidden(form.text)["jeton"], today, recherche_beneficiaire="helene dup"
    )

    found = browser.post(
        "/activites/nouvelle/individuel", {**fields, "action": "chercher_beneficiaire"}
    )

    assert found.status == 200
    assert "Hélène Dupont" in found.plain and "Marc Durand" not in found.plain
    assert "Ne pas perdre cette note" in found.plain  # nothing typed is lost
    assert found.field_errors() == []  # a search is not a failed save

    saved = browser.post(
        "/activites/nouvelle/individuel",
        {**fields, "beneficiaire_id": helene.id, "action": "enregistrer"},
    )

    assert saved.status == 303
    (item,) = browser.get("/api/activites").json()["items"]
    assert item["beneficiaire_id"] == helene.id and item["anonyme"] is None
    assert "Hélène Dupont" in browser.get("/activites").plain
    assert bootstrap.get().beneficiaries.get(mediateur_id, helene.id).nombre_accompagnements == 1
    detail = browser.get(f"/activites/{item['id']}")
    assert f'<dd><a href="/beneficiaires/{helene.id}">Hélène Dupont</a></dd>' in detail.text


def test_an_unknown_search_says_so(browser: Browser, clock: Any) -> None:
    _, lieu = _ready(browser, "lien-vide@example.org")
    form = browser.get("/activites/nouvelle/demarche")
    fields = _individuel(lieu, hidden(form.text)["jeton"], clock().date().isoformat())

    page = browser.post(
        "/activites/nouvelle/demarche",
        {**fields, "recherche_beneficiaire": "zzzz", "action": "chercher_beneficiaire"},
    )

    assert "Aucun bénéficiaire trouvé pour « zzzz »" in page.plain


def test_someone_elses_person_cannot_be_linked(
    browser: Browser, new_browser: Any, clock: Any
) -> None:
    _, lieu = _ready(browser, "lien-a@example.org")
    other_id, _ = _ready(new_browser(), "lien-b@example.org")
    stranger = _person(other_id, "Secret", "Ailleurs")
    form = browser.get("/activites/nouvelle/individuel")
    fields = _individuel(lieu, hidden(form.text)["jeton"], clock().date().isoformat())

    searched = browser.post(
        "/activites/nouvelle/individuel",
        {**fields, "recherche_beneficiaire": "secret", "action": "chercher_beneficiaire"},
    )
    forged = browser.post(
        "/activites/nouvelle/individuel", {**fields, "beneficiaire_id": stranger.id}
    )
    by_api = browser.api(
        "POST",
        "/api/activites",
        {
            "type": "individuel",
            "date": clock().date().isoformat(),
            "duree": 30,
            "canal": "lieu_activite",
            "lieu_id": lieu,
            "thematiques": ["email"],
            "beneficiaire_id": stranger.id,
        },
    )

    assert "Secret" not in searched.plain
    assert forged.status == 400 and "Ailleurs" not in forged.plain
    assert by_api.status == 422 and "beneficiaire_id" in by_api.json()["errors"]
    assert browser.get("/api/activites").json()["items"] == []


def test_counters_follow_activities_created_moved_and_deleted(browser: Browser, clock: Any) -> None:
    mediateur_id, lieu = _ready(browser, "compteurs@example.org")
    people = bootstrap.get().beneficiaries
    ana, bea = _person(mediateur_id, "Ana", "Un"), _person(mediateur_id, "Béa", "Deux")
    day = clock().date()

    def create(beneficiaire: str, iso: str) -> dict[str, Any]:
        body = {
            "type": "individuel",
            "date": iso,
            "duree": 30,
            "canal": "lieu_activite",
            "lieu_id": lieu,
            "thematiques": ["email"],
            "beneficiaire_id": beneficiaire,
        }
        return browser.api("POST", "/api/activites", body).json()

    first = create(ana.id, "2025-03-01")
    create(ana.id, "2025-05-20")
    atelier = browser.api(
        "POST",
        "/api/activites",
        {
            "type": "collectif",
            "date": "2025-04-02",
            "duree": 90,
            "canal": "lieu_activite",
            "lieu_id": lieu,
            "thematiques": ["email"],
            "participants_ids": [ana.id, bea.id],
        },
    ).json()

    a = people.get(mediateur_id, ana.id)
    assert (
        a.nombre_accompagnements,
        str(a.premier_accompagnement),
        str(a.dernier_accompagnement),
    ) == (
        3,
        "2025-03-01",
        "2025-05-20",
    )
    assert people.get(mediateur_id, bea.id).nombre_accompagnements == 1

    # The first activity moves to Béa and to a later date; the atelier is deleted.
    moved = {
        k: v for k, v in first.items() if k not in ("id", "participants", "cree_le", "modifie_le")
    }
    moved.update(beneficiaire_id=bea.id, date=day.isoformat())
    assert browser.api("PUT", f"/api/activites/{first['id']}", moved).status == 200
    assert browser.api("DELETE", f"/api/activites/{atelier['id']}").status == 204

    a, b = people.get(mediateur_id, ana.id), people.get(mediateur_id, bea.id)
    assert (a.nombre_accompagnements, str(a.premier_accompagnement)) == (1, "2025-05-20")
    assert (b.nombre_accompagnements, b.premier_accompagnement, b.dernier_accompagnement) == (
        1,
        day,
        day,
    )
