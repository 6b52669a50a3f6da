"""The embedded AWS's data on disk (`.local/` by default): the last snapshot of moto's backends
plus the journal of every write acknowledged since (infra/local/journal.py).

- start: load `snapshot.pickle` (generation G inside), replay `journal-G.log`, `journal-G+1.log`…
  in order over it, then take a fresh snapshot (generation N) and journal into `journal-N.log`;
- every minute with writes, and at a clean stop: a snapshot taken under the journal's lock
  (writes wait), the journal rotated in the same instant, then older journals deleted once the
  snapshot is on disk. A crash at any point leaves a snapshot and a contiguous journal chain
  starting at its generation: nothing is replayed twice or lost.
- a snapshot from another moto version or schema is set aside with its journal, never loaded.
"""

from __future__ import annotations

import copyreg
import io
import json
import logging
import os
import pickle
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.journal import (
    Journal,
    JournalFile,
    Replayer,
    ReplayReport,
    WsgiApp,
    fsync_directory,
    generation_of,
    journal_files,
    release_in_flight,
)

log = logging.getLogger("coop.local")
GENERATION_KEY = "__journal_generation__"


def moto_version() -> str:
    import moto

    return str(moto.__version__)


def _backends() -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    return {"dynamodb": dynamodb_backends, "s3": s3_backends, "sqs": sqs_backends}


class _SnapshotPickler(pickle.Pickler):
    """moto backends hold locks; a restored backend just needs fresh ones."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[type(threading.Lock())] = lambda _lock: (threading.Lock, ())
    dispatch_table[type(threading.RLock())] = lambda _lock: (threading.RLock, ())


@dataclass(frozen=True)
class SnapshotTag:
    moto: str
    schema: str

    @classmethod
    def current(cls) -> SnapshotTag:
        from chalicelib.store.tables import schema_fingerprint

        return cls(moto_version(), schema_fingerprint())

    def as_dict(self) -> dict[str, str]:
        return {"moto": self.moto, "schema": self.schema}


def _write_durably(path: Path, data: bytes) -> None:
    """Whole or not at all, on disk before returning; readable by this user only (personal
    data, like the journal)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Snapshots:
    """`<dir>/snapshot.pickle` (the backends and the journal generation that follows them) and
    `<dir>/snapshot.json` (the tag). Each written atomically and fsynced."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "snapshot.pickle"
        self.meta = directory / "snapshot.json"

    def capture(self, generation: int) -> bytes | None:
        """Pickle the backends now (the caller keeps writes out)."""
        for attempt in range(5):
            buffer = io.BytesIO()
            try:
                state: dict[str, Any] = {
                    name: {account: dict(regions) for account, regions in backend.items()}
                    for name, backend in _backends().items()
                }
                state[GENERATION_KEY] = generation
                _SnapshotPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
                return buffer.getvalue()
            except RuntimeError:  # a read (SQS delivery) changed a dict while we walked it
                time.sleep(0.05 * (attempt + 1))
        log.error("snapshot failed: backends kept changing")
        return None

    def write(self, data: bytes, generation: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_durably(self.data, data)
        tag = SnapshotTag.current()
        meta = {**tag.as_dict(), "generation": generation, "saved_at": time.time()}
        _write_durably(self.meta, json.dumps(meta).encode())
        fsync_directory(self.directory)

    def load(self) -> tuple[str, int]:
        """Restore the backends: ('restored' | 'empty' | 'set-aside', journal generation)."""
        if not self.data.exists():
            return "empty", 0
        try:
            meta = json.loads(self.meta.read_text())
        except (OSError, ValueError):
            meta = {}
        tag = SnapshotTag.current()
        if meta.get("moto") != tag.moto or meta.get("schema") != tag.schema:
            set_aside(self.directory, f"moto {meta.get('moto')} schema {meta.get('schema')}")
            return "set-aside", 0
        try:
            with self.data.open("rb") as fh:
                state = pickle.load(fh)  # noqa: S301 - our own file, written by write()
        except Exception as exc:
            set_aside(self.directory, f"unreadable: {type(exc).__name__}")
            return "set-aside", 0
        for name, backend in _backends().items():
            for account, regions in state.get(name, {}).items():
                for region, region_backend in regions.items():
                    backend[account][region] = region_backend
        return "restored", int(state.get(GENERATION_KEY, 0))


def set_aside(directory: Path, why: str, journals_from: int = 0, snapshot: bool = True) -> Path:
    """Move the snapshot (if `snapshot`) and the journals from `journals_from` on out of the way.
    They belong together: a journal is only meaningful over its snapshot."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = directory / f"set-aside-{stamp}"
    target.mkdir(parents=True, exist_ok=True)
    paths = [directory / "snapshot.pickle", directory / "snapshot.json"] if snapshot else []
    paths += [p for p in journal_files(directory) if generation_of(p) >= journals_from]
    for path in paths:
        if path.exists():
            os.replace(path, target / path.name)
    log.warning("local data set aside (%s) in %s", why, target)
    return target


