"""« Exporter les statistiques » from the statistics pages (SPEC §5 Reporting): the page links to
Mes exports with its period and filters; the confirmation page says which days and filters the
workbook covers (a preset is resolved when asked), refuses filters it cannot read, and asks for
the workbook (`kind: statistiques`). The workbook's figures: tests/integration/
test_statistics_workbook.py."""

from __future__ import annotations

import html
import re
from typing import Any

from chalicelib.domain.dates import jour_fr
from tests.conftest import Browser
from tests.support.web import make_gestionnaire, new_siret, ready, sign_in_member, today


def _export_link(page: Any) -> str:
    found = re.search(r'href="(/exports\?kind=statistiques[^"]*)"', page.text)
    assert found, "no « Exporter les statistiques » link"
    return html.unescape(found.group(1))


def test_the_statistics_page_links_to_an_export_of_what_it_shows(browser: Browser) -> None:
    """Given Mes statistiques for this month and one canal, « Exporter les statistiques » leads
    to a confirmation that names the days covered and the canal, then asks for the workbook."""
    ready(browser, "stats.export.page@example.org")
    page = browser.get("/statistiques?periode=ce_mois&canal=a_distance")
    link = _export_link(page)

    confirmation = browser.get(link)

    assert confirmation.status == 200
    first = today().replace(day=1)
    assert f"Période : du {jour_fr(first)} au {jour_fr(today())}" in confirmation.plain
    assert "Canal : À distance" in confirmation.plain
    assert 'value="csv"' not in confirmation.text  # Excel only
    action = html.unescape(
        re.search(r'form method="post" action="(/exports[^"]+)"', confirmation.text)[1]
    )
    asked = browser.post(action, {"format": "xlsx", "scope": "mediateur"})
    assert asked.status == 303
    [export] = browser.api("GET", "/api/exports").json()["items"]
    assert (export["kind"], export["statut"]) == ("statistiques", "en_attente")
    assert export["filters"] == {
        "du": first.isoformat(),
        "au": today().isoformat(),
        "canal": "a_distance",
    }


def test_an_unreadable_filter_is_explained_and_nothing_is_exported(browser: Browser) -> None:
    ready(browser, "stats.export.invalide@example.org")

    confirmation = browser.get("/exports?kind=statistiques&du=2019-01-01&type=zzz")
    posted = browser.post("/exports?kind=statistiques&du=2019-01-01&type=zzz", {"format": "xlsx"})

    assert confirmation.status == 400 and posted.status == 400
    assert "Ce filtre n'est pas valide" in confirmation.plain
    assert browser.api("GET", "/api/exports").json()["items"] == []


def test_a_gestionnaire_exports_the_structures_statistics(new_browser: Any, idp: Any) -> None:
    siret = new_siret()
    alice = sign_in_member(new_browser(), idp, f"stats.export.{siret}@example.org", siret)
    make_gestionnaire(alice)
    link = _export_link(alice.get("/structure/statistiques?periode=cette_annee"))
    assert "portee=structure" in link

    confirmation = alice.get(link)
    action = html.unescape(
        re.search(r'form method="post" action="(/exports[^"]+)"', confirmation.text)[1]
    )
    asked = alice.post(action, {"format": "xlsx", "scope": "structure"})

    assert asked.status == 303
    [export] = alice.api("GET", "/api/exports").json()["items"]
    assert (export["kind"], export["scope"]) == ("statistiques", "structure")
