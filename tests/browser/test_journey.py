"""The whole mediator journey on a phone-sized screen, with JavaScript and without.

Sign in through the fake ProConnect → onboarding (lieu) → a beneficiary → one CRA of each type →
Mes activités, the profile, the statistics → an export prepared by the worker (the page refreshes
itself without JS) → the downloaded workbook. Every page on the way goes through the audit
(axe-core, layout at 320 px, target sizes, focus rings with JS, screenshot).
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.browser.checks import Audit, error_summary_problems, today
from tests.browser.conftest import new_context, new_email

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_mediator_journey(
    browser: Any,
    base_url: str,
    axe_source: str,
    screenshots: Path,
    tmp_path: Path,
    javascript: bool,
) -> None:
    mode = "js" if javascript else "nojs"
    audit = Audit(axe_source, screenshots, javascript=javascript)
    context = new_context(browser, base_url, javascript=javascript)
    page = context.new_page()
    journey = Journey(page, audit, mode, javascript)
    try:
        journey.sign_in(new_email(f"parcours.{mode}"))
        journey.onboarding()
        person_id, person_name = journey.create_beneficiary()
        journey.record_individuel(person_id, person_name)
        journey.record_demarche()
        journey.record_collectif()
        journey.check_activities(person_name)
        journey.check_profile(person_id)
        journey.check_statistics()
        workbook = journey.export(tmp_path)
    finally:
        context.close()
    check_workbook(workbook, person_name)
    audit.assert_clean()


class Journey:
    def __init__(self, page: Any, audit: Audit, mode: str, javascript: bool) -> None:
        self.page = page
        self.audit = audit
        self.mode = mode
        self.javascript = javascript

    def check(self, name: str) -> None:
        self.audit.check(self.page, f"{self.mode} {name}")

    def tap(self, input_id: str) -> None:
        """Tap a radio or checkbox the way a finger does: on its label (the DSFR draws the box)."""
        self.page.locator(f'label[for="{input_id}"]').click()
        assert self.page.locator(f"#{input_id}").is_checked(), input_id

    def submit_empty_and_check(self, name: str) -> None:
        """Post the form as it is: it must come back with a usable error summary."""
        self.page.locator("main button.coop-submit").click()
        self.page.wait_for_load_state("load")
        for problem in error_summary_problems(self.page):
            self.audit.add(f"{self.mode} {name}", problem)
        self.check(name)

    def sign_in(self, email: str) -> None:
        page = self.page
        page.goto("/")
        self.check("accueil public")
        connect = page.get_by_role("link", name="S'identifier avec ProConnect")
        href = connect.get_attribute("href")
        assert href == "/connexion"
        # The fake ProConnect has no password page: login_hint picks (and creates) the user.
        page.goto(f"{href}?login_hint={email}")
        assert page.url.endswith("/bienvenue"), page.url

    def onboarding(self) -> None:
        page = self.page
        assert page.get_by_role("heading", level=1).inner_text().startswith("Bienvenue Parcours")
        self.check("bienvenue")
        self.submit_empty_and_check("bienvenue erreurs")
        page.get_by_label("Nom du lieu").fill("Médiathèque des Lilas")
        page.get_by_label("Adresse").fill("3 place du Marché")
        page.get_by_label("Commune").fill("42218")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(re.compile(r"/\?message=bienvenue"))
        assert page.get_by_role("heading", level=1).inner_text().startswith("Bonjour Parcours")
        self.check("accueil")

    def create_beneficiary(self) -> tuple[str, str]:
        page = self.page
        page.get_by_role("link", name="Créer un bénéficiaire").first.click()
        page.wait_for_url("**/beneficiaires/nouveau")
        self.check("beneficiaire formulaire")
        self.submit_empty_and_check("beneficiaire erreurs")
        nom = f"Benali-{self.mode}"
        page.locator("#prenom").fill("Aïcha")
        page.locator("#nom").fill(nom)
        page.locator("#annee_naissance").fill("1980")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(re.compile(r"/beneficiaires/[^/?]+\?message=beneficiaire_cree"))
        person_id = page.url.split("/beneficiaires/")[1].split("?")[0]
        assert page.get_by_role("heading", level=1).inner_text() == f"Aïcha {nom}"
        self.check("beneficiaire profil nouveau")
        return person_id, f"Aïcha {nom}"

    def record_individuel(self, person_id: str, person_name: str) -> None:
        page = self.page
        page.locator("main").get_by_role("link", name="Enregistrer une activité").click()
        page.wait_for_url(f"**/activites/nouvelle?beneficiaire={person_id}")
        self.check("activite choix du type")
        page.get_by_role("link", name="Accompagnement individuel").click()
        page.wait_for_url(re.compile(r"/activites/nouvelle/individuel"))
        # Defaults: today, the only lieu, the person chosen from the profile.
        assert page.locator("#date").input_value() == today()
        assert page.locator("#canal-lieu_activite").is_checked()
        assert page.get_by_label("Médiathèque des Lilas", exact=True).is_checked()
        assert page.get_by_label(person_name, exact=True).is_checked()
        self.check("individuel formulaire")
        self.submit_empty_and_check("individuel erreurs")
        assert page.get_by_label(
            person_name, exact=True
        ).is_checked()  # kept across the failed post
        self.tap("duree-45")
        self.tap("thematiques-email")
        self.tap("autonomie-partiellement_autonome")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(re.compile(r"/activites\?message=activite_enregistree"))
        self.check("activites apres enregistrement")

    def record_demarche(self) -> None:
        page = self.page
        page.locator("main").get_by_role("link", name="Enregistrer une activité").click()
        page.get_by_role("link", name="Aide aux démarches administratives").click()
        page.wait_for_url(re.compile(r"/activites/nouvelle/demarche"))
        # Anonymous unless a person is linked: no beneficiary is preselected.
        assert (
            page.locator("input[name=beneficiaire_id][value]:checked:not([value=''])").count() == 0
        )
        self.check("demarche formulaire")
        self.submit_empty_and_check("demarche erreurs")
        self.tap("duree-30")
        self.tap("thematiques_demarche-logement")
        page.get_by_label("Nom de la démarche").fill("Demande d'APL")
        self.tap("finalisation-finalisee")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(re.compile(r"/activites\?message=activite_enregistree"))

    def record_collectif(self) -> None:
        page = self.page
        page.goto("/activites/nouvelle")
        page.get_by_role("link", name="Atelier collectif de médiation numérique").click()
        page.wait_for_url(re.compile(r"/activites/nouvelle/collectif"))
        self.check("collectif formulaire")
        self.submit_empty_and_check("collectif erreurs")
        self.tap("duree-120")
        page.get_by_label("Titre de l'atelier").fill("Premiers pas sur tablette")
        self.tap("niveau-debutant")
        self.tap("thematiques-bureautique")
        total = page.get_by_label("Participants anonymes")
        assert total.get_attribute("inputmode") == "numeric"
        total.fill("8")
        page.get_by_text("Préciser la répartition").click()
        page.get_by_label("Nombre de femmes").fill("5")
        page.get_by_label("Nombre d'hommes").fill("3")
        self.check("collectif repartition ouverte")
        page.locator("main button.coop-submit").click()
        page.wait_for_url(re.compile(r"/activites\?message=activite_enregistree"))

    def check_activities(self, person_name: str) -> None:
        page = self.page
        # Reached through the menu page, which works without JavaScript.
        page.goto("/menu")
        page.locator("main").get_by_role("link", name="Mes activités").click()
        page.wait_for_url(re.compile(r"/activites$"))
        cards = page.locator("main li.coop-activite")
        assert cards.count() == 3
        texts = [text.replace("\xa0", " ") for text in cards.all_inner_texts()]
        # Newest first: collectif, démarche, individuel.
        assert texts[0].startswith("Atelier collectif de médiation numérique")
        assert "8 participants" in texts[0]
        assert "Premiers pas sur tablette" in texts[0]
        assert texts[1].startswith("Aide aux démarches administratives")
        assert "Demande d'APL" in texts[1]
        assert texts[2].startswith("Accompagnement individuel")
        assert person_name in texts[2]
        self.check("activites liste")
        cards.nth(2).get_by_role("link").click()
        page.wait_for_url(re.compile(r"/activites/[^/?]+$"))
        assert person_name in page.locator("main").inner_text()
        self.check("activite detail")

    def check_profile(self, person_id: str) -> None:
        page = self.page
        page.goto(f"/beneficiaires/{person_id}")
        main = " ".join(page.locator("main").inner_text().split())
        assert "Nombre d'accompagnements 1" in main, main
        assert "e-mail 1 fois" in main.lower(), main  # the badge is upper-cased by CSS
        assert "Accompagnement individuel" in main
        self.check("beneficiaire profil")

    def check_statistics(self) -> None:
        """The stream pump feeds the statistics within a moment: reload until all three count."""
        page = self.page
        deadline = time.monotonic() + 30
        while True:
            page.goto("/statistiques")
            figures = read_figures(page)
            if figures.get("Accompagnements") == "10" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        # 1 individuel + 1 démarche + 8 atelier participants.
        assert figures.get("Accompagnements") == "10", figures
        assert figures["Accompagnements individuels"].startswith("1 "), figures
        assert figures["Aides aux démarches administratives"].startswith("1 "), figures
        assert figures["Participants aux ateliers collectifs"].startswith("8 "), figures
        assert "dans 1 atelier" in figures["Participants aux ateliers collectifs"], figures
        self.check("statistiques")

    def export(self, tmp_path: Path) -> Path:
        page = self.page
        page.goto("/activites")
        page.get_by_role("link", name="Exporter").click()
        page.wait_for_url(re.compile(r"/exports\?kind=activites"))
        self.check("export demande")
        self.tap("format-xlsx")
        page.get_by_role("button", name="Lancer l'export").click()
        page.wait_for_url(re.compile(r"/exports\?message=export_demande"))
        self.check("exports en preparation")
        ready = page.locator('[data-statut="pret"]')
        if self.javascript:
            # coop.js checks again in the background and swaps the card, announcing it.
            ready.wait_for(timeout=45_000)
            status = page.locator("[data-rafraichir] [role=status]").inner_text()
            assert "Prêt" in status, status
        else:
            deadline = time.monotonic() + 45
            while ready.count() == 0:
                assert time.monotonic() < deadline, "the export was not ready within 45 s"
                time.sleep(1)
                page.get_by_role("link", name="Actualiser la page").click()
                page.wait_for_load_state("load")
        assert ready.inner_text().strip().lower() == "prêt"
        # The « en préparation » confirmation is over once the card says « Prêt ».
        assert "en préparation" not in page.locator("main").inner_text()
        self.check("exports pret")
        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile("^Télécharger")).click()
        download = download_info.value
        target = tmp_path / (download.suggested_filename or "export.xlsx")
        download.save_as(target)
        return target


def read_figures(page: Any) -> dict[str, str]:
    """The "Général" figures: label → value (and detail), spaces normalised."""
    figures: dict[str, str] = {}
    for figure in page.locator(".coop-chiffre").all():
        label = " ".join(figure.locator(".coop-chiffre__libelle").inner_text().split())
        rest = figure.locator(".coop-chiffre__valeur, .coop-chiffre__detail").all_inner_texts()
        figures[label] = " ".join(" ".join(rest).split())
    return figures


def check_workbook(path: Path, person_name: str) -> None:
    assert path.suffix == ".xlsx", path
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheet = workbook.worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header_index = next(i for i, row in enumerate(rows) if "Type" in row)
    header = rows[header_index]
    records = [dict(zip(header, row, strict=False)) for row in rows[header_index + 1 :] if any(row)]
    by_type = {record["Type"]: record for record in records}
    assert len(records) == 3, records
    individuel = by_type["Accompagnement individuel"]
    assert individuel["Bénéficiaire"] == person_name
    assert individuel["Durée (min)"] == 45
    assert individuel["Thématiques de médiation numérique"] == "E-mail"
    assert individuel["Lieu d'activité"] == "Médiathèque des Lilas"
    demarche = by_type["Aide aux démarches administratives"]
    assert demarche["Bénéficiaire"] in (None, "")
    assert demarche["Nom de la démarche"] == "Demande d'APL"
    assert demarche["Thématiques de la démarche"] == "Logement"
    collectif = by_type["Atelier collectif de médiation numérique"]
    assert collectif["Nombre de participants"] == 8
    assert collectif["Titre de l'atelier"] == "Premiers pas sur tablette"
    assert collectif["Durée (min)"] == 120
    exported_date = individuel["Date"]
    exported = exported_date.date() if hasattr(exported_date, "date") else exported_date
    assert exported == date.fromisoformat(today())
