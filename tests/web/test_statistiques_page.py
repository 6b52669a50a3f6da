"""Mes statistiques (SPEC §5, §10): the page without JavaScript, its period and filters, the
JSON API and the dashboard's 30 days.

Activities are recorded through /api/activites, then the statistics are read back through the
page and the API. With the real service (`chalicelib/stats/service.py`), the stream records of
those writes are delivered to the projector first, as Lambda would; without it, a fake that
recomputes from the stored activities stands in (same interface, `container.statistics`).
"""

from __future__ import annotations

import html
import importlib.util
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import bootstrap
from chalicelib.domain.dates import month_of
from chalicelib.domain.errors import ValidationFailed
from chalicelib.stats import aggregation
from tests.conftest import Browser, Page, Stack

REAL_SERVICE = importlib.util.find_spec("chalicelib.stats.service") is not None
MULTI = "une activité peut concerner plusieurs thématiques : le total des pourcentages peut dépasser 100 %"
EMPTY = "Aucune activité sur cette période."
SPEC_KEYS = {  # SPEC §10, statistics JSON (+ the partners of §8)
    *("periode", "accompagnements", "ateliers", "beneficiaires", "par_mois", "thematiques"),
    *("thematiques_demarche", "materiel", "canaux", "durees", "lieux", "communes", "autonomie"),
    *("redirections", "genres", "tranches_age", "statuts", "communes_residence", "partenaires"),
}


def _today() -> date:
    return bootstrap.get().calendar.today()


# --- the statistics behind the pages ----------------------------------------------------------------


@dataclass(frozen=True)
class Periode:
    du: date
    au: date


class RecomputingStats:
    """The service's interface, recomputed from the stored activities with the pure
    aggregation (used only while `chalicelib/stats/service.py` does not exist)."""

    def __init__(self, container: Any) -> None:
        self.c = container

    def periode(self, preset: str | None, du: date | None, au: date | None) -> Periode:
        today = self.c.calendar.today()
        first = today.replace(day=1)
        last_month_end = first - timedelta(days=1)
        year_ago = (first - timedelta(days=335)).replace(day=1)
        presets = {
            "ce_mois": (first, today),
            "mois_dernier": (last_month_end.replace(day=1), last_month_end),
            "12_mois": (year_ago, today),
            "annee_derniere": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        }
        start, end = presets.get(preset or "", (date(today.year, 1, 1), today))
        if du or au:
            start, end = du or date(2020, 1, 1), au or today
        errors = {}
        if start < date(2020, 1, 1):
            errors["du"] = "La date de début ne peut pas être avant le 1er janvier 2020."
        if end < start:
            errors["au"] = "La date de fin doit être après la date de début."
        if errors:
            raise ValidationFailed(errors)
        return Periode(start, end)

    def figures(
        self,
        profile: Any,
        periode: Any,
        type: str | None = None,
        canal: str | None = None,
        lieu: str | None = None,
    ) -> dict[str, Any]:
        from chalicelib.domain.activites import Filtres

        found: list[Any] = []
        cursor = None
        while True:
            page = self.c.activities.page(
                profile.mediateur.id, Filtres(du=periode.du, au=periode.au), cursor
            )
            found += page.items
            cursor = page.cursor
            if not cursor:
                break
        months: dict[str, list[Any]] = {}
        for a in found:
            months.setdefault(month_of(a.date), []).append(a)
        selection = aggregation.Selection(type, canal, lieu)
        buckets = {m: aggregation.bucket_of(items) for m, items in months.items()}
        combo = aggregation.total(buckets.values(), selection)
        par_mois = []
        day = periode.du.replace(day=1)
        while day <= periode.au:
            month = month_of(day)
            counters = aggregation.total([buckets.get(month, {})], selection).counters
            par_mois.append((month, counters.get("n", 0)))
            day = (day + timedelta(days=32)).replace(day=1)
        names = {x.id: x.nom for x in profile.lieux}
        labels = aggregation.Labels(lieu=lambda i: names.get(i, i))
        return aggregation.figures(combo, periode.du, periode.au, par_mois[-12:], 0, labels)

    def resume_30_jours(self, profile: Any) -> dict[str, Any]:
        today = self.c.calendar.today()
        return self.figures(profile, Periode(today - timedelta(days=29), today))


