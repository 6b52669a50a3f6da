"""Browser suite: Debian's Chromium driven by Playwright against `make run`'s stack on loopback.

One app process (moto, fake ProConnect, pumps) for the whole session; signed-in browser contexts
are reused through Playwright's storage_state. Playwright's own browser downloads are never used:
CI installs Debian's chromium (`make chromium`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from infra import axe
from tests.browser.checks import CHROMIUM, CHROMIUM_ARGS, PHONE

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    base_url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return stack.base_url


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`python -m infra.local run` (no demo data, no reloader) on free loopback ports."""
    state = tmp_path_factory.mktemp("browser-stack")
    port, idp_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "STAGE", "TABLE_", "OIDC_", "PUBLIC_URL", "EXPORT_"))
    }
    env["DEMO"] = "0"
    log_path = state / "stack.log"
    with log_path.open("w") as log:
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
                str(idp_port),
                "--state-dir",
                str(state / "data"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log_path)
        yield Stack(base, proc)
    finally:
        stop(proc)


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    session = requests.Session()
    session.trust_env = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("the local stack exited:\n" + log_path.read_text())
        try:
            if session.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail("the local stack did not become healthy within 60 s:\n" + log_path.read_text())


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # SIGTERM, not SIGINT: a shell running pytest in the background makes children ignore
    # SIGINT; the session's data is thrown away anyway.
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return axe.path().read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


def new_email(purpose: str) -> str:
    """A fresh mediator per run: the fake ProConnect creates any e-mail's user on the fly."""
    return f"{purpose}.{uuid.uuid4().hex[:8]}@example.org"


def new_context(browser: Any, base_url: str, *, javascript: bool = True, **options: Any) -> Any:
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE,
        java_script_enabled=javascript,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        **options,
    )
    context.set_default_timeout(10_000)
    return context


def grant_gestionnaire(stack: Stack, email: str) -> None:
    """The ops command (`python -m chalicelib.stats grant`) against the stack's embedded AWS.

    The moto endpoint is chosen by the stack at start-up; its app child process has it in its
    environment (Linux /proc), like every other setting of the app.
    """
    env = dict(os.environ)
    env.update(app_environment(stack.process.pid))
    subprocess.run(
        [sys.executable, "-m", "chalicelib.stats", "grant", "--email", email],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def app_environment(parent: int) -> dict[str, str]:
    wanted = ("STAGE", "AWS_", "TABLE_PREFIX", "EXPORT_")
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for child in children:
        raw = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
        if "AWS_ENDPOINT_URL" in env:
            return {k: v for k, v in env.items() if k.startswith(wanted)}
    raise AssertionError("the stack's app process (with AWS_ENDPOINT_URL) was not found")
