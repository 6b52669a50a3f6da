"""Performance fixes for the embedded AWS (dev and tests only; production is real DynamoDB).

moto 5.2 backs up every table a transaction touches with `copy.deepcopy` — the whole table and
its whole stream — before each TransactWriteItems. With a few thousand items every activity
write then costs hundreds of milliseconds of CPU under the GIL, and concurrent users time out
(seen with `make loadtest`). DynamoDB's own semantics give a cheaper, faithful implementation:

1. check every condition against the state before the transaction, without writing anything;
   any failure cancels the whole transaction with the per-item reasons, and nothing changed;
2. then apply the writes, backing up only the items they touch (and the streams' lengths), so
   that an unexpected error midway is still rolled back completely.

moto's server is threaded and its backend has no lock: two transactions could both pass their
checks and then interleave their writes (and a PutItem/UpdateItem could slip between a
transaction's check and its writes), so local concurrency results were not trustworthy. Every
DynamoDB backend operation that writes now runs under one lock (a BatchWriteItem is a series
of them, as in DynamoDB): transactions are serializable among writers. In server mode, MotoGate
(infra/local/journal.py) also keeps reads (TransactGetItems included) out while a write runs:
an item is never seen half updated.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

_PATCHED = False
LOCK = threading.RLock()
LOCKED = (
    "create_table",
    "delete_table",
    "update_table",
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
    "update_time_to_live",
    "restore_table_from_backup",
    "restore_table_to_point_in_time",
)


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return method(*args, **kwargs)

    return run


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _check(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import get_filter_expression

    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, ...]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        key = _key_of(backend, op_type, op)
        marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        condition = op.get("ConditionExpression")
        current = backend.get_item(op["TableName"], key)
        if condition is not None:
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
    return errors


def _apply(backend: Any, op_type: str, op: dict[str, Any]) -> None:
    common = {
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], **common)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], op["Key"], **common)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"], op["Key"], update_expression=op["UpdateExpression"], **common
        )


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import TooManyTransactionsException, TransactionCanceledException

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    errors = _check(self, transact_items)
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    backups = []
    streams: dict[str, int] = {}
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        table = self.get_table(op["TableName"])
        key = _key_of(self, op_type, op)
        backups.append((op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))))
        if table.stream_shard is not None:
            streams.setdefault(op["TableName"], len(table.stream_shard.items))
    try:
        for item in transact_items:
            op_type, op = next(iter(item.items()))
            _apply(self, op_type, op)
    except Exception:
        _rollback(self, backups, streams)
        raise


def _rollback(backend: Any, backups: list[Any], streams: dict[str, int]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    for table_name, key, before in reversed(backups):
        table = backend.get_table(table_name)
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        if before is None:
            if range_key is not None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items.pop(hash_key, None)
        elif range_key is not None:
            table.items[hash_key][range_key] = before
        else:
            table.items[hash_key] = before
    for table_name, length in streams.items():
        del backend.get_table(table_name).stream_shard.items[length:]


def apply() -> None:
    """Install the patch once per process (moto server or in-process)."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name in LOCKED:
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    _PATCHED = True
