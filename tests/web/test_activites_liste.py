"""Finding activities in Mes activités without JavaScript (issue #15): the list says whose
activities it shows, the bénéficiaire filter is a visible search-then-pick, the active filters
are tags that remove themselves, and the list says how many activities match."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from chalicelib import bootstrap
from chalicelib.domain.activites import Filtres
from tests.conftest import Browser, Page
from tests.support.web import create_activity, create_person, ready, today

ID = r"[0-9a-z]{26}"


def _cards(page: Page) -> list[str]:
    return re.findall(
        rf'<li class="fr-card[^"]*coop-activite">.*?href="/activites/({ID})"', page.text, re.S
    )


def _tags(page: Page) -> dict[str, str]:
    """Active filter tags: their accessible name → where the link leads (the same list without
    that filter)."""
    found = re.findall(
        r'<a class="fr-tag fr-tag--dismiss" href="([^"]*)" aria-label="([^"]*)"', page.text
    )
    return {html.unescape(label): html.unescape(href) for href, label in found}


def _count(page: Page) -> str:
    match = re.search(r'<p [^>]*id="nombre-activites"[^>]*>(.*?)</p>', page.text, re.S)
    assert match, "no count"
    return html.unescape(re.sub(r"\s+", " ", match.group(1))).strip()


def test_the_list_of_a_person_says_whose_activities_it_shows_and_how_to_see_all(
    browser: Browser,
) -> None:
    # Given Hélène's two activities among three
    ready(browser, "liste.personne@example.org")
    helene = create_person(browser, "Hélène", "Dupont")
    mine = [create_activity(browser, beneficiaire_id=helene["id"]) for _ in range(2)]
    create_activity(browser)

    # When the mediator follows "Voir ces activités" from her profile
    page = browser.get(f"/activites?beneficiaire={helene['id']}")

    # Then the page says whose activities these are, how many, and how to drop the filter
    assert page.h1 == "Activités de Hélène Dupont"
    assert page.title.startswith("Activités de Hélène Dupont")
    assert _count(page) == "2 activités"
    assert sorted(_cards(page)) == sorted(a["id"] for a in mine)
    assert _tags(page) == {"Retirer le filtre Bénéficiaire : Hélène Dupont": "/activites"}
    assert "Bénéficiaire : Hélène Dupont" in page.plain
    # The filter is a visible, checked choice of the filters form, not a hidden input.
    assert (
        f'type="radio" id="beneficiaire-{helene["id"]}" name="beneficiaire" value="{helene["id"]}" checked'
        in page.text
    )
    assert 'type="hidden" name="beneficiaire"' not in page.text


def test_the_bénéficiaire_filter_is_a_search_then_a_pick(browser: Browser) -> None:
    ready(browser, "liste.recherche@example.org")
    helene = create_person(browser, "Hélène", "Dupont")
    marc = create_person(browser, "Marc", "Dupont")
    create_person(browser, "Ana", "Lopez")
    a = create_activity(browser, beneficiaire_id=helene["id"])
    b = create_activity(browser, beneficiaire_id=marc["id"])

    # Two people match: they are offered, the list is not filtered yet
    several = browser.get("/activites?beneficiaire_q=dupont&type=individuel")
    assert several.status == 200
    offered = re.findall(rf'name="beneficiaire" value="({ID})"', several.text)
    assert sorted(offered) == sorted([helene["id"], marc["id"]])
    assert "Choisissez la personne puis appliquez les filtres." in several.plain
    assert re.search(r'id="beneficiaire-reponse" tabindex="-1" autofocus', several.text)
    assert sorted(_cards(several)) == sorted([a["id"], b["id"]])
    assert 'value="dupont"' in several.text  # what was typed stays in the field

    # One person matches: the filter applies at once
    one = browser.get("/activites?beneficiaire_q=helene")
    assert one.h1 == "Activités de Hélène Dupont"
    assert _cards(one) == [a["id"]]
    assert _tags(one) == {"Retirer le filtre Bénéficiaire : Hélène Dupont": "/activites"}

    # Nobody matches: it says so, and nothing is filtered on a person
    nobody = browser.get("/activites?beneficiaire_q=zzzz")
    assert "Aucun bénéficiaire ne correspond à « zzzz »." in nobody.plain
    assert nobody.h1 == "Mes activités"

    # A pick wins over the text still in the field
    picked = browser.get(f"/activites?beneficiaire_q=dupont&beneficiaire={marc['id']}")
    assert picked.h1 == "Activités de Marc Dupont" and _cards(picked) == [b["id"]]


def test_active_filters_are_tags_that_each_remove_their_filter(browser: Browser) -> None:
    ready(browser, "liste.tags@example.org")
    du = (today() - timedelta(days=30)).isoformat()

    page = browser.get(f"/activites?type=individuel&canal=lieu_activite&du={du}&thematique=email")

    assert _tags(page) == {
        "Retirer le filtre Type : Accompagnement individuel": f"/activites?du={du}&canal=lieu_activite&thematique=email",
        "Retirer le filtre Canal : Lieu d'activité": f"/activites?du={du}&type=individuel&thematique=email",
        f"Retirer le filtre Du : {(today() - timedelta(days=30)).strftime('%d/%m/%Y')}": "/activites?type=individuel&canal=lieu_activite&thematique=email",
        "Retirer le filtre Thématique : E-mail": f"/activites?du={du}&type=individuel&canal=lieu_activite",
    }
    assert 'href="/activites">Effacer tous les filtres' in page.text
    assert _tags(browser.get("/activites")) == {}


def test_the_list_says_how_many_activities_match(browser: Browser) -> None:
    ready(browser, "liste.nombre@example.org")
    assert "nombre-activites" not in browser.get("/activites").text  # nothing yet: the usual text
    for n in range(3):
        create_activity(browser, date=(today() - timedelta(days=n)).isoformat())
    create_activity(browser, type="demarche", thematiques=[], thematiques_demarche=["logement"])

    assert _count(browser.get("/activites")) == "4 activités"
    assert _count(browser.get("/activites?type=demarche")) == "1 activité"
    assert _count(browser.get("/activites?type=collectif")) == (
        "Aucune activité ne correspond à ces filtres."
    )


def test_counting_stops_at_a_cap(browser: Browser) -> None:
    ready(browser, "liste.plafond@example.org")
    for _ in range(3):
        create_activity(browser)
    mediateur_id = browser.api("GET", "/api/moi").json()["id"]
    service = bootstrap.get().activities

    assert service.count(mediateur_id, Filtres(), cap=1000) == 3
    assert service.count(mediateur_id, Filtres(), cap=2) == 2
    assert service.count(mediateur_id, Filtres(type="collectif"), cap=1000) == 0


def test_an_atelier_detail_shows_the_breakdown_that_was_entered(browser: Browser) -> None:
    ready(browser, "liste.atelier@example.org")
    atelier = create_activity(
        browser,
        type="collectif",
        participants_anonymes={
            "total": 10,
            "deja_accompagnes": 4,
            "genres": {"feminin": 6, "masculin": 3},
            "tranches_age": {"60_69": 7, "70_plus": 2},
            "statuts": {"retraite": 9},
        },
    )

    page = browser.get(f"/activites/{atelier['id']}")

    rows = {
        html.unescape(k): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", v)).split())
        for k, v in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page.text, re.S)
    }
    assert rows["Dont participants anonymes"] == "10"
    assert rows["Déjà accompagnés"] == "4"
    assert rows["Genre"] == "Femme : 6 · Homme : 3 · Non communiqué : 1"
    assert rows["Tranche d'âge"] == "60 - 69 ans : 7 · 70 ans et plus : 2 · Non communiqué : 1"
    assert rows["Statut"] == "Retraité(e) : 9 · Non communiqué : 1"


def test_a_filter_on_someone_unknown_is_shown_and_removable(browser: Browser) -> None:
    ready(browser, "liste.inconnu@example.org")
    create_activity(browser)

    page = browser.get("/activites?beneficiaire=0000000000zzzzzzzzzzzzzzzz&type=individuel")

    assert page.h1 == "Mes activités"
    assert _cards(page) == []
    assert _tags(page)["Retirer le filtre Bénéficiaire : bénéficiaire introuvable"] == (
        "/activites?type=individuel"
    )
