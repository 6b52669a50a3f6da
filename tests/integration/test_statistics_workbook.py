"""« Exporter les statistiques » (SPEC §5 Reporting): the workbook holds exactly the figures the
page and /api/statistiques give for the same filters — read back with openpyxl, cell by cell, for
three filter sets — through the real path: the export queued in SQS, the worker run by the local
pump, the file in S3, the presigned link downloaded.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook

from tests.conftest import Browser, Stack
from tests.support.exports import (
    Worker,
    create_activity,
    create_person,
    download,
    export_of,
    presigned,
    ready,
    today,
)

SHEETS = {
    "Général": None,
    "Accompagnements": (
        "thematiques",
        "thematiques_demarche",
        "materiel",
        "canaux",
        "durees",
        "lieux",
        "communes",
        "autonomie",
        "redirections",
    ),
    "Bénéficiaires": ("genres", "tranches_age", "statuts", "communes_residence"),
}
ORDINAL = {"durees", "autonomie", "tranches_age"}


@pytest.fixture
def worker(app_setup: Any, aws: Stack, tmp_path: Path) -> Worker:
    return Worker(app_setup, aws, tmp_path)


def _tables(sheet: Any) -> dict[str, list[tuple[str, int, float | None]]]:
    """Each table of a sheet: its title -> rows of (libellé, nombre, pourcentage in %)."""
    tables: dict[str, list[tuple[str, int, float | None]]] = {}
    current: list[tuple[str, int, float | None]] | None = None
    title = None
    for row in sheet.iter_rows(values_only=True):
        first, second, third = [*row, None, None, None][:3]
        if first and second == "Nombre":
            current = tables.setdefault(str(title), [])
        elif isinstance(second, int | float) and current is not None and first:
            percent = None if third is None else round(float(third) * 100, 1)
            current.append((str(first), int(second), percent))
        elif first and second is None:
            title, current = first, None
    return tables


def _expected(items: list[dict[str, Any]], ordinal: bool) -> list[tuple[str, int, float]]:
    rows = items if ordinal else [i for i in items if i["nombre"] > 0]
    if not any(i["nombre"] for i in rows):
        return []
    if not ordinal:
        rows = sorted(rows, key=lambda i: -i["nombre"])
    return [(i["libelle"], i["nombre"], i["pourcentage"]) for i in rows]


def _workbook(browser: Browser, worker: Worker, filters: dict[str, str]) -> Any:
    asked = browser.api("POST", "/api/exports", {"kind": "statistiques", "filters": filters})
    assert asked.status == 202, asked.text
    worker.run()
    export = export_of(browser, asked.json()["id"])
    assert export["statut"] == "pret", export
    assert export["fichier"] == f"coop_statistiques_{today().isoformat()}.xlsx"
    content, _ = download(presigned(browser, export["id"]))
    return load_workbook(io.BytesIO(content), read_only=False)


@pytest.mark.parametrize(
    "filters",
    [
        {"periode": "ce_mois"},
        {"periode": "cette_annee", "type": "individuel"},
        {"du": "2020-01-01", "au": "TODAY", "canal": "lieu_activite"},
    ],
)
def test_the_workbook_holds_the_figures_of_the_api_for_the_same_filters(
    browser: Browser, worker: Worker, filters: dict[str, str]
) -> None:
    ready(browser, f"classeur.stats.{len(filters)}.{filters.get('periode', 'du')}@example.org")
    browser.refresh_csrf()
    helene = create_person(browser, "Hélène", "Dupont", commune_insee="69383", genre="feminin")
    create_activity(browser, beneficiaire_id=helene["id"], autonomie="autonome")
    create_activity(browser, thematiques=["sante", "email"], materiel=["ordinateur"])
    create_activity(browser, canal="a_distance", lieu_id=None, duree=120)
    filters = {k: (today().isoformat() if v == "TODAY" else v) for k, v in filters.items()}

    book = _workbook(browser, worker, filters)
    api = browser.api("GET", "/api/statistiques?" + urlencode(filters)).json()

    assert book.sheetnames == list(SHEETS)
    general = book["Général"]
    header = {row[0].value: row[1].value for row in general.iter_rows(min_row=2, max_row=5)}
    assert header["Période"].startswith("du ")
    chiffres = _tables(general)["Chiffres clés"]
    by_label = {label: (nombre, pct) for label, nombre, pct in chiffres}
    acc, ben = api["accompagnements"], api["beneficiaires"]
    assert by_label["Accompagnements"] == (acc["total"], None)
    assert by_label["Accompagnements individuels"][0] == acc["individuel"]
    assert by_label["Bénéficiaires accompagnés"][0] == ben["total"]
    assert by_label["dont nouveaux bénéficiaires"][0] == ben["nouveaux"]
    months = _tables(general)["Accompagnements par mois"]
    assert [n for _, n, _ in months] == [m["accompagnements"] for m in api["par_mois"]]
    for sheet, keys in SHEETS.items():
        if keys is None:
            continue
        tables = _tables(book[sheet])
        titles = list(tables)
        for key, title in zip(keys, titles, strict=True):
            assert tables[title] == _expected(api[key], key in ORDINAL), (sheet, key)


def test_statistics_are_exported_in_excel_only_and_for_their_own_filters(
    browser: Browser,
) -> None:
    ready(browser, "classeur.stats.refus@example.org")
    browser.refresh_csrf()

    csv = browser.api("POST", "/api/exports", {"kind": "statistiques", "format": "csv"})
    theme = browser.api(
        "POST", "/api/exports", {"kind": "statistiques", "filters": {"thematique": "email"}}
    )
    future = browser.api(
        "POST", "/api/exports", {"kind": "statistiques", "filters": {"au": "9999-12-31"}}
    )
    unknown = browser.api(
        "POST", "/api/exports", {"kind": "statistiques", "filters": {"periode": "toujours"}}
    )

    assert csv.status == 422 and "format" in csv.json()["errors"]
    assert theme.status == 422 and "filters.thematique" in theme.json()["errors"]
    assert future.status == 422 and "filters.au" in future.json()["errors"]
    assert unknown.status == 422 and "filters.periode" in unknown.json()["errors"]
