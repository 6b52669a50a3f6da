"""Statistics maths (SPEC §5) on hand-built activities: each figure, counted by hand.

Unit: an accompagnement is one person helped in one activity (an atelier counts its
participants). No AWS: `bucket_of` / `total` / `figures` are pure.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import vocab
from chalicelib.domain.activites import (
    Activite,
    ActiviteInput,
    Anonyme,
    ParticipantsAnonymes,
    Personne,
)
from chalicelib.domain.dates import month_of
from chalicelib.stats.aggregation import (
    Combo,
    Labels,
    Selection,
    bucket_from_map,
    bucket_of,
    bucket_to_map,
    contribution,
    distribution,
    figures,
    largest_remainder,
    total,
    vocab_label,
)

NOW = datetime(2025, 3, 1, 9, tzinfo=UTC)
_ids = count(1)


def activite(type_: str = "individuel", day: date = date(2025, 1, 15), **fields: Any) -> Activite:
    """An activity as the store returns it; `personnes` / `commune_lieu` are the snapshots."""
    personnes = fields.pop("personnes", ())
    commune_lieu = fields.pop("commune_lieu", None)
    defaults: dict[str, Any] = {"duree": 30, "canal": "a_distance"}
    if type_ != "demarche":
        defaults["thematiques"] = ("email",)
    data = ActiviteInput(type=type_, date=day, **{**defaults, **fields}).normalised()
    return Activite(
        id=f"act{next(_ids)}",
        mediateur_id="m1",
        data=data,
        version=1,
        cree_le=NOW,
        modifie_le=NOW,
        personnes=tuple(personnes),
        commune_lieu=commune_lieu,
    )


def atelier(suivis: tuple[str, ...] = (), anonymes: int = 0, **fields: Any) -> Activite:
    pa = fields.pop("participants_anonymes", ParticipantsAnonymes(total=anonymes))
    personnes = fields.pop("personnes", [Personne(i) for i in suivis])
    return activite(
        "collectif",
        participants_ids=suivis,
        participants_anonymes=pa,
        personnes=personnes,
        **fields,
    )


def combo_of(*activities: Activite, selection: Selection = Selection()) -> Combo:  # noqa: B008 - frozen
    return total([bucket_of(activities)], selection)


def figures_of(*activities: Activite, nouveaux_suivis: int = 0, **filters: Any) -> dict[str, Any]:
    by_month: dict[str, list[Activite]] = {}
    for a in activities:
        by_month.setdefault(month_of(a.date), []).append(a)
    buckets = {m: bucket_of(items) for m, items in sorted(by_month.items())}
    selection = Selection(**filters)
    par_mois = [(m, total([b], selection).counters["n"]) for m, b in buckets.items()]
    return figures(
        total(buckets.values(), selection),
        date(2025, 1, 1),
        date(2025, 12, 31),
        par_mois,
        nouveaux_suivis,
        Labels(lieu={"L1": "Médiathèque", "L2": "Mairie"}.get),  # type: ignore[arg-type]
    )


def rows(items: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """{slug: (count, percent)} of the non-zero lines of a distribution."""
    return {i["cle"]: (i["nombre"], i["pourcentage"]) for i in items if i["nombre"]}


# --- Général ---------------------------------------------------------------------------------------


def test_given_each_type_then_accompagnements_count_one_per_person_and_an_atelier_its_participants() -> (
    None
):
    f = figures_of(
        activite("individuel"),
        activite("individuel"),
        activite("demarche", thematiques_demarche=("logement",)),
        atelier(suivis=("b1", "b2"), anonymes=5),
    )

    assert f["accompagnements"] == {"total": 10, "individuel": 2, "demarche": 1, "collectif": 7}
    assert f["ateliers"] == 1


def test_given_anonymous_and_followed_people_then_beneficiaries_are_suivis_plus_anonymes() -> None:
    f = figures_of(
        activite(beneficiaire_id="b1", personnes=[Personne("b1")]),
        activite(beneficiaire_id="b1", personnes=[Personne("b1")]),  # same person: once
        activite(),  # anonymous, no detail
        activite("demarche", thematiques_demarche=("logement",), anonyme=Anonyme(genre="feminin")),
        atelier(suivis=("b1", "b2"), anonymes=3),
    )

    assert f["beneficiaires"]["suivis"] == 2  # b1, b2
    assert f["beneficiaires"]["anonymes"] == 5  # 2 alone + 3 in the atelier
    assert f["beneficiaires"]["total"] == 7


def test_given_one_person_followed_in_january_and_march_then_counted_once_over_the_period() -> None:
    january = activite(day=date(2025, 1, 10), beneficiaire_id="b1", personnes=[Personne("b1")])
    march = activite(day=date(2025, 3, 10), beneficiaire_id="b1", personnes=[Personne("b1")])

    f = figures_of(january, march)

    assert f["accompagnements"]["total"] == 2
    assert f["beneficiaires"]["suivis"] == 1
    assert f["par_mois"] == [
        {"mois": "2025-01", "accompagnements": 1},
        {"mois": "2025-03", "accompagnements": 1},
    ]


def test_nouveaux_are_new_followed_people_plus_anonymous_people_not_seen_before() -> None:
    f = figures_of(
        activite(anonyme=Anonyme(deja_accompagne=True)),  # seen before: not new
        activite(anonyme=Anonyme(deja_accompagne=False)),  # new
        activite(),  # nothing said: new
        atelier(
            anonymes=10, participants_anonymes=ParticipantsAnonymes(total=10, deja_accompagnes=4)
        ),
        nouveaux_suivis=2,  # first accompaniment ever in the period (newcomers items)
    )

    assert f["beneficiaires"]["nouveaux"] == 2 + 1 + 1 + 6


# --- Accompagnements ---------------------------------------------------------------------------------


def test_multi_choice_shares_are_of_accompagnements_and_may_exceed_100_percent() -> None:
    f = figures_of(
        activite(thematiques=("email", "sante"), materiel=("ordinateur", "telephone")),
        activite(thematiques=("email",), materiel=("telephone",)),
        atelier(anonymes=2, thematiques=("sante",), materiel=("aucun",)),
    )

    themes = rows(f["thematiques"])
    assert themes == {"email": (2, 50.0), "sante": (3, 75.0)}
    assert sum(p for _, p in themes.values()) > 100
    assert rows(f["materiel"]) == {
        "ordinateur": (1, 25.0),
        "telephone": (2, 50.0),
        "aucun": (2, 50.0),
    }


def test_a_slug_listed_twice_counts_once() -> None:
    _, combo = contribution(activite(thematiques=("email", "email")))

    assert combo.counters["th:email"] == 1


def test_durations_fall_in_the_four_bands_and_an_atelier_counts_its_participants() -> None:
    f = figures_of(
        activite(duree=1),
        activite(duree=29),
        activite(duree=30),
        activite(duree=59),
        activite(duree=60),
        activite(duree=119),
        activite(duree=120),
        atelier(anonymes=3, duree=1439),
    )

    assert [(i["cle"], i["nombre"]) for i in f["durees"]] == [
        ("moins_30", 2),
        ("30_60", 2),
        ("60_120", 2),
        ("120_plus", 4),
    ]
    assert [i["pourcentage"] for i in f["durees"]] == [20.0, 20.0, 20.0, 40.0]


def test_lieu_and_commune_of_the_place_follow_the_canal() -> None:
    f = figures_of(
        activite(canal="lieu_activite", lieu_id="L1", commune_lieu="69383"),
        activite(canal="lieu_activite", lieu_id="L1", commune_lieu="69383"),
        atelier(anonymes=4, canal="lieu_activite", lieu_id="L2", commune_lieu="75056"),
        activite(canal="domicile", commune_insee="13055"),
        activite(canal="autre", commune_insee="69383"),
        activite(canal="a_distance"),  # no place at all
    )

    assert rows(f["lieux"]) == {"L2": (4, 66.7), "L1": (2, 33.3)}
    assert [i["libelle"] for i in f["lieux"]] == ["Mairie", "Médiathèque"]
    assert rows(f["communes"]) == {"75056": (4, 50.0), "69383": (3, 37.5), "13055": (1, 12.5)}
    assert rows(f["canaux"]) == {
        "lieu_activite": (6, 66.7),
        "domicile": (1, 11.1),
        "autre": (1, 11.1),
        "a_distance": (1, 11.1),
    }


def test_autonomy_without_an_answer_is_non_renseigne_and_ateliers_have_none() -> None:
    f = figures_of(
        activite(autonomie="autonome"),
        activite(autonomie="autonome"),
        activite(),
        atelier(anonymes=8),
    )

    assert rows(f["autonomie"]) == {"autonome": (2, 66.7), "non_renseigne": (1, 33.3)}
    assert f["autonomie"][-1]["libelle"] == "Non renseigné"


def test_orientations_count_the_structure_only_when_oriented() -> None:
    f = figures_of(
        activite(oriente=True, structure_redirection="aide_sociale"),
        activite(oriente=False, structure_redirection="aide_sociale"),  # cleared by normalised()
    )

    assert rows(f["redirections"]) == {"aide_sociale": (1, 100.0)}


# --- Bénéficiaires -----------------------------------------------------------------------------------


def test_an_ateliers_breakdown_remainder_is_non_communique() -> None:
    pa = ParticipantsAnonymes(
        total=10,
        genres={"feminin": 4, "masculin": 3},
        tranches_age={"18_24": 5},
        statuts={},
    )
    f = figures_of(atelier(participants_anonymes=pa, suivis=("b1",)))

    assert rows(f["genres"]) == {
        "feminin": (4, 36.4),
        "masculin": (3, 27.3),
        "non_communique": (4, 36.3),  # 3 unknown anonymous + b1 whose snapshot has no genre
    }
    assert rows(f["tranches_age"]) == {"18_24": (5, 45.5), "non_communique": (6, 54.5)}
    assert rows(f["statuts"]) == {"non_communique": (11, 100.0)}
    assert rows(f["communes_residence"]) == {"non_communique": (11, 100.0)}


def test_followed_people_count_with_the_snapshot_taken_when_the_activity_was_saved() -> None:
    person = Personne("b1", genre="feminin", tranche_age="25_39", statut="en_emploi")
    f = figures_of(
        activite(beneficiaire_id="b1", personnes=[person]),
        activite(anonyme=Anonyme(genre="masculin", commune_insee="69383")),
    )

    assert rows(f["genres"]) == {"feminin": (1, 50.0), "masculin": (1, 50.0)}
    assert rows(f["tranches_age"]) == {"25_39": (1, 50.0), "non_communique": (1, 50.0)}
    assert rows(f["communes_residence"]) == {"69383": (1, 50.0), "non_communique": (1, 50.0)}


# --- percentages -----------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=25))
def test_largest_remainder_adds_up_to_exactly_100(counts: list[int]) -> None:
    percents = largest_remainder(counts)

    assert len(percents) == len(counts)
    if sum(counts) == 0:
        assert percents == [0.0] * len(counts)
        return
    assert sum(Decimal(str(p)) for p in percents) == Decimal("100.0")
    for c, p in zip(counts, percents, strict=True):
        exact = Decimal(c) * 100 / Decimal(sum(counts))
        assert abs(Decimal(str(p)) - exact) < Decimal("0.1")  # at most one tenth off
        assert p == round(p, 1)


def test_largest_remainder_hands_the_missing_tenth_to_the_largest_remainder() -> None:
    assert largest_remainder([1, 1, 1]) == [33.4, 33.3, 33.3]
    assert largest_remainder([2, 1]) == [66.7, 33.3]
    assert largest_remainder([0, 5]) == [0.0, 100.0]


def test_all_counts_zero_gives_all_zero_percent() -> None:
    items = distribution(Counter(), "ca", vocab_label(vocab.CANAUX), vocab.CANAUX)

    assert [(i["cle"], i["nombre"], i["pourcentage"]) for i in items] == [
        ("lieu_activite", 0, 0.0),
        ("autre", 0, 0.0),
        ("domicile", 0, 0.0),
        ("a_distance", 0, 0.0),
    ]
    f = figures_of()
    assert f["accompagnements"]["total"] == 0
    assert all(i["pourcentage"] == 0.0 for i in f["thematiques"])


def test_single_choice_figures_of_any_dataset_add_up_to_100() -> None:
    f = figures_of(
        activite(duree=15, canal="domicile", commune_insee="13055"),
        activite(duree=45),
        atelier(anonymes=1, duree=90),
    )

    for key in ("canaux", "durees", "genres", "tranches_age", "statuts", "autonomie"):
        assert sum(Decimal(str(i["pourcentage"])) for i in f[key]) == Decimal("100.0"), key


# --- filters -----------------------------------------------------------------------------------------


def test_selection_filters_by_type_canal_and_lieu() -> None:
    data = [
        activite("individuel", canal="lieu_activite", lieu_id="L1", commune_lieu="69383"),
        activite("individuel", canal="domicile", commune_insee="13055"),
        activite(
            "demarche",
            canal="lieu_activite",
            lieu_id="L2",
            thematiques_demarche=("logement",),
        ),
        atelier(anonymes=4, canal="lieu_activite", lieu_id="L1"),
    ]

    assert combo_of(*data, selection=Selection(type="individuel")).counters["n"] == 2
    assert combo_of(*data, selection=Selection(canal="lieu_activite")).counters["n"] == 6
    assert combo_of(*data, selection=Selection(lieu="L1")).counters["n"] == 5
    assert (
        combo_of(*data, selection=Selection("collectif", "lieu_activite", "L1")).counters["n"] == 4
    )
    assert combo_of(*data, selection=Selection(type="demarche", lieu="L1")).counters["n"] == 0
    assert figures_of(*data, canal="domicile")["accompagnements"]["total"] == 1


def test_a_bucket_survives_its_storage_round_trip_and_drops_emptied_combinations() -> None:
    bucket = bucket_of(
        [activite(beneficiaire_id="b1", personnes=[Personne("b1")]), atelier(("b2",))]
    )
    bucket["x|y|"] = Combo()  # a combination whose activities all left

    stored = bucket_to_map(bucket)

    assert "x|y|" not in stored
    assert bucket_to_map(bucket_from_map(stored)) == stored


# --- a small dataset counted by hand -------------------------------------------------------------------


def test_a_seeded_dataset_gives_exactly_the_figures_counted_by_hand() -> None:
    marie = Personne("b1", genre="feminin", tranche_age="60_69", statut="retraite")
    data = [
        # January: 2 individuels at L1 (one with Marie), 1 démarche at home
        activite(
            day=date(2025, 1, 6),
            duree=45,
            canal="lieu_activite",
            lieu_id="L1",
            commune_lieu="69383",
            thematiques=("email", "navigation_sur_internet"),
            materiel=("ordinateur",),
            beneficiaire_id="b1",
            personnes=[marie],
            autonomie="partiellement_autonome",
        ),
        activite(
            day=date(2025, 1, 20),
            duree=30,
            canal="lieu_activite",
            lieu_id="L1",
            commune_lieu="69383",
            thematiques=("email",),
            materiel=("telephone",),
            anonyme=Anonyme(genre="masculin", tranche_age="18_24", deja_accompagne=True),
        ),
        activite(
            "demarche",
            day=date(2025, 1, 28),
            duree=60,
            canal="domicile",
            commune_insee="13055",
            thematiques_demarche=("argent_impots",),
            oriente=True,
            structure_redirection="aide_sociale",
            autonomie="entierement_accompagne",
        ),
        # February: an atelier at L2 with Marie and 5 anonymous (2 women, 1 already seen)
        atelier(
            suivis=("b1",),
            day=date(2025, 2, 11),
            duree=120,
            canal="lieu_activite",
            lieu_id="L2",
            commune_lieu="75056",
            thematiques=("securite_numerique",),
            participants_anonymes=ParticipantsAnonymes(
                total=5, deja_accompagnes=1, genres={"feminin": 2}
            ),
            personnes=[marie],
        ),
    ]

    f = figures_of(*data, nouveaux_suivis=1)

    assert f["accompagnements"] == {"total": 9, "individuel": 2, "demarche": 1, "collectif": 6}
    assert f["ateliers"] == 1
    assert f["beneficiaires"] == {"total": 8, "suivis": 1, "anonymes": 7, "nouveaux": 1 + 1 + 4}
    assert f["par_mois"] == [
        {"mois": "2025-01", "accompagnements": 3},
        {"mois": "2025-02", "accompagnements": 6},
    ]
    assert rows(f["thematiques"]) == {
        "navigation_sur_internet": (1, 11.1),
        "email": (2, 22.2),
        "securite_numerique": (6, 66.7),
    }
    assert rows(f["thematiques_demarche"]) == {"argent_impots": (1, 11.1)}
    assert rows(f["materiel"]) == {"ordinateur": (1, 11.1), "telephone": (1, 11.1)}
    assert rows(f["canaux"]) == {"lieu_activite": (8, 88.9), "domicile": (1, 11.1)}
    assert rows(f["durees"]) == {"30_60": (2, 22.2), "60_120": (1, 11.1), "120_plus": (6, 66.7)}
    assert rows(f["lieux"]) == {"L2": (6, 75.0), "L1": (2, 25.0)}
    assert rows(f["communes"]) == {"75056": (6, 66.7), "69383": (2, 22.2), "13055": (1, 11.1)}
    assert rows(f["autonomie"]) == {
        "entierement_accompagne": (1, 33.4),  # ties: the first of the scale gets the tenth
        "partiellement_autonome": (1, 33.3),
        "non_renseigne": (1, 33.3),
    }
    assert rows(f["redirections"]) == {"aide_sociale": (1, 100.0)}
    # people: Marie twice (feminin, 60_69, retraite), the anonymous man, the anonymous démarche
    # person (nothing known), 5 atelier anonymous (2 women, 3 unknown)
    assert rows(f["genres"]) == {
        "feminin": (4, 44.5),
        "masculin": (1, 11.1),
        "non_communique": (4, 44.4),
    }
    assert rows(f["tranches_age"]) == {
        "18_24": (1, 11.1),
        "60_69": (2, 22.2),
        "non_communique": (6, 66.7),
    }
    assert rows(f["statuts"]) == {"retraite": (2, 22.2), "non_communique": (7, 77.8)}
    assert rows(f["communes_residence"]) == {"non_communique": (9, 100.0)}


# --- structures ----------------------------------------------------------------------------------


def test_a_structure_bucket_adds_its_mediators_up_without_the_lieu_in_its_keys() -> None:
    from chalicelib.stats.aggregation import structure_bucket

    alice = {
        "individuel|lieu_activite|L1": Combo(Counter({"a": 2, "n": 2, "li:L1": 2}), {"p1"}),
        "individuel|lieu_activite|L2": Combo(Counter({"a": 1, "n": 1, "li:L2": 1}), {"p2"}),
    }
    bob = {"individuel|lieu_activite|L9": Combo(Counter({"a": 1, "n": 1, "li:L9": 1}), {"p9"})}
    collectif = {"collectif|a_distance|": Combo(Counter({"a": 1, "n": 4, "an": 3}), {"p3"})}

    merged = structure_bucket([alice, bob, collectif])

    assert set(merged) == {"individuel|lieu_activite|", "collectif|a_distance|"}
    individuel = merged["individuel|lieu_activite|"]
    assert individuel.counters == Counter({"a": 4, "n": 4, "li:L1": 2, "li:L2": 1, "li:L9": 1})
    assert individuel.suivis == {"p1", "p2", "p9"}
    assert alice["individuel|lieu_activite|L1"].suivis == {"p1"}  # the members' are untouched


def test_people_too_many_for_one_item_spill_into_parts_that_add_up_to_them() -> None:
    from chalicelib.store import stats

    people = [f"p{n:025d}" for n in range(40)]  # 26 characters, like the real ids
    raw = {"a|b|": {"c": "a=40 n=40", "s": " ".join(people[:25])}, "c|d|": {"c": "a=1", "s": ""}}
    raw["e|f|"] = {"c": "a=15", "s": " ".join(people[25:])}

    assert stats.spill(raw) == (raw, [])  # fits: stored as it is
    limit = stats.PART_CHARS
    try:
        stats.PART_CHARS = 27 * 7
        main, parts = stats.spill(raw)
    finally:
        stats.PART_CHARS = limit

    assert {k: v["c"] for k, v in main.items()} == {k: v["c"] for k, v in raw.items()}
    assert all(v["s"] == "" for v in main.values())
    assert len(parts) == 6  # 40 people, 7 a part
    assert all(sum(len(s) + 1 for s in part.values()) <= 27 * 7 + 1 for part in parts)
    gathered: dict[str, list[str]] = {}
    for part in parts:
        for key, ids in part.items():
            gathered.setdefault(key, []).extend(ids.split())
    assert gathered == {"a|b|": people[:25], "e|f|": people[25:]}


def test_an_atelier_counts_the_autonomy_noted_for_each_followed_participant() -> None:
    """Given an atelier of three followed people, two with a level, and an individuel without
    one, then the autonomy counters have the two levels and one « non renseigné »: the
    participants without a level and the anonymous ones are not counted."""
    group = atelier(
        ("b1", "b2", "b3"),
        anonymes=4,
        autonomies={"b1": "autonome", "b2": "partiellement_autonome"},
    )
    alone = activite(thematiques=("email",))

    counters = combo_of(group, alone).counters

    assert {k: v for k, v in counters.items() if k.startswith("au:")} == {
        "au:autonome": 1,
        "au:partiellement_autonome": 1,
        "au:non_renseigne": 1,
    }
