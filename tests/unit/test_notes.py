"""The notes rule's detector of obvious sensitive data (SPEC §3.1, §9): what it names, what it
leaves alone, and the warning's wording. The rule itself is tested through each form's rules
(test_activites_rules.py, test_beneficiaires_domain.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.notes import (
    MAX_NOTES,
    NOTES_SENSIBLES,
    SENSIBLE_CARTE,
    SENSIBLE_DATE_NAISSANCE,
    SENSIBLE_IBAN,
    SENSIBLE_MOT_DE_PASSE,
    SENSIBLE_NIR,
    SENSIBLES,
    check_notes,
    message_notes_sensibles,
    sensitive_patterns,
)

# A valid NIR (key 97 - 1841276451089 mod 97 = 46), a valid IBAN, a Luhn-valid Visa number.
NIR = "1 84 12 76 451 089 46"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
CARTE = "4970 1012 3456 7893"


@pytest.mark.parametrize(
    ("found", "message"),
    [
        ([SENSIBLE_IBAN], NOTES_SENSIBLES.format(trouve="un IBAN", pronom="le")),
        (
            [SENSIBLE_DATE_NAISSANCE],
            NOTES_SENSIBLES.format(trouve="une date de naissance", pronom="la"),
        ),
        (
            [SENSIBLE_NIR, SENSIBLE_CARTE],
            "Vos notes semblent contenir un numéro de sécurité sociale et un numéro de carte "
            "bancaire. Retirez-les ou confirmez qu'il ne s'agit pas de données sensibles.",
        ),
    ],
)
def test_given_what_was_found_then_the_warning_agrees_in_gender_and_number(
    found: list[str], message: str
) -> None:
    assert message_notes_sensibles(found) == message


# --- sensitive patterns ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notes", "found"),
    [
        (NIR, SENSIBLE_NIR),
        ("NIR 184127645108946.", SENSIBLE_NIR),
        ("n° SS : 1.84.12.76.451.089", SENSIBLE_NIR),  # no key: the month must be real
        ("2 69 03 2A 123 456 56", SENSIBLE_NIR),  # Corsica: 2A counts as 19 in the key
        (f"IBAN : {IBAN}", SENSIBLE_IBAN),
        ("iban fr7630006000011234567890189", SENSIBLE_IBAN),
        (CARTE, SENSIBLE_CARTE),
        ("carte 4970-1012-3456-7893 exp 12/27", SENSIBLE_CARTE),
        ("4970101234567893", SENSIBLE_CARTE),
        ("née le 12/03/1954", SENSIBLE_DATE_NAISSANCE),
        ("Né le 1er mars 1954 à Lyon", SENSIBLE_DATE_NAISSANCE),
        ("NEE LE 12 MARS 1954", SENSIBLE_DATE_NAISSANCE),
        ("Date de naissance : 1954-03-12", SENSIBLE_DATE_NAISSANCE),
        ("DDN 12/03/54", SENSIBLE_DATE_NAISSANCE),
        ("mdp : Soleil2024", SENSIBLE_MOT_DE_PASSE),
        ("Mot de passe = soleil", SENSIBLE_MOT_DE_PASSE),
        ("son mot de passe est Soleil2024", SENSIBLE_MOT_DE_PASSE),
        ("password: hunter2", SENSIBLE_MOT_DE_PASSE),
        ("code PIN 1234", SENSIBLE_MOT_DE_PASSE),
        ("pwd s3cr3t!", SENSIBLE_MOT_DE_PASSE),
    ],
)
def test_given_obvious_sensitive_data_then_it_is_named(notes: str, found: str) -> None:
    assert sensitive_patterns(notes) == [found]


@pytest.mark.parametrize(
    "notes",
    [
        "",
        "Rappeler au 06 12 34 56 78",
        "Habite 69003, inscrite en 2024 : 69003 2024",
        "FR76 3000 6000 0112 3456 7890 188",  # IBAN lookalike, wrong checksum
        "1 84 12 76 451 089 47",  # NIR lookalike, wrong key
        "4970 1012 3456 7890",  # card lookalike, fails Luhn
        "SIRET 12345678900012",  # passes Luhn, but 14 contiguous digits are a SIRET
        "rendez-vous le 12/03/2025",
        "Il ne sait pas, rendez-vous le 12/03/2025",
        "Demande d'acte de naissance envoyée le 12/03/2025",
        "née le 31/02/1954",  # no such day
        "mot de passe oublié",  # the topic of the help, not a secret
        "Mot de passe : oublié, réinitialisé avec lui",
        "Création du mot de passe FranceConnect",
        "mots de passe perdus",
    ],
)
def test_given_ordinary_notes_then_nothing_is_flagged(notes: str) -> None:
    assert sensitive_patterns(notes) == []


def test_given_several_kinds_then_they_come_in_a_fixed_order() -> None:
    notes = f"mdp : x1y2z3, carte {CARTE}, née le 12/03/1954, {IBAN}, {NIR}"

    assert sensitive_patterns(notes) == list(SENSIBLES)


def test_given_an_iban_then_its_digits_are_not_also_reported_as_a_card() -> None:
    assert sensitive_patterns(IBAN) == [SENSIBLE_IBAN]


def test_given_accents_typed_as_combining_marks_then_they_still_match() -> None:
    assert sensitive_patterns("ne\u0301e le 12/03/1954") == [SENSIBLE_DATE_NAISSANCE]


# --- the rule, scanning once ------------------------------------------------------------------


def test_given_sensitive_notes_then_the_check_names_what_it_found_with_the_message() -> None:
    checked = check_notes(f"mdp : Soleil2024 et {IBAN}", confirmed=False)

    assert checked.sensibles == (SENSIBLE_IBAN, SENSIBLE_MOT_DE_PASSE)
    assert checked.message == message_notes_sensibles(list(checked.sensibles))


def test_given_confirmed_notes_then_nothing_is_scanned_or_refused() -> None:
    assert check_notes(f"mdp : Soleil2024 et {IBAN}", confirmed=True) == check_notes("", False)


def test_given_notes_too_long_then_they_are_refused_without_a_scan() -> None:
    checked = check_notes(IBAN + "x" * MAX_NOTES, confirmed=False)

    assert checked.message is not None and "5 000" in checked.message
    assert checked.sensibles == ()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_given_any_text_then_sensitive_patterns_names_only_known_kinds(text: str) -> None:
    assert set(sensitive_patterns(text)) <= set(SENSIBLES)
