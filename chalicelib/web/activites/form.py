"""The activity form (SPEC §3) <-> `ActiviteInput`: flat form names, French parse errors.

Pure translation: no storage, no business rule. Whether a value is allowed (a date in the future,
an unknown slug, a missing lieu) is decided by the domain rules; this module only reports what it
cannot even read (a duration or a count that is not a number, a commune it cannot find), keyed by
the id of the form element so the error summary can link to it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

from chalicelib.domain import vocab
from chalicelib.domain.activites import ActiviteInput, Anonyme, ParticipantsAnonymes
from chalicelib.web import communes_field
from chalicelib.web.communes_field import CommuneChoice

if TYPE_CHECKING:
    from chalicelib.domain.communes import CommuneReference
    from chalicelib.web.http import FormData

AUTRE_DUREE = "autre"
DUREES_RAPIDES = tuple(vocab.DUREES_RAPIDES)
PA = "participants_anonymes"
AUTONOMIES = "autonomies_"  # + a participant's id: the level noted for them in the atelier
# Breakdown slugs that get their own input: "non communiqué" is the remainder, never typed.
TRANCHES_SAISIES = tuple(slug for slug in vocab.TRANCHES_AGE if slug != "non_communique")
STATUTS_SAISIS = tuple(slug for slug in vocab.STATUTS if slug != "non_communique")
GENRES_SAISIS = ("feminin", "masculin")
BREAKDOWNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("genres", GENRES_SAISIS),
    ("tranches_age", TRANCHES_SAISIES),
    ("statuts", STATUTS_SAISIS),
)

MULTI_FIELDS = ("materiel", "thematiques", "thematiques_demarche", "participants_ids")
ANONYME_FIELDS = ("genre", "tranche_age", "statut")
PERSON_TEXT_FIELDS = (
    "beneficiaire_id",
    "autonomie",
    "structure_redirection",
    "partenaire_id",
    "poursuite",
)
BREAKDOWN_FIELDS = tuple(f"{PA}_{group}_{slug}" for group, slugs in BREAKDOWNS for slug in slugs)
SINGLE_FIELDS = (
    "date",
    "duree",
    "duree_heures",
    "duree_minutes",
    "canal",
    "lieu_id",
    "commune_insee",
    "commune_insee_q",
    "notes",
    "confirmer_notes",
    *PERSON_TEXT_FIELDS,
    "anonyme_deja_accompagne",
    "anonyme_commune_insee",
    "anonyme_commune_insee_q",
    *(f"anonyme_{name}" for name in ANONYME_FIELDS),
    "oriente",
    "nom_demarche",
    "finalisation",
    "titre_atelier",
    "niveau",
    f"{PA}_total",
    f"{PA}_deja_accompagnes",
    *BREAKDOWN_FIELDS,
)

ERREUR_DUREE = "Saisissez une durée en heures et minutes."
ERREUR_HEURES_MINUTES = "Saisissez de 0 à 23 heures et de 0 à 59 minutes."
ERREUR_NOMBRE = "Saisissez un nombre entier."
ERREUR_DATE = "Saisissez une date valide, par exemple 14/03/2025."
OUI_NON = {"oui": True, "non": False}
COCHE = frozenset(("1", "on", "oui", "true"))
FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# Thousands separators people type in counts ("1 200"), including the narrow no-break space.
SPACES = re.compile(r"[\s\u00a0\u202f]+")

LABELS: dict[str, str] = {
    "date": "Date",
    "duree": "Durée",
    "duree_heures": "Heures",
    "duree_minutes": "Minutes",
    "canal": "Canal",
    "lieu_id": "Lieu d'activité",
    "commune_insee": "Commune du lieu",
    "materiel": "Matériel utilisé",
    "thematiques": "Thématiques",
    "notes": "Notes",
    "confirmer_notes": "Confirmation des notes",
    "beneficiaire_id": "Bénéficiaire",
    "anonyme": "Informations sur la personne",
    "anonyme_deja_accompagne": "J'ai déjà accompagné cette personne",
    "anonyme_commune_insee": "Commune de résidence",
    "anonyme_genre": "Genre",
    "anonyme_tranche_age": "Tranche d'âge",
    "anonyme_statut": "Statut",
    "autonomie": "Autonomie",
    "oriente": "Orienté vers une autre structure",
    "structure_redirection": "Structure de redirection",
    "partenaire_id": "Partenaire",
    "poursuite": "Poursuite de l'accompagnement",
    "thematiques_demarche": "Thématiques de la démarche",
    "nom_demarche": "Nom de la démarche",
    "finalisation": "La démarche est-elle finalisée ?",
    "titre_atelier": "Titre de l'atelier",
    "niveau": "Niveau",
    "participants_ids": "Participants suivis",
    f"{PA}_total": "Participants anonymes",
    f"{PA}_deja_accompagnes": "Participants déjà accompagnés",
    f"{PA}_genres": "Répartition par genre",
    f"{PA}_genres_feminin": "Nombre de femmes",
    f"{PA}_genres_masculin": "Nombre d'hommes",
    f"{PA}_tranches_age": "Répartition par tranche d'âge",
    **{f"{PA}_tranches_age_{s}": vocab.TRANCHES_AGE.label(s) for s in TRANCHES_SAISIES},
    f"{PA}_statuts": "Répartition par statut",
    **{f"{PA}_statuts_{s}": vocab.STATUTS.label(s) for s in STATUTS_SAISIS},
}

# Domain error keys whose natural anchor (dots -> underscores) is not an element of the form.
ANCHORS = {
    "participants": f"{PA}_total",
    PA: f"{PA}_total",
    "anonyme.deja_accompagne": "anonyme_deja_accompagne",
}


# --- small readers --------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name).strip()
    return value or None


def _list(form: FormData, name: str) -> tuple[str, ...]:
    """Checked boxes, trimmed, without blanks or repeats (a double-posted value counts once)."""
    return tuple(dict.fromkeys(v.strip() for v in form.getlist(name) if v.strip()))


def _yes_no(form: FormData, name: str) -> bool | None:
    return OUI_NON.get(form.get(name).strip().lower())


def _integer(raw: str) -> int | None:
    """A whole number as people type it ("12", " 1 200 "); None when it is not one."""
    digits = SPACES.sub("", raw)
    return int(digits) if digits.isdecimal() and digits.isascii() else None


def _count(form: FormData, name: str, errors: dict[str, str]) -> int | None:
    raw = form.get(name).strip()
    if not raw:
        return None
    value = _integer(raw)
    if value is None:
        errors[name] = ERREUR_NOMBRE
    return value


def _date(form: FormData, errors: dict[str, str]) -> date | None:
    """ISO from a date picker; JJ/MM/AAAA from browsers that show a plain text box instead."""
    raw = form.get("date").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    match = FRENCH_DATE.fullmatch(raw)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        pass
    errors["date"] = ERREUR_DATE
    return None


def _duree(form: FormData, errors: dict[str, str]) -> int | None:
    choice = form.get("duree").strip()
    heures, minutes = form.get("duree_heures").strip(), form.get("duree_minutes").strip()
    # A box typed in without ticking "Autre durée" (no JS to tick it) still means that duration.
    if choice == AUTRE_DUREE or (not choice and (heures or minutes)):
        return _duree_autre(heures, minutes, errors)
    if not choice:
        return None
    value = _integer(choice)
    if value is None:
        errors["duree"] = ERREUR_DUREE
    return value


def _duree_autre(heures: str, minutes: str, errors: dict[str, str]) -> int | None:
    if not heures and not minutes:
        return None  # "Autre durée" ticked, nothing typed: the rules say it is required
    h = _integer(heures) if heures else 0
    m = _integer(minutes) if minutes else 0
    if h is None or m is None:
        errors["duree"] = ERREUR_DUREE
        return None
    if h > 23 or m > 59:
        errors["duree"] = ERREUR_HEURES_MINUTES
        return None
    return h * 60 + m


def _commune(
    form: FormData,
    name: str,
    communes: CommuneReference,
    errors: dict[str, str],
    needed: bool,
) -> CommuneChoice:
    """Resolve the picker; its error only matters when the field applies to this activity."""
    choice = communes_field.resolve(form, name, communes, required=False)
    if choice.error and needed:
        errors[name] = choice.error
    return choice


# --- type-specific parts -----------------------------------------------------------------------


def _anonyme(form: FormData, commune: CommuneChoice) -> Anonyme | None:
    anonyme = Anonyme(
        deja_accompagne=_yes_no(form, "anonyme_deja_accompagne"),
        commune_insee=commune.insee or None,
        genre=_text(form, "anonyme_genre"),
        tranche_age=_text(form, "anonyme_tranche_age"),
        statut=_text(form, "anonyme_statut"),
    )
    return None if anonyme.is_empty() else anonyme


def _person(form: FormData, commune: CommuneChoice) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in PERSON_TEXT_FIELDS}
    values["oriente"] = _yes_no(form, "oriente")
    values["anonyme"] = _anonyme(form, commune)
    return values


def _demarche(form: FormData) -> dict[str, Any]:
    return {
        "thematiques_demarche": _list(form, "thematiques_demarche"),
        "nom_demarche": _text(form, "nom_demarche"),
        "finalisation": _text(form, "finalisation"),
    }


def _participants_anonymes(form: FormData, errors: dict[str, str]) -> ParticipantsAnonymes | None:
    total = _count(form, f"{PA}_total", errors)
    deja = _count(form, f"{PA}_deja_accompagnes", errors)
    groups: dict[str, dict[str, int]] = {}
    for group, slugs in BREAKDOWNS:
        counts = {slug: _count(form, f"{PA}_{group}_{slug}", errors) for slug in slugs}
        groups[group] = {slug: n for slug, n in counts.items() if n is not None}
    if total is None and deja is None and not any(groups.values()):
        return None
    return ParticipantsAnonymes(total=total or 0, deja_accompagnes=deja or 0, **groups)


def _collectif(form: FormData, errors: dict[str, str]) -> dict[str, Any]:
    participants = _list(form, "participants_ids")
    return {
        "titre_atelier": _text(form, "titre_atelier"),
        "niveau": _text(form, "niveau"),
        "participants_ids": participants,
        "participants_anonymes": _participants_anonymes(form, errors),
        # One select per person offered; only the ticked participants' levels count.
        "autonomies": {
            person: level for person in participants if (level := _text(form, AUTONOMIES + person))
        },
    }


def _notes(form: FormData) -> str:
    # Browsers post textarea line breaks as CRLF: count and store one character per break.
    return form.get("notes").replace("\r\n", "\n").strip()


# --- public API --------------------------------------------------------------------------------


def parse(
    form: FormData, type: str, communes: CommuneReference
) -> tuple[ActiviteInput, dict[str, str], dict[str, CommuneChoice]]:
    """The posted form as an `ActiviteInput`, the errors met while reading it (keyed like the
    rules' errors, see `domain_key`) and the two commune pickers as resolved (to re-render
    them)."""
    errors: dict[str, str] = {}
    canal = _text(form, "canal")
    lieu_commune = _commune(
        form, "commune_insee", communes, errors, needed=canal in ("domicile", "autre")
    )
    personne = type in ("individuel", "demarche")
    anonyme_needed = personne and not _text(form, "beneficiaire_id")
    anonyme_commune = _commune(
        form, "anonyme_commune_insee", communes, errors, needed=anonyme_needed
    )
    values: dict[str, Any] = {
        "date": _date(form, errors),
        "duree": _duree(form, errors),
        "canal": canal,
        "lieu_id": _text(form, "lieu_id"),
        "commune_insee": lieu_commune.insee or None,
        "materiel": _list(form, "materiel"),
        "thematiques": _list(form, "thematiques"),
        "notes": _notes(form),
        "confirmer_notes": form.get("confirmer_notes").strip().lower() in COCHE,
    }
    if personne:
        values.update(_person(form, anonyme_commune))
    if type == "demarche":
        values.update(_demarche(form))
    if type == "collectif":
        values.update(_collectif(form, errors))
    choices = {"commune_insee": lieu_commune, "anonyme_commune_insee": anonyme_commune}
    return (
        ActiviteInput(type=type, **values),
        {domain_key(k): m for k, m in errors.items()},
        choices,
    )


def form_values(form: FormData) -> dict[str, Any]:
    """What was posted, as the template's `valeurs` (lists for the multi-choice fields)."""
    values: dict[str, Any] = {name: form.get(name) for name in SINGLE_FIELDS if name in form}
    values.update({name: form.getlist(name) for name in MULTI_FIELDS})
    values.update({name: form.get(name) for name in form.to_dict() if name.startswith(AUTONOMIES)})
    return values


