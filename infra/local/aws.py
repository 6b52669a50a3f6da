"""The embedded AWS: moto in server mode on loopback, provisioned from the shared definitions,
with snapshots of its backends so that local data survives a restart."""

from __future__ import annotations

import copyreg
import io
import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.store.tables import EXPORT_BUCKET, EXPORT_QUEUE, TABLES, schema_fingerprint

log = logging.getLogger("coop.local")

REGION = "eu-west-3"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # botocore's account-id endpoints break moto streams (ARCHITECTURE §3).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


def moto_version() -> str:
    import moto

    return str(moto.__version__)


@dataclass(frozen=True)
class StackNames:
    table_prefix: str
    bucket: str
    queue: str

    @classmethod
    def for_stage(cls, stage: str = "local") -> StackNames:
        return cls(
            f"coop-{stage}",
            f"coop-{stage}-{EXPORT_BUCKET.logical}",
            f"coop-{stage}-{EXPORT_QUEUE.logical}",
        )

    def table(self, logical: str) -> str:
        return f"{self.table_prefix}-{logical}"


def create_table_kwargs(properties: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation table properties -> DynamoDB CreateTable arguments."""
    kwargs = {
        k: v
        for k, v in properties.items()
        if k not in ("StreamSpecification", "TimeToLiveSpecification")
    }
    stream = properties.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **stream}
    return kwargs


def provision(endpoint: str, names: StackNames) -> dict[str, str]:
    """Create tables, bucket and queues if missing (idempotent). Returns the queue URLs."""
    import boto3

    session = boto3.session.Session(region_name=REGION)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in TABLES:
        props = table.properties(names.table(table.logical))
        if props["TableName"] in existing:
            continue
        dynamodb.create_table(**create_table_kwargs(props))
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)

    s3 = session.client("s3", endpoint_url=endpoint)
    buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if names.bucket not in buckets:
        s3.create_bucket(
            Bucket=names.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=names.bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "expire-exports",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": EXPORT_BUCKET.expire_after_days},
                    }
                ]
            },
        )

    sqs = session.client("sqs", endpoint_url=endpoint)
    dlq_url = sqs.create_queue(
        QueueName=names.queue + "-dlq",
        Attributes={"MessageRetentionPeriod": str(EXPORT_QUEUE.dlq_retention_seconds)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    props = EXPORT_QUEUE.properties(names.queue)
    queue_url = sqs.create_queue(
        QueueName=props["QueueName"],
        Attributes={
            "VisibilityTimeout": str(props["VisibilityTimeout"]),
            "MessageRetentionPeriod": str(props["MessageRetentionPeriod"]),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dlq_arn,
                    "maxReceiveCount": str(EXPORT_QUEUE.max_receive_count),
                }
            ),
        },
    )["QueueUrl"]
    return {"queue": queue_url, "dlq": dlq_url}


# --- snapshots ----------------------------------------------------------------------------------


def _backends() -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    return {"dynamodb": dynamodb_backends, "s3": s3_backends, "sqs": sqs_backends}


class _SnapshotPickler(pickle.Pickler):
    """moto backends hold locks; a restored backend just needs fresh ones."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[type(threading.Lock())] = lambda _lock: (threading.Lock, ())
    dispatch_table[type(threading.RLock())] = lambda _lock: (threading.RLock, ())


@dataclass(frozen=True)
class SnapshotTag:
    moto: str
    schema: str

    @classmethod
    def current(cls) -> SnapshotTag:
        return cls(moto_version(), schema_fingerprint())


class Snapshots:
    """`<dir>/snapshot.pickle` + `<dir>/snapshot.json` (the tag). Written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "snapshot.pickle"
        self.meta = directory / "snapshot.json"

    def save(self) -> bool:
        self.directory.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        for attempt in range(5):
            try:
                state = {
                    name: {account: dict(regions) for account, regions in backend.items()}
                    for name, backend in _backends().items()
                }
                _SnapshotPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
                break
            except RuntimeError:  # a request mutated a dict while we walked it: try again
                buffer = io.BytesIO()
                time.sleep(0.05 * (attempt + 1))
        else:
            log.error("snapshot failed: backends kept changing")
            return False
        tmp = self.data.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, self.data)
        tag = SnapshotTag.current()
        self.meta.write_text(
            json.dumps({"moto": tag.moto, "schema": tag.schema, "saved_at": time.time()})
        )
        return True

    def load(self) -> str:
        """Restore the backends. Returns 'restored', 'empty' or 'set-aside'."""
        if not self.data.exists():
            return "empty"
        try:
            meta = json.loads(self.meta.read_text())
        except (OSError, ValueError):
            meta = {}
        tag = SnapshotTag.current()
        if meta.get("moto") != tag.moto or meta.get("schema") != tag.schema:
            self._set_aside(f"moto {meta.get('moto')} schema {meta.get('schema')}")
            return "set-aside"
        try:
            with self.data.open("rb") as fh:
                state = pickle.load(fh)  # noqa: S301 - our own file, written by save()
        except Exception as exc:
            self._set_aside(f"unreadable: {type(exc).__name__}")
            return "set-aside"
        for name, backend in _backends().items():
            for account, regions in state.get(name, {}).items():
                for region, region_backend in regions.items():
                    backend[account][region] = region_backend
        return "restored"

    def _set_aside(self, why: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.directory / f"set-aside-{stamp}"
        target.mkdir(parents=True, exist_ok=True)
        for path in (self.data, self.meta):
            if path.exists():
                os.replace(path, target / path.name)
        log.warning("local snapshot set aside (%s) in %s: starting empty", why, target)


@contextmanager
def moto_server(port: int = 0) -> Iterator[str]:
    """moto in server mode on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    from infra.local import moto_patches

    moto_patches.apply()
    os.environ.update(FAKE_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.stop()
