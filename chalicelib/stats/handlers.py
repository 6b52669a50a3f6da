"""Lambda entry points of the statistics (wired in app.py)."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap, observability
from chalicelib.store.stream import changes_of


def on_activity_records(event: Any) -> dict[str, list[dict[str, str]]]:
    """DynamoDB stream batch -> recomputed buckets; `batchItemFailures` names the record to
    retry from (ReportBatchItemFailures is enabled on the event source mapping)."""
    records = event.to_dict().get("Records", []) if hasattr(event, "to_dict") else event["Records"]
    failed = bootstrap.get().projector.handle(changes_of(records))
    observability.count("StatsRecords", len(records))
    if failed:
        observability.count("StatsBatchPartialFailures")
    observability.flush()
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}


def daily_verification(event: Any) -> dict[str, int]:
    """Scheduled once a day: recompute the statistics of the mediators whose activities changed
    yesterday or today (the projector marks them), repair what drifted, and count it
    (`StatsDrift`: an alarm on it means the stream pipeline lost or mangled something)."""
    report = bootstrap.get().verifier.daily()
    observability.count("StatsDrift", len(report.drifts))
    observability.count("StatsVerifiedMediators", report.mediateurs)
    if report.failures:
        observability.count("StatsVerificationFailures", len(report.failures))
    if report.drifts or report.failures:
        # Pseudonymous ids and month keys only: never a name or a beneficiary.
        observability.logger().warning(
            "statistics drift",
            drifts=[f"{d.owner.id} {d.month}" for d in report.drifts][:50],
            failures=[f"{m} {e}" for m, e in report.failures][:50],
        )
    observability.flush()
    return {
        "mediateurs": report.mediateurs,
        "structures": report.structures,
        "mois": report.months,
        "ecarts": len(report.drifts),
        "non_repares": len(report.unrepaired),
        "echecs": len(report.failures),
    }
