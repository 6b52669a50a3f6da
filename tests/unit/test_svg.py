"""Server-side SVG charts: valid markup, one mark per value, accessible names, no inline styles."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from chalicelib.web.svg import AUTONOMIE_AXE, FONT_SIZE, autonomy_chart, level_chart, share_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # noqa: S314 - our own markup, under test
    assert root.tag == f"{SVG}svg"
    return root


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def _accessible_name(root: ET.Element) -> str:
    ids = (root.get("aria-labelledby") or "").split()
    found = {el.get("id"): (el.text or "") for el in root.iter() if el.get("id")}
    assert ids and all(i in found for i in ids), (ids, found)
    return " ".join(found[i] for i in ids)


POINTS = [
    (date(2025, 3, 14), "partiellement_autonome"),
    (date(2025, 1, 6), "entierement_accompagne"),
    (date(2025, 6, 2), "autonome"),
    (date(2025, 6, 2), "autonome"),
]


def test_given_autonomy_levels_when_charted_then_one_marker_per_accompaniment_on_its_level() -> (
    None
):
    markup = autonomy_chart(POINTS, chart_id="autonomie-1")
    root = _parse(markup)

    assert root.get("role") == "img"
    assert "Évolution de l'autonomie" in _accessible_name(root)
    assert "4 accompagnements du 06/01/2025 au 02/06/2025" in _accessible_name(root)
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 4
    # Oldest first, left to right; the higher the autonomy, the higher the marker (smaller y).
    xs = [float(c.get("cx") or 0) for c in circles]
    ys = [float(c.get("cy") or 0) for c in circles]
    assert xs == sorted(xs) and xs[2] == xs[3]
    assert ys[0] > ys[1] > ys[2] == ys[3]
    tips = [c.findtext(f"{SVG}title") for c in circles]
    assert tips[0] == "06/01/2025 : Fait à la place de la personne"
    assert tips[2] == "02/06/2025 : Fait par la personne elle-même"
    assert {"Fait à la place", "Fait avec", "Fait par la personne"} <= set(_texts(root))
    assert {"06/01/2025", "02/06/2025"} <= set(_texts(root))
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    assert "style=" not in markup and "<script" not in markup


def test_given_one_day_or_unknown_levels_when_charted_then_a_centred_marker_or_nothing() -> None:
    single = _parse(autonomy_chart([(date(2025, 2, 1), "autonome"), (date(2025, 2, 1), "?")]))
    (circle,) = single.iter(f"{SVG}circle")
    width = float((single.get("viewBox") or "").split()[2])
    assert float(circle.get("cx") or 0) == pytest.approx(width / 2)
    assert not list(single.iter(f"{SVG}polyline"))
    assert "01/02/2025" in _texts(single)

    assert autonomy_chart([]) == ""
    assert autonomy_chart([(date(2025, 2, 1), "inconnu")]) == ""


def test_given_hostile_text_when_charted_then_it_is_escaped_and_ids_stay_valid() -> None:
    markup = level_chart(
        [(date(2025, 1, 1), 0), (date(2025, 1, 2), 1), (date(2025, 1, 3), 7)],
        ["<b>bas</b> & co", 'haut "x"'],
        chart_id='a" onload="alert(1)',
        title="<script>alert(1)</script>",
        desc="Tom & Jerry",
    )
    root = _parse(markup)

    assert "<script>" not in markup and 'onload="' not in markup
    assert root.findtext(f"{SVG}title") == "<script>alert(1)</script>"
    assert "<b>bas</b> & co" in _texts(root)
    assert len(list(root.iter(f"{SVG}circle"))) == 2  # the level outside the scale is left out
    assert all(c.isalnum() or c in "-_" for c in root.get("id") or "")
    assert _accessible_name(root).endswith("Tom & Jerry")


def test_given_long_labels_or_big_numbers_when_drawn_then_they_fit_the_view() -> None:
    long_label = "Structure d'insertion professionnelle (France Travail, mission locale…) " * 2
    root = _parse(
        share_chart(
            [(long_label, 1_234_567, 100.0), ("Zéro", 0, 0.0)], chart_id="b", title="T", width=320
        )
    )

    texts = _texts(root)
    assert any(t.endswith("…") and len(t) < len(long_label) for t in texts)
    assert "1\u202f234\u202f567 (100,0 %)" in texts
    assert root.find(f"{SVG}rect/{SVG}title") is not None
    assert share_chart([], chart_id="vide", title="Rien") == ""


def _label_boxes(root: ET.Element, names: set[str]) -> dict[str, tuple[float, float, float, float]]:
    """Where each level label is drawn: (left, top, right, bottom), in Marianne (the DSFR's
    font: 0.47 em per character on these labels, measured in Chromium)."""
    boxes = {}
    for text in root.iter(f"{SVG}text"):
        if text.text in names:
            x, y = float(text.get("x") or 0), float(text.get("y") or 0)
            boxes[text.text] = (x, y - FONT_SIZE, x + len(text.text) * FONT_SIZE * 0.48, y + 3)
    return boxes


def _visible(root: ET.Element, line: ET.Element, x: float, y: float) -> bool:
    """Whether the line is painted at (x, y): a mask hides it where its black shapes are."""
    reference = line.get("mask") or ""
    if not reference:
        return True
    mask_id = reference.removeprefix("url(#").removesuffix(")")
    mask = next(m for m in root.iter(f"{SVG}mask") if m.get("id") == mask_id)
    hidden = False
    for rect in mask.iter(f"{SVG}rect"):
        left, top = float(rect.get("x") or 0), float(rect.get("y") or 0)
        right, bottom = left + float(rect.get("width") or 0), top + float(rect.get("height") or 0)
        if left <= x <= right and top <= y <= bottom:
            hidden = rect.get("fill") == "black"
    return not hidden


def test_given_a_progression_when_charted_then_the_line_never_runs_over_a_level_label() -> None:
    # Fait à la place → Fait avec → Fait par la personne, a few days apart: the line climbs
    # through the labels written above the gridlines at the left.
    points = [
        (date(2025, 1, 6), "entierement_accompagne"),
        (date(2025, 1, 8), "partiellement_autonome"),
        (date(2025, 1, 10), "autonome"),
        (date(2025, 6, 2), "autonome"),
    ]
    root = _parse(autonomy_chart(points))
    (line,) = root.iter(f"{SVG}polyline")
    coords = [tuple(map(float, pair.split(","))) for pair in (line.get("points") or "").split()]
    boxes = _label_boxes(root, {label for _, label in AUTONOMIE_AXE})
    assert set(boxes) == {label for _, label in AUTONOMIE_AXE}

    crossings = []
    for (x1, y1), (x2, y2) in itertools.pairwise(coords):
        for step in range(201):
            x, y = x1 + (x2 - x1) * step / 200, y1 + (y2 - y1) * step / 200
            for name, (left, top, right, bottom) in boxes.items():
                if left <= x <= right and top <= y <= bottom and _visible(root, line, x, y):
                    crossings.append((name, round(x), round(y)))

    assert crossings == []
