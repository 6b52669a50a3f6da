"""Rules of an activity (SPEC §3): every broken rule becomes a French message keyed by its field.

Pure functions over `ActiviteInput`. What the rules need from storage (the mediator's lieux,
beneficiaries and partners, the communes reference) comes in a `RuleContext`, so the same rules
serve the form, the JSON API and the tests. Keys are the JSON names of SPEC §10, dotted for nested
values ("anonyme.genre", "participants_anonymes.total").

`validate` never raises, whatever the values hold: the API promises a 422 with messages, never a
500 (SPEC §10), so every rule checks the type of what it reads before using it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache

from chalicelib.domain.activites import ActiviteInput, Anonyme, ParticipantsAnonymes
from chalicelib.domain.vocab import (
    AUTONOMIE,
    CANAUX,
    FINALISATION,
    GENRES,
    MATERIEL,
    NIVEAUX,
    POURSUITE,
    STATUTS,
    STRUCTURES_REDIRECTION,
    THEMATIQUES,
    THEMATIQUES_DEMARCHE,
    TRANCHES_AGE,
    TYPES_ACTIVITE,
)

MAX_NOTES = 5000
MIN_DATE = date(2020, 1, 1)
MAX_PARTICIPANTS = 5000  # anonymous participants of one atelier
MAX_PARTICIPANTS_SUIVIS = 90  # followed participants of one atelier (one item each in storage)
MIN_DUREE = 1
MAX_DUREE = 23 * 60 + 59  # the form's "Autre durée" is at most 23 h 59
MAX_TEXTE = 200  # nom de la démarche, titre de l'atelier

# --- messages (DSFR style: say what to do, politely, in one sentence) -----------------------------

TYPE_INVALIDE = "Choisissez le type d'activité."
DATE_REQUISE = "Saisissez la date de l'activité."
DATE_INVALIDE = "Saisissez une date valide au format JJ/MM/AAAA."
DATE_FUTURE = "La date ne peut pas être dans le futur."
DATE_TROP_ANCIENNE = "La date ne peut pas être antérieure au 1er janvier 2020."
DUREE_REQUISE = "Choisissez la durée de l'activité."
DUREE_INVALIDE = "La durée doit être comprise entre 1 minute et 23 h 59."
CANAL_REQUIS = "Indiquez où s'est déroulée l'activité."
CANAL_INVALIDE = "Choisissez où s'est déroulée l'activité parmi les options proposées."
LIEU_REQUIS = "Choisissez le lieu d'activité."
LIEU_INCONNU = "Choisissez un de vos lieux d'activité."
COMMUNE_REQUISE = "Choisissez la commune où s'est déroulée l'activité."
COMMUNE_INCONNUE = "Choisissez une commune dans la liste proposée."
MATERIEL_INVALIDE = "Choisissez le matériel parmi les options proposées."
MATERIEL_AUCUN_EXCLUSIF = "« Pas de matériel » ne peut pas être coché avec un autre matériel."
MATERIEL_EN_DOUBLE = "Cochez chaque matériel une seule fois."
THEMATIQUES_REQUISES = "Choisissez au moins une thématique."
THEMATIQUES_INVALIDES = "Choisissez les thématiques parmi les options proposées."
THEMATIQUES_EN_DOUBLE = "Cochez chaque thématique une seule fois."
THEMATIQUES_DEMARCHE_REQUISES = "Choisissez au moins une thématique de la démarche."
THEMATIQUES_DEMARCHE_INVALIDES = (
    "Choisissez les thématiques de la démarche parmi les options proposées."
)
THEMATIQUES_DEMARCHE_EN_DOUBLE = "Cochez chaque thématique de la démarche une seule fois."
NOM_DEMARCHE_TROP_LONG = "Le nom de la démarche doit faire au plus 200 caractères."
FINALISATION_INVALIDE = "Indiquez si la démarche est finalisée parmi les réponses proposées."
AUTONOMIE_INVALIDE = "Choisissez le degré d'autonomie parmi les réponses proposées."
ORIENTE_INVALIDE = "Indiquez si la personne a été orientée vers une autre structure : oui ou non."
STRUCTURE_REQUISE = "Choisissez la structure vers laquelle la personne a été orientée."
STRUCTURE_INVALIDE = "Choisissez une structure de redirection parmi les options proposées."
PARTENAIRE_INCONNU = "Choisissez un de vos partenaires."
POURSUITE_INVALIDE = "Indiquez la poursuite de l'accompagnement parmi les réponses proposées."
BENEFICIAIRE_INCONNU = "Choisissez un de vos bénéficiaires."
ANONYME_DEJA_ACCOMPAGNE_INVALIDE = (
    "Indiquez si vous avez déjà accompagné cette personne : oui ou non."
)
ANONYME_COMMUNE_INCONNUE = "Choisissez la commune de résidence dans la liste proposée."
ANONYME_GENRE_INVALIDE = "Choisissez le genre parmi les options proposées."
ANONYME_TRANCHE_AGE_INVALIDE = "Choisissez la tranche d'âge parmi les options proposées."
ANONYME_STATUT_INVALIDE = "Choisissez le statut parmi les options proposées."
TITRE_ATELIER_TROP_LONG = "Le titre de l'atelier doit faire au plus 200 caractères."
NIVEAU_INVALIDE = "Choisissez le niveau de l'atelier parmi les options proposées."
PARTICIPANTS_INCONNUS = "Choisissez les participants parmi vos bénéficiaires."
PARTICIPANTS_EN_DOUBLE = "Ajoutez chaque participant une seule fois."
PARTICIPANTS_TROP_NOMBREUX = (
    "Ajoutez au plus 90 participants suivis et comptez les autres parmi les participants anonymes."
)
TOTAL_INVALIDE = "Le nombre de participants anonymes doit être compris entre 0 et 5 000."
DEJA_ACCOMPAGNES_INVALIDE = (
    "Le nombre de participants déjà accompagnés doit être un nombre entier positif ou nul."
)
DEJA_ACCOMPAGNES_DEPASSE_TOTAL = (
    "Le nombre de participants déjà accompagnés dépasse le nombre total de participants "
    "({nombre} > {total})."
)
# Templates shared by the three breakdowns: {repartition} is "genre", "tranche d'âge" or "statut".
REPARTITION_CATEGORIE_INCONNUE = (
    "Répartissez les participants par {repartition} parmi les catégories proposées."
)
REPARTITION_NOMBRE_INVALIDE = (
    "Saisissez des nombres entiers positifs ou nuls pour la répartition par {repartition}."
)
REPARTITION_DEPASSE_TOTAL = (
    "La répartition par {repartition} dépasse le nombre total de participants ({somme} > {total})."
)
PARTICIPANTS_REQUIS = "Ajoutez au moins un participant, suivi ou anonyme."
NOTES_TROP_LONGUES = "Les notes doivent faire au plus 5 000 caractères (actuellement {longueur})."
NOTES_SENSIBLES = (
    "Vos notes semblent contenir {trouve}. "
    "Retirez-{pronom} ou confirmez qu'il ne s'agit pas d'une donnée sensible."
)
NOTES_SENSIBLES_PLURIEL = (
    "Vos notes semblent contenir {trouve}. "
    "Retirez-les ou confirmez qu'il ne s'agit pas de données sensibles."
)
TEXTE_INVALIDE = "Saisissez un texte."

# What `sensitive_patterns` names, in the order it reports them.
SENSIBLE_NIR = "un numéro de sécurité sociale"
SENSIBLE_IBAN = "un IBAN"
SENSIBLE_CARTE = "un numéro de carte bancaire"
SENSIBLE_DATE_NAISSANCE = "une date de naissance"
SENSIBLE_MOT_DE_PASSE = "un mot de passe"
SENSIBLES = (
    SENSIBLE_NIR,
    SENSIBLE_IBAN,
    SENSIBLE_CARTE,
    SENSIBLE_DATE_NAISSANCE,
    SENSIBLE_MOT_DE_PASSE,
)


@dataclass(frozen=True)
class RuleContext:
    today: date
    lieux: Container[str]  # the mediator's lieux allowed here (active + current when editing)
    communes: Container[str]  # INSEE codes of the communes reference
    beneficiaires: Container[str]  # ids of the mediator's own beneficiaries
    partenaires: Container[str]  # ids of the mediator's own partners


Error = tuple[str, str]
Rule = Callable[[ActiviteInput, RuleContext], Iterator[Error]]


def validate(data: ActiviteInput, ctx: RuleContext) -> dict[str, str]:
    """Every broken rule -> {field: French message}; {} when valid. Works on data.normalised().

    One message per field: the first rule broken for it, so the user fixes one thing at a time.
    """
    clean = _normalised(data)
    errors: dict[str, str] = {}
    for rule in RULES:
        for key, message in rule(clean, ctx):
            errors.setdefault(key, message)
    return errors


def message_notes_sensibles(trouves: Sequence[str]) -> str:
    """The notes warning naming what was found ("un IBAN et un mot de passe"); "" for nothing."""
    if not trouves:
        return ""
    if len(trouves) == 1:
        pronom = "la" if trouves[0].startswith("une ") else "le"
        return NOTES_SENSIBLES.format(trouve=trouves[0], pronom=pronom)
    trouve = ", ".join(trouves[:-1]) + " et " + trouves[-1]
    return NOTES_SENSIBLES_PLURIEL.format(trouve=trouve)


# --- small helpers: tolerate any value, since the JSON edge is not the only caller --------------


def _normalised(data: ActiviteInput) -> ActiviteInput:
    # `normalised()` looks the type up in a mapping and calls `anonyme.is_empty()`; values of the
    # wrong kind would make it raise. A non-text type is reported by the type rule; an `anonyme`
    # that is not an `Anonyme` cannot come from the typed edge and is treated as absent.
    if not isinstance(data.type, str):
        data = replace(data, type="")
    if data.anonyme is not None and not isinstance(data.anonyme, Anonyme):
        data = replace(data, anonyme=None)
    return data.normalised()


def _blank(value: object) -> bool:
    """Missing, for a required field: None or only spaces (an empty form control)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _given(value: object) -> bool:
    """Present, for an optional field: anything but None and the empty string."""
    return value is not None and value != ""


