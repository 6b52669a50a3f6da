"""Sessions and sign-in attempts: one contract, run against the in-memory fake and DynamoDB (moto).

Times are explicit epoch seconds, so expiry is tested exactly at its boundaries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.auth.sessions import (
    ATTEMPT_BYTES,
    TOUCH_AFTER_SECONDS,
    Quota,
    Session,
    SessionPolicy,
    Sessions,
    SessionStore,
    csrf_matches,
    digest,
)
from chalicelib.domain.errors import TooManyRequests
from tests.fakes import FakeSessionStore

T0 = 1_750_000_000  # a fixed "now" (June 2025)
HOUR = 3600
IDLE = 2 * HOUR
ABSOLUTE = 12 * HOUR
QUOTA = Quota(attempts=10**6, bytes=10**12)  # the sessions' tests sign in often
SMALL = Quota(attempts=5, bytes=4 * ATTEMPT_BYTES + 10_000)


@dataclass
class Backend:
    store: SessionStore
    dump: Callable[[], str]  # everything the backend stored, as text


@pytest.fixture(scope="module")
def dynamodb_models(aws: Any) -> Any:
    """Point the models at the moto tables once: a new configuration costs a new boto client."""
    from chalicelib.config import Settings
    from chalicelib.store.models import Database
    from tests.conftest import app_env

    return Database.for_settings(Settings.from_env(app_env(aws, issuer="http://127.0.0.1:1")))


def _dynamo_backend(request: pytest.FixtureRequest) -> Backend:
    from chalicelib.store import models
    from chalicelib.store.accounts import DynamoSessionStore

    db = request.getfixturevalue("dynamodb_models")

    def dump() -> str:
        connection = models.SessionItem._get_connection()
        items: list[Any] = []
        start = None
        while True:
            page = connection.scan(exclusive_start_key=start)
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return repr(items)

    return Backend(DynamoSessionStore(db), dump)


def _fake_backend() -> Backend:
    store = FakeSessionStore()
    return Backend(store, store.dump)


@pytest.fixture(params=["fake", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return _fake_backend() if request.param == "fake" else _dynamo_backend(request)


@pytest.fixture
def sessions(backend: Backend) -> Sessions:
    return Sessions(backend.store, SessionPolicy(idle=IDLE, absolute=ABSOLUTE), QUOTA)


# --- opening and resolving ---------------------------------------------------------------------


def test_a_new_session_resolves_from_its_cookie_value(sessions: Sessions) -> None:
    secret, opened = sessions.open("m-alice", id_token="id.token.jwt", now=T0)

    found = sessions.resolve(secret, now=T0 + 1)

    assert found == opened
    assert found is not None and found.mediateur_id == "m-alice"
    assert found.id_token == "id.token.jwt"
    assert len(secret) >= 43 and len(found.csrf_token) >= 43


def test_each_sign_in_gets_a_new_cookie_value_and_csrf_token(sessions: Sessions) -> None:
    first, a = sessions.open("m-alice", None, now=T0)
    second, b = sessions.open("m-alice", None, now=T0)

    assert first != second and a.csrf_token != b.csrf_token
    assert sessions.resolve(first, T0) == a and sessions.resolve(second, T0) == b


@pytest.mark.parametrize("cookie", [None, "", "not-a-session", "x" * 129])
def test_an_unknown_or_absurd_cookie_resolves_to_nobody(
    sessions: Sessions, cookie: str | None
) -> None:
    sessions.open("m-alice", None, now=T0)

    assert sessions.resolve(cookie, now=T0) is None


def test_the_store_never_sees_the_cookie_value_only_its_sha256(
    backend: Backend, sessions: Sessions
) -> None:
    secret, opened = sessions.open("m-alice", None, now=T0)

    stored = backend.dump()

    assert secret not in stored
    assert opened.key == digest(secret) and digest(secret) in stored
    assert backend.store.get_session(secret) is None
    assert backend.store.get_session(digest(secret)) == opened


def test_the_digest_of_a_cookie_cannot_be_used_as_a_cookie(sessions: Sessions) -> None:
    """Someone who reads the table learns digests; presenting one as a cookie gives nothing."""
    _, opened = sessions.open("m-alice", None, now=T0)

    assert sessions.resolve(opened.key, now=T0) is None


# --- expiry ------------------------------------------------------------------------------------


def test_a_session_left_idle_for_two_hours_expires(backend: Backend, sessions: Sessions) -> None:
    still_there, _ = sessions.open("m-alice", None, now=T0)
    idle, opened = sessions.open("m-bob", None, now=T0)

    assert sessions.resolve(still_there, now=T0 + IDLE - 1) is not None
    assert sessions.resolve(idle, now=T0 + IDLE) is None
    assert backend.store.get_session(opened.key) is None  # expired sessions are removed


def test_activity_keeps_a_session_alive_past_the_idle_timeout(sessions: Sessions) -> None:
    secret, _ = sessions.open("m-alice", None, now=T0)

    assert sessions.resolve(secret, now=T0 + HOUR) is not None
    # Two hours after the sign-in but one after the last request: still signed in.
    assert sessions.resolve(secret, now=T0 + IDLE + 60) is not None
    assert sessions.resolve(secret, now=T0 + IDLE + 60 + IDLE) is None


def test_a_session_ends_after_twelve_hours_even_when_used_constantly(
    backend: Backend, sessions: Sessions
) -> None:
    secret, opened = sessions.open("m-alice", None, now=T0)
    for hour in range(1, 12):
        assert sessions.resolve(secret, now=T0 + hour * HOUR) is not None, hour

    assert sessions.resolve(secret, now=T0 + ABSOLUTE - 1) is not None
    assert sessions.resolve(secret, now=T0 + ABSOLUTE) is None
    assert backend.store.get_session(opened.key) is None


def test_the_expiry_given_to_the_store_is_the_earlier_of_idle_and_absolute() -> None:
    store = FakeSessionStore()
    sessions = Sessions(store, SessionPolicy(idle=IDLE, absolute=ABSOLUTE), QUOTA)
    secret, opened = sessions.open("m-alice", None, now=T0)
    assert store.sessions[opened.key][1] == T0 + IDLE

    for hour in range(1, 12):
        sessions.resolve(secret, now=T0 + hour * HOUR)

    assert store.sessions[opened.key][1] == T0 + ABSOLUTE


# --- touching ----------------------------------------------------------------------------------


def test_a_request_within_a_minute_does_not_write_to_the_store(
    backend: Backend, sessions: Sessions
) -> None:
    secret, opened = sessions.open("m-alice", None, now=T0)

    seen = sessions.resolve(secret, now=T0 + TOUCH_AFTER_SECONDS - 1)

    assert seen is not None and seen.vu_le == T0
    stored = backend.store.get_session(opened.key)
    assert stored is not None and stored.vu_le == T0


def test_a_request_after_a_minute_records_when_the_session_was_last_seen(
    backend: Backend, sessions: Sessions
) -> None:
    secret, opened = sessions.open("m-alice", None, now=T0)

    seen = sessions.resolve(secret, now=T0 + TOUCH_AFTER_SECONDS)

    assert seen is not None and seen.vu_le == T0 + TOUCH_AFTER_SECONDS
    stored = backend.store.get_session(opened.key)
    assert stored is not None and stored.vu_le == T0 + TOUCH_AFTER_SECONDS
    assert stored.cree_le == T0 and stored.csrf_token == opened.csrf_token


def test_touching_a_session_closed_meanwhile_does_not_bring_it_back(backend: Backend) -> None:
    session = Session(digest("gone"), "m-alice", "csrf", cree_le=T0, vu_le=T0)

    backend.store.touch_session(session.key, T0 + 120, T0 + 120 + IDLE)

    assert backend.store.get_session(session.key) is None


# --- closing -----------------------------------------------------------------------------------


def test_closing_a_session_signs_the_browser_out(backend: Backend, sessions: Sessions) -> None:
    secret, opened = sessions.open("m-alice", None, now=T0)
    other_secret, _ = sessions.open("m-alice", None, now=T0)  # another device

    sessions.close(opened)

    assert sessions.resolve(secret, now=T0 + 1) is None
    assert backend.store.get_session(opened.key) is None
    assert sessions.resolve(other_secret, now=T0 + 1) is not None
    sessions.close(opened)  # closing twice (double click on "Se déconnecter") is harmless


# --- sign-in attempts --------------------------------------------------------------------------


def _start(sessions: Sessions, now: int = T0, retour: str | None = "/activites") -> str:
    return sessions.start_login("state-123", "nonce-456", "verifier-789", retour, now)


def test_a_sign_in_attempt_comes_back_with_its_nonce_verifier_and_return_path(
    sessions: Sessions,
) -> None:
    secret = _start(sessions)

    attempt = sessions.finish_login(secret, "state-123", now=T0 + 30)

    assert attempt is not None
    assert (attempt.nonce, attempt.code_verifier, attempt.retour) == (
        "nonce-456",
        "verifier-789",
        "/activites",
    )


def test_a_sign_in_attempt_without_return_path_keeps_none(sessions: Sessions) -> None:
    secret = _start(sessions, retour=None)

    attempt = sessions.finish_login(secret, "state-123", now=T0 + 30)

    assert attempt is not None and attempt.retour is None


def test_a_sign_in_attempt_is_consumed_once(sessions: Sessions) -> None:
    secret = _start(sessions)

    assert sessions.finish_login(secret, "state-123", now=T0 + 30) is not None
    assert sessions.finish_login(secret, "state-123", now=T0 + 31) is None


def test_a_callback_with_another_state_is_refused_and_burns_the_attempt(sessions: Sessions) -> None:
    secret = _start(sessions)

    assert sessions.finish_login(secret, "state-from-an-attacker", now=T0 + 30) is None
    assert sessions.finish_login(secret, "state-123", now=T0 + 31) is None


def test_a_sign_in_attempt_expires_after_ten_minutes(sessions: Sessions) -> None:
    on_time = _start(sessions)
    late = _start(sessions)

    assert sessions.finish_login(on_time, "state-123", now=T0 + 599) is not None
    assert sessions.finish_login(late, "state-123", now=T0 + 600) is None


@pytest.mark.parametrize(
    ("cookie", "state"),
    [(None, "state-123"), ("", "state-123"), ("unknown", "state-123"), ("x" * 129, "state-123")],
)
def test_a_callback_without_its_attempt_cookie_is_refused(
    sessions: Sessions, cookie: str | None, state: str
) -> None:
    _start(sessions)

    assert sessions.finish_login(cookie, state, now=T0 + 30) is None


@pytest.mark.parametrize("state", [None, ""])
def test_a_callback_without_state_is_refused(sessions: Sessions, state: str | None) -> None:
    secret = _start(sessions)

    assert sessions.finish_login(secret, state, now=T0 + 30) is None


def test_the_store_never_sees_the_attempt_cookie_value(
    backend: Backend, sessions: Sessions
) -> None:
    secret = _start(sessions)

    stored = backend.dump()

    assert secret not in stored and digest(secret) in stored


# --- CSRF --------------------------------------------------------------------------------------


def test_only_the_session_own_csrf_token_matches() -> None:
    sessions = Sessions(FakeSessionStore(), SessionPolicy(idle=IDLE, absolute=ABSOLUTE), QUOTA)
    _, mine = sessions.open("m-alice", None, now=T0)
    _, theirs = sessions.open("m-bob", None, now=T0)

    assert csrf_matches(mine, mine.csrf_token)
    assert not csrf_matches(mine, theirs.csrf_token)
    assert not csrf_matches(mine, None)
    assert not csrf_matches(mine, "")
    assert not csrf_matches(mine, mine.csrf_token[:-1])


# --- what a signed-out client may store ---------------------------------------------------------


def _attempt(sessions: Sessions, now: int, client: str, reprise: str | None = None) -> str:
    return sessions.start_login("s" * 43, "n" * 43, "v" * 43, "/", now, reprise, client=client)


def _client() -> str:
    """An address of its own (the DynamoDB backend keeps what earlier tests spent)."""
    return "203.0.113." + uuid.uuid4().hex


def test_a_client_may_start_a_few_sign_ins_then_is_refused_until_the_window_ends(
    backend: Backend,
) -> None:
    """Given a client that started as many sign-ins as the quota allows, the next one is refused
    (429 with the seconds to wait), another client is not, and the next window starts afresh."""
    sessions = Sessions(backend.store, SessionPolicy(idle=IDLE, absolute=ABSOLUTE), SMALL)
    client = _client()
    window_start = T0 - T0 % SMALL.window
    for _ in range(SMALL.attempts):
        _attempt(sessions, window_start + 1, client)

    with pytest.raises(TooManyRequests) as refused:
        _attempt(sessions, window_start + 10, client)
    assert refused.value.retry_after == SMALL.window - 10
    _attempt(sessions, window_start + 10, _client())  # someone else
    _attempt(sessions, window_start + SMALL.window, client)  # the next window


def test_the_bytes_a_client_makes_us_keep_are_bounded_too(backend: Backend) -> None:
    """Given forms kept across sign-in, a client stops being able to store more once its bytes
    are spent, even with attempts left: what it sent is not stored."""
    sessions = Sessions(backend.store, SessionPolicy(idle=IDLE, absolute=ABSOLUTE), SMALL)
    client = _client()
    form = "x" * 4_000
    _attempt(sessions, T0, client, reprise=form)
    _attempt(sessions, T0, client, reprise=form)

    with pytest.raises(TooManyRequests):
        _attempt(sessions, T0, client, reprise=form + "y" * 3_000)
    assert "y" * 3_000 not in backend.dump()
    with pytest.raises(TooManyRequests):
        _attempt(sessions, T0, _client(), reprise="z" * 20_000)  # alone over the quota
    assert "z" * 20_000 not in backend.dump()


def test_the_store_keeps_only_a_digest_of_the_client_address(backend: Backend) -> None:
    sessions = Sessions(backend.store, SessionPolicy(idle=IDLE, absolute=ABSOLUTE), SMALL)
    client = _client()
    _attempt(sessions, T0, client)

    assert client not in backend.dump()
