"""Searching a mediator's beneficiaries (SPEC §4): which words index a person, which match a query.

Pure logic for the store, which keeps one index entry per (mediator, token) in DynamoDB: a query
reads the entries whose token starts with `key_word(words)` (one small `begins_with` read), then
keeps the people for whom `matches` holds and orders them by `score`.

Rule (SPEC §4): every typed word must be the start of a word of the prénom, nom, commune, e-mail
or phone, ignoring case and accents. Words are normalised by the communes reference's `words`, so
"Hélène", "HELENE" and "hélène" are one word everywhere in the product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chalicelib.domain.beneficiaires import (
    BeneficiaireInput,
    national_forms,
    normalise_phone,
)
from chalicelib.domain.communes import ABBREVIATIONS, words

# Longer words add nothing to a prefix search and would bloat index keys; a query word is capped
# the same way, so a capped query word is still a prefix of the capped token.
MAX_TOKEN = 40
MAX_QUERY_WORDS = 5
# Longer than five long words plus a phone number: the rest is noise, and the cap bounds the work
# one request can cause.
MAX_QUERY_LENGTH = 200
# What people type for "Saint-"/"Sainte-" ("st etienne"), the other way round: index entries.
_ABBREVIATED = {full: short for short, full in ABBREVIATIONS.items()}
# A French number typed in international form: "+33 6 12", "0033 6 12", "+33 (0)6 12" and the
# overseas/territory codes. Only at the start of a word, so "0600331234" is left alone.
_INTERNATIONAL_PREFIX = re.compile(
    r"(?<![\w+])(?:\+|00)(33|262|508|590|594|596|681|687|689)(?:\s*\(0\))?"
)


def tokens(data: BeneficiaireInput, commune_nom: str | None) -> frozenset[str]:
    """The searchable words of a beneficiary: what the store indexes. Never raises."""
    found = [
        *_words(data.prenom),
        *_words(data.nom),
        *_commune_words(commune_nom),
        *_email_words(data.email),
        *_phone_digits(data.telephone),
    ]
    return frozenset(token[:MAX_TOKEN] for token in found if token)


def _words(value: object) -> list[str]:
    return words(value) if isinstance(value, str) else []


def _commune_words(nom: object) -> list[str]:
    found = _words(nom)
    return found + [_ABBREVIATED[w] for w in found if w in _ABBREVIATED]


def _email_words(email: object) -> list[str]:
    """Words split on non-alphanumerics ("jean", "dupont", "gmail", "com") plus the whole local
    part without separators ("jeandupont"), for someone who types the address as they remember it.
    """
    found = _words(email)
    if not isinstance(email, str) or "@" not in email:
        return found
    local = "".join(words(email.rsplit("@", 1)[0]))
    return [*found, local]


def _phone_digits(telephone: object) -> list[str]:
    """National digits ("0612345678") and E.164 digits without "+" ("33612345678")."""
    if not isinstance(telephone, str):
        return []
    e164 = normalise_phone(telephone)
    if e164 is None:
        # Not a valid number (stored before a rule change, or imported): its digits still help.
        return ["".join(c for c in telephone if c.isdecimal())]
    return [*national_forms(e164), e164[1:]]


def query_words(q: str) -> list[str]:
    """The normalised words of what a user typed, at most 5, each at most 40 characters.

    Consecutive groups of digits are joined into one word, because people type phone numbers in
    pairs: "06 12 34" looks for "061234". "+33 6 12" and "0033 6 12" become "0612" (the national
    form); other codes are kept, "+262 692 1" becomes "2626921", a prefix of the E.164 digits.
    Repeated words count once.
    """
    if not isinstance(q, str):
        return []
    text = _INTERNATIONAL_PREFIX.sub(_national_prefix, q[:MAX_QUERY_LENGTH])
    result: list[str] = []
    for word in _join_digit_groups(words(text)):
        word = word[:MAX_TOKEN]
        if word not in result:
            result.append(word)
    return result[:MAX_QUERY_WORDS]


def _national_prefix(match: re.Match[str]) -> str:
    code = match.group(1)
    return " 0" if code == "33" else f" {code}"


def _join_digit_groups(typed: Iterable[str]) -> list[str]:
    joined: list[str] = []
    for word in typed:
        if joined and word.isdecimal() and joined[-1].isdecimal():
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def key_word(words: list[str]) -> str:
    """The word to read from the index: the longest (ties: the first), so that reads stay small."""
    return max(words, key=len, default="")


def matches(words: list[str], entry_tokens: frozenset[str]) -> bool:
    """Every query word is the start of at least one token."""
    return all(any(token.startswith(word) for token in entry_tokens) for word in words)


def score(
    words: list[str], prenom: str, nom: str, entry_tokens: frozenset[str]
) -> tuple[int, int, int, str]:
    """Sort key of a match, smallest first.

    1. the query is exactly the full name, in any order ("helene dupont": Hélène Dupont before
       Hélène Dupontel);
    2. more query words equal to a whole token ("marie": Marie Zola before Marielle Abad);
    3. more query words starting a word of the name, rather than of the e-mail or commune;
    4. alphabetical by nom, then prénom.
    """
    name = [w[:MAX_TOKEN] for w in (*_words(prenom), *_words(nom))]
    exact = bool(words) and set(words) == set(name)
    whole = sum(1 for word in words if word in entry_tokens)
    on_name = sum(1 for word in words if any(w.startswith(word) for w in name))
    return (0 if exact else 1, -whole, -on_name, sort_key_nom(prenom, nom))


def sort_key_nom(prenom: str, nom: str) -> str:
    """Normalised "nom prénom" for sorting lists ("dupont helene").

    Each part is written without inner separators, so that the nom alone decides first: Zoé Le
    sorts before Anne Le Gall ("le zoe" < "legall anne"), and Le Gall sorts with Legall.
    """
    return f"{''.join(_words(nom))} {''.join(_words(prenom))}".strip()
