"""Composition root: builds clients, stores and services lazily, once per process.

It only wires: every rule lives in the layer it belongs to, and every collaborator is handed over
as a typed object (never a lambda). Nothing here runs at import; tests replace the container
with `override()`. Entry points (app.py, `web/`, `*/handlers.py`, `__main__`) use it; nothing it
builds imports it back (tests/unit/test_layers.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.domain.communes import Communes
from chalicelib.domain.dates import Calendar, utc_now

if TYPE_CHECKING:
    from chalicelib.auth.oidc import ProConnectClient
    from chalicelib.auth.sessions import Sessions
    from chalicelib.exports.worker import ExportWorker
    from chalicelib.services.accounts import AccountService
    from chalicelib.services.activites import ActivityService
    from chalicelib.services.beneficiaires import BeneficiaryService
    from chalicelib.services.exports import ExportService
    from chalicelib.services.partages import PartageService
    from chalicelib.stats.nouveaux import Nouveaux
    from chalicelib.stats.projector import Projector
    from chalicelib.stats.service import StatsService
    from chalicelib.stats.verify import Verifier
    from chalicelib.store.activites import DynamoActivityStore
    from chalicelib.store.beneficiaires import DynamoBeneficiaryStore
    from chalicelib.store.exports import DynamoExportStore, S3ExportFiles, SqsExportQueue
    from chalicelib.store.health import StorageHealth
    from chalicelib.store.models import Database
    from chalicelib.store.stats import DynamoStatsStore


class Container:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.calendar = Calendar(clock)
        self.communes = Communes()

    # --- storage --------------------------------------------------------------------------------

    @cached_property
    def db(self) -> Database:
        from chalicelib.store.models import Database

        return Database.for_settings(self.settings)

    @cached_property
    def activity_store(self) -> DynamoActivityStore:
        from chalicelib.store.activites import DynamoActivityStore

        return DynamoActivityStore(self.db)

    @cached_property
    def beneficiary_store(self) -> DynamoBeneficiaryStore:
        from chalicelib.store.beneficiaires import DynamoBeneficiaryStore

        return DynamoBeneficiaryStore(self.db)

    @cached_property
    def stats_store(self) -> DynamoStatsStore:
        from chalicelib.store.stats import DynamoStatsStore

        return DynamoStatsStore(self.db)

    @cached_property
    def export_store(self) -> DynamoExportStore:
        from chalicelib.store.exports import DynamoExportStore

        return DynamoExportStore(self.db)

    @cached_property
    def export_files(self) -> S3ExportFiles:
        from chalicelib.store.exports import S3ExportFiles

        return S3ExportFiles(self.boto3_client("s3"), self.settings.export_bucket)

    @cached_property
    def export_queue(self) -> SqsExportQueue:
        from chalicelib.store.exports import SqsExportQueue

        return SqsExportQueue(self.boto3_client("sqs"), self.settings.export_queue_url)

    # --- services -------------------------------------------------------------------------------

    @cached_property
    def sessions(self) -> Sessions:
        from chalicelib.auth.sessions import Quota, SessionPolicy, Sessions
        from chalicelib.store.accounts import DynamoSessionStore

        s = self.settings
        policy = SessionPolicy(s.session_idle_seconds, s.session_absolute_seconds)
        quota = Quota(s.anonymous_attempts, s.anonymous_bytes)
        return Sessions(DynamoSessionStore(self.db), policy, quota)

    @cached_property
    def accounts(self) -> AccountService:
        from chalicelib.services.accounts import AccountService
        from chalicelib.store.accounts import DynamoAccountStore

        return AccountService(
            DynamoAccountStore(self.db), self.communes, self.calendar, membership=self.projector
        )

    @cached_property
    def beneficiaries(self) -> BeneficiaryService:
        from chalicelib.services.beneficiaires import BeneficiaryService

        return BeneficiaryService(
            self.beneficiary_store, self.calendar, self.communes, self.activity_store
        )

    @cached_property
    def activities(self) -> ActivityService:
        from chalicelib.services.activites import ActivityService, NoPartenaires

        return ActivityService(
            self.activity_store,
            self.calendar,
            self.communes,
            people=self.beneficiaries,
            partenaires=NoPartenaires(),
            links=self.nouveaux,
        )

    @cached_property
    def nouveaux(self) -> Nouveaux:
        from chalicelib.stats.nouveaux import Nouveaux

        return Nouveaux(self.beneficiary_store, self.stats_store)

    @cached_property
    def projector(self) -> Projector:
        from chalicelib.stats.projector import Projector

        return Projector(self.stats_store, self.activity_store, self.calendar)

    @cached_property
    def statistics(self) -> StatsService:
        from chalicelib.stats.service import StatsService

        return StatsService(
            self.stats_store,
            self.activity_store,
            self.communes,
            self.calendar,
            structures=self.accounts,
        )

    @cached_property
    def verifier(self) -> Verifier:
        from chalicelib.stats.verify import Sources, Verifier

        return Verifier(
            Sources(
                stats=self.stats_store,
                activities=self.activity_store,
                projector=self.projector,
                nouveaux=self.nouveaux,
                accounts=self.accounts,
                people=self.beneficiaries,
                calendar=self.calendar,
            )
        )

    @cached_property
    def exports(self) -> ExportService:
        from chalicelib.observability import log_event
        from chalicelib.services.exports import ExportService

        return ExportService(
            self.export_store, self.export_queue, self.export_files, self.calendar, log=log_event
        )

    @cached_property
    def partages(self) -> PartageService:
        from chalicelib.services.partages import PartageService
        from chalicelib.store.partages import DynamoPartageStore

        return PartageService(
            DynamoPartageStore(self.db), self.statistics, self.accounts, self.calendar
        )

    @cached_property
    def export_worker(self) -> ExportWorker:
        from chalicelib.exports.worker import ExportWorker, Sources
        from chalicelib.observability import log_event

        sources = Sources(
            activities=self.activity_store,
            people=self.beneficiaries,
            profiles=self.accounts,
            communes=self.communes,
            statistics=self.statistics,
        )
        return ExportWorker(
            self.export_store,
            self.export_files,
            self.export_queue,
            sources,
            self.calendar,
            log=log_event,
        )

    # --- sign-in and clients --------------------------------------------------------------------

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