def domain_key(form_name: str) -> str:
    """The rules' key of a form element ("anonyme_genre" -> "anonyme.genre",
    "participants_anonymes_genres_feminin" -> "participants_anonymes.genres.feminin"): what
    the form could not read joins the rules' errors under the same key (the reverse of
    `error_anchor`)."""
    if form_name.startswith("anonyme_"):
        return "anonyme." + form_name.removeprefix("anonyme_")
    if form_name.startswith(PA + "_"):
        rest = form_name.removeprefix(PA + "_")
        for group, _ in BREAKDOWNS:
            if rest.startswith(group + "_"):
                return f"{PA}.{group}.{rest.removeprefix(group + '_')}"
        return f"{PA}.{rest}"
    return form_name


def error_anchor(domain_key: str) -> str:
    """The id of the form element a domain error key ("anonyme.genre", "thematiques.0") is
    about, for the error summary's links."""
    parts = [part for part in domain_key.split(".") if not part.isdecimal()]
    key = ".".join(parts)
    return ANCHORS.get(key, key.replace(".", "_"))


def duree_values(minutes: int | None) -> dict[str, str]:
    """A duration as the form shows it: a quick choice, or "Autre durée" with hours/minutes."""
    if minutes is None:
        return {}
    if str(minutes) in DUREES_RAPIDES:
        return {"duree": str(minutes)}
    heures, reste = divmod(minutes, 60)
    return {"duree": AUTRE_DUREE, "duree_heures": str(heures), "duree_minutes": str(reste)}


