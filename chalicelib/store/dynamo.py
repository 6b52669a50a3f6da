"""What every DynamoDB repository shares: key formats, cursors, "condition failed", map values.

Keys (`store/tables.py` has the tables; each repository's docstring its items):
- `MED#<mediator>`   a mediator's partition (app, activities, beneficiaries and stats tables)
- `STR#<siret>`      a structure's statistics (stats table)
- `BEN#<id>`         a beneficiary (item sort key, and the partition of their activity links)
- `ACT#<id>`         an activity (item sort key)
- `IDX#<mediator>`   a mediator's search index of beneficiaries
- `IDEM#<mediator>`  a mediator's idempotency keys
Ownership is structural: every partition key starts with the signed-in mediator's id (or their
structure's SIRET), taken from the session, never from the request; cursors carry sort keys only.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Unavailable
from chalicelib.stats.ports import Owner

MED = "MED#"
STR = "STR#"
BEN = "BEN#"
ACT = "ACT#"
IDX = "IDX#"
IDEM = "IDEM#"
MAX_CURSOR = 600


def med(mediateur_id: str) -> str:
    return MED + mediateur_id


def ben(beneficiaire_id: str) -> str:
    return BEN + beneficiaire_id


def owner_key(owner: Owner) -> str:
    """The partition of a mediator's or a structure's statistics."""
    return (STR if owner.is_structure else MED) + owner.id


# --- cursors ----------------------------------------------------------------------------------


def encode_cursor(sk: str, index_sk: str) -> str:
    """An opaque cursor from the last item's sort keys (the partition never travels)."""
    raw = json.dumps([sk, index_sk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, sk_prefix: str, max_part: int) -> tuple[str, str] | None:
    """(sort key, index sort key) of a cursor made by `encode_cursor`, or None for anything
    else (forged, truncated, from another list): the list starts over."""
    if not cursor or len(cursor) > MAX_CURSOR:
        return None
    try:
        sk, index_sk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    if not (isinstance(sk, str) and isinstance(index_sk, str) and sk.startswith(sk_prefix)):
        return None
    if len(sk) > max_part or len(index_sk) > max_part:
        return None
    return sk, index_sk


# --- errors -----------------------------------------------------------------------------------


def condition_failed(exc: Exception) -> bool:
    """True when a write was refused by its condition (a version, an existence check): for a
    single write (PutError, UpdateError, DeleteError) and for a transaction, where it is one of
    the cancellation reasons."""
    if isinstance(exc, TransactWriteError):
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return any(getattr(r, "code", None) == "ConditionalCheckFailed" for r in reasons if r)
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


# A transaction cancelled for these reasons changed nothing and may simply be tried again: another
# transaction held one of its items, or the table was throttled (botocore has already retried
# the throttled calls themselves).
TRANSIENT_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
TRANSIENT_CAUSES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "TransactionConflictException",
    }
)
TRANSACTION_ATTEMPTS = 4
BACKOFF_SECONDS = 0.05  # then 0.1, 0.2 (× a random factor in [0.5, 1.5))


def transient(exc: Exception) -> bool:
    """A failure that changed nothing and may pass if tried again."""
    if getattr(exc, "cause_response_code", None) in TRANSIENT_CAUSES:
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    codes = {getattr(r, "code", None) for r in reasons if r}
    return bool(codes & TRANSIENT_REASONS) and "ConditionalCheckFailed" not in codes


def transact(
    connection: Any,
    write: Callable[[TransactWrite], None],
    attempts: int = TRANSACTION_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run one transaction (`write` adds its actions), again with a jittered, growing delay
    while it is cancelled for a transient reason; then `Unavailable` (a French 503, nothing
    saved). A refused condition is raised at once: the caller decides what it means."""
    for attempt in range(attempts):
        try:
            with TransactWrite(connection=connection) as tx:
                write(tx)
            return
        except TransactWriteError as exc:
            if not transient(exc):
                raise
            if attempt == attempts - 1:
                raise Unavailable("transaction") from None
            sleep(BACKOFF_SECONDS * 2**attempt * (0.5 + random.random()))


def as_dict(value: Any) -> dict[str, Any]:
    """A map attribute's value as a plain dict ({} when absent)."""
    if value is None:
        return {}
    if isinstance(value, MapAttribute):
        return dict(value.as_dict())
    return dict(value)
