"""`make loadtest`: a bounded reporting peak against the local stack (loopback only).

Starts `python -m infra.local run` on free ports (empty data), then many concurrent sessions
sign in through the fake ProConnect, add a lieu, post CRAs through the JSON API and request an
export. Reports throughput and p50/p95 latency, then checks that nothing was lost: for every
user, activities stored == activities submitted == accompagnements counted by the statistics
(after the stream pump caught up), and every export reached « prêt ».

    python -m infra.loadtest --users 40 --cras 10 --max-seconds 300
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    submitted: dict[str, int] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class User:
    def __init__(self, base: str, email: str) -> None:
        self.base = base
        self.email = email
        self.http = requests.Session()
        self.http.trust_env = False
        self.csrf = ""
        self.lieu = ""

    def sign_in(self) -> None:
        page = self.http.get(f"{self.base}/connexion?login_hint={self.email}", timeout=30)
        page.raise_for_status()
        self.csrf = self.http.get(f"{self.base}/api/moi", timeout=30).json()["csrf_token"]
        lieu = self.post(
            "/api/lieux", {"nom": "Médiathèque", "adresse": "1 rue", "commune_insee": "69383"}
        )
        self.lieu = lieu.json()["id"]

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf, "Accept": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        return self.http.post(f"{self.base}{path}", json=body, headers=headers, timeout=30)

    def cra(self, rng: random.Random, index: int) -> dict[str, Any]:
        kind = rng.choice(("individuel", "demarche", "collectif"))
        body: dict[str, Any] = {
            "type": kind,
            "date": (date.today() - timedelta(days=rng.randint(0, 20))).isoformat(),
            "duree": rng.choice((15, 30, 45, 60, 90)),
            "canal": "lieu_activite",
            "lieu_id": self.lieu,
            "materiel": ["ordinateur"],
        }
        if kind == "demarche":
            body["thematiques_demarche"] = ["logement"]
        else:
            body["thematiques"] = ["email"]
        if kind == "collectif":
            body["participants_anonymes"] = {"total": rng.randint(2, 8)}
        return body


def run_user(user: User, cras: int, results: Results, seed: int, with_export: bool) -> None:
    rng = random.Random(seed)
    try:
        user.sign_in()
    except Exception as exc:
        results.error(f"{user.email}: sign-in {type(exc).__name__} {str(exc)[:160]}")
        return
    expected = 0
    for index in range(cras):
        body = user.cra(rng, index)
        started = time.perf_counter()
        answer = user.post("/api/activites", body, key=f"{user.email}-{index}")
        results.record(time.perf_counter() - started)
        if answer.status_code == 201:
            expected += body.get("participants_anonymes", {}).get("total", 1)
        else:
            results.error(f"{user.email}: POST {answer.status_code}")
    with results.lock:
        results.submitted[user.email] = expected
    if with_export:
        answer = user.post("/api/exports", {"kind": "activites", "format": "csv", "filters": {}})
        if answer.status_code == 202:
            results.exports[user.email] = answer.json()["id"]
        else:
            results.error(f"{user.email}: export {answer.status_code}")


def check(users: list[User], results: Results, deadline: float) -> list[str]:
    """Wait for the stream and the queue, then compare what was stored and counted."""
    problems: list[str] = []
    for user in users:
        expected = results.submitted.get(user.email)
        if expected is None:
            continue
        counted = stored = -1
        while time.monotonic() < deadline:
            stats = user.http.get(
                f"{user.base}/api/statistiques?periode=12_mois", timeout=30
            ).json()
            counted = stats["accompagnements"]["total"]
            stored = _stored(user)
            if counted == stored == expected:
                break
            time.sleep(1)
        if not counted == stored == expected:
            problems.append(
                f"{user.email}: submitted {expected}, stored {stored}, counted {counted}"
            )
        export_id = results.exports.get(user.email)
        while export_id and time.monotonic() < deadline:
            status = user.http.get(f"{user.base}/api/exports/{export_id}", timeout=30).json()[
                "statut"
            ]
            if status in ("pret", "echec"):
                break
            time.sleep(1)
        if export_id and status != "pret":
            problems.append(f"{user.email}: export {status}")
    return problems


def _stored(user: User) -> int:
    total, cursor = 0, None
    while True:
        url = f"{user.base}/api/activites" + (f"?cursor={cursor}" if cursor else "")
        page = user.http.get(url, timeout=30).json()
        total += sum(item["participants"] for item in page["items"])
        cursor = page["cursor"]
        if not cursor:
            return total


def start_stack(state: Path) -> tuple[str, subprocess.Popen[str]]:
    port, idp = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "STAGE", "TABLE_", "OIDC_"))
    }
    env["DEMO"] = "0"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "run",
            "--no-reload",
            "--port",
            str(port),
            "--idp-port",
            str(idp),
            "--state-dir",
            str(state),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return base, proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the local stack did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.loadtest")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--cras", type=int, default=10)
    parser.add_argument("--max-seconds", type=int, default=300)
    parser.add_argument("--no-exports", action="store_true")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.max_seconds
    with tempfile.TemporaryDirectory() as tmp:
        base, proc = start_stack(Path(tmp))
        try:
            with_export = not args.no_exports and _has_exports(base)
            users = [User(base, f"charge{i}@loadtest.coop.local") for i in range(args.users)]
            results = Results()
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.users) as pool:
                for i, user in enumerate(users):
                    pool.submit(run_user, user, args.cras, results, i, with_export)
            elapsed = time.perf_counter() - started
            problems = check(users, results, deadline)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    count = len(results.latencies)
    print(
        f"users {args.users}, CRAs posted {count} in {elapsed:.1f} s: {count / elapsed:.1f} CRA/s"
    )
    p50, p95 = (1000 * percentile(results.latencies, q) for q in (0.5, 0.95))
    print(f"CRA POST latency p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(f"errors {len(results.errors)}; exports requested {len(results.exports)}")
    for line in results.errors[:10] + problems[:20]:
        print("  -", line)
    lost = len(problems)
    print(
        "no CRA lost, every export ready"
        if not lost and not results.errors
        else f"{lost} user(s) with a mismatch"
    )
    return 0 if not lost and not results.errors else 1


def _has_exports(base: str) -> bool:
    spec = requests.get(base + "/api/openapi.json", timeout=10).json()
    return "/api/exports" in spec.get("paths", {})


if __name__ == "__main__":
    sys.exit(main())