class CannedStats(RecomputingStats):
    """Always the same figures, whatever the period (rendering of rare cases)."""

    def __init__(self, container: Any, figures: dict[str, Any]) -> None:
        super().__init__(container)
        self.canned = figures

    def figures(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.canned

    def resume_30_jours(self, profile: Any) -> dict[str, Any]:
        return self.canned


class BrokenStats(RecomputingStats):
    def figures(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("the statistics table is unreachable")

    def resume_30_jours(self, profile: Any) -> dict[str, Any]:
        raise RuntimeError("the statistics table is unreachable")


def _install(kind: type[RecomputingStats], *args: Any) -> None:
    """Put a fake in the container, where the pages look for `statistics`."""
    container: Any = bootstrap.get()
    container.statistics = kind(container, *args)


@pytest.fixture(scope="session")
def pump_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stats-pump")


@dataclass
class Stats:
    """Records activities and makes them visible to the statistics."""

    browser: Browser
    aws: Stack
    state: Path

    def settle(self) -> None:
        """Deliver the stream records to the projector, as Lambda would (real service)."""
        if not REAL_SERVICE:
            return
        import boto3
        from chalice.app import DynamoDBEventConfig

        import app as app_module
        from infra.local.pump import Checkpoints, DeadLetters, StreamPump, StreamSource
        from infra.local.server import table_for_stream

        client = self.browser.client
        checkpoints = Checkpoints(self.state / "checkpoints.json")
        checkpoints.load()
        for source in app_module.app.event_sources:
            if not isinstance(source, DynamoDBEventConfig):
                continue
            table = table_for_stream(source.stream_arn, self.aws.names.table_prefix)
            pump = StreamPump(
                StreamSource(source.name, table, source.batch_size or 100),
                boto3.client("dynamodb", endpoint_url=self.aws.endpoint),
                boto3.client("dynamodbstreams", endpoint_url=self.aws.endpoint),
                lambda name, payload: client.lambda_.invoke(name, payload).payload,
                checkpoints,
                DeadLetters(self.state / "failed"),
            )
            while pump.poll_once():
                pass

    def record(self, *bodies: dict[str, Any]) -> None:
        for body in bodies:
            page = self.browser.api("POST", "/api/activites", body)
            assert page.status == 201, page.text
        self.settle()


@pytest.fixture
def stats(browser: Browser, aws: Stack, pump_state: Path) -> Stats:
    if not REAL_SERVICE:
        _install(RecomputingStats)
    return Stats(browser, aws, pump_state)


def _ready(browser: Browser, email: str) -> str:
    """Signed in and onboarded; returns the id of the mediator's lieu."""
    browser.sign_in(email)
    browser.onboard()
    return str(browser.api("GET", "/api/lieux").json()["items"][0]["id"])


def _individuel(lieu_id: str, day: date, **fields: Any) -> dict[str, Any]:
    return {
        "type": "individuel",
        "date": day.isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": lieu_id,
        "thematiques": ["email"],
        **fields,
    }


def _atelier(lieu_id: str, day: date, total: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "collectif",
        "date": day.isoformat(),
        "duree": 90,
        "canal": "lieu_activite",
        "lieu_id": lieu_id,
        "thematiques": ["email"],
        "participants_anonymes": {"total": total},
        **fields,
    }


def _three_activities(stats: Stats, lieu_id: str) -> None:
    """2 individuels (E-mail; E-mail + Santé, at home) + 1 atelier of 5 (E-mail), today."""
    today = _today()
    stats.record(
        _individuel(lieu_id, today, materiel=["ordinateur"]),
        {
            **_individuel(lieu_id, today, thematiques=["email", "sante"], duree=60),
            "canal": "domicile",
            "lieu_id": None,
            "commune_insee": "69383",
        },
        _atelier(lieu_id, today, 5),
    )


# --- reading the page -----------------------------------------------------------------------------


def _text(page: Page) -> str:
    """The page's text, tags removed and spaces collapsed (what a reader sees)."""
    no_tags = re.sub(r"<[^>]+>", " ", page.text)
    return re.sub(r"\s+", " ", html.unescape(no_tags)).strip()


def _section(page: Page, ident: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="{ident}".*?</section>', page.text, re.S)
    assert match, ident
    return match.group(0)


def _table(page: Page, key: str) -> dict[str, str]:
    """The rows of a figure's data table: label -> "n (p %)"."""
    match = re.search(rf'id="tableau-{key}".*?</table>', page.text, re.S)
    assert match, key
    rows = re.findall(r'<th scope="row">(.*?)</th><td[^>]*>(.*?)</td>', match.group(0), re.S)
    return {html.unescape(k): html.unescape(v) for k, v in rows}


def _key_figures(page: Page) -> dict[str, str]:
    items = re.findall(
        r'coop-chiffre__valeur">(.*?)</span>\s*<span class="coop-chiffre__libelle">(.*?)</span>',
        page.text,
    )
    return {html.unescape(label): html.unescape(value) for value, label in items}


def _form_value(page: Page, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert match, name
    return html.unescape(match.group(1))


def _checked_periode(page: Page) -> str:
    match = re.search(r'name="periode" value="([^"]+)" checked', page.text)
    return match.group(1) if match else ""


def _submit(page: Page, browser: Browser, **changes: str) -> Page:
    """The filter form sent as a browser would: the rendered values, with `changes`."""
    fields = {
        "periode": _checked_periode(page),
        **{n: _form_value(page, n) for n in ("du", "au", "du_affiche", "au_affiche")},
        "type": "",
        "canal": "",
        "lieu": "",
        **changes,
    }
    return browser.get("/statistiques?" + urlencode(fields))


# --- access ---------------------------------------------------------------------------------------


def test_signed_out_the_page_sends_to_sign_in_and_the_api_answers_401(browser: Browser) -> None:
    page = browser.get("/statistiques?periode=ce_mois")

    assert page.status == 303
    assert page.location.startswith("/connexion?retour=%2Fstatistiques")
    assert browser.api("GET", "/api/statistiques").status == 401


def test_the_menu_entry_is_no_longer_a_placeholder(stats: Stats, browser: Browser) -> None:
    _ready(browser, "stats.menu@example.org")

    page = browser.get("/statistiques")

    assert page.status == 200
    assert page.h1 == "Mes statistiques"
    assert "bientôt" not in page.plain.lower()


# --- figures --------------------------------------------------------------------------------------


def test_given_two_individuels_and_an_atelier_of_five_then_seven_accompagnements(
    stats: Stats, browser: Browser
) -> None:
    lieu_id = _ready(browser, "stats.chiffres@example.org")
    _three_activities(stats, lieu_id)

    page = browser.get("/statistiques")

    assert page.status == 200, page.text
    figures = _key_figures(page)
    assert figures["Accompagnements"] == "7"
    assert figures["Accompagnements individuels"] == "2 (28,6 %)"
    assert figures["Aides aux démarches administratives"] == "0 (0,0 %)"
    assert figures["Participants aux ateliers collectifs"] == "5 (71,4 %)"
    assert "dans 1 atelier" in page.plain
    assert figures["Bénéficiaires accompagnés"] == "7"  # 2 anonymous people + 5 participants
    assert "2 anonymes" not in page.plain and "7 anonymes" in page.plain
    # Multi-choice: shares of the 7 accompagnements, and the page says they can exceed 100 %.
    assert _table(page, "thematiques") == {"E-mail": "7 (100,0 %)", "Santé": "1 (14,3 %)"}
    assert MULTI in page.plain
    assert _table(page, "materiel") == {"Ordinateur": "1 (14,3 %)"}
    # Single choice: largest remainder, adds up to 100 %.
    assert _table(page, "canaux") == {"Lieu d'activité": "6 (85,7 %)", "À domicile": "1 (14,3 %)"}
    assert _table(page, "durees")["30 min – 1 h"] == "1 (14,3 %)"
    assert _table(page, "lieux") == {"Médiathèque Louise Michel": "6 (100,0 %)"}
    month = month_of(_today())
    from chalicelib.web.svg import mois_fr

    assert _table(page, "par_mois")[mois_fr(month)] == "7 (100,0 %)"
    # Three blocks, each figure drawn and then tabulated.
    for block in ("stats-general", "stats-accompagnements", "stats-beneficiaires"):
        assert 'role="img"' in _section(page, block)
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", page.text)[-3:] == [
        "Général",
        "Accompagnements",
        "Bénéficiaires",
    ]


def test_filters_narrow_the_figures(stats: Stats, browser: Browser) -> None:
    lieu_id = _ready(browser, "stats.filtres@example.org")
    _three_activities(stats, lieu_id)

    individuels = browser.get("/statistiques?type=individuel")
    at_home = browser.get("/statistiques?canal=domicile")
    at_the_lieu = browser.get(f"/statistiques?lieu={lieu_id}")
    remote = browser.get("/statistiques?canal=a_distance")

    assert _key_figures(individuels)["Accompagnements"] == "2"
    assert _table(individuels, "thematiques") == {"E-mail": "2 (100,0 %)", "Santé": "1 (50,0 %)"}
    assert 'value="individuel" selected' in individuels.text
    assert _key_figures(at_home)["Accompagnements"] == "1"
    assert _key_figures(at_the_lieu)["Accompagnements"] == "6"
    assert "Médiathèque Louise Michel" in _text(at_the_lieu)
    assert EMPTY in remote.plain
    assert "<svg" not in remote.text and "<table" not in remote.text


def test_per_month_bars_follow_the_months_of_the_period(stats: Stats, browser: Browser) -> None:
    lieu_id = _ready(browser, "stats.mois@example.org")
    today = _today()
    last_month = today.replace(day=1) - timedelta(days=1)
    stats.record(
        _individuel(lieu_id, last_month),
        _individuel(lieu_id, last_month),
        _individuel(lieu_id, today),
    )

    query = urlencode({"du": last_month.replace(day=1).isoformat(), "au": today.isoformat()})
    page = browser.get(f"/statistiques?{query}")

    assert page.status == 200, page.text
    from chalicelib.web.svg import mois_fr

    months = _table(page, "par_mois")
    assert months == {
        mois_fr(month_of(last_month)): "2 (66,7 %)",
        mois_fr(month_of(today)): "1 (33,3 %)",
    }
    chart = re.search(r'<svg[^>]*id="graphique-par-mois".*?</svg>', page.text, re.S)
    assert chart and chart.group(0).count("<rect") == 2
    assert _checked_periode(page) == "personnalisee"


def test_an_empty_period_says_so_without_charts(stats: Stats, browser: Browser) -> None:
    lieu_id = _ready(browser, "stats.vide@example.org")
    stats.record(_individuel(lieu_id, _today()))

    page = browser.get("/statistiques?periode=annee_derniere")

    assert page.status == 200
    assert EMPTY in page.plain
    assert "<svg" not in page.text and "<table" not in page.text


def test_every_chart_is_an_image_with_a_name_followed_by_its_captioned_table(
    stats: Stats, browser: Browser
) -> None:
    lieu_id = _ready(browser, "stats.a11y@example.org")
    _three_activities(stats, lieu_id)

    page = browser.get("/statistiques")

    text = page.text
    svgs = [m.start() for m in re.finditer(r"<svg\b", text)]
    tables = [m.start() for m in re.finditer(r"<table\b", text)]
    assert len(svgs) >= 10
    for tag in re.findall(r"<svg\b[^>]*>", text):
        assert 'role="img"' in tag and "aria-labelledby=" in tag
    # Each chart is followed by a table before the next chart.
    for here, following in zip(svgs, [*svgs[1:], len(text)], strict=True):
        assert any(here < t < following for t in tables)
    assert text.count("<table") == text.count("<caption>") == len(tables)
    assert all("fr-table" in t for t in re.findall(r'<div class="(fr-table[^"]*)"', text))
    # CSP: no inline style or script anywhere on the page.
    assert "style=" not in text
    assert not re.findall(r"<script(?![^>]*\bsrc=)", text)


def test_labels_from_the_data_are_escaped_and_partners_appear_when_any(
    stats: Stats, browser: Browser
) -> None:
    _ready(browser, "stats.echappement@example.org")
    counters = Counter(
        {"a": 2, "n": 2, "ty:individuel": 2, "li:x": 2, "ca:lieu_activite": 2, "pa:p1": 1}
    )
    counters.update({"re:autre": 1, "au:autonome": 2, "an": 2, "ge:feminin": 2})
    figures = aggregation.figures(
        aggregation.Combo(counters),
        date(2025, 1, 1),
        date(2025, 1, 31),
        [("2025-01", 2)],
        0,
        aggregation.Labels(lieu=lambda i: "<b>Salle</b> & co", partenaire=lambda i: "CCAS"),
    )
    _install(CannedStats, figures)

    page = browser.get("/statistiques")

    assert "<b>Salle</b>" not in page.text and "&lt;b&gt;Salle&lt;/b&gt; &amp; co" in page.text
    assert _table(page, "partenaires") == {"CCAS": "1 (100,0 %)"}
    assert _table(page, "redirections") == {"Autre": "1 (100,0 %)"}


# --- the period ----------------------------------------------------------------------------------


def _expected(preset: str, today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    previous_end = first - timedelta(days=1)
    month = today.month - 11
    year = today.year + (month - 1) // 12
    twelve = date(year, (month - 1) % 12 + 1, 1)
    return {
        "cette_annee": (date(today.year, 1, 1), today),
        "ce_mois": (first, today),
        "mois_dernier": (previous_end.replace(day=1), previous_end),
        "12_mois": (twelve, today),
        "annee_derniere": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }[preset]


def test_the_default_period_is_this_year_up_to_today(stats: Stats, browser: Browser) -> None:
    _ready(browser, "stats.defaut@example.org")
    today = _today()

    page = browser.get("/statistiques")

    assert _checked_periode(page) == "cette_annee"
    assert _form_value(page, "du") == date(today.year, 1, 1).isoformat()
    assert _form_value(page, "au") == today.isoformat()
    labels = re.findall(r'<label class="fr-label" for="periode-[^"]+">(.*?)</label>', page.text)
    assert labels == [
        "Cette année",
        "Ce mois-ci",
        "Mois dernier",
        "12 derniers mois",
        "Année dernière",
        "Personnalisée",
    ]
    assert 'type="date"' in page.text
    for placeholder in ("Tous les types", "Tous les canaux", "Tous les lieux"):
        assert placeholder in page.plain


@pytest.mark.parametrize("preset", ["ce_mois", "mois_dernier", "12_mois", "annee_derniere"])
def test_choosing_a_preset_fills_the_dates_of_the_form(
    stats: Stats, browser: Browser, preset: str
) -> None:
    _ready(browser, f"stats.preset.{preset}@example.org")
    du, au = _expected(preset, _today())

    # The user picks another radio and sends the form: the dates shown before give way.
    page = _submit(browser.get("/statistiques"), browser, periode=preset)

    assert page.status == 200, page.text
    assert _checked_periode(page) == preset
    assert (_form_value(page, "du"), _form_value(page, "au")) == (du.isoformat(), au.isoformat())
    assert _form_value(page, "du_affiche") == du.isoformat()
    assert browser.api("GET", f"/api/statistiques?periode={preset}").json()["periode"] == {
        "du": du.isoformat(),
        "au": au.isoformat(),
    }


def test_changing_a_date_makes_the_period_custom(stats: Stats, browser: Browser) -> None:
    _ready(browser, "stats.personnalisee@example.org")
    today = _today()
    start = date(today.year - 1, 3, 15)

    # The radio still says "Cette année", the user typed another start date (French format).
    page = _submit(browser.get("/statistiques"), browser, du=start.strftime("%d/%m/%Y"))

    assert page.status == 200, page.text
    assert _checked_periode(page) == "personnalisee"
    assert _form_value(page, "du") == start.isoformat()
    assert _form_value(page, "au") == today.isoformat()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"du": "31/02/2025"}, "du", "Saisissez une date valide, par exemple 31/01/2025."),
        ({"du": "2025-03-10", "au": "2025-03-01"}, "au", "La date de fin doit être après"),
        ({"du": "2019-12-31", "au": "2020-01-31"}, "du", "avant le 1er janvier 2020"),
        ({"periode": "siecle"}, "periode", "Choisissez une période dans la liste."),
        ({"type": "bogus"}, "type", "Choisissez une valeur dans la liste."),
        ({"canal": "<x>"}, "canal", "Choisissez une valeur dans la liste."),
        ({"lieu": "0000000000zzzzzzzzzzzzzzzz"}, "lieu", "Choisissez une valeur dans la liste."),
    ],
)
def test_invalid_input_shows_the_form_with_french_errors(
    stats: Stats, browser: Browser, query: dict[str, str], field: str, message: str
) -> None:
    _ready(browser, "stats.erreurs@example.org")

    page = browser.get("/statistiques?" + urlencode(query))

    assert page.status == 400, page.text
    assert page.title.startswith("Erreur")
    assert any(message in e for e in page.field_errors()), page.field_errors()
    assert f'href="#{field}"' in page.text  # the error summary links to the field
    assert 'id="stats-general"' not in page.text
    for name in ("du", "au"):
        if name in query:
            assert _form_value(page, name) == query[name]  # kept as typed


