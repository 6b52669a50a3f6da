"""The export worker: a queue message → rows read page by page → a file on local disk → S3.

One message names one request (`{"v": 1, "scope", "owner", "id"}`); the request itself is read
from the store. For each message:

1. `claim`: en_attente | en_cours → en_cours, attempts + 1 (a request already ready or failed is
   a duplicate delivery: the message is acknowledged and nothing happens);
2. rows are read from DynamoDB page by page and spooled to a local file while they are counted
   (the header block above the table announces the total); progress is saved every
   `progress_every` rows, the page shows it;
3. the file is written from the spool (csv or xlsx, streaming) and uploaded from disk (multipart
   when large): memory stays flat whatever the size;
4. `done`: en_cours → pret, with the row count and the size.

A failure before `MAX_ATTEMPTS` attempts puts the request back en_attente and the message back
in the queue (sooner than the visibility timeout, with a growing delay); at the last attempt the
request is marked `echec` with a French reason and the message is acknowledged. A message this
version cannot read, or that names no request, is poison: it is reported failed every time and
the queue moves it to its dead-letter queue after `maxReceiveCount` receives.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from chalicelib.domain import vocab
from chalicelib.domain.activites import Activite, Filtres
from chalicelib.domain.beneficiaires import Beneficiaire
from chalicelib.domain.dates import Calendar, Periode, periode_fr
from chalicelib.domain.exports import (
    MAX_ATTEMPTS,
    RAISON_ECHEC,
    STATISTIQUES,
    Export,
    MessageKey,
    parse_message,
)
from chalicelib.domain.mediateurs import Profile
from chalicelib.domain.statistiques import rapport
from chalicelib.exports import columns as cols
from chalicelib.exports.statistiques import classeur
from chalicelib.exports.writers import Sheet, Spool, write_csv, write_report, write_xlsx

RETRY_DELAY_SECONDS = 30  # × the attempt number
NAMES_CHUNK = 100  # activities whose people's names are read in one batch
# Activities are read in pages of ~2 000 items (DynamoDB stops a page at 1 MB anyway): ten
# times fewer round trips than the lists' pages.
READ_BATCH = 1000


class WorkerStore(Protocol):
    def find(self, scope: str, owner: str, export_id: str) -> Export | None: ...
    def claim(self, scope: str, owner: str, export_id: str, now: datetime) -> Export | None: ...
    def progress(self, export: Export, lignes: int) -> None: ...
    def done(self, export: Export, lignes: int, taille: int, now: datetime) -> Export | None: ...
    def release(self, export: Export) -> None: ...
    def fail(self, export: Export, raison: str, now: datetime) -> Export | None: ...


class Files(Protocol):
    def upload(self, path: str, key: str, content_type: str, filename: str) -> int: ...


class Retries(Protocol):
    def retry_after(self, receipt_handle: str, seconds: int) -> None: ...


class ActivitySource(Protocol):
    def between(
        self, mediateur_id: str, filtres: Filtres, consistent: bool = ..., batch: int = ...
    ) -> Iterable[Activite]: ...


class PeopleSource(Protocol):
    """The mediator's own people (`BeneficiaryService`)."""

    def names(self, mediateur_id: str, ids: Iterable[str]) -> Mapping[str, Beneficiaire]: ...
    def for_export(self, mediateur_id: str, q: str) -> list[Beneficiaire]: ...


class ProfileSource(Protocol):
    """Mediators and their lieux (`AccountService`)."""

    def profile(self, mediateur_id: str) -> Profile | None: ...
    def structure_profiles(self, siret: str) -> list[Profile]: ...
    def structure_libelle(self, siret: str) -> str: ...


class CommuneSource(Protocol):
    def get(self, insee: str) -> cols.CommuneLike | None: ...


class StatisticsSource(Protocol):
    """The statistics service: the figures of SPEC §10 for a period and filters."""

    def figures(
        self,
        profile: Profile,
        periode: Periode,
        type: str | None = ...,
        canal: str | None = ...,
        lieu: str | None = ...,
    ) -> dict[str, Any]: ...
    def structure_figures(
        self, siret: str, periode: Periode, type: str | None = ..., canal: str | None = ...
    ) -> dict[str, Any]: ...


class PartenaireNames(Protocol):
    def names(self, mediateur_id: str) -> Mapping[str, str]: ...


class NoPartenaireNames:
    """Until Mes partenaires exists: the export shows the partner's id."""

    def names(self, mediateur_id: str) -> Mapping[str, str]:
        return {}


@dataclass(frozen=True)
class Sources:
    """What the worker reads (built by the composition root)."""

    activities: ActivitySource  # newest first, page by page
    people: PeopleSource
    profiles: ProfileSource
    communes: CommuneSource
    statistics: StatisticsSource
    partenaires: PartenaireNames = field(default_factory=NoPartenaireNames)


@dataclass(frozen=True)
class Plan:
    """What one export writes: the sheet (without the total yet) and its rows."""

    name: str
    title: str
    columns: tuple[cols.Column, ...]
    criteres: tuple[tuple[str, str], ...]
    rows: Iterator[tuple[Any, ...]]