class LocalData:
    """Snapshot + journal of one state directory."""

    def __init__(self, directory: Path, sync: bool = True) -> None:
        self.directory = directory
        self.snapshots = Snapshots(directory)
        self.journal = Journal(directory, SnapshotTag.current().as_dict(), sync=sync)
        self.replay = ReplayReport()

    def open(self, app: WsgiApp) -> str:
        """Restore the snapshot, replay the journal over it, compact. Returns a description."""
        self.directory.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        status, generation = self.snapshots.load()
        replayer = Replayer(app)
        for journal in self._chain(generation, had_snapshot=status == "restored"):
            replayer.replay_file(journal)
            if journal.problem == "damaged":
                replayer.report.damaged.append(self._copy_damaged(journal))
        self.replay = replayer.report
        self.replay.seconds = time.monotonic() - started
        release_in_flight()
        existing = [generation_of(p) for p in journal_files(self.directory)]
        self.journal.generation = max([generation, *existing])
        if not self.save(force=True):
            log.error("the start-up snapshot failed: the journal keeps every write anyway")
        described = status
        if self.replay.calls or self.replay.torn:
            described += f" + {self.replay.summary()}"
        return described

    def _chain(self, generation: int, had_snapshot: bool) -> list[JournalFile]:
        """The journals to replay over the snapshot: `generation` (1 without one) and the next
        ones, contiguous. Older ones are already in the snapshot; others are set aside."""
        expected = generation if generation > 0 else 1
        chain: list[JournalFile] = []
        tag = self.journal.tag
        for path in journal_files(self.directory):
            number = generation_of(path)
            if number < expected and had_snapshot:
                path.unlink()  # already in the snapshot (a crash came before its deletion)
                continue
            journal = JournalFile(path)
            if number != expected:
                set_aside(self.directory, "journal out of sequence", number, snapshot=False)
                break
            if not _same_tag(journal.header(), tag):
                why = "journal of another moto or schema"
                set_aside(self.directory, why, number, snapshot=False)
                break
            chain.append(journal)
            expected += 1
        return chain

    def _copy_damaged(self, journal: JournalFile) -> Path:
        target = self.directory / f"set-aside-{time.strftime('%Y%m%d-%H%M%S')}-damaged"
        target.mkdir(parents=True, exist_ok=True)
        copy = target / journal.path.name
        shutil.copy2(journal.path, copy)
        log.error(
            "journal %s is damaged after byte %d: the records after it were not replayed;"
            " a copy is in %s",
            journal.path.name,
            journal.valid_bytes,
            copy,
        )
        return copy

    def save(self, force: bool = False) -> bool:
        """Snapshot consistently with the journal (writes wait while the backends are pickled),
        then drop the journals the snapshot covers. Nothing to do when nothing was written."""
        journal = self.journal
        with journal.lock:
            if not force and not journal.dirty and self.snapshots.data.exists():
                return True
            generation = journal.generation + 1
            data = self.snapshots.capture(generation)
            if data is None:
                if not journal.is_open:
                    journal.open(generation)
                return False
            journal.open(generation)
        self.snapshots.write(data, generation)
        for path in journal_files(self.directory):
            if generation_of(path) < generation:
                path.unlink(missing_ok=True)
        return True

    def close(self) -> None:
        self.journal.close()


def _same_tag(meta: dict[str, Any], tag: dict[str, str]) -> bool:
    return meta.get("kind") == "journal" and all(meta.get(k) == v for k, v in tag.items())
