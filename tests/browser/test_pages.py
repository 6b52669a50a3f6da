"""Every page of the app (and its error states) through the audit: axe-core (WCAG 2.0/2.1 A and
AA, 2.2 AA), no horizontal scroll at 320 px, targets ≥ 24 px, primary buttons ≥ 44 px, a visible
focus ring, error summaries focused and linked; one screenshot per page at 390×844.

The journey (test_journey.py) audits the pages it goes through (onboarding, the three CRA forms
and their error states, Mes activités, the profile, the statistics, Mes exports in every state);
this module covers the rest with one signed-in mediator seeded through the UI.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.checks import Audit, error_summary_problems
from tests.browser.conftest import PHONE, Stack, grant_gestionnaire, new_context, new_email

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Seeded:
    storage_state: Path
    person_id: str
    activity_id: str
    lieu_id: str


def submit(page: Any) -> None:
    page.locator("main button.coop-submit").click()
    page.wait_for_load_state("load")


def tap(page: Any, input_id: str) -> None:
    page.locator(f'label[for="{input_id}"]').click()


@pytest.fixture(scope="module")
def seeded(browser: Any, base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A mediator with a lieu, a beneficiary and two activities, created through the pages."""
    context = new_context(browser, base_url)
    page = context.new_page()
    try:
        page.goto(f"/connexion?login_hint={new_email('pages')}")
        page.locator("#nom").fill("Espace France Services")
        page.locator("#adresse").fill("1 rue de la Mairie")
        page.locator("#commune_insee").fill("42218")
        submit(page)
        page.goto("/beneficiaires/nouveau")
        page.locator("#prenom").fill("Jean-Pierre")
        page.locator("#nom").fill("Martin")
        page.locator("#telephone").fill("06 12 34 56 78")
        submit(page)
        person_id = page.url.split("/beneficiaires/")[1].split("?")[0]
        page.goto(f"/activites/nouvelle/individuel?beneficiaire={person_id}")
        tap(page, "duree-30")
        tap(page, "thematiques-email")
        submit(page)
        page.goto("/activites/nouvelle/collectif")
        tap(page, "duree-60")
        tap(page, "thematiques-bureautique")
        page.locator("#participants_anonymes_total").fill("4")
        submit(page)
        page.goto("/activites")
        page.locator("main li.coop-activite a").last.click()
        page.wait_for_url(re.compile(r"/activites/[^/?]+$"))
        activity_id = page.url.rsplit("/", 1)[1]
        page.goto("/lieux")
        href = page.get_by_role("link", name=re.compile("^Modifier")).first.get_attribute("href")
        lieu_id = href.split("/")[2]
        state = tmp_path_factory.mktemp("pages") / "state.json"
        context.storage_state(path=str(state))
    finally:
        context.close()
    return Seeded(state, person_id, activity_id, lieu_id)


@pytest.fixture
def signed_in(browser: Any, base_url: str, seeded: Seeded) -> Iterator[Any]:
    context = new_context(browser, base_url, storage_state=str(seeded.storage_state))
    yield context.new_page()
    context.close()


def visit_all(audit: Audit, page: Any, pages: list[tuple[str, str]]) -> None:
    for name, url in pages:
        response = page.goto(url)
        assert response is not None
        if response.status >= 500:
            audit.add(name, f"HTTP {response.status} at {url}")
            continue
        audit.check(page, name)


def failing_form(audit: Audit, page: Any, name: str, url: str, fill: Callable[[Any], None]) -> None:
    """Open the form, make it fail, and audit the page with its error summary."""
    page.goto(url)
    fill(page)
    submit(page)
    for problem in error_summary_problems(page):
        audit.add(name, problem)
    audit.check(page, name)


