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


def join_structure(container: Any, mediateur_id: str, siret: str | None) -> None:
    """At sign-in: the mediator's statistics count for the structure of their profile. Never
    fails the sign-in: what could not be moved is finished by the daily verification (the
    mediator is noted as changed today before anything moves)."""
    try:
        if container.projector.join(mediateur_id, siret):
            observability.count("StatsStructureMoves")
    except Exception as exc:
        observability.logger().warning("structure statistics not moved", error=type(exc).__name__)
        observability.count("StatsStructureMoveFailures")


def daily_verification(event: Any) -> dict[str, int]:
    """Scheduled once a day: recompute the statistics of the mediators whose activities changed
    yesterday or today (the projector marks them), repair what drifted, and count it
    (`StatsDrift`: an alarm on it means the stream pipeline lost or mangled something)."""
    from datetime import timedelta

    from chalicelib.stats.verify import verify

    container = bootstrap.get()
    today = container.today()
    stats = container._stats_store
    touched = dict.fromkeys([*stats.touched(today - timedelta(days=1)), *stats.touched(today)])
    report = verify(container, list(touched), repair=True)
    observability.count("StatsDrift", len(report.drifts))
    observability.count("StatsVerifiedMediators", report.mediateurs)
    if report.failures:
        observability.count("StatsVerificationFailures", len(report.failures))
    if report.drifts or report.failures:
        # Pseudonymous ids and month keys only: never a name or a beneficiary.
        observability.logger().warning(
            "statistics drift",
            drifts=[f"{d.mediateur_id} {d.month}" for d in report.drifts][:50],
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
