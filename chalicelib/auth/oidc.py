"""ProConnect client: OpenID Connect authorization code flow with PKCE (S256).

Verification is joserfc's (signature against the provider JWKS with an algorithm allow-list,
then registered claims). This module is imported only on the sign-in/sign-out paths so that
the JWT/crypto stack stays out of every other cold start.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from chalicelib.domain.mediateurs import Identity

# ProConnect signs with RS256 or ES256; "none" and HMAC algorithms are never accepted.
ALLOWED_ALGORITHMS = ("RS256", "ES256")
DISCOVERY_TTL_SECONDS = 3600
CLOCK_LEEWAY_SECONDS = 30


class OidcError(Exception):
    """Sign-in cannot complete. The message is for logs (never contains personal data)."""


class HttpClient(Protocol):
    def get(self, url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        """Returns (status, content type, body)."""
        ...

    def post_form(self, url: str, form: dict[str, str]) -> tuple[int, str, bytes]: ...


@dataclass(frozen=True)
class ClientConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str
    scopes: str


@dataclass(frozen=True)
class AuthRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class SignIn:
    identity: Identity
    id_token: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _random_token() -> str:
    # 43 URL-safe chars: above ProConnect's 32-char minimum for state and nonce.
    return secrets.token_urlsafe(32)


class ProConnectClient:
    def __init__(
        self,
        config: ClientConfig,
        http: HttpClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    # --- discovery and keys -----------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        fresh = self._clock() - self._metadata_at < DISCOVERY_TTL_SECONDS
        if self._metadata is None or not fresh:
            url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = self._get_json(url)
            if document.get("issuer") != self._config.issuer:
                raise OidcError("discovery issuer does not match the configured issuer")
            self._metadata = document
            self._metadata_at = self._clock()
            self._keys = None
        return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    def _get_json(self, url: str) -> dict[str, Any]:
        status, _, body = self._http.get(url)
        if status != 200:
            raise OidcError(f"GET {url} answered {status}")
        try:
            document = json.loads(body)
        except ValueError:
            raise OidcError(f"GET {url} did not return JSON") from None
        if not isinstance(document, dict):
            raise OidcError(f"GET {url} did not return an object")
        return document

    # --- the flow -----------------------------------------------------------------------------

    def authorization_request(self, login_hint: str | None = None) -> AuthRequest:
        state, nonce, verifier = _random_token(), _random_token(), _random_token()
        params = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": self._config.redirect_uri,
            "scope": self._config.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
            "acr_values": "eidas1",
        }
        if login_hint:
            params["login_hint"] = login_hint
        url = self.metadata()["authorization_endpoint"] + "?" + urlencode(params)
        return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def complete(self, code: str, nonce: str, code_verifier: str) -> SignIn:
        """Exchange the code, verify the ID token and the signed userinfo, return the identity."""
        tokens = self._exchange(code, code_verifier)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise OidcError("token response without id_token or access_token")
        id_claims = self._verify(id_token, nonce=nonce)
        info = self._userinfo(access_token)
        if info.get("sub") != id_claims.get("sub"):
            raise OidcError("userinfo sub differs from the ID token sub")
        return SignIn(identity=_identity(id_claims, info), id_token=id_token)

    def logout_url(self, id_token: str | None) -> tuple[str, str]:
        """End-session URL and the state sent along (ProConnect requires both)."""
        state = _random_token()
        params = {"state": state, "post_logout_redirect_uri": self._config.post_logout_redirect_uri}
        if id_token:
            params["id_token_hint"] = id_token
        return self.metadata()["end_session_endpoint"] + "?" + urlencode(params), state

    def _exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        # client_secret_post: credentials in the form body, as ProConnect expects.
        status, _, body = self._http.post_form(
            self.metadata()["token_endpoint"],
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._config.redirect_uri,
                "client_id": self._config.client_id,
                "client_secret": self._config.client_secret,
                "code_verifier": code_verifier,
            },
        )
        if status != 200:
            raise OidcError(f"token endpoint answered {status}")
        try:
            tokens = json.loads(body)
        except ValueError:
            raise OidcError("token endpoint did not return JSON") from None
        if not isinstance(tokens, dict):
            raise OidcError("token endpoint did not return an object")
        return tokens

    def _userinfo(self, access_token: str) -> dict[str, Any]:
        status, content_type, body = self._http.get(
            self.metadata()["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/jwt"},
        )
        if status != 200:
            raise OidcError(f"userinfo endpoint answered {status}")
        if not content_type.startswith("application/jwt"):
            raise OidcError("userinfo is not a signed JWT")
        return self._verify(body.decode("ascii", "replace").strip(), nonce=None)

    def _verify(self, token: str, nonce: str | None) -> dict[str, Any]:
        try:
            decoded = self._decode(token)
        except JoseError as exc:
            raise OidcError(f"token rejected: {type(exc).__name__}") from None
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self._config.issuer},
            "aud": {"essential": True, "value": self._config.client_id},
        }
        if nonce is not None:  # the ID token: nonce, expiry and subject are mandatory
            options["nonce"] = {"essential": True, "value": nonce}
            options["exp"] = {"essential": True}
            options["sub"] = {"essential": True}
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()), leeway=CLOCK_LEEWAY_SECONDS, **options
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise OidcError(f"claims rejected: {type(exc).__name__}") from None
        return dict(decoded.claims)

    def _decode(self, token: str) -> jwt.Token:
        try:
            return jwt.decode(token, self._key_set(), algorithms=list(ALLOWED_ALGORITHMS))
        except JoseError:
            # Keys rotate: fetch the JWKS once more before giving up.
            return jwt.decode(
                token, self._key_set(refresh=True), algorithms=list(ALLOWED_ALGORITHMS)
            )


def _identity(id_claims: dict[str, Any], info: dict[str, Any]) -> Identity:
    def claim(name: str) -> str:
        value = info.get(name, id_claims.get(name))
        return value.strip() if isinstance(value, str) else ""

    sub, idp_id, email = claim("sub"), claim("idp_id"), claim("email")
    if not sub or not idp_id or not email:
        raise OidcError("sub, idp_id and email claims are required")
    siret = claim("siret")
    return Identity(
        sub=sub,
        idp_id=idp_id,
        email=email.lower(),
        prenom=claim("given_name") or email.split("@")[0],
        nom=claim("usual_name"),
        siret=siret if siret.isdigit() and len(siret) == 14 else None,
    )


class UrllibHttp:
    """Minimal HTTP client on the standard library (no extra dependency in the Lambda)."""

    def __init__(self, timeout: float = 5.0) -> None:
        self._timeout = timeout

    def get(self, url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        return self._send(url, None, headers or {})

    def post_form(self, url: str, form: dict[str, str]) -> tuple[int, str, bytes]:
        return self._send(
            url,
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )

    def _send(
        self, url: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        import urllib.error
        import urllib.request

        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise OidcError("refusing a non-https provider URL")
        request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()
        except (urllib.error.URLError, TimeoutError) as exc:
            raise OidcError(f"provider unreachable: {type(exc).__name__}") from None
