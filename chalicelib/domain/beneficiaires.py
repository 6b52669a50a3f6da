"""Beneficiaries (SPEC §4): the data, French phone numbers, the rules and what deletion keeps.

`BeneficiaireInput` is what a mediator submits (a form or a JSON body, already parsed to Python
types); `Beneficiaire` is a stored one. Field names are the JSON/form names of SPEC §10, and the
keys of `validate` are those names.

Pure Python: no AWS, no web, no clock (`today`/`now` are parameters), so the same rules serve the
form, the JSON API and the tests. Nothing here raises on odd input: the API promises a 422 with
French messages, never a 500 (SPEC §10), so every function checks the type of what it reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime

from chalicelib.domain.notes import TEXTE_INVALIDE
from chalicelib.domain.rules import Choices, Error, Verdict, choice_errors, judge, member
from chalicelib.domain.vocab import GENRES, STATUTS, TRANCHES_AGE, tranche_age_for

MAX_NOM = 100  # prénom and nom, each, after trimming
MIN_ANNEE = 1900
MAX_EMAIL = 254  # the longest address SMTP can carry (RFC 5321 path limit)
# Longer than any French number written with every separator allowed: anything longer is not a
# phone number, and the cap bounds the work one request can cause.
MAX_PHONE_INPUT = 40

# --- messages (DSFR style: say what to do, politely, in one sentence) -----------------------------

PRENOM_REQUIS = "Saisissez le prénom."
NOM_REQUIS = "Saisissez le nom."
PRENOM_TROP_LONG = "Le prénom doit faire 100 caractères au plus."
NOM_TROP_LONG = "Le nom doit faire 100 caractères au plus."
# {annee_max} is the current year.
ANNEE_NAISSANCE_INVALIDE = "L'année de naissance doit être comprise entre 1900 et {annee_max}."
TELEPHONE_INVALIDE = "Saisissez un numéro de téléphone français valide, par exemple 06 12 34 56 78."
EMAIL_INVALIDE = "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr."
COMMUNE_INCONNUE = "Choisissez la commune de résidence dans la liste proposée."
GENRE_INVALIDE = "Choisissez le genre parmi les options proposées."
TRANCHE_AGE_INVALIDE = "Choisissez la tranche d'âge parmi les options proposées."
STATUT_INVALIDE = "Choisissez le statut parmi les options proposées."
# What lists and activities show in place of a deleted person's name.
BENEFICIAIRE_SUPPRIME = "Bénéficiaire supprimé"


@dataclass(frozen=True)
class BeneficiaireInput:
    prenom: str = ""
    nom: str = ""
    annee_naissance: int | None = None
    telephone: str | None = None  # E.164 once normalised ("+33612345678")
    pas_de_telephone: bool = False
    email: str | None = None
    commune_insee: str | None = None
    genre: str | None = None
    tranche_age: str | None = None
    statut: str | None = None
    notes: str = ""
    confirmer_notes: bool = False


@dataclass(frozen=True)
class Beneficiaire:
    id: str
    mediateur_id: str
    data: BeneficiaireInput
    version: int
    cree_le: datetime
    modifie_le: datetime
    # Maintained by the store from the person's activities (lists and profile read them).
    nombre_accompagnements: int = 0
    premier_accompagnement: date | None = None
    dernier_accompagnement: date | None = None
    supprime: bool = False

    @property
    def nom_complet(self) -> str:
        """The name as people read it, "Prénom Nom"; a deleted person has no name left to show."""
        if self.supprime:
            return BENEFICIAIRE_SUPPRIME
        return f"{self.data.prenom} {self.data.nom}".strip()


# --- French phone numbers ------------------------------------------------------------------------
#
# The French plan (ARCEP) is closed, 10 digits nationally: 0 + 9-digit national significant number
# (NSN). Overseas departments share it when dialled nationally but have their own country codes,
# chosen by the first four digits. Territories outside the national plan keep their own plans.
#
# | written nationally             | where                                   | E.164           |
# |--------------------------------|-----------------------------------------|-----------------|
# | 0590 …, 0690 …, 0691 …         | Guadeloupe, Saint-Martin, St-Barthélemy | +590 + 9 digits |
# | 0594 …, 0694 …                 | Guyane                                  | +594 + 9 digits |
# | 0596 …, 0696 …, 0697 …         | Martinique                              | +596 + 9 digits |
# | 0262 …, 0263 …, 0692 …, 0693 … | La Réunion                              | +262 + 9 digits |
# | 0269 …, 0639 …                 | Mayotte (+262 since 2007, not +269)     | +262 + 9 digits |
# | 0508 + 6 digits                | Saint-Pierre-et-Miquelon                | +508 + 6 digits |
# | 0[1-9] + 8 digits, otherwise   | metropolitan France (01-05 fixed,       | +33 + 9 digits  |
# |                                | 06/07 mobile, 08 special, 09 VoIP)      |                 |
# | (international form only)      | Wallis-et-Futuna                        | +681 + 6 digits |
# | (international form only)      | Nouvelle-Calédonie                      | +687 + 6 digits |
# | (international form only)      | Polynésie française                     | +689 + 8 digits |
#
# A number written "+33 6 92 …" or "+33 5 90 …" is an overseas number misspelt with the
# metropolitan code: it is read as its national form and gets the right code. "+590 6 92 …" (an
# overseas code with another department's prefix) is not a number anyone can reach: None.
# Known simplification: a few overseas VoIP sub-ranges (09 76 …, 09 39 …, 09 47 …) and the new
# Réunion mobile block 07 09 2… are kept under +33; they still display and dial the same
# nationally, only their E.164 code differs.

_DOM_PREFIXES = {
    "0590": "590",
    "0690": "590",
    "0691": "590",
    "0594": "594",
    "0694": "594",
    "0596": "596",
    "0696": "596",
    "0697": "596",
    "0262": "262",
    "0263": "262",
    "0692": "262",
    "0693": "262",
    "0269": "262",
    "0639": "262",
}
_DOM_CODES = frozenset(_DOM_PREFIXES.values())
_SPM_PREFIX = "0508"
# Territories outside the national plan: country code -> length of the local number.
_TERRITORY_LENGTHS = {"508": 6, "681": 6, "687": 6, "689": 8}
# Spaces (NBSP too), dots, dashes (also typographic ones pasted from documents), slashes and
# parentheses: "+33 (0)6 12-34.56/78" is one number. Removing "(" ")" turns "(0)" into a trunk 0.
_PHONE_SEPARATORS = re.compile(r"[\s.\-/()\u2010-\u2015]+")
_PHONE_SHAPE = re.compile(r"\+?[0-9]+")


def normalise_phone(raw: str) -> str | None:
    """A French number in E.164 ("+33612345678"), or None when it is not a valid French number."""
    if not isinstance(raw, str) or len(raw) > MAX_PHONE_INPUT:
        return None
    compact = _PHONE_SEPARATORS.sub("", raw)
    if not _PHONE_SHAPE.fullmatch(compact):
        return None  # letters, extensions ("poste 12"), a "+" in the middle…
    if compact.startswith("+"):
        return _from_international(compact[1:])
    if compact.startswith("00"):
        return _from_international(compact[2:])
    return _from_national(compact)


def _from_national(number: str) -> str | None:
    """E.164 of a number as dialled in France ("0692123456")."""
    if len(number) != 10 or number[0] != "0" or number[1] == "0":
        return None
    if number.startswith(_SPM_PREFIX):
        return "+508" + number[4:]
    code = _DOM_PREFIXES.get(number[:4], "33")
    return f"+{code}{number[1:]}"


def _from_international(digits: str) -> str | None:
    """E.164 of a number written after "+" or "00" ("33612345678")."""
    if digits.startswith("33"):
        nsn = _without_trunk_zero(digits[2:], 9)
        return _from_national("0" + nsn) if len(nsn) == 9 else None
    code = digits[:3]
    if code in _DOM_CODES:
        nsn = _without_trunk_zero(digits[3:], 9)
        # The department's own prefixes only: "+590 692…" reaches nobody.
        if len(nsn) == 9 and _DOM_PREFIXES.get("0" + nsn[:3]) == code:
            return f"+{code}{nsn}"
        return None
    length = _TERRITORY_LENGTHS.get(code)
    if length is None:
        return None  # a foreign number (+44, +32…): not what this field is for
    local = _without_trunk_zero(digits[3:], length)
    return f"+{code}{local}" if len(local) == length else None


def _without_trunk_zero(nsn: str, length: int) -> str:
    # "+33 (0)6…" and the common mistake "+33 06…" both leave the national trunk 0 in place; no
    # valid number of these plans starts with 0, so one extra leading 0 can only be that.
    if len(nsn) == length + 1 and nsn.startswith("0"):
        return nsn[1:]
    return nsn


def national_forms(e164: str) -> tuple[str, ...]:
    """How people dial a normalised number locally: "0612345678", "0508411234" and "411234"…

    () for anything that is not a normalised number. Search indexes these digits.
    """
    code, nsn = _split(e164)
    if code == "33" or code in _DOM_CODES:
        return ("0" + nsn,)
    if code == "508":
        return (_SPM_PREFIX + nsn, nsn)  # from France, then on the islands
    if code in _TERRITORY_LENGTHS:
        return (nsn,)
    return ()


def format_phone(e164: str) -> str:
    """For display: "06 12 34 56 78", "0692 12 34 56", "+687 12 34 56"; anything else unchanged."""
    if not isinstance(e164, str):
        return ""
    code, nsn = _split(e164)
    if code == "33":
        national = "0" + nsn
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    if code in _DOM_CODES:
        # The way overseas numbers are printed locally: the 4-digit prefix names the island.
        national = "0" + nsn
        return " ".join((national[:4], *(national[i : i + 2] for i in range(4, 10, 2))))
    if code in _TERRITORY_LENGTHS:
        return " ".join((f"+{code}", *(nsn[i : i + 2] for i in range(0, len(nsn), 2))))
    return e164


def _split(e164: object) -> tuple[str, str]:
    """(country code, national significant number) of a normalised number; ("", "") otherwise."""
    if not isinstance(e164, str) or normalise_phone(e164) != e164:
        return "", ""
    code = "33" if e164.startswith("+33") else e164[1:4]
    return code, e164[1 + len(code) :]


# --- normalisation -------------------------------------------------------------------------------


def normalise(data: BeneficiaireInput, today: date) -> BeneficiaireInput:
    """The values as stored: trimmed, e-mail lower-cased, phone in E.164, age band derived.

    A phone that cannot be normalised is kept (trimmed) so that `validate` reports it with what the
    person typed. Idempotent. Values of the wrong type are left for `validate` to report.
    """
    telephone = None if data.pas_de_telephone is True else _phone(data.telephone)
    return replace(
        data,
        prenom=_name(data.prenom),
        nom=_name(data.nom),
        telephone=telephone,
        email=_email(data.email),
        commune_insee=_code(data.commune_insee, upper=True),  # Corsica: "2A004"
        genre=_code(data.genre),
        tranche_age=derived_tranche_age(data.annee_naissance, today) or _code(data.tranche_age),
        statut=_code(data.statut),
        notes="" if data.notes is None else data.notes,
    )


def derived_tranche_age(annee_naissance: object, today: date) -> str | None:
    """The age band a valid birth year implies this year; None without a valid year.

    SPEC §4: the band is derived and locked when the year is known. A band sent along with a year
    is replaced, not reported: the form's locked field may still hold last year's band (a person
    who turned 40 since) or the band of the year before the user corrected it, and an error about
    a field the user cannot change would be absurd. Statistics derive each activity's band from
    the year at the activity's date (SPEC §3.6); this one is the profile's.
    """
    year = _year(annee_naissance)
    if year is None or not MIN_ANNEE <= year <= today.year:
        return None
    return tranche_age_for(year, today.year)


def _name(value: str) -> str:
    # Inner runs of spaces too: "Jean   Pierre" pasted from a document is "Jean Pierre".
    return " ".join(value.split()) if isinstance(value, str) else value


def _phone(value: str | None) -> str | None:
    if not isinstance(value, str):
        return value
    value = value.strip()
    return (normalise_phone(value) or value) if value else None


def _email(value: str | None) -> str | None:
    if not isinstance(value, str):
        return value
    return value.strip().lower() or None


def _code(value: str | None, upper: bool = False) -> str | None:
    """A slug or a code from a select: trimmed; an empty choice is no choice."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    return (value.upper() if upper else value) or None


