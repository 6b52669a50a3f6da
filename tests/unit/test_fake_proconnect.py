"""The local fake ProConnect behaves like ProConnect, over real HTTP, including its refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from infra.fake_proconnect import (
    DEMO_MEDIATOR_EMAIL,
    SECOND_MEDIATOR_EMAIL,
    FakeProConnect,
    RunningProvider,
    start,
)

CLIENT_ID = "coop-test"
CLIENT_SECRET = "test-secret"
REDIRECT_URI = "http://127.0.0.1:8000/connexion/retour"
POST_LOGOUT_URI = "http://127.0.0.1:8000/deconnexion/retour"
SCOPES = "openid email given_name usual_name siret idp_id uid"


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # Surface the 302 itself: where the provider sends the browser is what we assert on.
        return None


# No proxy: a developer's http_proxy must not swallow requests to 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _KeepRedirects)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def location_params(self) -> dict[str, str]:
        location = self.headers["Location"]
        return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def _http(url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None):
    data = urlencode(form).encode() if form is not None else None
    all_headers = dict(headers or {})
    if form is not None:
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    request = urllib.request.Request(url, data=data, headers=all_headers)
    try:
        with _OPENER.open(request, timeout=5) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


@dataclass(frozen=True)
class Attempt:
    state: str
    nonce: str
    verifier: str


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(running: RunningProvider, **overrides: str | None) -> tuple[Answer, Attempt]:
    attempt = Attempt(*(secrets.token_urlsafe(32) for _ in range(3)))
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES,
        "state": attempt.state,
        "nonce": attempt.nonce,
        "code_challenge": _challenge(attempt.verifier),
        "code_challenge_method": "S256",
        "acr_values": "eidas1",
        **overrides,
    }
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return _http(f"{running.issuer}/authorize?{query}"), attempt


def _sign_in(running: RunningProvider, login_hint: str | None = None) -> tuple[str, Attempt]:
    answer, attempt = _authorize(running, login_hint=login_hint)
    assert answer.status == 302
    return answer.location_params()["code"], attempt


def _exchange(running: RunningProvider, code: str, verifier: str, **overrides: str) -> Answer:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code_verifier": verifier,
        **overrides,
    }
    return _http(f"{running.issuer}/token", form)


def _tokens(running: RunningProvider, login_hint: str | None = None) -> tuple[dict, Attempt]:
    code, attempt = _sign_in(running, login_hint)
    answer = _exchange(running, code, attempt.verifier)
    assert answer.status == 200, answer.body
    return answer.json(), attempt


def _published_keys(running: RunningProvider) -> KeySet:
    return KeySet.import_key_set(_http(f"{running.issuer}/jwks").json())


def _verified_claims(running: RunningProvider, token: str) -> dict[str, Any]:
    decoded = jwt.decode(token, _published_keys(running), algorithms=["RS256"])
    return dict(decoded.claims)


def _unverified_header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _userinfo(running: RunningProvider, access_token: str) -> Answer:
    return _http(f"{running.issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"})


@pytest.fixture(scope="module")
def running() -> Iterator[RunningProvider]:
    # One provider for the module: RSA key generation dominates the runtime.
    with start(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        post_logout_redirect_uri=POST_LOGOUT_URI,
    ) as provider:
        yield provider


@pytest.fixture
def provider(running: RunningProvider) -> Iterator[FakeProConnect]:
    yield running.provider
    running.provider.sign_with_foreign_key = False
    running.provider.override_claims = {}
    running.provider.override_userinfo_claims = {}
    running.provider.clock = time.time


def test_given_the_provider_when_discovery_is_fetched_then_it_advertises_proconnect_endpoints(
    running: RunningProvider,
) -> None:
    answer = _http(f"{running.issuer}/.well-known/openid-configuration")

    document = answer.json()
    assert answer.status == 200
    assert document["issuer"] == running.issuer
    assert document["authorization_endpoint"] == f"{running.issuer}/authorize"
    assert document["token_endpoint"] == f"{running.issuer}/token"
    assert document["userinfo_endpoint"] == f"{running.issuer}/userinfo"
    assert document["jwks_uri"] == f"{running.issuer}/jwks"
    assert document["end_session_endpoint"] == f"{running.issuer}/session/end"
    assert document["token_endpoint_auth_methods_supported"] == ["client_secret_post"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["userinfo_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "siret", "idp_id", "usual_name"} <= set(document["scopes_supported"])


def test_given_a_valid_request_when_authorizing_then_the_browser_goes_straight_back_with_a_code(
    running: RunningProvider,
) -> None:
    answer, attempt = _authorize(running)

    params = answer.location_params()
    assert answer.status == 302
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    assert params["state"] == attempt.state
    assert params["iss"] == running.issuer
    assert len(params["code"]) >= 32


def test_given_a_code_when_exchanged_then_the_id_token_verifies_against_the_jwks(
    running: RunningProvider,
) -> None:
    tokens, attempt = _tokens(running)

    claims = _verified_claims(running, tokens["id_token"])
    demo = running.provider.users[DEMO_MEDIATOR_EMAIL]
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 60
    assert claims["nonce"] == attempt.nonce
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == running.issuer
    assert claims["sub"] == demo.sub
    assert claims["acr"] == "eidas1"
    assert claims["idp_id"] == "fia1v2"
    assert claims["exp"] > time.time()


def test_given_an_access_token_when_userinfo_is_fetched_then_it_is_a_signed_jwt(
    running: RunningProvider,
) -> None:
    tokens, _ = _tokens(running)

    answer = _userinfo(running, tokens["access_token"])

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/jwt"
    claims = _verified_claims(running, answer.body.decode())
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == running.issuer
    assert claims["email"] == DEMO_MEDIATOR_EMAIL
    assert (claims["given_name"], claims["usual_name"]) == ("Camille", "Dupont")
    assert claims["siret"] == "21750001600019"
    assert claims["sub"] == _verified_claims(running, tokens["id_token"])["sub"]


def test_given_fewer_scopes_when_userinfo_is_fetched_then_only_their_claims_are_released(
    running: RunningProvider,
) -> None:
    answer, attempt = _authorize(running, scope="openid email")
    code = answer.location_params()["code"]
    tokens = _exchange(running, code, attempt.verifier).json()

    claims = _verified_claims(running, _userinfo(running, tokens["access_token"]).body.decode())

    assert claims["email"] == DEMO_MEDIATOR_EMAIL
    assert "siret" not in claims


def test_given_an_unknown_access_token_when_userinfo_is_fetched_then_it_is_refused(
    running: RunningProvider,
) -> None:
    answer = _userinfo(running, "not-a-token")

    assert answer.status == 401


def test_given_a_wrong_code_verifier_when_exchanging_then_pkce_refuses_the_grant(
    running: RunningProvider,
) -> None:
    code, _ = _sign_in(running)

    answer = _exchange(running, code, secrets.token_urlsafe(32))

    assert answer.status == 400
    assert answer.json()["error"] == "invalid_grant"


def test_given_a_used_code_when_replayed_then_the_grant_is_refused(
    running: RunningProvider,
) -> None:
    code, attempt = _sign_in(running)
    assert _exchange(running, code, attempt.verifier).status == 200

    replay = _exchange(running, code, attempt.verifier)

    assert replay.status == 400
    assert replay.json()["error"] == "invalid_grant"


def test_given_a_code_older_than_a_minute_when_exchanging_then_it_has_expired(
    running: RunningProvider, provider: FakeProConnect
) -> None:
    code, attempt = _sign_in(running)
    provider.clock = lambda: time.time() + 61

    answer = _exchange(running, code, attempt.verifier)

    assert answer.status == 400
    assert answer.json()["error"] == "invalid_grant"


def test_given_http_basic_credentials_when_exchanging_then_the_client_is_refused(
    running: RunningProvider,
) -> None:
    code, attempt = _sign_in(running)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "code_verifier": attempt.verifier,
    }

    answer = _http(f"{running.issuer}/token", form, headers={"Authorization": f"Basic {basic}"})

    assert answer.status == 401
    assert answer.json()["error"] == "invalid_client"


def test_given_a_wrong_client_secret_when_exchanging_then_the_client_is_refused(
    running: RunningProvider,
) -> None:
    code, attempt = _sign_in(running)

    answer = _exchange(running, code, attempt.verifier, client_secret="guess")

    assert answer.status == 401
    assert answer.json()["error"] == "invalid_client"


def test_given_a_short_state_when_authorizing_then_the_client_gets_invalid_request(
    running: RunningProvider,
) -> None:
    answer, _ = _authorize(running, state="too-short")

    params = answer.location_params()
    assert answer.status == 302
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    assert params["error"] == "invalid_request"
    assert "state" in params["error_description"]
    assert params["state"] == "too-short"
    assert "code" not in params


def test_given_no_pkce_when_authorizing_then_the_client_gets_invalid_request(
    running: RunningProvider,
) -> None:
    answer, _ = _authorize(running, code_challenge=None, code_challenge_method=None)

    assert answer.location_params()["error"] == "invalid_request"


def test_given_an_unregistered_redirect_uri_when_authorizing_then_an_error_page_is_shown(
    running: RunningProvider,
) -> None:
    answer, _ = _authorize(running, redirect_uri="https://attacker.example/callback")

    assert answer.status == 400
    assert "Location" not in answer.headers
    assert answer.headers["Content-Type"].startswith("text/html")


def test_given_a_login_hint_when_signing_in_then_that_user_is_signed_in(
    running: RunningProvider,
) -> None:
    tokens, _ = _tokens(running, login_hint=SECOND_MEDIATOR_EMAIL)

    claims = _verified_claims(running, _userinfo(running, tokens["access_token"]).body.decode())

    assert claims["email"] == SECOND_MEDIATOR_EMAIL
    assert claims["given_name"] == "Dominique"
    assert claims["siret"] != "21750001600019"


def test_given_an_unknown_login_hint_when_signing_in_then_a_stable_user_is_invented(
    running: RunningProvider,
) -> None:
    first, _ = _tokens(running, login_hint="Jean-Marc.Petit@Example.org")
    again, _ = _tokens(running, login_hint="jean-marc.petit@example.org")

    claims = _verified_claims(running, _userinfo(running, first["access_token"]).body.decode())
    assert claims["email"] == "jean-marc.petit@example.org"
    assert (claims["given_name"], claims["usual_name"]) == ("Jean-Marc", "Petit")
    assert len(claims["siret"]) == 14
    assert _verified_claims(running, again["id_token"])["sub"] == claims["sub"]
    assert claims["sub"] != running.provider.users[DEMO_MEDIATOR_EMAIL].sub


def test_given_an_id_token_when_ending_the_session_then_the_browser_returns_with_the_state(
    running: RunningProvider,
) -> None:
    tokens, _ = _tokens(running)
    state = secrets.token_urlsafe(32)
    query = urlencode(
        {
            "id_token_hint": tokens["id_token"],
            "state": state,
            "post_logout_redirect_uri": POST_LOGOUT_URI,
        }
    )

    answer = _http(f"{running.issuer}/session/end?{query}")

    assert answer.status == 302
    assert answer.headers["Location"] == f"{POST_LOGOUT_URI}?{urlencode({'state': state})}"


def test_given_no_id_token_hint_when_ending_the_session_then_an_error_page_is_shown(
    running: RunningProvider,
) -> None:
    query = urlencode({"state": "x" * 32, "post_logout_redirect_uri": POST_LOGOUT_URI})

    answer = _http(f"{running.issuer}/session/end?{query}")

    assert answer.status == 400
    assert "Location" not in answer.headers


def test_given_foreign_key_signing_when_verifying_against_the_jwks_then_the_signature_fails(
    running: RunningProvider, provider: FakeProConnect
) -> None:
    provider.sign_with_foreign_key = True

    tokens, _ = _tokens(running)

    published_kid = _published_keys(running).keys[0].kid
    assert _unverified_header(tokens["id_token"])["kid"] == published_kid
    with pytest.raises(BadSignatureError):
        _verified_claims(running, tokens["id_token"])


def test_given_overridden_claims_when_exchanging_then_the_id_token_carries_them(
    running: RunningProvider, provider: FakeProConnect
) -> None:
    provider.override_claims = {"nonce": "wrong", "exp": 1}

    tokens, attempt = _tokens(running)

    claims = _verified_claims(running, tokens["id_token"])
    assert claims["nonce"] == "wrong" != attempt.nonce
    assert claims["exp"] == 1
