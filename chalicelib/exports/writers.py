"""Streaming writers of the export files: csv and xlsx, from rows of typed values.

Pure Python over local files: memory stays flat whatever the number of rows (rows are consumed
one at a time; the xlsx library keeps one row in memory and the rest in a temporary file).

xlsx: XlsxWriter in `constant_memory` mode. On 20 000 activity rows (30 columns, CPU time),
openpyxl's `write_only` mode (with date formats and the formula guard) wrote about 1/17 of the
csv writer's rows/s, below the 1/15 we accept; XlsxWriter about 1/7.
The library is imported on the export path only (cold starts of the web Lambda never pay for it).

Text typed by users never becomes a formula: in xlsx every text is written as a string cell
(`strings_to_formulas` off, `write_string`), and in csv a text that a spreadsheet would read as
a formula (starting with = + - @, a tab or a carriage return) is prefixed with an apostrophe —
the usual neutralisation (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from chalicelib.exports.columns import DATE, DATETIME, INT, Column
from chalicelib.exports.statistiques import Classeur

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 control characters but tab and line ends: invisible, and not allowed in XML (xlsx would
# carry them as "_x0001_", shown as such by some readers). Dropped from xlsx cells.
_CONTROLS = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


@dataclass(frozen=True)
class Sheet:
    """What the xlsx writer needs besides the rows."""

    name: str  # the tab ("Activités")
    title: str  # the document title (metadata) and the first line of the header block
    columns: tuple[Column, ...]
    preamble: tuple[tuple[str, str], ...] = ()  # (label, value) lines above the table
    author: str = "Coop"
    language: str = "fr-FR"
    created: datetime | None = None


# --- csv ---------------------------------------------------------------------------------------


def neutralised(text: str) -> str:
    """A text a spreadsheet will show as typed, never evaluate."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_text(value: Any) -> str:
    return "" if value is None else neutralised(str(value))


def _csv_int(value: Any) -> str:
    return "" if value is None else str(int(value))


def _csv_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else _csv_text(value)


