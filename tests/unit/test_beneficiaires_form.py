"""The beneficiary form <-> BeneficiaireInput: what a browser posts, read without surprises."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.beneficiaires import Beneficiaire, BeneficiaireInput
from chalicelib.domain.communes import load_index
from chalicelib.web.beneficiaires import form
from chalicelib.web.http import FormData

TODAY = date(2025, 6, 15)


def _posted(**fields: Any) -> FormData:
    return FormData(
        {name: value if isinstance(value, list) else [value] for name, value in fields.items()}
    )


def _parse(**fields: Any) -> tuple[BeneficiaireInput, dict[str, str], Any]:
    return form.parse(_posted(**fields), load_index())


def test_given_a_filled_form_when_parsed_then_every_field_reaches_the_domain_input() -> None:
    data, errors, commune = _parse(
        prenom="  Hélène ",
        nom="Dupont",
        annee_naissance=" 1 975 ",
        telephone="06 12 34 56 78",
        pas_de_telephone="",
        email="Helene@Exemple.fr",
        commune_insee_q="69383",
        genre="feminin",
        tranche_age="",
        statut="retraite",
        notes="Ligne 1\r\nLigne 2\r\n",
        confirmer_notes="1",
    )

    assert errors == {}
    assert (commune.insee, commune.text) == ("69383", "Lyon 3e Arrondissement (69003)")
    assert data == BeneficiaireInput(
        prenom="Hélène",
        nom="Dupont",
        annee_naissance=1975,
        telephone="06 12 34 56 78",  # normalised by the domain, which reports it with what was typed
        pas_de_telephone=False,
        email="Helene@Exemple.fr",
        commune_insee="69383",
        genre="feminin",
        tranche_age=None,
        statut="retraite",
        notes="Ligne 1\nLigne 2",
        confirmer_notes=True,
    )


def test_given_an_empty_form_when_parsed_then_nothing_is_invented() -> None:
    data, errors, commune = _parse()

    assert errors == {} and commune.insee == ""
    assert data == BeneficiaireInput()


@pytest.mark.parametrize("typed", ["19x5", "1975.0", "١٩٧٥", "-1975", "1" * 40])
def test_given_a_year_that_is_not_a_number_when_parsed_then_it_is_reported_by_the_form(
    typed: str,
) -> None:
    data, errors, _ = _parse(prenom="A", nom="B", annee_naissance=typed)

    assert errors == {"annee_naissance": form.ERREUR_ANNEE}
    assert data.annee_naissance is None


def test_given_a_commune_nobody_knows_or_several_when_parsed_then_the_picker_explains() -> None:
    _, unknown, choice = _parse(commune_insee_q="Zzzyxville")
    _, several, choices = _parse(commune_insee_q="Saint-Denis")

    assert unknown == {"commune_insee": "Aucune commune ne correspond à « Zzzyxville »."}
    assert choice.text == "Zzzyxville" and choice.insee == ""
    assert several == {"commune_insee": "Choisissez la commune dans la liste."}
    assert len(choices.candidates) > 1


@pytest.mark.parametrize(
    ("posted", "checked"), [("1", True), ("on", True), ("", False), ("non", False)]
)
def test_given_a_checkbox_value_when_parsed_then_only_a_ticked_box_counts(
    posted: str, checked: bool
) -> None:
    data, _, _ = _parse(pas_de_telephone=posted, confirmer_notes=posted)

    assert (data.pas_de_telephone, data.confirmer_notes) == (checked, checked)


def test_given_errors_from_form_and_rules_when_merged_then_the_form_wins_in_form_order() -> None:
    merged = form.ordered_errors(
        {"commune_insee": "Commune ?", "annee_naissance": "Année ?"},
        {"notes": "Notes ?", "annee_naissance": "Règle", "nom": "Nom ?", "autre": "?"},
    )

    assert list(merged) == ["nom", "annee_naissance", "commune_insee", "notes", "autre"]
    assert merged["annee_naissance"] == "Année ?"


def test_given_a_posted_form_when_shown_again_then_typed_values_stay_and_the_year_sets_the_band() -> (
    None
):
    values = form.form_values(
        _posted(
            prenom="Jean",
            annee_naissance="1950",
            tranche_age="18_24",
            telephone="12",
            pas_de_telephone="on",
            csrf_token="secret",
        ),
        TODAY,
    )

    assert values == {
        "prenom": "Jean",
        "annee_naissance": "1950",
        "tranche_age": "70_plus",
        "telephone": "12",
        "pas_de_telephone": "1",
    }
    assert (
        form.form_values(_posted(annee_naissance="19x5", tranche_age="18_24"), TODAY)["tranche_age"]
        == "18_24"
    )


def test_given_a_stored_person_when_edited_then_the_form_shows_it_as_people_read_it() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    b = Beneficiaire(
        id="01jabcdefghjkmnpqrstvwxyz0",
        mediateur_id="m",
        data=BeneficiaireInput(
            prenom="Lucie",
            nom="Bernard",
            annee_naissance=1980,
            telephone="+590690123456",
            email="lucie@exemple.fr",
            commune_insee="97411",
            tranche_age="25_39",  # stored last year: the year decides now
            notes="Note",
        ),
        version=3,
        cree_le=now,
        modifie_le=now,
    )

    assert form.values_of(b, TODAY) == {
        "prenom": "Lucie",
        "nom": "Bernard",
        "annee_naissance": "1980",
        "telephone": "0690 12 34 56",
        "email": "lucie@exemple.fr",
        "commune_insee": "97411",
        "tranche_age": "40_59",
        "notes": "Note",
    }
    assert set(form.LABELS) >= {"prenom", "commune_insee", "confirmer_notes"}
