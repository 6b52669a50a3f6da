"""Route decorators: authentication, onboarding and error mapping in one place.

Chalice turns any exception raised by a view into its own English 500, so every view goes
through `_guarded`, which maps domain errors and hands real crashes to the middleware.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from chalice import Blueprint, Response
from chalice.app import ChaliceUnhandledError

from chalicelib.domain.errors import DomainError, Unavailable
from chalicelib.web import errors
from chalicelib.web.context import current
from chalicelib.web.http import concrete_path, redirect

View = Callable[..., Response]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain"]


class Crash(ChaliceUnhandledError):
    """An unexpected exception, re-raised so that the middleware logs it once and answers 500."""


def _guarded(view: View, as_json: bool) -> View:
    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        try:
            return view(**kwargs)
        except Unavailable as exc:
            if not as_json and current().request.method == "POST":
                return _busy_while_typing(exc)
            return errors.for_domain_error(exc, as_json)
        except DomainError as exc:
            return errors.for_domain_error(exc, as_json)
        except ChaliceUnhandledError:
            raise
        except Exception as exc:
            raise Crash(type(exc).__name__) from exc

    return wrapper


def _login_redirect() -> Response:
    request = current().request
    target = concrete_path(request) if request.method == "GET" else "/"
    query = dict(request.query_params or {})
    if query and request.method == "GET":
        target += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
    return redirect("/connexion?retour=" + quote(target, safe=""), status=303)


def _expired_while_typing() -> Response:
    """The session ended while the form was being filled in: never lose what was typed.
    The page carries the values back (hidden) to /connexion/reprise, which keeps them across
    the sign-in and offers to send them again."""
    from chalicelib.web.pages_common import render_page

    state = current()
    champs = [
        (name, value)
        for name, values in state.form.to_dict().items()
        if name != "csrf_token"
        for value in values
    ]
    return render_page(
        "auth/session_expiree.html", status=401, champs=champs, cible=concrete_path(state.request)
    )


def _busy_while_typing(exc: Unavailable) -> Response:
    """The database stayed busy while a form was saved: nothing was saved, and nothing typed is
    lost — the page holds every value (the same `jeton`: sending it again records one activity)
    and sends them again to the same address."""
    from chalicelib.web.pages_common import render_page

    state = current()
    champs = [(name, value) for name, values in state.form.to_dict().items() for value in values]
    page = render_page(
        "erreurs/indisponible.html", status=503, champs=champs, cible=concrete_path(state.request)
    )
    page.headers["Retry-After"] = str(exc.retry_after)
    return page


def _authenticated(view: View, as_json: bool, needs_lieu: bool) -> View:
    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        state = current()
        if state.account is None:
            if as_json:
                return errors.json_error(401)
            if state.request.method == "POST":
                return _expired_while_typing()
            return _login_redirect()
        if needs_lieu and not state.account.profile.lieux_actifs:
            # Recording needs a lieu, also for someone who first said they accompany nobody.
            if as_json:
                return errors.json_error(403, {"lieu_id": "Ajoutez d'abord un lieu d'activité."})
            return redirect("/bienvenue", status=303)
        return view(**kwargs)

    return wrapper


def page(
    bp: Blueprint,
    path: str,
    methods: Iterable[str] = ("GET",),
    auth: bool = True,
    needs_lieu: bool = False,
) -> Callable[[View], View]:
    """An HTML route. `auth` sends anonymous visitors to sign in; `needs_lieu` to onboarding."""
    return _route(bp, path, methods, auth, needs_lieu, as_json=False)


def api(
    bp: Blueprint, path: str, methods: Iterable[str] = ("GET",), auth: bool = True
) -> Callable[[View], View]:
    """A JSON route under /api/: 401 when anonymous, errors as {"errors": {...}}."""
    return _route(bp, path, methods, auth, False, as_json=True)


def _route(
    bp: Blueprint,
    path: str,
    methods: Iterable[str],
    auth: bool,
    needs_lieu: bool,
    as_json: bool,
) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        wrapped = _authenticated(view, as_json, needs_lieu) if auth else view
        bp.route(path, methods=list(methods), content_types=CONTENT_TYPES)(
            _guarded(wrapped, as_json)
        )
        return view

    return decorator
