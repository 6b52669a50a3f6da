"""Powertools Logger and Metrics, built once per process on first use (never at import).

Log lines carry the request id, the route template, the status and the duration; never a
concrete path, a query string, a form value or a claim (they may hold personal data).
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_logger: Any = None
_metrics: Any = None


def logger() -> Any:
    global _logger
    if _logger is None:
        with _lock:
            if _logger is None:
                from aws_lambda_powertools import Logger

                service = os.environ.get("POWERTOOLS_SERVICE_NAME", "coop")
                _logger = Logger(service=service, log_uncaught_exceptions=False)
                # Chalice's app logger has the same name ("coop") and its own handler: keep only
                # Powertools' JSON handler and no propagation, so every line is written once.
                inner = _logger._logger
                inner.handlers = [h for h in inner.handlers if h is _logger.logger_handler]
                inner.propagate = False
    return _logger


def metrics() -> Any:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                from aws_lambda_powertools import Metrics

                _metrics = Metrics(
                    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Coop"),
                    service=os.environ.get("POWERTOOLS_SERVICE_NAME", "coop"),
                )
    return _metrics


def _metrics_disabled() -> bool:
    # Powertools keeps (and never flushes) metrics added while disabled: do not add them at all.
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true", "yes")


def count(name: str, value: float = 1) -> None:
    if _metrics_disabled():
        return
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    if _metrics_disabled():
        return
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)


def frames(exc: BaseException) -> list[str]:
    """Where an exception went through, without its message (which may quote user input)."""
    import traceback

    return [
        f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
        for f in traceback.extract_tb(exc.__traceback__)
    ]


def log_event(
    message: str, level: str = "info", exc: BaseException | None = None, **keys: Any
) -> None:
    """A log line of ids, counts and error types only (never names, filters or notes); an
    exception adds where it went through (`frames`), never its message."""
    if exc is not None:
        keys["frames"] = frames(exc)
    getattr(logger(), level)(message, **keys)


def flush() -> None:
    """Emit the EMF blob for what this invocation recorded (nothing when empty)."""
    import warnings

    if _metrics_disabled():
        return
    with warnings.catch_warnings():
        # Disabled metrics (local stage) leave the set empty: that is expected, not a warning.
        warnings.simplefilter("ignore", UserWarning)
        metrics().flush_metrics(raise_on_empty_metrics=False)
