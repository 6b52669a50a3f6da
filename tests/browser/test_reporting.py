"""Reporting at month end (SPEC §5): « Imprimer / PDF » and « Partager », in Chromium.

- The print stylesheet, with print media emulated: no header, menu, filters form or buttons;
  whose figures and the period on top; charts and tables kept; no block cut across pages.
- The print view without JavaScript (`?imprimer=1`), and window.print() with it.
- The share pages without JavaScript: the confirmation form (and its error state), the list with
  the new link, the public page opened by someone without an account, revocation, the 404 after
  it; a gestionnaire shares the structure's statistics.
Every page goes through the audit at 390 px and 1280 px (axe-core 0 violations, targets, layout
at 320 px, focus rings where JavaScript runs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.checks import PHONE, Audit, error_summary_problems, today
from tests.browser.conftest import Stack, grant_gestionnaire, new_context, new_email

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"390": PHONE, "1280": DESKTOP}
# Shown on screen, never on paper.
NOT_PRINTED = (
    ".fr-header",
    ".coop-sidemenu",
    ".coop-stats-filtres",
    ".fr-summary",
    ".coop-rapport-actions",
    ".fr-footer",
)


@dataclass(frozen=True)
class Mediator:
    email: str
    storage_state: Path


def sign_in_and_onboard(page: Any, email: str) -> None:
    page.goto(f"/connexion?login_hint={email}")
    page.locator("#nom").fill("Espace numérique des Lilas")
    page.locator("#adresse").fill("1 rue de la Mairie")
    page.locator("#commune_insee").fill("42218")
    page.locator("main button.coop-submit").click()
    page.wait_for_load_state("load")


def record_activities(context: Any) -> None:
    """Two activities of today through the JSON API (the forms are the journey's business)."""
    moi = context.request.get("/api/moi", headers={"Accept": "application/json"}).json()
    headers = {"X-CSRF-Token": moi["csrf_token"], "Accept": "application/json"}
    for body in (
        {"type": "individuel", "duree": 30, "thematiques": ["email", "sante"]},
        {"type": "collectif", "duree": 90, "thematiques": ["email"]}
        | {"participants_anonymes": {"total": 6}},
    ):
        answer = context.request.post(
            "/api/activites",
            data={
                "date": today(),
                "canal": "lieu_activite",
                "lieu_id": moi["lieux"][0]["id"],
                **body,
            },
            headers=headers,
        )
        assert answer.status == 201, answer.text()


def wait_for_figures(page: Any, url: str) -> None:
    """The statistics follow the stream: wait until the page shows the activities."""
    deadline = time.monotonic() + 20
    while True:
        page.goto(url)
        if page.locator("svg.coop-chart").count():
            return
        assert time.monotonic() < deadline, "the statistics never showed the activities"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def mediator(browser: Any, base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Mediator:
    context = new_context(browser, base_url)
    page = context.new_page()
    email = new_email("rapport")
    try:
        sign_in_and_onboard(page, email)
        record_activities(context)
        wait_for_figures(page, "/statistiques")
        state = tmp_path_factory.mktemp("rapport") / "state.json"
        context.storage_state(path=str(state))
    finally:
        context.close()
    return Mediator(email, state)


@pytest.fixture
def signed_in(browser: Any, base_url: str, mediator: Mediator) -> Iterator[Any]:
    context = new_context(browser, base_url, storage_state=str(mediator.storage_state))
    yield context
    context.close()


def audit_at_both_widths(audit: Audit, page: Any, name: str) -> None:
    """The audit at 390 px, then at 1280 px (its 320 px check puts the phone size back)."""
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        audit.check(page, f"{name} {width}")
    page.set_viewport_size(PHONE)


def visible(page: Any, selector: str) -> bool:
    found = page.locator(selector)
    return any(found.nth(i).is_visible() for i in range(found.count()))


def print_problems(page: Any, shot: Path) -> list[str]:
    """What is wrong with the page as printed (print media emulated); `shot`: a screenshot of
    it as printed."""
    problems: list[str] = []
    page.emulate_media(media="print")
    try:
        page.screenshot(path=str(shot), full_page=True)
        problems += [f"printed: {s}" for s in NOT_PRINTED if visible(page, s)]
        for kept in ("h1", "#periode-affichee", "svg.coop-chart", ".coop-stat__table table"):
            if not visible(page, kept):
                problems.append(f"not printed: {kept}")
        if not visible(page, ".coop-rapport-sujet"):
            problems.append("the name is not printed")
        order = page.evaluate(
            """() => {
              const top = s => document.querySelector(s).getBoundingClientRect().top;
              return top('#periode-affichee') < top('#stats-general')
                && top('.coop-rapport-sujet') < top('#stats-general');
            }"""
        )
        if not order:
            problems.append("the period and the name are not on top")
        cut = page.evaluate(
            """() => [...document.querySelectorAll('.coop-stat, .coop-chiffre')]
                 .filter(el => getComputedStyle(el).breakInside !== 'avoid').length"""
        )
        if cut:
            problems.append(f"{cut} block(s) may be cut across pages")
        pdf = page.pdf(format="A4")
        if not pdf.startswith(b"%PDF"):
            problems.append("no PDF")
    finally:
        page.emulate_media(media="screen")
    return problems


# --- print -------------------------------------------------------------------------------------


def test_the_statistics_print_cleanly(signed_in: Any, axe_source: str, screenshots: Path) -> None:
    """Given the statistics of a mediator, when printed (print media), then only the report
    remains; « Imprimer / PDF » calls window.print() without leaving the page."""
    audit = Audit(axe_source, screenshots)
    page = signed_in.new_page()
    page.goto("/statistiques")
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        shot = screenshots / f"statistiques-imprimees-{width}.png"
        for problem in print_problems(page, shot):
            audit.add(f"statistiques imprimees {width}", problem)
    page.set_viewport_size(PHONE)
    page.evaluate("() => { window.print = () => { window.__imprime = true; }; }")
    url = page.url

    page.get_by_role("link", name="Imprimer / PDF").click()

    assert page.evaluate("() => window.__imprime === true")
    assert page.url == url
    audit.assert_clean()


def test_the_print_view_without_javascript(
    browser: Any, base_url: str, mediator: Mediator, axe_source: str, screenshots: Path
) -> None:
    """Given JavaScript off, when the mediator follows « Imprimer / PDF », then the print view
    shows the report (name, period, figures, no form) with a way back, and prints cleanly."""
    audit = Audit(axe_source, screenshots, javascript=False)
    context = new_context(
        browser, base_url, javascript=False, storage_state=str(mediator.storage_state)
    )
    page = context.new_page()
    try:
        page.goto("/statistiques")
        page.get_by_role("link", name="Imprimer / PDF").click()
        page.wait_for_url(re.compile(r"imprimer=1"))
        assert page.locator("form.coop-stats-filtres").count() == 0
        assert page.locator(".coop-rapport-sujet strong").inner_text().strip()
        assert page.locator("svg.coop-chart").count() > 3
        audit_at_both_widths(audit, page, "nojs impression")
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            shot = screenshots / f"nojs-impression-imprimee-{width}.png"
            for problem in print_problems(page, shot):
                audit.add(f"nojs impression imprimee {width}", problem)
        page.set_viewport_size(PHONE)
        page.get_by_role("link", name="Retour aux statistiques").click()
        page.wait_for_load_state("load")
        assert page.locator("form.coop-stats-filtres").count() == 1
    finally:
        context.close()
    audit.assert_clean()


# --- share --------------------------------------------------------------------------------------


def create_link(page: Any, audit: Audit, name: str) -> str:
    """From a statistics page: « Partager », a wrong expiry date first, then a right one."""
    page.get_by_role("link", name="Partager", exact=True).click()
    page.wait_for_url(re.compile(r"/statistiques/partages/nouveau"))
    audit_at_both_widths(audit, page, f"{name} partager")
    page.locator("#expire_le").fill(today())
    page.locator("main button.coop-submit").click()
    page.wait_for_load_state("load")
    for problem in error_summary_problems(page):
        audit.add(f"{name} partager erreur", problem)
    audit_at_both_widths(audit, page, f"{name} partager erreur")
    later = date.fromisoformat(today()) + timedelta(days=30)
    page.locator("#expire_le").fill(later.isoformat())
    page.locator("main button.coop-submit").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Votre lien de partage est prêt").count() == 1
    audit_at_both_widths(audit, page, f"{name} lien cree")
    url = str(page.locator("#lien-nouveau").input_value())
    assert re.search(r"/s/[A-Za-z0-9_-]{43}$", url), url
    return url


def test_share_pages_without_javascript(
    browser: Any, base_url: str, mediator: Mediator, axe_source: str, screenshots: Path
) -> None:
    """Given JavaScript off, a mediator makes a link, someone without an account opens it (and
    prints it), the owner sees the open counted, revokes it, and the link answers 404."""
    audit = Audit(axe_source, screenshots, javascript=False)
    owner = new_context(
        browser, base_url, javascript=False, storage_state=str(mediator.storage_state)
    )
    visitor = new_context(browser, base_url, javascript=False)
    try:
        page = owner.new_page()
        page.goto("/statistiques")
        url = create_link(page, audit, "nojs")

        public = visitor.new_page()
        public.goto("/s/" + url.rsplit("/", 1)[1])
        assert public.get_by_role("heading", level=1).inner_text().startswith("Statistiques de")
        assert public.get_by_role("link", name="Se connecter").count() == 0
        assert public.locator(".fr-sidemenu, .coop-stats-filtres").count() == 0
        assert public.locator("svg.coop-chart").count() > 3
        audit_at_both_widths(audit, public, "nojs partage public")
        public.emulate_media(media="print")
        assert public.locator("svg.coop-chart").first.is_visible()
        assert not public.locator(".fr-header").is_visible()
        public.emulate_media(media="screen")

        page.goto("/statistiques/partages")
        assert "Ouvert 1 fois" in page.locator("main").inner_text()
        audit_at_both_widths(audit, page, "nojs liens de partage")
        page.get_by_role("button", name=re.compile("^Révoquer")).first.click()
        page.wait_for_load_state("load")
        assert "Le lien a été révoqué" in page.locator("main").inner_text()
        audit_at_both_widths(audit, page, "nojs lien revoque")

        answer = public.reload()
        assert answer is not None and answer.status == 404
        assert public.get_by_role("heading", level=1).inner_text() == "Page introuvable"
        audit_at_both_widths(audit, public, "nojs partage revoque 404")
    finally:
        owner.close()
        visitor.close()
    audit.assert_clean()


def test_share_pages_with_javascript(signed_in: Any, axe_source: str, screenshots: Path) -> None:
    """With JavaScript the same pages stay clean (focus rings are checked here)."""
    audit = Audit(axe_source, screenshots)
    page = signed_in.new_page()
    page.goto("/statistiques?periode=12_mois")
    create_link(page, audit, "js")
    page.goto("/statistiques/partages")
    audit_at_both_widths(audit, page, "js liens de partage")
    audit.assert_clean()


def test_a_gestionnaire_shares_the_structures_statistics(
    browser: Any, stack: Stack, axe_source: str, screenshots: Path
) -> None:
    audit = Audit(axe_source, screenshots, javascript=False)
    context = new_context(browser, stack.base_url, javascript=False)
    page = context.new_page()
    email = new_email("rapport.gestion")
    try:
        page.goto(f"/connexion?login_hint={email}")
        grant_gestionnaire(stack, email)
        page.goto("/structure/statistiques")
        url = create_link(page, audit, "nojs structure")
        page.goto("/statistiques/partages")
        main = page.locator("main").inner_text()
        assert "Statistiques de ma structure" in main and "Jamais ouvert" in main
        audit_at_both_widths(audit, page, "nojs structure liens de partage")
        page.goto("/structure/statistiques")
        page.get_by_role("link", name="Imprimer / PDF").click()
        page.wait_for_url(re.compile(r"imprimer=1"))
        assert page.get_by_role("heading", level=1).inner_text() == "Statistiques de ma structure"
        audit_at_both_widths(audit, page, "nojs structure impression")
        context.clear_cookies()  # the recipient has no account
        page.goto("/s/" + url.rsplit("/", 1)[1])
        assert (
            page.get_by_role("heading", level=1)
            .inner_text()
            .startswith("Statistiques de la structure")
        )
        audit_at_both_widths(audit, page, "nojs structure partage public")
    finally:
        context.close()
    audit.assert_clean()
