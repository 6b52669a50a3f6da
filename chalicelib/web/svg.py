"""Small charts drawn on the server as inline SVG (SPEC §5: readable without JavaScript).

Pure: values in, markup out. Every chart is an `<svg role="img">` named by its own `<title>` and
`<desc>` (`aria-labelledby`), sized by its viewBox so that it scales down to a 320 px column, and
styled with presentation attributes only (`fill=`, `stroke=`…): the CSP forbids `style=`. Labels
sit above their line or bar rather than beside it, so that long French labels never squeeze the
plot on a phone. A chart is never the only way to read the figures: each page shows the same
data as a table next to it. An empty series gives "" (the page says there is nothing yet).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

from chalicelib.domain import vocab
from chalicelib.domain.dates import mois_fr

BLUE = "#000091"  # DSFR blue-france-sun-113: the DSFR's own chart colour, 4.5:1 and more
GRID = "#929292"  # DSFR grey-625: visible on white without competing with the data
FONT_SIZE = 14  # at 320 px wide, a phone shows it at ~12.6 px
_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")

# Short axis labels of the autonomy levels, lowest first (the data table gives the full ones).
AUTONOMIE_AXE = (
    ("entierement_accompagne", "Fait à la place"),
    ("partiellement_autonome", "Fait avec"),
    ("autonome", "Fait par la personne"),
)


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _safe_id(value: str) -> str:
    cleaned = _ID_CHARS.sub("-", value).strip("-")
    return cleaned if cleaned[:1].isalpha() else "graphique-" + cleaned


def _num(value: float) -> str:
    """Coordinates with at most one decimal: short markup, no float noise."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _count(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")  # French thousands separator (narrow space)


def _svg(chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]) -> Markup:
    ident = _safe_id(chart_id)
    labelled = f"{ident}-titre {ident}-desc" if desc else f"{ident}-titre"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="coop-chart" role="img" id="{ident}"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' aria-labelledby="{labelled}" font-size="{FONT_SIZE}">'
        f'<title id="{ident}-titre">{_text(title)}</title>'
    )
    if desc:
        head += f'<desc id="{ident}-desc">{_text(desc)}</desc>'
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text is escaped above


def _fit(text: str, width: float) -> str:
    """Text cut with "…" to what `width` units hold (≈ 0.6 em per character): SVG text never
    wraps, and what overflows the viewBox is cut off without notice. Tooltips keep it whole."""
    room = max(4, int(width / (FONT_SIZE * 0.6)))
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def _label(x: float, y: float, text: str, anchor: str = "start") -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="currentColor">'
        f"{_text(text)}</text>"
    )


# --- levels over time ---------------------------------------------------------------------------


def _hole(x: float, baseline: float, text: str, room: float) -> str:
    """A black box over where `text` is written, 4 units of margin around it: the part of a
    mask that hides a line there. Width: Marianne (the DSFR's font) averages 0.47 em per
    character on these labels (measured in Chromium), common fallbacks about 0.5."""
    wide = min(room, len(text) * FONT_SIZE * 0.5) + 8
    return (
        f'<rect x="{_num(x - 4)}" y="{_num(baseline - FONT_SIZE - 4)}" width="{_num(wide)}"'
        f' height="{_num(FONT_SIZE + 10)}" fill="black"/>'
    )


