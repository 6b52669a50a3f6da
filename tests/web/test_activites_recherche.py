"""« Rechercher un bénéficiaire » inside the three activity forms, without JavaScript (issue #15):
Enter in the search field searches and never saves, the answer lands on the results, a single
match is preselected, a capped list says so, and « Créer un bénéficiaire » takes what was typed.

Forms are posted the way a browser does: Enter in a text field is an "implicit submission", which
posts the fields plus the form's default button (its first submit button).
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import Browser, Page
from tests.support.forms import activity_form
from tests.support.web import create_person, ready

TYPES = ("individuel", "demarche", "collectif")
SAVED = "/activites?message=activite_enregistree"


def _fill(type_: str) -> dict[str, str | list[str]]:
    """What the mediator has already answered before looking for the person."""
    answers: dict[str, str | list[str]] = {"duree": "45", "notes": "Ne pas perdre cette note"}
    if type_ == "demarche":
        answers["thematiques_demarche"] = ["logement"]
    else:
        answers["thematiques"] = ["email"]
    return answers


def _stored(browser: Browser) -> list[dict[str, object]]:
    return list(browser.api("GET", "/api/activites").json()["items"])


def _results_heading(page: Page) -> str:
    match = re.search(r'<h3 [^>]*id="resultats-titre"[^>]*>(.*?)</h3>', page.text, re.S)
    assert match, "no results heading"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1)))).strip()


def _chosen(page: Page, name: str) -> list[str]:
    return activity_form(page).fields.get(name, [])


@pytest.mark.parametrize("type_", TYPES)
def test_given_a_name_in_the_search_field_when_enter_is_pressed_then_it_searches_and_saves_nothing(
    browser: Browser, type_: str
) -> None:
    ready(browser, f"entree.recherche.{type_}@example.org")
    create_person(browser, "Hélène", "Dupont")
    form = activity_form(browser.get(f"/activites/nouvelle/{type_}"))

    # When: Enter in « Rechercher un bénéficiaire » (no JavaScript: implicit submission).
    page = browser.post(form.action, form.implicit(recherche_beneficiaire="helene", **_fill(type_)))

    # Then: the results, every answer kept, nothing saved, no error.
    assert page.status == 200, page.location
    assert _stored(browser) == []
    assert "Hélène Dupont" in page.plain
    assert "Ne pas perdre cette note" in page.plain
    assert page.field_errors() == []
    assert _results_heading(page) == "1 bénéficiaire trouvé pour « helene »"


@pytest.mark.parametrize("type_", TYPES)
def test_given_an_empty_search_field_when_enter_is_pressed_elsewhere_then_the_activity_is_saved(
    browser: Browser, type_: str
) -> None:
    ready(browser, f"entree.ailleurs.{type_}@example.org")
    form = activity_form(browser.get(f"/activites/nouvelle/{type_}"))
    answers = _fill(type_)
    if type_ == "collectif":
        answers["participants_anonymes_total"] = "6"

    page = browser.post(form.action, form.implicit(recherche_beneficiaire="", **answers))

    assert (page.status, page.location) == (303, SAVED)
    assert len(_stored(browser)) == 1


def test_the_search_answer_focuses_its_results_heading_and_preselects_a_single_match(
    browser: Browser,
) -> None:
    ready(browser, "recherche.atterrit@example.org")
    helene = create_person(browser, "Hélène", "Dupont")
    create_person(browser, "Marc", "Durand")
    form = activity_form(browser.get("/activites/nouvelle/individuel"))

    found = browser.post(
        form.action,
        {
            **form.fields,
            **_fill("individuel"),
            "recherche_beneficiaire": "dupont",
            "action": "chercher_beneficiaire",
        },
    )

    # The heading gets the focus without JavaScript (autofocus), so the phone shows the results
    # instead of the top of the form, and a screen reader announces how many were found.
    heading = re.search(r'<h3 [^>]*id="resultats-titre"[^>]*>', found.text)
    assert heading and "autofocus" in heading.group(0) and 'tabindex="-1"' in heading.group(0)
    assert found.text.count("autofocus") == 1
    assert _chosen(found, "beneficiaire_id") == [helene["id"]]

    saved = browser.post(form.action, activity_form(found).fields)

    assert (saved.status, saved.location) == (303, SAVED)
    (item,) = _stored(browser)
    assert item["beneficiaire_id"] == helene["id"]


def test_in_an_atelier_a_single_match_is_ticked_next_to_the_participants_already_chosen(
    browser: Browser,
) -> None:
    ready(browser, "recherche.atelier@example.org")
    ana = create_person(browser, "Ana", "Lopez")
    helene = create_person(browser, "Hélène", "Dupont")
    form = activity_form(browser.get("/activites/nouvelle/collectif"))
    chercher = {"action": "chercher_beneficiaire"}

    first = browser.post(form.action, {**form.fields, "recherche_beneficiaire": "ana", **chercher})
    second_form = activity_form(first).fields
    second = browser.post(
        form.action, {**second_form, "recherche_beneficiaire": "helene", **chercher}
    )

    assert _chosen(second, "participants_ids") == [ana["id"], helene["id"]]


def test_several_matches_are_not_preselected(browser: Browser) -> None:
    ready(browser, "recherche.plusieurs@example.org")
    create_person(browser, "Hélène", "Dupont")
    create_person(browser, "Marc", "Dupont")
    form = activity_form(browser.get("/activites/nouvelle/individuel"))

    found = browser.post(
        form.action,
        {**form.fields, "recherche_beneficiaire": "dupont", "action": "chercher_beneficiaire"},
    )

    assert _results_heading(found) == "2 bénéficiaires trouvés pour « dupont »"
    assert _chosen(found, "beneficiaire_id") == [""]  # still anonymous until one is picked
    assert "Hélène Dupont" in found.plain and "Marc Dupont" in found.plain


def test_a_capped_list_says_how_many_matched_and_asks_for_more_letters(browser: Browser) -> None:
    ready(browser, "recherche.plafond@example.org")
    for n in range(12):
        create_person(browser, f"Prénom{n:02d}", "Martin")
    form = activity_form(browser.get("/activites/nouvelle/individuel"))

    found = browser.post(
        form.action,
        {**form.fields, "recherche_beneficiaire": "martin", "action": "chercher_beneficiaire"},
    )

    assert found.status == 200
    assert found.plain.count(" Martin</label>") == 10
    assert "10 premiers résultats sur 12 — précisez votre recherche." in found.plain


def test_nothing_found_says_so_in_the_heading(browser: Browser) -> None:
    ready(browser, "recherche.rien@example.org")
    form = activity_form(browser.get("/activites/nouvelle/demarche"))

    found = browser.post(
        form.action,
        {**form.fields, "recherche_beneficiaire": "zzzz", "action": "chercher_beneficiaire"},
    )

    assert _results_heading(found) == "Aucun bénéficiaire trouvé pour « zzzz »"


def test_creer_un_beneficiaire_takes_what_was_typed_and_comes_back_with_the_person_linked(
    browser: Browser,
) -> None:
    ready(browser, "recherche.creer@example.org")
    form = activity_form(browser.get("/activites/nouvelle/individuel"))
    fields = {**form.fields, **_fill("individuel")}
    searched = browser.post(
        form.action,
        {**fields, "recherche_beneficiaire": "Hélène Dupont", "action": "chercher_beneficiaire"},
    )
    assert "Créer un bénéficiaire « Hélène Dupont »" in searched.plain

    created = browser.post(
        form.action, {**activity_form(searched).fields, "action": "creer_beneficiaire"}
    )

    assert created.status == 303
    target = urlsplit(created.location)
    assert target.path == "/beneficiaires/nouveau"
    assert parse_qs(target.query) == {
        "depuis": ["activite"],
        "prenom": ["Hélène"],
        "nom": ["Dupont"],
    }
    new_person = browser.get(created.location)
    assert 'id="prenom" name="prenom" value="Hélène"' in new_person.text
    assert 'id="nom" name="nom" value="Dupont"' in new_person.text
    back = browser.follow(
        browser.post(
            "/beneficiaires/nouveau", {"prenom": "Hélène", "nom": "Dupont", "depuis": "activite"}
        )
    )
    (person,) = browser.api("GET", "/api/beneficiaires").json()["items"]
    assert _chosen(back, "beneficiaire_id") == [person["id"]]
    assert "Ne pas perdre cette note" in back.plain
