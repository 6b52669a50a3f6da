"""Shared fixtures: the embedded AWS (moto server), the fake ProConnect, and a browser-like client.

The same code as `make run` provisions the resources, and sign-in goes through the real OIDC
client against the fake provider over loopback HTTP.
"""

from __future__ import annotations

import html
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from infra.local.aws import FAKE_CREDENTIALS, StackNames, moto_server, provision

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_URL = "http://127.0.0.1:8000"
os.environ.update(FAKE_CREDENTIALS)
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@dataclass
class Stack:
    endpoint: str
    names: StackNames
    queues: dict[str, str]


@pytest.fixture(scope="session")
def aws() -> Iterator[Stack]:
    with moto_server() as endpoint:
        names = StackNames.for_stage("test")
        queues = provision(endpoint, names)
        yield Stack(endpoint, names, queues)


@pytest.fixture(scope="session")
def idp() -> Iterator[Any]:
    from infra import fake_proconnect

    with fake_proconnect.start(
        redirect_uri=PUBLIC_URL + "/connexion/retour",
        post_logout_redirect_uri=PUBLIC_URL + "/deconnexion/retour",
    ) as running:
        yield running


def app_env(aws: Stack, issuer: str, public_url: str = PUBLIC_URL) -> dict[str, str]:
    return {
        "STAGE": "local",
        "AWS_ENDPOINT_URL": aws.endpoint,
        "TABLE_PREFIX": aws.names.table_prefix,
        "EXPORT_BUCKET": aws.names.bucket,
        "EXPORT_QUEUE_URL": aws.queues["queue"],
        "PUBLIC_URL": public_url,
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "coop-local",
        "OIDC_CLIENT_SECRET": "coop-local-secret",
        # Every test signs in from the same address: the per-client quota is tested apart.
        "ANONYMOUS_ATTEMPTS_PER_10_MIN": "1000000",
        "ANONYMOUS_BYTES_PER_10_MIN": str(1 << 40),
    }


class Clock:
    """A settable clock for expiry tests (the container reads time only through it)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_setup(aws: Stack, idp: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Chalice app wired to the test stack, with a fresh container per test."""
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    env = app_env(aws, idp.issuer)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    idp.provider.sign_with_foreign_key = False
    idp.provider.override_claims = {}
    idp.provider.override_userinfo_claims = {}
    bootstrap.override(bootstrap.Container(Settings.from_env(os.environ), clock=clock))
    import app as app_module

    yield app_module.app
    bootstrap.override(None)


@dataclass
class Page:
    status: int
    headers: dict[str, Any]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def plain(self) -> str:
        """The HTML with entities decoded (Jinja escapes apostrophes as &#39;)."""
        import html

        return html.unescape(self.text)

    @property
    def location(self) -> str:
        return str(self.headers.get("Location") or self.headers.get("location") or "")

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def h1(self) -> str:
        match = re.search(r"<h1[^>]*>(.*?)</h1>", self.text, re.S)
        return html.unescape(re.sub(r"\s+", " ", match.group(1)).strip()) if match else ""

    @property
    def title(self) -> str:
        match = re.search(r"<title>(.*?)</title>", self.text, re.S)
        return html.unescape(match.group(1).strip()) if match else ""

    def field_errors(self) -> list[str]:
        return [
            html.unescape(m) for m in re.findall(r'class="fr-error-text"[^>]*>(.*?)<', self.text)
        ]

    def csrf(self) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.text)
        return match.group(1) if match else ""


@dataclass
class Browser:
    """A cookie-keeping client over `chalice.test.Client` (the app in-process) that can also
    talk to the fake ProConnect over real HTTP, like a browser following redirects."""

    client: Any
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""

    def _cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _keep_cookies(self, headers: dict[str, Any]) -> None:
        raw = headers.get("Set-Cookie") or headers.get("set-cookie") or []
        for line in [raw] if isinstance(raw, str) else raw:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(
        self, method: str, path: str, body: bytes | str = b"", headers: dict[str, str] | None = None
    ) -> Page:
        all_headers = {"Host": "127.0.0.1:8000", **self._cookie_header(), **(headers or {})}
        response = getattr(self.client.http, method.lower())(path, headers=all_headers, body=body)
        self._keep_cookies(response.headers)
        return Page(response.status_code, response.headers, response.body, path)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Page:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Page:
        from urllib.parse import urlencode

        fields = dict(data or {})
        if csrf and "csrf_token" not in fields:
            fields["csrf_token"] = self.csrf_token
        return self.request(
            "POST",
            path,
            body=urlencode(fields, doseq=True),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    def api(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> Page:
        import json

        extra = {"Content-Type": "application/json", "Accept": "application/json"}
        if method.upper() not in ("GET", "HEAD"):
            extra["X-CSRF-Token"] = self.csrf_token
        body = json.dumps(payload) if payload is not None else b""
        return self.request(method, path, body=body, headers={**extra, **(headers or {})})

    def follow(self, page: Page, limit: int = 10) -> Page:
        """Follow redirects inside the app, and through the provider over real HTTP."""
        for _ in range(limit):
            if page.status not in (301, 302, 303, 307):
                return page
            target = page.location
            if target.startswith(PUBLIC_URL):
                target = target[len(PUBLIC_URL) :]
            page = self.get(target) if target.startswith("/") else provider_get(target)
        return page

    def sign_in(self, email: str | None = None) -> Page:
        path = "/connexion" + (f"?login_hint={email}" if email else "")
        page = self.follow(self.get(path))
        self.refresh_csrf()
        return page

    def refresh_csrf(self) -> None:
        moi = self.get("/api/moi", headers={"Accept": "application/json"})
        self.csrf_token = moi.json()["csrf_token"] if moi.status == 200 else ""

    def onboard(self, nom: str = "Médiathèque Louise Michel", commune: str = "69383") -> Page:
        return self.follow(
            self.post(
                "/bienvenue",
                {"nom": nom, "adresse": "12 rue des Lilas", "commune_insee_q": commune},
            )
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def provider_get(url: str) -> Page:
    """One GET to the fake provider, redirects not followed (the Browser decides)."""
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return Page(response.status, dict(response.headers), response.read(), url)
    except urllib.error.HTTPError as exc:
        return Page(exc.code, dict(exc.headers), exc.read(), url)


@pytest.fixture
def browser(app_setup: Any) -> Browser:
    from chalice.test import Client

    return Browser(Client(app_setup, stage_name="local", project_dir=str(ROOT)))


@pytest.fixture
def new_browser(app_setup: Any) -> Any:
    """Factory for more browsers on the same app (another mediator, another device)."""
    from chalice.test import Client

    def make() -> Browser:
        return Browser(Client(app_setup, stage_name="local", project_dir=str(ROOT)))

    return make


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