def _year(value: object) -> int | None:
    # Booleans are ints to Python but not years to people.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


# --- rules ---------------------------------------------------------------------------------------

# One @, no spaces, a dot inside the domain (not at either end). Deliverability is the mail
# server's business: a stricter pattern would only reject real addresses.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


@dataclass(frozen=True)
class RuleContext:
    today: date
    communes: Container[str]  # INSEE codes of the communes reference


Rule = Callable[[BeneficiaireInput, RuleContext], Iterator[Error]]


def check(data: BeneficiaireInput, ctx: RuleContext) -> Verdict[BeneficiaireInput]:
    """The input normalised once (`normalise`), every broken rule -> {field: French message}
    ({} when valid), and the sensitive data its notes hold (scanned once).

    One message per field: the first rule broken for it, so the user fixes one thing at a time.
    """
    clean = normalise(data, ctx.today)
    return judge(clean, ctx, RULES, clean.notes, clean.confirmer_notes)


def validate(data: BeneficiaireInput, ctx: RuleContext) -> dict[str, str]:
    """Every broken rule -> {field: French message}; {} when valid."""
    return check(data, ctx).errors


def _identite_rule(data: BeneficiaireInput, ctx: RuleContext) -> Iterator[Error]:
    yield from _required_name("prenom", data.prenom, PRENOM_REQUIS, PRENOM_TROP_LONG)
    yield from _required_name("nom", data.nom, NOM_REQUIS, NOM_TROP_LONG)


