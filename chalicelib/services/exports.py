"""Use cases of exports (SPEC §6): ask for one, list them, read one, get a download link.

Ownership: a mediator's own export is read in their own partition only; a structure export in
the partition of the SIRET, only by a gestionnaire of that SIRET. Anyone else gets NotFound,
whatever the id (nothing tells "someone else's" from "does not exist").
The file itself is built in the background (`chalicelib/exports/worker.py`).
"""

from __future__ import annotations

import secrets
from collections.abc import Container
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.activites import Filtres
from chalicelib.domain.activites_rules import CHOIX_INVALIDE, check_filtres
from chalicelib.domain.dates import PRESETS, Calendar, periode
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.domain.exports import (
    FORMATS,
    KINDS,
    MAX_PENDING,
    PRET,
    RAISON_FILE_INDISPONIBLE,
    SCOPES,
    STATISTIQUES,
    Export,
    ExportRequest,
    object_key,
)
from chalicelib.domain.ids import looks_like_id, new_id
from chalicelib.domain.mediateurs import ROLE_GESTIONNAIRE, Mediateur
from chalicelib.domain.recherche import MAX_QUERY_LENGTH

TROP_D_EXPORTS = (
    "Vous avez déjà {n} exports en préparation : attendez qu'ils soient prêts avant d'en"
    " demander un autre."
)
STRUCTURE_ACTIVITES = (
    "Seules les activités et les statistiques peuvent être exportées pour toute la structure."
)
STATISTIQUES_XLSX = "Les statistiques s'exportent en Excel (.xlsx)."
HORS_STATISTIQUES = "Ce filtre ne s'applique pas aux statistiques."


class ExportStore(Protocol):
    def create(self, export: Export) -> Export: ...
    def find(self, scope: str, owner: str, export_id: str) -> Export | None: ...
    def recent(self, scope: str, owner: str, limit: int = 50) -> list[Export]: ...
    def fail(self, export: Export, raison: str, now: datetime) -> Export | None: ...


class ExportQueue(Protocol):
    def send(self, body: str) -> None: ...


class ExportLinks(Protocol):
    def url(self, key: str, filename: str, content_type: str) -> str: ...


class EventLog(Protocol):
    """A log line of ids, counts and error types only (`observability.log_event`)."""

    def __call__(
        self, message: str, level: str = ..., exc: BaseException | None = ..., **keys: Any
    ) -> None: ...


class ExportExpire(NotFound):
    """Older than the retention period: the file is gone (pages answer 410)."""


class ExportPasPret(Conflict):
    """Not ready (yet, or failed): nothing to download."""


@dataclass(frozen=True)
class Telechargement:
    export: Export
    url: str  # presigned, valid a few minutes


def is_gestionnaire(mediateur: Mediateur) -> bool:
    return bool(mediateur.siret) and ROLE_GESTIONNAIRE in mediateur.roles


