"""A local fake ProConnect OpenID Connect provider (developer machines and tests only).

`make run` and the tests point the real `chalicelib.auth.oidc` client at this provider, so sign-in
always runs the production code path: discovery, PKCE S256, client_secret_post, RS256 ID tokens and
a signed userinfo JWT. It is deliberately strict where ProConnect is strict (state/nonce length,
registered redirect URIs, single-use codes) so that client bugs show up here, not in production.
There is no password page: `/authorize` signs the requested test user in at once.

Lives in `infra/`, which is never packaged into the Lambda.

    python -m infra.fake_proconnect --port 8001 --client-id coop-local --client-secret s3cret \
        --redirect-uri http://127.0.0.1:8000/connexion/retour \
        --post-logout-redirect-uri http://127.0.0.1:8000/deconnexion/retour
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.types import StartResponse, WSGIEnvironment

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeyParameters, KeySet, RSAKey

CODE_TTL_SECONDS = 60
TOKEN_TTL_SECONDS = 60
# ProConnect rejects shorter values: a client sending less must fail locally too.
MIN_STATE_AND_NONCE_LENGTH = 32
SIGNING_ALGORITHM = "RS256"
# ProConnect releases a claim only when its scope was requested; mirror it so a missing scope in
# the client configuration is caught here.
SCOPE_CLAIMS = {
    "email": "email",
    "given_name": "given_name",
    "usual_name": "usual_name",
    "siret": "siret",
    "idp_id": "idp_id",
    "uid": "uid",
    "phone": "phone_number",
}
SUPPORTED_SCOPES = ("openid", *SCOPE_CLAIMS)
USER_CLAIMS = ("sub", *SCOPE_CLAIMS.values())

DEMO_IDP_ID = "fia1v2"  # ProConnect's test identity provider ("FIA 1")
DEMO_MEDIATOR_EMAIL = "camille.dupont@demo.coop.local"
SECOND_MEDIATOR_EMAIL = "dominique.martin@demo.coop.local"
GESTIONNAIRE_EMAIL = "gestionnaire@demo.coop.local"
DEMO_STRUCTURE_SIRET = "21750001600019"
SECOND_STRUCTURE_SIRET = "21690123100011"
# Users created from an unknown login_hint share one structure of their own.
ON_THE_FLY_SIRET = "13002603200016"

_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url(sha256) without padding
_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _stable_id(purpose: str, email: str) -> str:
    # Derived, not random: the app keys mediators on `sub`, which must survive provider restarts.
    return hashlib.sha256(f"{purpose}:{email}".encode()).hexdigest()


@dataclass(frozen=True)
class TestUser:
    """An identity the fake provider can sign in; fields are the ProConnect claims."""

    __test__ = False  # a domain object, not a pytest test class

    sub: str
    email: str
    given_name: str
    usual_name: str
    siret: str
    idp_id: str = DEMO_IDP_ID
    uid: str = ""
    phone_number: str | None = None

    @classmethod
    def create(
        cls,
        email: str,
        given_name: str,
        usual_name: str,
        siret: str,
        phone_number: str | None = None,
    ) -> TestUser:
        normalized = email.strip().lower()
        return cls(
            sub=_stable_id("sub", normalized),
            email=normalized,
            given_name=given_name,
            usual_name=usual_name,
            siret=siret,
            uid=_stable_id("uid", normalized)[:12],
            phone_number=phone_number,
        )

    @classmethod
    def from_email(cls, email: str) -> TestUser:
        """Invent a plausible person from an address: `jean-marc.petit@x` → Jean-Marc Petit."""
        local_part = email.strip().lower().split("@", 1)[0]
        words = [word for word in re.split(r"[._+]", local_part) if word]
        given_name = words[0].title() if words else "Test"
        usual_name = " ".join(words[1:]).title() or "Test"
        return cls.create(email, given_name, usual_name, ON_THE_FLY_SIRET)

    def claims(self, scopes: Iterable[str]) -> dict[str, str]:
        released = {"sub": self.sub}
        for scope in scopes:
            name = SCOPE_CLAIMS.get(scope)
            value = getattr(self, name) if name else None
            if name and value:
                released[name] = value
        return released


def builtin_users() -> dict[str, TestUser]:
    users = (
        TestUser.create(
            DEMO_MEDIATOR_EMAIL, "Camille", "Dupont", DEMO_STRUCTURE_SIRET, "0612345678"
        ),
        TestUser.create(SECOND_MEDIATOR_EMAIL, "Dominique", "Martin", SECOND_STRUCTURE_SIRET),
        # Same structure as Camille: the gestionnaire sees that structure's mediators.
        TestUser.create(GESTIONNAIRE_EMAIL, "Sacha", "Bernard", DEMO_STRUCTURE_SIRET),
    )
    return {user.email: user for user in users}


@dataclass(frozen=True)
class _PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    scope: str
    user: TestUser
    auth_time: int
    expires_at: float


@dataclass(frozen=True)
class _AccessGrant:
    client_id: str
    scope: str
    user: TestUser
    expires_at: float


@dataclass(frozen=True)
class Response:
    status: str
    headers: list[tuple[str, str]]
    body: bytes = b""


_STATUS_TEXT = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
}


def _response(status: int, content_type: str, body: bytes, *extra: tuple[str, str]) -> Response:
    # no-store everywhere: codes and tokens must never be cached (RFC 6749 §5.1).
    headers = [("Content-Type", content_type), ("Cache-Control", "no-store"), *extra]
    return Response(f"{status} {_STATUS_TEXT[status]}", headers, body)


def _json(status: int, payload: Mapping[str, Any], *extra: tuple[str, str]) -> Response:
    return _response(status, "application/json", json.dumps(payload).encode(), *extra)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})


def _error_page(message: str) -> Response:
    body = (
        '<!doctype html><html lang="fr"><meta charset="utf-8">'
        "<title>Fake ProConnect : requête refusée</title>"
        f"<h1>Requête refusée</h1><p>{html.escape(message)}</p></html>"
    )
    return _response(400, "text/html; charset=utf-8", body.encode())


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    separator = "&" if urlsplit(uri).query else "?"
    location = uri + separator + urlencode(params)
    return _response(302, "text/plain; charset=utf-8", b"", ("Location", location))


def _single_values(raw: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(raw).items()}


def _query(environ: WSGIEnvironment) -> dict[str, str]:
    return _single_values(environ.get("QUERY_STRING", ""))


def _form(environ: WSGIEnvironment) -> dict[str, str]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return _single_values(environ["wsgi.input"].read(length).decode("utf-8", "replace"))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _first_failure(checks: Iterable[tuple[object, str]]) -> str | None:
    return next((message for passed, message in checks if not passed), None)


def _authorize_problem(params: Mapping[str, str]) -> str | None:
    scopes = params.get("scope", "").split()
    hint = params.get("login_hint")
    unknown_scopes = sorted(set(scopes) - set(SUPPORTED_SCOPES))
    return _first_failure(
        (
            (params.get("response_type") == "code", "response_type must be code"),
            ("openid" in scopes, "scope must contain openid"),
            (not unknown_scopes, f"unsupported scope: {' '.join(unknown_scopes)}"),
            (
                len(params.get("state", "")) >= MIN_STATE_AND_NONCE_LENGTH,
                "state is required and must be at least 32 characters",
            ),
            (
                len(params.get("nonce", "")) >= MIN_STATE_AND_NONCE_LENGTH,
                "nonce is required and must be at least 32 characters",
            ),
            (params.get("code_challenge_method") == "S256", "code_challenge_method must be S256"),
            (
                _PKCE_CHALLENGE.fullmatch(params.get("code_challenge", "")),
                "code_challenge must be base64url(sha256(code_verifier))",
            ),
            (hint is None or _EMAIL.fullmatch(hint.strip()), "login_hint must be an e-mail"),
        )
    )


def _grant_problem(pending: _PendingCode | None, form: Mapping[str, str], now: float) -> str | None:
    if pending is None:
        return "code unknown or already used"
    verifier = form.get("code_verifier", "")
    return _first_failure(
        (
            (pending.expires_at > now, "code expired"),
            (pending.client_id == form.get("client_id"), "code was issued to another client"),
            (pending.redirect_uri == form.get("redirect_uri"), "redirect_uri differs"),
            (
                _PKCE_VERIFIER.fullmatch(verifier)
                and hmac.compare_digest(_s256(verifier), pending.code_challenge),
                "code_verifier does not match code_challenge",
            ),
        )
    )


def _bearer_token(environ: WSGIEnvironment) -> str:
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


Handler = Callable[[WSGIEnvironment], Response]


class FakeProConnect:
    """WSGI app serving the ProConnect endpoints for `issuer`.

    Test hooks (plain attributes, applied while set):
    - `sign_with_foreign_key`: sign ID tokens and userinfo with a key absent from the JWKS, under
      the published kid, as an attacker or a botched key rotation would.
    - `override_claims`: merged into every ID token's claims (e.g. a wrong nonce, a past exp).
    - `override_userinfo_claims`: merged into every userinfo JWT's claims (e.g. another sub).
    - `users`: test users by lower-case e-mail; add or replace entries freely.
    - `clock`: the time source, replaceable to expire codes without sleeping.
    """

    def __init__(
        self,
        issuer: str,
        clients: Mapping[str, Mapping[str, Any]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.clients = {client_id: dict(client) for client_id, client in clients.items()}
        self.clock = clock
        self.users = builtin_users()
        self.sign_with_foreign_key = False
        self.override_claims: dict[str, Any] = {}
        self.override_userinfo_claims: dict[str, Any] = {}
        kid = secrets.token_hex(8)
        self.key = RSAKey.generate_key(2048, parameters=_key_parameters(kid), private=True)
        self._foreign_key: RSAKey | None = None
        self._codes: dict[str, _PendingCode] = {}
        self._access_grants: dict[str, _AccessGrant] = {}
        # The server is threaded: one lock makes "redeem a code once" atomic.
        self._lock = threading.Lock()
        self._routes = self._build_routes()

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        response = self._dispatch(environ)
        start_response(response.status, response.headers)
        return [response.body]

    def _build_routes(self) -> dict[str, tuple[frozenset[str], Handler]]:
        base = urlsplit(self.issuer).path
        get, get_or_post = frozenset({"GET"}), frozenset({"GET", "POST"})
        return {
            base + "/.well-known/openid-configuration": (get, self._discovery),
            base + "/jwks": (get, self._jwks),
            base + "/authorize": (get, self._authorize),
            base + "/token": (frozenset({"POST"}), self._token),
            base + "/userinfo": (get_or_post, self._userinfo),
            base + "/session/end": (get, self._end_session),
        }

    def _dispatch(self, environ: WSGIEnvironment) -> Response:
        route = self._routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return _json(404, {"error": "not_found"})
        methods, handler = route
        if environ.get("REQUEST_METHOD", "GET") not in methods:
            return _json(405, {"error": "method_not_allowed"}, ("Allow", ", ".join(methods)))
        return handler(environ)

    # --- metadata ---------------------------------------------------------------------------

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/jwks",
            "end_session_endpoint": self.issuer + "/session/end",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
            "userinfo_signing_alg_values_supported": [SIGNING_ALGORITHM],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": list(SUPPORTED_SCOPES),
            "claims_supported": [*USER_CLAIMS, "acr", "amr", "auth_time", "nonce"],
            "acr_values_supported": ["eidas1"],
        }

    def public_jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))

    def _discovery(self, environ: WSGIEnvironment) -> Response:
        return _json(200, self.discovery_document())

    def _jwks(self, environ: WSGIEnvironment) -> Response:
        return _json(200, self.public_jwks())

    # --- authorization ----------------------------------------------------------------------

    def _authorize(self, environ: WSGIEnvironment) -> Response:
        params = _query(environ)
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or redirect_uri not in client["redirect_uris"]:
            # Never redirect to an unverified URI: that would make the provider an open redirector.
            return _error_page("client_id inconnu ou redirect_uri non enregistrée pour ce client.")
        problem = _authorize_problem(params)
        if problem is not None:
            error = {"error": "invalid_request", "error_description": problem, "iss": self.issuer}
            if params.get("state"):
                error["state"] = params["state"]
            return _redirect(redirect_uri, error)
        code = self._issue_code(params, self._user_for(params.get("login_hint")))
        return _redirect(redirect_uri, {"code": code, "state": params["state"], "iss": self.issuer})

    def _user_for(self, login_hint: str | None) -> TestUser:
        email = (login_hint or DEMO_MEDIATOR_EMAIL).strip().lower()
        with self._lock:
            if email not in self.users:
                # Tests need many distinct people: any unknown address becomes a new user.
                self.users[email] = TestUser.from_email(email)
            return self.users[email]

    def _issue_code(self, params: Mapping[str, str], user: TestUser) -> str:
        now = self.clock()
        code = secrets.token_urlsafe(32)
        pending = _PendingCode(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            nonce=params["nonce"],
            code_challenge=params["code_challenge"],
            scope=params["scope"],
            user=user,
            auth_time=int(now),
            expires_at=now + CODE_TTL_SECONDS,
        )
        with self._lock:
            self._codes[code] = pending
        return code

    # --- token ------------------------------------------------------------------------------

    def _token(self, environ: WSGIEnvironment) -> Response:
        if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "body must be form-urlencoded")
        form = _form(environ)
        if not self._client_authenticated(environ, form):
            return _oauth_error(401, "invalid_client", "client_secret_post authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "only authorization_code")
        # Popped before checking: a code is burnt by any redemption attempt, as in production.
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)
        problem = _grant_problem(pending, form, self.clock())
        if pending is None or problem is not None:
            return _oauth_error(400, "invalid_grant", problem or "invalid code")
        return _json(200, self._token_response(pending))

    def _client_authenticated(self, environ: WSGIEnvironment, form: Mapping[str, str]) -> bool:
        if environ.get("HTTP_AUTHORIZATION"):
            # ProConnect clients are registered for client_secret_post only: Basic must fail here
            # exactly as it would in production.
            return False
        client = self.clients.get(form.get("client_id", ""))
        secret = form.get("client_secret", "")
        if client is None or not secret:
            return False
        return hmac.compare_digest(secret.encode(), str(client["secret"]).encode())

    def _token_response(self, pending: _PendingCode) -> dict[str, Any]:
        now = int(self.clock())
        access_token = secrets.token_urlsafe(32)
        expires_at = now + TOKEN_TTL_SECONDS
        grant = _AccessGrant(pending.client_id, pending.scope, pending.user, expires_at)
        with self._lock:
            self._access_grants[access_token] = grant
        claims = {
            "iss": self.issuer,
            "sub": pending.user.sub,
            "aud": pending.client_id,
            "exp": expires_at,
            "iat": now,
            "nonce": pending.nonce,
            "acr": "eidas1",
            "amr": ["pwd"],
            "idp_id": pending.user.idp_id,
            "auth_time": pending.auth_time,
            **self.override_claims,
        }
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_SECONDS,
            "id_token": self.sign(claims),
            "scope": pending.scope,
        }

    # --- userinfo ---------------------------------------------------------------------------

    def _userinfo(self, environ: WSGIEnvironment) -> Response:
        with self._lock:
            grant = self._access_grants.get(_bearer_token(environ))
        now = int(self.clock())
        if grant is None or grant.expires_at <= now:
            return _json(
                401,
                {"error": "invalid_token"},
                ("WWW-Authenticate", 'Bearer error="invalid_token"'),
            )
        claims = {
            "iss": self.issuer,
            "aud": grant.client_id,
            **grant.user.claims(grant.scope.split()),
            "exp": now + TOKEN_TTL_SECONDS,
            "iat": now,
            **self.override_userinfo_claims,
        }
        # ProConnect answers userinfo with a signed JWT, never plain JSON.
        return _response(200, "application/jwt", self.sign(claims).encode())

    # --- logout -----------------------------------------------------------------------------

    def _end_session(self, environ: WSGIEnvironment) -> Response:
        params = _query(environ)
        client = self.clients.get(self._audience_of(params.get("id_token_hint", "")) or "")
        target = params.get("post_logout_redirect_uri", "")
        problem = _first_failure(
            (
                (client is not None, "id_token_hint manquant ou non émis par ce fournisseur."),
                (params.get("state"), "state manquant."),
                (
                    client is not None and target in client["post_logout_redirect_uris"],
                    "post_logout_redirect_uri non enregistrée pour ce client.",
                ),
            )
        )
        if problem is not None:
            return _error_page(problem)
        return _redirect(target, {"state": params["state"]})

    def _audience_of(self, id_token: str) -> str | None:
        """Client id of an ID token this provider signed; expiry is deliberately not checked
        because logout usually happens long after the 60-second ID token has expired."""
        try:
            token = jwt.decode(id_token, KeySet([self.key]), algorithms=[SIGNING_ALGORITHM])
        except (JoseError, ValueError):
            return None
        audience = token.claims.get("aud")
        if isinstance(audience, list):
            audience = audience[0] if audience else None
        if token.claims.get("iss") != self.issuer or not isinstance(audience, str):
            return None
        return audience

    # --- signing ----------------------------------------------------------------------------

    def sign(self, claims: Mapping[str, Any]) -> str:
        key = self._foreign_signing_key() if self.sign_with_foreign_key else self.key
        header = {"alg": SIGNING_ALGORITHM, "kid": self.key.kid}
        return jwt.encode(header, dict(claims), key, algorithms=[SIGNING_ALGORITHM])

    def _foreign_signing_key(self) -> RSAKey:
        # Generated on first use only: RSA key generation is the slowest thing this module does.
        if self._foreign_key is None:
            parameters = _key_parameters(str(self.key.kid))
            self._foreign_key = RSAKey.generate_key(2048, parameters=parameters, private=True)
        return self._foreign_key


def _key_parameters(kid: str) -> KeyParameters:
    return {"kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM}


# --- serving ------------------------------------------------------------------------------------


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    # Daemon threads: a browser's idle keep-alive connection must never block shutdown.
    daemon_threads = True


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and `make run` output readable: no line per request."""