def level_chart(
    points: Sequence[tuple[date, int]],
    levels: Sequence[str],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    describe: Callable[[date, int], str] | None = None,
    width: int = 320,
) -> Markup:
    """Ordinal levels over dates: one marker per point joined by a line, one gridline per level
    (labelled above it, lowest at the bottom), the first and last dates under the plot.

    `points` are (date, level index in `levels`); indexes outside `levels` are left out.
    `describe` gives each marker's tooltip (its <title>).
    """
    kept = sorted((d, level) for d, level in points if 0 <= level < len(levels))
    if not kept or not levels:
        return Markup("")
    left, right, top, row, axis = 4, 4, 8 + FONT_SIZE + 8, 48, FONT_SIZE + 16
    plot_left, plot_right = left + 8, width - right - 8
    height = top + row * (len(levels) - 1) + axis

    def y_of(level: int) -> float:
        return top + row * (len(levels) - 1 - level)

    first, last = kept[0][0], kept[-1][0]
    span = (last - first).days

    def x_of(day: date) -> float:
        if span == 0:
            return (plot_left + plot_right) / 2
        return plot_left + (day - first).days / span * (plot_right - plot_left)

    body: list[str] = []
    for index in range(len(levels)):
        y = y_of(index)
        body.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}"'
            f' stroke="{GRID}" stroke-width="1" stroke-dasharray="4 4"/>'
        )
    coords = [(x_of(d), y_of(level)) for d, level in kept]
    names = [_fit(name, width - left - right) for name in levels]
    if len(coords) > 1:
        # The line climbs through the labels written above the gridlines: a mask cuts it where
        # each label stands (with a margin), so that it never runs over the words.
        mask = _safe_id(chart_id) + "-masque"
        holes = "".join(
            _hole(left, y_of(index) - 9, name, width - left - right)
            for index, name in enumerate(names)
        )
        body.append(
            f'<mask id="{mask}" maskUnits="userSpaceOnUse" x="0" y="0" width="{width}"'
            f' height="{height}"><rect x="0" y="0" width="{width}" height="{height}"'
            f' fill="white"/>{holes}</mask>'
        )
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"'
            f' mask="url(#{mask})"/>'
        )
    body.extend(_label(left, y_of(index) - 9, name) for index, name in enumerate(names))
    for (day, level), (x, y) in zip(kept, coords, strict=True):
        tip = describe(day, level) if describe else f"{day:%d/%m/%Y} : {levels[level]}"
        body.append(
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="5" fill="{BLUE}"'
            f' stroke="#ffffff" stroke-width="1.5"><title>{_text(tip)}</title></circle>'
        )
    baseline = height - 6
    if span == 0:
        body.append(_label(width / 2, baseline, f"{first:%d/%m/%Y}", "middle"))
    else:
        body.append(_label(left, baseline, f"{first:%d/%m/%Y}"))
        body.append(_label(width - right, baseline, f"{last:%d/%m/%Y}", "end"))
    return _svg(chart_id, title, desc, width, height, body)


def autonomy_chart(
    points: Sequence[tuple[date, str]],
    *,
    chart_id: str = "autonomie",
    title: str = "Évolution de l'autonomie",
    width: int = 320,
) -> Markup:
    """The autonomy level (SPEC §3.3) of each accompaniment, oldest first; "" without any.

    Levels from "Fait à la place" (bottom) to "Fait par la personne" (top); unknown slugs are left
    out.
    """
    rank = {slug: index for index, (slug, _) in enumerate(AUTONOMIE_AXE)}
    kept = [(day, rank[level]) for day, level in points if level in rank]
    if not kept:
        return Markup("")
    first, last = min(d for d, _ in kept), max(d for d, _ in kept)
    count = len(kept)
    desc = (
        f"{count} accompagnement{'s' if count > 1 else ''}"
        f" du {first:%d/%m/%Y} au {last:%d/%m/%Y}, du niveau le plus bas"
        " (fait à la place de la personne) au plus haut (fait par la personne elle-même)."
    )

    def describe(day: date, level: int) -> str:
        return f"{day:%d/%m/%Y} : {vocab.AUTONOMIE.label(AUTONOMIE_AXE[level][0])}"

    return level_chart(
        kept,
        [label for _, label in AUTONOMIE_AXE],
        chart_id=chart_id,
        title=title,
        desc=desc,
        describe=describe,
        width=width,
    )


# --- horizontal bars -----------------------------------------------------------------------------


def _hbars(
    rows: Sequence[tuple[str, int]],
    texts: Sequence[str],
    room: int,
    *,
    chart_id: str,
    title: str,
    desc: str,
    width: int,
) -> Markup:
    """Horizontal bars; `texts` are written after each bar, `room` characters are kept for them."""
    left, right, top, bar, row = 4, 4, 4, 14, FONT_SIZE + 30
    value_room = 8 + FONT_SIZE * 0.6 * room
    plot = max(1.0, width - left - right - value_room)
    largest = max(max(v, 0) for _, v in rows)
    height = top + row * len(rows)
    body: list[str] = []
    for index, ((label, value), text) in enumerate(zip(rows, texts, strict=True)):
        y = top + row * index
        length = plot * max(value, 0) / largest if largest else 0.0
        body.append(_label(left, y + FONT_SIZE, _fit(label, width - left - right)))
        bar_y = y + FONT_SIZE + 6
        body.append(
            f'<rect x="{left}" y="{_num(bar_y)}" width="{_num(length)}" height="{bar}"'
            f' fill="{BLUE}"><title>{_text(f"{label} : {text}")}</title></rect>'
        )
        body.append(_label(left + length + 6, bar_y + bar - 3, text))
    return _svg(chart_id, title, desc, width, height, body)


# --- statistics (SPEC §5): shares and months -----------------------------------------------------

