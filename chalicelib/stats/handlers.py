"""Lambda entry points of the statistics (wired in app.py)."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap, observability


def on_activity_records(event: Any) -> dict[str, list[dict[str, str]]]:
    """DynamoDB stream batch -> recomputed buckets; `batchItemFailures` names the record to
    retry from (ReportBatchItemFailures is enabled on the event source mapping)."""
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event["Records"]
    failed = bootstrap.get().projector.handle(records)
    observability.count("StatsRecords", len(records))
    if failed:
        observability.count("StatsBatchPartialFailures")
    observability.flush()
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
