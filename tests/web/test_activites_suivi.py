"""What a CRA says about the people followed (issue « The CRA on a phone », items 3 to 5):

- « À domicile » with a linked person takes the person's commune (SPEC §3.1), on the form and
  the API, instead of asking for it (form) or answering 422 (API);
- a démarche « Non, orientée vers une autre structure » cannot say « Orienté : Non »: the
  finalisation sets « Oui » when the question was left unanswered, and contradicts a « Non »;
- an atelier notes the autonomy of each followed participant (`autonomies`), shown on the atelier,
  in each person's progression and counted by the statistics like individual ones.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.activites_rules import ORIENTE_CONTRADICTOIRE, STRUCTURE_REQUISE
from tests.conftest import Browser
from tests.support.forms import activity_form
from tests.support.web import activity_body, ready, today

LYON_3 = "69383"


def _person(browser: Browser, commune: str | None = LYON_3, prenom: str = "Hélène") -> Any:
    body: dict[str, Any] = {"prenom": prenom, "nom": "Dupont"}
    if commune:
        body["commune_insee"] = commune
    page = browser.api("POST", "/api/beneficiaires", body)
    assert page.status == 201, page.text
    return page.json()


# --- 3. à domicile ------------------------------------------------------------------------------


def test_at_home_with_a_linked_person_takes_their_commune_on_the_api(browser: Browser) -> None:
    ready(browser, "domicile.api@example.org")
    helene = _person(browser)

    page = browser.api(
        "POST",
        "/api/activites",
        activity_body(browser, canal="domicile", lieu_id=None, beneficiaire_id=helene["id"]),
    )

    assert page.status == 201, page.text
    assert page.json()["commune_insee"] == LYON_3


def test_at_home_still_needs_a_commune_without_a_person_or_without_theirs(
    browser: Browser,
) -> None:
    ready(browser, "domicile.sans.commune@example.org")
    nowhere = _person(browser, commune=None)

    anonymous = browser.api("POST", "/api/activites", activity_body(browser, canal="domicile"))
    unknown_commune = browser.api(
        "POST",
        "/api/activites",
        activity_body(browser, canal="domicile", beneficiaire_id=nowhere["id"]),
    )

    assert anonymous.status == 422 and "commune_insee" in anonymous.json()["errors"]
    assert unknown_commune.status == 422 and "commune_insee" in unknown_commune.json()["errors"]


def test_at_home_on_the_form_saves_with_the_persons_commune(browser: Browser) -> None:
    """Given the individuel form, a linked person and « À domicile » with the commune left
    empty, then the activity is saved in the person's commune (no error asking for it)."""
    ready(browser, "domicile.formulaire@example.org")
    helene = _person(browser)
    page = browser.get(f"/activites/nouvelle/individuel?beneficiaire={helene['id']}")
    fields = dict(activity_form(page).fields)
    fields.update({"canal": ["domicile"], "duree": ["30"], "thematiques": ["email"]})
    fields.pop("lieu_id", None)

    saved = browser.post("/activites/nouvelle/individuel", fields)

    assert saved.status == 303, saved.field_errors()
    [activite] = browser.api("GET", "/api/activites").json()["items"]
    assert activite["commune_insee"] == LYON_3


# --- 4. orientation -----------------------------------------------------------------------------


def _demarche(browser: Browser, **fields: Any) -> dict[str, Any]:
    return activity_body(
        browser,
        type="demarche",
        thematiques=[],
        thematiques_demarche=["logement"],
        finalisation="oriente_vers_structure",
        **fields,
    )


def test_a_demarche_oriented_elsewhere_cannot_say_not_oriented(browser: Browser) -> None:
    ready(browser, "orientation.contradiction@example.org")

    page = browser.api("POST", "/api/activites", _demarche(browser, oriente=False))

    assert page.status == 422
    assert page.json()["errors"]["oriente"] == ORIENTE_CONTRADICTOIRE


def test_a_demarche_oriented_elsewhere_is_oriented_when_the_question_was_skipped(
    browser: Browser,
) -> None:
    ready(browser, "orientation.implicite@example.org")

    without_structure = browser.api("POST", "/api/activites", _demarche(browser))
    with_structure = browser.api(
        "POST", "/api/activites", _demarche(browser, structure_redirection="aide_sociale")
    )

    assert without_structure.status == 422
    assert without_structure.json()["errors"] == {"structure_redirection": STRUCTURE_REQUISE}
    assert with_structure.status == 201, with_structure.text
    assert with_structure.json()["oriente"] is True
    assert with_structure.json()["structure_redirection"] == "aide_sociale"


