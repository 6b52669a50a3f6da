"""`python -m infra.local run`: the whole app on loopback with an embedded AWS.

The parent process owns moto (DynamoDB + Streams, S3, SQS), the fake ProConnect and the
snapshots; it runs the app (HTTP server + event pumps) in a child process that it restarts
when the code or the templates change. Ctrl-C stops everything and saves the data.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("app.py", "chalicelib", "templates", ".chalice/config.json")
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


def wait_healthy(port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
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


def run(port: int, idp_port: int, state_dir: Path, reload: bool = True) -> int:
    from infra import fake_proconnect
    from infra.local.aws import Snapshots, StackNames, moto_server, provision

    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    snapshots = Snapshots(state_dir)
    with moto_server() as endpoint:
        restored = snapshots.load()
        queues = provision(endpoint, StackNames.for_stage("local"))
        provider = fake_proconnect.start(
            port=idp_port,
            redirect_uri=f"http://127.0.0.1:{port}/connexion/retour",
            post_logout_redirect_uri=f"http://127.0.0.1:{port}/deconnexion/retour",
        )
        app = AppProcess(
            port, state_dir, child_environment(endpoint, queues["queue"], provider.issuer, port)
        )
        app.start()
        ready = wait_healthy(port)
        print(
            f"\n  Coop {'is ready' if ready else 'did not answer /healthz yet'}"
            f" on http://127.0.0.1:{port}"
            f" ({time.monotonic() - started:.1f} s; local data: {restored})\n"
            f"  Fake ProConnect: {provider.issuer}"
            " — signs in camille.dupont@demo.coop.local by default\n"
            "  Ctrl-C stops everything and keeps the data.\n",
            flush=True,
        )
        try:
            _supervise(app, snapshots, stop, reload)
        except KeyboardInterrupt:
            pass
        finally:
            app.stop()
            saved = snapshots.save()
            provider.stop()
            print(
                f"\n  Stopped. Local data {'saved in ' + str(state_dir) if saved else 'NOT saved'}.",  # noqa: E501
                flush=True,
            )
    return 0


def _supervise(app: AppProcess, snapshots: object, stop: threading.Event, reload: bool) -> None:
    """Restart the app when files change; snapshot the data every minute."""
    stamps = _fingerprint()
    last_snapshot = time.monotonic()
    while not stop.is_set():
        stop.wait(1.0)
        current = _fingerprint() if reload else stamps
        if current != stamps:
            stamps = current
            print("  Code changed: restarting the app…", flush=True)
            app.stop()
            app.start()
        if time.monotonic() - last_snapshot > 60:
            snapshots.save()  # type: ignore[attr-defined]
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.command == "run":
        return run(args.port, args.idp_port or args.port + 1, args.state_dir, not args.no_reload)
    from infra.local.server import serve

    serve(args.port, args.state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
