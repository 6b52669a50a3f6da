"""Case 3: recording an activity, in-process (chalice.test.Client, moto server in this process),
signed in through the real OIDC client and the fake ProConnect, exactly as tests/web does.

- `cra_post_p95_ms`: POST /activites/nouvelle/individuel (the no-JS form, a fresh one-time
  `jeton` each time) → 303;
- `cra_api_post_p95_ms`: POST /api/activites (SPEC §10 JSON, CSRF header) → 201.
The DynamoDB calls of each request are counted by a botocore `after-call` hook.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import ROOT, Result, Stack, dynamodb_meter, percentile, use_stack

REQUESTS = 300
WARMUP = 20


def signed_in_browser(stack: Stack, email: str) -> Any:
    """A browser-like client signed in and onboarded (one lieu), on the app in-process."""
    from chalice.test import Client

    from infra import fake_proconnect
    from tests.conftest import PUBLIC_URL, Browser

    idp = fake_proconnect.start(
        redirect_uri=PUBLIC_URL + "/connexion/retour",
        post_logout_redirect_uri=PUBLIC_URL + "/deconnexion/retour",
    )
    running = idp.__enter__()  # kept running for the whole benchmark process
    use_stack(stack, running.issuer)
    import app as app_module

    browser = Browser(Client(app_module.app, stage_name="local", project_dir=str(ROOT)))
    browser.sign_in(email)
    browser.onboard()
    quiet()
    return browser


def quiet() -> None:
    """One log line per request would drown the table: warnings and errors only."""
    from chalicelib import observability

    observability.logger().setLevel("WARNING")


def _form_fields(browser: Any) -> dict[str, Any]:
    from tests.support.forms import activity_form

    page = browser.get("/activites/nouvelle/individuel")
    assert page.status == 200, page.status
    fields: dict[str, Any] = dict(activity_form(page).fields)
    fields.update({"duree": "45", "canal": "lieu_activite", "thematiques": ["email", "sante"]})
    fields.update({"materiel": ["ordinateur"], "autonomie": "partiellement_autonome"})
    return fields


def _timed(count: int, send: Callable[[int], int], expected: int) -> dict[str, Any]:
    meter = dynamodb_meter()
    for i in range(WARMUP):
        assert send(-1 - i) == expected
    durations = []
    calls = []
    for i in range(count):
        with meter.counting():
            started = time.perf_counter()
            status = send(i)
            durations.append(time.perf_counter() - started)
        assert status == expected, status
        calls.append(sum(meter.calls.values()))
        last_calls = dict(meter.calls)
    return {
        "requests": count,
        "p50_ms": round(percentile(durations, 50) * 1000, 2),
        "p95_ms": round(percentile(durations, 95) * 1000, 2),
        "dynamodb_calls_per_request": round(sum(calls) / len(calls), 2),
        "dynamodb_calls_last_request": last_calls,
    }


def cra_post(browser: Any) -> list[Result]:
    from chalicelib import bootstrap

    fields = _form_fields(browser)

    def form(_i: int) -> int:
        page = browser.post("/activites/nouvelle/individuel", {**fields, "jeton": uuid.uuid4().hex})
        return int(page.status)

    lieu_id = browser.api("GET", "/api/lieux").json()["items"][0]["id"]
    today = bootstrap.get().calendar.today().isoformat()
    payload = {
        "type": "individuel",
        "date": today,
        "duree": 45,
        "canal": "lieu_activite",
        "lieu_id": lieu_id,
        "materiel": ["ordinateur"],
        "thematiques": ["email", "sante"],
        "autonomie": "partiellement_autonome",
    }

    def api(_i: int) -> int:
        page = browser.api(
            "POST", "/api/activites", payload, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        return int(page.status)

    form_raw = _timed(REQUESTS, form, 303)
    api_raw = _timed(REQUESTS, api, 201)
    return [
        Result("cra_post_p95_ms", form_raw["p95_ms"], "ms", "<= 50", form_raw),
        Result("cra_api_post_p95_ms", api_raw["p95_ms"], "ms", "<= 50", api_raw),
    ]
