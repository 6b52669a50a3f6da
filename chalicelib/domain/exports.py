"""Export requests (SPEC §6): what is asked, where it stands, and the rules that depend on time.

Pure Python (no AWS, no clock: `now` is a parameter). Stored statuses move
`en_attente` → `en_cours` → `pret` | `echec`; `expire` is never stored, it is what a request older
than the retention period shows (the file is gone, or about to be).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.activites import Filtres
from chalicelib.domain.vocab import Vocabulary

PARIS = ZoneInfo("Europe/Paris")

KINDS = Vocabulary(
    "export_kind",
    (
        ("activites", "Activités"),
        ("beneficiaires", "Bénéficiaires"),
        ("statistiques", "Statistiques"),
    ),
)
STATISTIQUES = "statistiques"
FORMATS = Vocabulary("export_format", (("xlsx", "Excel (.xlsx)"), ("csv", "CSV (.csv)")))
SCOPES = Vocabulary(
    "export_scope",
    (("mediateur", "Mes activités"), ("structure", "Les activités de toute ma structure")),
)

EN_ATTENTE = "en_attente"
EN_COURS = "en_cours"
PRET = "pret"
ECHEC = "echec"
EXPIRE = "expire"  # derived, never stored
STATUTS = Vocabulary(
    "export_statut",
    (
        (EN_ATTENTE, "En attente"),
        (EN_COURS, "En cours"),
        (PRET, "Prêt"),
        (ECHEC, "Échec"),
        (EXPIRE, "Expiré"),
    ),
)
PENDING = frozenset({EN_ATTENTE, EN_COURS})

# Files are deleted by the bucket's lifecycle rule after 7 days (S3 rounds to the next midnight
# UTC, so an object may survive a little longer): the app refuses them at 7 days exactly.
RETENTION = timedelta(days=7)
# The request itself stays listed (as "Expiré") a while longer, then DynamoDB's TTL removes it.
ITEM_TTL = timedelta(days=30)
# Attempts of the worker before a request is marked `echec` (the queue's maxReceiveCount is the
# same: a message that kept crashing the worker ends in the dead-letter queue).
MAX_ATTEMPTS = 3
# A request neither ready nor failed this long after it was made is dead (a worker killed on its
# last attempt cannot say so): it shows as failed and the page stops refreshing.
STALE_AFTER = timedelta(hours=2)
MAX_PENDING = 3  # per requester: more waits until one is ready

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

# --- French reasons shown to the user (never an exception message) -----------------------------

RAISON_ECHEC = (
    "La préparation du fichier a échoué après plusieurs tentatives. Relancez l'export ; si le"
    " problème persiste, contactez l'assistance."
)
RAISON_FILE_INDISPONIBLE = (
    "Le service d'export est momentanément indisponible. Relancez l'export dans quelques minutes."
)
RAISON_TROP_LONG = "La préparation a pris trop de temps. Relancez l'export."


@dataclass(frozen=True)
class ExportRequest:
    """What a user asks for: activities with the list's filters, beneficiaries with the current
    search, or the statistics workbook of a period and filters (type, canal, lieu). A structure's
    export (`scope="structure"`, gestionnaires only) covers every mediator of the structure,
    without beneficiary names or notes."""

    kind: str
    format: str = "xlsx"
    scope: str = "mediateur"
    filtres: Filtres = field(default_factory=Filtres)
    periode: str | None = None  # statistics: a preset, resolved into du/au when asked
    q: str = ""


@dataclass(frozen=True)
class Export:
    id: str
    scope: str  # mediateur | structure
    owner: str  # the requester's id (mediateur) or the SIRET (structure)
    kind: str
    format: str
    mediateur_id: str  # who asked
    demandeur: str  # their name when they asked (the file's header block)
    cle: str  # object key in the bucket
    cree_le: datetime
    statut: str = EN_ATTENTE
    siret: str | None = None
    filtres: Filtres = field(default_factory=Filtres)
    q: str = ""
    tentatives: int = 0
    lignes: int = 0  # rows written so far (progress), then the total
    taille: int | None = None  # bytes, once ready
    raison: str | None = None
    demarre_le: datetime | None = None
    termine_le: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return now - self.cree_le >= RETENTION

    def statut_affiche(self, now: datetime) -> str:
        if self.expired(now):
            return EXPIRE
        if self.statut in PENDING and now - self.cree_le >= STALE_AFTER:
            return ECHEC
        return self.statut

    def raison_affichee(self, now: datetime) -> str | None:
        if self.statut in PENDING and self.statut_affiche(now) == ECHEC:
            return RAISON_TROP_LONG
        return self.raison

    def pending(self, now: datetime) -> bool:
        return self.statut_affiche(now) in PENDING

    def expire_le(self) -> datetime:
        return self.cree_le + RETENTION

    @property
    def jour(self) -> date:
        """The day of the request in metropolitan France (the file name's date)."""
        return self.cree_le.astimezone(PARIS).date()

    @property
    def filename(self) -> str:
        return f"coop_{self.kind}_{self.jour.isoformat()}.{self.format}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def message(self) -> str:
        """The queue message: only keys, the request itself is read from the store."""
        return json.dumps({"v": 1, "scope": self.scope, "owner": self.owner, "id": self.id})


@dataclass(frozen=True)
class MessageKey:
    scope: str
    owner: str
    id: str


def parse_message(body: Any) -> MessageKey | None:
    """The keys of a queue message; None for anything this version did not send (poison)."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    scope, owner, export_id = data.get("scope"), data.get("owner"), data.get("id")
    if scope not in SCOPES or not all(isinstance(v, str) and v for v in (owner, export_id)):
        return None
    return MessageKey(str(scope), str(owner), str(export_id))


def object_key(scope: str, owner: str, export_id: str, token: str, format_: str) -> str:
    """`mediateurs/<id>/…` or `structures/<siret>/…`, then the export id and a random token:
    keys are never guessable, and one prefix per owner keeps the bucket easy to audit."""
    folder = "structures" if scope == "structure" else "mediateurs"
    return f"{folder}/{owner}/{export_id}-{token}.{format_}"


def filtres_to_map(filtres: Filtres) -> dict[str, str]:
    values = {
        "du": filtres.du.isoformat() if filtres.du else None,
        "au": filtres.au.isoformat() if filtres.au else None,
        "type": filtres.type,
        "canal": filtres.canal,
        "lieu": filtres.lieu,
        "beneficiaire": filtres.beneficiaire,
        "thematique": filtres.thematique,
    }
    return {k: v for k, v in values.items() if v}


def filtres_from_map(values: dict[str, Any]) -> Filtres:
    def day(name: str) -> date | None:
        raw = values.get(name)
        return date.fromisoformat(raw) if isinstance(raw, str) and raw else None

    def text(name: str) -> str | None:
        raw = values.get(name)
        return str(raw) if raw else None

    return Filtres(
        du=day("du"),
        au=day("au"),
        type=text("type"),
        canal=text("canal"),
        lieu=text("lieu"),
        beneficiaire=text("beneficiaire"),
        thematique=text("thematique"),
    )