@dataclass
class RunningProvider:
    provider: FakeProConnect
    server: WSGIServer
    thread: threading.Thread
    _stopped: bool = field(default=False, repr=False)

    @property
    def issuer(self) -> str:
        return self.provider.issuer

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    client_id: str = "coop-local",
    client_secret: str = "coop-local-secret",  # noqa: S107 - a dev-only fake's default
    redirect_uri: str = "http://127.0.0.1:8000/connexion/retour",
    post_logout_redirect_uri: str = "http://127.0.0.1:8000/deconnexion/retour",
) -> RunningProvider:
    """Serve a provider with one registered client in a daemon thread."""
    # Bind first: with port 0 the issuer (compared exactly by the client) is only known now.
    # This is `wsgiref.simple_server.make_server` minus the app, which needs the issuer.
    server = _ThreadingWSGIServer((host, port), _QuietRequestHandler)
    actual_port = server.server_address[1]
    clients = {
        client_id: {
            "secret": client_secret,
            "redirect_uris": [redirect_uri],
            "post_logout_redirect_uris": [post_logout_redirect_uri],
        }
    }
    provider = FakeProConnect(f"http://{host}:{actual_port}", clients)
    server.set_app(provider)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # fast stop() in tests
        name="fake-proconnect",
        daemon=True,
    )
    thread.start()
    return RunningProvider(provider=provider, server=server, thread=thread)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local fake ProConnect (dev only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--client-id", default="coop-local")
    parser.add_argument("--client-secret", default="coop-local-secret")
    parser.add_argument("--redirect-uri", default="http://127.0.0.1:8000/connexion/retour")
    parser.add_argument(
        "--post-logout-redirect-uri", default="http://127.0.0.1:8000/deconnexion/retour"
    )
    args = parser.parse_args(argv)
    running = start(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uri=args.redirect_uri,
        post_logout_redirect_uri=args.post_logout_redirect_uri,
    )
    print(f"Fake ProConnect on {running.issuer} (client_id {args.client_id})", flush=True)
    print("Test users (login_hint): " + ", ".join(running.provider.users), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


if __name__ == "__main__":
    main()
