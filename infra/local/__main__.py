"""`python -m infra.local run`: the whole app on loopback with an embedded AWS.

The parent process owns moto (DynamoDB + Streams, S3, SQS), the fake ProConnect and the local
data (snapshot + journal, infra/local/state.py); it runs the app (HTTP server + event pumps) in
a child process that it restarts when the code or the templates change, and that exits if the
parent dies. Ctrl-C, SIGTERM and SIGHUP (closing the terminal) stop everything and snapshot the
data; a SIGKILL loses nothing acknowledged either (the journal is replayed at the next start).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.local.state import LocalData

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("app.py", "chalicelib", "templates", ".chalice/config.json")
SNAPSHOT_EVERY = 60.0  # seconds; the journal makes each write durable, snapshots bound replays
log = logging.getLogger("coop.local")


def _fingerprint() -> dict[str, float]:
    stamps: dict[str, float] = {}
    for entry in WATCHED:
        path = ROOT / entry
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            if "__pycache__" in file.parts or file.suffix in (".pyc", ".tmp"):
                continue
            try:
                stamps[str(file)] = file.stat().st_mtime
            except OSError:
                continue
    return stamps


def child_environment(endpoint: str, queue_url: str, issuer: str, port: int) -> dict[str, str]:
    from infra.local.aws import FAKE_CREDENTIALS, StackNames

    names = StackNames.for_stage("local")
    env = dict(os.environ)
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "STAGE": "local",
            "AWS_ENDPOINT_URL": endpoint,
            "TABLE_PREFIX": names.table_prefix,
            "EXPORT_BUCKET": names.bucket,
            "EXPORT_QUEUE_URL": queue_url,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OIDC_ISSUER": issuer,
            "OIDC_CLIENT_ID": "coop-local",
            "OIDC_CLIENT_SECRET": "coop-local-secret",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            # A developer (and the browser suite) signs in often from one address.
            "ANONYMOUS_ATTEMPTS_PER_10_MIN": os.environ.get(
                "ANONYMOUS_ATTEMPTS_PER_10_MIN", "10000"
            ),
            "ANONYMOUS_BYTES_PER_10_MIN": os.environ.get(
                "ANONYMOUS_BYTES_PER_10_MIN", str(1 << 30)
            ),
        }
    )
    return env


def wait_healthy(port: int, timeout: float = 60.0, stop: threading.Event | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


class AppProcess:
    def __init__(self, port: int, state_dir: Path, env: dict[str, str]) -> None:
        self.port = port
        self.state_dir = state_dir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "infra.local",
            "serve",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            "--parent-pid",
            str(os.getpid()),
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)


def say(text: str) -> None:
    """Print to the console, which may be gone (SIGHUP: the terminal was closed)."""
    with contextlib.suppress(OSError, ValueError):
        print(text, flush=True)


class StopSignals:
    """SIGTERM, SIGHUP (and Ctrl-C, unless the shell made us ignore it) ask for a clean stop;
    a second one while stopping interrupts it (the journal keeps the data anyway)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: str | None = None

    def install(self) -> None:
        signals = [signal.SIGTERM, signal.SIGHUP]
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signals.append(signal.SIGINT)
        for sig in signals:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name
        self.event.set()


def run(port: int, idp_port: int, state_dir: Path, reload: bool = True) -> int:
    from infra.local.guard import Refused, StateLock, free_port

    state_dir = state_dir.resolve()
    lock = StateLock(state_dir)
    try:
        notes = [lock.acquire()]
        notes.append(free_port(port, "the app", "PORT"))
        notes.append(free_port(idp_port, "the fake ProConnect", "IDP_PORT"))
    except Refused as refused:
        lock.release()
        say(f"\n  Coop did not start. {refused}\n")
        return 1
    for note in filter(None, notes):
        say(f"  Note: {note}.")
    try:
        return _run(port, idp_port, state_dir, reload)
    finally:
        lock.release()


def _run(port: int, idp_port: int, state_dir: Path, reload: bool) -> int:
    from infra import fake_proconnect
    from infra.local.aws import StackNames, moto_app, moto_server, provision
    from infra.local.state import LocalData

    started = time.monotonic()
    signals = StopSignals()
    signals.install()
    data = LocalData(state_dir)
    restored = data.open(moto_app())
    provider = None
    app = None
    saved = False
    try:
        with moto_server(journal=data.journal) as endpoint:
            queues = provision(endpoint, StackNames.for_stage("local"))
            provider = fake_proconnect.start(
                port=idp_port,
                redirect_uri=f"http://127.0.0.1:{port}/connexion/retour",
                post_logout_redirect_uri=f"http://127.0.0.1:{port}/deconnexion/retour",
            )
            env = child_environment(endpoint, queues["queue"], provider.issuer, port)
            app = AppProcess(port, state_dir, env)
            app.start()
            ready = wait_healthy(port, stop=signals.event)
            say(
                f"\n  Coop {'is ready' if ready else 'did not answer /healthz yet'}"
                f" on http://127.0.0.1:{port}"
                f" ({time.monotonic() - started:.1f} s; local data: {restored})\n"
                f"  Fake ProConnect: {provider.issuer}"
                " — signs in camille.dupont@demo.coop.local by default\n"
                "  Ctrl-C stops everything; every acknowledged write is on disk already.\n"
            )
            try:
                _supervise(app, data, signals.event, reload)
            except KeyboardInterrupt:
                pass
            finally:
                app.stop()
                saved = _final_snapshot(data)
    finally:
        if app is not None:
            app.stop()
        if provider is not None:
            provider.stop()
        data.close()
    why = f" ({signals.received})" if signals.received not in (None, "SIGINT") else ""
    say(
        f"\n  Stopped{why}. Local data "
        + (
            f"saved in {state_dir}."
            if saved
            else f"NOT snapshotted; the journal in {state_dir} has it."
        )
    )
    return 0


def _final_snapshot(data: LocalData) -> bool:
    try:
        return data.save()
    except KeyboardInterrupt:
        return False


def _supervise(app: AppProcess, data: LocalData, stop: threading.Event, reload: bool) -> None:
    """Restart the app when files change; snapshot the data every minute if it changed."""
    stamps = _fingerprint()
    last_snapshot = time.monotonic()
    while not stop.is_set():
        stop.wait(1.0)
        if stop.is_set():
            break
        current = _fingerprint() if reload else stamps
        if current != stamps:
            stamps = current
            say("  Code changed: restarting the app…")
            app.stop()
            app.start()
        if time.monotonic() - last_snapshot > SNAPSHOT_EVERY:
            data.save()
            last_snapshot = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="embedded AWS + fake ProConnect + the app, with reload")
    run_cmd.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run_cmd.add_argument(
        "--idp-port", type=int, default=int(os.environ.get("IDP_PORT", "0")) or None
    )
    run_cmd.add_argument("--state-dir", type=Path, default=ROOT / ".local")
    run_cmd.add_argument("--no-reload", action="store_true", help="do not restart on code changes")
    serve_cmd = sub.add_parser("serve", help="(internal) the app process")
    serve_cmd.add_argument("--port", type=int, required=True)
    serve_cmd.add_argument("--state-dir", type=Path, required=True)
    serve_cmd.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.command == "run":
        code = run(args.port, args.idp_port or args.port + 1, args.state_dir, not args.no_reload)
        # Everything is saved, closed and unlocked: skip the interpreter's teardown (over a
        # second of idle threads and modules), so that a stop or a restart is quick.
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    from infra.local.server import serve

    serve(args.port, args.state_dir, args.parent_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
