"""The CRA on a phone (issue #15), at 390×844 with JavaScript and without: linking people
reliably from the three forms, and finding activities again.

- Enter in « Rechercher un bénéficiaire » searches and never saves; Enter elsewhere saves.
- The answer lands on the results (the heading has the focus and is on screen), a single match is
  chosen already, a capped list says so, « Créer un bénéficiaire » takes what was typed.
- Mes activités: a visible bénéficiaire filter (search then pick), the list says whose
  activities it shows and how many, active filters are tags that remove themselves.

Every page on the way goes through the audit (axe-core, 320 px, targets, focus ring).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.checks import Audit, today
from tests.browser.conftest import new_context, new_email

pytestmark = pytest.mark.browser
MODES = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
TYPES = ("individuel", "demarche", "collectif")
SAVED = re.compile(r"/activites\?message=activite_enregistree")


@dataclass
class Mediator:
    """A signed-in mediator with a lieu, and the app's JSON API in the same session (to set up
    people and activities quickly)."""

    page: Any
    csrf: str
    lieu_id: str

    def api(self, method: str, path: str, body: Any = None) -> Any:
        response = self.page.request.fetch(
            path,
            method=method,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-CSRF-Token": self.csrf,
            },
            data=json.dumps(body) if body is not None else None,
        )
        assert response.ok, (response.status, response.text())
        return response.json() if response.status != 204 else None

    def person(self, prenom: str, nom: str) -> str:
        return str(self.api("POST", "/api/beneficiaires", {"prenom": prenom, "nom": nom})["id"])

    def activity(self, **fields: Any) -> str:
        body = {
            "type": "individuel",
            "date": today(),
            "duree": 30,
            "canal": "lieu_activite",
            "lieu_id": self.lieu_id,
            "thematiques": ["email"],
            **fields,
        }
        return str(self.api("POST", "/api/activites", body)["id"])

    def activities(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/activites")["items"])


def sign_in(context: Any, purpose: str) -> Mediator:
    page = context.new_page()
    page.goto(f"/connexion?login_hint={new_email(purpose)}")
    page.locator("#nom").fill("Médiathèque")
    page.locator("#adresse").fill("2 rue Haute")
    page.locator("#commune_insee").fill("42218")
    page.locator("main button.coop-submit").click()
    page.wait_for_url(re.compile(r"/\?message=bienvenue"))
    moi = page.request.get("/api/moi", headers={"Accept": "application/json"}).json()
    return Mediator(page, moi["csrf_token"], moi["lieux"][0]["id"])


def tap(page: Any, input_id: str) -> None:
    page.locator(f'label[for="{input_id}"]').click()
    assert page.locator(f"#{input_id}").is_checked(), input_id


def press_enter(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).press("Enter")
    page.wait_for_load_state("load")


def focused_id(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def on_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


@MODES
def test_enter_in_the_search_field_searches_and_lands_on_the_results_in_the_three_forms(
    browser: Any, base_url: str, axe_source: str, screenshots: Path, javascript: bool
) -> None:
    mode = "js" if javascript else "nojs"
    audit = Audit(axe_source, screenshots, javascript=javascript)
    context = new_context(browser, base_url, javascript=javascript)
    try:
        me = sign_in(context, f"cra.entree.{mode}")
        page = me.page
        helene = me.person("Hélène", "Dupont")
        me.person("Marc", "Durand")
        for type_ in TYPES:
            page.goto(f"/activites/nouvelle/{type_}")
            tap(page, "duree-45")
            page.locator("#recherche_beneficiaire").fill("helene")

            press_enter(page, "#recherche_beneficiaire")

            # Nothing saved; the page shows the results, focused, on screen; answers kept.
            assert re.search(rf"/activites/nouvelle/{type_}$", page.url), page.url
            assert me.activities() == []
            heading = page.locator("#resultats-titre")
            assert heading.inner_text() == "1 bénéficiaire trouvé pour « helene »"
            assert focused_id(page) == "resultats-titre", type_
            assert on_screen(page, "#resultats-titre"), type_
            # What the phone shows on arrival (the audit's screenshot is the whole page).
            page.screenshot(path=str(screenshots / f"{mode}-cra-{type_}-arrivee.png"))
            assert page.locator("#duree-45").is_checked()
            chosen = "participants_ids" if type_ == "collectif" else "beneficiaire_id"
            assert page.locator(f"#{chosen}-{helene}").is_checked()  # the single match
            audit.check(page, f"{mode} cra {type_} resultats")

        # The individuel just searched is saved with Hélène once a thématique is ticked.
        page.goto("/activites/nouvelle/individuel")
        tap(page, "duree-30")
        page.locator("#recherche_beneficiaire").fill("dupont")
        press_enter(page, "#recherche_beneficiaire")
        tap(page, "thematiques-email")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(SAVED)
        (saved,) = me.activities()
        assert saved["beneficiaire_id"] == helene
    finally:
        context.close()
    audit.assert_clean()


@MODES
def test_enter_elsewhere_saves_and_never_from_the_search_field(
    browser: Any, base_url: str, javascript: bool
) -> None:
    mode = "js" if javascript else "nojs"
    context = new_context(browser, base_url, javascript=javascript)
    try:
        me = sign_in(context, f"cra.ailleurs.{mode}")
        page = me.page
        me.person("Hélène", "Dupont")

        # Enter in an empty search field (with JS: a search asking for a name; without JS the
        # browser cannot tell which field it came from: the search field is empty, so it saves
        # a complete form, as Enter in any other field).
        page.goto("/activites/nouvelle/demarche")
        tap(page, "duree-30")
        tap(page, "thematiques_demarche-logement")
        page.locator("#nom_demarche").fill("Demande d'APL")
        press_enter(page, "#nom_demarche")
        assert SAVED.search(page.url), page.url
        assert len(me.activities()) == 1

        # Enter in another field while the search field holds text.
        page.goto("/activites/nouvelle/demarche")
        tap(page, "duree-30")
        tap(page, "thematiques_demarche-logement")
        page.locator("#recherche_beneficiaire").fill("helene")
        page.locator("#nom_demarche").fill("Carte grise")
        press_enter(page, "#nom_demarche")
        if javascript:
            # coop.js sends Enter in the search field to « Rechercher »: Enter elsewhere saves.
            assert SAVED.search(page.url), page.url
            assert len(me.activities()) == 2
        else:
            # One HTML form has one default button: text in the search field means a search.
            assert page.locator("#resultats-titre").is_visible()
            assert page.locator("#nom_demarche").input_value() == "Carte grise"
            assert len(me.activities()) == 1
    finally:
        context.close()


@MODES
def test_a_capped_search_says_so_and_creer_takes_what_was_typed(
    browser: Any, base_url: str, axe_source: str, screenshots: Path, javascript: bool
) -> None:
    mode = "js" if javascript else "nojs"
    audit = Audit(axe_source, screenshots, javascript=javascript)
    context = new_context(browser, base_url, javascript=javascript)
    try:
        me = sign_in(context, f"cra.plafond.{mode}")
        page = me.page
        for n in range(12):
            me.person(f"Prénom{n:02d}", "Martin")
        page.goto("/activites/nouvelle/individuel")
        tap(page, "duree-60")
        page.locator("#recherche_beneficiaire").fill("martin")
        press_enter(page, "#recherche_beneficiaire")
        main = page.locator("main").inner_text()
        assert "12 bénéficiaires trouvés pour « martin »" in main
        assert "10 premiers résultats sur 12 — précisez votre recherche." in main
        assert page.locator("input[name=beneficiaire_id]:checked").get_attribute("value") == ""
        audit.check(page, f"{mode} cra resultats plafonnes")

        page.locator("#recherche_beneficiaire").fill("Zoé Lambert")
        press_enter(page, "#recherche_beneficiaire")
        assert page.locator("#resultats-titre").inner_text() == (
            "Aucun bénéficiaire trouvé pour « Zoé Lambert »"
        )
        assert focused_id(page) == "resultats-titre"
        page.get_by_role("button", name="Créer un bénéficiaire « Zoé Lambert »").click()
        page.wait_for_url(re.compile(r"/beneficiaires/nouveau\?"))
        assert page.locator("#prenom").input_value() == "Zoé"
        assert page.locator("#nom").input_value() == "Lambert"
        audit.check(page, f"{mode} beneficiaire depuis la recherche")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(re.compile(r"/activites/reprendre\?beneficiaire="))
        assert page.get_by_label("Zoé Lambert", exact=True).is_checked()
        assert page.locator("#duree-60").is_checked()  # the form came back as it was
        assert page.locator("#recherche_beneficiaire").input_value() == ""
        audit.check(page, f"{mode} cra repris avec la personne creee")
    finally:
        context.close()
    audit.assert_clean()


@MODES
def test_mes_activites_finds_a_persons_activities_and_says_how_many(
    browser: Any, base_url: str, axe_source: str, screenshots: Path, javascript: bool
) -> None:
    mode = "js" if javascript else "nojs"
    audit = Audit(axe_source, screenshots, javascript=javascript)
    context = new_context(browser, base_url, javascript=javascript)
    try:
        me = sign_in(context, f"liste.personne.{mode}")
        page = me.page
        helene = me.person("Hélène", "Dupont")
        marc = me.person("Marc", "Dupont")
        for person in (helene, helene, marc):
            me.activity(beneficiaire_id=person)
        me.activity(type="demarche", thematiques=[], thematiques_demarche=["logement"])

        page.goto("/activites")
        assert page.locator("#nombre-activites").inner_text() == "4 activités"
        page.get_by_text("Filtrer les activités").click()
        page.get_by_label("Bénéficiaire").first.fill("dupont")
        with page.expect_navigation():
            page.locator(".coop-filtre-personne").get_by_role("button", name="Rechercher").click()
        assert (
            "Choisissez la personne puis appliquez les filtres."
            in page.locator("main").inner_text()
        )
        assert focused_id(page) == "beneficiaire-reponse"  # the phone shows the people found
        assert on_screen(page, "#beneficiaire-reponse")
        audit.check(page, f"{mode} activites filtre beneficiaire choix")

        tap(page, f"beneficiaire-{helene}")
        with page.expect_navigation():
            page.get_by_role("button", name="Appliquer les filtres").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Activités de Hélène Dupont"
        assert page.locator("#nombre-activites").inner_text() == "2 activités"
        assert page.locator("main li.coop-activite").count() == 2
        tag = page.get_by_role("link", name="Retirer le filtre Bénéficiaire : Hélène Dupont")
        assert tag.inner_text() == "Bénéficiaire : Hélène Dupont"
        audit.check(page, f"{mode} activites de la personne")

        with page.expect_navigation():
            tag.click()
        assert page.get_by_role("heading", level=1).inner_text() == "Mes activités"
        assert page.locator("#nombre-activites").inner_text() == "4 activités"

        # From the profile's link, with another filter: two tags, each removing its own.
        page.goto(f"/activites?beneficiaire={marc}&type=individuel")
        assert page.get_by_role("heading", level=1).inner_text() == "Activités de Marc Dupont"
        assert page.locator("#nombre-activites").inner_text() == "1 activité"
        with page.expect_navigation():
            page.get_by_role(
                "link", name="Retirer le filtre Type : Accompagnement individuel"
            ).click()
        assert page.get_by_role("heading", level=1).inner_text() == "Activités de Marc Dupont"
        audit.check(page, f"{mode} activites tags")

        # An atelier's detail shows the breakdown that was entered.
        atelier = me.activity(
            type="collectif",
            participants_anonymes={
                "total": 8,
                "genres": {"feminin": 5, "masculin": 2},
                "tranches_age": {"60_69": 8},
                "statuts": {"retraite": 6},
            },
        )
        page.goto(f"/activites/{atelier}")
        details = " ".join(page.locator("main dl").inner_text().split())
        assert "Genre Femme : 5 · Homme : 2 · Non communiqué : 1" in details, details
        assert "Tranche d'âge 60 - 69 ans : 8" in details, details
        assert "Statut Retraité(e) : 6 · Non communiqué : 2" in details, details
        audit.check(page, f"{mode} atelier detail repartition")
    finally:
        context.close()
    audit.assert_clean()
