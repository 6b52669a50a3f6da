"""The embedded AWS's write-ahead journal: every call that changes its state is appended to
`<state dir>/journal-<generation>.log` and fsynced before the answer goes back to the caller.

A start loads the last snapshot and replays the journal over it (infra/local/state.py), so an
acknowledged write survives a SIGKILL of the whole process group, like a database's.

- What is journaled: the raw HTTP request (method, path, query, headers, body) of every call that
  changes state — DynamoDB writes, transactions and table changes, S3 puts/deletes/multipart
  uploads, SQS sends/deletes/queue changes. Reads are not. SQS deliveries (ReceiveMessage,
  ChangeMessageVisibility) are transient: after a restart every message not deleted is visible
  again, as after a visibility timeout (SQS is at-least-once anyway).
- Order: one lock serializes "execute + append + fsync", so the journal order is the execution
  order and a replay gives the same outcome to conditional writes and transactions. The replay
  compares each call's status with the recorded one and reports any difference.
- Ids made up by the server are carried over: SQS message ids (a replayed SendMessage gets the
  recorded MessageId back; a DeleteMessage is recorded with the ids of the messages it deleted,
  since receipt handles do not survive), S3 multipart upload ids (mapped in later requests) and
  DynamoDB stream labels (so the pumps' checkpoints stay valid).
- Format: records of `magic | length | crc32 | meta length | meta (JSON) | body`. A record torn
  by a crash (short or failing its checksum at the end of a file) was never acknowledged: it is
  ignored. Damage before the end of a file is reported and the file copied aside.

The same WSGI wrapper also isolates DynamoDB calls (for the test suite too, without a journal):
writes run one at a time and never while a read is being answered, so a transaction and the
item writes it interleaves with cannot mix, and a read never sees half of an update.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

log = logging.getLogger("coop.local")

MAGIC = b"CJR1"
_HEADER = struct.Struct(">4sII")  # magic, payload length, crc32 of the payload
_META = struct.Struct(">I")  # length of the JSON meta at the start of the payload
_NAME = re.compile(r"^journal-(\d{6,})\.log$")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# --- which calls change state ---------------------------------------------------------------------

_READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Receive",
    "Head",
)
# SQS delivery state: not persisted (see the module docstring).
_SQS_TRANSIENT = frozenset(
    {"ReceiveMessage", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
)
_UNSAFE_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH"})


def _signed_service(environ: dict[str, Any]) -> str | None:
    """The service of a SigV4 `Authorization` header's credential scope."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    match = re.search(r"Credential=[^/,]+/\d+/[^/,]+/([^/,]+)/", auth)
    return match.group(1).lower() if match else None


def _form_action(environ: dict[str, Any], body: bytes) -> str | None:
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return values[0] if values else None


