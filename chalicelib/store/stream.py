"""The activities table's stream records (DynamoDB JSON images) -> `stats.ports.Change`s.

A record names the buckets it may have changed: the old image's month and the new image's
month of one mediator (an activity moved to another month changes both). Records of other item
kinds (none today) change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.stats.ports import Change
from chalicelib.store.dynamo import ACT, MED


def _string(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, dict) and isinstance(value.get("S"), str):
        return str(value["S"])
    return None


def _activity_month(image: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(mediator, YYYY-MM) of an activity image; None for other item kinds or no image."""
    if not image or _string(image, "kind") not in (None, "activite"):
        return None
    pk, day = _string(image, "pk"), _string(image, "date")
    if not pk or not pk.startswith(MED) or not day or len(day) < 7:
        return None
    if not (_string(image, "sk") or "").startswith(ACT):
        return None
    return pk.removeprefix(MED), day[:7]


def changes_of(records: Iterable[Mapping[str, Any]]) -> list[Change]:
    """What each record may have changed, in the records' order."""
    changes = []
    for record in records:
        body = record.get("dynamodb") or {}
        found = [_activity_month(body.get("OldImage")), _activity_month(body.get("NewImage"))]
        touched = [f for f in found if f]
        if touched:
            mediateur_id = touched[0][0]
            months = frozenset(month for _, month in touched)
            changes.append(Change(str(body.get("SequenceNumber", "")), mediateur_id, months))
    return changes
