"""The gestionnaire's way in (SPEC §13): the first sign-in asks « Vous accompagnez des
personnes ? » and only mediators are asked for a lieu; gestionnaires reach « Ma structure » from
the side menu and the dashboard; the structure shows under the name a gestionnaire gives it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Browser
from tests.support.web import make_gestionnaire, new_siret, ready, sign_in_member


def _employer(browser: Browser, idp: Any, email: str, siret: str) -> Browser:
    """Signed in as a member of `siret`, first sign-in, not onboarded yet."""
    idp.provider.override_userinfo_claims = {"siret": siret}
    try:
        landed = browser.sign_in(email)
    finally:
        idp.provider.override_userinfo_claims = {}
    assert landed.url.endswith("/bienvenue"), landed.url
    return browser


# --- « Vous accompagnez des personnes ? » ---------------------------------------------------------


def test_the_first_sign_in_asks_whether_one_accompanies_people(browser: Browser) -> None:
    landed = browser.sign_in("question.accompagne@example.org")

    assert landed.url.endswith("/bienvenue")
    assert "Vous accompagnez des personnes ?" in landed.plain
    # Most who sign in are mediators: « Oui » comes checked, « Non » is one tap away.
    assert 'id="accompagne-oui" name="accompagne" value="oui" checked' in landed.text
    assert 'id="accompagne-non" name="accompagne" value="non">' in landed.text


def test_an_employer_who_accompanies_nobody_is_not_asked_for_a_lieu(
    new_browser: Any, idp: Any
) -> None:
    employer = _employer(new_browser(), idp, "employeur.sans.lieu@example.org", new_siret())

    answered = employer.post("/bienvenue", {"accompagne": "non"})

    assert answered.status == 303 and answered.location.endswith("/?message=bienvenue")
    home = employer.follow(answered)
    assert home.status == 200 and home.h1.startswith("Bonjour")
    assert "Ajoutez votre lieu d'activité" not in home.plain
    assert employer.api("GET", "/api/moi").json()["lieux"] == []
    # The next sign-in goes straight in, no onboarding again.
    again = employer.sign_in("employeur.sans.lieu@example.org")
    assert not again.url.endswith("/bienvenue"), again.url
    # Recording an activity still needs a lieu: the onboarding page, remembering « Non ».
    record = employer.get("/activites/nouvelle")
    assert record.status == 303 and record.location.endswith("/bienvenue")
    asked = employer.get("/bienvenue")
    assert 'id="accompagne-non" name="accompagne" value="non" checked' in asked.text


def test_changing_ones_mind_adds_the_lieu_and_records(new_browser: Any, idp: Any) -> None:
    employer = _employer(new_browser(), idp, "employeur.change@example.org", new_siret())
    employer.post("/bienvenue", {"accompagne": "non"})

    done = employer.post(
        "/bienvenue",
        {
            "accompagne": "oui",
            "nom": "Médiathèque",
            "adresse": "1 rue Haute",
            "commune_insee_q": "42218",
        },
    )

    assert done.status == 303 and done.location.endswith("/?message=bienvenue")
    assert [lieu["nom"] for lieu in employer.api("GET", "/api/moi").json()["lieux"]] == [
        "Médiathèque"
    ]
    assert employer.get("/activites/nouvelle").status == 200


def test_no_answer_and_no_lieu_is_explained_in_french(browser: Browser) -> None:
    browser.sign_in("sans.reponse@example.org")

    page = browser.post("/bienvenue", {"nom": "", "adresse": "", "commune_insee_q": ""})

    assert page.status == 400
    assert page.field_errors() == ["Indiquez si vous accompagnez des personnes."]
    assert '<a href="#accompagne">' in page.text
    assert 'id="accompagne"' in page.text
    assert browser.api("GET", "/api/moi").json()["lieux"] == []


def test_oui_without_a_lieu_asks_for_the_lieu(browser: Browser) -> None:
    browser.sign_in("oui.sans.lieu@example.org")

    page = browser.post(
        "/bienvenue", {"accompagne": "oui", "nom": "", "adresse": "", "commune_insee_q": ""}
    )

    assert page.status == 400
    assert page.field_errors() == [
        "Saisissez le nom du lieu.",
        "Saisissez l'adresse du lieu.",
        "Choisissez une commune.",
    ]
    assert 'value="oui" checked' in page.text  # the answer is kept


# --- « Ma structure » --------------------------------------------------------------------------


def test_a_gestionnaire_finds_ma_structure_in_the_menu_and_on_the_dashboard(
    new_browser: Any, idp: Any
) -> None:
    siret = new_siret()
    gestionnaire = sign_in_member(new_browser(), idp, f"g.{siret}@example.org", siret)
    make_gestionnaire(gestionnaire)
    mediateur = sign_in_member(new_browser(), idp, f"m.{siret}@example.org", siret)

    home = gestionnaire.get("/")
    menu = gestionnaire.get("/menu")
    plain_home = mediateur.get("/")

    for page in (home, menu):
        assert "Ma structure" in page.plain
        assert 'href="/structure/statistiques"' in page.text
        assert 'href="/structure/gestionnaires"' in page.text
        assert 'href="/exports?kind=activites&amp;portee=structure"' in page.text
    assert f"Structure (SIRET {siret})" in home.plain  # no name yet
    # The side menu marks the structure page as the current one.
    stats = gestionnaire.get("/structure/statistiques")
    assert 'href="/structure/statistiques" aria-current="page"' in stats.text
    assert "Ma structure" not in plain_home.plain
    assert "/structure/" not in plain_home.text


def test_a_gestionnaire_employer_lands_on_the_structure(new_browser: Any, idp: Any) -> None:
    siret = new_siret()
    colleague = sign_in_member(new_browser(), idp, f"collegue.{siret}@example.org", siret)
    make_gestionnaire(colleague)
    employer = _employer(new_browser(), idp, f"direction.{siret}@example.org", siret)
    granted = colleague.post(
        "/structure/gestionnaires", {"email": f"direction.{siret}@example.org"}
    )
    assert granted.status == 303

    answered = employer.post("/bienvenue", {"accompagne": "non"})

    assert answered.location.endswith("/structure/statistiques?message=bienvenue")
    page = employer.follow(answered)
    assert page.status == 200 and page.h1 == "Statistiques de ma structure"


# --- the structure's name ------------------------------------------------------------------------


def test_a_gestionnaire_names_the_structure_and_every_structure_page_shows_it(
    new_browser: Any, idp: Any
) -> None:
    siret = new_siret()
    gestionnaire = sign_in_member(new_browser(), idp, f"nom.{siret}@example.org", siret)
    make_gestionnaire(gestionnaire)
    assert f"Structure (SIRET {siret})" in gestionnaire.get("/structure/statistiques").plain

    named = gestionnaire.post("/structure/nom", {"nom": "  Médiathèque   des Lilas "})

    assert named.status == 303
    after = gestionnaire.follow(named)
    assert "Le nom de la structure a été enregistré." in after.plain
    assert "Médiathèque des Lilas ·" in after.plain
    assert "Médiathèque des Lilas" in gestionnaire.get("/structure/gestionnaires").plain
    assert "Médiathèque des Lilas" in gestionnaire.get("/").plain
    form = gestionnaire.get("/structure/nom")
    assert 'value="Médiathèque des Lilas"' in form.text


def test_a_bad_name_comes_back_with_what_was_typed(new_browser: Any, idp: Any) -> None:
    siret = new_siret()
    gestionnaire = sign_in_member(new_browser(), idp, f"nom.vide.{siret}@example.org", siret)
    make_gestionnaire(gestionnaire)

    empty = gestionnaire.post("/structure/nom", {"nom": "   "})
    long = gestionnaire.post("/structure/nom", {"nom": "<b>" + "x" * 200})

    assert empty.status == 400 and empty.field_errors() == ["Saisissez le nom de la structure."]
    assert long.status == 400
    assert long.field_errors() == ["Le nom doit faire 120 caractères au plus."]
    assert "&lt;b&gt;xxx" in long.text and "<b>xxx" not in long.text
    assert f"Structure (SIRET {siret})" in gestionnaire.get("/structure/statistiques").plain


def test_only_a_gestionnaire_names_only_their_own_structure(new_browser: Any, idp: Any) -> None:
    siret, other = new_siret(), new_siret()
    gestionnaire = sign_in_member(new_browser(), idp, f"g.nom.{siret}@example.org", siret)
    make_gestionnaire(gestionnaire)
    mediateur = sign_in_member(new_browser(), idp, f"m.nom.{siret}@example.org", siret)
    stranger = sign_in_member(new_browser(), idp, f"g.nom.{other}@example.org", other)
    make_gestionnaire(stranger)

    refused = mediateur.post("/structure/nom", {"nom": "Pris par un médiateur"})
    assert refused.status == 403
    assert mediateur.get("/structure/nom").status == 403
    stranger.post("/structure/nom", {"nom": "Autre structure"})

    page = gestionnaire.get("/structure/statistiques").plain
    assert f"Structure (SIRET {siret})" in page
    assert "Pris par un médiateur" not in page and "Autre structure" not in page
    assert "Autre structure" in stranger.get("/structure/statistiques").plain


def test_an_ordinary_mediator_still_onboards_with_a_lieu(browser: Browser) -> None:
    ready(browser, "mediateur.ordinaire@example.org")
    assert len(browser.api("GET", "/api/moi").json()["lieux"]) == 1
    assert browser.get("/activites/nouvelle").status == 200
