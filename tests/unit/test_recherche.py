"""Searching beneficiaries (SPEC §4): every typed word must start a word of the prénom, nom,
commune, e-mail or phone, whatever the case and the accents; the best match comes first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.beneficiaires import BeneficiaireInput
from chalicelib.domain.recherche import (
    MAX_QUERY_WORDS,
    MAX_TOKEN,
    key_word,
    matches,
    query_words,
    score,
    sort_key_nom,
    tokens,
)

HELENE = BeneficiaireInput(
    prenom="Hélène",
    nom="Dupont",
    telephone="+33612345678",
    email="helene.dupont@exemple.fr",
    commune_insee="42218",
)
SAINT_ETIENNE = "Saint-Étienne"


def finds(q: str, data: BeneficiaireInput = HELENE, commune: str | None = SAINT_ETIENNE) -> bool:
    return matches(query_words(q), tokens(data, commune))


def ranked(q: str, people: list[BeneficiaireInput]) -> list[str]:
    """Names of the people the query finds, best first: what the search page lists."""
    words = query_words(q)
    found = [(p, tokens(p, None)) for p in people]
    hits = [(score(words, p.prenom, p.nom, t), p) for p, t in found if matches(words, t)]
    return [f"{p.prenom} {p.nom}" for _, p in sorted(hits, key=lambda hit: hit[0])]


# --- what is indexed -----------------------------------------------------------------------


def test_given_a_beneficiary_then_names_commune_email_and_phone_are_indexed() -> None:
    assert tokens(HELENE, SAINT_ETIENNE) == {
        "helene",
        "dupont",
        "saint",
        "st",  # what people type for "Saint-"
        "etienne",
        "exemple",
        "fr",
        "helenedupont",  # the whole local part of the e-mail
        "0612345678",
        "33612345678",
    }


def test_given_an_overseas_phone_then_national_and_international_digits_are_indexed() -> None:
    data = BeneficiaireInput(prenom="Léa", nom="Payet", telephone="+262692123456")
    assert {"0692123456", "262692123456"} <= tokens(data, None)


def test_given_a_phone_that_is_not_normalised_then_its_digits_are_still_indexed() -> None:
    data = BeneficiaireInput(prenom="Léa", nom="Payet", telephone="06 12 34")
    assert "061234" in tokens(data, None)


def test_given_very_long_words_then_tokens_are_capped_and_still_found() -> None:
    long_name = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft"
    data = BeneficiaireInput(prenom="Hubert", nom=long_name)
    assert all(len(token) <= MAX_TOKEN for token in tokens(data, None))
    assert finds(long_name, data)
    assert finds(long_name[:45], data)


def test_given_empty_or_odd_values_then_no_empty_token() -> None:
    data = BeneficiaireInput(prenom="  ", nom="--", email="@", telephone="", commune_insee=None)
    assert tokens(data, "") == frozenset()
    odd = BeneficiaireInput(prenom=3, nom=None, email=[], telephone=6)  # type: ignore[arg-type]
    assert tokens(odd, None) == frozenset()


# --- what a query finds --------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "helene dup",
        "HÉLÈNE",
        "Hélène Dupont",
        "hélène",
        "dup hel",  # order does not matter
        "  d  ",
        "0612",
        "06 12 34",
        "06.12.34.56.78",
        "+33 6 12 34",
        "+33 (0)6 12",
        "0033 6 12 34 56 78",
        "33612",
        "helene.dupont",
        "helenedup",
        "helene.dupont@exemple.fr",
        "exemple",
        "exemple.fr",
        "saint eti",
        "st etienne",
        "Saint-Étienne dupont",
        "etienne",
    ],
)
def test_given_words_she_is_known_by_when_searched_then_helene_is_found(q: str) -> None:
    assert finds(q)


@pytest.mark.parametrize(
    "q",
    [
        "helene martin",  # one word that matches nothing is enough to exclude
        "dupontel",
        "upont",  # inside a word, not at its start
        "0712",
        "06 13",
        "+262 692",
        "lyon",
        "gmail",
        "helene 0613",
    ],
)
def test_given_a_word_she_is_not_known_by_when_searched_then_helene_is_not_found(q: str) -> None:
    assert not finds(q)


@pytest.mark.parametrize("q", ["0692 12", "0692123456", "+262 692 12", "00262 (0)692"])
def test_given_an_overseas_number_when_searched_by_its_digits_then_found(q: str) -> None:
    lea = BeneficiaireInput(prenom="Léa", nom="Payet", telephone="+262692123456")
    assert finds(q, lea, None)


def test_given_an_empty_query_then_nothing_is_asked_for() -> None:
    assert query_words("") == []
    assert query_words(" -- , ") == []


# --- query words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("Hélène DUPONT", ["helene", "dupont"]),
        ("Jean-Pierre L'Hôte", ["jean", "pierre", "l", "hote"]),
        ("06 12", ["0612"]),  # digit groups are one number
        ("06 12 34 56 78", ["0612345678"]),
        ("+33 6 12", ["0612"]),
        ("0033 6 12", ["0612"]),
        ("+33 (0)6 12", ["0612"]),
        ("+262 692 12", ["26269212"]),
        ("dupont 06 12", ["dupont", "0612"]),
        ("06 dupont 12", ["06", "dupont", "12"]),
        ("dupont Dupont DUPONT", ["dupont"]),
        ("a b c d e f g", ["a", "b", "c", "d", "e"]),
        ("Œuvre", ["oeuvre"]),
    ],
)
def test_given_a_query_then_its_words_are_normalised(q: str, words: list[str]) -> None:
    assert query_words(q) == words


def test_given_a_very_long_word_then_it_is_capped() -> None:
    assert query_words("x" * 100) == ["x" * MAX_TOKEN]


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["hel", "dupont"], "dupont"),
        (["dupont", "hel"], "dupont"),
        (["abc", "def"], "abc"),  # ties: the first
        (["0612345678", "dupont"], "0612345678"),
        ([], ""),
    ],
)
def test_given_query_words_then_the_longest_is_looked_up(words: list[str], key: str) -> None:
    assert key_word(words) == key


# --- ranking -------------------------------------------------------------------------------


def person(prenom: str, nom: str, **values: Any) -> BeneficiaireInput:
    return BeneficiaireInput(prenom=prenom, nom=nom, **values)


def test_given_the_exact_full_name_then_that_person_comes_first() -> None:
    people = [person("Hélène", "Dupontel"), person("Hélène", "Dupont")]
    # "dupont" also starts "Dupontel": both are found, the exact name first.
    assert ranked("helene dupont", people) == ["Hélène Dupont", "Hélène Dupontel"]
    assert ranked("dupontel", people) == ["Hélène Dupontel"]


def test_given_the_exact_full_name_then_it_beats_the_alphabet() -> None:
    # Anne-Marie Dupont sorts first alphabetically and matches both words whole, but the query is
    # exactly Marie Dupont's name.
    people = [person("Anne-Marie", "Dupont"), person("Marie", "Dupont")]
    assert ranked("marie dupont", people) == ["Marie Dupont", "Anne-Marie Dupont"]
    assert ranked("dupont marie", people) == ["Marie Dupont", "Anne-Marie Dupont"]


def test_given_a_whole_word_then_it_beats_a_prefix() -> None:
    people = [person("Marielle", "Abad"), person("Marie", "Zola")]
    assert ranked("marie", people) == ["Marie Zola", "Marielle Abad"]


def test_given_a_word_of_the_name_then_it_beats_the_same_word_in_an_email() -> None:
    people = [person("Alice", "Bernard", email="martin.b@exemple.fr"), person("Paul", "Martin")]
    assert ranked("martin", people) == ["Paul Martin", "Alice Bernard"]


def test_given_equal_matches_then_alphabetical_by_nom_then_prenom() -> None:
    people = [person("Zoé", "Dupontel"), person("Hélène", "Dupont"), person("Anne", "Dupont")]
    assert ranked("dup", people) == ["Anne Dupont", "Hélène Dupont", "Zoé Dupontel"]


@pytest.mark.parametrize(
    ("prenom", "nom", "key"),
    [
        ("Hélène", "Dupont", "dupont helene"),
        ("Jean-Pierre", "Le Gall", "legall jeanpierre"),
        ("Éloïse", "", "eloise"),
    ],
)
def test_given_names_then_the_list_sort_key_is_nom_then_prenom(
    prenom: str, nom: str, key: str
) -> None:
    assert sort_key_nom(prenom, nom) == key


def test_given_a_short_nom_then_it_sorts_before_a_longer_one_that_starts_alike() -> None:
    names = [("Anne", "Le Gall"), ("Zoé", "Le"), ("Bob", "Legrand")]
    assert sorted(names, key=lambda n: sort_key_nom(*n)) == [
        ("Zoé", "Le"),
        ("Anne", "Le Gall"),
        ("Bob", "Legrand"),
    ]


# --- properties ----------------------------------------------------------------------------

# French names: letters with their accents and ligatures, hyphens, apostrophes and spaces. Digits
# are left out on purpose: query digit groups are joined into one number.
FRENCH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêëàâäîïôöùûüçÿœæÉÈÊÀÂÎÔÙÛÇŒÆ"
name_text = st.text(alphabet=FRENCH + " -'", min_size=1, max_size=40)


@st.composite
def beneficiary_and_query(draw: st.DrawFn) -> tuple[BeneficiaireInput, str | None, str]:
    prenom, nom = draw(name_text), draw(name_text)
    commune = draw(st.none() | name_text)
    own_words = [w for text in (prenom, nom, commune or "") for w in text.split()]
    if not own_words:
        return BeneficiaireInput(prenom=prenom, nom=nom), commune, ""
    picked = draw(st.lists(st.sampled_from(own_words), min_size=1, max_size=7))
    prefixes = [w[: draw(st.integers(min_value=1, max_value=len(w)))] for w in picked]
    prefixes = [p.upper() if draw(st.booleans()) else p for p in prefixes]
    separator = draw(st.sampled_from([" ", "  ", ", ", " - "]))
    return BeneficiaireInput(prenom=prenom, nom=nom), commune, separator.join(prefixes)


@settings(max_examples=500)
@given(beneficiary_and_query())
def test_given_prefixes_of_her_own_words_when_searched_then_she_is_found(
    case: tuple[BeneficiaireInput, str | None, str],
) -> None:
    data, commune, q = case
    assert matches(query_words(q), tokens(data, commune))


@settings(max_examples=200)
@given(
    st.text(),
    st.text(),
    st.none() | st.text(),
    st.none() | st.text(),
    st.none() | st.text(),
)
def test_given_any_text_then_tokens_never_raise_and_are_never_empty(
    prenom: str, nom: str, email: str | None, telephone: str | None, commune: str | None
) -> None:
    data = BeneficiaireInput(prenom=prenom, nom=nom, email=email, telephone=telephone)
    found = tokens(data, commune)
    assert all(0 < len(token) <= MAX_TOKEN for token in found)


@settings(max_examples=200)
@given(st.text())
def test_given_any_text_then_query_words_never_raise_and_stay_small(q: str) -> None:
    words = query_words(q)
    assert len(words) <= MAX_QUERY_WORDS
    assert all(0 < len(word) <= MAX_TOKEN for word in words)
    assert key_word(words) in [*words, ""]
    score(words, q, q, frozenset(words))  # any text: a sort key, not an exception