# --- the JSON API --------------------------------------------------------------------------------


def test_the_api_answers_the_json_of_the_spec(stats: Stats, browser: Browser) -> None:
    lieu_id = _ready(browser, "stats.api@example.org")
    _three_activities(stats, lieu_id)
    today = _today()

    body = browser.api("GET", "/api/statistiques").json()
    filtered = browser.api("GET", f"/api/statistiques?type=collectif&lieu={lieu_id}").json()

    assert set(body) == SPEC_KEYS
    assert body["periode"] == {"du": date(today.year, 1, 1).isoformat(), "au": today.isoformat()}
    assert body["accompagnements"] == {"total": 7, "individuel": 2, "demarche": 0, "collectif": 5}
    assert body["ateliers"] == 1
    assert body["beneficiaires"]["total"] == 7
    email = next(t for t in body["thematiques"] if t["cle"] == "email")
    assert email == {"cle": "email", "libelle": "E-mail", "nombre": 7, "pourcentage": 100.0}
    assert sum(c["pourcentage"] for c in body["canaux"]) == pytest.approx(100.0)
    assert {d["cle"] for d in body["durees"]} == {"moins_30", "30_60", "60_120", "120_plus"}
    assert filtered["accompagnements"]["total"] == 5
    from chalicelib.web.openapi import Statistiques

    Statistiques.model_validate(body)  # the documented schema is the real one


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=bogus", "type"),
        ("canal=partout", "canal"),
        ("lieu=0000000000zzzzzzzzzzzzzzzz", "lieu"),
        ("du=31/01/2025", "du"),
        ("au=2025-02-30", "au"),
        ("du=2025-03-10&au=2025-03-01", "au"),
        ("du=2019-06-01", "du"),
        ("periode=toujours", "periode"),
    ],
)
def test_the_api_refuses_bad_parameters_with_422(
    stats: Stats, browser: Browser, query: str, field: str
) -> None:
    _ready(browser, "stats.api.erreurs@example.org")

    page = browser.api("GET", f"/api/statistiques?{query}")

    assert page.status == 422, page.text
    errors = page.json()["errors"]
    assert field in errors
    assert not re.search(r"\b(?:invalid|must|should|Input)\b", errors[field])