def _member(value: object, allowed: Container[str]) -> bool:
    # Only text can be a slug or an id; checking the type first also keeps unhashable values
    # away from set/dict lookups, which would raise.
    return isinstance(value, str) and value in allowed


def _count(value: object) -> int | None:
    """A whole number >= 0, else None. Booleans are ints to Python but not counts to people."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _items(value: object) -> tuple[object, ...]:
    """A multi-valued field as a tuple; a lone value counts as one item."""
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


def _multi(
    key: str, items: tuple[object, ...], allowed: Container[str], invalid: str, duplicate: str
) -> Iterator[Error]:
    if not all(_member(item, allowed) for item in items):
        yield key, invalid
    elif len(set(items)) != len(items):
        # A repeated slug would be counted twice in the statistics.
        yield key, duplicate


def _text(key: str, value: object, too_long: str) -> Iterator[Error]:
    if value is None:
        return
    if not isinstance(value, str):
        yield key, TEXTE_INVALIDE
    elif len(value) > MAX_TEXTE:
        yield key, too_long


# --- common fields (SPEC §3.1) ------------------------------------------------------------------


def _type_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if not _member(data.type, TYPES_ACTIVITE):
        yield "type", TYPE_INVALIDE


def _date_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    value: object = data.date
    if isinstance(value, datetime):
        value = value.date()  # a datetime does not compare with a date
    if _blank(value):
        yield "date", DATE_REQUISE
    elif not isinstance(value, date):
        yield "date", DATE_INVALIDE
    elif value > ctx.today:
        yield "date", DATE_FUTURE
    elif value < MIN_DATE:
        yield "date", DATE_TROP_ANCIENNE


def _duree_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    duree = _count(data.duree)
    if _blank(data.duree):
        yield "duree", DUREE_REQUISE
    elif duree is None or not MIN_DUREE <= duree <= MAX_DUREE:
        yield "duree", DUREE_INVALIDE


def _canal_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if _blank(data.canal):
        yield "canal", CANAL_REQUIS
    elif not _member(data.canal, CANAUX):
        yield "canal", CANAL_INVALIDE


def _lieu_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.canal != "lieu_activite":
        return  # normalised() already cleared it
    if _blank(data.lieu_id):
        yield "lieu_id", LIEU_REQUIS
    elif not _member(data.lieu_id, ctx.lieux):
        # Same message for an archived, foreign or made-up id: never say which.
        yield "lieu_id", LIEU_INCONNU


def _commune_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.canal not in ("domicile", "autre"):
        return
    if _blank(data.commune_insee):
        yield "commune_insee", COMMUNE_REQUISE
    elif not _member(data.commune_insee, ctx.communes):
        yield "commune_insee", COMMUNE_INCONNUE


def _materiel_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    items = _items(data.materiel)
    known = all(_member(item, MATERIEL) for item in items)
    if known and "aucun" in items and len(set(items)) > 1:
        yield "materiel", MATERIEL_AUCUN_EXCLUSIF
    yield from _multi("materiel", items, MATERIEL, MATERIEL_INVALIDE, MATERIEL_EN_DOUBLE)


def _thematiques_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    items = _items(data.thematiques)
    # Optional for a démarche: its own thématiques carry the subject (SPEC §3.2).
    if not items and data.type in ("individuel", "collectif"):
        yield "thematiques", THEMATIQUES_REQUISES
    yield from _multi(
        "thematiques", items, THEMATIQUES, THEMATIQUES_INVALIDES, THEMATIQUES_EN_DOUBLE
    )


def _notes_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    notes: object = "" if data.notes is None else data.notes
    if not isinstance(notes, str):
        yield "notes", TEXTE_INVALIDE
    elif len(notes) > MAX_NOTES:
        # Checked before the scan: no pattern matching over megabytes of text.
        yield "notes", NOTES_TROP_LONGUES.format(longueur=_nombre(len(notes)))
    elif data.confirmer_notes is not True:
        found = sensitive_patterns(notes)
        if found:
            yield "notes", message_notes_sensibles(found)


def _nombre(n: int) -> str:
    """12345 -> "12 345", the French way."""
    return f"{n:,}".replace(",", " ")


# --- the person: individuel and démarche (SPEC §3.3) --------------------------------------------

_OPTIONAL_CHOICES: tuple[tuple[str, Container[str], str], ...] = (
    ("finalisation", FINALISATION, FINALISATION_INVALIDE),
    ("autonomie", AUTONOMIE, AUTONOMIE_INVALIDE),
    ("poursuite", POURSUITE, POURSUITE_INVALIDE),
    ("niveau", NIVEAUX, NIVEAU_INVALIDE),
)

_ANONYME_CHOICES: tuple[tuple[str, Container[str], str], ...] = (
    ("genre", GENRES, ANONYME_GENRE_INVALIDE),
    ("tranche_age", TRANCHES_AGE, ANONYME_TRANCHE_AGE_INVALIDE),
    ("statut", STATUTS, ANONYME_STATUT_INVALIDE),
)


def _optional_choices_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    for key, allowed, message in _OPTIONAL_CHOICES:
        value = getattr(data, key)
        if _given(value) and not _member(value, allowed):
            yield key, message


def _orientation_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.oriente is not None and not isinstance(data.oriente, bool):
        yield "oriente", ORIENTE_INVALIDE
    if data.oriente is not True:
        return  # normalised() cleared the structure and the partner
    if _blank(data.structure_redirection):
        yield "structure_redirection", STRUCTURE_REQUISE
    elif not _member(data.structure_redirection, STRUCTURES_REDIRECTION):
        yield "structure_redirection", STRUCTURE_INVALIDE
    if _given(data.partenaire_id) and not _member(data.partenaire_id, ctx.partenaires):
        yield "partenaire_id", PARTENAIRE_INCONNU


def _beneficiaire_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    # Same message for someone else's beneficiary and an unknown id: never say which.
    if _given(data.beneficiaire_id) and not _member(data.beneficiaire_id, ctx.beneficiaires):
        yield "beneficiaire_id", BENEFICIAIRE_INCONNU


def _anonyme_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    anonyme = data.anonyme
    if not isinstance(anonyme, Anonyme):
        return
    if anonyme.deja_accompagne is not None and not isinstance(anonyme.deja_accompagne, bool):
        yield "anonyme.deja_accompagne", ANONYME_DEJA_ACCOMPAGNE_INVALIDE
    if _given(anonyme.commune_insee) and not _member(anonyme.commune_insee, ctx.communes):
        yield "anonyme.commune_insee", ANONYME_COMMUNE_INCONNUE
    for name, allowed, message in _ANONYME_CHOICES:
        value = getattr(anonyme, name)
        if _given(value) and not _member(value, allowed):
            yield f"anonyme.{name}", message


# --- démarche only (SPEC §3.4) ------------------------------------------------------------------


def _demarche_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    items = _items(data.thematiques_demarche)
    if not items and data.type == "demarche":
        yield "thematiques_demarche", THEMATIQUES_DEMARCHE_REQUISES
    yield from _multi(
        "thematiques_demarche",
        items,
        THEMATIQUES_DEMARCHE,
        THEMATIQUES_DEMARCHE_INVALIDES,
        THEMATIQUES_DEMARCHE_EN_DOUBLE,
    )
    yield from _text("nom_demarche", data.nom_demarche, NOM_DEMARCHE_TROP_LONG)


# --- collectif only (SPEC §3.5) -----------------------------------------------------------------

_REPARTITIONS: tuple[tuple[str, str, Container[str]], ...] = (
    ("genres", "genre", GENRES),
    ("tranches_age", "tranche d'âge", TRANCHES_AGE),
    ("statuts", "statut", STATUTS),
)


def _titre_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    yield from _text("titre_atelier", data.titre_atelier, TITRE_ATELIER_TROP_LONG)


def _participants_ids_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    ids = _items(data.participants_ids)
    if not all(_member(i, ctx.beneficiaires) for i in ids):
        yield "participants_ids", PARTICIPANTS_INCONNUS
    elif len(set(ids)) != len(ids):
        yield "participants_ids", PARTICIPANTS_EN_DOUBLE
    elif len(ids) > MAX_PARTICIPANTS_SUIVIS:
        yield "participants_ids", PARTICIPANTS_TROP_NOMBREUX


def _anonymes_total(pa: ParticipantsAnonymes) -> int | None:
    total = _count(pa.total)
    return total if total is not None and total <= MAX_PARTICIPANTS else None


def _participants_anonymes_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    pa = data.participants_anonymes
    if not isinstance(pa, ParticipantsAnonymes):
        return
    total = _anonymes_total(pa)
    if total is None:
        yield "participants_anonymes.total", TOTAL_INVALIDE
    yield from _deja_accompagnes(pa.deja_accompagnes, total)
    for name, label, allowed in _REPARTITIONS:
        yield from _repartition(name, label, allowed, getattr(pa, name), total)


def _deja_accompagnes(value: object, total: int | None) -> Iterator[Error]:
    key = "participants_anonymes.deja_accompagnes"
    nombre = _count(value)
    if nombre is None:
        yield key, DEJA_ACCOMPAGNES_INVALIDE
    elif total is not None and nombre > total:
        yield key, DEJA_ACCOMPAGNES_DEPASSE_TOTAL.format(nombre=nombre, total=total)


def _repartition(
    name: str, label: str, allowed: Container[str], value: object, total: int | None
) -> Iterator[Error]:
    key = f"participants_anonymes.{name}"
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(_member(k, allowed) for k in value):
        yield key, REPARTITION_CATEGORIE_INCONNUE.format(repartition=label)
        return
    counts = [_count(n) for n in value.values()]
    if any(n is None for n in counts):
        yield key, REPARTITION_NOMBRE_INVALIDE.format(repartition=label)
        return
    somme = sum(n for n in counts if n is not None)
    if total is not None and somme > total:
        # Only an excess is wrong: what is not counted is "Non communiqué" (SPEC §3.5).
        yield key, REPARTITION_DEPASSE_TOTAL.format(repartition=label, somme=somme, total=total)


def _au_moins_un_participant_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.type != "collectif":
        return
    pa = data.participants_anonymes
    anonymes = _count(pa.total) if isinstance(pa, ParticipantsAnonymes) else 0
    if anonymes is None:
        return  # the total has its own message; "add a participant" would only add noise
    if len(_items(data.participants_ids)) + anonymes < 1:
        yield "participants", PARTICIPANTS_REQUIS


RULES: tuple[Rule, ...] = (
    _type_rule,
    _date_rule,
    _duree_rule,
    _canal_rule,
    _lieu_rule,
    _commune_rule,
    _materiel_rule,
    _thematiques_rule,
    _demarche_rule,
    _optional_choices_rule,
    _orientation_rule,
    _beneficiaire_rule,
    _anonyme_rule,
    _titre_rule,
    _participants_ids_rule,
    _participants_anonymes_rule,
    _au_moins_un_participant_rule,
    _notes_rule,
)


# --- sensitive data in notes (SPEC §3.1, §9) ----------------------------------------------------
#
# Obvious patterns only: a warning people learn to click through is worse than none, so each
# detector wants a checksum (NIR key, IBAN mod 97, Luhn) or a tell-tale word next to the value.
# Matching runs on a folded copy of the text (lower case, no accents, one character for one) so
# that positions still point into the original, where the case of a password can be read.


def sensitive_patterns(notes: str) -> list[str]:
    """French names of obvious sensitive data found in notes (e.g. "un numéro de sécurité sociale"),
    [] if none."""
    if not isinstance(notes, str) or not notes:
        return []
    original = unicodedata.normalize("NFC", notes)  # "é" typed as e + accent becomes one character
    folded = "".join(_fold_char(c) for c in original)
    taken: list[tuple[int, int]] = []
    found: set[str] = set()
    for name, finder in _DETECTORS:
        # A digit run claimed by an IBAN or a NIR is not also a card number (and so on).
        spans = [s for s in finder(folded, original) if not _overlaps(s, taken)]
        if spans:
            found.add(name)
            taken.extend(spans)
    return [name for name in SENSIBLES if name in found]


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    return unicodedata.normalize("NFKD", c)[0].lower()[0]


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


Span = tuple[int, int]
Finder = Callable[[str, str], list[Span]]

# A French IBAN: FR, 2 check digits, 23 characters (bank, branch, account, RIB key), spaced or not.
_IBAN = re.compile(r"(?<![0-9a-z])fr[0-9]{2}(?:[ -]?[0-9a-z]){23}(?![0-9a-z])", re.ASCII)


def _iban_spans(folded: str, original: str) -> list[Span]:
    return [m.span() for m in _IBAN.finditer(folded) if _iban_ok(_compact(m.group()))]


def _compact(text: str) -> str:
    return re.sub(r"[ .\-]", "", text)


def _iban_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# NIR: sex (1, 2, or 7/8 for temporary numbers), year, month, department (2A/2B in Corsica),
# commune, order number, then the optional 2-digit key; spaces or dots between the groups.
_NIR = re.compile(
    r"(?<![0-9a-z])[1278][ .]?[0-9]{2}[ .]?(?P<mois>[0-9]{2})[ .]?(?:[0-9]{2}|2[ab])"
    r"[ .]?[0-9]{3}[ .]?[0-9]{3}(?:[ .]?(?P<cle>[0-9]{2}))?(?![0-9a-z])",
    re.ASCII,
)


def _nir_spans(folded: str, original: str) -> list[Span]:
    return [m.span() for m in _NIR.finditer(folded) if _nir_ok(m)]


def _nir_ok(match: re.Match[str]) -> bool:
    mois = int(match.group("mois"))
    cle = match.group("cle")
    if cle is None:
        # Without a key to check, only a real month keeps a bare 13-digit number from matching.
        return 1 <= mois <= 12
    body = _compact(match.group())[:13]
    # Corsica: the key is computed with 2A read as 19 and 2B as 18.
    number = int(body.replace("2a", "19").replace("2b", "18"))
    return 97 - number % 97 == int(cle)


# Card numbers: contiguous, or in groups of 4 (4-6-5 for American Express). 14 contiguous digits
# are left out: that is a SIRET, which passes Luhn too and is common in notes about businesses.
_CARD = re.compile(
    r"(?<![0-9a-z])(?:[0-9]{13}|[0-9]{15,19}"
    r"|[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{3})?"
    r"|[0-9]{4}(?P<a>[ -])[0-9]{6}(?P=a)[0-9]{5})(?![0-9a-z])",
    re.ASCII,
)


def _card_spans(folded: str, original: str) -> list[Span]:
    return [m.span() for m in _CARD.finditer(folded) if _card_ok(_compact(m.group()))]


def _card_ok(digits: str) -> bool:
    # Issuer prefixes of the networks used in France (Visa 4, Mastercard 5 and 2221-2720,
    # Amex/Diners/JCB 3, Discover/Maestro/UnionPay 6), then the Luhn checksum.
    if digits[0] not in "3456" and not 2221 <= int(digits[:4]) <= 2720:
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_MOIS = (
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
)
_DATE = (
    r"(?:(?P<j1>[0-9]{1,2})[/.\-](?P<m1>[0-9]{1,2})[/.\-](?P<a1>[0-9]{4}|[0-9]{2})"
    r"|(?P<j2>1er|[0-9]{1,2})\s+(?P<m2>" + "|".join(_MOIS) + r")\s+(?P<a2>[0-9]{4})"
    r"|(?P<a3>[0-9]{4})-(?P<m3>[0-9]{2})-(?P<j3>[0-9]{2}))(?![0-9])"
)
# The birth word must come right before the date ("née le", "date de naissance :", "DDN"): a date
# merely somewhere near "naissance" is too often an appointment about a birth certificate.
_NAISSANCE = re.compile(
    r"\b(?:ne\(e\)|nee?s?|naissance|naiss\.?|ddn)\s*[:,\-]?\s*(?:(?:le|du|en)\s+)?" + _DATE,
    re.ASCII,
)


def _naissance_spans(folded: str, original: str) -> list[Span]:
    return [m.span() for m in _NAISSANCE.finditer(folded) if _real_date(m)]


def _real_date(match: re.Match[str]) -> bool:
    for n in "123":
        jour, mois, annee = match.group(f"j{n}", f"m{n}", f"a{n}")
        if jour is not None:
            return _date_exists(jour, mois, annee)
    return False


def _date_exists(jour: str, mois: str, annee: str) -> bool:
    day = 1 if jour == "1er" else int(jour)
    month = _MOIS.index(mois) + 1 if mois in _MOIS else int(mois)
    year = int(annee) if len(annee) == 4 else 2000  # a leap year: 29/02/52 is a real birthday
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# "mot de passe", "mdp", "code PIN"… then a value. With ":" or "=" any value but a topic word is a
# secret ("mdp : Soleil2024"); without, the value must look like one (digits or symbols), so
# "mot de passe oublié" or "mot de passe FranceConnect" stay what they are: the subject of the help.
_MOT_DE_PASSE = re.compile(
    r"\b(?:mots?\s+de\s+passe|mdp|password|passwd|pwd|code\s+(?:pin|secret))\b"
    r"\s*(?:(?P<sep>[:=])\s*|(?:est|is)\s+)?(?P<valeur>\S+)",
    re.ASCII,
)
# Words that say what happened to a password rather than what it is ("mdp : oublié").
_TOPIC_WORD = re.compile(
    r"(?:oubli|perdu|bloque|expire|change|modifie|reinitialise|incorrect|errone|inconnu)e?s?"
    r"|faux|fausses?|nouveaux?|nouvel(?:les?)?|provisoires?|invalides?|refaire|creer|creee?s?"
    r"|ok|oui|non|aucune?|a",
    re.ASCII,
)
_NOT_SYMBOLS = frozenset("'’-.")


def _mot_de_passe_spans(folded: str, original: str) -> list[Span]:
    spans = []
    for m in _MOT_DE_PASSE.finditer(folded):
        start, end = m.span("valeur")
        if _secret(original[start:end], with_separator=m.group("sep") is not None):
            spans.append(m.span())
    return spans


def _secret(value: str, with_separator: bool) -> bool:
    value = value.strip(".,;:!?()[]\"'«»")
    if not value or _TOPIC_WORD.fullmatch("".join(_fold_char(c) for c in value)):
        return False
    if with_separator:
        return True
    digits = any(c.isdigit() for c in value)
    symbols = any(not c.isalnum() and c not in _NOT_SYMBOLS for c in value)
    return len(value) >= 4 and (digits or symbols)


_DETECTORS: tuple[tuple[str, Finder], ...] = (
    (SENSIBLE_IBAN, _iban_spans),
    (SENSIBLE_NIR, _nir_spans),
    (SENSIBLE_CARTE, _card_spans),
    (SENSIBLE_DATE_NAISSANCE, _naissance_spans),
    (SENSIBLE_MOT_DE_PASSE, _mot_de_passe_spans),
)
