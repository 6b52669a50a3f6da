"""`python -m chalicelib.stats verify`: the aggregates recomputed from the activities, the drift
reported per mediator and month, repaired on request; and the daily scheduled check.

Each test works with its own mediator (see `tests/support/stats.py`, `new_world`): activities
are written through the real service, their stream records delivered to the real projector.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from chalicelib.stats.aggregation import Selection
from chalicelib.stats.handlers import daily_verification
from chalicelib.stats.ports import Owner
from chalicelib.stats.verify import Difference, Report
from chalicelib.store.stats import NewcomersItem
from tests.conftest import ROOT, Stack, app_env
from tests.support.stats import (
    YEAR,
    StreamTail,
    World,
    deliver,
    individuel,
    new_world,
)


@pytest.fixture(scope="module")
def tail(aws: Stack) -> StreamTail:
    return StreamTail(aws)


@pytest.fixture
def world(app_setup: Any, tail: StreamTail) -> World:
    from chalicelib import bootstrap

    world = new_world(bootstrap.get(), tail)
    world.create(individuel(world, 1, beneficiaire_id=world.people[0]))
    world.create(individuel(world, 1, day=20))
    world.create(individuel(world, 3, beneficiaire_id=world.people[1], duree=90))
    assert deliver(world, world.collect()) == []
    return world


def corrupt(world: World, month: str, counter: str, delta: int) -> str:
    """Write a wrong counter through the store, as a buggy projector would. Returns its key."""
    store = world.container.stats_store
    bucket, version = store.bucket(world.owner, month)
    key = sorted(bucket)[0]
    bucket[key].counters[counter] += delta
    store.save_bucket(world.owner, month, bucket, version)
    return key


def verify(world: World, repair: bool) -> Report:
    """The verification of this world's mediator (and their structure, if any)."""
    report: Report = world.container.verifier.verify([world.mediateur_id], repair)
    return report


def run_cli(aws: Stack, issuer: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **app_env(aws, issuer), "POWERTOOLS_METRICS_DISABLED": "true"}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.stats", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- verify ---------------------------------------------------------------------------------------


def test_given_the_pipeline_ran_when_verified_then_no_drift(world: World) -> None:
    report = verify(world, repair=False)

    assert report.ok
    assert (report.mediateurs, report.months) == (1, 2)
    assert (
        report.lines()[-1]
        == "1 médiateur(s), 0 structure(s), 2 mois vérifiés, 0 écart(s), 0 non réparé(s)"
    )


def test_given_a_wrong_counter_then_it_is_reported_and_repaired_on_request(world: World) -> None:
    key = corrupt(world, f"{YEAR}-01", "th:email", 5)

    report = verify(world, repair=False)

    [drift] = report.drifts
    assert (drift.owner, drift.month, drift.repaired) == (
        Owner.mediateur(world.mediateur_id),
        f"{YEAR}-01",
        False,
    )
    assert drift.differences == [Difference(f"{key} th:email", 2, 7)]  # two in January
    assert f"  {key} th:email: attendu 2, enregistré 7" in report.lines()
    assert not verify(world, repair=False).ok  # nothing changed

    repaired = verify(world, repair=True)

    assert [d.repaired for d in repaired.drifts] == [True]
    assert verify(world, repair=False).ok
    world.assert_exact([Selection()])


def test_given_a_lost_stream_record_then_the_missing_month_is_reported_and_rebuilt(
    world: World,
) -> None:
    world.create(individuel(world, 2, beneficiaire_id=world.people[2]))
    world.collect()  # ...and never delivered

    report = verify(world, repair=True)

    [drift] = report.drifts
    assert drift.month == f"{YEAR}-02"
    assert Difference(f"individuel|lieu_activite|{world.lieux[0]} n", 1, 0) in drift.differences
    assert any(d.counter.endswith(" suivis") for d in drift.differences)
    assert verify(world, repair=False).ok
    world.assert_exact([Selection()])


def test_given_a_deleted_activity_whose_record_was_lost_then_its_bucket_is_emptied(
    world: World,
) -> None:
    march = next(a for a in world.activities.values() if a.date.month == 3)
    world.delete(march.id)
    world.collect()  # lost

    report = verify(world, repair=True)

    assert [d.month for d in report.drifts] == [f"{YEAR}-03"]
    assert verify(world, repair=False).ok
    assert world.stored_bucket(f"{YEAR}-03") == {}


