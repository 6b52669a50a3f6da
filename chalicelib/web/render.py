"""The one Jinja environment: autoescape on, StrictUndefined, built on first render."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chalicelib.domain import vocab
from chalicelib.domain.dates import jour_fr

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_lock = threading.Lock()
_env: Environment | None = None


NAVIGATION = (
    ("/", "Accueil", "fr-icon-home-4-line"),
    ("/statistiques", "Mes statistiques", "fr-icon-line-chart-line"),
    ("/activites", "Mes activités", "fr-icon-file-text-line"),
    ("/beneficiaires", "Mes bénéficiaires", "fr-icon-team-line"),
    ("/outils", "Mes outils", "fr-icon-tools-line"),
    ("/partenaires", "Mes partenaires", "fr-icon-building-line"),
)

# « Ma structure » (SPEC §13): shown to gestionnaires only.
STRUCTURE_NAVIGATION = (
    ("/structure/statistiques", "Statistiques de la structure", "fr-icon-line-chart-line"),
    ("/structure/gestionnaires", "Médiateurs et gestionnaires", "fr-icon-team-line"),
    ("/exports?kind=activites&portee=structure", "Exporter les activités", "fr-icon-download-line"),
)


def templates_dir() -> Path:
    """Top-level `templates/` in a checkout; the copy inside `chalicelib/` in the Lambda zip."""
    checkout = _PACKAGE_DIR.parent / "templates"
    return checkout if checkout.is_dir() else _PACKAGE_DIR / "templates"


def date_fr(value: date | datetime | None) -> str:
    """« 1er janvier 2025 », « 2 janvier 2025 » (`domain.dates.jour_fr`); empty for None."""
    return "" if value is None else jour_fr(value)


def date_courte(value: date | datetime | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


def duree_fr(minutes: int | None) -> str:
    if not minutes:
        return ""
    hours, mins = divmod(int(minutes), 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins:02d}" if mins else f"{hours} h"


def _asset_url(path: str) -> str:
    from chalicelib.web.static import assets

    return assets().url(path)


def environment() -> Environment:
    global _env
    if _env is None:
        with _lock:
            if _env is None:
                env = Environment(
                    loader=FileSystemLoader(str(templates_dir())),
                    autoescape=select_autoescape(default=True, default_for_string=True),
                    undefined=StrictUndefined,
                    trim_blocks=True,
                    lstrip_blocks=True,
                    auto_reload=False,
                )
                env.filters.update(date_fr=date_fr, date_courte=date_courte, duree=duree_fr)
                env.globals.update(
                    asset_url=_asset_url,
                    vocab=vocab,
                    navigation=NAVIGATION,
                    navigation_structure=STRUCTURE_NAVIGATION,
                )
                _env = env
    return _env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
