"""The pieces of `make run`'s durability that need no running stack: the journal's record format
(a torn last record is ignored, damage is reported), which calls are journaled, the data
folder's lock, port owners and orphans, the isolation lock, and the pumps' invoke (which must
not swap `os.environ`). The whole stack is tested in tests/integration/test_local_durability.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra.local.guard import Refused, StateLock, free_port, port_owner
from infra.local.journal import Journal, JournalFile, ReadWriteLock, classify, journal_files

TAG = {"moto": "1.0", "schema": "abc"}


def _journal(directory: Path, bodies: list[bytes]) -> Path:
    journal = Journal(directory, TAG)
    journal.open(1)
    for i, body in enumerate(bodies):
        journal.append({"kind": "dynamodb:PutItem", "n": i, "environ": {}}, body)
    journal.close()
    return journal_files(directory)[0]


def _read(path: Path) -> tuple[list[int], str | None]:
    journal = JournalFile(path)
    numbers = [r.meta["n"] for r in journal if r.meta.get("kind") != "journal"]
    return numbers, journal.problem


def test_records_come_back_in_order_with_their_bodies(tmp_path: Path) -> None:
    bodies = [b"", b"{}", os.urandom(3 << 20)]  # an export-sized S3 body too
    path = _journal(tmp_path, bodies)
    journal = JournalFile(path)
    records = list(journal)
    assert journal.problem is None
    assert records[0].meta == {"kind": "journal", "generation": 1, **TAG}
    assert [r.body for r in records[1:]] == bodies
    assert journal.header() == records[0].meta


def test_a_record_torn_anywhere_by_a_crash_is_ignored(tmp_path: Path) -> None:
    path = _journal(tmp_path, [b"first", b"second", b"third" * 50])
    whole = path.read_bytes()
    last = whole.rindex(b"CJR1")
    for cut in range(last, len(whole), 7):  # every way the last write can be cut short
        path.write_bytes(whole[:cut])
        assert _read(path) == ([0, 1], "torn" if cut > last else None)
    path.write_bytes(whole + b"\0" * 4096)  # allocated, never written
    assert _read(path) == ([0, 1, 2], "torn")


def test_damage_before_the_end_is_reported_not_skipped(tmp_path: Path) -> None:
    path = _journal(tmp_path, [b"first", b"second", b"third"])
    data = bytearray(path.read_bytes())
    second = data.index(b"second")
    data[second] ^= 0xFF
    path.write_bytes(bytes(data))
    assert _read(path) == ([0], "damaged")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, True),
        (
            {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems"},
            True,
        ),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.BatchWriteItem"}, True),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.CreateTable"}, True),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, False),
        (
            {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactGetItems"},
            False,
        ),
        (
            {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDBStreams_20120810.GetRecords"},
            False,
        ),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}, True),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.DeleteMessageBatch"}, True),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}, False),
        (
            {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.ChangeMessageVisibility"},
            False,
        ),
        ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/key"}, True),
        ({"REQUEST_METHOD": "POST", "QUERY_STRING": "uploads"}, True),
        ({"REQUEST_METHOD": "DELETE", "PATH_INFO": "/bucket/key"}, True),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"}, False),
        ({"REQUEST_METHOD": "HEAD", "PATH_INFO": "/bucket/key"}, False),
    ],
)
def test_what_is_journaled(environ: dict[str, str], expected: bool) -> None:
    assert classify(environ)[1] is expected


def test_a_live_owner_of_the_data_folder_is_refused_with_the_command(tmp_path: Path) -> None:
    first = StateLock(tmp_path)
    assert first.acquire() is None
    try:
        with pytest.raises(Refused) as refused:
            StateLock(tmp_path).acquire()
        assert f"pid {os.getpid()}" in str(refused.value)
        assert f"`kill {os.getpid()}`" in str(refused.value)
    finally:
        first.release()
    assert StateLock(tmp_path).acquire() is None  # released cleanly: nothing to report


def test_the_lock_of_a_dead_owner_is_taken_over_and_said(tmp_path: Path) -> None:
    (tmp_path / "run.lock").write_text('{"pid": 999999, "state": "running"}')
    lock = StateLock(tmp_path)
    note = lock.acquire()
    lock.release()
    assert note is not None and "pid 999999" in note and "journal" in note


def test_a_busy_port_names_its_owner_and_the_command() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_owner(port) == os.getpid()
        with pytest.raises(Refused) as refused:
            free_port(port, "the app", "PORT")
    assert f"in use by pid {os.getpid()}" in str(refused.value)
    assert f"`kill {os.getpid()}`" in str(refused.value)


def test_an_orphaned_app_process_holding_the_port_is_stopped() -> None:
    """An app process (`infra.local serve`) whose `make run` is gone, as older versions left."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import socket, sys, time\n"
        f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    orphan = subprocess.Popen(
        [sys.executable, "-c", code, "infra.local", "serve", "--parent-pid", "999999"],
        stdout=subprocess.PIPE,
    )
    try:
        assert orphan.stdout is not None and orphan.stdout.readline() == b"up\n"
        note = free_port(port, "the app", "PORT", grace=0.2)
        assert note is not None and f"pid {orphan.pid}" in note
        assert orphan.wait(timeout=5) != 0
    finally:
        orphan.kill()
        orphan.wait()


def test_a_writer_waits_for_readers_and_keeps_new_ones_out() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    reading = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with lock.reading():
            reading.set()
            release.wait(5)
            events.append("read done")

    def writer() -> None:
        with lock.writing():
            events.append("write")

    first = threading.Thread(target=reader)
    first.start()
    reading.wait(5)
    second = threading.Thread(target=writer)
    second.start()
    time.sleep(0.1)
    assert events == []  # the writer waits for the reader
    release.set()
    first.join(5)
    second.join(5)
    assert events == ["read done", "write"]


def test_the_pumps_invoke_keeps_this_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """chalice.test's invoke swaps os.environ for the config file's values (PUBLIC_URL on port
    8000) while a handler runs — for every thread. The local pumps must not."""
    from chalice import Chalice

    from infra.local.server import lambda_invoker

    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:8123")
    app = Chalice(app_name="coop-invoke")
    seen: dict[str, object] = {}

    @app.on_sqs_message(queue="exports", name="exports")
    def handler(event: object) -> dict[str, object]:
        seen["public_url"] = os.environ.get("PUBLIC_URL")
        seen["environ"] = os.environ
        return {"batchItemFailures": []}

    environ = os.environ
    answer = lambda_invoker(app)("exports", {"Records": []})
    assert answer == {"batchItemFailures": []}
    assert seen == {"public_url": "http://127.0.0.1:8123", "environ": environ}
