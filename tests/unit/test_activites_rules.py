"""Rules of an activity (SPEC §3): which field gets which French message, and sensitive notes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import vocab
from chalicelib.domain.activites import ActiviteInput, Anonyme, ParticipantsAnonymes
from chalicelib.domain.activites_rules import (
    ANONYME_COMMUNE_INCONNUE,
    ANONYME_DEJA_ACCOMPAGNE_INVALIDE,
    ANONYME_GENRE_INVALIDE,
    ANONYME_STATUT_INVALIDE,
    ANONYME_TRANCHE_AGE_INVALIDE,
    AUTONOMIE_INVALIDE,
    BENEFICIAIRE_INCONNU,
    CANAL_INVALIDE,
    CANAL_REQUIS,
    COMMUNE_INCONNUE,
    COMMUNE_REQUISE,
    DATE_FUTURE,
    DATE_INVALIDE,
    DATE_REQUISE,
    DATE_TROP_ANCIENNE,
    DEJA_ACCOMPAGNES_DEPASSE_TOTAL,
    DEJA_ACCOMPAGNES_INVALIDE,
    DUREE_INVALIDE,
    DUREE_REQUISE,
    FINALISATION_INVALIDE,
    LIEU_INCONNU,
    LIEU_REQUIS,
    MATERIEL_AUCUN_EXCLUSIF,
    MATERIEL_EN_DOUBLE,
    MATERIEL_INVALIDE,
    MAX_PARTICIPANTS,
    MAX_PARTICIPANTS_SUIVIS,
    NIVEAU_INVALIDE,
    NOM_DEMARCHE_TROP_LONG,
    ORIENTE_INVALIDE,
    PARTENAIRE_INCONNU,
    PARTICIPANTS_EN_DOUBLE,
    PARTICIPANTS_INCONNUS,
    PARTICIPANTS_REQUIS,
    PARTICIPANTS_TROP_NOMBREUX,
    POURSUITE_INVALIDE,
    REPARTITION_CATEGORIE_INCONNUE,
    REPARTITION_DEPASSE_TOTAL,
    REPARTITION_NOMBRE_INVALIDE,
    STRUCTURE_INVALIDE,
    STRUCTURE_REQUISE,
    THEMATIQUES_DEMARCHE_EN_DOUBLE,
    THEMATIQUES_DEMARCHE_INVALIDES,
    THEMATIQUES_DEMARCHE_REQUISES,
    THEMATIQUES_EN_DOUBLE,
    THEMATIQUES_INVALIDES,
    THEMATIQUES_REQUISES,
    TITRE_ATELIER_TROP_LONG,
    TOTAL_INVALIDE,
    TYPE_INVALIDE,
    RuleContext,
    validate,
)
from chalicelib.domain.dates import EARLIEST
from chalicelib.domain.notes import (
    MAX_NOTES,
    NOTES_SENSIBLES_PLURIEL,
    NOTES_TROP_LONGUES,
    SENSIBLE_MOT_DE_PASSE,
    TEXTE_INVALIDE,
    message_notes_sensibles,
)

TODAY = date(2025, 6, 15)
MES_BENEFICIAIRES = frozenset({"ben-1", "ben-2", *(f"ben-{n}" for n in range(100, 200))})
CTX = RuleContext(
    today=TODAY,
    lieux=frozenset({"lieu-1", "lieu-archive"}),
    communes=frozenset({"69123", "75056", "2A004"}),
    beneficiaires=MES_BENEFICIAIRES,
    partenaires=frozenset({"par-1"}),
)

# A valid NIR (key 97 - 1841276451089 mod 97 = 46), a valid IBAN, a Luhn-valid Visa number.
NIR = "1 84 12 76 451 089 46"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
CARTE = "4970 1012 3456 7893"

KEYS = {
    "type",
    "date",
    "duree",
    "canal",
    "lieu_id",
    "commune_insee",
    "materiel",
    "thematiques",
    "thematiques_demarche",
    "nom_demarche",
    "finalisation",
    "autonomie",
    "oriente",
    "structure_redirection",
    "partenaire_id",
    "poursuite",
    "beneficiaire_id",
    "anonyme.deja_accompagne",
    "anonyme.commune_insee",
    "anonyme.genre",
    "anonyme.tranche_age",
    "anonyme.statut",
    "titre_atelier",
    "niveau",
    "participants_ids",
    "participants_anonymes.total",
    "participants_anonymes.deja_accompagnes",
    "participants_anonymes.genres",
    "participants_anonymes.tranches_age",
    "participants_anonymes.statuts",
    "participants",
    "notes",
}


def individuel(**changes: Any) -> ActiviteInput:
    base = ActiviteInput(
        type="individuel",
        date=TODAY,
        duree=45,
        canal="lieu_activite",
        lieu_id="lieu-1",
        materiel=("ordinateur",),
        thematiques=("email",),
    )
    return replace(base, **changes)


def demarche(**changes: Any) -> ActiviteInput:
    base = individuel(type="demarche", thematiques=(), thematiques_demarche=("logement",))
    return replace(base, **changes)


def collectif(**changes: Any) -> ActiviteInput:
    base = individuel(type="collectif", participants_anonymes=ParticipantsAnonymes(total=10))
    return replace(base, **changes)


def anonymes(**counts: Any) -> ParticipantsAnonymes:
    return ParticipantsAnonymes(**{"total": 10, **counts})


def errors_of(data: ActiviteInput, ctx: RuleContext = CTX) -> dict[str, str]:
    return validate(data, ctx)


# --- valid examples --------------------------------------------------------------------------


def test_given_a_minimal_individuel_then_it_is_valid() -> None:
    assert errors_of(individuel()) == {}


def test_given_a_complete_individuel_then_it_is_valid() -> None:
    data = individuel(
        canal="domicile",
        lieu_id=None,
        commune_insee="69123",
        materiel=("ordinateur", "telephone"),
        thematiques=("email", "sante"),
        notes="A appris à envoyer une pièce jointe.",
        anonyme=Anonyme(True, "75056", "feminin", "60_69", "retraite"),
        autonomie="partiellement_autonome",
        oriente=True,
        structure_redirection="aide_sociale",
        partenaire_id="par-1",
        poursuite="atelier",
    )

    assert errors_of(data) == {}


def test_given_a_demarche_without_mediation_thematique_then_it_is_valid() -> None:
    data = demarche(
        beneficiaire_id="ben-1",
        nom_demarche="Carte d'identité",
        finalisation="doit_revenir",
        canal="a_distance",
        lieu_id=None,
    )

    assert errors_of(data) == {}


def test_given_a_collectif_with_followed_and_anonymous_participants_then_it_is_valid() -> None:
    data = collectif(
        titre_atelier="Découvrir la messagerie",
        niveau="debutant",
        participants_ids=("ben-1", "ben-2"),
        participants_anonymes=ParticipantsAnonymes(
            total=10,
            deja_accompagnes=4,
            genres={"feminin": 6, "masculin": 3},
            tranches_age={"60_69": 5, "70_plus": 5},
            statuts={"retraite": 10},
        ),
    )

    assert errors_of(data) == {}


def test_given_every_rule_broken_at_once_then_every_field_gets_its_message() -> None:
    data = ActiviteInput(type="individuel", canal="lieu_activite", notes=f"mdp : {'x' * 8}1")

    assert errors_of(data) == {
        "date": DATE_REQUISE,
        "duree": DUREE_REQUISE,
        "lieu_id": LIEU_REQUIS,
        "thematiques": THEMATIQUES_REQUISES,
        "notes": message_notes_sensibles([SENSIBLE_MOT_DE_PASSE]),
    }


# --- type, date, durée -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "atelier", "Individuel", None, 3])
def test_given_an_unknown_type_then_the_type_is_refused(value: Any) -> None:
    assert errors_of(individuel(type=value))["type"] == TYPE_INVALIDE


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, DATE_REQUISE),
        (TODAY + timedelta(days=1), DATE_FUTURE),
        (date(2019, 12, 31), DATE_TROP_ANCIENNE),
        ("2025-01-01", DATE_INVALIDE),
    ],
    ids=["missing", "tomorrow", "2019-12-31", "text"],
)
def test_given_a_wrong_date_then_the_date_gets_its_message(value: Any, message: str) -> None:
    assert errors_of(individuel(date=value)) == {"date": message}


@pytest.mark.parametrize("value", [TODAY, EARLIEST, datetime(2024, 5, 1, 10, 30)])
def test_given_a_date_between_2020_and_today_then_it_is_accepted(value: date) -> None:
    assert errors_of(individuel(date=value)) == {}


@pytest.mark.parametrize("value", [1, 15, 1439])
def test_given_a_duree_from_1_minute_to_23h59_then_it_is_accepted(value: int) -> None:
    assert errors_of(individuel(duree=value)) == {}


@pytest.mark.parametrize("value", [0, 1440, -15, True, 45.0, "45"])
def test_given_a_duree_out_of_range_then_it_is_refused(value: Any) -> None:
    assert errors_of(individuel(duree=value)) == {"duree": DUREE_INVALIDE}


def test_given_no_duree_then_it_is_required() -> None:
    assert errors_of(individuel(duree=None)) == {"duree": DUREE_REQUISE}


# --- canal, lieu, commune ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [(None, CANAL_REQUIS), ("bus", CANAL_INVALIDE)])
def test_given_a_missing_or_unknown_canal_then_the_canal_is_refused(
    value: Any, message: str
) -> None:
    assert errors_of(individuel(canal=value)) == {"canal": message}


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, LIEU_REQUIS), ("", LIEU_REQUIS), ("lieu-d-un-autre", LIEU_INCONNU)],
)
def test_given_canal_lieu_activite_then_one_of_my_lieux_is_required(
    value: Any, message: str
) -> None:
    assert errors_of(individuel(lieu_id=value)) == {"lieu_id": message}


def test_given_the_current_lieu_of_an_edited_activity_then_it_stays_valid() -> None:
    assert errors_of(individuel(lieu_id="lieu-archive")) == {}


@pytest.mark.parametrize("canal", ["domicile", "autre"])
@pytest.mark.parametrize(
    ("value", "message"), [(None, COMMUNE_REQUISE), ("99999", COMMUNE_INCONNUE)]
)
def test_given_canal_domicile_or_autre_then_a_known_commune_is_required(
    canal: str, value: Any, message: str
) -> None:
    data = individuel(canal=canal, lieu_id=None, commune_insee=value)

    assert errors_of(data) == {"commune_insee": message}


def test_given_a_lieu_and_a_commune_with_canal_a_distance_then_both_are_ignored() -> None:
    data = individuel(canal="a_distance", lieu_id="lieu-d-un-autre", commune_insee="99999")

    assert errors_of(data) == {}


def test_given_a_commune_with_canal_lieu_activite_then_it_is_ignored() -> None:
    assert errors_of(individuel(commune_insee="99999")) == {}


# --- matériel, thématiques ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [(), ("aucun",), ("ordinateur", "telephone", "tablette", "autre")]
)
def test_given_known_materiel_then_it_is_accepted(value: tuple[str, ...]) -> None:
    assert errors_of(individuel(materiel=value)) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (("ordinateur", "console"), MATERIEL_INVALIDE),
        (("ordinateur", None), MATERIEL_INVALIDE),
        (("aucun", "ordinateur"), MATERIEL_AUCUN_EXCLUSIF),
        (("aucun", "ordinateur", "ordinateur"), MATERIEL_AUCUN_EXCLUSIF),
        (("tablette", "tablette"), MATERIEL_EN_DOUBLE),
    ],
)
def test_given_wrong_materiel_then_the_first_broken_rule_is_reported(
    value: tuple[Any, ...], message: str
) -> None:
    assert errors_of(individuel(materiel=value)) == {"materiel": message}


@pytest.mark.parametrize("build", [individuel, collectif])
def test_given_no_thematique_for_individuel_or_collectif_then_one_is_required(build: Any) -> None:
    assert errors_of(build(thematiques=())) == {"thematiques": THEMATIQUES_REQUISES}


def test_given_no_mediation_thematique_for_a_demarche_then_it_is_accepted() -> None:
    assert errors_of(demarche(thematiques=())) == {}


@pytest.mark.parametrize("build", [individuel, demarche])
@pytest.mark.parametrize(
    ("value", "message"),
    [(("email", "cuisine"), THEMATIQUES_INVALIDES), (("email", "email"), THEMATIQUES_EN_DOUBLE)],
)
def test_given_wrong_thematiques_then_they_are_refused(
    build: Any, value: tuple[str, ...], message: str
) -> None:
    assert errors_of(build(thematiques=value)) == {"thematiques": message}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ((), THEMATIQUES_DEMARCHE_REQUISES),
        (("logement", "email"), THEMATIQUES_DEMARCHE_INVALIDES),
        (("logement", "logement"), THEMATIQUES_DEMARCHE_EN_DOUBLE),
    ],
)
def test_given_wrong_demarche_thematiques_then_they_are_refused(
    value: tuple[str, ...], message: str
) -> None:
    assert errors_of(demarche(thematiques_demarche=value)) == {"thematiques_demarche": message}


def test_given_demarche_fields_on_an_individuel_then_they_are_ignored() -> None:
    data = individuel(thematiques_demarche=("?",), nom_demarche="x" * 500, finalisation="?")

    assert errors_of(data) == {}


@pytest.mark.parametrize(("length", "ok"), [(200, True), (201, False)])
def test_given_a_nom_de_demarche_then_200_characters_are_allowed(length: int, ok: bool) -> None:
    errors = errors_of(demarche(nom_demarche="x" * length))

    assert errors == ({} if ok else {"nom_demarche": NOM_DEMARCHE_TROP_LONG})


# --- optional single choices -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "key", "good", "message"),
    [
        (demarche, "finalisation", "finalisee", FINALISATION_INVALIDE),
        (individuel, "autonomie", "autonome", AUTONOMIE_INVALIDE),
        (demarche, "autonomie", "entierement_accompagne", AUTONOMIE_INVALIDE),
        (individuel, "poursuite", "non", POURSUITE_INVALIDE),
        (collectif, "niveau", "avance", NIVEAU_INVALIDE),
    ],
)
def test_given_an_optional_choice_then_it_must_come_from_its_vocabulary(
    build: Any, key: str, good: str, message: str
) -> None:
    assert errors_of(build(**{key: None})) == {}
    assert errors_of(build(**{key: good})) == {}
    assert errors_of(build(**{key: "peut-etre"})) == {key: message}


# --- orientation, partenaire -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("structure", "message"), [(None, STRUCTURE_REQUISE), ("cinema", STRUCTURE_INVALIDE)]
)
def test_given_an_orientation_then_a_known_structure_is_required(
    structure: Any, message: str
) -> None:
    data = individuel(oriente=True, structure_redirection=structure)

    assert errors_of(data) == {"structure_redirection": message}


def test_given_an_orientation_then_the_partner_must_be_one_of_mine() -> None:
    data = individuel(oriente=True, structure_redirection="autre", partenaire_id="par-9")

    assert errors_of(data) == {"partenaire_id": PARTENAIRE_INCONNU}


@pytest.mark.parametrize("oriente", [False, None])
def test_given_no_orientation_then_structure_and_partner_are_ignored(oriente: Any) -> None:
    data = individuel(oriente=oriente, structure_redirection="cinema", partenaire_id="par-9")

    assert errors_of(data) == {}


def test_given_an_orientation_that_is_not_yes_or_no_then_it_is_refused() -> None:
    assert errors_of(individuel(oriente="oui")) == {"oriente": ORIENTE_INVALIDE}


# --- the person ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ben-d-un-collegue", "n-existe-pas"])
def test_given_a_beneficiary_who_is_not_mine_then_the_message_does_not_say_why(value: str) -> None:
    assert errors_of(individuel(beneficiaire_id=value)) == {"beneficiaire_id": BENEFICIAIRE_INCONNU}


def test_given_one_of_my_beneficiaries_then_the_anonymous_details_are_ignored() -> None:
    data = individuel(beneficiaire_id="ben-1", anonyme=Anonyme(genre="?", commune_insee="?"))

    assert errors_of(data) == {}


@pytest.mark.parametrize(
    ("anonyme", "key", "message"),
    [
        (Anonyme(commune_insee="99999"), "anonyme.commune_insee", ANONYME_COMMUNE_INCONNUE),
        (Anonyme(genre="autre"), "anonyme.genre", ANONYME_GENRE_INVALIDE),
        (Anonyme(tranche_age="30_40"), "anonyme.tranche_age", ANONYME_TRANCHE_AGE_INVALIDE),
        (Anonyme(statut="etudiant"), "anonyme.statut", ANONYME_STATUT_INVALIDE),
        (
            Anonyme(deja_accompagne="oui"),  # type: ignore[arg-type]
            "anonyme.deja_accompagne",
            ANONYME_DEJA_ACCOMPAGNE_INVALIDE,
        ),
    ],
)
def test_given_wrong_anonymous_details_then_each_is_refused(
    anonyme: Anonyme, key: str, message: str
) -> None:
    assert errors_of(demarche(anonyme=anonyme)) == {key: message}


# --- collectif ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "ok"), [(200, True), (201, False)])
def test_given_an_atelier_title_then_200_characters_are_allowed(length: int, ok: bool) -> None:
    errors = errors_of(collectif(titre_atelier="x" * length))

    assert errors == ({} if ok else {"titre_atelier": TITRE_ATELIER_TROP_LONG})


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (("ben-1", "ben-d-un-collegue"), PARTICIPANTS_INCONNUS),
        (("ben-1", "ben-1"), PARTICIPANTS_EN_DOUBLE),
        (
            tuple(f"ben-{n}" for n in range(100, 100 + MAX_PARTICIPANTS_SUIVIS + 1)),
            PARTICIPANTS_TROP_NOMBREUX,
        ),
    ],
    ids=["not-mine", "twice", "91"],
)
def test_given_wrong_followed_participants_then_they_are_refused(
    ids: tuple[str, ...], message: str
) -> None:
    assert errors_of(collectif(participants_ids=ids)) == {"participants_ids": message}


def test_given_90_followed_participants_then_they_are_accepted() -> None:
    ids = tuple(f"ben-{n}" for n in range(100, 100 + MAX_PARTICIPANTS_SUIVIS))

    assert errors_of(collectif(participants_ids=ids, participants_anonymes=None)) == {}


@pytest.mark.parametrize("total", [-1, MAX_PARTICIPANTS + 1, None, "10"])
def test_given_an_anonymous_total_out_of_range_then_it_is_refused(total: Any) -> None:
    data = collectif(participants_anonymes=anonymes(total=total))

    assert errors_of(data) == {"participants_anonymes.total": TOTAL_INVALIDE}


def test_given_5000_anonymous_participants_then_they_are_accepted() -> None:
    assert errors_of(collectif(participants_anonymes=anonymes(total=MAX_PARTICIPANTS))) == {}


@pytest.mark.parametrize(
    ("deja", "message"),
    [
        (10, None),
        (11, DEJA_ACCOMPAGNES_DEPASSE_TOTAL.format(nombre=11, total=10)),
        (-1, DEJA_ACCOMPAGNES_INVALIDE),
    ],
)
def test_given_already_accompanied_participants_then_they_fit_in_the_total(
    deja: int, message: str | None
) -> None:
    errors = errors_of(collectif(participants_anonymes=anonymes(deja_accompagnes=deja)))

    assert errors == ({"participants_anonymes.deja_accompagnes": message} if message else {})


def test_given_too_many_women_and_men_then_the_message_shows_both_numbers() -> None:
    data = collectif(participants_anonymes=anonymes(genres={"feminin": 7, "masculin": 5}))

    assert errors_of(data) == {
        "participants_anonymes.genres": (
            "La répartition par genre dépasse le nombre total de participants (12 > 10)."
        )
    }


BREAKDOWNS = [
    ("genres", "genre", "feminin", "non_communique"),
    ("tranches_age", "tranche d'âge", "25_39", "70_plus"),
    ("statuts", "statut", "en_emploi", "retraite"),
]


@pytest.mark.parametrize(("name", "label", "first", "second"), BREAKDOWNS)
def test_given_a_breakdown_summing_to_the_total_then_it_is_accepted(
    name: str, label: str, first: str, second: str
) -> None:
    data = collectif(participants_anonymes=anonymes(**{name: {first: 4, second: 6}}))

    assert errors_of(data) == {}


@pytest.mark.parametrize(("name", "label", "first", "second"), BREAKDOWNS)
def test_given_a_breakdown_above_the_total_then_it_is_refused(
    name: str, label: str, first: str, second: str
) -> None:
    data = collectif(participants_anonymes=anonymes(**{name: {first: 4, second: 7}}))

    assert errors_of(data) == {
        f"participants_anonymes.{name}": REPARTITION_DEPASSE_TOTAL.format(
            repartition=label, somme=11, total=10
        )
    }


@pytest.mark.parametrize(("name", "label", "first", "second"), BREAKDOWNS)
@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"inconnu": 1}, REPARTITION_CATEGORIE_INCONNUE),
        ({None: 1}, REPARTITION_CATEGORIE_INCONNUE),
        ({"FIRST": -1}, REPARTITION_NOMBRE_INVALIDE),
        ({"FIRST": "2"}, REPARTITION_NOMBRE_INVALIDE),
    ],
)
def test_given_a_breakdown_with_unknown_categories_or_negative_counts_then_it_is_refused(
    name: str, label: str, first: str, second: str, counts: dict[Any, Any], message: str
) -> None:
    counts = {first if k == "FIRST" else k: v for k, v in counts.items()}
    data = collectif(participants_anonymes=anonymes(**{name: counts}))

    assert errors_of(data) == {f"participants_anonymes.{name}": message.format(repartition=label)}


@pytest.mark.parametrize("pa", [None, ParticipantsAnonymes(total=0)])
def test_given_an_atelier_without_anyone_then_a_participant_is_required(
    pa: ParticipantsAnonymes | None,
) -> None:
    assert errors_of(collectif(participants_anonymes=pa)) == {"participants": PARTICIPANTS_REQUIS}


def test_given_one_followed_participant_and_no_anonymous_one_then_it_is_enough() -> None:
    data = collectif(participants_ids=("ben-1",), participants_anonymes=ParticipantsAnonymes())

    assert errors_of(data) == {}


def test_given_person_fields_on_a_collectif_then_they_are_ignored() -> None:
    data = collectif(beneficiaire_id="ben-d-un-collegue", autonomie="?", oriente=True)

    assert errors_of(data) == {}


def test_given_collectif_fields_on_an_individuel_then_they_are_ignored() -> None:
    data = individuel(niveau="?", participants_ids=("?", "?"), titre_atelier="x" * 500)

    assert errors_of(data) == {}


# --- notes ---------------------------------------------------------------------------------------


def test_given_notes_of_5000_characters_then_they_are_accepted() -> None:
    assert errors_of(individuel(notes="a" * MAX_NOTES)) == {}


def test_given_notes_over_5000_characters_then_the_message_gives_the_length() -> None:
    errors = errors_of(individuel(notes="a" * (MAX_NOTES + 1)))

    assert errors == {"notes": NOTES_TROP_LONGUES.format(longueur="5 001")}
    assert (
        errors["notes"] == "Les notes doivent faire au plus 5 000 caractères (actuellement 5 001)."
    )


def test_given_notes_that_are_not_text_then_they_are_refused() -> None:
    assert errors_of(individuel(notes=42)) == {"notes": TEXTE_INVALIDE}


def test_given_a_social_security_number_in_the_notes_then_the_user_is_asked_to_confirm() -> None:
    errors = errors_of(individuel(notes=f"Son numéro : {NIR}"))

    assert errors == {
        "notes": "Vos notes semblent contenir un numéro de sécurité sociale. "
        "Retirez-le ou confirmez qu'il ne s'agit pas d'une donnée sensible."
    }


def test_given_the_user_confirmed_the_notes_then_sensitive_patterns_are_accepted() -> None:
    assert errors_of(individuel(notes=f"Son numéro : {NIR}", confirmer_notes=True)) == {}


def test_given_confirmed_notes_that_are_too_long_then_the_length_is_still_refused() -> None:
    errors = errors_of(individuel(notes="a" * (MAX_NOTES + 1), confirmer_notes=True))

    assert set(errors) == {"notes"}


def test_given_several_kinds_of_sensitive_data_then_the_message_names_them_all() -> None:
    notes = f"IBAN {IBAN}, née le 12/03/1954, mdp : Soleil2024"

    assert errors_of(individuel(notes=notes)) == {
        "notes": NOTES_SENSIBLES_PLURIEL.format(
            trouve="un IBAN, une date de naissance et un mot de passe"
        )
    }


# --- odd input -----------------------------------------------------------------------------------


def test_given_none_everywhere_then_messages_come_back_instead_of_a_crash() -> None:
    data = ActiviteInput(
        type=None,  # type: ignore[arg-type]
        materiel=None,  # type: ignore[arg-type]
        thematiques=None,  # type: ignore[arg-type]
        notes=None,  # type: ignore[arg-type]
        confirmer_notes=None,  # type: ignore[arg-type]
    )

    assert errors_of(data) == {
        "type": TYPE_INVALIDE,
        "date": DATE_REQUISE,
        "duree": DUREE_REQUISE,
        "canal": CANAL_REQUIS,
    }


def test_given_a_collectif_with_none_inside_its_counts_then_messages_come_back() -> None:
    pa = ParticipantsAnonymes(
        total=None,  # type: ignore[arg-type]
        deja_accompagnes=None,  # type: ignore[arg-type]
        genres=None,  # type: ignore[arg-type]
        tranches_age=[1, 2],  # type: ignore[arg-type]
        statuts={"retraite": None},  # type: ignore[dict-item]
    )
    data = collectif(participants_ids=None, participants_anonymes=pa)

    assert errors_of(data) == {
        "participants_anonymes.total": TOTAL_INVALIDE,
        "participants_anonymes.deja_accompagnes": DEJA_ACCOMPAGNES_INVALIDE,
        "participants_anonymes.tranches_age": REPARTITION_CATEGORIE_INCONNUE.format(
            repartition="tranche d'âge"
        ),
        "participants_anonymes.statuts": REPARTITION_NOMBRE_INVALIDE.format(repartition="statut"),
    }


SLUGS = sorted(
    {slug for v in vocab.ALL for slug in v}
    | {"lieu-1", "ben-1", "par-1", "69123", "", " ", "aucun"}
)
junk = st.one_of(st.none(), st.sampled_from(SLUGS), st.text(max_size=20))
scalars = st.one_of(
    junk,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.floats(allow_nan=True),
    st.dates(),
    st.datetimes(),
)
many = st.one_of(
    st.none(),
    junk,
    st.lists(scalars, max_size=6).map(tuple),
    st.lists(st.sampled_from(SLUGS), max_size=120).map(tuple),
)
counts = st.one_of(
    st.none(),
    junk,
    st.dictionaries(st.one_of(junk, st.integers()), scalars, max_size=5),
    st.dictionaries(st.sampled_from(SLUGS), st.integers(min_value=-10, max_value=6000), max_size=5),
)
notes = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.sampled_from([NIR, IBAN, CARTE, "née le 12/03/1954", "mdp : x", "a" * (MAX_NOTES + 1)]),
    st.integers(),
)
anonyme = st.builds(
    Anonyme,
    deja_accompagne=scalars,
    commune_insee=junk,
    genre=junk,
    tranche_age=junk,
    statut=junk,
)
participants_anonymes = st.builds(
    ParticipantsAnonymes,
    total=scalars,
    deja_accompagnes=scalars,
    genres=counts,
    tranches_age=counts,
    statuts=counts,
)
types = st.sampled_from(list(vocab.TYPES_ACTIVITE))


def mostly(common: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`common` three times out of four, so that nested rules are reached, `odd` otherwise."""
    # Not `one_of(common, common, common, odd)`: one_of flattens `odd` into its many branches.
    return st.integers(0, 3).flatmap(lambda n: odd if n == 0 else common)


activites = st.builds(
    ActiviteInput,
    type=mostly(types, scalars),
    date=scalars,
    duree=scalars,
    canal=st.one_of(st.sampled_from(list(vocab.CANAUX)), junk),
    lieu_id=scalars,
    commune_insee=scalars,
    materiel=many,
    thematiques=many,
    notes=notes,
    confirmer_notes=scalars,
    beneficiaire_id=mostly(st.none(), scalars),
    anonyme=mostly(anonyme, st.one_of(st.none(), scalars)),
    autonomie=scalars,
    oriente=mostly(st.just(True), scalars),
    structure_redirection=scalars,
    partenaire_id=scalars,
    poursuite=scalars,
    thematiques_demarche=many,
    nom_demarche=st.one_of(scalars, st.text(min_size=190, max_size=210)),
    finalisation=scalars,
    titre_atelier=scalars,
    niveau=scalars,
    participants_ids=many,
    participants_anonymes=mostly(participants_anonymes, st.one_of(st.none(), scalars)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activites)
def test_given_any_input_then_validate_returns_french_messages_and_never_raises(
    data: ActiviteInput,
) -> None:
    errors = validate(data, CTX)

    assert isinstance(errors, dict)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())
    assert set(errors) <= KEYS
