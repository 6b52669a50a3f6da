"""Drives the app's event handlers locally, the way Lambda's event source mappings do.

`chalice local` never runs event sources. These pumps read the moto DynamoDB stream and the
SQS queue and invoke the handlers through `chalice.test.Client(app).lambda_.invoke`, honouring
the batch size and `batchItemFailures`, retrying with exponential backoff. A batch that still
fails after the last attempt is logged and written to a failure folder (the local equivalent of
the production on-failure destination): never dropped silently.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("coop.local.pump")

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> None:
        self.sleep(min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


def lambda_value(value: Any) -> Any:
    """boto3 gives bytes and datetimes; a Lambda event carries base64 strings and epoch numbers."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {k: lambda_value(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [lambda_value(v) for v in value]
    return value


def stream_event_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    converted = lambda_value(record)
    converted["eventSourceARN"] = stream_arn
    converted["awsRegion"] = region
    converted.setdefault("eventVersion", "1.1")
    return converted


def failed_ids(result: Any) -> list[str]:
    """The `itemIdentifier`s of a ReportBatchItemFailures answer (none when absent)."""
    if not isinstance(result, dict):
        return []
    failures = result.get("batchItemFailures") or []
    return [str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)]


@dataclass
class DeadLetters:
    directory: Path

    def write(self, source: str, records: list[dict[str, Any]], reason: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Unique per batch: two batches failing within one second must not overwrite each other.
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{source}-{len(records)}-{uuid.uuid4().hex[:8]}"
        path = self.directory / f"{stamp}.json"
        path.write_text(
            json.dumps({"source": source, "reason": reason, "records": records}, default=str)
        )
        log.error(
            "%s: %d record(s) failed after every retry (%s); kept in %s",
            source,
            len(records),
            reason,
            path,
        )
        return path


def deliver_stream_batch(
    invoke: Invoke,
    function: str,
    records: list[dict[str, Any]],
    policy: RetryPolicy,
    dead_letters: DeadLetters,
) -> int:
    """Deliver one stream batch like Lambda: on partial failure, retry from the lowest failed
    sequence number; on a crash, retry the whole batch. Returns how many attempts it took."""
    pending = records
    for attempt in range(1, policy.max_attempts + 1):
        try:
            result = invoke(function, {"Records": pending})
        except Exception as exc:
            log.warning(
                "%s: batch of %d raised %s (attempt %d)",
                function,
                len(pending),
                type(exc).__name__,
                attempt,
            )
        else:
            failed = set(failed_ids(result))
            if not failed:
                return attempt
            sequence = [r["dynamodb"]["SequenceNumber"] for r in pending]
            first = (
                min(i for i, s in enumerate(sequence) if s in failed)
                if failed & set(sequence)
                else 0
            )
            pending = pending[first:]
            log.warning(
                "%s: %d record(s) reported failed (attempt %d)", function, len(failed), attempt
            )
        if attempt < policy.max_attempts:
            policy.wait(attempt)
    dead_letters.write(function, pending, f"failed {policy.max_attempts} attempts")
    return policy.max_attempts


@dataclass
class StreamSource:
    function: str
    table_name: str
    batch_size: int
    starting_position: str = "TRIM_HORIZON"


@dataclass
class QueueSource:
    function: str
    queue_url: str
    queue_arn: str
    batch_size: int


@dataclass
class Checkpoints:
    """Last delivered sequence number per shard, so that a restart resumes where it stopped."""

    path: Path
    positions: dict[str, str] = field(default_factory=dict)

    def load(self) -> None:
        try:
            self.positions = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.positions = {}

    def save(self, shard_key: str, sequence_number: str) -> None:
        self.positions[shard_key] = sequence_number
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.positions))
        tmp.replace(self.path)


