"""Beneficiaries (SPEC §4): phone numbers, what is stored, which field gets which French message,
and what remains after deletion."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import vocab
from chalicelib.domain.beneficiaires import (
    ANNEE_NAISSANCE_INVALIDE,
    BENEFICIAIRE_SUPPRIME,
    COMMUNE_INCONNUE,
    EMAIL_INVALIDE,
    GENRE_INVALIDE,
    NOM_REQUIS,
    NOM_TROP_LONG,
    PRENOM_REQUIS,
    PRENOM_TROP_LONG,
    STATUT_INVALIDE,
    TELEPHONE_INVALIDE,
    TRANCHE_AGE_INVALIDE,
    Beneficiaire,
    BeneficiaireInput,
    RuleContext,
    derived_tranche_age,
    format_phone,
    national_forms,
    normalise,
    normalise_phone,
    pseudonymised,
    validate,
)
from chalicelib.domain.notes import (
    MAX_NOTES,
    NOTES_TROP_LONGUES,
    SENSIBLE_IBAN,
    SENSIBLE_MOT_DE_PASSE,
    TEXTE_INVALIDE,
    message_notes_sensibles,
)

TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)
LYON_3E = "69383"
SAINT_ETIENNE = "42218"
CTX = RuleContext(today=TODAY, communes=frozenset({LYON_3E, SAINT_ETIENNE, "2A004"}))
IBAN = "FR76 3000 6000 0112 3456 7890 189"  # a valid IBAN (mod 97)


def person(**values: Any) -> BeneficiaireInput:
    return BeneficiaireInput(**{"prenom": "Hélène", "nom": "Dupont", **values})


def stored(data: BeneficiaireInput, **values: Any) -> Beneficiaire:
    created = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    return Beneficiaire(
        id="b1",
        mediateur_id="m1",
        data=data,
        version=3,
        cree_le=created,
        modifie_le=created,
        **values,
    )


# --- French phone numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        # metropolitan France, every way people write it
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("  06 12 34 56 78  ", "+33612345678"),
        ("06\u00a012\u00a034\u00a056\u00a078", "+33612345678"),  # pasted with NBSP
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("+33 06 12 34 56 78", "+33612345678"),  # the trunk 0 left in by mistake
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+33612345678", "+33612345678"),  # already E.164
        ("(01) 23 45 67 89", "+33123456789"),
        ("07 89 01 23 45", "+33789012345"),
        ("08 00 12 34 56", "+33800123456"),
        ("09 70 12 34 56", "+33970123456"),
        ("05 56 12 34 56", "+33556123456"),  # Bordeaux, not an overseas 05 prefix
        # Guadeloupe, Saint-Martin, Saint-Barthélemy
        ("0590 12 34 56", "+590590123456"),
        ("0690 12 34 56", "+590690123456"),
        ("0691 22 34 56", "+590691223456"),
        ("+590 690 12 34 56", "+590690123456"),
        # Guyane
        ("0594 12 34 56", "+594594123456"),
        ("0694 12 34 56", "+594694123456"),
        ("+594 694 12 34 56", "+594694123456"),
        # Martinique
        ("0596 12 34 56", "+596596123456"),
        ("0696 12 34 56", "+596696123456"),
        ("0697 27 34 56", "+596697273456"),
        ("+596 (0)696 12 34 56", "+596696123456"),
        # La Réunion
        ("0262 12 34 56", "+262262123456"),
        ("0263 01 23 45", "+262263012345"),
        ("0692 12 34 56", "+262692123456"),
        ("0693 12 34 56", "+262693123456"),
        ("00262 692 12 34 56", "+262692123456"),
        # Mayotte (+262 since 2007)
        ("0269 61 23 45", "+262269612345"),
        ("0639 12 34 56", "+262639123456"),
        ("+262 639 12 34 56", "+262639123456"),
        # an overseas number written with the metropolitan code gets its own code
        ("+33 6 92 12 34 56", "+262692123456"),
        ("+33 5 90 12 34 56", "+590590123456"),
        # Saint-Pierre-et-Miquelon: 0508 from France, +508 otherwise
        ("05 08 41 12 34", "+508411234"),
        ("+508 41 12 34", "+508411234"),
        # territories outside the national plan
        ("+681 72 12 34", "+681721234"),
        ("+687 28.12.34", "+687281234"),
        ("00687 28 12 34", "+687281234"),
        ("+689 40 12 34 56", "+68940123456"),
        ("+689 87 12 34 56", "+68987123456"),
    ],
)
def test_given_a_french_number_when_normalised_then_it_is_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164
    assert normalise_phone(e164) == e164  # E.164 is a fixed point


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "06 12 34 56 7",  # 9 digits
        "06 12 34 56 78 9",  # 11 digits
        "6 12 34 56 78",  # the leading 0 missing
        "00 12 34 56 78",  # 00 is the international prefix, not a zone
        "0012345678",
        "+33 6 12 34 56 7",
        "+33 6 12 34 56 78 9",
        "+33 0 12 34 56 78",  # no zone 0
        "+44 20 7946 0958",  # United Kingdom
        "+32 470 12 34 56",  # Belgium
        "+1 415 555 0100",
        "+269 321 12 34",  # Comores, not Mayotte
        "+590 692 12 34 56",  # a Réunion prefix with the Guadeloupe code
        "+262 690 12 34 56",
        "+596 694 12 34 56",
        "+508 41 12 34 5",
        "+687 28 12 3",
        "+689 40 12 34",
        "06 12 AB 56 78",
        "06 12 34 56 78 poste 12",
        "06+12345678",
        "++33612345678",
        "０６１２３４５６７８",  # full-width digits
        "06 12 34 56 78" * 10,
    ],
)
def test_given_not_a_french_number_when_normalised_then_none(raw: str) -> None:
    assert normalise_phone(raw) is None


@given(st.text())
def test_given_any_text_when_normalised_then_never_raises(raw: str) -> None:
    result = normalise_phone(raw)
    assert result is None or (result.startswith("+") and normalise_phone(result) == result)


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+33612345678", "06 12 34 56 78"),
        ("+33123456789", "01 23 45 67 89"),
        ("+262692123456", "0692 12 34 56"),
        ("+262639123456", "0639 12 34 56"),
        ("+590590123456", "0590 12 34 56"),
        ("+594694123456", "0694 12 34 56"),
        ("+596696123456", "0696 12 34 56"),
        ("+508411234", "+508 41 12 34"),
        ("+681721234", "+681 72 12 34"),
        ("+687281234", "+687 28 12 34"),
        ("+68940123456", "+689 40 12 34 56"),
        ("06 12 3", "06 12 3"),  # not a normalised number: shown as typed
        ("+44207946095", "+44207946095"),
    ],
)
def test_given_a_stored_number_when_displayed_then_grouped_the_french_way(
    e164: str, shown: str
) -> None:
    assert format_phone(e164) == shown


@pytest.mark.parametrize(
    ("e164", "forms"),
    [
        ("+33612345678", ("0612345678",)),
        ("+262692123456", ("0692123456",)),
        ("+508411234", ("0508411234", "411234")),
        ("+687281234", ("281234",)),
        ("not a number", ()),
    ],
)
def test_given_a_stored_number_then_its_national_forms_are_how_people_dial_it(
    e164: str, forms: tuple[str, ...]
) -> None:
    assert national_forms(e164) == forms


# --- normalisation -------------------------------------------------------------------------


def test_given_names_with_extra_spaces_when_normalised_then_trimmed_and_collapsed() -> None:
    data = normalise(BeneficiaireInput(prenom="  Jean   Pierre ", nom="\tDe  La Fontaine\n"), TODAY)
    assert (data.prenom, data.nom) == ("Jean Pierre", "De La Fontaine")


def test_given_an_email_when_normalised_then_trimmed_and_lower_cased() -> None:
    assert normalise(person(email="  Helene.Dupont@Exemple.FR "), TODAY).email == (
        "helene.dupont@exemple.fr"
    )
    assert normalise(person(email="   "), TODAY).email is None


def test_given_a_phone_when_normalised_then_stored_in_e164() -> None:
    assert normalise(person(telephone="06 12 34 56 78"), TODAY).telephone == "+33612345678"
    assert normalise(person(telephone="  "), TODAY).telephone is None


def test_given_an_invalid_phone_when_normalised_then_kept_for_the_validator() -> None:
    assert normalise(person(telephone=" 06 12 ab "), TODAY).telephone == "06 12 ab"


def test_given_no_phone_ticked_when_normalised_then_the_number_is_dropped() -> None:
    data = normalise(person(telephone="06 12 34 56 78", pas_de_telephone=True), TODAY)
    assert data.telephone is None
    assert data.pas_de_telephone is True


def test_given_empty_choices_when_normalised_then_none_and_insee_upper_cased() -> None:
    data = normalise(person(genre="", statut=" ", tranche_age="", commune_insee=" 2a004 "), TODAY)
    assert (data.genre, data.statut, data.tranche_age) == (None, None, None)
    assert data.commune_insee == "2A004"


@pytest.mark.parametrize(
    ("annee", "today", "tranche"),
    [
        (1980, TODAY, "40_59"),
        (1986, date(2026, 1, 1), "40_59"),  # 40 this year
        (1986, date(2025, 12, 31), "25_39"),  # 39 last year: the band follows `today`
        (2020, TODAY, "moins_de_12"),
        (1950, TODAY, "70_plus"),
        (TODAY.year, TODAY, "moins_de_12"),
    ],
)
def test_given_a_birth_year_when_normalised_then_the_band_is_derived_at_today(
    annee: int, today: date, tranche: str
) -> None:
    assert normalise(person(annee_naissance=annee), today).tranche_age == tranche
    assert derived_tranche_age(annee, today) == tranche


def test_given_a_band_and_a_year_that_disagree_then_the_derived_band_wins_silently() -> None:
    data = person(annee_naissance=1980, tranche_age="12_17")
    assert normalise(data, TODAY).tranche_age == "40_59"
    assert validate(data, CTX) == {}


def test_given_a_band_without_a_year_then_the_chosen_band_is_kept() -> None:
    assert normalise(person(tranche_age="18_24"), TODAY).tranche_age == "18_24"


def test_given_an_impossible_year_then_no_band_is_derived_from_it() -> None:
    data = normalise(person(annee_naissance=1850, tranche_age="18_24"), TODAY)
    assert data.tranche_age == "18_24"
    assert derived_tranche_age(True, TODAY) is None
    assert derived_tranche_age("1980", TODAY) is None


inputs = st.builds(
    BeneficiaireInput,
    prenom=st.text(max_size=30),
    nom=st.text(max_size=30),
    annee_naissance=st.none() | st.integers(min_value=1800, max_value=2100),
    telephone=st.none()
    | st.text(alphabet="0123456789 +.()-", max_size=20)
    | st.sampled_from(["0612345678", "+262 639 12 34 56", "0508 41 12 34", "06 12"]),
    pas_de_telephone=st.booleans(),
    email=st.none() | st.text(max_size=30),
    commune_insee=st.none() | st.text(max_size=6),
    genre=st.none() | st.sampled_from(["", " feminin ", *vocab.GENRES]),
    tranche_age=st.none() | st.sampled_from(["", *vocab.TRANCHES_AGE]),
    statut=st.none() | st.sampled_from(["", *vocab.STATUTS]),
    notes=st.text(max_size=50),
    confirmer_notes=st.booleans(),
)


@settings(max_examples=300)
@given(inputs)
def test_given_any_input_when_normalised_twice_then_nothing_more_changes(
    data: BeneficiaireInput,
) -> None:
    once = normalise(data, TODAY)
    assert normalise(once, TODAY) == once


@settings(max_examples=300)
@given(inputs)
def test_given_any_input_when_validated_then_messages_never_an_exception(
    data: BeneficiaireInput,
) -> None:
    errors = validate(data, CTX)
    assert all(isinstance(message, str) and message for message in errors.values())
    assert set(errors) <= {f.name for f in fields(BeneficiaireInput)}


# --- rules ---------------------------------------------------------------------------------


def test_the_messages_say_what_to_do_in_french() -> None:
    assert PRENOM_REQUIS == "Saisissez le prénom."
    assert NOM_REQUIS == "Saisissez le nom."
    assert PRENOM_TROP_LONG == "Le prénom doit faire 100 caractères au plus."
    assert NOM_TROP_LONG == "Le nom doit faire 100 caractères au plus."
    assert ANNEE_NAISSANCE_INVALIDE.format(annee_max=2026) == (
        "L'année de naissance doit être comprise entre 1900 et 2026."
    )
    assert TELEPHONE_INVALIDE == (
        "Saisissez un numéro de téléphone français valide, par exemple 06 12 34 56 78."
    )
    assert EMAIL_INVALIDE == "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr."
    assert COMMUNE_INCONNUE == "Choisissez la commune de résidence dans la liste proposée."
    assert GENRE_INVALIDE == "Choisissez le genre parmi les options proposées."
    assert TRANCHE_AGE_INVALIDE == "Choisissez la tranche d'âge parmi les options proposées."
    assert STATUT_INVALIDE == "Choisissez le statut parmi les options proposées."
    assert BENEFICIAIRE_SUPPRIME == "Bénéficiaire supprimé"


def test_given_a_full_profile_when_validated_then_no_error() -> None:
    data = BeneficiaireInput(
        prenom=" Hélène ",
        nom="Dupont",
        annee_naissance=1980,
        telephone="06 12 34 56 78",
        email="Helene.Dupont@exemple.fr",
        commune_insee=LYON_3E,
        genre="feminin",
        statut="en_emploi",
        notes="A besoin d'aide pour Ameli.",
    )
    assert validate(data, CTX) == {}


def test_given_only_the_names_when_validated_then_no_error() -> None:
    # Data minimisation (SPEC §9): every field but prénom and nom is optional.
    assert validate(person(), CTX) == {}


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_given_blank_names_when_validated_then_both_are_asked_for(blank: str) -> None:
    errors = validate(BeneficiaireInput(prenom=blank, nom=blank), CTX)
    assert errors == {"prenom": PRENOM_REQUIS, "nom": NOM_REQUIS}


def test_given_names_over_100_characters_when_validated_then_too_long() -> None:
    errors = validate(BeneficiaireInput(prenom="é" * 101, nom="x" * 101), CTX)
    assert errors == {"prenom": PRENOM_TROP_LONG, "nom": NOM_TROP_LONG}


def test_given_100_characters_and_surrounding_spaces_then_the_name_fits() -> None:
    assert validate(BeneficiaireInput(prenom=f"  {'a' * 100}  ", nom="b" * 100), CTX) == {}


@pytest.mark.parametrize("annee", [1899, 2027, 0, -5, True, "1980", 1980.0])
def test_given_a_year_out_of_range_when_validated_then_the_range_is_given(annee: Any) -> None:
    errors = validate(person(annee_naissance=annee), CTX)
    assert errors == {
        "annee_naissance": "L'année de naissance doit être comprise entre 1900 et 2026."
    }


@pytest.mark.parametrize("annee", [1900, 1980, 2026])
def test_given_a_year_in_range_when_validated_then_accepted(annee: int) -> None:
    assert validate(person(annee_naissance=annee), CTX) == {}


@pytest.mark.parametrize("telephone", ["06 12", "+44 20 7946 0958", "appeler la mairie", 612345678])
def test_given_an_invalid_phone_when_validated_then_an_example_is_given(telephone: Any) -> None:
    assert validate(person(telephone=telephone), CTX) == {"telephone": TELEPHONE_INVALIDE}


def test_given_an_invalid_phone_and_no_phone_ticked_then_the_box_wins() -> None:
    assert validate(person(telephone="06 12", pas_de_telephone=True), CTX) == {}


@pytest.mark.parametrize(
    "email",
    [
        "helene",
        "helene@exemple",
        "helene dupont@exemple.fr",
        "helene@@exemple.fr",
        "helene@dupont@exemple.fr",
        "@exemple.fr",
        "helene@",
        "helene@.fr",
        "helene@exemple.fr.",
        "helene@exemple..fr",
        f"{'a' * 250}@x.fr",  # 255 characters
        42,
    ],
)
def test_given_an_invalid_email_when_validated_then_an_example_is_given(email: Any) -> None:
    assert validate(person(email=email), CTX) == {"email": EMAIL_INVALIDE}


@pytest.mark.parametrize(
    "email",
    [
        "helene@exemple.fr",
        " Helene.Dupont+cra@Exemple.FR ",
        "h@mairie.lyon.fr",
        "élodie@exemple.fr",
    ],
)
def test_given_a_valid_email_when_validated_then_accepted(email: str) -> None:
    assert validate(person(email=email), CTX) == {}


def test_given_an_unknown_commune_when_validated_then_the_list_is_asked_for() -> None:
    assert validate(person(commune_insee="99999"), CTX) == {"commune_insee": COMMUNE_INCONNUE}
    assert validate(person(commune_insee=["69383"]), CTX) == {"commune_insee": COMMUNE_INCONNUE}
    assert validate(person(commune_insee="2a004"), CTX) == {}


def test_given_choices_outside_the_vocabularies_when_validated_then_each_is_named() -> None:
    errors = validate(person(genre="femme", tranche_age="40-59", statut={"x": 1}), CTX)
    assert errors == {
        "genre": GENRE_INVALIDE,
        "tranche_age": TRANCHE_AGE_INVALIDE,
        "statut": STATUT_INVALIDE,
    }


@pytest.mark.parametrize(
    "values",
    [{"genre": slug} for slug in vocab.GENRES]
    + [{"tranche_age": slug} for slug in vocab.TRANCHES_AGE]
    + [{"statut": slug} for slug in vocab.STATUTS],
)
def test_given_every_vocabulary_slug_when_validated_then_accepted(values: dict[str, str]) -> None:
    assert validate(person(**values), CTX) == {}


def test_given_notes_over_5000_characters_when_validated_then_the_length_is_given() -> None:
    errors = validate(person(notes="a" * (MAX_NOTES + 1)), CTX)
    assert errors == {"notes": NOTES_TROP_LONGUES.format(longueur="5 001")}


def test_given_notes_of_5000_characters_when_validated_then_accepted() -> None:
    assert validate(person(notes="a" * MAX_NOTES), CTX) == {}


def test_given_sensitive_notes_when_validated_then_the_same_warning_as_activities() -> None:
    notes = f"IBAN {IBAN}, mdp : Soleil2024"
    errors = validate(person(notes=notes), CTX)
    assert errors == {"notes": message_notes_sensibles([SENSIBLE_IBAN, SENSIBLE_MOT_DE_PASSE])}


def test_given_sensitive_notes_confirmed_when_validated_then_accepted() -> None:
    assert validate(person(notes=f"IBAN {IBAN}", confirmer_notes=True), CTX) == {}


def test_given_notes_that_are_not_text_when_validated_then_text_is_asked_for() -> None:
    assert validate(person(notes=["x"]), CTX) == {"notes": TEXTE_INVALIDE}


def test_given_values_of_every_wrong_type_when_validated_then_messages() -> None:
    data = BeneficiaireInput(
        prenom=42,  # type: ignore[arg-type]
        nom=None,  # type: ignore[arg-type]
        annee_naissance="mil neuf cent",  # type: ignore[arg-type]
        telephone=["06"],  # type: ignore[arg-type]
        pas_de_telephone="oui",  # type: ignore[arg-type]
        email={"a": 1},  # type: ignore[arg-type]
        commune_insee=3,  # type: ignore[arg-type]
        genre=[],  # type: ignore[arg-type]
        tranche_age=1.5,  # type: ignore[arg-type]
        statut=b"x",  # type: ignore[arg-type]
        notes=None,  # type: ignore[arg-type]
    )
    assert validate(data, CTX) == {
        "prenom": TEXTE_INVALIDE,
        "nom": NOM_REQUIS,
        "annee_naissance": ANNEE_NAISSANCE_INVALIDE.format(annee_max=2026),
        "telephone": TELEPHONE_INVALIDE,
        "email": EMAIL_INVALIDE,
        "commune_insee": COMMUNE_INCONNUE,
        "genre": GENRE_INVALIDE,
        "tranche_age": TRANCHE_AGE_INVALIDE,
        "statut": STATUT_INVALIDE,
    }


# --- stored beneficiaries and deletion -----------------------------------------------------


def test_given_a_beneficiary_then_its_full_name_is_prenom_then_nom() -> None:
    assert stored(person()).nom_complet == "Hélène Dupont"


def test_given_a_deleted_beneficiary_then_no_name_is_shown() -> None:
    assert stored(person(), supprime=True).nom_complet == "Bénéficiaire supprimé"


FULL = BeneficiaireInput(
    prenom="Hélène",
    nom="Dupont",
    annee_naissance=1980,
    telephone="+33612345678",
    email="helene.dupont@exemple.fr",
    commune_insee=LYON_3E,
    genre="feminin",
    tranche_age="40_59",
    statut="en_emploi",
    notes="Vient le mardi.",
    confirmer_notes=True,
)


def test_given_a_deleted_beneficiary_then_only_what_statistics_need_remains() -> None:
    before = stored(
        FULL,
        nombre_accompagnements=4,
        premier_accompagnement=date(2025, 6, 1),
        dernier_accompagnement=date(2026, 2, 1),
    )
    after = pseudonymised(before, NOW)
    assert after.data == BeneficiaireInput(
        commune_insee=LYON_3E, genre="feminin", tranche_age="40_59", statut="en_emploi"
    )
    assert after.supprime is True
    assert after.nom_complet == BENEFICIAIRE_SUPPRIME
    assert after.modifie_le == NOW
    # Past activities stay counted and linked (SPEC §4).
    assert (after.id, after.mediateur_id, after.cree_le, after.version) == (
        before.id,
        before.mediateur_id,
        before.cree_le,
        before.version,
    )
    assert after.nombre_accompagnements == 4
    assert after.premier_accompagnement == date(2025, 6, 1)
    assert after.dernier_accompagnement == date(2026, 2, 1)


def test_given_a_deleted_beneficiary_then_no_identifying_value_is_left_anywhere() -> None:
    after = pseudonymised(stored(FULL), NOW)
    kept = repr(after)
    for identifying in ("Hélène", "Dupont", "612345678", "exemple.fr", "mardi", "1980"):
        assert identifying not in kept
    assert after.data.annee_naissance is None
    assert after.data.pas_de_telephone is False


def test_given_a_birth_year_then_the_kept_band_is_the_one_on_the_day_of_deletion() -> None:
    # Born in 1986: 39 in 2025 when created, 40 when deleted in 2026.
    before = stored(replace(FULL, annee_naissance=1986, tranche_age="25_39"))
    assert pseudonymised(before, NOW).data.tranche_age == "40_59"


def test_given_no_birth_year_then_the_chosen_band_is_kept() -> None:
    before = stored(replace(FULL, annee_naissance=None, tranche_age="60_69"))
    assert pseudonymised(before, NOW).data.tranche_age == "60_69"
