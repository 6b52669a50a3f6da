"""Logs: one JSON line per request with its request id, and no personal data in them."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib import observability
from tests.conftest import Browser


def test_requests_are_logged_once_with_their_id_and_no_personal_data(browser: Browser) -> None:
    handler = observability.logger()._logger.handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        browser.sign_in("zoe.quatrefages@example.org")
        browser.post(
            "/bienvenue",
            {
                "nom": "Chez Zoé Quatrefages",
                "adresse": "7 impasse Secrète",
                "commune_insee_q": "Villeurbanne",
            },
        )
        browser.get("/api/communes?q=quatrefages")
        browser.get("/introuvable?nom=quatrefages")
    finally:
        handler.setStream(previous)
    raw = buffer.getvalue()
    lines = [json.loads(line) for line in raw.splitlines() if line.strip()]

    requests = [line for line in lines if line.get("message") == "request"]
    assert len(requests) >= 6
    assert all(line["request_id"] and line["route"] for line in requests)
    assert len({line["request_id"] for line in requests}) == len(requests)  # one line per request
    lowered = raw.lower()
    for secret in ("quatrefages", "zoé", "zoe", "secrète", "impasse", "example.org"):
        assert secret not in lowered, secret
    assert any(line["route"] == "/bienvenue" and line["status"] == 303 for line in requests)
    assert any(line.get("mediateur") for line in requests)


class ExplodingAccounts:
    """A fake account service whose failure message quotes personal data."""

    def account(self, mediateur_id: str) -> None:
        raise ValueError("donnée personnelle: Zoé Quatrefages")


def test_a_crash_logs_type_and_frames_but_not_the_message(browser: Browser) -> None:
    from chalicelib import bootstrap

    browser.sign_in("crash@example.org")
    bootstrap.get().accounts = ExplodingAccounts()  # type: ignore[assignment]
    handler = observability.logger()._logger.handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        page = browser.get("/outils")
    finally:
        handler.setStream(previous)

    assert page.status == 500
    assert page.h1 == "Erreur inattendue"
    errors = [json.loads(line) for line in buffer.getvalue().splitlines() if '"ERROR"' in line]
    assert errors and errors[0]["error"] == "ValueError"
    assert any("accounts" in frame or "context.py" in frame for frame in errors[0]["frames"])
    assert "Quatrefages" not in buffer.getvalue()


def test_each_request_emits_cloudwatch_metrics_in_the_coop_namespace(
    browser: Browser, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    browser.get("/menu")

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert blobs, "no EMF blob printed"
    directive = blobs[-1]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Coop"
    assert {m["Name"] for m in directive["Metrics"]} >= {"Requests", "Latency"}
    assert blobs[-1]["Requests"] in (1.0, [1.0])  # exactly one request counted