def _required_name(key: str, value: object, missing: str, too_long: str) -> Iterator[Error]:
    if value is None or value == "":
        yield key, missing
    elif not isinstance(value, str):
        yield key, TEXTE_INVALIDE
    elif len(value) > MAX_NOM:
        yield key, too_long


def _annee_rule(data: BeneficiaireInput, ctx: RuleContext) -> Iterator[Error]:
    if data.annee_naissance is None:
        return
    year = _year(data.annee_naissance)
    if year is None or not MIN_ANNEE <= year <= ctx.today.year:
        yield "annee_naissance", ANNEE_NAISSANCE_INVALIDE.format(annee_max=ctx.today.year)


def _telephone_rule(data: BeneficiaireInput, ctx: RuleContext) -> Iterator[Error]:
    # With "N'a pas de téléphone" ticked, normalise() has already dropped the number: the box wins.
    value = data.telephone
    if value is not None and (not isinstance(value, str) or normalise_phone(value) is None):
        yield "telephone", TELEPHONE_INVALIDE


def _email_rule(data: BeneficiaireInput, ctx: RuleContext) -> Iterator[Error]:
    value = data.email
    if value is None:
        return
    if not isinstance(value, str) or len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value):
        yield "email", EMAIL_INVALIDE


def _commune_rule(data: BeneficiaireInput, ctx: RuleContext) -> Iterator[Error]:
    if data.commune_insee is not None and not member(data.commune_insee, ctx.communes):
        yield "commune_insee", COMMUNE_INCONNUE


