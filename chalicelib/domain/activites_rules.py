"""Rules of an activity (SPEC §3): every broken rule becomes a French message keyed by its field.

Pure functions over `ActiviteInput`. What the rules need from storage (the mediator's lieux,
beneficiaries and partners, the communes reference) comes in a `RuleContext`, so the same rules
serve the form, the JSON API and the tests. Keys are the JSON names of SPEC §10, dotted for nested
values ("anonyme.genre", "participants_anonymes.total").

`validate` never raises, whatever the values hold: the API promises a 422 with messages, never a
500 (SPEC §10), so every rule checks the type of what it reads before using it.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from chalicelib.domain.activites import (
    ORIENTEE,
    ActiviteInput,
    Anonyme,
    Filtres,
    ParticipantsAnonymes,
)
from chalicelib.domain.dates import EARLIEST, FIN_AVANT_DEBUT
from chalicelib.domain.ids import looks_like_id
from chalicelib.domain.notes import TEXTE_INVALIDE
from chalicelib.domain.rules import Choices, Error, Verdict, choice_errors, judge, member
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
AUTONOMIES_INVALIDES = (
    "Indiquez l'autonomie de chaque participant suivi : { identifiant : niveau }."
)
AUTONOMIE_HORS_ATELIER = "Cette personne ne fait pas partie des participants suivis de l'atelier."
ORIENTE_INVALIDE = "Indiquez si la personne a été orientée vers une autre structure : oui ou non."
ORIENTE_CONTRADICTOIRE = (
    "La démarche a été orientée vers une autre structure : répondez « Oui » et choisissez la"
    " structure."
)
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


@dataclass(frozen=True)
class RuleContext:
    today: date
    lieux: Container[str]  # the mediator's lieux allowed here (active + current when editing)
    communes: Container[str]  # INSEE codes of the communes reference
    beneficiaires: Container[str]  # ids of the mediator's own beneficiaries
    partenaires: Container[str]  # ids of the mediator's own partners


Rule = Callable[[ActiviteInput, RuleContext], Iterator[Error]]


def check(data: ActiviteInput, ctx: RuleContext) -> Verdict[ActiviteInput]:
    """The input normalised once, every broken rule -> {field: French message} ({} when valid),
    and the sensitive data its notes hold (scanned once).

    One message per field: the first rule broken for it, so the user fixes one thing at a time.
    """
    clean = _normalised(data)
    return judge(clean, ctx, RULES, clean.notes, clean.confirmer_notes)


def validate(data: ActiviteInput, ctx: RuleContext) -> dict[str, str]:
    """Every broken rule -> {field: French message}; {} when valid."""
    return check(data, ctx).errors


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
    if not all(member(item, allowed) for item in items):
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
    if not member(data.type, TYPES_ACTIVITE):
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
    elif value < EARLIEST:
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
    elif not member(data.canal, CANAUX):
        yield "canal", CANAL_INVALIDE


def _lieu_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.canal != "lieu_activite":
        return  # normalised() already cleared it
    if _blank(data.lieu_id):
        yield "lieu_id", LIEU_REQUIS
    elif not member(data.lieu_id, ctx.lieux):
        # Same message for an archived, foreign or made-up id: never say which.
        yield "lieu_id", LIEU_INCONNU


def _commune_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.canal not in ("domicile", "autre"):
        return
    if _blank(data.commune_insee):
        yield "commune_insee", COMMUNE_REQUISE
    elif not member(data.commune_insee, ctx.communes):
        yield "commune_insee", COMMUNE_INCONNUE


def _materiel_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    items = _items(data.materiel)
    known = all(member(item, MATERIEL) for item in items)
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


# --- the person: individuel and démarche (SPEC §3.3) --------------------------------------------

_OPTIONAL_CHOICES: Choices = (
    ("finalisation", FINALISATION, FINALISATION_INVALIDE),
    ("autonomie", AUTONOMIE, AUTONOMIE_INVALIDE),
    ("poursuite", POURSUITE, POURSUITE_INVALIDE),
    ("niveau", NIVEAUX, NIVEAU_INVALIDE),
)

_ANONYME_CHOICES: Choices = (
    ("genre", GENRES, ANONYME_GENRE_INVALIDE),
    ("tranche_age", TRANCHES_AGE, ANONYME_TRANCHE_AGE_INVALIDE),
    ("statut", STATUTS, ANONYME_STATUT_INVALIDE),
)


def _optional_choices_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    yield from choice_errors(data, _OPTIONAL_CHOICES)


def _orientation_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    if data.oriente is not None and not isinstance(data.oriente, bool):
        yield "oriente", ORIENTE_INVALIDE
    if data.finalisation == ORIENTEE and data.oriente is False:
        yield "oriente", ORIENTE_CONTRADICTOIRE
    if data.oriente is not True:
        return  # normalised() cleared the structure and the partner
    if _blank(data.structure_redirection):
        yield "structure_redirection", STRUCTURE_REQUISE
    elif not member(data.structure_redirection, STRUCTURES_REDIRECTION):
        yield "structure_redirection", STRUCTURE_INVALIDE
    if _given(data.partenaire_id) and not member(data.partenaire_id, ctx.partenaires):
        yield "partenaire_id", PARTENAIRE_INCONNU


def _beneficiaire_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    # Same message for someone else's beneficiary and an unknown id: never say which.
    if _given(data.beneficiaire_id) and not member(data.beneficiaire_id, ctx.beneficiaires):
        yield "beneficiaire_id", BENEFICIAIRE_INCONNU


def _anonyme_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    anonyme = data.anonyme
    if not isinstance(anonyme, Anonyme):
        return
    if anonyme.deja_accompagne is not None and not isinstance(anonyme.deja_accompagne, bool):
        yield "anonyme.deja_accompagne", ANONYME_DEJA_ACCOMPAGNE_INVALIDE
    if _given(anonyme.commune_insee) and not member(anonyme.commune_insee, ctx.communes):
        yield "anonyme.commune_insee", ANONYME_COMMUNE_INCONNUE
    yield from choice_errors(anonyme, _ANONYME_CHOICES, prefix="anonyme.")


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
    if not all(member(i, ctx.beneficiaires) for i in ids):
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
    if not isinstance(value, Mapping) or not all(member(k, allowed) for k in value):
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


def _autonomies_rule(data: ActiviteInput, ctx: RuleContext) -> Iterator[Error]:
    """An atelier's levels: one of the three, for one of its followed participants."""
    levels = data.autonomies
    if not levels:
        return
    if not isinstance(levels, Mapping):
        yield "autonomies", AUTONOMIES_INVALIDES
        return
    participants = {str(i) for i in _items(data.participants_ids)}
    for person, level in levels.items():
        if not member(person, participants):
            yield f"autonomies.{person}", AUTONOMIE_HORS_ATELIER
        elif not member(level, AUTONOMIE):
            yield f"autonomies.{person}", AUTONOMIE_INVALIDE


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
    _autonomies_rule,
)


# --- filters of Mes activités (SPEC §2): the list, the API and the exports ----------------------

CHOIX_INVALIDE = "Choisissez une valeur dans la liste."
THEMATIQUES_TOUTES = frozenset((*THEMATIQUES, *THEMATIQUES_DEMARCHE))


def check_filtres(filtres: Filtres, lieux: Container[str]) -> dict[str, str]:
    """{filter: French message} for every value that is not one of the choices offered."""
    errors: dict[str, str] = {}
    choices: tuple[tuple[str, object, Container[str]], ...] = (
        ("type", filtres.type, TYPES_ACTIVITE),
        ("canal", filtres.canal, CANAUX),
        ("lieu", filtres.lieu, lieux),
        ("thematique", filtres.thematique, THEMATIQUES_TOUTES),
        ("beneficiaire", filtres.beneficiaire, _IdLike()),
    )
    for name, value, allowed in choices:
        if value is not None and not member(value, allowed):
            errors[name] = CHOIX_INVALIDE
    if filtres.du and filtres.au and filtres.du > filtres.au:
        errors["au"] = FIN_AVANT_DEBUT
    return errors


class _IdLike:
    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and looks_like_id(value)
