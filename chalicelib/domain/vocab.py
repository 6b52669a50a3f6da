"""Every controlled vocabulary of the product, in one place: stored ASCII slug -> French label.

Slugs are stable (they are stored and exported); labels are what people read (SPEC §3, §3.6).
"""

from __future__ import annotations

from collections.abc import Iterator


class Vocabulary:
    """An ordered, immutable slug -> label mapping."""

    def __init__(self, name: str, items: tuple[tuple[str, str], ...]) -> None:
        slugs = [slug for slug, _ in items]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"duplicate slug in vocabulary {name}")
        self.name = name
        self._items = dict(items)

    def __contains__(self, slug: object) -> bool:
        return slug in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def label(self, slug: str) -> str:
        return self._items[slug]

    def choices(self) -> list[tuple[str, str]]:
        return list(self._items.items())


TYPES_ACTIVITE = Vocabulary(
    "type",
    (
        ("individuel", "Accompagnement individuel"),
        ("collectif", "Atelier collectif de médiation numérique"),
        ("demarche", "Aide aux démarches administratives"),
    ),
)

CANAUX = Vocabulary(
    "canal",
    (
        ("lieu_activite", "Lieu d'activité"),
        ("autre", "Autre lieu"),
        ("domicile", "À domicile"),
        ("a_distance", "À distance"),
    ),
)

DUREES_RAPIDES = Vocabulary(
    "duree",
    (
        ("15", "15 min"),
        ("30", "30 min"),
        ("45", "45 min"),
        ("60", "1 h"),
        ("90", "1 h 30"),
        ("120", "2 h"),
    ),
)

MATERIEL = Vocabulary(
    "materiel",
    (
        ("ordinateur", "Ordinateur"),
        ("telephone", "Téléphone"),
        ("tablette", "Tablette"),
        ("autre", "Autre matériel"),
        ("aucun", "Pas de matériel"),
    ),
)

THEMATIQUES = Vocabulary(
    "thematique",
    (
        ("diagnostic_numerique", "Diagnostic numérique"),
        ("prendre_en_main_du_materiel", "Prendre en main du matériel"),
        ("maintenance_de_materiel", "Maintenance de matériel"),
        ("gerer_ses_contenus_numeriques", "Gérer ses contenus numériques"),
        ("navigation_sur_internet", "Navigation sur internet"),
        ("email", "E-mail"),
        ("bureautique", "Bureautique"),
        ("reseaux_sociaux", "Réseaux sociaux et communication"),
        ("sante", "Santé"),
        ("banque_et_achats_en_ligne", "Banque et achats en ligne"),
        ("entrepreneuriat", "Accompagner un professionnel"),
        ("insertion_professionnelle", "Insertion professionnelle"),
        ("securite_numerique", "Prévention en sécurité numérique"),
        ("parentalite", "Parentalité"),
        ("scolarite_et_numerique", "Scolarité et numérique"),
        ("creer_avec_le_numerique", "Créer avec le numérique"),
        ("culture_numerique", "Culture numérique"),
        ("intelligence_artificielle", "Intelligence artificielle (IA)"),
    ),
)

AUTONOMIE = Vocabulary(
    "autonomie",
    (
        ("entierement_accompagne", "Fait à la place de la personne"),
        ("partiellement_autonome", "Fait avec la personne"),
        ("autonome", "Fait par la personne elle-même"),
    ),
)

STRUCTURES_REDIRECTION = Vocabulary(
    "structure_redirection",
    (
        ("administration", "Administration (mairie, préfecture…)"),
        ("mediation_numerique", "Autre structure de médiation numérique"),
        ("operateur_ou_organisme_en_charge", "Opérateur ou organisme en charge de la démarche"),
        ("aide_sociale", "Structure d'aide sociale (CCAS, centre social…)"),
        (
            "insertion_professionnelle",
            "Structure d'insertion professionnelle (France Travail, mission locale…)",
        ),
        ("aide_aux_demarches_administratives", "Structure d'aide aux démarches (France Services…)"),
        ("autre", "Autre"),
    ),
)