MOIS_COURTS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def nombre_fr(value: int) -> str:
    """1234567 -> "1 234 567" (narrow no-break spaces, French thousands separator)."""
    return _count(value)


def pourcentage_fr(value: float) -> str:
    """12.5 -> "12,5 %": one decimal, French decimal comma (SPEC §5)."""
    return f"{value:.1f}".replace(".", ",") + " %"


def nombre_et_part(count: int, percent: float) -> str:
    """The way every figure reads on the statistics page: "42 (12,5 %)"."""
    return f"{nombre_fr(count)} ({pourcentage_fr(percent)})"


def share_chart(
    rows: Sequence[tuple[str, int, float]],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    width: int = 320,
) -> Markup:
    """A distribution: one horizontal bar per (label, count, percentage), "42 (12,5 %)" after
    each bar. "" when there is no row or every count is zero (nothing to draw)."""
    if not rows or not any(count > 0 for _, count, _ in rows):
        return Markup("")
    texts = [nombre_et_part(count, percent) for _, count, percent in rows]
    return _hbars(
        [(label, count) for label, count, _ in rows],
        texts,
        max(len(t) for t in texts),
        chart_id=chart_id,
        title=title,
        desc=desc,
        width=width,
    )


def _month_axis_labels(months: Sequence[str], slot: float) -> list[str]:
    """The longest month names that fit a bar's slot: "janv.", else "J", else nothing."""
    numbers = [int(m[5:7]) if m[5:7].isdigit() and 1 <= int(m[5:7]) <= 12 else 0 for m in months]
    char = FONT_SIZE * 0.6
    if all(n and len(MOIS_COURTS[n - 1]) * char + 4 <= slot for n in numbers):
        return [MOIS_COURTS[n - 1] for n in numbers]
    if char + 2 <= slot:
        return [MOIS_COURTS[n - 1][0].upper() if n else "" for n in numbers]
    return ["" for _ in months]


def _year_marks(months: Sequence[str], slot: float) -> list[int]:
    """Indexes of the bars that get their year under them: the first one and every January,
    never two so close that they overlap (the January wins over the first bar)."""
    room = FONT_SIZE * 0.6 * 4 + 6
    marks: list[int] = []
    for index, month in enumerate(months):
        if index == 0 or month[5:7] == "01":
            if marks and (index - marks[-1]) * slot < room:
                marks.pop()
            marks.append(index)
    return marks


def month_chart(
    rows: Sequence[tuple[str, int]],
    *,
    chart_id: str,
    title: str,
    desc: str = "",
    width: int = 320,
) -> Markup:
    """Vertical bars, one per ("AAAA-MM", value), oldest on the left: the value above the bar
    when it fits, the month under it ("janv.", or its initial when space is short) and the year
    under the first bar and every January. "" when there is no row or every value is zero."""
    if not rows or not any(v > 0 for _, v in rows):
        return Markup("")
    left, right, plot_height = 4, 4, 120
    top = FONT_SIZE + 8
    baseline = top + plot_height
    height = baseline + 2 * (FONT_SIZE + 6) + 4
    slot = (width - left - right) / len(rows)
    bar = min(40.0, max(1.0, slot * 0.7))
    largest = max(max(v, 0) for _, v in rows)
    months = [m for m, _ in rows]
    body = [
        f'<line x1="{left}" y1="{baseline}" x2="{width - right}" y2="{baseline}"'
        f' stroke="{GRID}" stroke-width="1"/>'
    ]
    names = _month_axis_labels(months, slot)
    for index, (month, value) in enumerate(rows):
        centre = left + slot * index + slot / 2
        size = plot_height * max(value, 0) / largest
        tip = f"{mois_fr(month)} : {_count(value)} accompagnement{'s' if value > 1 else ''}"
        body.append(
            f'<rect x="{_num(centre - bar / 2)}" y="{_num(baseline - size)}" width="{_num(bar)}"'
            f' height="{_num(size)}" fill="{BLUE}"><title>{_text(tip)}</title></rect>'
        )
        text = _count(value)
        if len(text) * FONT_SIZE * 0.6 <= slot:
            body.append(_label(centre, baseline - size - 5, text, "middle"))
        if names[index]:
            body.append(_label(centre, baseline + FONT_SIZE + 4, names[index], "middle"))
    year_width = FONT_SIZE * 0.6 * 4
    for index in _year_marks(months, slot):
        x = min(left + slot * index, width - right - year_width)
        body.append(_label(x, baseline + 2 * (FONT_SIZE + 4) + 2, months[index][:4]))
    return _svg(chart_id, title, desc, width, height, body)
