"""One parser per request shape, shared by the pages, the API, the exports and the structure views
(ARCHITECTURE §5.12): a copy is a future drift.

- activity list filters (`/activites`, `/api/activites`, `/exports?kind=activites`)
- statistics requests (`/statistiques`, `/api/statistiques`, and the structure's page and API)
- JSON bodies (every `/api` write), a PUT taking back what GET returned
- version numbers (forms' hidden field, `DELETE …?version=`)

Values that are not one of the choices offered are errors, never silently dropped: a filter the
user cannot see must not widen what they get (an export of everything).
"""

from __future__ import annotations

import json
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from chalicelib.domain import vocab
from chalicelib.domain.activites import Filtres
from chalicelib.domain.activites_rules import CHOIX_INVALIDE, check_filtres
from chalicelib.domain.dates import CUSTOM, PRESETS
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.recherche import MAX_QUERY_LENGTH
from chalicelib.web.context import current

if TYPE_CHECKING:  # pydantic is imported on the first JSON write, not at cold start
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")

DATE_ISO = "Saisissez une date valide (AAAA-MM-JJ)."
DATE_PAGE = "Saisissez une date valide, par exemple 31/01/2025."
PERIODE_INVALIDE = "Choisissez une période dans la liste."
VERSION_INVALIDE = "La version doit être un nombre entier positif."
CORPS_INVALIDE = "Le corps de la requête doit être un objet JSON."
MAX_VERSION_DIGITS = 12
MAX_QUERY_VALUE = 40  # a date, a slug or an id: longer is not one of them


def query(name: str, limit: int = MAX_QUERY_VALUE) -> str:
    return current().query(name).strip()[:limit]


