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
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import TransactWriteError

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


def as_dict(value: Any) -> dict[str, Any]:
    """A map attribute's value as a plain dict ({} when absent)."""
    if value is None:
        return {}
    if isinstance(value, MapAttribute):
        return dict(value.as_dict())
    return dict(value)
