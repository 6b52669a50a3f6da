"""The commune picker of the forms, without JavaScript: what the mediator typed (or picked) becomes
one commune, a short list to choose from, or a French message."""

from __future__ import annotations

import pytest

from chalicelib.domain.communes import DATA_FILE, CommuneIndex, load_index
from chalicelib.web.communes_field import CommuneChoice, for_insee, resolve
from chalicelib.web.http import FormData

FIELD = "commune_insee"


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    if not DATA_FILE.exists():
        pytest.skip("communes reference missing: run `make assets`")
    return load_index()


def submit(communes: CommuneIndex, required: bool = True, **fields: str) -> CommuneChoice:
    """The picker as posted: `q` is the text box, `insee` the hidden input or the chosen radio."""
    values: dict[str, list[str]] = {}
    if "q" in fields:
        values[FIELD + "_q"] = [fields["q"]]
    if "insee" in fields:
        values[FIELD] = [fields["insee"]]
    return resolve(FormData(values), FIELD, communes, required=required)


def test_the_label_offered_by_the_suggestions_resolves(communes: CommuneIndex) -> None:
    choice = submit(communes, q="Lyon 3e Arrondissement (69003)")

    assert (choice.insee, choice.error) == ("69383", None)
    assert choice.text == "Lyon 3e Arrondissement (69003)"


def test_an_insee_code_typed_in_the_box_resolves(communes: CommuneIndex) -> None:
    choice = submit(communes, q="69383")

    assert (choice.insee, choice.error) == ("69383", None)
    assert choice.text == "Lyon 3e Arrondissement (69003)"


def test_a_postal_code_of_a_single_commune_resolves(communes: CommuneIndex) -> None:
    choice = submit(communes, q="42000")

    assert (choice.insee, choice.error) == ("42218", None)


@pytest.mark.parametrize(
    ("typed", "meant", "other"),
    [
        ("69003", "69383", "69003"),  # Lyon 3e's postal code, Albigny-sur-Saône's INSEE code
        ("13001", "13201", "13001"),  # Marseille 1er's postal code, Aix-en-Provence's INSEE code
    ],
)
def test_a_code_that_is_a_postal_code_and_another_commune_insee_code_asks_which(
    communes: CommuneIndex, typed: str, meant: str, other: str
) -> None:
    choice = submit(communes, q=typed)

    assert choice.insee == ""
    assert choice.error == "Choisissez la commune dans la liste."
    offered = [c.insee for c in choice.candidates]
    assert offered[0] == meant  # the postal code, typed far more often, comes first
    assert other in offered


@pytest.mark.parametrize("typed", ["saint-etienne", "Saint-Étienne", "  SAINT ETIENNE  "])
def test_a_name_typed_without_accents_resolves_when_it_is_the_only_exact_name(
    communes: CommuneIndex, typed: str
) -> None:
    choice = submit(communes, q=typed)

    assert (choice.insee, choice.error) == ("42218", None)
    assert choice.text == "Saint-Étienne (42000)"


def test_an_ambiguous_name_offers_the_matching_communes(communes: CommuneIndex) -> None:
    choice = submit(communes, q="Saint-Denis")

    assert choice.insee == ""
    assert choice.error == "Choisissez la commune dans la liste."
    assert choice.text == "Saint-Denis"  # what the mediator typed stays in the box
    insees = [c.insee for c in choice.candidates]
    assert {"93066", "97411"} <= set(insees)
    assert 1 < len(insees) <= 10


def test_picking_one_of_the_offered_communes_resolves(communes: CommuneIndex) -> None:
    choice = submit(communes, q="Saint-Denis", insee="93066")

    assert (choice.insee, choice.error) == ("93066", None)
    assert choice.text == "Saint-Denis (93200)"


def test_the_hidden_code_of_a_resolved_commune_is_kept_on_resubmit(communes: CommuneIndex) -> None:
    # The form came back for another field; the box shows the label and the code is hidden.
    choice = submit(communes, q="Lyon 3e Arrondissement (69003)", insee="69383")

    assert (choice.insee, choice.error) == ("69383", None)


def test_typing_another_commune_wins_over_the_stale_hidden_code(communes: CommuneIndex) -> None:
    choice = submit(communes, q="saint-etienne", insee="69383")

    assert choice.insee == "42218"


def test_nothing_typed_in_a_required_picker_asks_for_a_commune(communes: CommuneIndex) -> None:
    for choice in (submit(communes), submit(communes, q="   ")):
        assert choice.insee == ""
        assert choice.error == "Choisissez une commune."


def test_nothing_typed_in_an_optional_picker_is_fine(communes: CommuneIndex) -> None:
    choice = submit(communes, required=False, q="")

    assert (choice.insee, choice.error) == ("", None)


def test_an_unknown_name_says_nothing_matches_it(communes: CommuneIndex) -> None:
    choice = submit(communes, q="Zzyzxville")

    assert choice.insee == ""
    assert choice.error == "Aucune commune ne correspond à « Zzyzxville »."
    assert choice.text == "Zzyzxville"


def test_a_forged_code_without_text_is_refused(communes: CommuneIndex) -> None:
    choice = submit(communes, insee="99999")

    assert choice.insee == ""
    assert choice.error == "Choisissez une commune."


def test_very_long_text_is_cut_before_searching(communes: CommuneIndex) -> None:
    choice = submit(communes, q="Lyon" + "x" * 5000)

    assert len(choice.text) == 80
    assert choice.error == f"Aucune commune ne correspond à « {choice.text} »."


def test_a_saved_lieu_shows_the_label_of_its_commune(communes: CommuneIndex) -> None:
    assert for_insee(communes, "69383") == CommuneChoice("69383", "Lyon 3e Arrondissement (69003)")
    assert for_insee(communes, "") == CommuneChoice()
    assert for_insee(communes, "00000") == CommuneChoice()
