"""`make run`'s stack for real: processes, loopback HTTP, snapshots across restarts."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_stack(state_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port, idp_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "STAGE", "TABLE_", "OIDC_", "PUBLIC_URL", "EXPORT_"))
    }
    env["DEMO"] = "0"  # demo data has its own test (test_demo_data.py); empty starts are fast
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "run",
            "--port",
            str(port),
            "--idp-port",
            str(idp_port),
            "--state-dir",
            str(state_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail("the local stack did not become healthy within 60 s")
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise


def sign_in(base: str, email: str) -> requests.Session:
    """A plain HTTP client following redirects ends up signed in (no password page)."""
    session = requests.Session()
    session.trust_env = False
    page = session.get(f"{base}/connexion?login_hint={email}", timeout=10)
    assert page.status_code == 200
    assert page.url.startswith(base)
    return session


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_make_run_stack_signs_in_keeps_data_across_restarts_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with local_stack(state) as (base, proc):
        session = sign_in(base, "persistance@example.org")
        onboarding = session.get(base + "/bienvenue", timeout=10)
        answer = session.post(
            base + "/bienvenue",
            data={
                "csrf_token": csrf_of(onboarding.text),
                "nom": "Tiers-lieu des Lilas",
                "adresse": "3 place du Marché",
                "commune_insee_q": "42218",
            },
            timeout=10,
        )
        assert answer.url.startswith(base + "/?message=bienvenue")
        assert "Bonjour Persistance" in answer.text
        home = requests.get(base + "/", timeout=5, headers={"Accept-Encoding": "gzip"})
        assert home.headers["Content-Encoding"] == "gzip"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "Local data saved" in output
    assert (state / "snapshot.pickle").exists()
    assert json.loads((state / "snapshot.json").read_text())["moto"]

    with local_stack(state) as (base, proc):
        session = sign_in(base, "persistance@example.org")
        lieux = session.get(base + "/api/moi", timeout=5).json()["lieux"]
        assert [lieu["nom"] for lieu in lieux] == ["Tiers-lieu des Lilas"]


def test_a_snapshot_from_another_moto_version_is_set_aside(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with local_stack(state) as (base, _):
        session = sign_in(base, "version@example.org")
        page = session.get(base + "/bienvenue", timeout=5)
        session.post(
            base + "/bienvenue",
            data={
                "csrf_token": csrf_of(page.text),
                "nom": "Lieu",
                "adresse": "1 rue",
                "commune_insee_q": "42218",
            },
            timeout=10,
        )
    meta = json.loads((state / "snapshot.json").read_text())
    meta["moto"] = "0.0.1"
    (state / "snapshot.json").write_text(json.dumps(meta))

    with local_stack(state) as (base, _):
        session = sign_in(base, "version@example.org")
        assert session.get(base + "/api/moi", timeout=5).json()["lieux"] == []
    set_aside = list(state.glob("set-aside-*/snapshot.pickle"))
    assert len(set_aside) == 1
