"""The local event pumps: they stand in for Lambda's event source mappings under `chalice local`.

Real moto records (the session moto server), a tiny Chalice app whose handlers record what they
receive and can be told to misbehave, and the pumps invoking it through `chalice.test.Client`.
Each test gets its own table (built from the same definition as `activities`) and its own queue,
so the shared session stack stays untouched.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from chalice import Chalice
from chalice.test import Client

from chalicelib.store.tables import TABLES
from infra.local.aws import create_table_kwargs
from infra.local.pump import (
    Checkpoints,
    DeadLetters,
    PumpThread,
    QueuePump,
    QueueSource,
    RetryPolicy,
    StreamPump,
    StreamSource,
)
from infra.local.server import build_pumps, table_for_stream
from tests.conftest import Stack

REGION = "eu-west-3"
STREAM_ARN = "arn:aws:dynamodb:eu-west-3:000000000000:table/activities/stream/local"
STREAM_FUNCTION = "on_activity"
QUEUE_FUNCTION = "on_export"
# moto answers 500 to some bad requests; botocore's default retries would make tests wait seconds.
NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})


# --- the app under the pumps --------------------------------------------------------------------


def stream_key(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["pk"]["S"])


def stream_id(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def queue_key(record: dict[str, Any]) -> str:
    return str(record["body"])


def queue_id(record: dict[str, Any]) -> str:
    return str(record["messageId"])


@dataclass
class Script:
    """What the handlers received, and how they are told to misbehave (by item key / body)."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    fail_once: set[str] = field(default_factory=set)
    fail_always: set[str] = field(default_factory=set)
    crash_on: set[str] = field(default_factory=set)

    def handle(
        self,
        records: list[dict[str, Any]],
        key_of: Callable[[dict[str, Any]], str],
        id_of: Callable[[dict[str, Any]], str],
    ) -> dict[str, Any]:
        self.batches.append(records)
        keys = [key_of(r) for r in records]
        if self.crash_on & set(keys):
            raise RuntimeError("handler crashed")
        failing = self.fail_always | self.fail_once
        failed = [id_of(r) for r, k in zip(records, keys, strict=True) if k in failing]
        self.fail_once -= set(keys)
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    def keys(self, key_of: Callable[[dict[str, Any]], str]) -> list[list[str]]:
        return [[key_of(r) for r in batch] for batch in self.batches]


def make_app(
    script: Script, stream_batch_size: int = 10, queue: str = "unused", queue_batch_size: int = 10
) -> Chalice:
    app = Chalice(app_name="pump-test")

    @app.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=stream_batch_size)
    def on_activity(event: Any) -> dict[str, Any]:
        # Iterating builds Chalice's DynamoDBRecord objects: the event must parse like Lambda's.
        return script.handle([record.to_dict() for record in event], stream_key, stream_id)

    @app.on_sqs_message(queue=queue, batch_size=queue_batch_size)
    def on_export(event: Any) -> dict[str, Any]:
        return script.handle([record.to_dict() for record in event], queue_key, queue_id)

    return app


def invoker(app: Chalice, project_dir: Path) -> Callable[[str, dict[str, Any]], Any]:
    client = Client(app, project_dir=str(project_dir))

    def invoke(function: str, payload: dict[str, Any]) -> Any:
        return client.lambda_.invoke(function, payload).payload

    return invoke


# --- the AWS side -------------------------------------------------------------------------------


@dataclass
class Aws:
    dynamodb: Any
    streams: Any
    sqs: Any


@pytest.fixture
def clients(aws: Stack) -> Aws:
    session = boto3.session.Session(region_name=REGION)
    return Aws(
        dynamodb=session.client("dynamodb", endpoint_url=aws.endpoint, config=NO_RETRIES),
        streams=session.client("dynamodbstreams", endpoint_url=aws.endpoint, config=NO_RETRIES),
        sqs=session.client("sqs", endpoint_url=aws.endpoint, config=NO_RETRIES),
    )


