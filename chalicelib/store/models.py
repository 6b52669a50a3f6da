"""pynamodb models. Table names, region and endpoint are set by a `Database` from Settings,
never at import time. Only `store/` imports this module."""

from __future__ import annotations

import threading
from contextlib import suppress
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.connection.base import MetaTable
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import Settings
from chalicelib.store.tables import table_def


class _Meta:
    table_name = "unconfigured"
    region = "eu-west-3"
    host: str | None = None
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3


# --- sessions table ---------------------------------------------------------------------------


class SessionItem(Model):
    """A signed-in browser session. `pk` is `s#` + SHA-256 of the cookie value."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    mediateur_id = UnicodeAttribute()
    csrf_token = UnicodeAttribute()
    cree_le = NumberAttribute()
    vu_le = NumberAttribute()
    id_token = UnicodeAttribute(null=True)
    reprise = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class LoginAttemptItem(Model):
    """A sign-in in progress (state, nonce, PKCE verifier). `pk` is `l#` + SHA-256 of the cookie."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()
    nonce = UnicodeAttribute()
    code_verifier = UnicodeAttribute()
    retour = UnicodeAttribute(null=True)
    reprise = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class QuotaItem(Model):
    """What one signed-out client stored in one window. `pk` is `q#` + the client's digest +
    `#` + the window's start; TTL removes it after the window."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(default=0)  # attempts
    b = NumberAttribute(default=0)  # bytes
    expires_at = TTLAttribute()


# --- app table --------------------------------------------------------------------------------


class ParStructure(GlobalSecondaryIndex["MediateurItem"]):
    """The mediators of one structure employeuse (gsi1pk = STRUCT#<siret>)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class MediateurItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # MED#<id>
    sk = UnicodeAttribute(range_key=True)  # PROFIL
    prenom = UnicodeAttribute()
    nom = UnicodeAttribute()
    email = UnicodeAttribute()
    siret = UnicodeAttribute(null=True)
    roles = UnicodeSetAttribute(null=True)
    cree_le = UTCDateTimeAttribute()
    derniere_connexion = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute(null=True)  # STRUCT#<siret>: the structure's mediators
    gsi1sk = UnicodeAttribute(null=True)
    par_structure = ParStructure()
    accompagne = BooleanAttribute(null=True)  # False: an employer, no lieu asked


class StructureItem(Model):
    """A structure employeuse as its gestionnaires describe it: pk = STR#<siret>, sk =
    STRUCTURE (its name)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    nom = UnicodeAttribute(null=True)
    modifie_le = UTCDateTimeAttribute(null=True)


class LieuItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # MED#<id>
    sk = UnicodeAttribute(range_key=True)  # LIEU#<lieu id>
    nom = UnicodeAttribute()
    adresse = UnicodeAttribute()
    commune_insee = UnicodeAttribute()
    archive = BooleanAttribute(default=False)
    cree_le = UTCDateTimeAttribute()
    modifie_le = UTCDateTimeAttribute()
    version = VersionAttribute()


class OutilsPrefsItem(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)  # MED#<id>
    sk = UnicodeAttribute(range_key=True)  # PREF#outils
    ordre = ListAttribute(of=UnicodeAttribute, default=list)
    epingles = ListAttribute(of=UnicodeAttribute, default=list)
    version = VersionAttribute()


# --- wiring -----------------------------------------------------------------------------------

MODELS: tuple[tuple[type[Model], str], ...] = (
    (SessionItem, "sessions"),
    (LoginAttemptItem, "sessions"),
    (QuotaItem, "sessions"),
    (MediateurItem, "app"),
    (LieuItem, "app"),
    (OutilsPrefsItem, "app"),
    (StructureItem, "app"),
)


class Database:
    """The tables of one configuration and the one connection their models share. Stores
    receive it and open their transactions on `connection`; the composition root builds it.

    pynamodb keeps a model's table name and connection on the model class, so building a
    Database (re)configures every registered model for its settings, and models registered
    later by a feature module are configured by the latest one."""

    def __init__(self, settings: Settings) -> None:
        global _current
        self.settings = settings
        self.connection = Connection(region=settings.region, host=settings.aws_endpoint_url)
        _current = self
        for model, logical in MODELS:
            _configure_model(model, logical, self)

    @classmethod
    def for_settings(cls, settings: Settings) -> Database:
        """The database of these settings, built once per process (keeps its HTTP pool)."""
        with _lock:
            if _current is not None and _current.settings == settings:
                return _current
            return cls(settings)


_lock = threading.Lock()
_current: Database | None = None


def register(model: type[Model], logical_table: str) -> None:
    """Feature modules add their models here so that a Database reaches them too, whichever of
    the two happens first."""
    global MODELS
    if (model, logical_table) not in MODELS:
        MODELS = (*MODELS, (model, logical_table))
        if _current is not None:
            _configure_model(model, logical_table, _current)


def _configure_model(model: type[Model], logical: str, db: Database) -> None:
    settings = db.settings
    meta: Any = model.Meta
    wanted = (settings.table_name(logical), settings.region, settings.aws_endpoint_url)
    current = model._connection
    if (meta.table_name, meta.region, meta.host) == wanted and (
        current is not None and current.connection is db.connection
    ):
        return  # keep the connection (and its HTTP pool) when nothing changed
    meta.table_name, meta.region, meta.host = wanted
    model._connection = None  # drop a connection built for another configuration
    # pynamodb gives each model its own Connection, hence its own botocore session and client
    # (each loads the endpoint and service JSON: ~50 ms of cold start per model, and a pile-up
    # when many threads start at once). All our models share one.
    table = model._get_connection()
    # The key schema and every index come from the shared table definition (the models of
    # one table each declare only the indexes they use).
    with suppress(ValueError):  # "already added" by another model of the same table
        db.connection.add_meta_table(MetaTable(table_def(logical).properties(meta.table_name)))
    table.connection = db.connection
