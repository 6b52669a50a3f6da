"""The columns of the export files (SPEC §6), in order, and how each value becomes a cell.

Pure Python. A row is a tuple of typed values, one per column: `str` (text), `int`, `date`,
`datetime` (naive, Europe/Paris wall time: spreadsheets know no time zones) or None (empty).
The writers decide how each type is written (real dates in xlsx, ISO text in csv…).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain import vocab
from chalicelib.domain.activites import Activite, Filtres, ParticipantsAnonymes, Personne
from chalicelib.domain.beneficiaires import Beneficiaire, format_phone
from chalicelib.domain.exports import PARIS

TEXT, INT, DATE, DATETIME = "text", "int", "date", "datetime"


@dataclass(frozen=True)
class Column:
    titre: str
    kind: str = TEXT
    width: int = 20  # characters, what a reader needs without resizing


class CommuneLike(Protocol):
    @property
    def nom(self) -> str: ...
    @property
    def codes_postaux(self) -> tuple[str, ...]: ...
    @property
    def libelle(self) -> str: ...


class LieuLike(Protocol):
    @property
    def nom(self) -> str: ...
    @property
    def commune_insee(self) -> str: ...


# --- activities --------------------------------------------------------------------------------

ID = Column("ID", width=28)
MEDIATEUR = Column("Médiateur", width=24)
BENEFICIAIRE = Column("Bénéficiaire", width=28)
NOTES = Column("Notes", width=60)

_ACTIVITY_COLUMNS = (
    ID,
    MEDIATEUR,  # structure exports only
    Column("Date", DATE, 12),
    Column("Type", width=30),
    Column("Nombre de participants", INT, 12),
    BENEFICIAIRE,  # the mediator's own export only
    Column("Canal", width=16),
    Column("Lieu d'activité", width=28),
    Column("Commune du lieu", width=24),
    Column("Code postal", width=11),
    Column("Code INSEE", width=11),
    Column("Durée (min)", INT, 11),
    Column("Titre de l'atelier", width=30),
    Column("Niveau de l'atelier", width=14),
    Column("Matériel", width=24),
    Column("Thématiques de médiation numérique", width=40),
    Column("Thématiques de la démarche", width=36),
    Column("Nom de la démarche", width=28),
    Column("Démarche finalisée", width=30),
    Column("Autonomie", width=28),
    Column("Orienté", width=9),
    Column("Structure de redirection", width=36),
    Column("Partenaire", width=24),
    Column("Poursuite", width=28),
    Column("Genre", width=20),
    Column("Tranche d'âge", width=22),
    Column("Statut", width=22),
    Column("Commune de résidence", width=26),
    NOTES,  # the mediator's own export only
    Column("Enregistrée le", DATETIME, 17),
    Column("Modifiée le", DATETIME, 17),
)


def activity_columns(structure: bool) -> tuple[Column, ...]:
    """A mediator's own export: no "Médiateur". A structure export: "Médiateur" (second, after
    the ID), and never the beneficiaries' names nor the notes (SPEC §6, §9)."""
    hidden = {BENEFICIAIRE, NOTES} if structure else {MEDIATEUR}
    return tuple(c for c in _ACTIVITY_COLUMNS if c not in hidden)


@dataclass(frozen=True)
class Referentiel:
    """What rows need from outside the activity: the lieux (by id, archived ones too), the
    communes reference and the partners' names."""

    commune: Callable[[str], CommuneLike | None]
    lieux: Mapping[str, LieuLike] = field(default_factory=dict)
    partenaires: Mapping[str, str] = field(default_factory=dict)


def local_time(value: datetime | None) -> datetime | None:
    """Europe/Paris wall time without tzinfo (what spreadsheets display)."""
    if value is None:
        return None
    return value.astimezone(PARIS).replace(tzinfo=None, microsecond=0)


def labels(vocabulary: vocab.Vocabulary, slugs: Iterable[str]) -> str | None:
    found = [vocabulary.label(s) if s in vocabulary else s for s in slugs]
    return ", ".join(found) or None


def label(vocabulary: vocab.Vocabulary, slug: str | None) -> str | None:
    if not slug:
        return None
    return vocabulary.label(slug) if slug in vocabulary else slug


def _oui_non(value: bool | None) -> str | None:
    return None if value is None else ("Oui" if value else "Non")


def _lieu_cells(a: Activite, ref: Referentiel) -> dict[str, Any]:
    d = a.data
    lieu = ref.lieux.get(d.lieu_id) if d.lieu_id else None
    if d.canal == "lieu_activite":
        insee = a.commune_lieu or (lieu.commune_insee if lieu else None)
    else:
        insee = d.commune_insee
    commune = ref.commune(insee) if insee else None
    return {
        "Lieu d'activité": lieu.nom if lieu else None,
        "Commune du lieu": commune.nom if commune else None,
        "Code postal": commune.codes_postaux[0] if commune and commune.codes_postaux else None,
        "Code INSEE": insee,
    }