def _csv_datetime(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else _csv_text(value)


_CSV_FORMATS: dict[str, Callable[[Any], str]] = {
    INT: _csv_int,
    DATE: _csv_date,
    DATETIME: _csv_datetime,
}


def write_csv(path: Path, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> int:
    """UTF-8 with a BOM (Excel then reads the accents right), `;` separators (French Excel),
    CRLF line ends, one header line then one line per row; dates in ISO 8601. Returns the
    number of rows written."""
    formats = [_CSV_FORMATS.get(c.kind, _csv_text) for c in columns]
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow([neutralised(c.titre) for c in columns])
        for row in rows:
            writer.writerow([f(v) for f, v in zip(formats, row, strict=True)])
            count += 1
    return count


# --- xlsx --------------------------------------------------------------------------------------


def _xlsxwriter() -> Any:
    """XlsxWriter, with `dc:language` in the document properties (it writes every Dublin Core
    property but that one; openpyxl and office suites read it)."""
    import xlsxwriter
    from xlsxwriter import core, packager

    if not getattr(packager.Core, "coop_language", False):

        class CoreWithLanguage(core.Core):
            coop_language = True

            def _write_cp_category(self) -> None:
                super()._write_cp_category()
                language = self.properties.get("language")
                if language:
                    self._xml_data_element("dc:language", language)

        packager.Core = CoreWithLanguage
    return xlsxwriter


class _XlsxSheet:
    """One worksheet being written, row after row (constant memory: never go back up)."""

    def __init__(self, workbook: Any, sheet: Sheet) -> None:
        self.ws = workbook.add_worksheet(sheet.name[:31])
        self.sheet = sheet
        self.row = 0
        add = workbook.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.label = add({"bold": True})
        self.header = add(
            {
                "bold": True,
                "text_wrap": True,
                "valign": "top",
                "bg_color": "#E3E3FD",
                "bottom": 1,
            }
        )
        self.date = add({"num_format": "dd/mm/yyyy", "align": "left"})
        self.datetime = add({"num_format": "dd/mm/yyyy hh:mm", "align": "left"})
        for i, column in enumerate(sheet.columns):
            self.ws.set_column(i, i, column.width)

    def preamble(self) -> None:
        self.ws.write_string(0, 0, self.sheet.title, self.title)
        self.row = 1
        for name, value in self.sheet.preamble:
            self.ws.write_string(self.row, 0, name, self.label)
            self.ws.write_string(self.row, 1, value)
            self.row += 1
        if self.row > 0:
            self.row += 1  # one blank line before the table

    def header_row(self) -> int:
        for i, column in enumerate(self.sheet.columns):
            self.ws.write_string(self.row, i, column.titre, self.header)
        self.ws.set_row(self.row, 32)
        # Everything above the first data row stays in view while scrolling.
        self.ws.freeze_panes(self.row + 1, 0)
        self.row += 1
        return self.row - 1

    def cell_writers(self) -> list[Callable[[int, int, Any], Any]]:
        ws = self.ws

        def text(r: int, c: int, v: Any) -> None:
            if v is not None and v != "":
                ws.write_string(r, c, str(v).translate(_CONTROLS))

        def number(r: int, c: int, v: Any) -> None:
            if v is not None:
                ws.write_number(r, c, v)

        def day(r: int, c: int, v: Any) -> None:
            if v is not None:
                ws.write_datetime(r, c, v, self.date)

        def moment(r: int, c: int, v: Any) -> None:
            if v is not None:
                ws.write_datetime(r, c, v, self.datetime)

        by_kind = {INT: number, DATE: day, DATETIME: moment}
        return [by_kind.get(c.kind, text) for c in self.sheet.columns]


def write_xlsx(path: Path, sheet: Sheet, rows: Iterable[Sequence[Any]]) -> int:
    """A workbook with one named sheet: the header block, the column titles (frozen, with an
    autofilter), one row per item with real numbers and dates, readable widths; title, author
    and language in the document properties. Returns the number of rows written."""
    xlsxwriter = _xlsxwriter()
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "tmpdir": str(path.parent),
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    properties: dict[str, Any] = {
        "title": sheet.title,
        "author": sheet.author,
        "language": sheet.language,
    }
    if sheet.created:
        properties["created"] = sheet.created
    workbook.set_properties(properties)
    out = _XlsxSheet(workbook, sheet)
    out.preamble()
    header = out.header_row()
    writers = out.cell_writers()
    count = 0
    row = out.row
    for values in rows:
        for c, (write, value) in enumerate(zip(writers, values, strict=True)):
            write(row, c, value)
        row += 1
        count += 1
    out.ws.autofilter(header, 0, header + max(count, 1), len(sheet.columns) - 1)
    workbook.close()
    return count


# --- the statistics workbook ------------------------------------------------------------------


def write_report(path: Path, book: Classeur) -> int:
    """The statistics workbook: one sheet per block, the header block on top of each, then each
    table (its title, libellé / nombre / pourcentage with a % format, its note). Small: written
    in one go. Returns the number of table rows."""
    xlsxwriter = _xlsxwriter()
    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    properties: dict[str, Any] = {"title": book.titre, "author": "Coop", "language": "fr-FR"}
    if book.cree_le:
        properties["created"] = book.cree_le
    workbook.set_properties(properties)
    add = workbook.add_format
    styles = {
        "titre": add({"bold": True, "font_size": 14}),
        "label": add({"bold": True}),
        "section": add({"bold": True, "font_size": 12}),
        "entete": add({"bold": True, "bg_color": "#E3E3FD", "bottom": 1}),
        "pourcentage": add({"num_format": "0.0%"}),
        "note": add({"italic": True, "font_color": "#666666"}),
    }
    count = 0
    for feuille in book.feuilles:
        ws = workbook.add_worksheet(feuille.nom[:31])
        ws.set_column(0, 0, 48)
        ws.set_column(1, 2, 14)
        ws.set_column(3, 3, 40)
        ws.write_string(0, 0, book.titre, styles["titre"])
        row = 1
        for name, value in book.preambule:
            ws.write_string(row, 0, name, styles["label"])
            ws.write_string(row, 1, value.translate(_CONTROLS))
            row += 1
        for section in feuille.sections:
            row = _write_section(ws, row + 1, section, styles)
            count += len(section.lignes)
    workbook.close()
    return count


def _write_section(ws: Any, row: int, section: Any, styles: dict[str, Any]) -> int:
    ws.write_string(row, 0, section.titre, styles["section"])
    row += 1
    precision = any(detail for *_, detail in section.lignes)
    headers = [section.colonne, "Nombre", "Pourcentage", *(["Précision"] if precision else [])]
    for col, header in enumerate(headers):
        ws.write_string(row, col, header, styles["entete"])
    row += 1
    for libelle, nombre, pourcentage, detail in section.lignes:
        ws.write_string(row, 0, libelle.translate(_CONTROLS))
        ws.write_number(row, 1, nombre)
        if pourcentage is not None:
            ws.write_number(row, 2, pourcentage / 100, styles["pourcentage"])
        if detail:
            ws.write_string(row, 3, detail)
        row += 1
    if not section.lignes:
        ws.write_string(row, 0, "Aucune donnée sur la période.", styles["note"])
        row += 1
    if section.note:
        ws.write_string(row, 0, section.note, styles["note"])
        row += 1
    return row


# --- a spool: rows on disk while they are counted ------------------------------------------------


class Spool:
    """Rows kept in a local file: the header block announces the total, which is only known
    once every row was read. Memory stays flat; the file is ours (pickle is safe here)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: BinaryIO | None = None

    def __enter__(self) -> Spool:
        self._fh = self.path.open("wb")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None

    def append(self, row: tuple[Any, ...]) -> None:
        assert self._fh is not None
        pickle.dump(row, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def rows(self) -> Iterator[tuple[Any, ...]]:
        with self.path.open("rb") as fh:
            for _ in range(self.count):
                yield pickle.load(fh)  # noqa: S301 - written just above by this process