def test_signed_in_pages(
    signed_in: Any, seeded: Seeded, axe_source: str, screenshots: Path
) -> None:
    audit = Audit(axe_source, screenshots)
    page = signed_in
    activity, person, lieu = seeded.activity_id, seeded.person_id, seeded.lieu_id
    visit_all(
        audit,
        page,
        [
            ("accueil avec activites", "/"),
            ("menu", "/menu"),
            ("activites filtrees", "/activites?type=individuel"),
            ("activites filtre invalide", "/activites?du=32-13-2024"),
            ("activite detail individuel", f"/activites/{activity}"),
            ("activite modifier", f"/activites/{activity}/modifier"),
            ("activite dupliquer", f"/activites/{activity}/dupliquer"),
            ("activite supprimer", f"/activites/{activity}/supprimer"),
            ("beneficiaires liste", "/beneficiaires"),
            ("beneficiaires recherche", "/beneficiaires?q=martin"),
            ("beneficiaires recherche vide", "/beneficiaires?q=zzzz"),
            ("beneficiaire profil", f"/beneficiaires/{person}"),
            ("beneficiaire modifier", f"/beneficiaires/{person}/modifier"),
            ("beneficiaire supprimer", f"/beneficiaires/{person}/supprimer"),
            ("statistiques annee", "/statistiques?periode=12m"),
            ("statistiques periode invalide", "/statistiques?du=2026-02-30&au=2020-01-01"),
            ("exports vide", "/exports"),
            ("export beneficiaires demande", "/exports?kind=beneficiaires"),
            ("lieux", "/lieux"),
            ("lieu nouveau", "/lieux/nouveau"),
            ("lieu modifier", f"/lieux/{lieu}/modifier"),
            ("outils", "/outils"),
            ("partenaires", "/partenaires"),
            ("mentions legales", "/mentions-legales"),
            ("accessibilite", "/accessibilite"),
            ("donnees personnelles", "/donnees-personnelles"),
            ("introuvable connecte", "/activites/0000000000zzzzzzzzzzzzzzzz"),
            ("deconnexion confirmation", "/deconnexion"),
        ],
    )
    failing_form(audit, page, "lieu nouveau erreurs", "/lieux/nouveau", lambda p: None)
    failing_form(
        audit,
        page,
        "beneficiaire modifier erreurs",
        f"/beneficiaires/{person}/modifier",
        lambda p: (p.locator("#prenom").fill(""), p.locator("#email").fill("pas-un-email")),
    )

    # Search and create a person from inside a CRA form, then the sensitive-notes warning.
    page.goto("/activites/nouvelle/individuel")
    page.locator("#recherche_beneficiaire").fill("Martin")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state("load")
    assert page.get_by_label("Jean-Pierre Martin", exact=True).count() == 1
    audit.check(page, "individuel recherche beneficiaire")
    page.get_by_text("Informations sur la personne").click()
    audit.check(page, "individuel personne anonyme ouverte")
    tap(page, "duree-15")
    tap(page, "thematiques-sante")
    page.locator("#notes").fill("Née le 12/03/1954, à rappeler")
    submit(page)
    assert page.locator("#notes-alerte").count() == 1
    audit.check(page, "individuel alerte notes sensibles")

    # The session ends while a form is open: the post lands on "session expirée", input kept.
    page.goto("/activites/nouvelle/demarche")
    tap(page, "duree-45")
    page.context.clear_cookies()
    submit(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Votre session a expiré"
    assert page.locator('input[type=hidden][name=duree][value="45"]').count() == 1
    audit.check(page, "session expiree")
    audit.assert_clean()


def test_signed_out_pages(browser: Any, base_url: str, axe_source: str, screenshots: Path) -> None:
    audit = Audit(axe_source, screenshots)
    context = new_context(browser, base_url)
    page = context.new_page()
    try:
        visit_all(
            audit,
            page,
            [
                ("public menu", "/menu"),
                ("public accessibilite", "/accessibilite"),
                ("public 404", "/cette-page-n-existe-pas"),
                ("connexion echouee", "/connexion/retour?state=x&code=y"),
                ("connexion annulee", "/connexion/retour?error=access_denied"),
            ],
        )
        # Sign in, then out through the fake ProConnect's end-session endpoint.
        page.goto(f"/connexion?login_hint={new_email('sortie')}")
        page.goto("/menu")
        page.locator("main").get_by_role("button", name="Se déconnecter").click()
        page.wait_for_url(re.compile(r"/deconnexion/retour"))
        audit.check(page, "deconnecte")
        assert page.get_by_role("heading", level=1).count() == 1
    finally:
        context.close()
    audit.assert_clean()


def test_structure_pages(browser: Any, stack: Stack, axe_source: str, screenshots: Path) -> None:
    """A gestionnaire de structure (granted with the ops command) and their pages."""
    audit = Audit(axe_source, screenshots)
    context = new_context(browser, stack.base_url)
    page = context.new_page()
    email = new_email("gestion")
    try:
        page.goto(f"/connexion?login_hint={email}")
        grant_gestionnaire(stack, email)
        visit_all(
            audit,
            page,
            [
                ("structure statistiques", "/structure/statistiques"),
                ("structure gestionnaires", "/structure/gestionnaires"),
                ("structure export demande", "/exports?kind=activites&portee=structure"),
                ("structure nom", "/structure/nom"),
                ("accueil gestionnaire", "/"),
                ("plan du site gestionnaire", "/menu"),
            ],
        )
        # « Ma structure » in the side menu (a desktop's; a phone's is /menu) leads there.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto("/")
        side = page.locator("#navigation")
        side.get_by_role("link", name="Statistiques de la structure").click()
        page.wait_for_url(re.compile(r"/structure/statistiques$"))
        audit.check(page, "structure statistiques bureau")
        page.set_viewport_size(PHONE)
        failing_form(
            audit,
            page,
            "structure nom erreurs",
            "/structure/nom",
            lambda p: p.locator("#nom").fill(" "),
        )
        assert "Saisissez le nom de la structure." in page.locator("main").inner_text()
        failing_form(
            audit,
            page,
            "structure gestionnaires erreurs",
            "/structure/gestionnaires",
            lambda p: p.locator("#email").fill("personne@ailleurs.example"),
        )
        assert "Aucun médiateur de votre structure" in page.locator("main").inner_text()
    finally:
        context.close()
    audit.assert_clean()