def parse_date(raw: str, french_too: bool) -> date | None:
    """ISO dates (what `type=date` sends); pages also take "31/01/2025", typed where the
    browser shows a plain text field. None when it is neither."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    if french_too:
        try:
            return datetime.strptime(raw, "%d/%m/%Y").date()
        except ValueError:
            return None
    return None


# --- activity list filters ------------------------------------------------------------------------

FILTRE_LABELS = {
    "du": "Du",
    "au": "Au",
    "type": "Type",
    "canal": "Canal",
    "lieu": "Lieu d'activité",
    "thematique": "Thématique",
    "beneficiaire": "Bénéficiaire",
}


def activity_filters(
    lieux: Container[str], for_page: bool = False
) -> tuple[Filtres, dict[str, str]]:
    """The list's filters from the query string, and {filter: French message} for each one that
    is not a valid date or one of the choices (the mediator's own lieux for `lieu`)."""
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for name in ("du", "au"):
        raw = query(name)
        dates[name] = parse_date(raw, french_too=for_page) if raw else None
        if raw and dates[name] is None:
            errors[name] = DATE_PAGE if for_page else DATE_ISO
    filtres = Filtres(
        du=dates["du"],
        au=dates["au"],
        type=query("type") or None,
        canal=query("canal") or None,
        lieu=query("lieu") or None,
        beneficiaire=query("beneficiaire") or None,
        thematique=query("thematique", 60) or None,
    )
    for name, message in check_filtres(filtres, lieux).items():
        errors.setdefault(name, message)
    return filtres, errors


def filters_query_string(filtres: Filtres, **extra: str) -> str:
    """The filters back as a query string (links to the next page, to the export)."""
    params = {
        "du": filtres.du.isoformat() if filtres.du else "",
        "au": filtres.au.isoformat() if filtres.au else "",
        "type": filtres.type or "",
        "canal": filtres.canal or "",
        "lieu": filtres.lieu or "",
        "beneficiaire": filtres.beneficiaire or "",
        "thematique": filtres.thematique or "",
        **extra,
    }
    return urlencode({k: v for k, v in params.items() if v})


# --- statistics requests --------------------------------------------------------------------------


@dataclass
class StatsRequest:
    """The period and filters asked for, as the statistics service takes them, and what was
    typed (to show it again)."""

    periode: str = ""  # the radio sent ("" when none)
    preset: str | None = None
    du: date | None = None
    au: date | None = None
    type: str | None = None
    canal: str | None = None
    lieu: str | None = None
    saisie: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    dates_saisies: bool = False  # typed dates are used (valid or not): a custom range

    @property
    def personnalisee(self) -> bool:
        return self.dates_saisies or self.periode == CUSTOM


def _stats_value(name: str, values: Mapping[str, Any] | None) -> str:
    """One parameter of a statistics request: from the query string, or a JSON body's."""
    if values is None:
        return query(name)
    return str(values.get(name) or "").strip()[:MAX_QUERY_VALUE]


def stats_request(
    for_page: bool, lieux: Container[str] | None, values: Mapping[str, Any] | None = None
) -> StatsRequest:
    """The query string of a statistics page or API, checked: unknown slugs and bad dates are
    errors, never ignored. `lieux` None: no lieu filter (a structure's statistics). `values`:
    the same request from a JSON body (a share link's `filters`) instead of the query string.

    On a page, the date fields always show the dates of the period displayed, and carry them
    again in hidden `du_affiche` / `au_affiche` fields: dates sent unchanged with a preset mean
    "this preset" (the user picked another radio), dates changed mean a custom range. The API
    has no such fields: `du`/`au` always win over `periode`, and only ISO dates are dates."""
    names = ("periode", "du", "au", "type", "canal", "du_affiche", "au_affiche")
    wanted = (*names, *(("lieu",) if lieux is not None else ()))
    saisie = {name: _stats_value(name, values) for name in wanted}
    demande = StatsRequest(saisie=saisie)
    periode = saisie["periode"]
    if periode and periode not in PRESETS and periode != CUSTOM:
        demande.errors["periode"] = PERIODE_INVALIDE
    else:
        demande.periode = periode
        demande.preset = periode if periode in PRESETS else None
    unchanged = saisie["du"] == saisie["du_affiche"] and saisie["au"] == saisie["au_affiche"]
    if not (for_page and demande.preset and unchanged):
        for name in ("du", "au"):
            if saisie[name]:
                demande.dates_saisies = True
                parsed = parse_date(saisie[name], french_too=for_page)
                setattr(demande, name, parsed)
                if parsed is None:
                    demande.errors[name] = DATE_PAGE if for_page else DATE_ISO
    choices: list[tuple[str, Container[str]]] = [
        ("type", vocab.TYPES_ACTIVITE),
        ("canal", vocab.CANAUX),
    ]
    if lieux is not None:
        choices.append(("lieu", lieux))
    for name, allowed in choices:
        if saisie[name] and saisie[name] not in allowed:
            demande.errors[name] = CHOIX_INVALIDE
        else:
            setattr(demande, name, saisie[name] or None)
    return demande


def stats_query(demande: StatsRequest, **extra: str) -> str:
    """A checked statistics request back as a query string (links to the print view and to
    the share form): a preset stays a preset, a custom range its dates."""
    custom = demande.du or demande.au
    params = {
        "periode": "" if custom else demande.preset or "",
        "du": demande.du.isoformat() if demande.du else "",
        "au": demande.au.isoformat() if demande.au else "",
        "type": demande.type or "",
        "canal": demande.canal or "",
        "lieu": demande.lieu or "",
        **extra,
    }
    return urlencode({k: v for k, v in params.items() if v})


# --- JSON bodies ----------------------------------------------------------------------------------


def json_body(model: type[M], read_only: Any = None) -> M:
    """The request's JSON object as `model`, or ValidationFailed with French messages per field
    (a 422). Fields of `read_only` that `model` does not take (what GET adds: id, dates,
    counters) are ignored, so that a client can send back what it read."""
    from pydantic import ValidationError

    from chalicelib.schemas.errors import french_errors

    body = current().json
    if not isinstance(body, dict):
        raise ValidationFailed({"corps": CORPS_INVALIDE})
    raw = current().request.raw_body or b"{}"
    if read_only is not None:
        ignored = set(read_only.model_fields) - set(model.model_fields)
        if ignored & body.keys():
            raw = json.dumps({k: v for k, v in body.items() if k not in ignored})
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ValidationFailed(french_errors(exc)) from None


def versioned_body(model: type[M], read_only: Any) -> tuple[M, int]:
    """A PUT's body (what GET returned, read-only fields ignored) and its required `version`."""
    body = json_body(model, read_only=read_only)
    expected: int | None = getattr(body, "version", None)
    if expected is None:
        raise ValidationFailed({"version": "Ce champ est obligatoire."})
    return body, expected


# --- versions -------------------------------------------------------------------------------------


def version(raw: str) -> int | None:
    """A version number as sent (a form's hidden field, `?version=`): None when absent,
    ValidationFailed when it is not a whole number ≥ 1 (never a write without its check)."""
    value = raw.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdecimal() and len(value) <= MAX_VERSION_DIGITS):
        raise ValidationFailed({"version": VERSION_INVALIDE})
    number = int(value)
    if number < 1:
        raise ValidationFailed({"version": VERSION_INVALIDE})
    return number


def version_or_none(raw: str) -> int | None:
    """The version a form was loaded with; None when missing or unreadable (the save then
    answers "modified meanwhile" and shows the values again, never a blind overwrite)."""
    try:
        return version(raw)
    except ValidationFailed:
        return None


def form_version() -> int | None:
    return version_or_none(current().form.get("version"))


# --- searches and page numbers --------------------------------------------------------------------

RECHERCHE_TROP_LONGUE = f"La recherche doit faire {MAX_QUERY_LENGTH} caractères au plus."


def search_text(raw: str) -> tuple[str, str | None]:
    """A beneficiary search as typed, spaces collapsed, at most MAX_QUERY_LENGTH characters (the
    search reads no more), and the French message when it was longer (the API refuses it; the
    pages search with what fits)."""
    q = " ".join(raw.split())
    if len(q) > MAX_QUERY_LENGTH:
        return q[:MAX_QUERY_LENGTH], RECHERCHE_TROP_LONGUE
    return q, None


def page_number(raw: str) -> int | None:
    """A page number of the lists sorted in memory; None when it is not one."""
    value = raw.strip()
    if value.isascii() and value.isdecimal() and len(value) < 7:
        return int(value)
    return None
