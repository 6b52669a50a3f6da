"""The one definition of every DynamoDB table.

Both the embedded local stack (`infra/local`) and the production template (`infra/template.py`)
are generated from `TABLES`; nobody writes a table schema by hand anywhere else.
Key attributes are generic (`pk`/`sk`, `gsi1pk`/`gsi1sk`, `lsi1sk`) so that several item types
can share a table and new access patterns do not need a schema migration.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

TTL_ATTRIBUTE = "expires_at"


@dataclass(frozen=True)
class TableDef:
    logical: str
    hash_key: str = "pk"
    range_key: str | None = "sk"
    gsis: tuple[tuple[str, str, str], ...] = ()  # (index name, hash attr, range attr)
    lsis: tuple[tuple[str, str], ...] = ()  # (index name, range attr)
    stream: bool = False
    ttl: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def attribute_definitions(self) -> list[dict[str, str]]:
        names = [self.hash_key]
        if self.range_key:
            names.append(self.range_key)
        for _, hash_attr, range_attr in self.gsis:
            names += [hash_attr, range_attr]
        for _, range_attr in self.lsis:
            names.append(range_attr)
        unique = list(dict.fromkeys(names))
        return [{"AttributeName": n, "AttributeType": "S"} for n in unique]

    def key_schema(self) -> list[dict[str, str]]:
        keys = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            keys.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return keys

    def properties(self, table_name: Any) -> dict[str, Any]:
        """CloudFormation `AWS::DynamoDB::Table` properties shared by local and production."""
        props: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": self.attribute_definitions(),
            "KeySchema": self.key_schema(),
        }
        if self.gsis:
            props["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": name,
                    "KeySchema": [
                        {"AttributeName": h, "KeyType": "HASH"},
                        {"AttributeName": r, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for name, h, r in self.gsis
            ]
        if self.lsis:
            props["LocalSecondaryIndexes"] = [
                {
                    "IndexName": name,
                    "KeySchema": [
                        {"AttributeName": self.hash_key, "KeyType": "HASH"},
                        {"AttributeName": r, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for name, r in self.lsis
            ]
        if self.stream:
            props["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        if self.ttl:
            props["TimeToLiveSpecification"] = {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
        return props


TABLES: tuple[TableDef, ...] = (
    TableDef(
        "app",
        gsis=(("gsi1", "gsi1pk", "gsi1sk"),),
        ttl=True,
        description="Mediators, lieux, preferences, partners, exports, idempotency keys",
    ),
    TableDef("sessions", range_key=None, ttl=True, description="Sessions and sign-in attempts"),
    TableDef(
        "activities",
        gsis=(("gsi1", "gsi1pk", "gsi1sk"),),
        lsis=(("lsi1", "lsi1sk"),),
        stream=True,
        description="Comptes rendus d'activité; the stream feeds the statistics",
    ),
    TableDef(
        "beneficiaries",
        gsis=(("gsi1", "gsi1pk", "gsi1sk"),),
        lsis=(("lsi1", "lsi1sk"),),
        ttl=True,
        description="Beneficiaries and their search index",
    ),
    TableDef("stats", ttl=True, description="Statistics buckets, newcomers, structure memberships"),
)


def table_def(logical: str) -> TableDef:
    for table in TABLES:
        if table.logical == logical:
            return table
    raise KeyError(logical)


def schema_fingerprint() -> str:
    """Changes whenever a table definition changes (local snapshots are tagged with it)."""
    payload = json.dumps([t.properties(t.logical) for t in TABLES], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


# --- the other resources, shared the same way ------------------------------------------------


@dataclass(frozen=True)
class QueueDef:
    logical: str
    visibility_timeout: int
    max_receive_count: int  # then the message moves to the dead-letter queue
    retention_seconds: int = 4 * 24 * 3600
    dlq_retention_seconds: int = 14 * 24 * 3600

    def properties(self, queue_name: Any) -> dict[str, Any]:
        return {
            "QueueName": queue_name,
            "VisibilityTimeout": self.visibility_timeout,
            "MessageRetentionPeriod": self.retention_seconds,
        }


@dataclass(frozen=True)
class BucketDef:
    logical: str
    expire_after_days: int


# The export worker may take minutes on a big export: the message stays invisible meanwhile.
EXPORT_QUEUE = QueueDef("exports", visibility_timeout=900, max_receive_count=3)
EXPORT_BUCKET = BucketDef("exports", expire_after_days=7)