def durees_choices(frequentes: tuple[int, ...], first: int = 3) -> list[tuple[str, str]]:
    """The quick durées, the mediator's `first` most used ones first (most used first), then
    the others in their usual order."""
    usual = vocab.DUREES_RAPIDES.choices()
    labels = dict(usual)
    top = [str(d) for d in frequentes if str(d) in labels][:first]
    return [(slug, labels[slug]) for slug in top] + [c for c in usual if c[0] not in top]


def _yes_no_value(value: bool | None) -> str | None:
    return None if value is None else ("oui" if value else "non")


def _anonyme_values(anonyme: Anonyme | None) -> dict[str, Any]:
    if anonyme is None:
        return {}
    return {
        "anonyme_deja_accompagne": _yes_no_value(anonyme.deja_accompagne),
        "anonyme_commune_insee": anonyme.commune_insee,
        **{f"anonyme_{name}": getattr(anonyme, name) for name in ANONYME_FIELDS},
    }


def _participants_values(pa: ParticipantsAnonymes | None) -> dict[str, Any]:
    if pa is None:
        return {}
    values: dict[str, Any] = {
        f"{PA}_total": str(pa.total),
        f"{PA}_deja_accompagnes": str(pa.deja_accompagnes) if pa.deja_accompagnes else None,
    }
    for group, _ in BREAKDOWNS:
        counts: dict[str, int] = getattr(pa, group)
        values.update({f"{PA}_{group}_{slug}": str(n) for slug, n in counts.items()})
    return values