@dataclass
class Table:
    prefix: str
    name: str
    client: Any

    @property
    def stream_arn(self) -> str:
        return str(self.client.describe_table(TableName=self.name)["Table"]["LatestStreamArn"])

    def put(self, pk: str, **attributes: Any) -> None:
        self.client.put_item(
            TableName=self.name, Item={"pk": {"S": pk}, "sk": {"S": "item"}, **attributes}
        )


@pytest.fixture
def table(clients: Aws) -> Iterator[Table]:
    """A fresh table with the `activities` definition (NEW_AND_OLD_IMAGES stream)."""
    prefix = f"pump-{uuid.uuid4().hex[:8]}"
    definition = next(t for t in TABLES if t.logical == "activities")
    name = f"{prefix}-{definition.logical}"
    clients.dynamodb.create_table(**create_table_kwargs(definition.properties(name)))
    yield Table(prefix, name, clients.dynamodb)
    clients.dynamodb.delete_table(TableName=name)


@pytest.fixture
def queue(clients: Aws) -> Iterator[tuple[str, str]]:
    """A fresh queue whose failed messages come back after one second. Yields (name, url)."""
    name = f"pump-{uuid.uuid4().hex[:8]}"
    url = clients.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})[
        "QueueUrl"
    ]
    yield name, url
    clients.sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def pump_log() -> Iterator[list[logging.LogRecord]]:
    """The pump's log records (own handler: the suite may run with `-p no:logging`)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("coop.local.pump")
    handler, level = Keep(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


@dataclass
class StreamRig:
    script: Script
    delays: list[float]
    checkpoints: Checkpoints
    dead_letters: DeadLetters
    make_pump: Callable[..., StreamPump]

    def drain(self, pump: StreamPump, limit: int = 20) -> None:
        for _ in range(limit):
            if not pump.poll_once():
                return
        raise AssertionError("the stream never ran dry")

    def dead_letter_files(self) -> list[dict[str, Any]]:
        if not self.dead_letters.directory.exists():
            return []
        return [
            json.loads(p.read_text()) for p in sorted(self.dead_letters.directory.glob("*.json"))
        ]


@pytest.fixture
def rig(table: Table, clients: Aws, tmp_path: Path) -> StreamRig:
    script = Script()
    delays: list[float] = []
    checkpoints = Checkpoints(tmp_path / "checkpoints.json")
    dead_letters = DeadLetters(tmp_path / "failed-events")

    def make_pump(
        batch_size: int = 10, base_delay: float = 0.0, checkpoint_file: Checkpoints | None = None
    ) -> StreamPump:
        app = make_app(script, stream_batch_size=batch_size)
        return StreamPump(
            StreamSource(STREAM_FUNCTION, table.name, batch_size),
            clients.dynamodb,
            clients.streams,
            invoker(app, tmp_path),
            checkpoint_file or checkpoints,
            dead_letters,
            RetryPolicy(max_attempts=3, base_delay=base_delay, sleep=delays.append),
            region=REGION,
        )

    return StreamRig(script, delays, checkpoints, dead_letters, make_pump)


def queue_depth(sqs: Any, url: str) -> int:
    """Messages still in the queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# --- 1. what a stream handler receives ----------------------------------------------------------


