"""Sign-in with ProConnect, end to end against the fake provider (real OIDC client, real keys)."""

from __future__ import annotations

import time

from tests.conftest import PUBLIC_URL, Browser, provider_get, query_of


def test_first_sign_in_creates_the_profile_and_asks_for_a_lieu(browser: Browser) -> None:
    page = browser.sign_in("premiere.connexion@example.org")

    assert page.status == 200
    assert page.h1 == "Bienvenue Premiere"
    moi = browser.get("/api/moi").json()
    assert moi["email"] == "premiere.connexion@example.org"
    assert moi["structure"] == {"siret": "13002603200016"}
    assert moi["lieux"] == []


def test_after_adding_a_lieu_the_mediator_lands_on_the_dashboard(browser: Browser) -> None:
    browser.sign_in("dashboard@example.org")

    page = browser.onboard()

    assert page.h1 == "Bonjour Dashboard"
    assert "Bienvenue ! Votre espace est prêt." in page.text
    assert "Enregistrer une activité" in page.text and "Créer un bénéficiaire" in page.text


def test_without_login_hint_the_demo_mediator_is_signed_in(browser: Browser) -> None:
    browser.sign_in()

    assert browser.get("/api/moi").json()["email"] == "camille.dupont@demo.coop.local"


def test_authorization_request_uses_pkce_s256_and_long_state_and_nonce(browser: Browser) -> None:
    start = browser.get("/connexion")

    params = query_of(start.location)
    assert start.status == 302
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["redirect_uri"] == PUBLIC_URL + "/connexion/retour"
    assert "openid" in params["scope"].split()


def _callback_for(browser: Browser, email: str) -> str:
    start = browser.get(f"/connexion?login_hint={email}")
    answer = provider_get(start.location)
    assert answer.status == 302
    return answer.location[len(PUBLIC_URL) :]


def test_a_replayed_callback_is_refused(browser: Browser) -> None:
    callback = _callback_for(browser, "replay@example.org")
    first = browser.follow(browser.get(callback))
    assert first.status == 200
    browser.cookies.clear()

    # The attacker replays the same code and state from another browser.
    replay = browser.get(callback)

    assert replay.status == 400
    assert "expiré ou a déjà été utilisée" in replay.text
    assert browser.get("/api/moi").status == 401


def test_a_state_from_another_browser_is_refused(browser: Browser, new_browser) -> None:  # type: ignore[no-untyped-def]
    callback = _callback_for(browser, "state@example.org")
    other = new_browser()
    other.get("/connexion")  # the other browser has its own sign-in attempt

    page = other.get(callback)

    assert page.status == 400
    assert other.get("/api/moi").status == 401


def test_an_id_token_signed_with_an_unknown_key_is_rejected(browser: Browser, idp) -> None:  # type: ignore[no-untyped-def]
    idp.provider.sign_with_foreign_key = True

    page = browser.sign_in("forged@example.org")

    assert page.status == 400
    assert "n'ont pas pu être vérifiées" in page.text
    assert browser.get("/api/moi").status == 401


def test_an_id_token_with_the_wrong_nonce_is_rejected(browser: Browser, idp) -> None:  # type: ignore[no-untyped-def]
    idp.provider.override_claims = {"nonce": "x" * 43}

    page = browser.sign_in("nonce@example.org")

    assert page.status == 400
    assert browser.get("/api/moi").status == 401


def test_an_expired_id_token_is_rejected(browser: Browser, idp) -> None:  # type: ignore[no-untyped-def]
    idp.provider.override_claims = {"exp": int(time.time()) - 3600}

    assert browser.sign_in("expired@example.org").status == 400


def test_an_id_token_for_another_client_is_rejected(browser: Browser, idp) -> None:  # type: ignore[no-untyped-def]
    idp.provider.override_claims = {"aud": "someone-else"}

    assert browser.sign_in("aud@example.org").status == 400


def test_userinfo_about_another_person_is_rejected(browser: Browser, idp) -> None:  # type: ignore[no-untyped-def]
    idp.provider.override_userinfo_claims = {"sub": "somebody-else"}

    assert browser.sign_in("userinfo@example.org").status == 400


def test_the_provider_cancelling_shows_a_french_page(browser: Browser) -> None:
    browser.get("/connexion")

    page = browser.get("/connexion/retour?error=access_denied&state=whatever")

    assert page.status == 400
    assert "annulée" in page.text


def test_session_cookie_is_http_only_and_same_site_lax(browser: Browser) -> None:
    start = browser.get("/connexion")
    callback = provider_get(start.location).location[len(PUBLIC_URL) :]

    page = browser.get(callback)

    cookies = page.headers["Set-Cookie"]
    session = next(c for c in cookies if c.startswith("coop_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Path=/" in session
    assert any(c.startswith("coop_login=;") and "Max-Age=0" in c for c in cookies)


def test_signing_in_again_rotates_the_session_id(browser: Browser) -> None:
    browser.sign_in("rotation@example.org")
    before = browser.cookies.pop("coop_session")
    callback = _callback_for(browser, "rotation@example.org")
    browser.cookies["coop_session"] = before  # the old session is still in the browser

    browser.get(callback)

    assert browser.cookies["coop_session"] != before
    stale = Browser(browser.client, {"coop_session": before})
    assert stale.get("/api/moi").status == 401


def test_an_idle_session_expires_after_two_hours(browser: Browser, clock) -> None:  # type: ignore[no-untyped-def]
    browser.sign_in("idle@example.org")
    browser.onboard()
    clock.advance(hours=1, minutes=50)
    assert browser.get("/").status == 200  # activity pushes the idle deadline

    clock.advance(hours=1, minutes=50)
    assert browser.get("/").status == 200
    clock.advance(hours=2, minutes=1)

    page = browser.get("/outils")
    assert page.status == 303
    assert page.location == "/connexion?retour=%2Foutils"


def test_a_session_ends_after_twelve_hours_even_when_active(browser: Browser, clock) -> None:  # type: ignore[no-untyped-def]
    browser.sign_in("absolute@example.org")
    for _ in range(7):
        clock.advance(hours=1, minutes=45)
        browser.get("/api/moi")

    assert browser.get("/api/moi").status == 401


def test_logout_ends_the_session_and_goes_through_the_provider(browser: Browser) -> None:
    browser.sign_in("logout@example.org")
    session_cookie = browser.cookies["coop_session"]

    answer = browser.post("/deconnexion")

    assert answer.status == 303
    params = query_of(answer.location)
    assert answer.location.startswith(browser_issuer(answer.location) + "/session/end")
    assert params["id_token_hint"] and len(params["state"]) >= 32
    assert params["post_logout_redirect_uri"] == PUBLIC_URL + "/deconnexion/retour"
    back = browser.follow(answer)
    assert back.h1 == "Vous êtes déconnecté(e)"
    assert Browser(browser.client, {"coop_session": session_cookie}).get("/api/moi").status == 401


def browser_issuer(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_a_signed_in_mediator_visiting_connexion_goes_to_the_return_page(browser: Browser) -> None:
    browser.sign_in("deja@example.org")

    page = browser.get("/connexion?retour=/outils")

    assert page.status == 303 and page.location == "/outils"


def test_the_return_target_cannot_leave_the_site(browser: Browser) -> None:
    browser.sign_in("open-redirect@example.org")
    browser.onboard()
    browser.cookies.pop("coop_session")

    start = browser.get("/connexion?login_hint=open-redirect@example.org&retour=//evil.example/x")
    callback = provider_get(start.location).location[len(PUBLIC_URL) :]
    page = browser.get(callback)

    assert page.status == 303 and page.location == "/"
