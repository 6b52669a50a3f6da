"""Per-request state (session, account, parsed body), resolved lazily and at most once."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.auth.sessions import Session
from chalicelib.domain.mediateurs import Profile
from chalicelib.services.accounts import Account
from chalicelib.web.http import FormData, cookies, parse_form, parse_json

_UNSET: Any = object()


@dataclass
class RequestState:
    request: Request
    _session: Any = field(default=_UNSET)
    _account: Any = field(default=_UNSET)
    _form: Any = field(default=_UNSET)
    _json: Any = field(default=_UNSET)
    mediateur_id: str | None = None  # for log lines (pseudonymous id only)

    @property
    def container(self) -> bootstrap.Container:
        return bootstrap.get()

    @property
    def cookies(self) -> dict[str, str]:
        return cookies(self.request)

    @property
    def session(self) -> Session | None:
        if self._session is _UNSET:
            c = self.container
            secret = self.cookies.get(c.settings.session_cookie_name)
            self._session = c.sessions.resolve(secret, c.calendar.timestamp())
            if self._session is not None:
                self.mediateur_id = self._session.mediateur_id
        return self._session

    @property
    def account(self) -> Account | None:
        if self._account is _UNSET:
            session = self.session
            self._account = (
                self.container.accounts.account(session.mediateur_id) if session else None
            )
        return self._account

    @property
    def form(self) -> FormData:
        if self._form is _UNSET:
            self._form = parse_form(self.request)
        return self._form

    @property
    def json(self) -> Any:
        if self._json is _UNSET:
            self._json = parse_json(self.request)
        return self._json

    def query(self, name: str, default: str = "") -> str:
        params = self.request.query_params
        value = params.get(name) if params else None
        return value if isinstance(value, str) else default


_current: contextvars.ContextVar[RequestState] = contextvars.ContextVar("coop_request")


def begin(request: Request) -> contextvars.Token[RequestState]:
    return _current.set(RequestState(request))


def end(token: contextvars.Token[RequestState]) -> None:
    _current.reset(token)


def current() -> RequestState:
    return _current.get()


def account() -> Account:
    """The signed-in mediator's account (routes declared with `auth=True` only)."""
    found = current().account
    assert found is not None  # guaranteed by @page / @api (auth=True)
    return found


def profile() -> Profile:
    """The signed-in mediator and their lieux (routes declared with `auth=True` only)."""
    return account().profile


def mediateur_id() -> str:
    return account().profile.mediateur.id
