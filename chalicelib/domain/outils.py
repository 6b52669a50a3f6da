"""Mes outils (SPEC §7): the catalogue and each mediator's own order and pins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outil:
    slug: str
    nom: str
    description: str
    url: str


CATALOGUE: tuple[Outil, ...] = (
    Outil(
        "rdv_service_public",
        "RDV Service Public (ex RDV Aide Numérique)",
        "Prenez et gérez les rendez-vous de vos bénéficiaires.",
        "https://rdv.anct.gouv.fr/agents/sign_in",
    ),
    Outil(
        "pix_orga",
        "Pix Orga",
        "Suivez les compétences numériques de vos publics avec Pix.",
        "https://orga.pix.fr/connexion",
    ),
    Outil(
        "les_bases",
        "Les Bases du numérique d'intérêt général",
        "Trouvez et partagez des ressources de médiation numérique.",
        "https://lesbases.anct.gouv.fr",
    ),
    Outil(
        "cartographie",
        "Cartographie nationale des lieux d'inclusion numérique",
        "Trouvez un lieu de médiation numérique près de chez vos bénéficiaires.",
        "https://cartographie.societenumerique.gouv.fr",
    ),
    Outil(
        "aidants_connect",
        "Aidants Connect",
        "Réalisez des démarches en ligne pour le compte d'une personne, en sécurité.",
        "https://aidantsconnect.beta.gouv.fr",
    ),
    Outil(
        "abc_diag",
        "ABC Diag",
        "Évaluez rapidement les compétences numériques de base d'une personne.",
        "https://pix.fr/abc-diag",
    ),
)

SLUGS = tuple(o.slug for o in CATALOGUE)


@dataclass(frozen=True)
class OutilsPrefs:
    """A mediator's saved order (slugs) and pinned slugs. Empty = catalogue order."""

    ordre: tuple[str, ...] = ()
    epingles: frozenset[str] = frozenset()
    version: int = 0


def normalised_order(prefs: OutilsPrefs) -> list[str]:
    """Saved order, minus unknown slugs, plus tools added to the catalogue since (at the end)."""
    known = [s for s in dict.fromkeys(prefs.ordre) if s in SLUGS]
    return known + [s for s in SLUGS if s not in known]


def arranged(prefs: OutilsPrefs) -> list[tuple[Outil, bool]]:
    """Cards in display order: pinned first (keeping their relative order), then the others."""
    by_slug = {o.slug: o for o in CATALOGUE}
    order = normalised_order(prefs)
    pinned = [s for s in order if s in prefs.epingles]
    others = [s for s in order if s not in prefs.epingles]
    return [(by_slug[s], s in prefs.epingles) for s in pinned + others]


def can_move(prefs: OutilsPrefs, slug: str, direction: str) -> bool:
    return move(prefs, slug, direction) != prefs


def move(prefs: OutilsPrefs, slug: str, direction: str) -> OutilsPrefs:
    """Move one card up or down within its group (pinned or not); no-op at a group's ends."""
    displayed = [o.slug for o, _ in arranged(prefs)]
    if slug not in displayed or direction not in ("monter", "descendre"):
        return prefs
    i = displayed.index(slug)
    j = i - 1 if direction == "monter" else i + 1
    if not 0 <= j < len(displayed):
        return prefs
    if (displayed[i] in prefs.epingles) != (displayed[j] in prefs.epingles):
        return prefs  # pinned cards stay above the others

    displayed[i], displayed[j] = displayed[j], displayed[i]
    return OutilsPrefs(tuple(displayed), prefs.epingles, prefs.version)


def with_order(prefs: OutilsPrefs, order: list[str]) -> OutilsPrefs:
    """Apply a full order from drag and drop: unknown slugs ignored, missing ones appended."""
    return OutilsPrefs(
        tuple(normalised_order(OutilsPrefs(tuple(order)))), prefs.epingles, prefs.version
    )


def toggle_pin(prefs: OutilsPrefs, slug: str) -> OutilsPrefs:
    if slug not in SLUGS:
        return prefs
    pins = set(prefs.epingles)
    pins.symmetric_difference_update({slug})
    return OutilsPrefs(tuple(normalised_order(prefs)), frozenset(pins), prefs.version)
