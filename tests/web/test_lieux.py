"""Lieux d'activité: onboarding, add, modify, archive, ownership, and the same rules over /api/lieux."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from tests.conftest import Browser, Page

LYON_3 = "Lyon 3e Arrondissement (69003)"
CONFLICT_MESSAGE = "Ce lieu a été modifié entre-temps"


def _ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def _add(
    browser: Browser, nom: str, adresse: str = "3 place Guichard", commune: str = LYON_3
) -> str:
    page = browser.post(
        "/lieux/nouveau", {"nom": nom, "adresse": adresse, "commune_insee_q": commune}
    )
    assert page.status in (302, 303), page.plain
    return _lieu(browser, nom)["id"]


def _lieu(browser: Browser, nom: str) -> dict[str, Any]:
    items = browser.api("GET", "/api/lieux").json()["items"]
    return next(item for item in items if item["nom"] == nom)


def _value_of(page: Page, name: str) -> str | None:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="([^"]*)"', page.text)
    return None if match is None else html.unescape(match.group(1))


def _active_and_archived(page: Page) -> tuple[str, str]:
    active, _, archived = page.plain.partition("Lieux archivés")
    return active, archived


# --- onboarding --------------------------------------------------------------------------------


def test_an_empty_onboarding_form_explains_every_mistake_in_french(browser: Browser) -> None:
    browser.sign_in("vide@example.org")

    # « Oui » to « Vous accompagnez des personnes ? » is what the browser sends by default.
    page = browser.post(
        "/bienvenue", {"accompagne": "oui", "nom": "", "adresse": "", "commune_insee_q": ""}
    )

    assert page.status == 400
    assert page.title.startswith("Erreur : ")
    assert "Le formulaire contient 3 erreurs" in page.plain
    for field in ("nom", "adresse", "commune_insee"):
        assert f'<a href="#{field}">' in page.text, field
        assert f'id="{field}"' in page.text, field  # the summary link lands on the field
    assert page.field_errors() == [
        "Saisissez le nom du lieu.",
        "Saisissez l'adresse du lieu.",
        "Choisissez une commune.",
    ]
    assert "Nom du lieu : Saisissez le nom du lieu." in page.plain
    assert page.text.count('aria-invalid="true"') == 3
    assert browser.api("GET", "/api/moi").json()["lieux"] == []


def test_an_invalid_onboarding_form_keeps_what_was_typed(browser: Browser) -> None:
    browser.sign_in("garde@example.org")

    page = browser.post(
        "/bienvenue",
        {
            "nom": "Tiers-lieu <La Fabrique>",
            "adresse": "8 rue d'Italie",
            "commune_insee_q": "Zzyzxville",
        },
    )

    assert page.status == 400
    assert _value_of(page, "nom") == "Tiers-lieu <La Fabrique>"
    assert "<La Fabrique>" not in page.text  # kept, and escaped
    assert _value_of(page, "adresse") == "8 rue d'Italie"
    assert _value_of(page, "commune_insee_q") == "Zzyzxville"
    assert page.field_errors() == ["Aucune commune ne correspond à « Zzyzxville »."]
    assert "Le formulaire contient une erreur" in page.plain


def test_an_ambiguous_commune_is_chosen_among_radios_then_onboarding_completes(
    browser: Browser,
) -> None:
    browser.sign_in("ambigu@example.org")
    form = {
        "nom": "Espace public numérique",
        "adresse": "1 place du Caquet",
        "commune_insee_q": "Saint-Denis",
    }

    asked = browser.post("/bienvenue", form)

    assert asked.status == 400
    assert asked.field_errors() == ["Choisissez la commune dans la liste."]
    assert 'type="radio" id="commune_insee-93066" name="commune_insee" value="93066"' in asked.text
    assert "Saint-Denis (93200)" in asked.plain
    done = browser.follow(browser.post("/bienvenue", {**form, "commune_insee": "93066"}))
    assert done.h1 == "Bonjour Ambigu"
    assert [lieu["commune_insee"] for lieu in browser.api("GET", "/api/moi").json()["lieux"]] == [
        "93066"
    ]


# --- adding and modifying ------------------------------------------------------------------------


def test_a_lieu_added_from_the_form_is_listed_and_in_the_profile(browser: Browser) -> None:
    _ready(browser, "ajout@example.org")
    form = browser.get("/lieux/nouveau")
    assert form.status == 200 and form.h1 == "Ajouter un lieu d'activité"

    page = browser.follow(
        browser.post(
            "/lieux/nouveau",
            {
                "nom": "France Services Guillotière",
                "adresse": " 3 place Guichard ",
                "commune_insee_q": LYON_3,
            },
        )
    )

    assert page.h1 == "Mes lieux d'activité"
    assert "Le lieu d'activité a été ajouté." in page.plain
    assert "France Services Guillotière" in page.plain
    lieux = browser.api("GET", "/api/moi").json()["lieux"]
    added = next(lieu for lieu in lieux if lieu["nom"] == "France Services Guillotière")
    assert (added["adresse"], added["commune_insee"], added["archive"]) == (
        "3 place Guichard",
        "69383",
        False,
    )


def test_an_invalid_new_lieu_is_not_saved(browser: Browser) -> None:
    _ready(browser, "invalide@example.org")

    page = browser.post(
        "/lieux/nouveau", {"nom": "Local associatif", "adresse": "", "commune_insee_q": LYON_3}
    )
    too_long = browser.post(
        "/lieux/nouveau", {"nom": "N" * 121, "adresse": "1 rue", "commune_insee_q": LYON_3}
    )

    assert page.status == 400 and page.title.startswith("Erreur : ")
    assert page.field_errors() == ["Saisissez l'adresse du lieu."]
    assert _value_of(page, "nom") == "Local associatif"
    assert too_long.status == 400
    assert too_long.field_errors() == ["Le nom du lieu doit faire 120 caractères au plus."]
    assert len(browser.api("GET", "/api/lieux").json()["items"]) == 1


def test_modifying_a_lieu_shows_its_values_and_saves_the_changes(browser: Browser) -> None:
    _ready(browser, "modif@example.org")
    lieu_id = _add(browser, "Médiathèque Jean Macé")

    form = browser.get(f"/lieux/{lieu_id}/modifier")
    assert form.status == 200
    assert form.h1 == "Modifier le lieu « Médiathèque Jean Macé »"
    assert _value_of(form, "nom") == "Médiathèque Jean Macé"
    assert _value_of(form, "commune_insee_q") == LYON_3
    assert _value_of(form, "version") == "1"

    saved = browser.post(
        f"/lieux/{lieu_id}/modifier",
        {
            "nom": "Médiathèque Jean Macé (2e étage)",
            "adresse": "2 rue Domer",
            "commune_insee_q": "Paris",
            "version": "1",
        },
    )

    assert saved.status in (302, 303)
    listing = browser.follow(saved)
    assert "Le lieu d'activité a été modifié." in listing.plain
    assert "Médiathèque Jean Macé (2e étage)" in listing.plain
    stored = browser.api("GET", f"/api/lieux/{lieu_id}").json()
    assert (stored["nom"], stored["adresse"], stored["commune_insee"]) == (
        "Médiathèque Jean Macé (2e étage)",
        "2 rue Domer",
        "75056",
    )
    assert stored["version"] == 2


def test_saving_a_lieu_changed_meanwhile_shows_a_conflict_and_keeps_the_typed_values(
    browser: Browser,
) -> None:
    _ready(browser, "conflit@example.org")
    lieu_id = _add(browser, "Centre social")
    # Another device renames it while this form is open at version 1.
    other_device = browser.api(
        "PUT",
        f"/api/lieux/{lieu_id}",
        {
            "nom": "Centre social Bonnefoi",
            "adresse": "3 place Guichard",
            "commune_insee": "69383",
            "version": 1,
        },
    )
    assert other_device.status == 200

    page = browser.post(
        f"/lieux/{lieu_id}/modifier",
        {
            "nom": "Centre social (RDC)",
            "adresse": "5 rue Bonnefoi",
            "commune_insee_q": LYON_3,
            "version": "1",
        },
    )

    assert page.status == 409
    assert CONFLICT_MESSAGE in page.plain and "Vos saisies sont conservées" in page.plain
    assert _value_of(page, "nom") == "Centre social (RDC)"
    assert _value_of(page, "adresse") == "5 rue Bonnefoi"
    assert browser.api("GET", f"/api/lieux/{lieu_id}").json()["nom"] == "Centre social Bonnefoi"
    # Submitting again (the form now carries the current version) saves the mediator's values.
    again = browser.post(
        f"/lieux/{lieu_id}/modifier",
        {
            "nom": "Centre social (RDC)",
            "adresse": "5 rue Bonnefoi",
            "commune_insee_q": LYON_3,
            "version": _value_of(page, "version"),
        },
    )
    assert again.status in (302, 303)
    assert browser.api("GET", f"/api/lieux/{lieu_id}").json()["nom"] == "Centre social (RDC)"


def test_archiving_moves_a_lieu_to_the_archived_list_and_restoring_brings_it_back(
    browser: Browser,
) -> None:
    _ready(browser, "archive@example.org")
    lieu_id = _add(browser, "Bibliothèque du 8e")
    stale = browser.post(f"/lieux/{lieu_id}/archiver", {"archive": "1", "version": "7"})
    assert stale.status == 409
    assert _lieu(browser, "Bibliothèque du 8e")["archive"] is False

    archived = browser.follow(
        browser.post(f"/lieux/{lieu_id}/archiver", {"archive": "1", "version": "1"})
    )

    assert "Le lieu d'activité a été archivé." in archived.plain
    active, old = _active_and_archived(archived)
    assert "Bibliothèque du 8e" in old and "Bibliothèque du 8e" not in active
    assert "Médiathèque Louise Michel" in active
    item = _lieu(browser, "Bibliothèque du 8e")
    assert item["archive"] is True and item["version"] == 2

    restored = browser.follow(
        browser.post(f"/lieux/{lieu_id}/archiver", {"archive": "0", "version": "2"})
    )

    assert "Le lieu d'activité a été restauré." in restored.plain
    active, old = _active_and_archived(restored)
    assert "Bibliothèque du 8e" in active and "Bibliothèque du 8e" not in old
    assert _lieu(browser, "Bibliothèque du 8e")["archive"] is False


# --- ownership -----------------------------------------------------------------------------------


def test_another_mediator_cannot_see_or_change_a_lieu(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "alice.lieux@example.org")
    lieu_id = _add(alice, "Médiathèque d'Alice")
    bob = _ready(new_browser(), "bob.lieux@example.org")
    before = alice.api("GET", f"/api/lieux/{lieu_id}").json()
    change = {"nom": "Pris par Bob", "adresse": "1 rue", "commune_insee_q": LYON_3, "version": "1"}

    answers = {
        "GET modifier": bob.get(f"/lieux/{lieu_id}/modifier"),
        "POST modifier": bob.post(f"/lieux/{lieu_id}/modifier", change),
        "POST archiver": bob.post(f"/lieux/{lieu_id}/archiver", {"archive": "1", "version": "1"}),
        "GET api": bob.api("GET", f"/api/lieux/{lieu_id}"),
        "PUT api": bob.api(
            "PUT",
            f"/api/lieux/{lieu_id}",
            {"nom": "Pris par Bob", "adresse": "1 rue", "commune_insee": "69383", "version": 1},
        ),
        "DELETE api": bob.api("DELETE", f"/api/lieux/{lieu_id}"),
    }

    assert {name: page.status for name, page in answers.items()} == dict.fromkeys(answers, 404)
    assert "Médiathèque d'Alice" not in "".join(page.plain for page in answers.values())
    assert alice.api("GET", f"/api/lieux/{lieu_id}").json() == before
    assert "Médiathèque d'Alice" not in bob.get("/lieux").plain
    assert lieu_id not in {lieu["id"] for lieu in bob.api("GET", "/api/lieux").json()["items"]}


GARBAGE_IDS = [
    "..%2F",
    "%00",
    "%27%22%3E",
    "a" * 5000,
    "x" * 41,
    "AAAAAAAAAAAAAAAAAAAAAAAAAA",  # upper case never comes out of `new_id`
    "0000000000zzzzzzzzzzzzzzzz",  # well-formed, but nobody's
]


def test_garbage_or_unknown_lieu_ids_are_not_found_rather_than_crashing(browser: Browser) -> None:
    _ready(browser, "garbage@example.org")
    form = {"nom": "x", "adresse": "y", "commune_insee_q": LYON_3, "version": "1"}
    payload = {"nom": "x", "adresse": "y", "commune_insee": "69383", "version": 1}

    statuses = {}
    for lieu_id in GARBAGE_IDS:
        short = lieu_id[:12]
        statuses[f"GET modifier {short}"] = browser.get(f"/lieux/{lieu_id}/modifier").status
        statuses[f"POST modifier {short}"] = browser.post(f"/lieux/{lieu_id}/modifier", form).status
        statuses[f"POST archiver {short}"] = browser.post(
            f"/lieux/{lieu_id}/archiver", {"archive": "1", "version": "1"}
        ).status
        for method in ("GET", "PUT", "DELETE"):
            page = browser.api(
                method, f"/api/lieux/{lieu_id}", payload if method == "PUT" else None
            )
            statuses[f"{method} api {short}"] = page.status
            assert page.json()["message"] == "La page que vous cherchez est introuvable."

    assert statuses == dict.fromkeys(statuses, 404)


# --- JSON API ------------------------------------------------------------------------------------


def test_creating_a_lieu_over_the_api_returns_it(browser: Browser) -> None:
    _ready(browser, "api-ajout@example.org")

    page = browser.api(
        "POST",
        "/api/lieux",
        {"nom": " PIMMS ", "adresse": "4 rue Paul Bert", "commune_insee": "69383"},
    )

    assert page.status == 201
    created = page.json()
    assert (created["nom"], created["commune_insee"], created["archive"], created["version"]) == (
        "PIMMS",
        "69383",
        False,
        1,
    )
    assert created["id"] in {lieu["id"] for lieu in browser.api("GET", "/api/moi").json()["lieux"]}


def test_invalid_api_lieux_get_french_errors_per_field_and_nothing_is_saved(
    browser: Browser,
) -> None:
    api_user = _ready(browser, "api-invalide@example.org")
    valid = {"nom": "Lieu", "adresse": "1 rue", "commune_insee": "69383"}
    cases: list[tuple[Any, dict[str, str]]] = [
        (
            {},
            {
                "nom": "Saisissez le nom du lieu.",
                "adresse": "Saisissez l'adresse du lieu.",
                "commune_insee": "Choisissez la commune du lieu.",
            },
        ),
        (
            {**valid, "commune_insee": "99999"},
            {"commune_insee": "Choisissez une commune de la liste."},
        ),
        ({**valid, "mediateur_id": "mautre"}, {"mediateur_id": "Ce champ n'est pas attendu."}),
        ({**valid, "nom": 12}, {"nom": "Saisissez un texte."}),
        ({**valid, "nom": "   "}, {"nom": "Saisissez le nom du lieu."}),
    ]
    not_an_object = {"corps": "Le corps de la requête doit être un objet JSON."}
    cases += [(body, not_an_object) for body in ([valid], "lieu", 42, None)]

    for body, errors in cases:
        page = api_user.api("POST", "/api/lieux", body)
        assert (page.status, page.json()["errors"]) == (422, errors), body
    broken = api_user.request(
        "POST",
        "/api/lieux",
        body='{"nom": ',
        headers={"Content-Type": "application/json", "X-CSRF-Token": api_user.csrf_token},
    )
    assert (broken.status, broken.json()["errors"]) == (422, not_an_object)
    assert [lieu["nom"] for lieu in api_user.api("GET", "/api/lieux").json()["items"]] == [
        "Médiathèque Louise Michel"
    ]


def test_updating_over_the_api_needs_the_version(browser: Browser) -> None:
    _ready(browser, "api-version@example.org")
    lieu = _lieu(browser, "Médiathèque Louise Michel")
    change = {
        "nom": "Médiathèque L. Michel",
        "adresse": "12 rue des Lilas",
        "commune_insee": "69383",
    }

    invalid = browser.api(
        "PUT", f"/api/lieux/{lieu['id']}", {**change, "nom": "", "version": lieu["version"]}
    )
    missing = browser.api("PUT", f"/api/lieux/{lieu['id']}", change)
    stale = browser.api(
        "PUT", f"/api/lieux/{lieu['id']}", {**change, "version": lieu["version"] + 5}
    )
    fresh = browser.api("PUT", f"/api/lieux/{lieu['id']}", {**change, "version": lieu["version"]})
    replayed = browser.api(
        "PUT", f"/api/lieux/{lieu['id']}", {**change, "version": lieu["version"]}
    )

    assert invalid.status == 422
    assert invalid.json()["errors"] == {"nom": "Saisissez le nom du lieu."}
    assert missing.status == 422
    assert missing.json()["errors"] == {"version": "Ce champ est obligatoire."}
    assert stale.status == 409
    assert (
        stale.json()["message"]
        == "Cet élément a été modifié entre-temps. Rechargez-le puis recommencez."
    )
    assert fresh.status == 200
    assert (fresh.json()["nom"], fresh.json()["version"]) == (
        "Médiathèque L. Michel",
        lieu["version"] + 1,
    )
    assert replayed.status == 409


def test_deleting_over_the_api_archives_the_lieu(browser: Browser) -> None:
    _ready(browser, "api-archive@example.org")
    lieu_id = _add(browser, "Point numérique")

    page = browser.api("DELETE", f"/api/lieux/{lieu_id}")

    assert page.status == 200 and page.json()["archive"] is True
    assert _lieu(browser, "Point numérique")["archive"] is True
    assert "Point numérique" in _active_and_archived(browser.get("/lieux"))[1]


def test_the_api_needs_a_signed_in_mediator(browser: Browser) -> None:
    for method in ("GET", "POST"):
        page = browser.api(method, "/api/lieux", {} if method == "POST" else None)
        assert page.status == 401
