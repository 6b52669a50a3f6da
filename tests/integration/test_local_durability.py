"""`make run`'s local data survive like a database's: the real stack (parent + app process +
embedded AWS) is SIGKILLed as a whole, restarted on the same data folder, and every write it
acknowledged is there. Also: SIGTERM/SIGHUP stop cleanly, a second `make run` on the same data
or port is refused with the command that fixes it, a killed parent leaves no orphan, sign-in
stays on the stack's port, no e-mail or search term reaches the console, and transactions are
isolated under concurrency on the embedded DynamoDB.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from infra.local.journal import JournalFile, journal_files

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

EMAIL = "durable.dupuis@example.org"
SEARCH = "Zorglubienne"  # a search term that must never reach the console
E_MAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != 8000:
            return port


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    port: int
    idp_port: int
    log: Path
    offset: int = 0  # where this run's output starts in the log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """This run's console output."""
        return self.log.read_bytes()[self.offset :].decode(errors="replace")

    def wait_exit(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)


def launch(state: Path, port: int, idp_port: int, log: Path) -> subprocess.Popen[bytes]:
    """`PORT=… IDP_PORT=… python -m infra.local run` in its own process group."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "STAGE", "TABLE_", "OIDC_", "PUBLIC_URL", "EXPORT_"))
    }
    env.update({"DEMO": "0", "PORT": str(port), "IDP_PORT": str(idp_port)})
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "infra.local", "run", "--no-reload", "--state-dir", str(state)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start(state: Path, log: Path, port: int | None = None) -> Stack:
    port, idp_port = port or free_port(), free_port()
    offset = log.stat().st_size if log.exists() else 0
    stack = Stack(launch(state, port, idp_port, log), port, idp_port, log, offset)
    session = plain_session()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            pytest.fail("the local stack exited:\n" + stack.output())
        try:
            if session.get(stack.base + "/healthz", timeout=2).status_code == 200:
                # The banner comes right after /healthz answers.
                while "Coop is ready" not in stack.output() and time.monotonic() < deadline:
                    time.sleep(0.05)
                return stack
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    kill_group(stack)
    pytest.fail("the local stack did not become healthy within 60 s:\n" + stack.output())


def kill_group(stack: Stack) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(stack.proc.pid, signal.SIGKILL)
    stack.proc.wait(timeout=10)


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    """Whatever a test started is gone after it, whatever happened."""
    started: list[Stack] = []
    yield started
    for stack in started:
        if stack.proc.poll() is None:
            kill_group(stack)


def plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def sign_in(stack: Stack, email: str = EMAIL) -> requests.Session:
    """Through the fake ProConnect with plain HTTP; sign-in must stay on the stack's port."""
    session = plain_session()
    first = session.get(
        f"{stack.base}/connexion?login_hint={email}", allow_redirects=False, timeout=10
    )
    assert first.status_code in (302, 303), first.text[:500]
    redirect_uri = re.search(r"redirect_uri=([^&]+)", first.headers["Location"])
    assert redirect_uri, first.headers["Location"]
    assert unquote(redirect_uri.group(1)) == f"{stack.base}/connexion/retour"
    page = session.get(first.headers["Location"], timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert page.url.startswith(stack.base + "/"), page.url
    return session


def onboard(stack: Stack, session: requests.Session) -> None:
    form = session.get(stack.base + "/bienvenue", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = session.post(
        stack.base + "/bienvenue",
        data={
            "csrf_token": token.group(1),
            "nom": "Médiathèque du Journal",
            "adresse": "1 rue des Écritures",
            "commune_insee_q": "42218",
        },
        timeout=10,
    )
    assert answer.url.startswith(stack.base + "/?message=bienvenue"), answer.url


class Api:
    def __init__(self, stack: Stack, session: requests.Session) -> None:
        self.base = stack.base
        self.session = session
        me = session.get(self.base + "/api/moi", timeout=10)
        assert me.status_code == 200, me.text[:500]
        self.me = me.json()
        self.headers = {"X-CSRF-Token": self.me["csrf_token"], "Accept": "application/json"}

    def send(self, method: str, path: str, payload: Any = None) -> requests.Response:
        return self.session.request(
            method, self.base + path, json=payload, headers=self.headers, timeout=30
        )

    def all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.send("GET", path + (f"{sep}cursor={cursor}" if cursor else ""))
            assert page.status_code == 200, page.text[:500]
            body = page.json()
            items += body["items"]
            cursor = body.get("cursor")
            if not cursor:
                return items


def journal_records(state: Path) -> int:
    return sum(
        sum(1 for r in JournalFile(path) if r.meta.get("kind") != "journal")
        for path in journal_files(state)
    )


def test_sigkill_of_the_whole_stack_loses_no_acknowledged_write(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    state, log = tmp_path / "data", tmp_path / "stack.log"
    stack = start(state, log)
    stacks.append(stack)
    api = Api(stack, sign_in(stack))
    onboard(stack, api.session)
    api = Api(stack, api.session)
    lieu = api.me["lieux"][0]["id"]

    people: dict[str, str] = {}
    for i in range(12):
        created = api.send("POST", "/api/beneficiaires", {"prenom": f"Ada{i}", "nom": SEARCH})
        assert created.status_code == 201, created.text[:500]
        people[created.json()["id"]] = f"Ada{i}"
    gone = next(iter(people))
    assert api.send("DELETE", f"/api/beneficiaires/{gone}").status_code == 204
    del people[gone]
    activities = set()
    for i, person in enumerate(list(people)[:10]):
        created = api.send(
            "POST",
            "/api/activites",
            {
                "type": "individuel",
                "date": time.strftime("%Y-%m-%d"),
                "duree": 30 + i,
                "canal": "lieu_activite",
                "lieu_id": lieu,
                "thematiques": ["email"],
                "beneficiaire_id": person,
            },
        )
        assert created.status_code == 201, created.text[:500]
        activities.add(created.json()["id"])
    # A search (its term must not be logged) and an export: S3 + SQS + the worker.
    assert api.session.get(f"{stack.base}/beneficiaires?q={SEARCH}", timeout=10).ok
    export = api.send("POST", "/api/exports", {"kind": "beneficiaires", "format": "csv"})
    assert export.status_code == 202, export.text[:500]
    export_id = export.json()["id"]
    deadline = time.monotonic() + 30
    while api.send("GET", f"/api/exports/{export_id}").json()["statut"] != "pret":
        assert time.monotonic() < deadline, "the export was not ready within 30 s"
        time.sleep(0.3)
    last = api.send("POST", "/api/beneficiaires", {"prenom": "Dernière", "nom": SEARCH})
    assert last.status_code == 201
    people[last.json()["id"]] = "Dernière"
    acknowledged = journal_records(state)

    # The whole process group at once, right after the last answer: no snapshot since start.
    kill_group(stack)
    # The app process cannot have survived (same group); a crash can tear the last record.
    journal = journal_files(state)[-1]
    with journal.open("ab") as fh:
        fh.write(b"CJR1\x00\x00\x10\x00torn")

    # A restart after the pumps' checkpoints are lost: the stream is delivered again from its
    # start, so events reach the app before its first request (sign-in used to go to :8000).
    (state / "pump-checkpoints.json").unlink(missing_ok=True)
    restarted = start(state, log, port=stack.port)
    stacks.append(restarted)
    banner = restarted.output().split("Coop is ready", 1)[1]
    replayed = re.search(r"(\d+) journaled write\(s\) replayed in ([\d.]+) s", banner)
    assert replayed, banner
    assert int(replayed.group(1)) == acknowledged
    assert "answered differently" not in banner
    assert "1 torn last record(s), never acknowledged, ignored" in banner
    assert "took over the data folder" in restarted.output()
    time.sleep(1.0)  # let the stream pump deliver before signing in (the order of the old bug)

    api = Api(restarted, sign_in(restarted))
    assert [lieu_["id"] for lieu_ in api.me["lieux"]] == [lieu]
    found = {p["id"]: p["prenom"] for p in api.all("/api/beneficiaires?tri=nom")}
    assert found == people
    assert {a["id"] for a in api.all("/api/activites")} == activities
    after = api.send("GET", f"/api/exports/{export_id}").json()
    assert after["statut"] == "pret"
    download = plain_session().get(after["url"], timeout=10)
    assert download.status_code == 200 and SEARCH.encode() in download.content
    print(  # reported by `pytest -s`
        f"\nSIGKILL: {acknowledged} journaled writes, all back; replay {replayed.group(2)} s"
    )

    os.killpg(restarted.proc.pid, signal.SIGTERM)
    assert restarted.wait_exit() == 0
    assert "Local data saved" in restarted.output()
    output = log.read_text(errors="replace")  # both runs
    # Nothing personal on the console: no address but the demo one, no search term, no query.
    assert EMAIL not in output and SEARCH not in output
    assert "login_hint" not in output and "?q=" not in output
    assert {m.group(0) for m in E_MAIL.finditer(output)} <= {"camille.dupont@demo.coop.local"}


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_cleanly_with_a_snapshot(
    how: str, tmp_path: Path, stacks: list[Stack]
) -> None:
    state, log = tmp_path / "data", tmp_path / "stack.log"
    stack = start(state, log)
    stacks.append(stack)
    session = sign_in(stack)
    onboard(stack, session)
    app_pid = _app_pid(stack)
    if how == "SIGHUP":
        os.killpg(stack.proc.pid, signal.SIGHUP)  # closing the terminal: the whole group
    else:
        stack.proc.send_signal(signal.SIGTERM)  # `kill <pid>`: the parent only
    assert stack.wait_exit() == 0, stack.output()
    assert f"Stopped ({how}). Local data saved" in stack.output()
    assert not _alive(app_pid)
    assert journal_records(state) == 0  # everything is in the snapshot
    assert '"state": "stopped"' in (state / "run.lock").read_text()

    again = start(state, log)
    stacks.append(again)
    assert "local data: restored)" in again.output()  # nothing to replay
    assert "took over" not in again.output()
    me = plain_session()
    me.cookies = sign_in(again).cookies
    assert [lieu["nom"] for lieu in Api(again, me).me["lieux"]] == ["Médiathèque du Journal"]


def test_a_second_run_is_refused_and_a_killed_parent_leaves_no_orphan(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    state, log = tmp_path / "data", tmp_path / "stack.log"
    first = start(state, log)
    stacks.append(first)

    # Same data folder: refused, naming the running parent and the command.
    second = launch(state, free_port(), free_port(), tmp_path / "second.log")
    assert second.wait(timeout=30) == 1
    said = (tmp_path / "second.log").read_text()
    assert f"pid {first.proc.pid}" in said and f"`kill {first.proc.pid}`" in said

    # Same port, other data: refused, naming the process that listens there.
    third = launch(tmp_path / "other", first.port, free_port(), tmp_path / "third.log")
    assert third.wait(timeout=30) == 1
    said = (tmp_path / "third.log").read_text()
    app_pid = _app_pid(first)
    assert f"Port {first.port} (the app) is already in use by pid {app_pid}" in said
    assert f"`kill {app_pid}`" in said

    # SIGKILL of the parent alone: the app process follows it and frees the port.
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait_exit()
    deadline = time.monotonic() + 5
    while _alive(app_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(app_pid), "the app process outlived its parent"

    # No manual clean-up: the same command starts, takes the stale lock over, keeps the data.
    again = start(state, log, port=first.port)
    stacks.append(again)
    assert "took over the data folder from pid" in again.output()
    sign_in(again)


def _app_pid(stack: Stack) -> int:
    children = Path(f"/proc/{stack.proc.pid}/task/{stack.proc.pid}/children").read_text().split()
    for pid in map(int, children):
        if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
            return pid
    raise AssertionError(f"no app process under {stack.proc.pid}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- transactions under concurrency (the embedded DynamoDB itself) ------------------------------


class Race:
    """Two counters `a` and `b` on a fresh table of the moto server, raced over by boto3."""

    def __init__(self, endpoint: str) -> None:
        import boto3
        from botocore.config import Config

        from infra.local.aws import REGION

        config = Config(max_pool_connections=32, retries={"max_attempts": 1})
        self.client = boto3.session.Session(region_name=REGION).client(
            "dynamodb", endpoint_url=endpoint, config=config
        )
        self.table = f"race-{uuid.uuid4().hex[:8]}"
        self.client.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk in ("a", "b"):
            self.client.put_item(TableName=self.table, Item={"pk": {"S": pk}, "n": {"N": "0"}})
        self.successes = 0
        self._count = threading.Lock()

    def n(self, pk: str = "a") -> str:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": pk}})["Item"]
        return str(item["n"]["N"])

    def transact(self, worker: int, rounds: int = 25) -> None:
        """Move both counters from the value read to the next one, if nobody did meanwhile."""
        from botocore.exceptions import ClientError

        for _ in range(rounds):
            seen = self.n()
            update = {
                "TableName": self.table,
                "UpdateExpression": "SET n = :next, who = :me",
                "ConditionExpression": "n = :seen",
                "ExpressionAttributeValues": {
                    ":seen": {"N": seen},
                    ":next": {"N": str(int(seen) + 1)},
                    ":me": {"S": str(worker)},
                },
            }
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Update": {**update, "Key": {"pk": {"S": "a"}}}},
                        {"Update": {**update, "Key": {"pk": {"S": "b"}}}},
                    ]
                )
            except ClientError:
                continue
            with self._count:
                self.successes += 1

    def rewrite(self, rounds: int = 60) -> None:
        """Put `a` back with the value read, if unchanged: harmless unless it slips between a
        transaction's check and its writes."""
        from botocore.exceptions import ClientError

        for _ in range(rounds):
            seen = self.n()
            with contextlib.suppress(ClientError):
                self.client.put_item(
                    TableName=self.table,
                    Item={"pk": {"S": "a"}, "n": {"N": seen}, "who": {"S": "put"}},
                    ConditionExpression="n = :seen",
                    ExpressionAttributeValues={":seen": {"N": seen}},
                )

    def run(self) -> tuple[int, int]:
        threads = [threading.Thread(target=self.transact, args=(w,)) for w in range(8)]
        threads += [threading.Thread(target=self.rewrite) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = int(self.n("a")), int(self.n("b"))
        self.client.delete_table(TableName=self.table)
        return final


@pytest.mark.parametrize("journaled", [False, True], ids=["test-suite", "make-run"])
def test_concurrent_transactions_never_interleave(tmp_path: Path, journaled: bool) -> None:
    """Threads race conditional transactions over two counters (and conditional PutItems that
    rewrite one of them) through boto3 and the moto server: each success is counted once and
    the counters never differ."""
    from infra.local.aws import moto_server
    from infra.local.journal import Journal

    journal = Journal(tmp_path, {"moto": "test", "schema": "test"}) if journaled else None
    if journal is not None:
        journal.open(1)
    switch = sys.getswitchinterval()
    # Threads switch every 10 µs instead of 5 ms: without isolation, every run breaks the
    # invariant (the counters differ, or two transactions succeed over the same value).
    sys.setswitchinterval(1e-5)
    try:
        with moto_server(journal=journal) as endpoint:
            race = Race(endpoint)
            a, b = race.run()
    finally:
        sys.setswitchinterval(switch)
    assert race.successes > 0
    assert a == b == race.successes
    if journal is not None:
        journal.close()
        assert journal_records(tmp_path) > race.successes


# --- replay carries the server-made ids over ------------------------------------------------------


def test_a_replay_rebuilds_queues_buckets_and_tables_with_their_ids(tmp_path: Path) -> None:
    """Record real calls (boto3 → moto server → journal), forget what they made, replay the
    journal: the same SQS messages (ids kept, the deleted one gone), the same multipart object,
    the same stream ARN, and every call answered as the first time."""
    import boto3

    from infra.local.aws import REGION, moto_app, moto_server
    from infra.local.journal import Journal, Replayer

    journal = Journal(tmp_path, {"moto": "test", "schema": "test"})
    journal.open(1)
    suffix = uuid.uuid4().hex[:8]
    queue, bucket, table = f"replay-{suffix}", f"replay-{suffix}", f"replay-{suffix}"
    part = os.urandom(5 << 20)
    with moto_server(journal=journal) as endpoint:
        session = boto3.session.Session(region_name=REGION)
        sqs = session.client("sqs", endpoint_url=endpoint)
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"] for i in range(3)]
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])

        s3 = session.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        upload = s3.create_multipart_upload(Bucket=bucket, Key="export.csv")["UploadId"]
        etags = [
            s3.upload_part(
                Bucket=bucket, Key="export.csv", UploadId=upload, PartNumber=n, Body=body
            )["ETag"]
            for n, body in ((1, part), (2, b"tail"))
        ]
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="export.csv",
            UploadId=upload,
            MultipartUpload={
                "Parts": [{"ETag": e, "PartNumber": n + 1} for n, e in enumerate(etags)]
            },
        )
        s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
        s3.delete_object(Bucket=bucket, Key="gone.txt")

        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        arn = dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    journal.close()

    # Forget all of it (through moto, unjournaled), as a restart from an older snapshot would.
    with moto_server() as endpoint:
        session = boto3.session.Session(region_name=REGION)
        session.client("sqs", endpoint_url=endpoint).delete_queue(QueueUrl=url)
        s3 = session.client("s3", endpoint_url=endpoint)
        s3.delete_object(Bucket=bucket, Key="export.csv")
        s3.delete_bucket(Bucket=bucket)
        session.client("dynamodb", endpoint_url=endpoint).delete_table(TableName=table)

    replayer = Replayer(moto_app())
    for path in journal_files(tmp_path):
        replayer.replay_file(JournalFile(path))
    assert replayer.report.differed == []

    with moto_server() as endpoint:
        session = boto3.session.Session(region_name=REGION)
        sqs = session.client("sqs", endpoint_url=endpoint)
        left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["MessageId"] for m in left) == sorted(set(sent) - {received["MessageId"]})
        s3 = session.client("s3", endpoint_url=endpoint)
        assert s3.get_object(Bucket=bucket, Key="export.csv")["Body"].read() == part + b"tail"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["export.csv"]
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        assert dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"] == arn
        assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
        dynamodb.delete_table(TableName=table)
