"""Small things a mediator notices (issue #15): « 1er » in dates, the durées they use most offered
first, and Mes exports no longer saying « en préparation » once the file is ready."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chalicelib.web.render import date_fr
from tests.conftest import Browser, Stack
from tests.support.exports import Worker, ask
from tests.support.web import create_activity, ready, today


def test_the_first_day_of_a_month_reads_1er() -> None:
    assert date_fr(date(2025, 1, 1)) == "1er janvier 2025"
    assert date_fr(date(2025, 3, 2)) == "2 mars 2025"
    assert date_fr(date(2025, 12, 31)) == "31 décembre 2025"


def test_an_activity_of_the_first_of_the_month_is_dated_1er_on_the_list_and_the_detail(
    browser: Browser,
) -> None:
    ready(browser, "premier.du.mois@example.org")
    first = today().replace(day=1)
    activite = create_activity(browser, date=first.isoformat())

    listing = browser.get("/activites")
    detail = browser.get(f"/activites/{activite['id']}")

    assert date_fr(first) in listing.plain and date_fr(first).startswith("1er ")
    assert f"<dd>{date_fr(first)}</dd>" in detail.plain


def _duree_order(page_text: str) -> list[str]:
    return re.findall(r'<input type="radio" id="duree-([a-z0-9]+)" name="duree"', page_text)


def test_the_three_durees_used_most_come_first(browser: Browser) -> None:
    ready(browser, "durees.frequentes@example.org")
    # A new mediator sees the usual order.
    assert _duree_order(browser.get("/activites/nouvelle/individuel").text) == [
        "15",
        "30",
        "45",
        "60",
        "90",
        "120",
        "autre",
    ]
    for minutes in (90, 90, 90, 45, 45, 120, 37):
        create_activity(browser, duree=minutes)

    for type_ in ("individuel", "collectif", "demarche"):
        order = _duree_order(browser.get(f"/activites/nouvelle/{type_}").text)
        # The three most used first (most used first), then the others as usual, then "Autre".
        assert order == ["90", "45", "120", "15", "30", "60", "autre"], type_


def test_mes_exports_stops_saying_en_preparation_once_the_file_is_ready(
    browser: Browser, app_setup: Any, aws: Stack, tmp_path: Any
) -> None:
    ready(browser, "export.pret.banniere@example.org")
    create_activity(browser)
    ask(browser)
    asked = browser.get("/exports?message=export_demande")
    assert "Votre export est en préparation" in asked.plain

    Worker(app_setup, aws, tmp_path).run()
    again = browser.get("/exports?message=export_demande")  # the same address, reloaded

    assert "Prêt" in again.plain
    assert "en préparation" not in again.plain
