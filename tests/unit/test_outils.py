"""Mes outils (SPEC §7): the order of the cards, pins, and preferences saved before a catalogue change."""

from __future__ import annotations

import pytest

from chalicelib.domain.outils import (
    CATALOGUE,
    SLUGS,
    OutilsPrefs,
    arranged,
    can_move,
    move,
    normalised_order,
    toggle_pin,
    with_order,
)

CATALOGUE_ORDER = [
    "rdv_service_public",
    "pix_orga",
    "les_bases",
    "cartographie",
    "aidants_connect",
    "abc_diag",
]


def shown(prefs: OutilsPrefs) -> list[str]:
    return [outil.slug for outil, _ in arranged(prefs)]


def pinned(prefs: OutilsPrefs) -> list[str]:
    return [outil.slug for outil, is_pinned in arranged(prefs) if is_pinned]


def test_without_preferences_the_tools_come_in_catalogue_order() -> None:
    assert shown(OutilsPrefs()) == CATALOGUE_ORDER == list(SLUGS)
    assert pinned(OutilsPrefs()) == []


def test_every_tool_has_a_name_a_description_and_an_https_link() -> None:
    for outil in CATALOGUE:
        assert outil.nom and outil.description.endswith(".")
        assert outil.url.startswith("https://"), outil.slug


def test_moving_a_tool_up_swaps_it_with_the_one_above() -> None:
    prefs = move(OutilsPrefs(), "les_bases", "monter")

    assert shown(prefs)[:3] == ["rdv_service_public", "les_bases", "pix_orga"]


def test_moving_a_tool_down_swaps_it_with_the_one_below() -> None:
    prefs = move(OutilsPrefs(), "rdv_service_public", "descendre")

    assert shown(prefs)[:2] == ["pix_orga", "rdv_service_public"]


def test_moves_add_up() -> None:
    prefs = OutilsPrefs()
    for _ in range(5):
        prefs = move(prefs, "abc_diag", "monter")

    assert shown(prefs) == ["abc_diag", *CATALOGUE_ORDER[:-1]]


@pytest.mark.parametrize(
    ("slug", "direction"), [("rdv_service_public", "monter"), ("abc_diag", "descendre")]
)
def test_a_tool_at_an_end_cannot_move_further(slug: str, direction: str) -> None:
    prefs = OutilsPrefs()

    assert not can_move(prefs, slug, direction)
    assert move(prefs, slug, direction) == prefs


def test_a_tool_in_the_middle_can_move_both_ways() -> None:
    assert can_move(OutilsPrefs(), "les_bases", "monter")
    assert can_move(OutilsPrefs(), "les_bases", "descendre")


@pytest.mark.parametrize(
    ("slug", "direction"),
    [("inconnu", "monter"), ("les_bases", "gauche"), ("", "descendre")],
)
def test_an_unknown_tool_or_direction_changes_nothing(slug: str, direction: str) -> None:
    prefs = OutilsPrefs(("pix_orga",), frozenset({"abc_diag"}), version=3)

    assert move(prefs, slug, direction) == prefs
    assert not can_move(prefs, slug, direction)


def test_pinning_a_tool_puts_it_first_and_marks_it() -> None:
    prefs = toggle_pin(OutilsPrefs(), "abc_diag")

    assert shown(prefs) == ["abc_diag", *CATALOGUE_ORDER[:-1]]
    assert pinned(prefs) == ["abc_diag"]


def test_pinned_tools_keep_their_relative_order() -> None:
    prefs = toggle_pin(toggle_pin(OutilsPrefs(), "abc_diag"), "pix_orga")

    assert shown(prefs)[:2] == ["pix_orga", "abc_diag"]
    assert pinned(prefs) == ["pix_orga", "abc_diag"]


def test_unpinning_puts_the_tool_back_among_the_others_where_it_was() -> None:
    prefs = toggle_pin(toggle_pin(OutilsPrefs(), "les_bases"), "les_bases")

    assert shown(prefs) == CATALOGUE_ORDER
    assert pinned(prefs) == []


