"""Share links of the statistics (SPEC §5 « Partager »): what a link is and the rules that
depend on time. Pure Python: the clock and the random token come from the caller.

- A link shows read-only figures for the filters chosen when it was made: a period preset stays a
  preset (« Cette année » follows the date), a du/au range stays that range.
- Its owner is a mediator (their own statistics) or a structure (SIRET; every gestionnaire of it
  lists and revokes it). The mediator who made it is kept (`createur`).
- The token is ≥ 128 random bits (we draw 256); only its SHA-256 is stored, so a leaked table
  hands out no working link. The URL is shown once, when the link is made.
- An optional expiry date: from that day on (Paris time) the link answers 404, like a revoked one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.dates import DEFAULT_PRESET
from chalicelib.domain.vocab import Vocabulary

MEDIATEUR = "mediateur"
STRUCTURE = "structure"
PORTEES = Vocabulary(
    "partage_portee",
    ((MEDIATEUR, "Mes statistiques"), (STRUCTURE, "Les statistiques de ma structure")),
)

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits, 43 characters
TOKEN_LENGTH = 43
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

MAX_ACTIFS = 50  # live links per owner: enough for every funder, bounded for the list
EXPIRATION_MAX = timedelta(days=366)  # a date further than that: leave it empty instead
OUVERTURES_PAR_MINUTE = 60  # per link: a page read by people, not a feed for a script
FENETRE_SECONDES = 60
# An expired link stays listed (« Expiré ») this long, then DynamoDB's TTL removes it.
CONSERVATION_APRES_EXPIRATION = timedelta(days=30)

EXPIRATION_PASSEE = "La date d'expiration doit être après aujourd'hui."
EXPIRATION_LOINTAINE = (
    "La date d'expiration doit être dans moins d'un an. Laissez le champ vide pour un lien sans"
    " date d'expiration : vous pourrez le révoquer à tout moment."
)
TROP_DE_LIENS = (
    "Vous avez déjà {n} liens de partage actifs : révoquez-en un avant d'en créer un autre."
)
LIEU_STRUCTURE = (
    "Le filtre par lieu d'activité n'existe pas pour la structure : chaque lieu est celui d'un"
    " médiateur."
)


def digest(jeton: str) -> str:
    """What is stored of a token (hex SHA-256)."""
    return hashlib.sha256(jeton.encode()).hexdigest()


def looks_like_token(jeton: str) -> bool:
    """Cheap shape check so that garbage in a URL never reaches the database."""
    return len(jeton) == TOKEN_LENGTH and all(c in _TOKEN_CHARS for c in jeton)


@dataclass(frozen=True)
class PartageFiltres:
    """The statistics request a link answers: a preset (live) or a du/au range, and filters."""

    periode: str | None = None  # a preset of `domain.dates.PRESETS`; None with du/au
    du: date | None = None
    au: date | None = None
    type: str | None = None
    canal: str | None = None
    lieu: str | None = None

    @property
    def preset(self) -> str | None:
        """The preset to compute the period with (None: the du/au range)."""
        if self.du or self.au:
            return None
        return self.periode or DEFAULT_PRESET

    def to_map(self) -> dict[str, str]:
        values = {
            "periode": self.preset or "",
            "du": self.du.isoformat() if self.du else "",
            "au": self.au.isoformat() if self.au else "",
            "type": self.type or "",
            "canal": self.canal or "",
            "lieu": self.lieu or "",
        }
        return {k: v for k, v in values.items() if v}

    @classmethod
    def from_map(cls, values: dict[str, Any]) -> PartageFiltres:
        def text(name: str) -> str | None:
            value = values.get(name)
            return str(value) if value else None

        def day(name: str) -> date | None:
            value = text(name)
            return date.fromisoformat(value) if value else None

        return cls(
            periode=text("periode"),
            du=day("du"),
            au=day("au"),
            type=text("type"),
            canal=text("canal"),
            lieu=text("lieu"),
        )


@dataclass(frozen=True)
class Partage:
    id: str
    portee: str  # MEDIATEUR | STRUCTURE
    proprietaire: str  # the mediator's id, or the structure's SIRET
    createur: str  # the mediator who made it
    filtres: PartageFiltres
    cree_le: datetime
    jeton: str  # SHA-256 of the token (`digest`): the token itself is never stored
    expire_le: date | None = None
    ouvertures: int = 0
    derniere_ouverture: datetime | None = None

    def expire(self, today: date) -> bool:
        """Expired from its expiry date on (the date shown is the first day it no longer works)."""
        return self.expire_le is not None and today >= self.expire_le

    def conserve_jusqu_au(self) -> date | None:
        """When the stored link may disappear (TTL); None: as long as it is not revoked."""
        if self.expire_le is None:
            return None
        return self.expire_le + CONSERVATION_APRES_EXPIRATION


def check_expiration(expire_le: date | None, today: date) -> dict[str, str]:
    if expire_le is None:
        return {}
    if expire_le <= today:
        return {"expire_le": EXPIRATION_PASSEE}
    if expire_le > today + EXPIRATION_MAX:
        return {"expire_le": EXPIRATION_LOINTAINE}
    return {}


def fenetre(timestamp: int) -> int:
    """The start of the rate limit's window holding this second."""
    return timestamp - timestamp % FENETRE_SECONDES