_CHOICES: Choices = (
    ("genre", GENRES, GENRE_INVALIDE),
    ("tranche_age", TRANCHES_AGE, TRANCHE_AGE_INVALIDE),
    ("statut", STATUTS, STATUT_INVALIDE),
)


def _choices_rule(data: BeneficiaireInput, ctx: RuleContext) -> Iterator[Error]:
    yield from choice_errors(data, _CHOICES)


RULES: tuple[Rule, ...] = (
    _identite_rule,
    _annee_rule,
    _telephone_rule,
    _email_rule,
    _commune_rule,
    _choices_rule,
)


# --- deletion (SPEC §4, §9) ----------------------------------------------------------------------


def pseudonymised(b: Beneficiaire, now: datetime) -> Beneficiaire:
    """What remains of a deleted beneficiary: only what past statistics count.

    Kept: commune de résidence, genre, tranche d'âge, statut (the socio-demographic breakdowns of
    SPEC §5), and the activity counters, since past activities stay counted. Gone for good:
    prénom, nom, téléphone, e-mail, notes, and the exact birth year too: together with the commune
    it can single a person out, while the band is all statistics use. The band is fixed at its
    value on the day of deletion. The version is left to the store, which bumps it on write.
    """
    data = b.data
    kept = BeneficiaireInput(
        commune_insee=data.commune_insee,
        genre=data.genre,
        tranche_age=derived_tranche_age(data.annee_naissance, now.date()) or data.tranche_age,
        statut=data.statut,
    )
    return replace(b, data=kept, supprime=True, modifie_le=now)
