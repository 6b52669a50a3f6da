"""The sample events of events/ drive the real handlers (as Lambda would deliver them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.stats.ports import Owner
from tests.conftest import ROOT, Stack

EVENTS = Path(ROOT) / "events"
MEDIATEUR = "mexempledemo000000000000"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def image(event: dict[str, Any], which: str) -> dict[str, Any]:
    return dict(event["Records"][0]["dynamodb"][which])


def month_total(month: str) -> int:
    bucket, _ = bootstrap.get().stats_store.bucket(Owner.mediateur(MEDIATEUR), month)
    return sum(combo.counters.get("n", 0) for combo in bucket.values())


def test_stream_samples_keep_the_statistics_equal_to_the_table(app_setup: Any, aws: Stack) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name="eu-west-3")
    table = aws.names.table("activities")
    client = Client(app_setup)
    insert, modify, remove = (sample(f"stream_{n}.json") for n in ("insert", "modify", "remove"))

    dynamodb.put_item(TableName=table, Item=image(insert, "NewImage"))
    first = client.lambda_.invoke("statistiques", insert).payload
    again = client.lambda_.invoke("statistiques", insert).payload  # duplicate delivery
    assert first == again == {"batchItemFailures": []}
    assert month_total("2025-01") == 1

    dynamodb.put_item(TableName=table, Item=image(modify, "NewImage"))
    client.lambda_.invoke("statistiques", modify)
    assert (month_total("2025-01"), month_total("2025-03")) == (0, 1)

    dynamodb.delete_item(
        TableName=table, Key={k: image(remove, "OldImage")[k] for k in ("pk", "sk")}
    )
    client.lambda_.invoke("statistiques", remove)
    assert month_total("2025-03") == 0


def test_an_export_message_for_an_unknown_export_is_not_acknowledged(app_setup: Any) -> None:
    client = Client(app_setup)

    try:
        answer = client.lambda_.invoke("exports", sample("sqs_export.json")).payload
    except Exception:
        return  # every record failed: raising makes the queue redeliver, then dead-letter it
    failures = answer.get("batchItemFailures", []) if isinstance(answer, dict) else []
    assert failures, answer


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json")))
def test_samples_are_valid_json_without_personal_data(name: str) -> None:
    text = (EVENTS / name).read_text()
    json.loads(text)
    assert "@" not in text and "prenom" not in text and "telephone" not in text
