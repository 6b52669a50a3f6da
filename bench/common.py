"""What every benchmark case shares: results, medians, the embedded AWS, DynamoDB meters.

Machines are shared and noisy: a target is a ratio of two things measured in the same run, or a
count that does not depend on the machine. Absolute figures are printed for information only.
"""

from __future__ import annotations

import os
import statistics
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-west-3"


@dataclass
class Result:
    name: str
    value: float
    unit: str
    target: str  # e.g. "<= 1.6", ">= 100", "report"
    raw: dict[str, Any] = field(default_factory=dict)
    also: bool = True  # a second condition of the target (e.g. "the same at every N")

    @property
    def ok(self) -> bool:
        op, _, bound = self.target.partition(" ")
        bound = bound.split(" ")[0].rstrip(",")
        if not self.also:
            return False
        if op == "<=":
            return self.value <= float(bound)
        if op == ">=":
            return self.value >= float(bound)
        return True  # "report": information only

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "target": self.target,
            "ok": self.ok,
            "raw": self.raw,
        }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


# --- DynamoDB size rules (capacity units) -------------------------------------------------------


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, DynamoDB's rules (wire format {"S": ...})."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(inner) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in inner)
    return sum(len(b) for b in inner)


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """WCUs of one Put/Update/Delete: 1 KB units of the larger of the old and new item."""
    size = max(item_size(old), item_size(new))
    return max(1, -(-size // 1024))


# --- the embedded AWS ---------------------------------------------------------------------------


@dataclass
class Stack:
    endpoint: str
    names: Any
    queues: dict[str, str]


@contextmanager
def embedded_aws(stage: str = "bench") -> Iterator[Stack]:
    """moto in server mode in this process (like tests/web), with the benchmark speed-ups."""
    from bench import moto_speedups
    from infra.local.aws import FAKE_CREDENTIALS, StackNames, moto_server, provision

    os.environ.update(FAKE_CREDENTIALS)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_speedups.apply()
    with moto_server() as endpoint:
        names = StackNames.for_stage(stage)
        queues = provision(endpoint, names)
        yield Stack(endpoint, names, queues)


def app_env(stack: Stack, issuer: str = "", public_url: str = "http://127.0.0.1:8000") -> dict:
    return {
        "STAGE": "local",
        "AWS_ENDPOINT_URL": stack.endpoint,
        "TABLE_PREFIX": stack.names.table_prefix,
        "EXPORT_BUCKET": stack.names.bucket,
        "EXPORT_QUEUE_URL": stack.queues["queue"],
        "PUBLIC_URL": public_url,
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "coop-local",
        "OIDC_CLIENT_SECRET": "coop-local-secret",
        "ANONYMOUS_ATTEMPTS_PER_10_MIN": "1000000",  # every request comes from one address
        "ANONYMOUS_BYTES_PER_10_MIN": str(1 << 40),
    }


def use_stack(stack: Stack, issuer: str = "") -> Any:
    """Point the app's composition root at the stack; returns the container."""
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    os.environ.update(app_env(stack, issuer))
    bootstrap.override(bootstrap.Container(Settings.from_env(os.environ)))
    return bootstrap.get()


def moto_table(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(name)


@contextmanager
def streams_off(*tables: str) -> Iterator[None]:
    """Seeding only: items written meanwhile leave no stream record (moto would keep every
    record in memory; the cases that need the stream switch it back on first)."""
    shards = {name: moto_table(name).stream_shard for name in tables}
    for name in tables:
        moto_table(name).stream_shard = None
    try:
        yield
    finally:
        for name, shard in shards.items():
            moto_table(name).stream_shard = shard


# --- DynamoDB meters (botocore event hooks on the app's one client) ------------------------------

READS = ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems")


def _items_returned(operation: str, parsed: dict[str, Any]) -> int:
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation in ("Query", "Scan"):
        return int(parsed.get("ScannedCount", parsed.get("Count", 0)))
    if operation == "BatchGetItem":
        return sum(len(v) for v in (parsed.get("Responses") or {}).values())
    if operation == "TransactGetItems":
        return sum(1 for r in parsed.get("Responses") or [] if r.get("Item"))
    return 0


class Meter:
    """Counts the app's DynamoDB calls (by operation) and the items they read."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0
        self.by_table: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.enabled = False

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.by_table.clear()
            self.items_read = 0

    def after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.enabled:
            return
        operation = model.name
        with self._lock:
            self.calls[operation] += 1
            if operation in READS:
                count = _items_returned(operation, parsed)
                self.items_read += count
                if operation == "BatchGetItem":
                    for table, items in (parsed.get("Responses") or {}).items():
                        self.by_table[table] += len(items)

    @contextmanager
    def counting(self) -> Iterator[Meter]:
        self.reset()
        self.enabled = True
        try:
            yield self
        finally:
            self.enabled = False


_meter: Meter | None = None


def dynamodb_meter() -> Meter:
    """The meter on the shared pynamodb connection's botocore client (built once)."""
    global _meter
    from chalicelib import bootstrap

    if _meter is None:
        _meter = Meter()
    client = bootstrap.get().db.connection.client
    if not getattr(client, "_bench_metered", False):
        client.meta.events.register("after-call.dynamodb", _meter.after_call)
        client._bench_metered = True
    return _meter


# --- write capacity, from the items' real sizes before and after each write ---------------------


def stored_item(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item as the embedded table holds it now (wire format), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = moto_table(table_name)
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_value, range_value)
    return dict(item.to_json()["Attributes"]) if item else None


def _key_of(table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    table = moto_table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: item[name] for name in names}


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """(table, key, WCU multiplier) of every item a write request touches."""
    if operation == "PutItem":
        table = params["TableName"]
        return [(table, _key_of(table, params["Item"]), 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], 1)]
    if operation == "BatchWriteItem":
        found = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    found.append((table, _key_of(table, request["PutRequest"]["Item"]), 1))
                else:
                    found.append((table, request["DeleteRequest"]["Key"], 1))
        return found
    if operation == "TransactWriteItems":  # transactions cost twice
        found = []
        for entry in params["TransactItems"]:
            kind, op = next(iter(entry.items()))
            key = _key_of(op["TableName"], op["Item"]) if kind == "Put" else op["Key"]
            found.append((op["TableName"], key, 2))
        return found
    return []


class WriteUnits:
    """WCUs consumed by the app's DynamoDB writes, computed from the real item sizes before and
    after each write (1 KB units of the larger of the two, twice for transactions)."""

    def __init__(self) -> None:
        self.units = 0
        self.writes: Counter[str] = Counter()
        self.by_table: Counter[str] = Counter()
        self.by_owner: Counter[str] = Counter()  # pk prefix: MED#, STR#, TOUCHED#…
        self._before: list[tuple[str, dict[str, Any], int, dict[str, Any] | None]] = []
        self.enabled = False

    def before_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.enabled:
            return
        self._before = [
            (table, key, factor, stored_item(table, key))
            for table, key, factor in _written_keys(model.name, params)
        ]

    def after_call(self, model: Any, **_: Any) -> None:
        if not self.enabled or not self._before:
            return
        for table, key, factor, old in self._before:
            units = factor * write_units(old, stored_item(table, key))
            self.units += units
            self.by_table[table] += units
            self.by_owner[str(key.get("pk", {}).get("S", "")).partition("#")[0]] += units
        self.writes[model.name] += 1
        self._before = []


def write_meter() -> WriteUnits:
    from chalicelib import bootstrap

    meter = WriteUnits()
    client = bootstrap.get().db.connection.client
    client.meta.events.register("before-parameter-build.dynamodb", meter.before_call)
    client.meta.events.register("after-call.dynamodb", meter.after_call)
    return meter