def _breakdown(vocabulary: vocab.Vocabulary, counts: Counter[str], total: int) -> str | None:
    """ "Femme : 3, Homme : 2, Non communiqué : 1": the remainder up to `total` is
    "non communiqué" (SPEC §3.5)."""
    missing = total - sum(counts.values())
    if missing > 0:
        counts["non_communique"] += missing
    parts = [
        f"{vocabulary.label(slug)} : {counts[slug]}" for slug in vocabulary if counts.get(slug)
    ]
    parts += [f"{slug} : {n}" for slug, n in counts.items() if n and slug not in vocabulary]
    return ", ".join(parts) or None


def _personne(a: Activite) -> Personne | None:
    wanted = a.data.beneficiaire_id
    return next((p for p in a.personnes if p.id == wanted), None) if wanted else None


def _commune_label(ref: Referentiel, insee: str | None) -> str | None:
    if not insee:
        return None
    commune = ref.commune(insee)
    return commune.libelle if commune else insee


def _one_person_cells(a: Activite, ref: Referentiel) -> dict[str, Any]:
    """Individuel / démarche: the linked person's details as they were that day, or the
    anonymous details."""
    source: Any = _personne(a) if a.data.beneficiaire_id else a.data.anonyme
    if source is None:
        return {}
    return {
        "Genre": label(vocab.GENRES, source.genre),
        "Tranche d'âge": label(vocab.TRANCHES_AGE, source.tranche_age),
        "Statut": label(vocab.STATUTS, source.statut),
        "Commune de résidence": _commune_label(ref, source.commune_insee),
    }


def _group_cells(a: Activite, ref: Referentiel) -> dict[str, Any]:
    """Atelier: counts of the followed participants (as they were that day) plus the anonymous
    breakdowns."""
    pa = a.data.participants_anonymes or ParticipantsAnonymes()
    total = a.participants
    people = a.personnes

    def counted(attr: str, anonymous: Mapping[str, int]) -> Counter[str]:
        counts: Counter[str] = Counter(getattr(p, attr) or "non_communique" for p in people)
        counts.update({k: v for k, v in anonymous.items() if v})
        return counts

    communes = Counter(_commune_label(ref, p.commune_insee) for p in people if p.commune_insee)
    return {
        "Genre": _breakdown(vocab.GENRES, counted("genre", pa.genres), total),
        "Tranche d'âge": _breakdown(
            vocab.TRANCHES_AGE, counted("tranche_age", pa.tranches_age), total
        ),
        "Statut": _breakdown(vocab.STATUTS, counted("statut", pa.statuts), total),
        "Commune de résidence": ", ".join(f"{c} : {n}" for c, n in communes.items() if c) or None,
    }


def _type_cells(a: Activite, ref: Referentiel) -> dict[str, Any]:
    d = a.data
    partenaire = ref.partenaires.get(d.partenaire_id, d.partenaire_id) if d.partenaire_id else None
    return {
        "Titre de l'atelier": d.titre_atelier,
        "Niveau de l'atelier": label(vocab.NIVEAUX, d.niveau),
        "Thématiques de la démarche": labels(vocab.THEMATIQUES_DEMARCHE, d.thematiques_demarche),
        "Nom de la démarche": d.nom_demarche,
        "Démarche finalisée": label(vocab.FINALISATION, d.finalisation),
        "Autonomie": _autonomie(d),
        "Orienté": _oui_non(d.oriente),
        "Structure de redirection": label(vocab.STRUCTURES_REDIRECTION, d.structure_redirection),
        "Partenaire": partenaire,
        "Poursuite": label(vocab.POURSUITE, d.poursuite),
    }


def _autonomie(d: Any) -> str | None:
    """The person's level; for an atelier, how many participants reached each level (counts,
    never names: the structure's export has none)."""
    if d.type != "collectif":
        return label(vocab.AUTONOMIE, d.autonomie)
    levels = Counter(d.autonomies.get(i) for i in d.participants_ids if d.autonomies.get(i))
    return (
        ", ".join(
            f"{vocab.AUTONOMIE.label(slug)} : {levels[slug]}"
            for slug in vocab.AUTONOMIE
            if levels[slug]
        )
        or None
    )


def _people_names(a: Activite, personnes: Mapping[str, str]) -> str | None:
    names = [personnes.get(i, "") for i in a.data.beneficiaires_lies()]
    return ", ".join(n for n in names if n) or None


