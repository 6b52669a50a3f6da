"""Controlled vocabularies: stable ASCII slugs (stored, exported) and the French labels of SPEC §3."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain import vocab
from chalicelib.domain.vocab import (
    ALL,
    AUTONOMIE,
    CANAUX,
    FINALISATION,
    GENRES,
    MATERIEL,
    NIVEAUX,
    POURSUITE,
    STATUTS,
    STRUCTURES_REDIRECTION,
    THEMATIQUES,
    THEMATIQUES_DEMARCHE,
    TRANCHES_AGE,
    TYPES_ACTIVITE,
    Vocabulary,
    bande_duree,
    tranche_age_for,
)

SLUG = re.compile(r"[a-z0-9_]+")


@pytest.mark.parametrize("vocabulary", ALL, ids=lambda v: v.name)
def test_every_slug_is_lowercase_ascii_and_unique(vocabulary: Vocabulary) -> None:
    slugs = list(vocabulary)

    assert all(SLUG.fullmatch(slug) for slug in slugs), slugs
    assert len(set(slugs)) == len(slugs) == len(vocabulary)


@pytest.mark.parametrize("vocabulary", ALL, ids=lambda v: v.name)
def test_every_slug_has_a_non_empty_label(vocabulary: Vocabulary) -> None:
    for slug, label in vocabulary.choices():
        assert label.strip() == label and label, slug


def test_every_vocabulary_of_the_module_is_listed_in_all() -> None:
    defined = {id(v) for v in vars(vocab).values() if isinstance(v, Vocabulary)}

    assert defined == {id(v) for v in ALL}


def test_a_vocabulary_with_a_duplicate_slug_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate slug"):
        Vocabulary("x", (("a", "A"), ("a", "Autre A")))


@pytest.mark.parametrize(
    ("vocabulary", "slug", "label"),
    [
        (TYPES_ACTIVITE, "individuel", "Accompagnement individuel"),
        (TYPES_ACTIVITE, "collectif", "Atelier collectif de médiation numérique"),
        (TYPES_ACTIVITE, "demarche", "Aide aux démarches administratives"),
        (CANAUX, "lieu_activite", "Lieu d'activité"),
        (CANAUX, "a_distance", "À distance"),
        (CANAUX, "domicile", "À domicile"),
        (MATERIEL, "aucun", "Pas de matériel"),
        (MATERIEL, "autre", "Autre matériel"),
        (THEMATIQUES, "intelligence_artificielle", "Intelligence artificielle (IA)"),
        (THEMATIQUES, "entrepreneuriat", "Accompagner un professionnel"),
        (THEMATIQUES, "reseaux_sociaux", "Réseaux sociaux et communication"),
        (THEMATIQUES, "securite_numerique", "Prévention en sécurité numérique"),
        (THEMATIQUES, "email", "E-mail"),
        (AUTONOMIE, "partiellement_autonome", "Fait avec la personne"),
        (AUTONOMIE, "autonome", "Fait par la personne elle-même"),
        (
            STRUCTURES_REDIRECTION,
            "insertion_professionnelle",
            "Structure d'insertion professionnelle (France Travail, mission locale…)",
        ),
        (STRUCTURES_REDIRECTION, "administration", "Administration (mairie, préfecture…)"),
        (POURSUITE, "atelier", "Oui, en atelier collectif"),
        (
            THEMATIQUES_DEMARCHE,
            "papiers_elections_citoyennete",
            "Papiers - Élections - Citoyenneté",
        ),
        (THEMATIQUES_DEMARCHE, "etrangers_europe", "Étrangers - Europe"),
        (FINALISATION, "oriente_vers_structure", "Non, orientée vers une autre structure"),
        (FINALISATION, "a_finaliser_en_autonomie", "Non, la personne la finalisera seule"),
        (NIVEAUX, "avance", "Avancé"),
        (GENRES, "feminin", "Femme"),
        (GENRES, "non_communique", "Non communiqué"),
        (TRANCHES_AGE, "moins_de_12", "Moins de 12 ans"),
        (TRANCHES_AGE, "12_17", "12 - 17 ans"),
        (TRANCHES_AGE, "70_plus", "70 ans et plus"),
        (STATUTS, "scolarise", "Scolarisé(e)"),
        (STATUTS, "non_communique", "Non communiqué ou hétérogène"),
    ],
)
def test_labels_are_the_spec_wording_verbatim(
    vocabulary: Vocabulary, slug: str, label: str
) -> None:
    assert vocabulary.label(slug) == label


@pytest.mark.parametrize(
    ("vocabulary", "count"),
    [
        (TYPES_ACTIVITE, 3),
        (CANAUX, 4),
        (MATERIEL, 5),
        (THEMATIQUES, 18),
        (AUTONOMIE, 3),
        (STRUCTURES_REDIRECTION, 7),
        (POURSUITE, 3),
        (THEMATIQUES_DEMARCHE, 11),
        (FINALISATION, 4),
        (NIVEAUX, 3),
        (GENRES, 3),
        (TRANCHES_AGE, 8),
        (STATUTS, 5),
    ],
    ids=lambda v: v.name if isinstance(v, Vocabulary) else str(v),
)
def test_each_vocabulary_offers_every_spec_choice(vocabulary: Vocabulary, count: int) -> None:
    assert len(vocabulary) == count
    assert len(vocabulary.choices()) == count


def test_choices_keep_the_spec_order() -> None:
    assert list(TYPES_ACTIVITE) == ["individuel", "collectif", "demarche"]
    tranches, thematiques = list(TRANCHES_AGE), list(THEMATIQUES)
    assert (tranches[0], tranches[-1]) == ("moins_de_12", "non_communique")
    assert (thematiques[0], thematiques[-1]) == (
        "diagnostic_numerique",
        "intelligence_artificielle",
    )


def test_a_label_is_not_a_slug() -> None:
    assert "individuel" in TYPES_ACTIVITE
    assert "Accompagnement individuel" not in TYPES_ACTIVITE
    with pytest.raises(KeyError):
        TYPES_ACTIVITE.label("Accompagnement individuel")


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "moins_de_12"),
        (11, "moins_de_12"),
        (12, "12_17"),
        (17, "12_17"),
        (18, "18_24"),
        (24, "18_24"),
        (25, "25_39"),
        (39, "25_39"),
        (40, "40_59"),
        (59, "40_59"),
        (60, "60_69"),
        (69, "60_69"),
        (70, "70_plus"),
        (104, "70_plus"),
    ],
)
def test_the_age_band_changes_exactly_at_each_boundary(age: int, band: str) -> None:
    assert tranche_age_for(birth_year=2024 - age, at_year=2024) == band
    assert band in TRANCHES_AGE


def test_the_age_band_is_computed_at_the_activity_year_not_today() -> None:
    # Born in 2006: 17 during a 2023 activity, 18 during a 2024 one.
    assert tranche_age_for(2006, at_year=2023) == "12_17"
    assert tranche_age_for(2006, at_year=2024) == "18_24"


@pytest.mark.parametrize(
    ("minutes", "band"),
    [
        (1, "moins_30"),
        (29, "moins_30"),
        (30, "30_60"),
        (59, "30_60"),
        (60, "60_120"),
        (119, "60_120"),
        (120, "120_plus"),
        (1439, "120_plus"),
    ],
)
def test_duration_bands_change_exactly_at_each_boundary(minutes: int, band: str) -> None:
    assert bande_duree(minutes) == band
    assert band in vocab.BANDES_DUREE
