"""Statistics charts (SPEC §5): distributions as horizontal bars with "42 (12,5 %)", months as
vertical bars; valid SVG, one bar per value, accessible names, escaped text, no inline style."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chalicelib.web.svg import (
    mois_fr,
    month_chart,
    nombre_et_part,
    pourcentage_fr,
    share_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # noqa: S314 - our own markup, under test
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert "style=" not in markup and "<script" not in markup
    return root


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def _accessible_name(root: ET.Element) -> str:
    ids = (root.get("aria-labelledby") or "").split()
    found = {el.get("id"): (el.text or "") for el in root.iter() if el.get("id")}
    assert ids and all(i in found for i in ids), (ids, found)
    return " ".join(found[i] for i in ids)


def _rects(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}rect"))


def _viewbox(root: ET.Element) -> list[float]:
    return [float(v) for v in (root.get("viewBox") or "").split()]


# --- French numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "percent", "expected"),
    [
        (42, 12.5, "42 (12,5 %)"),
        (0, 0.0, "0 (0,0 %)"),
        (3, 100.0, "3 (100,0 %)"),
        (1234, 33.3, "1\u202f234 (33,3 %)"),
    ],
)
def test_given_a_count_and_a_share_when_written_then_french_with_one_decimal(
    count: int, percent: float, expected: str
) -> None:
    assert nombre_et_part(count, percent) == expected


def test_percentages_and_months_read_in_french() -> None:
    assert pourcentage_fr(66.66) == "66,7 %"
    assert mois_fr("2025-03") == "mars 2025"
    assert mois_fr("2024-12") == "décembre 2024"
    assert mois_fr("n'importe") == "n'importe"


# --- distributions ------------------------------------------------------------------------------


ROWS = [("E-mail", 3, 42.9), ("Santé", 2, 28.6), ("Bureautique", 1, 14.3)]


def test_given_a_distribution_when_charted_then_one_bar_per_value_with_count_and_share() -> None:
    markup = share_chart(ROWS, chart_id="thematiques", title="Thématiques", desc="Du 1 au 2.")
    root = _parse(markup)

    rects = _rects(root)
    assert len(rects) == 3
    widths = [float(r.get("width") or 0) for r in rects]
    assert widths[0] > widths[1] > widths[2] > 0
    assert widths[2] == pytest.approx(widths[0] / 3, rel=0.01)
    assert {"E-mail", "3 (42,9 %)", "Santé", "2 (28,6 %)"} <= set(_texts(root))
    assert rects[0].findtext(f"{SVG}title") == "E-mail : 3 (42,9 %)"
    assert _accessible_name(root) == "Thématiques Du 1 au 2."
    # Bars and their values stay inside the view, even the longest one.
    width = _viewbox(root)[2]
    assert all(float(r.get("x") or 0) + w <= width for r, w in zip(rects, widths, strict=True))


def test_given_hostile_labels_when_charted_then_they_are_escaped() -> None:
    markup = share_chart(
        [('<script>alert("x")</script> & co', 1, 100.0)],
        chart_id='x" onload="alert(1)',
        title="<b>Titre</b>",
        desc="Tom & Jerry",
    )
    root = _parse(markup)

    assert 'onload="' not in markup and "<b>" not in markup
    assert '<script>alert("x")</script> & co' in _texts(root)
    assert root.findtext(f"{SVG}title") == "<b>Titre</b>"
    assert all(c.isalnum() or c in "-_" for c in root.get("id") or "")


def test_given_no_value_or_only_zeros_when_charted_then_nothing_is_drawn() -> None:
    assert share_chart([], chart_id="vide", title="Rien") == ""
    assert share_chart([("E-mail", 0, 0.0), ("Santé", 0, 0.0)], chart_id="z", title="Z") == ""
    # One real value among zeros: every row keeps its bar (a zero-length one for the zeros).
    root = _parse(share_chart([("A", 0, 0.0), ("B", 4, 100.0)], chart_id="a", title="A"))
    widths = [float(r.get("width") or 0) for r in _rects(root)]
    assert widths[0] == 0 < widths[1]
    assert "0 (0,0 %)" in _texts(root)


# --- months -------------------------------------------------------------------------------------


COUNTS = [5, 0, 3, 12, 7, 1, 0, 0, 9, 4, 2, 6]
YEAR = [(f"2025-{m:02d}", n) for m, n in zip(range(1, 13), COUNTS, strict=True)]


def test_given_twelve_months_when_charted_then_one_vertical_bar_each_taller_for_more() -> None:
    markup = month_chart(YEAR, chart_id="par-mois", title="Accompagnements par mois", desc="2025")
    root = _parse(markup)

    rects = _rects(root)
    assert len(rects) == 12
    heights = [float(r.get("height") or 0) for r in rects]
    xs = [float(r.get("x") or 0) for r in rects]
    assert xs == sorted(xs)  # oldest on the left
    assert heights[3] == max(heights) and heights[1] == 0
    assert heights[0] == pytest.approx(heights[3] * 5 / 12, rel=0.01)
    # Bars stand on one baseline.
    bottoms = {round(float(r.get("y") or 0) + h, 1) for r, h in zip(rects, heights, strict=True)}
    assert len(bottoms) == 1
    assert rects[3].findtext(f"{SVG}title") == "avril 2025 : 12 accompagnements"
    assert rects[5].findtext(f"{SVG}title") == "juin 2025 : 1 accompagnement"
    texts = _texts(root)
    assert "2025" in texts and "12" in texts
    assert _accessible_name(root) == "Accompagnements par mois 2025"
    width = _viewbox(root)[2]
    assert all(x + float(r.get("width") or 0) <= width for x, r in zip(xs, rects, strict=True))


def test_given_few_months_when_charted_then_their_short_names_are_written() -> None:
    root = _parse(month_chart([("2024-12", 2), ("2025-01", 4)], chart_id="m", title="M"))

    texts = _texts(root)
    assert {"déc.", "janv.", "2", "4"} <= set(texts)
    assert "2025" in texts  # the January carries its year


def test_given_many_months_when_charted_then_labels_shrink_but_every_bar_stays() -> None:
    months = [(f"{2023 + i // 12}-{i % 12 + 1:02d}", i) for i in range(36)]
    root = _parse(month_chart(months, chart_id="m", title="M"))

    assert len(_rects(root)) == 36
    texts = _texts(root)
    assert {"2024", "2025"} <= set(texts)
    assert "janv." not in texts


def test_given_no_month_or_only_zeros_when_charted_then_nothing_is_drawn() -> None:
    assert month_chart([], chart_id="m", title="M") == ""
    assert month_chart([("2025-01", 0), ("2025-02", 0)], chart_id="m", title="M") == ""