def activity_row(
    a: Activite,
    ref: Referentiel,
    columns: tuple[Column, ...],
    personnes: Mapping[str, str] | None = None,
    mediateur: str | None = None,
) -> tuple[Any, ...]:
    """One activity as the values of `columns`. `personnes` (id → name) is only given for a
    mediator's own export; `mediateur` only for a structure export."""
    d = a.data
    people = _group_cells(a, ref) if a.type == "collectif" else _one_person_cells(a, ref)
    cells: dict[str, Any] = {
        "ID": a.id,
        "Médiateur": mediateur,
        "Date": a.date,
        "Type": label(vocab.TYPES_ACTIVITE, a.type),
        "Nombre de participants": a.participants,
        "Bénéficiaire": _people_names(a, personnes) if personnes is not None else None,
        "Canal": label(vocab.CANAUX, d.canal),
        "Durée (min)": d.duree,
        "Matériel": labels(vocab.MATERIEL, d.materiel),
        "Thématiques de médiation numérique": labels(vocab.THEMATIQUES, d.thematiques),
        "Notes": (d.notes or None) if personnes is not None else None,
        "Enregistrée le": local_time(a.cree_le),
        "Modifiée le": local_time(a.modifie_le),
        **_lieu_cells(a, ref),
        **_type_cells(a, ref),
        **people,
    }
    return tuple(cells.get(c.titre) for c in columns)


# --- beneficiaries -----------------------------------------------------------------------------

BENEFICIARY_COLUMNS = (
    Column("Nom", width=22),
    Column("Prénom", width=20),
    Column("Année de naissance", INT, 12),
    Column("Commune", width=24),
    Column("Code postal", width=11),
    Column("Code INSEE", width=11),
    Column("Téléphone", width=18),
    Column("E-mail", width=30),
    Column("Genre", width=16),
    Column("Tranche d'âge", width=16),
    Column("Statut", width=22),
    Column("Nombre d'accompagnements", INT, 14),
    Column("Premier accompagnement", DATE, 14),
    Column("Dernier accompagnement", DATE, 14),
    Column("Notes", width=60),
)


def beneficiary_row(b: Beneficiaire, ref: Referentiel) -> tuple[Any, ...]:
    d = b.data
    commune = ref.commune(d.commune_insee) if d.commune_insee else None
    telephone = format_phone(d.telephone) if d.telephone else None
    return (
        d.nom or None,
        d.prenom or None,
        d.annee_naissance,
        commune.nom if commune else d.commune_insee,
        commune.codes_postaux[0] if commune and commune.codes_postaux else None,
        d.commune_insee,
        telephone or ("Pas de téléphone" if d.pas_de_telephone else None),
        d.email,
        label(vocab.GENRES, d.genre),
        label(vocab.TRANCHES_AGE, d.tranche_age),
        label(vocab.STATUTS, d.statut),
        b.nombre_accompagnements,
        b.premier_accompagnement,
        b.dernier_accompagnement,
        d.notes or None,
    )


# --- the header block ---------------------------------------------------------------------------


def _jour(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _periode(filtres: Filtres) -> str | None:
    if filtres.du and filtres.au:
        return f"du {_jour(filtres.du)} au {_jour(filtres.au)}"
    if filtres.du:
        return f"depuis le {_jour(filtres.du)}"
    if filtres.au:
        return f"jusqu'au {_jour(filtres.au)}"
    return None


def _thematique(slug: str) -> str:
    for vocabulary in (vocab.THEMATIQUES, vocab.THEMATIQUES_DEMARCHE):
        if slug in vocabulary:
            return vocabulary.label(slug)
    return slug


def resume_filtres(
    filtres: Filtres, lieu: str | None = None, beneficiaire: str | None = None
) -> str:
    """The filters in one French line ("Période : du 01/01/2025 au 31/03/2025 · Type : …").
    `lieu` and `beneficiaire` are the names of the filtered lieu and person, when known."""
    parts = []
    periode = _periode(filtres)
    if periode:
        parts.append(f"Période : {periode}")
    if filtres.type:
        parts.append(f"Type : {label(vocab.TYPES_ACTIVITE, filtres.type)}")
    if filtres.canal:
        parts.append(f"Canal : {label(vocab.CANAUX, filtres.canal)}")
    if filtres.lieu:
        parts.append(f"Lieu d'activité : {lieu or 'lieu supprimé'}")
    if filtres.beneficiaire:
        parts.append(f"Bénéficiaire : {beneficiaire or 'bénéficiaire supprimé'}")
    if filtres.thematique:
        parts.append(f"Thématique : {_thematique(filtres.thematique)}")
    return " · ".join(parts) or "Aucun filtre : toutes les activités"


def resume_recherche(q: str) -> str:
    return f"Recherche : « {q} »" if q else "Aucune recherche : tous les bénéficiaires"


def quand(value: datetime) -> str:
    local = value.astimezone(PARIS)
    return f"{_jour(local.date())} à {local.strftime('%H:%M')}"


def total(kind: str, count: int) -> str:
    noun = {
        "activites": ("activité", "activités"),
        "beneficiaires": ("bénéficiaire", "bénéficiaires"),
    }
    singular, plural = noun.get(kind, ("ligne", "lignes"))
    return (
        f"{count:,}".replace(",", "\u202f") + " " + (singular if count <= 1 else plural)
    )  # "0 activité"
