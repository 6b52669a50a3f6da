"""Server-side sessions: opaque random ids, idle and absolute expiry, rotation at sign-in.

Pure logic; persistence goes through a `SessionStore` (DynamoDB in `store/`, a dict in tests).
The cookie carries a random id; the store only ever sees its SHA-256, so a leaked table
does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Protocol

from chalicelib.domain.errors import TooManyRequests

# Touching `vu_le` on every request would cost a write per page; a minute of slack is enough
# for a 2-hour idle timeout.
TOUCH_AFTER_SECONDS = 60
ATTEMPT_BYTES = 300  # a sign-in attempt without a kept form: state, nonce, verifier, keys


def new_secret() -> str:
    """256 bits, URL-safe (43 chars)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    key: str  # digest of the cookie secret
    mediateur_id: str
    csrf_token: str
    cree_le: int
    vu_le: int
    id_token: str | None = None
    reprise: str | None = None  # a form posted after the session expired, kept for the user

    def expires_at(self, idle: int, absolute: int) -> int:
        return min(self.vu_le + idle, self.cree_le + absolute)

    def is_expired(self, now: int, idle: int, absolute: int) -> bool:
        return now >= self.expires_at(idle, absolute)

    def needs_touch(self, now: int) -> bool:
        return now - self.vu_le >= TOUCH_AFTER_SECONDS


@dataclass(frozen=True)
class LoginAttempt:
    """One authorization request in flight, bound to the browser by a cookie."""

    key: str
    state: str
    nonce: str
    code_verifier: str
    retour: str | None
    expires_at: int
    reprise: str | None = None


class SessionStore(Protocol):
    def put_session(self, session: Session, expires_at: int) -> None: ...
    def get_session(self, key: str) -> Session | None: ...
    def touch_session(self, key: str, vu_le: int, expires_at: int) -> None: ...
    def delete_session(self, key: str) -> None: ...
    def set_reprise(self, key: str, reprise: str | None) -> None: ...
    def put_attempt(self, attempt: LoginAttempt) -> None: ...
    def take_attempt(self, key: str) -> LoginAttempt | None:
        """Delete and return the attempt; a second call returns None (no replay)."""
        ...

    def spend(self, client: str, window: int, size: int, quota: Quota) -> bool:
        """Count one attempt of `size` bytes for this client in this window; False (and
        nothing counted) when it would go over the quota."""
        ...


@dataclass(frozen=True)
class Quota:
    """What one signed-out client may store per window (`Settings.anonymous_*`)."""

    attempts: int
    bytes: int
    window: int = 600


@dataclass(frozen=True)
class SessionPolicy:
    idle: int
    absolute: int


class Sessions:
    """Use cases around sessions; knows nothing about HTTP."""

    def __init__(self, store: SessionStore, policy: SessionPolicy, quota: Quota) -> None:
        self._store = store
        self._policy = policy
        self._quota = quota

    def open(
        self, mediateur_id: str, id_token: str | None, now: int, reprise: str | None = None
    ) -> tuple[str, Session]:
        """Create a brand-new session (rotation: never reuse an id from before sign-in)."""
        secret = new_secret()
        session = Session(
            key=digest(secret),
            mediateur_id=mediateur_id,
            csrf_token=new_secret(),
            cree_le=now,
            vu_le=now,
            id_token=id_token,
            reprise=reprise,
        )
        self._store.put_session(
            session, session.expires_at(self._policy.idle, self._policy.absolute)
        )
        return secret, session

    def resolve(self, secret: str | None, now: int) -> Session | None:
        """The live session for a cookie value, or None (and expired ones are removed)."""
        if not secret or len(secret) > 128:
            return None
        session = self._store.get_session(digest(secret))
        if session is None:
            return None
        if session.is_expired(now, self._policy.idle, self._policy.absolute):
            # TTL deletion is lazy (up to days in AWS, never in moto): the app enforces expiry.
            self._store.delete_session(session.key)
            return None
        if session.needs_touch(now):
            touched = replace(session, vu_le=now)
            self._store.touch_session(
                session.key, now, touched.expires_at(self._policy.idle, self._policy.absolute)
            )
            return touched
        return session

    def keep_draft(self, session: Session, draft: str | None) -> None:
        """Keep (or drop, with None) a form in progress for this session only."""
        self._store.set_reprise(session.key, draft)

    def close(self, session: Session) -> None:
        self._store.delete_session(session.key)

    def start_login(
        self,
        state: str,
        nonce: str,
        code_verifier: str,
        retour: str | None,
        now: int,
        reprise: str | None = None,
        client: str = "",
    ) -> str:
        """Keep a sign-in attempt (what a signed-out visitor can make us store): counted per
        client (its address, never stored: only its digest) and window; TooManyRequests over
        the quota."""
        attempt_bytes = ATTEMPT_BYTES + len((reprise or "").encode()) + len((retour or "").encode())
        window = now - now % self._quota.window
        if not self._store.spend(digest(client), window, attempt_bytes, self._quota):
            raise TooManyRequests("sign-in attempts", retry_after=window + self._quota.window - now)
        secret = new_secret()
        self._store.put_attempt(
            LoginAttempt(digest(secret), state, nonce, code_verifier, retour, now + 600, reprise)
        )
        return secret

    def finish_login(self, secret: str | None, state: str | None, now: int) -> LoginAttempt | None:
        """The attempt started in this browser for this `state`, consumed once."""
        if not secret or not state or len(secret) > 128:
            return None
        attempt = self._store.take_attempt(digest(secret))
        if attempt is None or attempt.expires_at <= now:
            return None
        if not hmac.compare_digest(attempt.state, state):
            return None
        return attempt


def csrf_matches(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf_token, token or "")