def test_pinning_an_unknown_tool_changes_nothing() -> None:
    prefs = OutilsPrefs(("pix_orga",), frozenset(), version=2)

    assert toggle_pin(prefs, "inconnu") == prefs


def test_the_last_pinned_tool_cannot_move_below_the_unpinned_ones() -> None:
    prefs = toggle_pin(OutilsPrefs(), "cartographie")

    assert not can_move(prefs, "cartographie", "descendre")
    assert move(prefs, "cartographie", "descendre") == prefs


def test_the_first_unpinned_tool_cannot_move_above_the_pinned_ones() -> None:
    prefs = toggle_pin(OutilsPrefs(), "cartographie")
    first_unpinned = shown(prefs)[1]

    assert first_unpinned == "rdv_service_public"
    assert not can_move(prefs, first_unpinned, "monter")
    assert can_move(prefs, first_unpinned, "descendre")


def test_pinned_tools_move_among_themselves() -> None:
    prefs = toggle_pin(toggle_pin(OutilsPrefs(), "abc_diag"), "pix_orga")

    moved = move(prefs, "abc_diag", "monter")

    assert shown(moved)[:2] == ["abc_diag", "pix_orga"]
    assert pinned(moved) == ["abc_diag", "pix_orga"]


def test_moving_and_pinning_keep_the_saved_version() -> None:
    """The version is the optimistic lock of the saved preferences: edits must not reset it."""
    prefs = OutilsPrefs(version=7)

    assert move(prefs, "pix_orga", "monter").version == 7
    assert toggle_pin(prefs, "pix_orga").version == 7
    assert with_order(prefs, ["abc_diag"]).version == 7


def test_a_dragged_order_is_applied_as_sent() -> None:
    order = list(reversed(CATALOGUE_ORDER))

    assert shown(with_order(OutilsPrefs(), order)) == order


def test_a_partial_dragged_order_gets_the_missing_tools_at_the_end() -> None:
    prefs = with_order(OutilsPrefs(), ["abc_diag", "cartographie"])

    assert shown(prefs) == [
        "abc_diag",
        "cartographie",
        "rdv_service_public",
        "pix_orga",
        "les_bases",
        "aidants_connect",
    ]


def test_unknown_and_repeated_slugs_in_a_dragged_order_are_ignored() -> None:
    prefs = with_order(OutilsPrefs(), ["abc_diag", "<script>", "abc_diag", "pix_orga"])

    assert shown(prefs)[:3] == ["abc_diag", "pix_orga", "rdv_service_public"]
    assert sorted(shown(prefs)) == sorted(CATALOGUE_ORDER)


def test_a_dragged_order_keeps_the_pins_on_top() -> None:
    prefs = toggle_pin(OutilsPrefs(), "les_bases")

    reordered = with_order(prefs, list(reversed(CATALOGUE_ORDER)))

    assert shown(reordered)[0] == "les_bases"
    assert shown(reordered)[1:] == [s for s in reversed(CATALOGUE_ORDER) if s != "les_bases"]


def test_a_saved_order_naming_a_removed_tool_still_shows_every_current_tool() -> None:
    saved = OutilsPrefs(
        ordre=("abc_diag", "ancien_outil", "pix_orga"),
        epingles=frozenset({"ancien_outil", "pix_orga"}),
    )

    assert normalised_order(saved)[:2] == ["abc_diag", "pix_orga"]
    assert shown(saved) == [
        "pix_orga",
        "abc_diag",
        "rdv_service_public",
        "les_bases",
        "cartographie",
        "aidants_connect",
    ]
    assert pinned(saved) == ["pix_orga"]
    assert move(saved, "abc_diag", "descendre") != saved  # still usable


def test_tools_added_to_the_catalogue_after_saving_appear_at_the_end() -> None:
    saved = OutilsPrefs(ordre=("abc_diag", "pix_orga"))

    assert shown(saved)[:2] == ["abc_diag", "pix_orga"]
    assert shown(saved)[2:] == [
        "rdv_service_public",
        "les_bases",
        "cartographie",
        "aidants_connect",
    ]
