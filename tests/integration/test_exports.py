"""Exports end to end against the embedded AWS (moto): a request queued in SQS, the worker run by
the local queue pump, the file in S3, the presigned SigV4 link, the file downloaded and reopened.
Also: the filters applied, beneficiaries, a structure's export shared between its gestionnaires,
the failure path (retries then `echec`), poison messages ending in the dead-letter queue, a
duplicate delivery, expiry, and a large export.

moto checks neither presigned signatures nor expiry: the link's shape is asserted, and the app
enforces expiry itself.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from chalice.test import Client
from openpyxl import load_workbook

from chalicelib.store.tables import EXPORT_QUEUE
from infra.local.pump import DeadLetters, QueuePump, QueueSource
from infra.local.server import queue_url
from tests.conftest import ROOT, Browser, Clock, Stack
from tests.support.exports import (
    REGION,
    XLSX,
    Worker,
    ask,
    create_activity,
    create_person,
    download,
    export_of,
    lieu_id,
    mediateur_id,
    presigned,
    ready,
    rows_of,
    today,
)


@pytest.fixture
def worker(app_setup: Any, aws: Stack, tmp_path: Path) -> Worker:
    return Worker(app_setup, aws, tmp_path)


# --- the whole path ---------------------------------------------------------------------------


def test_an_activity_export_is_prepared_in_the_background_and_downloaded_through_a_signed_link(
    browser: Browser, worker: Worker
) -> None:
    ready(browser, "export.complet@example.org")
    person = create_person(browser, "Hélène", "Dupont", annee_naissance=1958, genre="feminin")
    individuel = create_activity(
        browser, beneficiaire_id=person["id"], notes="=1+1", materiel=["ordinateur"]
    )
    collectif = create_activity(
        browser,
        type="collectif",
        duree=90,
        thematiques=["securite_numerique"],
        titre_atelier="Mots de passe",
        participants_ids=[person["id"]],
        participants_anonymes={"total": 3, "genres": {"masculin": 2}},
    )
    demarche = create_activity(
        browser,
        type="demarche",
        canal="a_distance",
        thematiques=[],
        thematiques_demarche=["logement"],
        nom_demarche="APL",
    )
    created = ask(browser, format="xlsx")
    assert created["statut"] == "en_attente" and created["url"] is None

    assert worker.run() >= 1

    ready_export = export_of(browser, created["id"])
    assert ready_export["statut"] == "pret", ready_export
    assert ready_export["lignes"] == 3 and ready_export["taille"] > 0
    page = browser.get(f"/exports/{created['id']}/telecharger")
    assert page.status == 302
    assert page.headers["Referrer-Policy"] == "no-referrer"
    url = page.location
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert 0 < int(query["X-Amz-Expires"]) <= 600
    name = f"coop_activites_{today().isoformat()}.xlsx"
    assert query["response-content-disposition"] == f"attachment; filename={name}"
    assert ready_export["fichier"] == name

    content, headers = download(url)
    assert headers["content-type"] == XLSX
    header, rows, ws = rows_of(content)
    assert header[:3] == ["ID", "Date", "Type"] and "Médiateur" not in header
    by_id = {row["ID"]: row for row in rows}
    assert list(by_id) == sorted(by_id, reverse=True)  # newest first
    assert set(by_id) == {individuel["id"], collectif["id"], demarche["id"]}
    one = by_id[individuel["id"]]
    assert one["Bénéficiaire"] == "Hélène Dupont"
    assert one["Notes"] == "=1+1"  # text, not a formula
    assert one["Date"] == datetime.combine(today(), datetime.min.time())
    assert one["Lieu d'activité"] == "Médiathèque Louise Michel"
    assert one["Code INSEE"] == "69383"
    assert one["Genre"] == "Femme" and one["Tranche d'âge"] is not None
    group = by_id[collectif["id"]]
    assert group["Nombre de participants"] == 4
    assert group["Genre"] == "Femme : 1, Homme : 2, Non communiqué : 1"
    assert by_id[demarche["id"]]["Nom de la démarche"] == "APL"
    assert ws["A2"].value == "Exporté par" and ws["B5"].value == "3 activités"


def test_the_export_follows_the_filters_of_the_list(browser: Browser, worker: Worker) -> None:
    ready(browser, "export.filtres@example.org")
    old = create_activity(browser, date=(today() - timedelta(days=40)).isoformat())
    atelier = create_activity(
        browser,
        type="collectif",
        thematiques=["email"],
        participants_anonymes={"total": 2},
    )
    individuel = create_activity(browser, thematiques=["sante"])
    du = (today() - timedelta(days=10)).isoformat()

    by_type = ask(browser, format="csv", filters={"type": "collectif"})
    by_period = ask(browser, format="csv", filters={"du": du})
    by_theme = ask(browser, format="csv", filters={"thematique": "sante"})
    worker.run()

    def ids(export: dict[str, Any]) -> set[str]:
        found = export_of(browser, export["id"])
        assert found["statut"] == "pret", found
        content, _ = download(found["url"])
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";")
        return {row["ID"] for row in reader}

    assert ids(by_type) == {atelier["id"]}
    assert ids(by_period) == {atelier["id"], individuel["id"]}
    assert old["id"] not in ids(by_period)
    assert ids(by_theme) == {individuel["id"]}
    assert export_of(browser, by_type["id"])["filters"] == {"type": "collectif"}


def test_a_beneficiaries_export_follows_the_search(browser: Browser, worker: Worker) -> None:
    ready(browser, "export.beneficiaires@example.org")
    create_person(browser, "Hélène", "Dupont", telephone="0612345678", notes="@appeler")
    create_person(browser, "Marc", "Dupuis")
    create_person(browser, "Zoé", "Martin")

    everyone = ask(browser, "beneficiaires")
    search = ask(browser, "beneficiaires", format="csv", filters={"q": "dup"})
    worker.run()

    content, _ = download(export_of(browser, everyone["id"])["url"])
    header, rows, ws = rows_of(content)
    assert header[:3] == ["Nom", "Prénom", "Année de naissance"]
    assert [(r["Nom"], r["Prénom"]) for r in rows] == [
        ("Dupont", "Hélène"),
        ("Dupuis", "Marc"),
        ("Martin", "Zoé"),
    ]
    assert rows[0]["Téléphone"] == "06 12 34 56 78"
    assert rows[0]["Notes"] == "@appeler"
    assert ws.title == "Bénéficiaires"
    found = export_of(browser, search["id"])
    assert found["fichier"] == f"coop_beneficiaires_{today().isoformat()}.csv"
    content, headers = download(found["url"])
    assert headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert sorted(r["Nom"] for r in parsed) == ["Dupont", "Dupuis"]
    assert parsed[0]["Notes"] in ("'@appeler", "")


# --- structures ---------------------------------------------------------------------------------


@pytest.fixture
def structure(idp: Any) -> Callable[[str], str]:
    """Registers test users of one new structure (SIRET) at the fake provider."""
    from infra.fake_proconnect import TestUser

    siret = str(uuid.uuid4().int)[:14]

    def user(email: str) -> str:
        idp.provider.users[email] = TestUser.create(email, "Prénom", email.split("@")[0], siret)
        return email

    return user


def grant(browser: Browser) -> None:
    from chalicelib import bootstrap

    bootstrap.get().accounts.grant_gestionnaire(mediateur_id=mediateur_id(browser))


def test_a_gestionnaire_exports_the_structure_and_hands_the_link_to_the_other_gestionnaires(
    new_browser: Callable[[], Browser],
    structure: Callable[[str], str],
    worker: Worker,
    idp: Any,
) -> None:
    alice = ready(new_browser(), structure("alice.struct@example.org"))
    bob = ready(new_browser(), structure("bob.struct@example.org"))
    person = create_person(alice, "Hélène", "Secret", notes="confidentiel")
    mine = create_activity(alice, beneficiaire_id=person["id"], notes="note privée")
    theirs = create_activity(bob, type="collectif", participants_anonymes={"total": 5})
    chef = ready(new_browser(), structure("chef.struct@example.org"))
    adjoint = ready(new_browser(), structure("adjoint.struct@example.org"))
    grant(chef)
    grant(adjoint)
    from infra.fake_proconnect import TestUser

    idp.provider.users["autre.chef@example.org"] = TestUser.create(
        "autre.chef@example.org", "Autre", "Chef", "99999999999999"
    )
    stranger = ready(new_browser(), "autre.chef@example.org")
    grant(stranger)

    assert (
        alice.api("POST", "/api/exports", {"kind": "activites", "scope": "structure"}).status == 403
    )
    assert chef.post("/structure/nom", {"nom": "Médiathèque des Lilas"}).status == 303
    export = ask(chef, scope="structure", filters={"lieu": "ignored-for-a-structure"})
    worker.run()

    link = presigned(adjoint, export["id"])  # another gestionnaire of the same SIRET
    content, _ = download(link)
    header, rows, ws = rows_of(content)
    # The structure shows under the name its gestionnaire gave it, with its SIRET.
    top = [[c.value for c in row] for row in ws.iter_rows(max_row=4)]
    assert re.fullmatch(r"Coop — activités de Médiathèque des Lilas \(SIRET \d{14}\)", top[0][0])
    assert header[:2] == ["ID", "Médiateur"]
    assert "Bénéficiaire" not in header and "Notes" not in header
    assert {r["ID"] for r in rows} == {mine["id"], theirs["id"]}
    assert {r["Médiateur"] for r in rows} == {"Prénom alice.struct", "Prénom bob.struct"}
    flat = json.dumps([list(r.values()) for r in rows], default=str)
    assert "Secret" not in flat and "note privée" not in flat and "confidentiel" not in flat
    assert export["id"] in [e["id"] for e in adjoint.api("GET", "/api/exports").json()["items"]]
    for outsider in (alice, stranger):  # a mediator of the structure; another structure's chef
        assert outsider.get(f"/exports/{export['id']}/telecharger").status == 404
        assert outsider.api("GET", f"/api/exports/{export['id']}").status == 404
    listed = chef.get("/exports")
    assert f"http://127.0.0.1:8000/exports/{export['id']}/telecharger" in listed.text


# --- failures, retries, dead letters, duplicates ---------------------------------------------------


def test_a_failing_export_is_retried_then_marked_failed_with_a_french_reason(
    aws: Stack, idp: Any, clock: Clock, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.test import Client as ChaliceClient

    from chalicelib import bootstrap
    from chalicelib.config import Settings
    from chalicelib.exports.worker import Retry

    ready(browser, "export.echec@example.org")
    create_activity(browser)
    export = ask(browser)
    # Same tables, a bucket that does not exist: every upload fails.
    monkeypatch.setenv("EXPORT_BUCKET", "coop-test-no-such-bucket")
    bootstrap.override(bootstrap.Container(Settings.from_env(os.environ), clock=clock))
    import app as app_module

    client = ChaliceClient(app_module.app, stage_name="local", project_dir=str(ROOT))
    body = json.dumps(
        {"v": 1, "scope": "mediateur", "owner": mediateur_id(browser), "id": export["id"]}
    )
    event = ChaliceClient(app_module.app).events.generate_sqs_event([body])

    for attempt in (1, 2):
        with pytest.raises(Retry):
            client.lambda_.invoke("exports", event)
        assert export_of(browser, export["id"])["statut"] == "en_attente", attempt
    client.lambda_.invoke("exports", event)  # the third attempt gives up and says why

    failed = export_of(browser, export["id"])
    assert failed["statut"] == "echec"
    assert failed["raison"].startswith("La préparation du fichier a échoué")
    assert failed["url"] is None
    page = browser.get("/exports")
    assert "Échec" in page.plain and "a échoué après plusieurs tentatives" in page.plain
    assert browser.get(f"/exports/{export['id']}/telecharger").status == 303
    # A late duplicate of the message changes nothing.
    client.lambda_.invoke("exports", event)
    assert export_of(browser, export["id"])["statut"] == "echec"


@pytest.fixture
def poison_queue(aws: Stack) -> Iterator[tuple[Any, str, str, str]]:
    """A queue like the export queue (same redrive count) but failed messages come back after
    one second. Yields (client, url, arn, dead-letter url)."""
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint, region_name=REGION)
    name = f"exports-poison-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": EXPORT_QUEUE.max_receive_count}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    yield sqs, url, arn, dlq
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq)


def test_poison_messages_end_in_the_dead_letter_queue(
    app_setup: Any, poison_queue: tuple[Any, str, str, str], tmp_path: Path
) -> None:
    sqs, url, arn, dlq = poison_queue
    client = Client(app_setup, stage_name="local", project_dir=str(ROOT))
    pump = QueuePump(
        QueueSource("exports", url, arn, 1),
        sqs,
        lambda f, p: client.lambda_.invoke(f, p).payload,
        DeadLetters(tmp_path / "failed"),
        wait_seconds=0,
    )
    logging.getLogger("coop.local.pump").setLevel(logging.CRITICAL)
    unknown = json.dumps(
        {"v": 1, "scope": "mediateur", "owner": "nobody", "id": "0000000000zzzzzzzzzzzzzzzz"}
    )
    for body in ("not json at all", unknown):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    deadline = time.monotonic() + 20
    moved: list[str] = []
    while time.monotonic() < deadline and len(moved) < 2:
        pump.poll_once()
        answer = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        moved += [m["Body"] for m in answer.get("Messages", [])]
        time.sleep(0.3)

    assert sorted(moved) == sorted(["not json at all", unknown])


def test_a_message_delivered_twice_builds_the_file_once(
    browser: Browser, worker: Worker, aws: Stack
) -> None:
    ready(browser, "export.doublon@example.org")
    create_activity(browser)
    export = ask(browser)
    body = json.dumps(
        {"v": 1, "scope": "mediateur", "owner": mediateur_id(browser), "id": export["id"]}
    )
    worker.sqs.send_message(QueueUrl=worker.pump.source.queue_url, MessageBody=body)

    worker.run()

    found = export_of(browser, export["id"])
    assert found["statut"] == "pret" and found["lignes"] == 1
    s3 = boto3.client("s3", endpoint_url=aws.endpoint, region_name=REGION)
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=aws.names.bucket, Prefix=f"mediateurs/{mediateur_id(browser)}/"
        ).get("Contents", [])
    ]
    assert len(keys) == 1 and keys[0].startswith(
        f"mediateurs/{mediateur_id(browser)}/{export['id']}-"
    )


def test_an_export_expires_after_seven_days(browser: Browser, worker: Worker, clock: Clock) -> None:
    ready(browser, "export.expire@example.org")
    create_activity(browser)
    export = ask(browser)
    worker.run()
    assert browser.get(f"/exports/{export['id']}/telecharger").status == 302

    clock.advance(days=7)
    browser.sign_in("export.expire@example.org")  # a week later: a new session

    assert export_of(browser, export["id"])["statut"] == "expire"
    assert export_of(browser, export["id"])["url"] is None
    page = browser.get(f"/exports/{export['id']}/telecharger")
    assert page.status == 410
    assert page.h1 == "Cet export a expiré"
    assert "Expiré" in browser.get("/exports").plain


# --- a large export ------------------------------------------------------------------------------


# moto reads a 1 MB page of a big partition in seconds (DynamoDB: tens of milliseconds), so the
# default stays under a minute; COOP_LARGE_EXPORT=20000 runs the full size (about 9 minutes here).
LARGE = int(os.environ.get("COOP_LARGE_EXPORT", "2000"))


def _bulk_activities(mediateur: str, lieu: str, count: int) -> None:
    from chalicelib.domain.activites import ActiviteInput, ParticipantsAnonymes
    from chalicelib.domain.ids import new_id
    from chalicelib.store.activites import ActiviteItem, to_item

    start = datetime.now(UTC) - timedelta(days=400)
    kinds = [
        ActiviteInput(
            type="individuel",
            duree=30,
            canal="lieu_activite",
            lieu_id=lieu,
            thematiques=("email", "sante"),
            materiel=("telephone",),
            autonomie="autonome",
            notes="Une note de suivi un peu longue pour avoir des lignes réalistes.",
        ),
        ActiviteInput(
            type="collectif",
            duree=120,
            canal="lieu_activite",
            lieu_id=lieu,
            thematiques=("securite_numerique",),
            titre_atelier="Atelier du mardi",
            participants_anonymes=ParticipantsAnonymes(total=8, genres={"feminin": 5}),
        ),
        ActiviteInput(
            type="demarche",
            duree=45,
            canal="a_distance",
            thematiques_demarche=("logement",),
            nom_demarche="APL",
            finalisation="finalisee",
        ),
    ]
    from dataclasses import replace

    with ActiviteItem.batch_write() as batch:
        for i in range(count):
            when = start + timedelta(minutes=29 * i)
            data = replace(kinds[i % 3], date=when.date())
            batch.save(to_item(mediateur, new_id(int(when.timestamp() * 1000)), data, when, when))


@pytest.mark.slow
def test_a_large_export_streams_thousands_of_rows_to_s3(
    browser: Browser, worker: Worker, capsys: pytest.CaptureFixture[str]
) -> None:
    ready(browser, f"export.gros.{uuid.uuid4().hex[:6]}@example.org")
    _bulk_activities(mediateur_id(browser), lieu_id(browser), LARGE)
    timings: dict[str, float] = {}
    for fmt in ("csv", "xlsx"):
        export = ask(browser, format=fmt)
        started = time.perf_counter()
        worker.run()
        timings[fmt] = time.perf_counter() - started
        found = export_of(browser, export["id"])
        assert found["statut"] == "pret", found
        assert found["lignes"] == LARGE
        content, _ = download(found["url"])
        if fmt == "csv":
            assert content.decode("utf-8-sig").count("\r\n") == LARGE + 1
        else:
            ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
            assert ws.max_row == 7 + LARGE
    with capsys.disabled():
        print(
            f"\n[export {LARGE} activities end to end] csv {timings['csv']:.1f}s "
            f"({LARGE / timings['csv']:.0f} rows/s), xlsx {timings['xlsx']:.1f}s "
            f"({LARGE / timings['xlsx']:.0f} rows/s)"
        )


def test_the_local_pump_maps_the_logical_queue_name_to_the_stage_queue(
    aws: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint, region_name=REGION)
    monkeypatch.setenv("EXPORT_QUEUE_URL", "http://configured/queue")
    assert queue_url(sqs, "exports", "coop-test") == "http://configured/queue"

    monkeypatch.delenv("EXPORT_QUEUE_URL")
    assert queue_url(sqs, "exports", aws.names.table_prefix) == aws.queues["queue"]
    assert queue_url(sqs, aws.names.queue + "-dlq", "ignored") == aws.queues["dlq"]