class ExportService:
    def __init__(
        self,
        store: ExportStore,
        queue: ExportQueue,
        links: ExportLinks,
        calendar: Calendar,
        log: EventLog,
    ) -> None:
        self._store = store
        self._queue = queue
        self._links = links
        self._calendar = calendar
        self._log = log

    def now(self) -> datetime:
        return self._calendar.now()

    # --- asking ----------------------------------------------------------------------------------

    def _checked(
        self, mediateur: Mediateur, lieux: Container[str], req: ExportRequest
    ) -> ExportRequest:
        errors: dict[str, str] = {}
        for name, value, allowed in (
            ("kind", req.kind, KINDS),
            ("format", req.format, FORMATS),
            ("scope", req.scope, SCOPES),
        ):
            if value not in allowed:
                errors[name] = CHOIX_INVALIDE
        if len(req.q) > MAX_QUERY_LENGTH:
            errors["filters.q"] = f"La recherche doit faire {MAX_QUERY_LENGTH} caractères au plus."
        if req.scope == "structure":
            if not is_gestionnaire(mediateur):
                raise Forbidden(mediateur.id)
            if req.kind == "beneficiaires":
                errors["scope"] = STRUCTURE_ACTIVITES
            # Lieux and people are each mediator's own: they mean nothing across a structure.
            req = replace(req, filtres=replace(req.filtres, lieu=None, beneficiaire=None))
        if req.kind == "activites":
            errors.update({f"filters.{k}": v for k, v in check_filtres(req.filtres, lieux).items()})
            req = replace(req, q="", periode=None)
        elif req.kind == STATISTIQUES:
            req = self._statistics(req, lieux, errors)
        else:
            req = replace(req, filtres=Filtres(), periode=None)
        if errors:
            raise ValidationFailed(errors)
        return req

    def _statistics(
        self, req: ExportRequest, lieux: Container[str], errors: dict[str, str]
    ) -> ExportRequest:
        """The workbook of the statistics page: a period (a preset is resolved into its dates
        now: the file says which days it covers) and the page's filters only."""
        if req.format != "xlsx":
            errors["format"] = STATISTIQUES_XLSX
        f = req.filtres
        for name in ("beneficiaire", "thematique"):
            if getattr(f, name) is not None:
                errors[f"filters.{name}"] = HORS_STATISTIQUES
        for name, message in check_filtres(replace(f, du=None, au=None), lieux).items():
            errors.setdefault(f"filters.{name}", message)
        if req.periode is not None and req.periode not in PRESETS:
            errors["filters.periode"] = CHOIX_INVALIDE
        try:
            today = self._calendar.today()
            latest = self._calendar.latest_allowed()
            asked = periode(req.periode, f.du, f.au, today, latest)
        except ValidationFailed as exc:
            errors.update({f"filters.{k}": v for k, v in exc.errors.items()})
            return req
        return replace(req, q="", periode=None, filtres=replace(f, du=asked.du, au=asked.au))

    def request(self, mediateur: Mediateur, lieux: Container[str], req: ExportRequest) -> Export:
        """Record the request (en attente) and queue it. If the queue cannot be reached the
        request is marked failed with a French reason: the page says so, nothing is lost."""
        req = self._checked(mediateur, lieux, req)
        mine = [e for e in self.list(mediateur) if e.mediateur_id == mediateur.id]
        pending = [e for e in mine if e.pending(self.now())]
        if len(pending) >= MAX_PENDING:
            raise ValidationFailed({"kind": TROP_D_EXPORTS.format(n=len(pending))})
        now = self.now()
        export_id = new_id(int(now.timestamp() * 1000))
        owner = mediateur.siret if req.scope == "structure" and mediateur.siret else mediateur.id
        export = Export(
            id=export_id,
            scope=req.scope,
            owner=owner,
            kind=req.kind,
            format=req.format,
            mediateur_id=mediateur.id,
            demandeur=mediateur.nom_complet,
            cle=object_key(req.scope, owner, export_id, secrets.token_hex(16), req.format),
            cree_le=now,
            siret=mediateur.siret if req.scope == "structure" else None,
            filtres=req.filtres,
            q=req.q,
        )
        self._store.create(export)
        try:
            self._queue.send(export.message())
        except Exception as exc:
            self._log("export queue unreachable", level="error", exc=exc)
            return self._store.fail(export, RAISON_FILE_INDISPONIBLE, now) or export
        return export

    # --- reading ---------------------------------------------------------------------------------

    def list(self, mediateur: Mediateur) -> list[Export]:
        """The mediator's own exports, and for a gestionnaire their structure's; newest first."""
        found = self._store.recent("mediateur", mediateur.id)
        if is_gestionnaire(mediateur) and mediateur.siret:
            found += self._store.recent("structure", mediateur.siret)
        return sorted(found, key=lambda e: (e.cree_le, e.id), reverse=True)

    def get(self, mediateur: Mediateur, export_id: str) -> Export:
        if not looks_like_id(export_id):
            raise NotFound(export_id)
        own = self._store.find("mediateur", mediateur.id, export_id)
        if own is not None:
            return own
        if is_gestionnaire(mediateur) and mediateur.siret:
            shared = self._store.find("structure", mediateur.siret, export_id)
            if shared is not None:
                return shared
        raise NotFound(export_id)

    def download(self, mediateur: Mediateur, export_id: str) -> Telechargement:
        """A fresh presigned link to a ready, non-expired export the mediator may read."""
        export = self.get(mediateur, export_id)
        now = self.now()
        if export.expired(now):
            raise ExportExpire(export_id)
        if export.statut_affiche(now) != PRET:
            raise ExportPasPret(export_id)
        return Telechargement(
            export, self._links.url(export.cle, export.filename, export.content_type)
        )

    def link(self, export: Export) -> str | None:
        """The presigned link of a ready export (the JSON API's `url`), else None."""
        if export.statut_affiche(self.now()) != PRET:
            return None
        return self._links.url(export.cle, export.filename, export.content_type)