def test_the_demarche_form_explains_the_contradiction(browser: Browser) -> None:
    ready(browser, "orientation.formulaire@example.org")
    page = browser.get("/activites/nouvelle/demarche")
    fields = dict(activity_form(page).fields)
    fields.update(
        {
            "duree": ["30"],
            "thematiques_demarche": ["logement"],
            "finalisation": ["oriente_vers_structure"],
            "oriente": ["non"],
        }
    )

    answer = browser.post("/activites/nouvelle/demarche", fields)

    assert answer.status == 400
    assert ORIENTE_CONTRADICTOIRE in answer.field_errors()
    assert activity_form(answer).fields["finalisation"] == ["oriente_vers_structure"]


# --- 5. autonomy in ateliers ----------------------------------------------------------------------


def _atelier(browser: Browser, participants: list[str], **fields: Any) -> Any:
    body = activity_body(
        browser, type="collectif", participants_ids=participants, thematiques=["email"], **fields
    )
    return browser.api("POST", "/api/activites", body)


def test_an_atelier_notes_each_followed_participants_autonomy(browser: Browser) -> None:
    """Given an atelier with Hélène (autonome) and Karim (no level), then the atelier shows
    Hélène's level, her profile's progression has it, Karim's has nothing, and the statistics'
    autonomy block counts one « Fait par la personne elle-même »."""
    ready(browser, "atelier.autonomie@example.org")
    helene, karim = _person(browser), _person(browser, prenom="Karim")

    created = _atelier(browser, [helene["id"], karim["id"]], autonomies={helene["id"]: "autonome"})

    assert created.status == 201, created.text
    atelier = created.json()
    assert atelier["autonomies"] == {helene["id"]: "autonome"}
    detail = re.sub(r"<[^>]+>", "", browser.get(f"/activites/{atelier['id']}").plain)
    assert "Hélène Dupont — autonomie : Fait par la personne elle-même" in detail
    assert "Fait par la personne elle-même" in browser.get(f"/beneficiaires/{helene['id']}").plain
    assert (
        "Fait par la personne elle-même" not in browser.get(f"/beneficiaires/{karim['id']}").plain
    )
    figures = browser.api("GET", "/api/statistiques?periode=ce_mois").json()
    autonomy = {row["cle"]: row["nombre"] for row in figures["autonomie"]}
    assert autonomy["autonome"] == 1
    assert sum(autonomy.values()) == 1  # Karim, without a level, is not counted


def test_an_atelier_refuses_a_level_for_someone_who_is_not_a_participant(
    browser: Browser,
) -> None:
    ready(browser, "atelier.autonomie.intrus@example.org")
    helene, karim = _person(browser), _person(browser, prenom="Karim")

    outsider = _atelier(browser, [helene["id"]], autonomies={karim["id"]: "autonome"})
    bad_level = _atelier(browser, [helene["id"]], autonomies={helene["id"]: "expert"})
    not_a_map = _atelier(browser, [helene["id"]], autonomies=["autonome"])

    assert outsider.status == 422 and f"autonomies.{karim['id']}" in outsider.json()["errors"]
    assert bad_level.status == 422 and f"autonomies.{helene['id']}" in bad_level.json()["errors"]
    assert not_a_map.status == 422 and "autonomies" in not_a_map.json()["errors"]


def test_the_atelier_form_notes_the_ticked_participants_levels(browser: Browser) -> None:
    """Given the atelier form with two people offered, one ticked and both given a level, then
    only the ticked participant's level is kept; modifying shows it again."""
    ready(browser, "atelier.formulaire.autonomie@example.org")
    helene, karim = _person(browser), _person(browser, prenom="Karim")
    page = browser.get(f"/activites/nouvelle/collectif?beneficiaire={helene['id']}")
    fields = dict(activity_form(page).fields)
    fields.update(
        {
            "duree": ["60"],
            "thematiques": ["email"],
            "participants_ids": [helene["id"]],
            f"autonomies_{helene['id']}": ["partiellement_autonome"],
            f"autonomies_{karim['id']}": ["autonome"],
        }
    )

    saved = browser.post("/activites/nouvelle/collectif", fields)

    assert saved.status == 303, saved.field_errors()
    [atelier] = browser.api("GET", "/api/activites").json()["items"]
    assert atelier["autonomies"] == {helene["id"]: "partiellement_autonome"}
    again = activity_form(browser.get(f"/activites/{atelier['id']}/modifier"))
    assert again.fields[f"autonomies_{helene['id']}"] == ["partiellement_autonome"]
    assert today().isoformat() == atelier["date"]