def classify(environ: dict[str, Any], body: bytes = b"") -> tuple[str, bool]:
    """(`service:Action`, whether the call changes state). Unknown calls count as changes."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        prefix, _, action = target.partition(".")
        if prefix.startswith("DynamoDBStreams"):
            return f"dynamodbstreams:{action}", False
        if prefix.startswith("DynamoDB"):
            return f"dynamodb:{action}", not action.startswith(_READ_PREFIXES)
        if prefix == "AmazonSQS":
            return f"sqs:{action}", not (
                action.startswith(_READ_PREFIXES) or action in _SQS_TRANSIENT
            )
        return f"{prefix}:{action}", not action.startswith(_READ_PREFIXES)
    presigned = "X-Amz-Credential" in str(environ.get("QUERY_STRING", ""))
    service = _signed_service(environ) or ("s3" if presigned else "aws")
    form_action = _form_action(environ, body)
    if form_action:
        return f"{service}:{form_action}", not (
            form_action.startswith(_READ_PREFIXES) or form_action in _SQS_TRANSIENT
        )
    return f"{service}:{method}", method in _UNSAFE_METHODS


def is_dynamodb(kind: str) -> bool:
    return kind.startswith("dynamodb:")


# --- records --------------------------------------------------------------------------------------

_ENVIRON_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "RAW_URI",
        "REQUEST_URI",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "CONTENT_TYPE",
        "wsgi.url_scheme",
    }
)
# Hop-by-hop headers: the body is stored whole, its length is recomputed.
_DROPPED_HEADERS = frozenset(
    {
        "HTTP_CONNECTION",
        "HTTP_KEEP_ALIVE",
        "HTTP_TRANSFER_ENCODING",
        "HTTP_EXPECT",
        "HTTP_CONTENT_LENGTH",
    }
)


def _preserved_names_key() -> str:
    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY

    return str(PRESERVED_HEADER_NAMES_ENVIRON_KEY)


def request_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """What a replay needs of a WSGI environ: JSON-safe, without connection details."""
    kept: dict[str, Any] = {
        key: value
        for key, value in environ.items()
        if isinstance(value, str)
        and (key in _ENVIRON_KEYS or (key.startswith("HTTP_") and key not in _DROPPED_HEADERS))
    }
    preserved = environ.get(_preserved_names_key())
    if isinstance(preserved, dict) and preserved:
        kept[_preserved_names_key()] = {str(k): str(v) for k, v in preserved.items()}
    return kept


def encode(meta: dict[str, Any], body: bytes = b"") -> bytes:
    meta_bytes = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    payload = _META.pack(len(meta_bytes)) + meta_bytes + body
    return _HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


@dataclass
class Record:
    meta: dict[str, Any]
    body: bytes = b""


class JournalFile:
    """Reads one journal file's records. After iterating: `problem` is None, "torn" (a crash cut
    the last record: it was never acknowledged) or "damaged" (bad bytes before the end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = generation_of(path)
        self.valid_bytes = 0
        self.problem: str | None = None

    def header(self) -> dict[str, Any]:
        """The first record's meta (the journal's generation and tag), {} if unreadable."""
        reader = JournalFile(self.path)
        records = iter(reader)
        try:
            first = next(records, None)
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()
        return first.meta if first is not None else {}

    def __iter__(self) -> Iterator[Record]:
        with self.path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            while True:
                start = fh.tell()
                header = fh.read(_HEADER.size)
                if not header:
                    return
                if len(header) < _HEADER.size:
                    self.problem = "torn"
                    return
                magic, length, crc = _HEADER.unpack(header)
                if magic != MAGIC:
                    rest = header + fh.read()
                    # Zeros after the last record: space a crash allocated but never wrote.
                    self.problem = "torn" if not rest.strip(b"\0") else "damaged"
                    return
                payload = fh.read(length)
                if len(payload) < length:
                    self.problem = "torn"
                    return
                if zlib.crc32(payload) != crc:
                    self.problem = "torn" if start + _HEADER.size + length >= size else "damaged"
                    return
                (meta_length,) = _META.unpack_from(payload)
                try:
                    meta = json.loads(payload[_META.size : _META.size + meta_length])
                except ValueError:
                    self.problem = "damaged"
                    return
                self.valid_bytes = fh.tell()
                yield Record(meta, payload[_META.size + meta_length :])


def generation_of(path: Path) -> int:
    match = _NAME.match(path.name)
    return int(match.group(1)) if match else -1


def journal_path(directory: Path, generation: int) -> Path:
    return directory / f"journal-{generation:06d}.log"


def journal_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if _NAME.match(p.name)), key=generation_of)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The open journal file: `append` writes and fsyncs one record; `rotate` starts the next
    generation (under `lock`, with the snapshot that covers the previous ones)."""

    def __init__(self, directory: Path, tag: dict[str, str], sync: bool = True) -> None:
        self.directory = directory
        self.tag = dict(tag)
        self.sync = sync
        self.lock = threading.Lock()  # serializes execute + append; held by snapshots
        self.generation = 0
        self.records = 0  # appended since the last rotation
        self.bytes = 0
        self._fd: int | None = None

    def open(self, generation: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = journal_path(self.directory, generation)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        header = encode({"kind": "journal", "generation": generation, **self.tag})
        self._write(fd, header)
        os.fsync(fd)
        fsync_directory(self.directory)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self.generation = generation
        self.records = 0
        self.bytes = len(header)

    def rotate(self) -> int:
        """Start generation + 1. The caller holds `lock`."""
        self.open(self.generation + 1)
        return self.generation

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    @property
    def dirty(self) -> bool:
        return self.records > 0

    def append(self, meta: dict[str, Any], body: bytes = b"") -> None:
        """Write one record and fsync it. The caller holds `lock`."""
        if self._fd is None:
            raise RuntimeError("journal is not open")
        data = encode(meta, body)
        self._write(self._fd, data)
        if self.sync:
            os.fsync(self._fd)
        self.records += 1
        self.bytes += len(data)

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --- isolation ------------------------------------------------------------------------------------


class ReadWriteLock:
    """Many readers or one writer; a waiting writer holds new readers back."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


