"""The embedded AWS: moto in server mode on loopback, provisioned from the shared definitions.
Its data survive restarts and crashes through infra/local/state.py (snapshot + journal)."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib.store.tables import EXPORT_BUCKET, EXPORT_QUEUE, TABLES
from infra.local.journal import Journal, MotoGate

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


def _error_name(message: str, *args: Any) -> str:
    """The exception type at the end of a traceback (its message may hold item values)."""
    text = ((message % args) if args else message).strip()
    last = text.splitlines()[-1] if text else ""
    return last.split(":", 1)[0] if re.fullmatch(r"[\w.]+(:.*)?", last) else "error"


def _quiet_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietMotoHandler(MotoRequestHandler):
        """No access log (paths and queries carry keys and ids); errors by type only."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

        def log(self, type: str, message: str, *args: Any) -> None:
            if type == "error":
                log.error(
                    "embedded AWS: refused a %s request (%s)",
                    self.command,
                    _error_name(message, *args),
                )

    return QuietMotoHandler


def _server_log(type: str, message: str, *args: Any) -> None:
    """werkzeug's server-level log: "Error on request" with the traceback of a moto crash."""
    if type == "error":
        log.error("embedded AWS: internal error (%s)", _error_name(message, *args))


def moto_app() -> Any:
    """moto's WSGI app (every service, dispatched by host and signature)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import moto_patches

    moto_patches.apply()
    return DomainDispatcherApplication(create_backend_app)


@contextmanager
def moto_server(port: int = 0, journal: Journal | None = None) -> Iterator[str]:
    """moto in server mode on loopback; yields its endpoint URL. DynamoDB calls are isolated
    (MotoGate); given a journal, every write is recorded and fsynced before its answer."""
    from werkzeug.serving import make_server

    os.environ.update(FAKE_CREDENTIALS)
    app = MotoGate(moto_app(), journal)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_quiet_handler())
    server.log = _server_log  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    bound = server.server_address[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