def test_given_a_newcomer_filed_under_the_wrong_month_then_reported_and_refreshed(
    world: World,
) -> None:
    person = world.people[1]  # first (and only) accompaniment: March
    NewcomersItem("MED#" + world.mediateur_id, f"P#{YEAR}-03").update(
        actions=[NewcomersItem.ids[person].remove()]
    )

    report = verify(world, repair=True)

    [drift] = report.drifts
    assert drift.month == f"{YEAR}-03"
    assert drift.differences == [Difference(f"nouveaux {person}", f"{YEAR}-03-10", "-")]
    assert verify(world, repair=False).ok
    world.assert_exact([Selection()])


def test_without_a_mediator_every_mediator_who_signed_in_is_walked(
    world: World, tail: StreamTail
) -> None:
    other = new_world(world.container, tail)

    everyone = world.container.accounts.mediateur_ids()

    assert {world.mediateur_id, other.mediateur_id} <= set(everyone)
    assert len(everyone) == len(set(everyone))


# --- the command line -------------------------------------------------------------------------------


def test_the_command_exits_1_on_drift_repairs_with_repair_then_exits_0(
    world: World, aws: Stack, idp: Any
) -> None:
    key = corrupt(world, f"{YEAR}-03", "n", -1)

    found = run_cli(aws, idp.issuer, "verify", "--mediator", world.mediateur_id)

    assert found.returncode == 1, found.stderr
    assert f"médiateur {world.mediateur_id} mois {YEAR}-03" in found.stdout
    assert f"{key} n: attendu 1, enregistré 0" in found.stdout

    repaired = run_cli(aws, idp.issuer, "verify", "--mediator", world.mediateur_id, "--repair")

    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "(réparé)" in repaired.stdout

    clean = run_cli(aws, idp.issuer, "verify", "--mediator", world.mediateur_id)

    assert clean.returncode == 0, clean.stdout
    assert "0 écart(s)" in clean.stdout
    world.assert_exact([Selection()])


def test_the_command_refuses_unknown_subcommands_and_options(aws: Stack, idp: Any) -> None:
    assert run_cli(aws, idp.issuer, "rebuild").returncode == 2
    assert run_cli(aws, idp.issuer, "grant").returncode == 2  # --email or --mediator


# --- the daily check ---------------------------------------------------------------------------------


def emf_blobs(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_the_daily_check_repairs_the_mediators_touched_and_counts_the_drift(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corrupt(world, f"{YEAR}-01", "du:30_60", 2)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    summary = daily_verification({})

    blobs = [b for b in emf_blobs(capsys.readouterr().out) if "StatsDrift" in b]
    assert blobs, "no StatsDrift metric emitted"
    directive = blobs[-1]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Coop"
    drift = blobs[-1]["StatsDrift"]
    assert sum(drift if isinstance(drift, list) else [drift]) >= 1
    assert summary["ecarts"] >= 1
    assert summary["non_repares"] == 0
    assert verify(world, repair=False).ok
    world.assert_exact([Selection()])


def test_the_daily_check_is_wired_as_a_scheduled_lambda(
    world: World, app_setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.test import Client

    corrupt(world, f"{YEAR}-03", "a", 1)
    with Client(app_setup, stage_name="local", project_dir=str(ROOT)) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        answer = client.lambda_.invoke("verification_statistiques", event).payload

    assert answer["ecarts"] >= 1
    assert answer["non_repares"] == 0
    assert verify(world, repair=False).ok


def test_a_container_notes_a_mediator_once_a_day_and_again_the_next_day(
    world: World,
) -> None:
    from datetime import date

    from chalicelib.store.stats import DynamoStatsStore, TouchedItem

    store, day = DynamoStatsStore(world.container.db), date(YEAR, 6, 2)
    store.touch([world.mediateur_id], day)
    assert world.mediateur_id in store.touched(day)

    TouchedItem("TOUCHED#" + day.isoformat(), world.mediateur_id).delete()
    store.touch([world.mediateur_id, world.mediateur_id], day)  # remembered: no second write
    assert world.mediateur_id not in store.touched(day)

    following = date(YEAR, 6, 3)
    store.touch([world.mediateur_id], following)
    assert world.mediateur_id in store.touched(following)
