"""Activities (comptes rendus d'activité, SPEC §3): the data, independent of forms and storage.

`ActiviteInput` is what a mediator submits (a form or a JSON body, already parsed to Python
types); `Activite` is a stored activity. Rules live in `activites_rules.py`.
Field names are the JSON/form names of SPEC §10.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

# Which fields each type carries. Fields that do not apply to a type are cleared by
# `normalised()`, so a hidden or stale value never reaches the database.
PERSON_FIELDS = (
    "beneficiaire_id",
    "anonyme",
    "autonomie",
    "oriente",
    "structure_redirection",
    "partenaire_id",
    "poursuite",
)
ONLY = MappingProxyType(
    {
        "individuel": frozenset(PERSON_FIELDS),
        "demarche": frozenset(
            (*PERSON_FIELDS, "thematiques_demarche", "nom_demarche", "finalisation")
        ),
        "collectif": frozenset(
            ("titre_atelier", "niveau", "participants_ids", "participants_anonymes", "autonomies")
        ),
    }
)
TYPE_SPECIFIC = frozenset().union(*ONLY.values())
ORIENTEE = "oriente_vers_structure"  # the démarche's finalisation « orientée vers une structure »


def _empty(name: str, default: Any) -> Any:
    """The value of a field that does not apply (dataclass defaults: no shared mutable one)."""
    if name == "participants_ids":
        return ()
    if name == "autonomies":
        return {}
    return default


@dataclass(frozen=True)
class Anonyme:
    """Optional details of an unnamed person (individuel / démarche without a beneficiary)."""

    deja_accompagne: bool | None = None
    commune_insee: str | None = None
    genre: str | None = None
    tranche_age: str | None = None
    statut: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class ParticipantsAnonymes:
    """Counts of an atelier's unnamed participants (never one row per person).

    Each breakdown sums to at most `total`; the remainder is "Non communiqué".
    """

    total: int = 0
    deja_accompagnes: int = 0
    genres: dict[str, int] = field(default_factory=dict)
    tranches_age: dict[str, int] = field(default_factory=dict)
    statuts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ActiviteInput:
    type: str
    date: date | None = None
    duree: int | None = None  # minutes
    canal: str | None = None
    lieu_id: str | None = None
    commune_insee: str | None = None
    materiel: tuple[str, ...] = ()
    thematiques: tuple[str, ...] = ()
    notes: str = ""
    confirmer_notes: bool = False
    # individuel + demarche
    beneficiaire_id: str | None = None
    anonyme: Anonyme | None = None
    autonomie: str | None = None
    oriente: bool | None = None
    structure_redirection: str | None = None
    partenaire_id: str | None = None
    poursuite: str | None = None
    # demarche
    thematiques_demarche: tuple[str, ...] = ()
    nom_demarche: str | None = None
    finalisation: str | None = None
    # collectif
    titre_atelier: str | None = None
    niveau: str | None = None
    participants_ids: tuple[str, ...] = ()
    participants_anonymes: ParticipantsAnonymes | None = None
    autonomies: dict[str, str] = field(default_factory=dict)  # followed participant -> level

    def normalised(self) -> ActiviteInput:
        """Clear what does not apply to this type and what the user's answers make moot."""
        defaults = {f.name: f.default for f in fields(ActiviteInput) if f.name in TYPE_SPECIFIC}
        changes: dict[str, Any] = {
            name: _empty(name, value)
            for name, value in defaults.items()
            if name not in ONLY.get(self.type, frozenset())
        }
        if self.canal != "lieu_activite":
            changes["lieu_id"] = None
        if self.canal not in ("domicile", "autre"):
            changes["commune_insee"] = None
        if self.type == "collectif" and isinstance(self.autonomies, dict):
            # An empty choice is no level.
            changes["autonomies"] = {p: level for p, level in self.autonomies.items() if level}
        if self.type == "demarche" and self.finalisation == ORIENTEE and self.oriente is None:
            # « Non, orientée vers une autre structure »: the person was oriented (README rules).
            changes["oriente"] = True
        if self.type != "collectif":
            if self.beneficiaire_id:
                changes["anonyme"] = None  # a linked person: their profile holds the details
            elif self.anonyme is not None and self.anonyme.is_empty():
                changes["anonyme"] = None
            if changes.get("oriente", self.oriente) is not True:
                changes["structure_redirection"] = None
                changes["partenaire_id"] = None
        return replace(self, **changes)

    @property
    def participants(self) -> int:
        """Accompagnements counted by this activity (SPEC §5 unit)."""
        if self.type != "collectif":
            return 1
        anonymes = self.participants_anonymes.total if self.participants_anonymes else 0
        return len(self.participants_ids) + anonymes

    def autonomie_de(self, beneficiaire_id: str) -> str | None:
        """The autonomy level noted for this followed person (the person of an individuel or
        a démarche, a participant of an atelier)."""
        if self.type == "collectif":
            return self.autonomies.get(beneficiaire_id)
        return self.autonomie if beneficiaire_id == self.beneficiaire_id else None

    def beneficiaires_lies(self) -> tuple[str, ...]:
        """Every followed beneficiary this activity is linked to."""
        if self.type == "collectif":
            return tuple(dict.fromkeys(self.participants_ids))
        return (self.beneficiaire_id,) if self.beneficiaire_id else ()

    def empreinte(self) -> str:
        """A digest of everything this input says (normalise it first): a request sent again
        has the same one, a form edited after going back has another (idempotency keys)."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Personne:
    """What statistics need about a followed person, as it was when the activity was saved
    (the age band at the activity's date, SPEC §3.6). Never names or contact details."""

    id: str
    genre: str | None = None
    tranche_age: str | None = None
    statut: str | None = None
    commune_insee: str | None = None


@dataclass(frozen=True)
class Instantane:
    """What the statistics need from outside the activity, frozen when it is saved."""

    personnes: tuple[Personne, ...] = ()
    commune_lieu: str | None = None


@dataclass(frozen=True)
class Activite:
    id: str
    mediateur_id: str
    data: ActiviteInput
    version: int
    cree_le: datetime
    modifie_le: datetime
    personnes: tuple[Personne, ...] = ()  # snapshots of the linked people
    commune_lieu: str | None = None  # the lieu's commune when canal = lieu_activite

    @property
    def type(self) -> str:
        return self.data.type

    @property
    def date(self) -> date:
        assert self.data.date is not None
        return self.data.date

    @property
    def participants(self) -> int:
        return self.data.participants


@dataclass(frozen=True)
class Filtres:
    """Filters of Mes activités (SPEC §2), all optional."""

    du: date | None = None
    au: date | None = None
    type: str | None = None
    canal: str | None = None
    lieu: str | None = None
    beneficiaire: str | None = None
    thematique: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class Page:
    items: list[Activite]
    cursor: str | None
