"""Sign-in with ProConnect (/connexion) and sign-out (/deconnexion)."""

from __future__ import annotations

from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib import observability
from chalicelib.web.context import current
from chalicelib.web.http import clear_cookie, redirect, safe_local_path, set_cookie
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
        path = state.request.path
        query = (
            urlsplit(state.request.context.get("path", "")).query if state.request.context else ""
        )
        return redirect(
            settings.public_url.rstrip("/") + path + (f"?{query}" if query else ""), 302
        )
    return None


@page(bp, "/connexion", auth=False)
def connexion() -> Response:
    from chalicelib.auth.oidc import OidcError

    other_host = _canonical_host_redirect()
    if other_host:
        return other_host
    state = current()
    c = state.container
    retour = safe_local_path(state.query("retour"))
    if state.session is not None:
        return redirect(retour)
    login_hint = state.query("login_hint")[:200] or None
    try:
        auth = c.oidc.authorization_request(login_hint=login_hint)
    except OidcError as exc:
        observability.logger().warning("provider unavailable", reason=str(exc))
        return render_page("auth/indisponible.html", status=503)
    secret = c.sessions.start_login(auth.state, auth.nonce, auth.code_verifier, retour, c.now_ts())
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
        state.cookies.get(settings.login_cookie_name), state.query("state"), c.now_ts()
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
    secret, _ = c.sessions.open(mediateur.id, signed_in.id_token, c.now_ts())
    session_cookie = set_cookie(
        settings.session_cookie_name, secret, secure=settings.secure_cookies
    )
    observability.count("SignIn")
    account = c.accounts.account(mediateur.id)
    target = attempt.retour or "/"
    if account is not None and account.profile.needs_onboarding:
        target = "/bienvenue"
    return redirect(target, headers={"Set-Cookie": [session_cookie, clear_login]})


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
