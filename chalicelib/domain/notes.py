"""Notes (SPEC §3.1, §4, §9): the one rule of activity and beneficiary notes.

Notes stay in the mediator's own views. They are limited in length and scanned for obvious
sensitive data (a NIR, an IBAN, a card number, a birth date, a password): when something is found
the form asks the mediator to remove it or to confirm it is not sensitive (`confirmer_notes`).
The scan runs once per check (`check_notes`), and not at all over text that is too long.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

MAX_NOTES = 5000
TEXTE_INVALIDE = "Saisissez un texte."
NOTES_TROP_LONGUES = "Les notes doivent faire au plus 5 000 caractères (actuellement {longueur})."
NOTES_SENSIBLES = (
    "Vos notes semblent contenir {trouve}. "
    "Retirez-{pronom} ou confirmez qu'il ne s'agit pas d'une donnée sensible."
)
NOTES_SENSIBLES_PLURIEL = (
    "Vos notes semblent contenir {trouve}. "
    "Retirez-les ou confirmez qu'il ne s'agit pas de données sensibles."
)
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
class NotesCheck:
    """The notes' error message (None when fine) and the sensitive data found, if scanned."""

    message: str | None = None
    sensibles: tuple[str, ...] = ()


def check_notes(notes: object, confirmed: object) -> NotesCheck:
    """The notes rule: text only, at most MAX_NOTES characters, and no obvious sensitive data
    unless the mediator confirmed it is not (`confirmed is True`)."""
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        return NotesCheck(TEXTE_INVALIDE)
    if len(notes) > MAX_NOTES:
        # Checked before the scan: no pattern matching over megabytes of text.
        return NotesCheck(NOTES_TROP_LONGUES.format(longueur=_nombre(len(notes))))
    if confirmed is True:
        return NotesCheck()
    found = tuple(sensitive_patterns(notes))
    return NotesCheck(message_notes_sensibles(found) if found else None, found)


def _nombre(n: int) -> str:
    """12345 -> "12 345", the French way."""
    return f"{n:,}".replace(",", " ")


def message_notes_sensibles(trouves: Sequence[str]) -> str:
    """The notes warning naming what was found ("un IBAN et un mot de passe"); "" for nothing."""
    if not trouves:
        return ""
    if len(trouves) == 1:
        pronom = "la" if trouves[0].startswith("une ") else "le"
        return NOTES_SENSIBLES.format(trouve=trouves[0], pronom=pronom)
    trouve = ", ".join(trouves[:-1]) + " et " + trouves[-1]
    return NOTES_SENSIBLES_PLURIEL.format(trouve=trouve)


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
