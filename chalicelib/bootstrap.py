"""Composition root: builds clients and repositories lazily, once per process.

Nothing here runs at import. Tests replace the container with `override()`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.auth.sessions import SessionPolicy, Sessions
from chalicelib.config import Settings
from chalicelib.services.accounts import AccountService
from chalicelib.services.activites import ActivityService

PARIS = ZoneInfo("Europe/Paris")

if TYPE_CHECKING:
    from chalicelib.auth.oidc import ProConnectClient
    from chalicelib.domain.mediateurs import Profile
    from chalicelib.exports.worker import ExportWorker
    from chalicelib.referentiel.communes import CommuneIndex
    from chalicelib.services.beneficiaires import BeneficiaryService
    from chalicelib.services.exports import ExportService
    from chalicelib.stats.projector import Projector
    from chalicelib.stats.service import StatsService
    from chalicelib.store.activites import DynamoActivityStore
    from chalicelib.store.exports import DynamoExportStore, S3ExportFiles, SqsExportQueue
    from chalicelib.store.health import StorageHealth
    from chalicelib.store.stats import DynamoStatsStore


def utc_now() -> datetime:
    return datetime.now(UTC)


class Container:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        from chalicelib.store.models import configure

        self.settings = settings
        self.clock = clock
        configure(settings)

    def now_ts(self) -> int:
        return int(self.clock().timestamp())

    @cached_property
    def sessions(self) -> Sessions:
        from chalicelib.store.accounts import DynamoSessionStore

        policy = SessionPolicy(
            self.settings.session_idle_seconds, self.settings.session_absolute_seconds
        )
        return Sessions(DynamoSessionStore(), policy)

    @cached_property
    def accounts(self) -> AccountService:
        from chalicelib.stats.handlers import join_structure
        from chalicelib.store.accounts import DynamoAccountStore

        return AccountService(
            DynamoAccountStore(),
            self.communes,
            self.clock,
            joined=lambda mediateur_id, siret: join_structure(self, mediateur_id, siret),
        )

    def communes(self) -> CommuneIndex:
        from chalicelib.referentiel.communes import load_index

        return load_index()

    def today(self) -> date:
        """The mediator's date (metropolitan France): form defaults, duplicates."""
        return self.clock().astimezone(PARIS).date()

    def latest_allowed_date(self) -> date:
        """No activity can be dated later than today anywhere in France (Wallis-et-Futuna is
        UTC+12): a mediator in Nouméa or Saint-Denis de La Réunion is never refused their today."""
        return self.clock().astimezone(timezone(timedelta(hours=12))).date()

    @cached_property
    def activities(self) -> ActivityService:
        return ActivityService(
            self._activity_store,
            communes=self.communes,
            beneficiaires=lambda mediateur_id: self.beneficiaries.owned(mediateur_id),
            partenaires=lambda mediateur_id: frozenset(),  # partners issue
            clock=self.clock,
            today=self.today,
            latest_allowed=self.latest_allowed_date,
            links_changed=lambda mediateur_id, ids: self.beneficiaries.refresh_counters(
                mediateur_id, ids
            ),
            people=lambda mediateur_id, ids: self.beneficiaries.names(mediateur_id, ids),
        )

    @cached_property
    def _activity_store(self) -> DynamoActivityStore:
        from chalicelib.store.activites import DynamoActivityStore

        return DynamoActivityStore()

    @cached_property
    def beneficiaries(self) -> BeneficiaryService:
        from chalicelib.services.beneficiaires import BeneficiaryService
        from chalicelib.store.beneficiaires import DynamoBeneficiaryStore

        def commune_nom(insee: str) -> str | None:
            commune = self.communes().get(insee)
            return commune.nom if commune else None

        return BeneficiaryService(
            DynamoBeneficiaryStore(),
            communes=self.communes,
            commune_nom=commune_nom,
            activities=self._activity_store,
            clock=self.clock,
            today=self.today,
        )

    @cached_property
    def _stats_store(self) -> DynamoStatsStore:
        from chalicelib.store.stats import DynamoStatsStore

        return DynamoStatsStore()

    @cached_property
    def statistics(self) -> StatsService:
        from chalicelib.stats.service import StatsService

        return StatsService(
            self._stats_store,
            self._activity_store,
            communes=self.communes,
            today=self.today,
            latest_allowed=self.latest_allowed_date,
            structure=lambda siret: self.accounts.structure_profiles(siret),
        )

    @cached_property
    def projector(self) -> Projector:
        from chalicelib.stats.projector import Projector
        from chalicelib.store.stats import MonthReader

        return Projector(self._stats_store, MonthReader(self._activity_store), today=self.today)

    @cached_property
    def _export_store(self) -> DynamoExportStore:
        from chalicelib.store.exports import DynamoExportStore

        return DynamoExportStore()

    @cached_property
    def _export_files(self) -> S3ExportFiles:
        from chalicelib.store.exports import S3ExportFiles

        return S3ExportFiles(self.boto3_client("s3"), self.settings.export_bucket)

    @cached_property
    def _export_queue(self) -> SqsExportQueue:
        from chalicelib.store.exports import SqsExportQueue

        return SqsExportQueue(self.boto3_client("sqs"), self.settings.export_queue_url)

    @cached_property
    def exports(self) -> ExportService:
        from chalicelib.exports.worker import log_event
        from chalicelib.services.exports import ExportService

        return ExportService(
            self._export_store,
            self._export_queue,
            self._export_files,
            clock=self.clock,
            log_failure=lambda what, exc: log_event(what, level="error", exc=exc),
        )

    @cached_property
    def export_worker(self) -> ExportWorker:
        from chalicelib.exports.worker import READ_BATCH, ExportWorker, Sources, log_event
        from chalicelib.services.exports import beneficiaries_for_export
        from chalicelib.store.beneficiaires import DynamoBeneficiaryStore

        def profile(mediateur_id: str) -> Profile | None:
            account = self.accounts.account(mediateur_id)
            return account.profile if account else None

        sources = Sources(
            activities=lambda mediateur_id, filtres: self._activity_store.between(
                mediateur_id, filtres, batch=READ_BATCH
            ),
            people=lambda mediateur_id, ids: {
                i: b.nom_complet for i, b in self.beneficiaries.names(mediateur_id, ids).items()
            },
            beneficiaries=lambda mediateur_id, q: beneficiaries_for_export(
                self.beneficiaries, DynamoBeneficiaryStore(), mediateur_id, q
            ),
            profile=profile,
            structure=lambda siret: self.accounts.structure_profiles(siret),
            commune=lambda insee: self.communes().get(insee),
        )
        return ExportWorker(
            self._export_store,
            self._export_files,
            self._export_queue,
            sources,
            clock=self.clock,
            log=log_event,
        )

    @cached_property
    def oidc(self) -> ProConnectClient:
        # Imported here: joserfc/cryptography are only needed on the sign-in path.
        from chalicelib.auth.oidc import ClientConfig, ProConnectClient, UrllibHttp

        s = self.settings
        config = ClientConfig(
            issuer=s.oidc_issuer,
            client_id=s.oidc_client_id,
            client_secret=s.oidc_client_secret or self._ssm_secret(s.oidc_client_secret_parameter),
            redirect_uri=s.redirect_uri,
            post_logout_redirect_uri=s.post_logout_redirect_uri,
            scopes=s.oidc_scopes,
        )
        return ProConnectClient(config, UrllibHttp())

    def _ssm_secret(self, name: str) -> str:
        """The ProConnect client secret from SSM Parameter Store (read once, on first sign-in)."""
        if not name:
            return ""
        answer = self.boto3_client("ssm").get_parameter(Name=name, WithDecryption=True)
        return str(answer["Parameter"]["Value"])

    def boto3_client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=self.settings.region,
            endpoint_url=self.settings.aws_endpoint_url,
            config=Config(
                signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}
            ),
        )

    @cached_property
    def health(self) -> StorageHealth:
        from chalicelib.store.health import StorageHealth

        return StorageHealth(
            self.boto3_client("dynamodb"),
            self.boto3_client("s3"),
            self.settings.table_name,
            self.settings.export_bucket,
        )


_lock = threading.Lock()
_container: Container | None = None


def get() -> Container:
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = Container(Settings.from_env(os.environ))
    return _container


def override(container: Container | None) -> None:
    """Install a container (tests) or drop the current one so the next `get()` rebuilds it."""
    global _container
    with _lock:
        _container = container