def test_given_put_update_delete_when_pumped_then_handler_gets_lambda_shaped_records_in_order(
    rig: StreamRig, table: Table
) -> None:
    table.put("a", n={"N": "1"}, blob={"B": b"\x00\x01"})
    table.client.update_item(
        TableName=table.name,
        Key={"pk": {"S": "a"}, "sk": {"S": "item"}},
        UpdateExpression="SET n = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    table.client.delete_item(TableName=table.name, Key={"pk": {"S": "a"}, "sk": {"S": "item"}})

    rig.make_pump().poll_once()

    [batch] = rig.script.batches
    assert [r["eventName"] for r in batch] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in batch)
    assert "OldImage" not in insert
    assert insert["NewImage"] == {
        "pk": {"S": "a"},
        "sk": {"S": "item"},
        "n": {"N": "1"},
        "blob": {"B": "AAE="},
    }
    assert modify["OldImage"]["n"] == {"N": "1"}
    assert modify["NewImage"]["n"] == {"N": "2"}
    assert remove["OldImage"]["n"] == {"N": "2"}
    assert "NewImage" not in remove
    assert all(r["dynamodb"]["Keys"] == {"pk": {"S": "a"}, "sk": {"S": "item"}} for r in batch)
    assert {r["eventSourceARN"] for r in batch} == {table.stream_arn}
    assert {r["awsRegion"] for r in batch} == {REGION}
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int | float) for r in batch)
    assert abs(batch[0]["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 120
    sequence = [int(stream_id(r)) for r in batch]
    assert sequence == sorted(sequence)
    assert json.loads(json.dumps(batch)) == batch


# --- 2. batch size ------------------------------------------------------------------------------


def test_given_seven_writes_and_batch_size_three_when_pumped_then_each_record_arrives_once_in_small_batches(
    rig: StreamRig, table: Table
) -> None:
    written = [f"k{i}" for i in range(7)]
    for key in written:
        table.put(key)

    rig.drain(rig.make_pump(batch_size=3))

    assert all(1 <= len(batch) <= 3 for batch in rig.script.batches)
    delivered = [key for batch in rig.script.keys(stream_key) for key in batch]
    assert delivered == written
    assert rig.dead_letter_files() == []


# --- 3. partial failure -------------------------------------------------------------------------


def test_given_second_record_reported_failed_once_when_pumped_then_retry_starts_at_that_record(
    rig: StreamRig, table: Table
) -> None:
    for key in ("k1", "k2", "k3"):
        table.put(key)
    rig.script.fail_once = {"k2"}

    rig.drain(rig.make_pump(batch_size=3))

    assert rig.script.keys(stream_key) == [["k1", "k2", "k3"], ["k2", "k3"]]
    assert len(rig.delays) == 1
    assert rig.dead_letter_files() == []


def test_given_a_record_failing_every_attempt_when_pumped_then_it_and_its_followers_are_dead_lettered(
    rig: StreamRig, table: Table, pump_log: list[logging.LogRecord]
) -> None:
    for key in ("k1", "bad", "k3", "k4"):
        table.put(key)
    rig.script.fail_always = {"bad"}

    rig.drain(rig.make_pump(batch_size=3))

    assert rig.script.keys(stream_key) == [
        ["k1", "bad", "k3"],
        ["bad", "k3"],
        ["bad", "k3"],
        ["k4"],
    ]
    [dead] = rig.dead_letter_files()
    assert [stream_key(r) for r in dead["records"]] == ["bad", "k3"]
    assert any(r.levelno == logging.ERROR for r in pump_log)


# --- 4. crashes ---------------------------------------------------------------------------------


def test_given_a_crashing_batch_when_pumped_then_it_is_retried_whole_with_backoff_then_dead_lettered_and_the_pump_moves_on(
    rig: StreamRig, table: Table, pump_log: list[logging.LogRecord]
) -> None:
    for key in ("poison", "innocent", "after"):
        table.put(key)
    rig.script.crash_on = {"poison"}

    rig.drain(rig.make_pump(batch_size=2, base_delay=0.1))

    assert rig.script.keys(stream_key) == [["poison", "innocent"]] * 3 + [["after"]]
    assert len(rig.delays) == 2
    assert rig.delays[0] > 0
    assert rig.delays[1] > rig.delays[0]
    [dead] = rig.dead_letter_files()
    assert [stream_key(r) for r in dead["records"]] == ["poison", "innocent"]
    assert "3 attempts" in dead["reason"]
    assert dead["source"] == STREAM_FUNCTION
    errors = [r.getMessage() for r in pump_log if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert STREAM_FUNCTION in errors[0]
    assert str(rig.dead_letters.directory) in errors[0]


def test_given_two_batches_failing_in_the_same_second_when_pumped_then_both_are_kept(
    rig: StreamRig, table: Table
) -> None:
    for key in ("poison-1", "poison-2"):
        table.put(key)
    rig.script.crash_on = {"poison-1", "poison-2"}

    rig.drain(rig.make_pump(batch_size=1))

    kept = [stream_key(r) for dead in rig.dead_letter_files() for r in dead["records"]]
    assert sorted(kept) == ["poison-1", "poison-2"]


# --- 5. checkpoints -----------------------------------------------------------------------------


def test_given_a_pump_that_delivered_when_a_new_pump_starts_from_its_checkpoints_then_nothing_is_redelivered(
    rig: StreamRig, table: Table, tmp_path: Path
) -> None:
    table.put("k1")
    table.put("k2")
    rig.drain(rig.make_pump())
    table.put("k3")

    restarted = Checkpoints(rig.checkpoints.path)
    restarted.load()
    rig.drain(rig.make_pump(checkpoint_file=restarted))

    assert rig.script.keys(stream_key) == [["k1", "k2"], ["k3"]]


def rewrite_checkpoints(path: Path, change: Callable[[str], str]) -> Checkpoints:
    positions = json.loads(path.read_text())
    assert positions, "the first pump saved no checkpoint"
    path.write_text(json.dumps({k: change(v) for k, v in positions.items()}))
    checkpoints = Checkpoints(path)
    checkpoints.load()
    return checkpoints


@pytest.mark.parametrize(
    "change",
    [
        # Sequence numbers are 21+ characters: shorter ones are refused by botocore itself.
        pytest.param(lambda _seq: "not-a-sequence-number-at-all", id="garbled"),
        pytest.param(lambda seq: str(int(seq) - 10**20), id="before-the-shard"),
        # Checkpoints newer than the data: the stack restored a snapshot older than them.
        pytest.param(lambda seq: str(int(seq) + 1000), id="past-the-end"),
    ],
)
def test_given_an_unusable_checkpoint_when_a_pump_starts_then_it_replays_the_shard_from_its_start(
    rig: StreamRig, table: Table, change: Callable[[str], str]
) -> None:
    table.put("k1")
    rig.drain(rig.make_pump())
    table.put("k2")

    rig.drain(rig.make_pump(checkpoint_file=rewrite_checkpoints(rig.checkpoints.path, change)))

    assert rig.script.keys(stream_key) == [["k1"], ["k1", "k2"]]


# --- 6. SQS -------------------------------------------------------------------------------------


@dataclass
class QueueRig:
    script: Script
    pump: QueuePump
    url: str
    sqs: Any

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body)


@pytest.fixture
def queue_rig(queue: tuple[str, str], clients: Aws, tmp_path: Path) -> QueueRig:
    name, url = queue
    script = Script()
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pump = QueuePump(
        QueueSource(QUEUE_FUNCTION, url, arn, batch_size=2),
        clients.sqs,
        invoker(make_app(script, queue=name, queue_batch_size=2), tmp_path),
        DeadLetters(tmp_path / "failed-events"),
        RetryPolicy(max_attempts=3, base_delay=0, sleep=lambda _s: None),
        region=REGION,
        wait_seconds=0,
    )
    return QueueRig(script, pump, url, clients.sqs)


def test_given_five_messages_when_pumped_then_they_arrive_in_batches_of_at_most_two_and_leave_the_queue(
    queue_rig: QueueRig,
) -> None:
    queue_rig.send("m1", "m2", "m3", "m4", "m5")

    for _ in range(10):
        queue_rig.pump.poll_once()

    assert all(1 <= len(batch) <= 2 for batch in queue_rig.script.batches)
    delivered = [key for batch in queue_rig.script.keys(queue_key) for key in batch]
    assert sorted(delivered) == ["m1", "m2", "m3", "m4", "m5"]
    assert queue_rig.script.batches[0][0]["eventSource"] == "aws:sqs"
    assert queue_rig.script.batches[0][0]["awsRegion"] == REGION
    assert queue_depth(queue_rig.sqs, queue_rig.url) == 0


def test_given_a_message_reported_failed_when_pumped_then_it_stays_and_comes_back_after_the_visibility_timeout(
    queue_rig: QueueRig,
) -> None:
    queue_rig.send("ok", "flaky")
    queue_rig.script.fail_once = {"flaky"}

    queue_rig.pump.poll_once()
    first = {queue_key(r): r for batch in queue_rig.script.batches for r in batch}
    assert set(first) == {"ok", "flaky"}
    assert queue_depth(queue_rig.sqs, queue_rig.url) == 1
    assert queue_rig.pump.poll_once() == 0  # still invisible

    time.sleep(1.2)
    assert queue_rig.pump.poll_once() == 1

    [again] = queue_rig.script.batches[-1]
    assert queue_key(again) == "flaky"
    assert again["messageId"] == first["flaky"]["messageId"]
    assert again["attributes"]["ApproximateReceiveCount"] == "2"
    assert queue_depth(queue_rig.sqs, queue_rig.url) == 0


def test_given_a_crashing_handler_when_pumped_then_every_message_stays_in_the_queue(
    queue_rig: QueueRig, pump_log: list[logging.LogRecord]
) -> None:
    queue_rig.send("m1", "m2")
    queue_rig.script.crash_on = {"m1", "m2"}

    assert queue_rig.pump.poll_once() == 0
    assert queue_depth(queue_rig.sqs, queue_rig.url) == 2
    assert any(r.levelno == logging.WARNING and "raised" in r.getMessage() for r in pump_log)

    queue_rig.script.crash_on = set()
    time.sleep(1.2)
    assert queue_rig.pump.poll_once() == 2
    assert queue_depth(queue_rig.sqs, queue_rig.url) == 0


# --- 7. wiring ----------------------------------------------------------------------------------


def test_given_stream_arns_naming_a_logical_table_then_they_map_to_the_stage_table() -> None:
    assert table_for_stream(STREAM_ARN, "coop-test") == "coop-test-activities"
    real = "arn:aws:dynamodb:eu-west-3:000000000000:table/coop-test-activities/stream/2024-01-01T00:00:00.000"
    assert table_for_stream(real, "coop-test") == "coop-test-activities"
    with pytest.raises(ValueError, match="cannot find the table"):
        table_for_stream("arn:aws:sqs:eu-west-3:000000000000:queue", "coop-test")


def test_given_an_app_when_its_pumps_are_built_and_run_then_writes_and_messages_reach_its_handlers(
    aws: Stack,
    table: Table,
    queue: tuple[str, str],
    clients: Aws,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, url = queue
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    monkeypatch.setenv("TABLE_PREFIX", table.prefix)
    script = Script()
    app = make_app(script, stream_batch_size=4, queue=name, queue_batch_size=3)

    threads = build_pumps(app, tmp_path, invoker(app, tmp_path))

    sources = {t.pump.source.function: t.pump.source for t in threads}
    assert set(sources) == {STREAM_FUNCTION, QUEUE_FUNCTION}
    stream, queued = sources[STREAM_FUNCTION], sources[QUEUE_FUNCTION]
    assert isinstance(stream, StreamSource)
    assert stream.table_name == table.name
    assert stream.batch_size == 4
    assert isinstance(queued, QueueSource)
    assert queued.queue_url == url
    assert queued.batch_size == 3

    for thread in threads:
        thread.start()
    try:
        table.put("live")
        clients.sqs.send_message(QueueUrl=url, MessageBody="export-1")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(script.batches) < 2:
            time.sleep(0.05)
    finally:
        for thread in threads:
            thread.stop()
        for thread in threads:
            thread.join(timeout=3)

    assert not any(thread.is_alive() for thread in threads)
    received = {
        key
        for batch in script.batches
        for key in (stream_key(r) if "dynamodb" in r else queue_key(r) for r in batch)
    }
    assert received == {"live", "export-1"}
    assert queue_depth(clients.sqs, url) == 0


def test_given_a_pump_thread_whose_polling_fails_then_it_keeps_running_until_stopped(
    table: Table, clients: Aws, tmp_path: Path
) -> None:
    source = StreamSource(STREAM_FUNCTION, f"{table.prefix}-missing", 10)
    pump = StreamPump(
        source,
        clients.dynamodb,
        clients.streams,
        invoker(make_app(Script()), tmp_path),
        Checkpoints(tmp_path / "checkpoints.json"),
        DeadLetters(tmp_path / "failed-events"),
    )
    thread = PumpThread(pump, interval=0.05)

    thread.start()
    time.sleep(0.3)
    alive_while_failing = thread.is_alive()
    thread.stop()
    thread.join(timeout=3)

    assert alive_while_failing
    assert not thread.is_alive()