# --- server-made ids ------------------------------------------------------------------------------


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _sqs_queue(queue_url: str) -> Any:
    """moto's queue object for a queue URL (`…/<account>/<name>`), or None."""
    from moto.sqs.models import sqs_backends

    parts = queue_url.rstrip("/").split("/")
    if len(parts) < 2:
        return None
    account, name = parts[-2], parts[-1]
    for account_id, regions in sqs_backends.items():
        if account_id != account:
            continue
        for backend in regions.values():
            queue = backend.queues.get(name)
            if queue is not None:
                return queue
    return None


def _sqs_message_ids(queue: Any, handles: list[str]) -> list[str]:
    ids = []
    for message in list(queue._messages):
        if any(message.had_receipt_handle(h) for h in handles):
            ids.append(str(message.id))
    return ids


def sqs_delete_by_ids(queue: Any, ids: set[str]) -> int:
    """What moto's DeleteMessage does, by message id (receipt handles do not survive)."""
    kept, deleted = [], 0
    for message in queue._messages:
        if message.id in ids:
            queue.pending_messages.discard(message)
            deleted += 1
            continue
        kept.append(message)
    queue._messages = kept
    return deleted


def release_in_flight() -> int:
    """Make every message received but not deleted visible again: whoever was handling it died
    with the process (as after a visibility timeout). Returns how many."""
    from moto.sqs.models import sqs_backends

    released = 0
    for regions in sqs_backends.values():
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if not message.visible:
                        message.visible_at = 0.0
                        released += 1
                queue.pending_messages.clear()
    return released


def _sqs_sent_ids(body: bytes, kind: str) -> dict[str, str]:
    """Batch entry id (or "") -> MessageId of a SendMessage(Batch) answer."""
    answer = _json(body)
    if kind == "sqs:SendMessage":
        return {"": str(answer["MessageId"])} if "MessageId" in answer else {}
    return {str(e["Id"]): str(e["MessageId"]) for e in answer.get("Successful", [])}


def _restore_sqs_ids(queue_url: str, recorded: dict[str, str], answer: dict[str, str]) -> None:
    queue = _sqs_queue(queue_url)
    if queue is None:
        return
    renames = {answer[k]: v for k, v in recorded.items() if k in answer}
    for message in queue._messages:
        if message.id in renames:
            message.id = renames[message.id]


def _table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    for regions in dynamodb_backends.values():
        for backend in regions.values():
            table = backend.tables.get(name)
            if table is not None:
                return table
    return None


_UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")


def _upload_id(body: bytes) -> str | None:
    match = _UPLOAD_ID.search(body)
    return match.group(1).decode() if match else None