class StreamPump:
    def __init__(
        self,
        source: StreamSource,
        dynamodb: Any,
        streams: Any,
        invoke: Invoke,
        checkpoints: Checkpoints,
        dead_letters: DeadLetters,
        policy: RetryPolicy | None = None,
        region: str = "eu-west-3",
    ) -> None:
        self.source = source
        self._dynamodb = dynamodb
        self._streams = streams
        self._invoke = invoke
        self._checkpoints = checkpoints
        self._dead_letters = dead_letters
        self._policy = policy or RetryPolicy()
        self._region = region
        self._iterators: dict[str, str | None] = {}
        self.delivered = 0

    def _stream_arn(self) -> str:
        return str(
            self._dynamodb.describe_table(TableName=self.source.table_name)["Table"][
                "LatestStreamArn"
            ]
        )

    def _iterator(self, arn: str, shard_id: str) -> str:
        key = f"{arn}|{shard_id}"
        after = self._checkpoints.positions.get(key)
        if after:
            try:
                return self._resume_after(arn, shard_id, after)
            except Exception:  # trimmed, garbled, another snapshot: replaying is safe (idempotent)
                log.warning(
                    "checkpoint for %s unusable; reading the shard from its start", shard_id
                )
        return str(
            self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, ShardIteratorType=self.source.starting_position
            )["ShardIterator"]
        )

    def _resume_after(self, arn: str, shard_id: str, after: str) -> str:
        """An iterator after the checkpointed record, once that record is found in the shard.
        moto hands out iterators for any position: one before the shard fails every read after,
        one past its end (checkpoints newer than a restored snapshot) silently skips new writes."""
        at = self._streams.get_shard_iterator(
            StreamArn=arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=after,
        )["ShardIterator"]
        found = self._streams.get_records(ShardIterator=at, Limit=1).get("Records", [])
        if not found or found[0]["dynamodb"]["SequenceNumber"] != after:
            raise LookupError(f"record {after} is not in shard {shard_id}")
        return str(
            self._streams.get_shard_iterator(
                StreamArn=arn,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=after,
            )["ShardIterator"]
        )

    def poll_once(self) -> int:
        """Read every shard once and deliver what is there. Returns the records delivered."""
        arn = self._stream_arn()
        shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        delivered = 0
        for shard in shards:
            key = f"{arn}|{shard['ShardId']}"
            iterator = self._iterators.get(key) or self._iterator(arn, shard["ShardId"])
            page = self._streams.get_records(ShardIterator=iterator, Limit=self.source.batch_size)
            self._iterators[key] = page.get("NextShardIterator")
            records = [stream_event_record(r, arn, self._region) for r in page.get("Records", [])]
            if not records:
                continue
            deliver_stream_batch(
                self._invoke, self.source.function, records, self._policy, self._dead_letters
            )
            self._checkpoints.save(key, records[-1]["dynamodb"]["SequenceNumber"])
            delivered += len(records)
        self.delivered += delivered
        return delivered


class QueuePump:
    def __init__(
        self,
        source: QueueSource,
        sqs: Any,
        invoke: Invoke,
        dead_letters: DeadLetters,
        policy: RetryPolicy | None = None,
        region: str = "eu-west-3",
        wait_seconds: int = 1,
    ) -> None:
        self.source = source
        self._sqs = sqs
        self._invoke = invoke
        self._dead_letters = dead_letters
        self._policy = policy or RetryPolicy()
        self._region = region
        self._wait_seconds = wait_seconds
        self.delivered = 0

    def _event_record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": self._region,
        }

    def poll_once(self) -> int:
        """Receive one batch, invoke, delete what succeeded. Failed messages become visible again
        after the visibility timeout and, past maxReceiveCount, move to the dead-letter queue."""
        answer = self._sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=max(1, min(10, self.source.batch_size)),
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        records = [self._event_record(m) for m in messages]
        try:
            failed = set(failed_ids(self._invoke(self.source.function, {"Records": records})))
        except Exception as exc:
            log.warning(
                "%s: batch of %d raised %s; messages will be retried",
                self.source.function,
                len(records),
                type(exc).__name__,
            )
            return 0
        done = [r for r in records if r["messageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)
                ],
            )
        if failed:
            log.warning(
                "%s: %d message(s) reported failed; they will be retried",
                self.source.function,
                len(failed),
            )
        self.delivered += len(done)
        return len(done)


class PumpThread(threading.Thread):
    """Polls a pump until stopped; errors in polling itself are logged and retried."""

    def __init__(self, pump: StreamPump | QueuePump, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name=f"pump-{pump.source.function}")
        self.pump = pump
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        failures = 0
        while not self._stop_event.is_set():
            try:
                count = self.pump.poll_once()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("pump %s: polling failed (%s)", self.name, type(exc).__name__)
                count = 0
                self._stop_event.wait(min(10.0, 0.5 * 2**failures))
            if not count:
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