def _scalar(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


PLAIN_FIELDS = (
    "canal",
    "lieu_id",
    "commune_insee",
    "materiel",
    "thematiques",
    *PERSON_TEXT_FIELDS,
    "thematiques_demarche",
    "nom_demarche",
    "finalisation",
    "titre_atelier",
    "niveau",
    "participants_ids",
)


def values_of(data: ActiviteInput) -> dict[str, Any]:
    """An activity as the form's `valeurs` (to modify or duplicate it): only what is set."""
    values: dict[str, Any] = {name: _scalar(getattr(data, name)) for name in PLAIN_FIELDS}
    values["date"] = _scalar(data.date)
    values["notes"] = data.notes
    values["oriente"] = _yes_no_value(data.oriente)
    values.update(duree_values(data.duree))
    values.update(_anonyme_values(data.anonyme))
    values.update(_participants_values(data.participants_anonymes))
    values.update({AUTONOMIES + person: level for person, level in data.autonomies.items()})
    return {name: value for name, value in values.items() if value not in (None, "", [])}


def defaults(
    today: date, lieu_le_plus_utilise: str | None, derniere_duree: int | None
) -> dict[str, Any]:
    """A new form: today, the lieu used most (so the usual case is one tap), the last durée."""
    values: dict[str, Any] = {"date": today.isoformat()}
    if lieu_le_plus_utilise:
        values.update(canal="lieu_activite", lieu_id=lieu_le_plus_utilise)
    values.update(duree_values(derniere_duree))
    return values