# --- the WSGI wrapper -----------------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    from werkzeug.wsgi import get_input_stream

    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def call(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: (status line, headers, body)."""
    answer: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, headers
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer["status"], list(answer["headers"]), b"".join(chunks)


def _status_code(status: str) -> int:
    return int(status.split(" ", 1)[0])


class MotoGate:
    """Wraps moto's WSGI app: isolates DynamoDB calls and, given a journal, records every call
    that changes state before answering it."""

    def __init__(self, app: WsgiApp, journal: Journal | None = None) -> None:
        self.app = app
        self.journal = journal
        self.dynamodb = ReadWriteLock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method in ("GET", "HEAD", "OPTIONS") and "HTTP_X_AMZ_TARGET" not in environ:
            return self.app(environ, start_response)  # S3 downloads, moto's own pages
        body = _read_body(environ)
        kind, changes = classify(environ, body)
        if not changes:
            if not is_dynamodb(kind):
                return self.app(environ, start_response)
            with self.dynamodb.reading():
                status, headers, answer = call(self.app, environ)
            start_response(status, headers)
            return [answer]
        with self.journal.lock if self.journal else nullcontext():
            with self.dynamodb.writing() if is_dynamodb(kind) else nullcontext():
                extra = self._before(kind, body)
                status, headers, answer = call(self.app, environ)
            if self.journal is not None:
                try:
                    self.journal.append(self._meta(environ, kind, status, answer, extra), body)
                except OSError as exc:
                    log.error(
                        "embedded AWS: the journal could not record a %s (%s): answering 500",
                        kind,
                        type(exc).__name__,
                    )
                    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                    return [b"the local journal could not record this write"]
        start_response(status, headers)
        return [answer]

    @staticmethod
    def _before(kind: str, body: bytes) -> dict[str, Any]:
        """What must be read before the call runs: the messages a DeleteMessage removes."""
        if kind not in ("sqs:DeleteMessage", "sqs:DeleteMessageBatch"):
            return {}
        request = _json(body)
        queue = _sqs_queue(str(request.get("QueueUrl", "")))
        if queue is None:
            return {}
        if kind == "sqs:DeleteMessage":
            handles = [str(request.get("ReceiptHandle", ""))]
        else:
            handles = [str(e.get("ReceiptHandle", "")) for e in request.get("Entries", [])]
        return {"sqs_deleted": _sqs_message_ids(queue, handles)}

    @staticmethod
    def _meta(
        environ: dict[str, Any], kind: str, status: str, answer: bytes, extra: dict[str, Any]
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "kind": kind,
            "at": round(time.time(), 3),
            "status": _status_code(status),
            "environ": request_environ(environ),
            **extra,
        }
        if kind in ("sqs:SendMessage", "sqs:SendMessageBatch"):
            meta["sqs_sent"] = _sqs_sent_ids(answer, kind)
        elif kind in ("dynamodb:CreateTable", "dynamodb:UpdateTable"):
            description = _json(answer).get("TableDescription", {})
            if description.get("LatestStreamLabel"):
                meta["stream"] = [description["TableName"], description["LatestStreamLabel"]]
        elif kind.startswith("s3:") and "uploads" in str(environ.get("QUERY_STRING", "")):
            upload = _upload_id(answer)
            if upload:
                meta["s3_upload"] = upload
        return meta


# --- replay ---------------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    calls: int = 0
    differed: list[str] = field(default_factory=list)
    torn: int = 0
    damaged: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"{self.calls} journaled write(s) replayed in {self.seconds:.1f} s"
        if self.torn:
            text += f"; {self.torn} torn last record(s), never acknowledged, ignored"
        if self.differed:
            text += f"; {len(self.differed)} answered differently ({', '.join(self.differed[:5])})"
        if self.damaged:
            text += f"; damaged journal copied to {self.damaged[0].parent}"
        return text


class Replayer:
    """Sends recorded calls to moto's WSGI app in-process, in order, carrying the server-made ids
    over."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.uploads: dict[str, str] = {}  # recorded multipart upload id -> replayed one
        self.report = ReplayReport()

    def environ(self, recorded: dict[str, Any], body: bytes) -> dict[str, Any]:
        from werkzeug.test import EnvironBuilder

        environ = EnvironBuilder(method=recorded.get("REQUEST_METHOD", "GET")).get_environ()
        environ.update(recorded)
        for key in ("QUERY_STRING", "RAW_URI", "REQUEST_URI"):
            if key in environ:
                environ[key] = self._map_uploads(str(environ[key]))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    def _map_uploads(self, text: str) -> str:
        for recorded, replayed in self.uploads.items():
            text = text.replace(f"uploadId={recorded}", f"uploadId={replayed}")
            quoted = quote(recorded, safe="")
            text = text.replace(f"uploadId={quoted}", f"uploadId={quote(replayed, safe='')}")
        return text

    def replay(self, record: Record) -> None:
        meta = record.meta
        if meta.get("kind") == "journal":
            return
        kind = str(meta.get("kind"))
        self.report.calls += 1
        if "sqs_deleted" in meta:
            queue = _sqs_queue(str(_json(record.body).get("QueueUrl", "")))
            if queue is not None:
                sqs_delete_by_ids(queue, set(meta["sqs_deleted"]))
            return
        status, _, answer = call(self.app, self.environ(meta["environ"], record.body))
        code = _status_code(status)
        if code != meta.get("status"):
            self.report.differed.append(f"{kind} {meta.get('status')}→{code}")
        if code < 300:
            self._carry_ids(meta, kind, record.body, answer)

    def _carry_ids(self, meta: dict[str, Any], kind: str, body: bytes, answer: bytes) -> None:
        """Give the server-made ids of the recorded answer back to what the replay made."""
        if "sqs_sent" in meta:
            queue_url = str(_json(body).get("QueueUrl", ""))
            _restore_sqs_ids(queue_url, meta["sqs_sent"], _sqs_sent_ids(answer, kind))
        elif "stream" in meta:
            table = _table(meta["stream"][0])
            if table is not None and table.latest_stream_label:
                table.latest_stream_label = meta["stream"][1]
        elif "s3_upload" in meta:
            replayed = _upload_id(answer)
            if replayed:
                self.uploads[meta["s3_upload"]] = replayed

    def replay_file(self, journal: JournalFile) -> None:
        for record in journal:
            self.replay(record)
        if journal.problem == "torn":
            self.report.torn += 1
