"""The activity form, read and written back: what a mediator posts becomes an `ActiviteInput`,
what cannot even be read comes back as a French message on the right field, and a stored activity
pre-fills the same form."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from chalicelib.domain.activites import ActiviteInput, Anonyme, ParticipantsAnonymes
from chalicelib.domain.communes import CommuneIndex
from chalicelib.web.activites.form import (
    LABELS,
    MULTI_FIELDS,
    defaults,
    error_anchor,
    form_values,
    parse,
    values_of,
)
from chalicelib.web.http import FormData

LYON_3 = "Lyon 3e Arrondissement (69003)"
ROUBAIX = "Roubaix (59100)"


@pytest.fixture(scope="module")
def communes() -> CommuneIndex:
    """A handful of real communes: enough to resolve, to miss and to be ambiguous."""
    return CommuneIndex(
        [
            ["69383", "Lyon 3e Arrondissement", ["69003"], "69", 100_000],
            ["59512", "Roubaix", ["59100"], "59", 98_000],
            ["93066", "Saint-Denis", ["93200", "93210"], "93", 113_000],
            ["97411", "Saint-Denis", ["97400", "97490"], "974", 153_000],
        ]
    )


def form(**fields: str | list[str]) -> FormData:
    return FormData({k: v if isinstance(v, list) else [v] for k, v in fields.items()})


INDIVIDUEL: dict[str, str | list[str]] = {
    "csrf_token": "t",
    "jeton": "j1",
    "date": "2025-03-14",
    "duree": "45",
    "canal": "domicile",
    "lieu_id": "",
    "commune_insee": "",
    "commune_insee_q": LYON_3,
    "materiel": ["telephone", "ordinateur"],
    "thematiques": ["email", "sante"],
    "notes": "  A revoir la semaine prochaine.  ",
    "beneficiaire_id": "",
    "anonyme_deja_accompagne": "oui",
    "anonyme_commune_insee_q": ROUBAIX,
    "anonyme_genre": "feminin",
    "anonyme_tranche_age": "60_69",
    "anonyme_statut": "retraite",
    "autonomie": "partiellement_autonome",
    "oriente": "oui",
    "structure_redirection": "aide_sociale",
    "partenaire_id": "p1",
    "poursuite": "atelier",
}

DEMARCHE: dict[str, str | list[str]] = {
    "date": "2025-02-03",
    "duree": "autre",
    "duree_heures": "1",
    "duree_minutes": "15",
    "canal": "lieu_activite",
    "lieu_id": "lieu1",
    "materiel": ["aucun"],
    "thematiques_demarche": ["argent_impots", "logement"],
    "nom_demarche": " Déclaration de revenus ",
    "finalisation": "doit_revenir",
    "beneficiaire_id": "ben1",
    "autonomie": "entierement_accompagne",
    "oriente": "non",
    "poursuite": "individuel",
}

COLLECTIF: dict[str, str | list[str]] = {
    "date": "2025-01-20",
    "duree": "120",
    "canal": "a_distance",
    "thematiques": ["securite_numerique"],
    "titre_atelier": "Les arnaques en ligne",
    "niveau": "debutant",
    "participants_ids": ["ben1", "ben2"],
    "participants_anonymes_total": "12",
    "participants_anonymes_deja_accompagnes": "3",
    "participants_anonymes_genres_feminin": "7",
    "participants_anonymes_genres_masculin": "4",
    "participants_anonymes_tranches_age_60_69": "5",
    "participants_anonymes_tranches_age_70_plus": "6",
    "participants_anonymes_statuts_retraite": "11",
    "notes": "Salle trop petite",
    "confirmer_notes": "1",
}


# --- a whole form of each type ---------------------------------------------------------------------


def test_a_full_individuel_form_becomes_the_activity_typed(communes: CommuneIndex) -> None:
    data, errors, pickers = parse(form(**INDIVIDUEL), "individuel", communes)

    assert errors == {}
    assert data == ActiviteInput(
        type="individuel",
        date=date(2025, 3, 14),
        duree=45,
        canal="domicile",
        commune_insee="69383",
        materiel=("telephone", "ordinateur"),
        thematiques=("email", "sante"),
        notes="A revoir la semaine prochaine.",
        anonyme=Anonyme(
            deja_accompagne=True,
            commune_insee="59512",
            genre="feminin",
            tranche_age="60_69",
            statut="retraite",
        ),
        autonomie="partiellement_autonome",
        oriente=True,
        structure_redirection="aide_sociale",
        partenaire_id="p1",
        poursuite="atelier",
    )
    assert (pickers["commune_insee"].insee, pickers["commune_insee"].text) == ("69383", LYON_3)
    assert (pickers["anonyme_commune_insee"].insee, pickers["anonyme_commune_insee"].text) == (
        "59512",
        ROUBAIX,
    )


def test_a_full_demarche_form_becomes_the_activity_typed(communes: CommuneIndex) -> None:
    data, errors, _ = parse(form(**DEMARCHE), "demarche", communes)

    assert errors == {}
    assert data == ActiviteInput(
        type="demarche",
        date=date(2025, 2, 3),
        duree=75,
        canal="lieu_activite",
        lieu_id="lieu1",
        materiel=("aucun",),
        beneficiaire_id="ben1",
        autonomie="entierement_accompagne",
        oriente=False,
        poursuite="individuel",
        thematiques_demarche=("argent_impots", "logement"),
        nom_demarche="Déclaration de revenus",
        finalisation="doit_revenir",
    )


def test_a_full_collectif_form_becomes_the_activity_typed(communes: CommuneIndex) -> None:
    data, errors, _ = parse(form(**COLLECTIF), "collectif", communes)

    assert errors == {}
    assert data == ActiviteInput(
        type="collectif",
        date=date(2025, 1, 20),
        duree=120,
        canal="a_distance",
        thematiques=("securite_numerique",),
        notes="Salle trop petite",
        confirmer_notes=True,
        titre_atelier="Les arnaques en ligne",
        niveau="debutant",
        participants_ids=("ben1", "ben2"),
        participants_anonymes=ParticipantsAnonymes(
            total=12,
            deja_accompagnes=3,
            genres={"feminin": 7, "masculin": 4},
            tranches_age={"60_69": 5, "70_plus": 6},
            statuts={"retraite": 11},
        ),
    )


def test_fields_of_another_type_are_not_read(communes: CommuneIndex) -> None:
    posted = {**INDIVIDUEL, "participants_anonymes_total": "beaucoup", "titre_atelier": "X"}

    data, errors, _ = parse(form(**posted), "individuel", communes)

    assert errors == {}
    assert data.participants_anonymes is None and data.titre_atelier is None


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "minutes"),
    [
        ({"duree": "autre", "duree_heures": "2", "duree_minutes": "5"}, 125),
        ({"duree": "autre", "duree_heures": "3", "duree_minutes": ""}, 180),
        ({"duree": "autre", "duree_heures": "", "duree_minutes": "20"}, 20),
        ({"duree": "autre", "duree_heures": " 0 ", "duree_minutes": "50"}, 50),
        # Boxes typed in without ticking "Autre durée" (no JavaScript to tick it).
        ({"duree_heures": "1", "duree_minutes": "10"}, 70),
        # A quick choice ticked wins over boxes left filled from before.
        ({"duree": "30", "duree_heures": "1", "duree_minutes": "10"}, 30),
        ({"duree": "autre"}, None),
        ({}, None),
    ],
)
def test_an_other_duration_is_hours_and_minutes(
    communes: CommuneIndex, fields: dict[str, str], minutes: int | None
) -> None:
    data, errors, _ = parse(form(**fields), "individuel", communes)

    assert (data.duree, errors) == (minutes, {})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"duree": "autre", "duree_heures": "1h", "duree_minutes": ""}, "Saisissez une durée"),
        ({"duree": "autre", "duree_heures": "1", "duree_minutes": "1,5"}, "Saisissez une durée"),
        ({"duree": "autre", "duree_heures": "1", "duree_minutes": "75"}, "de 0 à 59 minutes"),
        ({"duree": "autre", "duree_heures": "24", "duree_minutes": "0"}, "de 0 à 23 heures"),
        ({"duree": "longtemps"}, "Saisissez une durée"),
    ],
)
def test_a_duration_that_is_not_one_is_reported_in_french(
    communes: CommuneIndex, fields: dict[str, str], message: str
) -> None:
    data, errors, _ = parse(form(**fields), "individuel", communes)

    assert data.duree is None
    assert list(errors) == ["duree"]
    assert message in errors["duree"]


# --- numbers, dates, blanks ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["douze", "-3", "2,5", "1e3"])
def test_a_count_that_is_not_a_whole_number_is_reported_on_its_field(
    communes: CommuneIndex, typed: str
) -> None:
    posted = {
        "participants_anonymes_total": typed,
        "participants_anonymes_statuts_en_emploi": typed,
    }

    _, errors, _ = parse(form(**posted), "collectif", communes)

    # Keyed like the rules' errors, so that the service merges both; linked to the field.
    assert errors == {
        "participants_anonymes.total": "Saisissez un nombre entier.",
        "participants_anonymes.statuts.en_emploi": "Saisissez un nombre entier.",
    }
    assert {error_anchor(key) for key in errors} == set(posted)


def test_counts_are_read_as_people_type_them(communes: CommuneIndex) -> None:
    data, errors, _ = parse(form(participants_anonymes_total=" 1 200 "), "collectif", communes)

    assert errors == {}
    assert data.participants_anonymes == ParticipantsAnonymes(total=1200)


def test_a_date_typed_the_french_way_is_read(communes: CommuneIndex) -> None:
    data, errors, _ = parse(form(date="4/03/2025"), "individuel", communes)

    assert (data.date, errors) == (date(2025, 3, 4), {})


@pytest.mark.parametrize("typed", ["31/02/2025", "2025-13-01", "hier"])
def test_a_date_that_is_not_one_is_reported_in_french(communes: CommuneIndex, typed: str) -> None:
    data, errors, _ = parse(form(date=typed), "individuel", communes)

    assert data.date is None
    assert errors == {"date": "Saisissez une date valide, par exemple 14/03/2025."}


@pytest.mark.parametrize("type_", ["individuel", "demarche", "collectif"])
def test_an_empty_form_is_an_activity_with_nothing_given(
    communes: CommuneIndex, type_: str
) -> None:
    every_field_blank = {
        name: "  "
        for name in (
            *INDIVIDUEL,
            *DEMARCHE,
            *COLLECTIF,
            "anonyme_commune_insee",
            "duree_heures",
            "duree_minutes",
        )
    }
    every_field_blank["duree"] = ""

    data, errors, pickers = parse(form(**every_field_blank), type_, communes)

    assert errors == {}
    assert data == ActiviteInput(type=type_)
    assert pickers["commune_insee"].insee == pickers["anonyme_commune_insee"].insee == ""


def test_notes_keep_their_line_breaks_once(communes: CommuneIndex) -> None:
    data, _, _ = parse(form(notes="Ligne 1\r\nLigne 2\r\n"), "individuel", communes)

    assert data.notes == "Ligne 1\nLigne 2"
    assert data.confirmer_notes is False


def test_a_box_checked_twice_counts_once(communes: CommuneIndex) -> None:
    data, _, _ = parse(form(thematiques=["email", " email", "", "sante"]), "individuel", communes)

    assert data.thematiques == ("email", "sante")


# --- commune pickers -----------------------------------------------------------------------------


def test_both_pickers_resolve_a_postal_code(communes: CommuneIndex) -> None:
    posted = form(canal="autre", commune_insee_q="69003", anonyme_commune_insee_q="59100")

    data, errors, pickers = parse(posted, "individuel", communes)

    assert errors == {}
    assert data.commune_insee == "69383"
    assert data.anonyme == Anonyme(commune_insee="59512")
    assert pickers["anonyme_commune_insee"].text == ROUBAIX


def test_a_radio_picked_among_ambiguous_communes_resolves(communes: CommuneIndex) -> None:
    posted = form(canal="domicile", commune_insee_q="Saint-Denis", commune_insee="97411")

    data, errors, _ = parse(posted, "collectif", communes)

    assert (data.commune_insee, errors) == ("97411", {})


def test_an_ambiguous_commune_asks_which_one_when_the_canal_needs_it(
    communes: CommuneIndex,
) -> None:
    posted = form(canal="domicile", commune_insee_q="Saint-Denis")

    data, errors, pickers = parse(posted, "individuel", communes)

    assert data.commune_insee is None
    assert errors == {"commune_insee": "Choisissez la commune dans la liste."}
    assert [c.insee for c in pickers["commune_insee"].candidates] == ["97411", "93066"]
    assert pickers["commune_insee"].text == "Saint-Denis"


def test_an_unknown_commune_of_the_person_is_reported(communes: CommuneIndex) -> None:
    _, errors, pickers = parse(form(anonyme_commune_insee_q="Zzyzx"), "demarche", communes)

    assert errors == {"anonyme.commune_insee": "Aucune commune ne correspond à « Zzyzx »."}
    assert error_anchor("anonyme.commune_insee") == "anonyme_commune_insee"
    assert pickers["anonyme_commune_insee"].text == "Zzyzx"


def test_a_picker_that_does_not_apply_reports_nothing(communes: CommuneIndex) -> None:
    posted = form(
        canal="lieu_activite",
        commune_insee_q="Zzyzx",
        beneficiaire_id="ben1",
        anonyme_commune_insee_q="Saint-Denis",
    )

    _, errors, _ = parse(posted, "individuel", communes)

    assert errors == {}


def test_an_empty_picker_is_left_to_the_rules(communes: CommuneIndex) -> None:
    data, errors, _ = parse(form(canal="domicile", commune_insee_q=""), "individuel", communes)

    assert (data.commune_insee, errors) == (None, {})


# --- writing an activity back into the form ----------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "posted"),
    [("individuel", INDIVIDUEL), ("demarche", DEMARCHE), ("collectif", COLLECTIF)],
)
def test_an_activity_pre_fills_the_form_it_came_from(
    communes: CommuneIndex, type_: str, posted: dict[str, str | list[str]]
) -> None:
    data, _, _ = parse(form(**posted), type_, communes)

    values = values_of(data)

    # A confirmation about sensitive notes is asked again, never pre-ticked.
    assert parse(form(**values), type_, communes)[0] == replace(data, confirmer_notes=False)
    # The pickers are written back as codes (the handler turns them into "Nom (code postal)").
    expected = {
        name: value.strip() if isinstance(value, str) else value
        for name, value in posted.items()
        if value not in ("", [])
        and name not in ("csrf_token", "jeton", "confirmer_notes")
        and not name.endswith("_q")
    }
    if type_ == "individuel":
        expected |= {"commune_insee": "69383", "anonyme_commune_insee": "59512"}
    assert values == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (60, {"duree": "60"}),
        (75, {"duree": "autre", "duree_heures": "1", "duree_minutes": "15"}),
        (5, {"duree": "autre", "duree_heures": "0", "duree_minutes": "5"}),
    ],
)
def test_a_duration_is_shown_as_a_quick_choice_or_hours_and_minutes(
    minutes: int, expected: dict[str, str]
) -> None:
    values = values_of(ActiviteInput(type="individuel", duree=minutes))

    assert values == expected


def test_an_empty_activity_pre_fills_nothing() -> None:
    assert values_of(ActiviteInput(type="collectif")) == {}


def test_posted_values_are_kept_with_lists_for_the_multiple_choices() -> None:
    values = form_values(form(**INDIVIDUEL))

    assert values["materiel"] == ["telephone", "ordinateur"]
    assert values["thematiques_demarche"] == []
    assert values["commune_insee_q"] == LYON_3
    assert values["notes"] == INDIVIDUEL["notes"]
    assert "csrf_token" not in values
    assert set(MULTI_FIELDS) <= set(values)


# --- error anchors, labels, defaults -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain_key", "anchor"),
    [
        ("date", "date"),
        ("duree", "duree"),
        ("commune_insee", "commune_insee"),
        ("anonyme.genre", "anonyme_genre"),
        ("anonyme.commune_insee", "anonyme_commune_insee"),
        ("participants", "participants_anonymes_total"),
        ("participants_anonymes", "participants_anonymes_total"),
        ("participants_anonymes.total", "participants_anonymes_total"),
        ("participants_anonymes.genres", "participants_anonymes_genres"),
        ("participants_anonymes.deja_accompagnes", "participants_anonymes_deja_accompagnes"),
        ("participants_anonymes.statuts.retraite", "participants_anonymes_statuts_retraite"),
        ("thematiques.0", "thematiques"),
    ],
)
def test_a_domain_error_links_to_its_form_element(domain_key: str, anchor: str) -> None:
    assert error_anchor(domain_key) == anchor


def test_every_error_anchor_has_a_french_label() -> None:
    for key in (
        "date",
        "duree",
        "canal",
        "lieu_id",
        "commune_insee",
        "materiel",
        "thematiques",
        "notes",
        "anonyme.genre",
        "participants",
        "participants_anonymes.genres",
        "participants_anonymes.tranches_age",
        "participants_anonymes.statuts",
        "participants_anonymes.deja_accompagnes",
        "structure_redirection",
        "thematiques_demarche",
    ):
        assert error_anchor(key) in LABELS, key
    assert LABELS["lieu_id"] == "Lieu d'activité"
    assert LABELS["commune_insee"] == "Commune du lieu"


def test_a_new_form_starts_today_at_the_usual_lieu_with_the_last_duration() -> None:
    assert defaults(date(2025, 3, 14), "lieu1", 90) == {
        "date": "2025-03-14",
        "canal": "lieu_activite",
        "lieu_id": "lieu1",
        "duree": "90",
    }


def test_a_first_form_only_knows_the_date() -> None:
    assert defaults(date(2025, 3, 14), None, None) == {"date": "2025-03-14"}


def test_a_last_duration_outside_the_quick_choices_is_an_other_duration() -> None:
    values = defaults(date(2025, 3, 14), None, 100)

    assert (values["duree"], values["duree_heures"], values["duree_minutes"]) == (
        "autre",
        "1",
        "40",
    )
