"""Helpers of the export tests (integration and web): a ready mediator, activities and people
created through the API, exports asked and read, and a worker run by the real queue pump."""

from __future__ import annotations

import io
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import boto3
from chalice.test import Client
from openpyxl import load_workbook

from chalicelib.store.tables import EXPORT_QUEUE
from infra.local.pump import DeadLetters, QueuePump, QueueSource
from infra.local.server import queue_url
from tests.conftest import ROOT, Browser, Stack

REGION = "eu-west-3"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- helpers (also used by tests/web/test_exports_pages.py) ---------------------------------------


def ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def lieu_id(browser: Browser) -> str:
    return str(browser.api("GET", "/api/lieux").json()["items"][0]["id"])


def mediateur_id(browser: Browser) -> str:
    return str(browser.api("GET", "/api/moi").json()["id"])


def today() -> date:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today()


def create_activity(browser: Browser, **fields: Any) -> dict[str, Any]:
    body = {
        "type": "individuel",
        "date": today().isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": lieu_id(browser),
        "thematiques": ["email"],
        **fields,
    }
    page = browser.api("POST", "/api/activites", body)
    assert page.status == 201, page.text
    return dict(page.json())


def create_person(browser: Browser, prenom: str, nom: str, **fields: Any) -> dict[str, Any]:
    page = browser.api("POST", "/api/beneficiaires", {"prenom": prenom, "nom": nom, **fields})
    assert page.status == 201, page.text
    return dict(page.json())


def ask(browser: Browser, kind: str = "activites", **body: Any) -> dict[str, Any]:
    page = browser.api("POST", "/api/exports", {"kind": kind, **body})
    assert page.status == 202, page.text
    return dict(page.json())


def export_of(browser: Browser, export_id: str) -> dict[str, Any]:
    page = browser.api("GET", f"/api/exports/{export_id}")
    assert page.status == 200, page.text
    return dict(page.json())


class Worker:
    """The local queue pump in front of the app's `exports` handler, on the test stack's queue."""

    def __init__(self, app: Any, aws: Stack, tmp: Path) -> None:
        self.sqs = boto3.client("sqs", endpoint_url=aws.endpoint, region_name=REGION)
        url = queue_url(self.sqs, EXPORT_QUEUE.logical, aws.names.table_prefix)
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        client = Client(app, stage_name="local", project_dir=str(ROOT))

        def invoke(function: str, payload: dict[str, Any]) -> Any:
            return client.lambda_.invoke(function, payload).payload

        self.pump = QueuePump(
            QueueSource("exports", url, arn, 1),
            self.sqs,
            invoke,
            DeadLetters(tmp / "failed"),
            wait_seconds=0,
        )

    def run(self, limit: int = 200) -> int:
        """Deliver every visible message (older tests' leftovers included)."""
        delivered = 0
        for _ in range(limit):
            done = self.pump.poll_once()
            if not done:
                return delivered
            delivered += done
        return delivered


def download(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:  # moto, over loopback
        return response.read(), {k.lower(): v for k, v in response.headers.items()}


def presigned(browser: Browser, export_id: str) -> str:
    page = browser.get(f"/exports/{export_id}/telecharger")
    assert page.status == 302, page.text
    return page.location


def rows_of(content: bytes) -> tuple[list[str], list[dict[str, Any]], Any]:
    """(column titles, rows by title, worksheet) of an activities/beneficiaries workbook."""
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header_index = next(i for i, row in enumerate(values) if row[0] in ("ID", "Nom"))
    header = values[header_index]
    rows = [dict(zip(header, row, strict=True)) for row in values[header_index + 1 :]]
    return header, rows, ws