class Retry(Exception):
    """The message must come back (the handler reports it failed)."""


def _chunks(items: Iterable[Activite], size: int) -> Iterator[list[Activite]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class ExportWorker:
    def __init__(
        self,
        store: WorkerStore,
        files: Files,
        retries: Retries,
        sources: Sources,
        calendar: Calendar,
        log: Callable[..., None] = lambda *_args, **_kwargs: None,
        workdir: str | None = None,
        progress_every: int = 1000,
    ) -> None:
        self._store = store
        self._files = files
        self._retries = retries
        self._sources = sources
        self._calendar = calendar
        self._log = log
        self._workdir = workdir
        self._progress_every = progress_every

    # --- messages --------------------------------------------------------------------------------

    def handle(self, records: list[dict[str, Any]]) -> list[str]:
        """The `messageId`s of the records to deliver again."""
        failed = []
        for record in records:
            try:
                self.process(record)
            except Retry:
                failed.append(str(record.get("messageId", "")))
        return failed

    def process(self, record: dict[str, Any]) -> Export | None:
        key = parse_message(record.get("body"))
        if key is None:
            self._log("poison export message", level="error")
            raise Retry("unreadable message")
        export = self._store.claim(key.scope, key.owner, key.id, self._calendar.now())
        if export is None:
            return self._not_claimed(key)
        if export.tentatives > MAX_ATTEMPTS:
            # Earlier attempts died without a word (timeout, out of memory): stop here.
            return self._store.fail(export, RAISON_ECHEC, self._calendar.now())
        try:
            return self._run(export)
        except Exception as exc:
            return self._failed(export, record, exc)

    def _not_claimed(self, key: MessageKey) -> Export | None:
        found = self._store.find(key.scope, key.owner, key.id)
        if found is None:
            self._log("export message for no request", level="error", export=key.id)
            raise Retry("unknown request")
        return found  # already ready or failed: a duplicate delivery

    def _failed(self, export: Export, record: dict[str, Any], exc: Exception) -> Export | None:
        self._log(
            "export attempt failed",
            level="error",
            export=export.id,
            attempt=export.tentatives,
            error=type(exc).__name__,
            exc=exc,
        )
        if export.tentatives >= MAX_ATTEMPTS:
            return self._store.fail(export, RAISON_ECHEC, self._calendar.now())
        self._store.release(export)
        handle = record.get("receiptHandle")
        if handle:
            try:
                self._retries.retry_after(str(handle), RETRY_DELAY_SECONDS * export.tentatives)
            except Exception as retry_exc:  # the visibility timeout brings it back anyway
                self._log("retry delay not set", level="warning", error=type(retry_exc).__name__)
        raise Retry(export.id) from exc

    # --- one export ------------------------------------------------------------------------------

    def _run(self, export: Export) -> Export | None:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="coop-export-", dir=self._workdir) as tmp:
            path, count = self.build(export, Path(tmp))
            size = self._files.upload(str(path), export.cle, export.content_type, export.filename)
        done = self._store.done(export, count, size, self._calendar.now())
        self._log(
            "export ready",
            export=export.id,
            rows=count,
            bytes=size,
            format=export.format,
            seconds=round(time.perf_counter() - started, 2),
        )
        return done

    def build(self, export: Export, workdir: Path) -> tuple[Path, int]:
        """The file of an export in `workdir`, and its number of rows."""
        if export.kind == STATISTIQUES:
            return self._report(export, workdir)
        plan = self.plan(export)
        with Spool(workdir / "lignes.bin") as spool:
            for row in plan.rows:
                spool.append(row)
                if spool.count % self._progress_every == 0:
                    self._store.progress(export, spool.count)
        sheet = Sheet(
            name=plan.name,
            title=plan.title,
            columns=plan.columns,
            preamble=(
                ("Exporté par", export.demandeur),
                ("Le", cols.quand(export.cree_le)),
                *plan.criteres,
                ("Total", cols.total(export.kind, spool.count)),
            ),
            created=export.cree_le,
        )
        path = workdir / export.filename
        if export.format == "xlsx":
            write_xlsx(path, sheet, spool.rows())
        else:
            write_csv(path, sheet.columns, spool.rows())
        return path, spool.count

    def _report(self, export: Export, workdir: Path) -> tuple[Path, int]:
        """The statistics workbook: the figures of the page for the period and filters asked,
        through the statistics service (the same figures as the page and the API)."""
        f = export.filtres
        if f.du is None or f.au is None:
            raise ValueError("a statistics export without its period")  # resolved when asked
        periode = Periode(f.du, f.au)
        whose, figures, lieu = self._figures(export, periode)
        filtres = [
            vocab.TYPES_ACTIVITE.label(f.type) if f.type else "",
            vocab.CANAUX.label(f.canal) if f.canal else "",
            lieu or "",
        ]
        book = classeur(
            rapport(figures),
            f"Coop — statistiques {whose}",
            (
                ("Exporté par", export.demandeur),
                ("Le", cols.quand(export.cree_le)),
                ("Période", periode_fr(periode.du, periode.au)),
                ("Filtres", ", ".join(x for x in filtres if x) or "Aucun filtre"),
            ),
            export.cree_le,
        )
        path = workdir / export.filename
        return path, write_report(path, book)

    def _figures(self, export: Export, periode: Periode) -> tuple[str, dict[str, Any], str | None]:
        """(whose statistics, the figures, the lieu filter's name)."""
        f = export.filtres
        statistics = self._sources.statistics
        if export.scope == "structure":
            siret = export.siret or export.owner
            figures = statistics.structure_figures(siret, periode, f.type, f.canal)
            return f"de {self._structure_name(siret)}", figures, None
        profile = self._sources.profiles.profile(export.mediateur_id)
        if profile is None:
            raise LookupError("mediator gone")
        figures = statistics.figures(profile, periode, f.type, f.canal, f.lieu)
        lieu = next((x.nom for x in profile.lieux if x.id == f.lieu), None) if f.lieu else None
        return f"de {export.demandeur}", figures, lieu

    def plan(self, export: Export) -> Plan:
        if export.kind == "beneficiaires":
            return self._beneficiaries(export)
        if export.scope == "structure":
            return self._structure(export)
        return self._activities(export)

    def _read(self, mediateur_id: str, filtres: Filtres) -> Iterable[Activite]:
        return self._sources.activities.between(mediateur_id, filtres, batch=READ_BATCH)

    def _names(self, mediateur_id: str, ids: Collection[str | None]) -> dict[str, str]:
        """id → name of the mediator's own people ("" is what a deleted person shows)."""
        wanted = [i for i in ids if i]
        found = self._sources.people.names(mediateur_id, wanted) if wanted else {}
        return {i: b.nom_complet for i, b in found.items()}

    def _referentiel(self, profiles: Iterable[Profile], mediateur_id: str) -> cols.Referentiel:
        lieux = {lieu.id: lieu for p in profiles for lieu in p.lieux}
        return cols.Referentiel(
            commune=self._sources.communes.get,
            lieux=lieux,
            partenaires=self._sources.partenaires.names(mediateur_id),
        )

    def _activities(self, export: Export) -> Plan:
        mediateur_id = export.mediateur_id
        profile = self._sources.profiles.profile(mediateur_id)
        ref = self._referentiel([profile] if profile else [], mediateur_id)
        columns = cols.activity_columns(structure=False)
        filtres = export.filtres
        lieu = ref.lieux.get(filtres.lieu) if filtres.lieu else None
        personne = self._names(mediateur_id, [filtres.beneficiaire]).get(filtres.beneficiaire or "")

        def rows() -> Iterator[tuple[Any, ...]]:
            # A mediator follows a few hundred people across thousands of activities: each
            # name is read once per export, not once per chunk that mentions it.
            names: dict[str, str] = {}
            activities = self._read(mediateur_id, filtres)
            for chunk in _chunks(activities, NAMES_CHUNK):
                ids = {i for a in chunk for i in a.data.beneficiaires_lies()} - names.keys()
                if ids:
                    found = self._names(mediateur_id, ids)
                    names.update({i: found.get(i, "") for i in ids})  # "" is what is shown

                for a in chunk:
                    yield cols.activity_row(a, ref, columns, personnes=names)

        return Plan(
            "Activités",
            f"Coop — activités de {export.demandeur}",
            columns,
            (("Filtres", cols.resume_filtres(filtres, lieu.nom if lieu else None, personne)),),
            rows(),
        )

    def _structure_name(self, siret: str) -> str:
        """« Structure (SIRET …) », or the name its gestionnaires gave it with the SIRET."""
        libelle = self._sources.profiles.structure_libelle(siret)
        return libelle if siret in libelle else f"{libelle} (SIRET {siret})"

    def _structure(self, export: Export) -> Plan:
        siret = export.siret or export.owner
        profiles = self._sources.profiles.structure_profiles(siret)
        ref = self._referentiel(profiles, export.mediateur_id)
        columns = cols.activity_columns(structure=True)

        def rows() -> Iterator[tuple[Any, ...]]:
            for profile in profiles:
                mediateur = profile.mediateur
                for a in self._read(mediateur.id, export.filtres):
                    yield cols.activity_row(a, ref, columns, mediateur=mediateur.nom_complet)

        return Plan(
            "Activités",
            f"Coop — activités de {self._structure_name(siret)}",
            columns,
            (
                ("Structure", self._structure_name(siret)),
                ("Médiateurs", str(len(profiles))),
                ("Filtres", cols.resume_filtres(export.filtres)),
            ),
            rows(),
        )

    def _beneficiaries(self, export: Export) -> Plan:
        ref = self._referentiel([], export.mediateur_id)
        people = self._sources.people.for_export(export.mediateur_id, export.q)
        return Plan(
            "Bénéficiaires",
            f"Coop — bénéficiaires de {export.demandeur}",
            cols.BENEFICIARY_COLUMNS,
            (("Recherche", cols.resume_recherche(export.q)),),
            (cols.beneficiary_row(b, ref) for b in people),
        )
