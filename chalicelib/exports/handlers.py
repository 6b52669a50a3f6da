"""Lambda entry point of the export worker (wired in app.py)."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap, observability
from chalicelib.exports.worker import Retry


def on_export_messages(event: Any) -> dict[str, list[dict[str, str]]]:
    """SQS batch → exports. Failed messages come back: when every record of the batch failed
    (always, at batch size 1) the invocation raises, which works with or without
    ReportBatchItemFailures on the event source mapping; a partial failure is reported in
    `batchItemFailures`."""
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event["Records"]
    failed = bootstrap.get().export_worker.handle(records)
    observability.count("ExportMessages", len(records))
    if failed:
        observability.count("ExportMessagesRetried", len(failed))
    observability.flush()
    if failed and len(failed) == len(records):
        raise Retry(f"{len(failed)} export message(s) to deliver again")
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
