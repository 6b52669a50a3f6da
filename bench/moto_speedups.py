"""Emulator speed-ups for the benchmarks only (moto 5.2, server mode).

The benchmarks measure the app, not the emulator, but some costs of moto grow with the *table*
where DynamoDB's grow with the *page*, or cost milliseconds per item where DynamoDB costs
microseconds, and they would swamp every figure (and the 15-minute budget) once a table holds
100 000 items:

1. `Item.__init__` re-measures the whole item for every attribute it sets (quadratic in the
   number of attributes: 75 % of a PutItem with our ~30-attribute activities).
2. `Table.query` sorts *every item of the table* on every Query page, then walks from the first
   item to the page's start key: reading a 5 000-item partition took 41 s, 100 000 items would
   take hours.
3. Every response is serialized by walking botocore's output shapes value by value (~5 ms per
   activity read, 10 times the Query itself), after `dynamo_to_dict` copied it value by value.
4. Every request is parsed the same way (a third of a batch write).

`apply()` replaces (1) by one size check per item (`item_size`: moto's own size rules without
a DynamoType per value). It gives (2) a fast path for the queries the app makes (base table or
LSI, string keys, KeyConditionExpression): the partition is sorted once and kept until a write
reaches that table; the key condition and the start key are found by bisection; Limit, the
1 MB page limit, LastEvaluatedKey, the LSI projection and the filter expression are applied as
moto does; an item's wire form and size are computed once per table version. Anything else
(GSIs, legacy KeyConditions, number keys) goes to moto's own code; `check_against_moto()`
compares both on the live tables. For (3), the result of an item read or write (GetItem,
Query, Scan, BatchGetItem, PutItem, UpdateItem, DeleteItem) is DynamoDB's JSON wire format
already: it is encoded by moto's own `DynamoJsonEncoder` (the same document:
`check_serializer()` compares both); errors, batch writes, transactions and table operations
keep moto's serializer. For (4), a request without binary values is plain JSON whose parse is
`json.loads` of the body (`check_parser()` compares both).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections.abc import Callable
from typing import Any

_PATCHED = False
_lock = threading.Lock()
# Bumped by every write; a cached partition order is only used at the version it was built at.
_versions: dict[str, int] = {}
_cache: dict[tuple[str, str | None, str], tuple[int, list[tuple[str, ...]], list[Any]]] = {}
_original_query: Callable[..., Any] | None = None
_original_execute: Callable[..., Any] | None = None
_FAST_RESULTS = frozenset(
    ("GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem")
)
_original_parse: Callable[..., Any] | None = None
_BINARY = re.compile(rb'"BS?"\s*:')
_MAX = "\U0010ffff"
# (table, id(item)) -> (table version, item, wire JSON dict, size): what a Query page returns,
# built once per item and table version (the item is kept so that its id cannot be reused).
_encoded: dict[tuple[str, int], tuple[int, Any, dict[str, Any], int]] = {}


def _bump(table_name: str | None) -> None:
    with _lock:
        if table_name is None:
            for name in list(_versions):
                _versions[name] += 1
            _cache.clear()
        else:
            _versions[table_name] = _versions.get(table_name, 0) + 1


def _value_size(value: Any) -> int:
    """`DynamoType.size()`, the same rules, without building a DynamoType per set member."""
    kind, inner = value.type, value.value
    if kind == "N":
        return len(str(inner))
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v)) if kind == "NS" else _bytes(v) for v in inner)
    if kind == "L":
        return sum(_value_size(v) for v in inner)
    if kind == "M":
        return sum(_bytes(k) + _value_size(v) for k, v in inner.items())
    if isinstance(inner, bool):
        return 1
    return _bytes(inner)


def _bytes(value: Any) -> int:
    return len(value if isinstance(value, bytes) else value.encode("utf-8"))


def item_size(attrs: dict[str, Any]) -> int:
    """`Item.size()`: what moto counts against the 400 KB item and 1 MB page limits."""
    return sum(_bytes(k) + _value_size(v) for k, v in attrs.items())


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    self.hash_key = hash_key
    self.range_key = range_key
    values = LimitedSizeDict()
    converted = {key: DynamoType(value) for key, value in attrs.items()}
    if item_size(converted) > 405000:
        raise ItemSizeTooLarge
    dict.update(values, converted)
    self.attrs = values


def _string_attr(table: Any, name: str | None) -> bool:
    if name is None:
        return False
    types = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
    return types.get(name) == "S"


def _sort_attrs(table: Any, index_name: str | None) -> tuple[str, ...] | None:
    """The attributes a partition is ordered by (base table: sk; LSI: its key, then sk)."""
    if table.range_key_attr is None or not _string_attr(table, table.hash_key_attr):
        return None
    if not _string_attr(table, table.range_key_attr):
        return None
    if index_name is None:
        return (table.range_key_attr,)
    lsi = next((i for i in table.indexes or () if i.name == index_name), None)
    if lsi is None:
        return None  # a GSI: moto's own path
    ranges = [k["AttributeName"] for k in lsi.schema if k["KeyType"] == "RANGE"]
    if len(ranges) != 1 or not _string_attr(table, ranges[0]):
        return None
    return (ranges[0], table.range_key_attr)


def _partition(table: Any, index_name: str | None, hash_value: str, attrs: tuple[str, ...]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    key = (table.name, index_name, hash_value)
    version = _versions.setdefault(table.name, 0)
    found = _cache.get(key)
    if found is not None and found[0] == version:
        return found[1], found[2]
    rows = []
    for item in table.items.get(DynamoType({"S": hash_value}), {}).values():
        values = [item.attrs.get(a) for a in attrs]
        if all(v is not None and v.type == "S" for v in values):
            rows.append((tuple(str(v.value) for v in values), item))
    rows.sort(key=lambda row: row[0])
    keys = [row[0] for row in rows]
    items = [row[1] for row in rows]
    with _lock:
        if _versions.get(table.name, 0) == version:
            _cache[key] = (version, keys, items)
    return keys, items


class _Wire:
    """A Query result item already in wire format (moto's response reads `.attrs` only)."""

    __slots__ = ("attrs", "hash_key", "range_key")

    def __init__(self, attrs: dict[str, Any], item: Any) -> None:
        self.attrs = attrs
        self.hash_key, self.range_key = item.hash_key, item.range_key  # check_against_moto


def _plain(value: Any) -> dict[str, Any]:
    """What `DynamoJsonEncoder` writes for a DynamoType, as plain dicts."""
    import base64

    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {k: _plain(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_plain(v) for v in inner]}
    if kind in ("B", "BS"):
        encode = lambda b: base64.b64encode(b).decode() if isinstance(b, bytes) else b  # noqa: E731
        return {kind: encode(inner) if kind == "B" else [encode(b) for b in inner]}
    return {kind: inner}


def _encoded_item(table_name: str, item: Any, version: int) -> tuple[dict[str, Any], int]:
    found = _encoded.get((table_name, id(item)))
    if found is not None and found[0] == version and found[1] is item:
        return found[2], found[3]
    wire = {name: _plain(v) for name, v in item.attrs.items()}
    size = item_size(item.attrs)
    _encoded[(table_name, id(item))] = (version, item, wire, size)
    return wire, size


def _bounds(keys: list[tuple[str, ...]], comparison: str | None, values: list[str]) -> range:
    """Positions of the keys whose first part satisfies the key condition."""
    low, high = 0, len(keys)
    op = (comparison or "").upper()
    if op in ("EQ", "="):
        low, high = (
            bisect.bisect_left(keys, (values[0],)),
            bisect.bisect_left(keys, (values[0] + "\x00",)),
        )
    elif op == "BETWEEN":
        low = bisect.bisect_left(keys, (values[0],))
        high = bisect.bisect_left(keys, (values[1] + "\x00",))
    elif op == "BEGINS_WITH":
        low = bisect.bisect_left(keys, (values[0],))
        high = bisect.bisect_left(keys, (values[0] + _MAX,))
    elif op in ("LT", "<"):
        high = bisect.bisect_left(keys, (values[0],))
    elif op in ("LE", "<="):
        high = bisect.bisect_left(keys, (values[0] + "\x00",))
    elif op in ("GT", ">"):
        low = bisect.bisect_left(keys, (values[0] + "\x00",))
    elif op in ("GE", ">="):
        low = bisect.bisect_left(keys, (values[0],))
    elif op:
        raise LookupError(op)
    return range(low, max(low, high))


def _fast_query(
    table: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    scan_index_forward: bool,
    projection_expressions: Any,
    index_name: str | None,
    filter_expression: Any,
) -> tuple[list[Any], int, dict[str, Any] | None] | None:
    attrs = _sort_attrs(table, index_name)
    if attrs is None or hash_key is None or hash_key.type != "S":
        return None
    if any(obj.type != "S" for obj in range_objs):
        return None
    keys, items = _partition(table, index_name, str(hash_key.value), attrs)
    try:
        span = _bounds(keys, range_comparison, [str(o.value) for o in range_objs])
    except LookupError:
        return None
    if exclusive_start_key:
        start = tuple(str(exclusive_start_key[a]["S"]) for a in attrs)
        if scan_index_forward:
            span = range(max(span.start, bisect.bisect_right(keys, start)), span.stop)
        else:
            span = range(span.start, min(span.stop, bisect.bisect_left(keys, start)))
    order = span if scan_index_forward else reversed(span)
    results, wires, last_key = _page(table, items, order, limit, index_name)
    scanned = len(results)
    if (
        filter_expression is None
        and not projection_expressions
        and _projects_all(table, index_name)
    ):
        return wires, scanned, last_key
    if index_name:
        index = table.get_index(index_name)
        results = [index.project(r) for r in results]
    if filter_expression is not None:
        results = [r for r in results if filter_expression.expr(r)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned, last_key


def _page(
    table: Any, items: list[Any], order: Any, limit: int | None, index_name: str | None
) -> tuple[list[Any], list[_Wire], dict[str, Any] | None]:
    """One page: `limit` items or 1 MB, whichever comes first, and the key to go on from."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    version = _versions.get(table.name, 0)
    results: list[Any] = []
    wires: list[_Wire] = []
    size = 0
    for position in order:
        item = items[position]
        wire, this_size = _encoded_item(table.name, item, version)
        if (limit is not None and len(results) == limit) or size + this_size > RESULT_SIZE_LIMIT:
            return results, wires, table._get_last_evaluated_key(results[-1], index_name)
        results.append(item)
        wires.append(_Wire(wire, item))
        size += this_size
    return results, wires, None


def _projects_all(table: Any, index_name: str | None) -> bool:
    if index_name is None:
        return True
    projection = table.get_index(index_name).projection or {}
    return bool(projection.get("ProjectionType") in (None, "ALL"))


def _query(
    self: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: Any,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: Any = None,
    range_key_conditions: Any = None,
    **filter_kwargs: Any,
) -> Any:
    simple = not filter_kwargs and len(range_key_conditions or ()) <= 1
    simple = simple and len(hash_key_conditions or ()) <= 1
    if simple:
        fast = _fast_query(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            filter_expression,
        )
        if fast is not None:
            return fast
    assert _original_query is not None
    return _original_query(
        self,
        hash_key,
        range_comparison,
        range_objs,
        limit,
        exclusive_start_key,
        scan_index_forward,
        projection_expressions,
        index_name,
        consistent_read,
        filter_expression,
        hash_key_conditions=hash_key_conditions,
        range_key_conditions=range_key_conditions,
        **filter_kwargs,
    )


def _result_init(self: Any, result: object) -> None:
    self._raw = result
    self._converted = None


def _result(self: Any) -> Any:
    """The raw result (moto's wrappers add ConsumedCapacity to it) until moto's serializer
    needs the converted copy."""
    return self._raw if self._converted is None else self._converted


def _execute_result(self: Any, context: Any) -> Any:
    from moto.dynamodb.models.utilities import dynamo_json_dump, dynamo_to_dict

    if context.operation_model.name in _FAST_RESULTS and isinstance(self._raw, dict):
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, dynamo_json_dump(self._raw)
    self._converted = dynamo_to_dict(self._raw)
    assert _original_execute is not None
    return _original_execute(self, context)


def check_serializer(result: Any, context: Any) -> bool:
    """Whether the fast path gives the same JSON document as moto's serializer."""
    from moto.dynamodb.models.utilities import dynamo_to_dict

    assert _original_execute is not None
    fast = _execute_result(result, context)[2]
    result._converted = dynamo_to_dict(result._raw)
    _, _, body = _original_execute(result, context)
    result._converted = None
    return bool(json.loads(body) == json.loads(fast))


def _parse_parameters(self: Any, request: Any) -> None:
    data = request.data
    if data and not _BINARY.search(data):
        self.params = json.loads(data)
        return
    assert _original_parse is not None
    _original_parse(self, request)


def check_parser(handler: Any, request: Any) -> bool:
    """Whether `json.loads` gives what moto's parser gives for this request."""
    assert _original_parse is not None
    _original_parse(handler, request)
    slow = handler.params
    _parse_parameters(handler, request)
    return bool(slow == handler.params)


def _bumping(method: Callable[..., Any], table_of: Callable[..., str | None]) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            _bump(table_of(self, *args, **kwargs))

    wrapper.__wrapped__ = method  # type: ignore[attr-defined]
    return wrapper


def _first_arg(_self: Any, *args: Any, **kwargs: Any) -> str | None:
    if args:
        return str(args[0])
    return kwargs.get("table_name")


def apply() -> None:
    """Install the speed-ups once per process (the process that runs the moto server)."""
    global _PATCHED, _original_query, _original_execute, _original_parse
    if _PATCHED:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    from infra.local import moto_patches

    moto_patches.apply()  # the project's own transaction fix first: we wrap the result
    Item.__init__ = _item_init  # type: ignore[method-assign]
    _original_query = Table.query
    Table.query = _query  # type: ignore[method-assign]
    _original_execute = DynamoResult.execute_result
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign]
    DynamoResult.__init__ = _result_init  # type: ignore[method-assign]
    DynamoResult.result = property(_result)  # type: ignore[method-assign, assignment]
    _original_parse = DynamoHandler.parse_parameters
    DynamoHandler.parse_parameters = _parse_parameters  # type: ignore[method-assign]
    everything: Callable[..., None] = lambda *_a, **_k: None  # noqa: E731 - bump every table
    for name, table_of in (
        ("put_item", _first_arg),
        ("delete_item", _first_arg),
        ("update_item", _first_arg),
        ("transact_write_items", everything),
        ("delete_table", _first_arg),
        ("create_table", _first_arg),
    ):
        setattr(DynamoDBBackend, name, _bumping(getattr(DynamoDBBackend, name), table_of))
    _PATCHED = True


def check_against_moto(samples: list[dict[str, Any]]) -> list[str]:
    """Run each query (backend.query kwargs) through both paths; the differences found."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"]
    problems = []
    for sample in samples:
        fast = backend.query(**sample)
        cls = type(backend.get_table(sample["table_name"]))
        patched = cls.query
        cls.query = _original_query
        try:
            slow = backend.query(**sample)
        finally:
            cls.query = patched
        fast_keys = [(i.hash_key, i.range_key) for i in fast[0]]
        slow_keys = [(i.hash_key, i.range_key) for i in slow[0]]
        if fast_keys != slow_keys or (fast[2] is None) != (slow[2] is None):
            problems.append(f"{sample}: {len(fast_keys)} vs {len(slow_keys)} items")
    return problems
