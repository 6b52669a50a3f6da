"""The beneficiary form (SPEC §4) <-> `BeneficiaireInput`: form names, French parse errors.

Pure translation, like `activites_form`: whether a value is allowed (a year in the future, a phone
that is not French, an unknown slug) is the domain's decision. This module only reports what it
cannot even read (a year that is not a number, a commune it cannot find), keyed by the id of the
form element so that the error summary links to it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from chalicelib.domain.beneficiaires import (
    Beneficiaire,
    BeneficiaireInput,
    derived_tranche_age,
    format_phone,
)
from chalicelib.web import communes_field
from chalicelib.web.communes_field import CommuneChoice

if TYPE_CHECKING:
    from chalicelib.domain.communes import CommuneReference
    from chalicelib.web.http import FormData

ERREUR_ANNEE = "Saisissez l'année de naissance en chiffres, par exemple 1975."
COCHE = frozenset(("1", "on", "oui", "true"))
# Far longer than any real value: the domain reports what is too long, this only bounds the work.
MAX_TEXT = 10_000

# In the order of the form: the error summary lists the errors in this order too.
LABELS: dict[str, str] = {
    "prenom": "Prénom",
    "nom": "Nom",
    "annee_naissance": "Année de naissance",
    "telephone": "Téléphone",
    "pas_de_telephone": "N'a pas de téléphone",
    "email": "E-mail",
    "commune_insee": "Commune de résidence",
    "genre": "Genre",
    "tranche_age": "Tranche d'âge",
    "statut": "Statut",
    "notes": "Notes",
    "confirmer_notes": "Confirmation des notes",
}
TEXT_FIELDS = (
    "prenom",
    "nom",
    "annee_naissance",
    "telephone",
    "email",
    "commune_insee",
    "commune_insee_q",
    "genre",
    "tranche_age",
    "statut",
    "notes",
)
CHECKBOXES = ("pas_de_telephone", "confirmer_notes")


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)[:MAX_TEXT].strip()
    return value or None


def _checked(form: FormData, name: str) -> bool:
    return form.get(name).strip().lower() in COCHE


def _year(form: FormData, errors: dict[str, str]) -> int | None:
    raw = "".join(form.get("annee_naissance")[:40].split())
    if not raw:
        return None
    if raw.isdecimal() and raw.isascii() and len(raw) <= 6:
        return int(raw)
    errors["annee_naissance"] = ERREUR_ANNEE
    return None


def _notes(form: FormData) -> str:
    # Browsers post textarea line breaks as CRLF: store one character per break.
    return form.get("notes")[: MAX_TEXT * 2].replace("\r\n", "\n").strip()


def parse(
    form: FormData, communes: CommuneReference
) -> tuple[BeneficiaireInput, dict[str, str], CommuneChoice]:
    """The posted form as a `BeneficiaireInput`, the errors met while reading it (keyed by form
    element id) and the commune picker as resolved (to show it again)."""
    errors: dict[str, str] = {}
    commune = communes_field.resolve(form, "commune_insee", communes, required=False)
    if commune.error:
        errors["commune_insee"] = commune.error
    data = BeneficiaireInput(
        prenom=_text(form, "prenom") or "",
        nom=_text(form, "nom") or "",
        annee_naissance=_year(form, errors),
        telephone=_text(form, "telephone"),
        pas_de_telephone=_checked(form, "pas_de_telephone"),
        email=_text(form, "email"),
        commune_insee=commune.insee or None,
        genre=_text(form, "genre"),
        tranche_age=_text(form, "tranche_age"),
        statut=_text(form, "statut"),
        notes=_notes(form),
        confirmer_notes=_checked(form, "confirmer_notes"),
    )
    return data, errors, commune


def ordered_errors(*sources: dict[str, str]) -> dict[str, str]:
    """Errors merged (the first source wins for a field), in the order of the form."""
    merged: dict[str, str] = {}
    for source in sources:
        for key, message in source.items():
            merged.setdefault(key, message)
    known = {key: merged[key] for key in LABELS if key in merged}
    return known | {key: message for key, message in merged.items() if key not in known}


def form_values(form: FormData, today: date) -> dict[str, str]:
    """What was posted, as the template's `valeurs`. A valid birth year shows its age band:
    the band is derived from the year, whatever was ticked (SPEC §4)."""
    values = {name: form.get(name)[:MAX_TEXT] for name in TEXT_FIELDS if name in form}
    values.update({name: "1" for name in CHECKBOXES if _checked(form, name)})
    return _with_derived_band(values, today)


def values_of(b: Beneficiaire, today: date) -> dict[str, str]:
    """A stored beneficiary as the form's `valeurs` (to modify it): the phone as people read it."""
    d = b.data
    values = {
        "prenom": d.prenom,
        "nom": d.nom,
        "annee_naissance": str(d.annee_naissance) if d.annee_naissance is not None else "",
        "telephone": format_phone(d.telephone) if d.telephone else "",
        "pas_de_telephone": "1" if d.pas_de_telephone else "",
        "email": d.email or "",
        "commune_insee": d.commune_insee or "",
        "genre": d.genre or "",
        "tranche_age": d.tranche_age or "",
        "statut": d.statut or "",
        "notes": d.notes,
    }
    return _with_derived_band({k: v for k, v in values.items() if v}, today)


def _with_derived_band(values: dict[str, str], today: date) -> dict[str, str]:
    raw = values.get("annee_naissance", "").strip()
    year = int(raw) if raw.isdecimal() and raw.isascii() and len(raw) <= 6 else None
    band = derived_tranche_age(year, today)
    if band:
        values["tranche_age"] = band
    return values