def test_openapi_documents_the_statistics(browser: Browser) -> None:
    doc = browser.get("/api/openapi.json").json()

    operation = doc["paths"]["/api/statistiques"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"periode", "du", "au", "type", "canal", "lieu"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Statistiques"}
    assert set(doc["components"]["schemas"]["Statistiques"]["properties"]) == SPEC_KEYS
    assert "422" in operation["responses"]


# --- the dashboard -------------------------------------------------------------------------------


def test_the_dashboard_sums_up_the_last_30_days(stats: Stats, browser: Browser) -> None:
    lieu_id = _ready(browser, "stats.accueil@example.org")
    today = _today()
    stats.record(
        _individuel(lieu_id, today, thematiques=["email", "sante", "bureautique"]),
        _individuel(lieu_id, today - timedelta(days=3), thematiques=["sante", "bureautique"]),
        _individuel(lieu_id, today - timedelta(days=40), thematiques=["parentalite"]),
        _atelier(lieu_id, today, 2, thematiques=["sante"]),
    )

    page = browser.get("/")

    section = _section(page, "resume-30-jours")
    summary = _text(Page(200, {}, section.encode(), "/"))
    assert "4 accompagnements" in summary and "4 bénéficiaires" in summary
    assert re.findall(r"<li>(.*?) :", section) == ["Santé", "Bureautique", "E-mail"]
    assert "Santé : 4 (100,0 %)" in summary and "Bureautique : 2 (50,0 %)" in summary
    assert "Parentalité" not in summary  # 40 days ago
    assert 'href="/statistiques"' in section and "Voir mes statistiques" in summary


def test_the_dashboard_stays_up_when_the_statistics_fail(browser: Browser) -> None:
    _ready(browser, "stats.panne@example.org")
    _install(BrokenStats)

    page = browser.get("/")

    assert page.status == 200
    section = _section(page, "resume-30-jours")
    assert "apparaîtra ici" in section and "Voir mes statistiques" in section
