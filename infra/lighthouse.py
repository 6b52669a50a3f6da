"""`make lighthouse`: Lighthouse (npm, pinned) in mobile mode on the pages mediators use most.

Starts the local stack (embedded AWS + fake ProConnect, demo data) in a temporary state folder,
signs in as the demo mediator through the real OIDC flow, then runs Lighthouse on the dashboard,
the individuel form and the statistics page with the session cookie, against the gzip-serving app.
Prints each page's scores and bytes transferred, and exits non-zero when a target is missed.

Not part of CI: Lighthouse's simulated mobile throttling makes the performance score depend on the
machine's speed, so it is a review tool; the exact rules (axe) run in `make test`.

Lighthouse 12.2.3 (13 needs Node 22); Chromium from Debian (/usr/bin/chromium), never a download.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VERSION = "12.2.3"
PREFIX = ROOT / ".cache" / "lighthouse"
BIN = PREFIX / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
PAGES = {
    "tableau de bord": "/",
    "CRA individuel": "/activites/nouvelle/individuel",
    "statistiques": "/statistiques",
}
REPORTS = ROOT / "build" / "lighthouse"  # full JSON reports, git-ignored
CATEGORIES = ("performance", "accessibility", "best-practices")


@dataclass(frozen=True)
class Targets:
    accessibility: float = 100
    best_practices: float = 100
    performance: float = 95
    max_kb: float = 350


def install() -> None:
    """npm install of the pinned version into the git-ignored cache (once)."""
    package = PREFIX / "node_modules" / "lighthouse" / "package.json"
    if package.exists() and json.loads(package.read_text())["version"] == VERSION:
        return
    PREFIX.mkdir(parents=True, exist_ok=True)
    (PREFIX / "package.json").write_text('{"private": true}\n')
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--save-exact", f"lighthouse@{VERSION}"],
        cwd=PREFIX,
        check=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_stack(state_dir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    import requests

    port, idp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STAGE", "TABLE_"))}
    env["DEMO"] = "1"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "infra.local", "run", "--no-reload"),
            *("--port", str(port), "--idp-port", str(idp_port), "--state-dir", str(state_dir)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the local stack stopped before becoming healthy")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return base, proc
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the local stack did not become healthy within 120 s")


def session_cookie(base: str) -> str:
    """Sign in as the demo mediator through the fake ProConnect; return the Cookie header."""
    import requests

    from infra.local.demo import DEMO_EMAIL

    http = requests.Session()
    http.trust_env = False
    page = http.get(f"{base}/connexion?login_hint={DEMO_EMAIL}", timeout=30)
    if page.status_code != 200 or not page.url.startswith(base):
        raise SystemExit(f"sign-in failed: {page.status_code} {page.url}")
    host = base.split("//", 1)[1].split(":", 1)[0]
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies if c.domain.startswith(host))


def run_lighthouse(url: str, cookie: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    subprocess.run(
        [
            str(BIN),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
            f"--extra-headers={json.dumps({'Cookie': cookie})}",
        ],
        env=env,
        check=True,
    )
    return dict(json.loads(out.read_text()))


def summarise(name: str, report: dict[str, Any], targets: Targets) -> tuple[str, bool]:
    scores = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
    total = report["audits"]["total-byte-weight"]["numericValue"] / 1024
    final = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
    ok = (
        scores["accessibility"] >= targets.accessibility
        and scores["best-practices"] >= targets.best_practices
        and scores["performance"] >= targets.performance
        and total <= targets.max_kb
        and "/connexion" not in final
    )
    failed = [
        f"{audit['id']} ({audit.get('score')})"
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric")
        and any(
            ref["id"] == audit["id"]
            for c in ("accessibility", "best-practices")
            for ref in report["categories"][c]["auditRefs"]
            if ref.get("weight")
        )
    ]
    line = (
        f"{name:<18} perf {scores['performance']:>3}  a11y {scores['accessibility']:>3}  "
        f"bp {scores['best-practices']:>3}  {total:7.1f} KB  {'ok' if ok else 'MISS'}"
    )
    if failed:
        line += "\n" + " " * 20 + "failed audits: " + ", ".join(failed)
    return line, ok


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.lighthouse")
    parser.add_argument("--base", help="an already running app (signed in as the demo mediator)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("Chromium missing: apt-get install -y chromium")
    install()
    targets = Targets()
    results: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="coop-lighthouse-") as tmp:
        proc = None
        base = args.base
        if base is None:
            base, proc = start_stack(Path(tmp) / "state")
        try:
            cookie = session_cookie(base)
            REPORTS.mkdir(parents=True, exist_ok=True)
            for name, path in PAGES.items():
                out = REPORTS / (name.replace(" ", "-") + ".json")
                report = run_lighthouse(base + path, cookie, out)
                results.append(summarise(name, report, targets))
        finally:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
    print(
        f"Lighthouse {VERSION}, mobile: targets accessibility {targets.accessibility:.0f}, "
        f"best practices {targets.best_practices:.0f}, performance ≥ {targets.performance:.0f}, "
        f"first visit ≤ {targets.max_kb:.0f} KB compressed"
    )
    for line, _ in results:
        print(line)
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