POURSUITE = Vocabulary(
    "poursuite",
    (
        ("individuel", "Oui, en accompagnement individuel"),
        ("atelier", "Oui, en atelier collectif"),
        ("non", "Non"),
    ),
)

THEMATIQUES_DEMARCHE = Vocabulary(
    "thematique_demarche",
    (
        ("papiers_elections_citoyennete", "Papiers - Élections - Citoyenneté"),
        ("famille_scolarite", "Famille - Scolarité"),
        ("social_sante", "Social - Santé"),
        ("travail_formation", "Travail - Formation"),
        ("logement", "Logement"),
        ("transports_mobilite", "Transports - Mobilité"),
        ("argent_impots", "Argent - Impôts"),
        ("justice", "Justice"),
        ("etrangers_europe", "Étrangers - Europe"),
        ("loisirs_sports_culture", "Loisirs - Sports - Culture"),
        ("associations", "Associations"),
    ),
)

FINALISATION = Vocabulary(
    "finalisation",
    (
        ("finalisee", "Oui"),
        ("a_finaliser_en_autonomie", "Non, la personne la finalisera seule"),
        ("doit_revenir", "Non, la personne doit revenir"),
        ("oriente_vers_structure", "Non, orientée vers une autre structure"),
    ),
)

NIVEAUX = Vocabulary(
    "niveau",
    (("debutant", "Débutant"), ("intermediaire", "Intermédiaire"), ("avance", "Avancé")),
)

GENRES = Vocabulary(
    "genre",
    (("feminin", "Femme"), ("masculin", "Homme"), ("non_communique", "Non communiqué")),
)

TRANCHES_AGE = Vocabulary(
    "tranche_age",
    (
        ("moins_de_12", "Moins de 12 ans"),
        ("12_17", "12 - 17 ans"),
        ("18_24", "18 - 24 ans"),
        ("25_39", "25 - 39 ans"),
        ("40_59", "40 - 59 ans"),
        ("60_69", "60 - 69 ans"),
        ("70_plus", "70 ans et plus"),
        ("non_communique", "Non communiqué"),
    ),
)

STATUTS = Vocabulary(
    "statut",
    (
        ("scolarise", "Scolarisé(e)"),
        ("en_emploi", "En emploi"),
        ("sans_emploi", "Sans emploi"),
        ("retraite", "Retraité(e)"),
        ("non_communique", "Non communiqué ou hétérogène"),
    ),
)

BANDES_DUREE = Vocabulary(
    "duree_bande",
    (
        ("moins_30", "< 30 min"),
        ("30_60", "30 min – 1 h"),
        ("60_120", "1 h – 2 h"),
        ("120_plus", "2 h et plus"),
    ),
)

ALL: tuple[Vocabulary, ...] = (
    TYPES_ACTIVITE,
    CANAUX,
    DUREES_RAPIDES,
    MATERIEL,
    THEMATIQUES,
    AUTONOMIE,
    STRUCTURES_REDIRECTION,
    POURSUITE,
    THEMATIQUES_DEMARCHE,
    FINALISATION,
    NIVEAUX,
    GENRES,
    TRANCHES_AGE,
    STATUTS,
    BANDES_DUREE,
)


def tranche_age_for(birth_year: int, at_year: int) -> str:
    """The age band at a given year (SPEC §3.6: age = activity year - birth year)."""
    age = at_year - birth_year
    if age < 12:
        return "moins_de_12"
    for upper, slug in ((17, "12_17"), (24, "18_24"), (39, "25_39"), (59, "40_59"), (69, "60_69")):
        if age <= upper:
            return slug
    return "70_plus"


def bande_duree(minutes: int) -> str:
    if minutes < 30:
        return "moins_30"
    if minutes < 60:
        return "30_60"
    if minutes < 120:
        return "60_120"
    return "120_plus"
