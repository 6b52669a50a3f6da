"""Sign-in with ProConnect (/connexion) and sign-out (/deconnexion)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib import observability
from chalicelib.web.context import current
from chalicelib.web.http import (
    clear_cookie,
    client_address,
    concrete_path,
    redirect,
    safe_local_path,
    set_cookie,
)
from chalicelib.web.pages_common import render_page
from chalicelib.web.routing import page

bp = Blueprint(__name__)
LOGIN_COOKIE_SECONDS = 600


def _canonical_host_redirect() -> Response | None:
    """Locally, cookies are per host: keep the whole flow on PUBLIC_URL's host."""
    state = current()
    settings = state.container.settings
    wanted = urlsplit(settings.public_url).netloc
    host = state.request.headers.get("host")
    if settings.is_local and host and host != wanted:
        path = concrete_path(state.request)
        query = (
            urlsplit(state.request.context.get("path", "")).query if state.request.context else ""
        )
        return redirect(
            settings.public_url.rstrip("/") + path + (f"?{query}" if query else ""), 302
        )
    return None


@page(bp, "/connexion", auth=False)
def connexion() -> Response:
    other_host = _canonical_host_redirect()
    if other_host:
        return other_host
    state = current()
    retour = safe_local_path(state.query("retour"))
    if state.session is not None:
        return redirect(retour)
    return _start_sign_in(retour, state.query("login_hint")[:200] or None, None)


MAX_REPRISE_BYTES = 64 * 1024


@page(bp, "/connexion/reprise", methods=("POST",), auth=False)
def connexion_reprise() -> Response:
    """Sign in again while keeping a form posted after the session expired."""
    state = current()
    fields = {k: v for k, v in state.form.to_dict().items() if k not in ("csrf_token", "cible")}
    cible = safe_local_path(state.form.get("cible"), default="")
    reprise = json.dumps({"cible": cible, "champs": fields}, ensure_ascii=False) if cible else None
    if reprise and len(reprise.encode()) > MAX_REPRISE_BYTES:
        reprise = None
    login_hint = state.query("login_hint")[:200] or None
    return _start_sign_in("/reprise" if reprise else "/", login_hint, reprise)


def _start_sign_in(retour: str, login_hint: str | None, reprise: str | None) -> Response:
    from chalicelib.auth.oidc import OidcError

    c = current().container
    try:
        auth = c.oidc.authorization_request(login_hint=login_hint)
    except OidcError as exc:
        observability.logger().warning("provider unavailable", reason=str(exc))
        return render_page("auth/indisponible.html", status=503)
    secret = c.sessions.start_login(
        auth.state,
        auth.nonce,
        auth.code_verifier,
        retour,
        c.calendar.timestamp(),
        reprise,
        client=client_address(current().request),
    )
    cookie = set_cookie(
        c.settings.login_cookie_name,
        secret,
        secure=c.settings.secure_cookies,
        max_age=LOGIN_COOKIE_SECONDS,
    )
    return redirect(auth.url, status=302, headers={"Set-Cookie": cookie})


@page(bp, "/connexion/retour", auth=False)
def connexion_retour() -> Response:
    from chalicelib.auth.oidc import OidcError

    state = current()
    c = state.container
    settings = c.settings
    clear_login = clear_cookie(settings.login_cookie_name, secure=settings.secure_cookies)
    if state.query("error"):
        observability.count("SignInCancelled")
        return render_page("auth/echec.html", status=400, raison="annulee")
    attempt = c.sessions.finish_login(
        state.cookies.get(settings.login_cookie_name), state.query("state"), c.calendar.timestamp()
    )
    if attempt is None:
        observability.count("SignInRejected")
        observability.logger().warning(
            "sign-in rejected", reason="unknown, expired or replayed state"
        )
        return render_page("auth/echec.html", status=400, raison="expiree")
    try:
        signed_in = c.oidc.complete(state.query("code"), attempt.nonce, attempt.code_verifier)
    except OidcError as exc:
        observability.count("SignInRejected")
        observability.logger().warning("sign-in rejected", reason=str(exc))
        return render_page("auth/echec.html", status=400, raison="refusee")
    mediateur = c.accounts.sign_in(signed_in.identity)
    if state.session is not None:
        c.sessions.close(state.session)  # rotation: the pre-sign-in session id dies here
    secret, _ = c.sessions.open(
        mediateur.id, signed_in.id_token, c.calendar.timestamp(), attempt.reprise
    )
    session_cookie = set_cookie(
        settings.session_cookie_name, secret, secure=settings.secure_cookies
    )
    observability.count("SignIn")
    account = c.accounts.account(mediateur.id)
    target = attempt.retour or "/"
    if account is not None and account.profile.needs_onboarding and not attempt.reprise:
        target = "/bienvenue"
    return redirect(target, headers={"Set-Cookie": [session_cookie, clear_login]})


@page(bp, "/reprise")
def reprise() -> Response:
    """Offer to send again what was typed before the session expired."""
    session = current().session
    data = json.loads(session.reprise) if session and session.reprise else None
    if not data or not data.get("cible"):
        return redirect("/")
    champs = [(name, value) for name, values in data["champs"].items() for value in values]
    return render_page("auth/reprise.html", cible=safe_local_path(data["cible"]), champs=champs)


@page(bp, "/deconnexion", auth=False)
def deconnexion() -> Response:
    if current().session is None:
        return redirect("/")
    return render_page("auth/deconnexion.html")


@page(bp, "/deconnexion", methods=("POST",), auth=False)
def deconnexion_post() -> Response:
    from chalicelib.auth.oidc import OidcError

    state = current()
    c = state.container
    settings = c.settings
    session = state.session
    cookies = [clear_cookie(settings.session_cookie_name, secure=settings.secure_cookies)]
    if session is None:
        return redirect("/deconnexion/retour", headers={"Set-Cookie": cookies})
    c.sessions.close(session)
    observability.count("SignOut")
    try:
        url, _ = c.oidc.logout_url(session.id_token)
    except OidcError:
        # The provider is down: the local session is gone anyway.
        return redirect("/deconnexion/retour", headers={"Set-Cookie": cookies})
    return redirect(url, status=303, headers={"Set-Cookie": cookies})


@page(bp, "/deconnexion/retour", auth=False)
def deconnexion_retour() -> Response:
    return render_page("auth/deconnecte.html")
