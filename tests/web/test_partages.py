"""Share links of the statistics (SPEC §5 « Partager », §10) and the print view (« Imprimer /
PDF »): made from the statistics page or the API, opened by someone without an account at
/s/{jeton}, listed with their opens, revoked, expired, rate-limited; a gestionnaire shares the
structure's statistics the same way. Everything runs on moto through the real services.

Activities are dated in 2024 and the stream records delivered to the projector as Lambda would,
so that a period of 2024 reads the stored buckets.
"""

from __future__ import annotations

import html
import io
import json
import random
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from chalicelib import bootstrap, observability
from chalicelib.domain.dates import jour_fr
from chalicelib.stats.__main__ import main as stats_command
from tests.conftest import Browser, Clock, Page, Stack
from tests.support.stats import StreamTail, handle

YEAR = "2024"
PERIOD = f"du={YEAR}-01-01&au={YEAR}-12-31"
PERSON = {"prenom": "Zéphyrin", "nom": "Quatrebarbes", "email": "zephyrin@exemple.fr"}
NOTE = "Rappeler Mme Ondine Brisefer jeudi"
SECRETS = ("Zéphyrin", "Quatrebarbes", "zephyrin", "Ondine", "Brisefer")


@pytest.fixture(scope="module")
def tail(aws: Stack) -> StreamTail:
    return StreamTail(aws)


def unique(name: str) -> str:
    return f"{name}.{random.randrange(10**9)}@partage.example.org"


def moi(browser: Browser) -> dict[str, Any]:
    page = browser.get("/api/moi", headers={"Accept": "application/json"})
    assert page.status == 200, page.text
    return dict(page.json())


def ready(browser: Browser, email: str, siret: str | None = None, idp: Any = None) -> Browser:
    """Signed in (with this SIRET from ProConnect when given) and onboarded."""
    if siret:
        idp.provider.override_userinfo_claims = {"siret": siret}
    try:
        browser.sign_in(email)
    finally:
        if idp is not None:
            idp.provider.override_userinfo_claims = {}
    browser.onboard()
    browser.refresh_csrf()
    return browser


def record(browser: Browser, **body: Any) -> dict[str, Any]:
    payload = {
        "type": "individuel",
        "date": f"{YEAR}-01-15",
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": moi(browser)["lieux"][0]["id"],
        "thematiques": ["email"],
        **body,
    }
    page = browser.api("POST", "/api/activites", payload)
    assert page.status == 201, page.text
    return dict(page.json())


def project(tail: StreamTail, *browsers: Browser) -> None:
    projector = bootstrap.get().projector
    for browser in browsers:
        assert handle(projector, tail.records(moi(browser)["id"])) == []


def share(browser: Browser, status: int = 201, **body: Any) -> Page:
    page = browser.api("POST", "/api/statistiques/partages", body)
    assert page.status == status, page.text
    return page


def path_of(url: str) -> str:
    return urlsplit(url).path


def text_of(page: Page) -> str:
    """What a reader sees: tags removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def periode_shown(page: Page) -> str:
    match = re.search(r'id="periode-affichee">(.*?)</p>', page.text, re.S)
    assert match, "no period shown"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def form_action(page: Page) -> str:
    """Where the share form posts (not the header's sign-out form)."""
    match = re.search(r'<form method="post" action="([^"]+)" class="coop-form"', page.text)
    assert match, "no share form"
    return html.unescape(match.group(1))


def links(page: Page) -> list[str]:
    return re.findall(r'href="([^"]+)"', page.text)


def listed(browser: Browser) -> list[dict[str, Any]]:
    page = browser.api("GET", "/api/statistiques/partages")
    assert page.status == 200, page.text
    return list(page.json()["items"])


def next_minute(clock: Clock) -> None:
    """Start of a fresh rate-limit window, with the whole minute ahead of the test."""
    now = clock()
    clock.advance(seconds=60 - now.second - now.microsecond / 1e6 + 0.5)


@pytest.fixture
def mediateur(browser: Browser, tail: StreamTail) -> Browser:
    """A mediator with a followed person (a name, an e-mail, notes) and 2024 activities."""
    ready(browser, unique("camille"))
    person = browser.api("POST", "/api/beneficiaires", {**PERSON, "notes": NOTE}).json()
    record(browser, beneficiaire_id=person["id"], notes=NOTE)
    record(browser, date=f"{YEAR}-03-02", canal="a_distance", lieu_id=None, duree=90)
    record(
        browser,
        type="collectif",
        date=f"{YEAR}-02-10",
        participants_anonymes={"total": 4},
    )
    project(tail, browser)
    return browser


# --- making a link from the statistics page, without JavaScript -----------------------------------


def test_a_mediator_shares_the_figures_shown_and_a_visitor_reads_them_without_an_account(
    mediateur: Browser, new_browser: Callable[[], Browser]
) -> None:
    """Given a mediator's statistics of 2024 filtered on individual support, when they follow
    « Partager » and create the link, then the list shows its URL once, and someone without an
    account opening it sees the same figures, the period and the filter, and nothing else of
    the app: no beneficiary name, note or e-mail, no menu, no sign-in, marked noindex."""
    stats_page = mediateur.get(f"/statistiques?periode=personnalisee&{PERIOD}&type=individuel")
    assert stats_page.status == 200, stats_page.text
    partager = next(h for h in links(stats_page) if h.startswith("/statistiques/partages/nouveau"))

    confirm = mediateur.get(html.unescape(partager))

    assert confirm.status == 200, confirm.text
    assert confirm.h1 == "Partager mes statistiques"
    shown = text_of(confirm)
    assert "Du 1er janvier 2024 au 31 décembre 2024" in shown
    assert "Accompagnement individuel" in shown
    assert "aucun nom de bénéficiaire, aucune note, aucune adresse e-mail" in shown
    action = form_action(confirm)

    created = mediateur.post(action, {"expire_le": ""})

    assert created.status == 200, created.text
    assert "Votre lien de partage est prêt" in created.plain
    url = re.search(r'id="lien-nouveau" value="([^"]+)"', created.text)[1]
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/s/[A-Za-z0-9_-]{43}", url)  # 256 bits
    assert mediateur.get("/statistiques/partages").text.count(url) == 0  # shown once only

    visitor = new_browser()
    public = visitor.get(path_of(url))

    assert public.status == 200, public.text
    assert public.h1 == f"Statistiques de {moi(mediateur)['prenom']} {moi(mediateur)['nom']}"
    assert periode_shown(public) == (
        "Statistiques du 1er janvier 2024 au 31 décembre 2024 · Accompagnement individuel"
    )
    api = mediateur.api("GET", f"/api/statistiques?{PERIOD}&type=individuel").json()
    assert api["accompagnements"]["total"] == 2
    chiffres = text_of(public)
    assert "2 Accompagnements" in chiffres
    assert "graphique-thematiques" in public.text  # the charts and their tables
    assert "Données du graphique : Thématiques de médiation numérique" in chiffres
    for secret in (*SECRETS, moi(mediateur)["email"], "Se connecter", "Se déconnecter"):
        assert secret not in public.plain, secret
    app_links = [h for h in links(public) if h.startswith("/") and not h.startswith("/static/")]
    assert set(app_links) <= {"/", "/menu", "/accessibilite", "/mentions-legales"} | {
        "/donnees-personnelles"
    }, app_links  # the footer's public pages only: nothing of the mediator's space
    assert 'class="fr-sidemenu' not in public.text
    assert public.headers["X-Robots-Tag"].startswith("noindex")
    assert public.headers["Referrer-Policy"] == "no-referrer"
    assert public.headers["Cache-Control"] == "no-store"
    assert '<meta name="robots" content="noindex' in public.text


def test_a_signed_in_visitor_sees_the_page_as_the_recipient_does(
    mediateur: Browser, new_browser: Callable[[], Browser]
) -> None:
    """Given a link of a mediator, when another signed-in mediator opens it, then they see the
    figures without their own menu or name (the page never mixes the two accounts)."""
    url = share(mediateur, filters={"du": "2024-01-01", "au": "2024-12-31"}).json()["url"]
    other = ready(new_browser(), unique("autre"))

    page = other.get(path_of(url))

    assert page.status == 200, page.text
    assert 'class="fr-sidemenu' not in page.text
    assert moi(other)["nom"] not in page.plain


def test_a_preset_follows_the_date_and_a_range_stays_put(
    mediateur: Browser, new_browser: Callable[[], Browser], clock: Clock
) -> None:
    """Given a « Ce mois-ci » link and a 2024 link, when a month goes by, then the first shows
    the new month and the second still 2024."""
    ce_mois = share(mediateur, filters={"periode": "ce_mois"}).json()
    annee = share(mediateur, filters={"du": "2024-01-01", "au": "2024-12-31"}).json()
    assert ce_mois["filters"] == {"periode": "ce_mois"}
    visitor = new_browser()
    today = bootstrap.get().calendar.today()
    before = periode_shown(visitor.get(path_of(ce_mois["url"])))

    clock.advance(days=35)

    later = bootstrap.get().calendar.today()
    after = periode_shown(visitor.get(path_of(ce_mois["url"])))
    assert before.startswith(f"Statistiques du {jour_fr(today.replace(day=1))}")
    assert after.startswith(f"Statistiques du {jour_fr(later.replace(day=1))}")
    assert periode_shown(visitor.get(path_of(annee["url"]))) == (
        "Statistiques du 1er janvier 2024 au 31 décembre 2024"
    )


# --- the owner's list: opens, revocation ---------------------------------------------------------


def test_the_list_counts_opens_and_a_revoked_link_answers_404_at_once(
    mediateur: Browser, new_browser: Callable[[], Browser]
) -> None:
    """Given a link opened twice, when the owner looks at the list, then it says so with the
    last opening; when they revoke it (a plain form), the next visit is the French 404 page
    and the link leaves the list."""
    made = share(mediateur, filters={"du": "2024-01-01", "au": "2024-12-31"}).json()
    assert (made["ouvertures"], made["expire_le"]) == (0, None)
    visitor = new_browser()
    assert visitor.get(path_of(made["url"])).status == 200
    assert visitor.get(path_of(made["url"])).status == 200

    (item,) = listed(mediateur)
    page = mediateur.get("/statistiques/partages")

    assert item["id"] == made["id"] and item["url"] is None
    assert item["ouvertures"] == 2 and item["derniere_ouverture"]
    card = text_of(page)
    assert "Ouvert 2 fois · Dernière ouverture le" in card
    assert "Du 1er janvier 2024 au 31 décembre 2024" in card
    assert "Sans date d'expiration" in card

    revoked = mediateur.post(f"/statistiques/partages/{made['id']}/revoquer")

    assert revoked.status == 303, revoked.text
    after = mediateur.get(revoked.location)
    assert "Le lien a été révoqué : il ne fonctionne plus." in after.plain
    assert made["id"] not in after.text
    gone = visitor.get(path_of(made["url"]))
    assert gone.status == 404
    assert gone.h1 == "Page introuvable"
    assert gone.headers["X-Robots-Tag"].startswith("noindex")
    assert gone.headers["Referrer-Policy"] == "no-referrer"
    assert listed(mediateur) == []


def test_the_api_makes_lists_and_revokes_links(
    mediateur: Browser, new_browser: Callable[[], Browser]
) -> None:
    """Given the JSON API, when a script makes a link, then it gets 201 with the URL (SPEC §10
    fields); the list has it without the URL; DELETE answers 204, then 404."""
    made = share(
        mediateur, filters={"periode": "annee_derniere", "canal": "a_distance"}, expire_le=None
    )

    body = made.json()
    assert {"id", "url", "cree_le", "expire_le", "ouvertures"} <= set(body)
    assert body["portee"] == "mediateur"
    assert body["filters"] == {"periode": "annee_derniere", "canal": "a_distance"}
    assert new_browser().get(path_of(body["url"])).status == 200
    assert [i["id"] for i in listed(mediateur)] == [body["id"]]
    assert listed(mediateur)[0]["ouvertures"] == 1

    assert mediateur.api("DELETE", f"/api/statistiques/partages/{body['id']}").status == 204
    assert mediateur.api("DELETE", f"/api/statistiques/partages/{body['id']}").status == 404
    assert new_browser().get(path_of(body["url"])).status == 404


def test_signed_out_visitors_cannot_list_or_make_links(new_browser: Callable[[], Browser]) -> None:
    visitor = new_browser()

    assert visitor.api("GET", "/api/statistiques/partages").status == 401
    assert visitor.api("POST", "/api/statistiques/partages", {}).status in (401, 403)
    page = visitor.get("/statistiques/partages")
    assert page.status == 303 and page.location.startswith("/connexion")


# --- isolation ----------------------------------------------------------------------------------


def test_a_mediator_cannot_list_or_revoke_another_mediators_links(
    mediateur: Browser, new_browser: Callable[[], Browser]
) -> None:
    """Given Camille's link, when Dominique lists links or revokes Camille's id (API or form),
    then Dominique sees none and gets 404, and Camille's link still works."""
    made = share(mediateur, filters={"du": "2024-01-01", "au": "2024-12-31"}).json()
    other = ready(new_browser(), unique("dominique"))

    assert listed(other) == []
    assert made["id"] not in other.get("/statistiques/partages").text
    assert other.api("DELETE", f"/api/statistiques/partages/{made['id']}").status == 404
    assert other.post(f"/statistiques/partages/{made['id']}/revoquer").status == 404
    assert other.api("DELETE", "/api/statistiques/partages/..%2F..").status == 404

    assert new_browser().get(path_of(made["url"])).status == 200
    assert [i["id"] for i in listed(mediateur)] == [made["id"]]


def test_unknown_or_malformed_tokens_answer_the_french_404(
    new_browser: Callable[[], Browser],
) -> None:
    visitor = new_browser()
    for token in ("x", "A" * 43, "A" * 200, "%C3%A9" * 10):
        page = visitor.get(f"/s/{token}")
        assert page.status == 404, token
        assert page.h1 == "Page introuvable"
        assert page.headers["X-Robots-Tag"].startswith("noindex")


# --- expiry, validation ---------------------------------------------------------------------------


def test_a_link_stops_working_on_its_expiry_date(
    mediateur: Browser, new_browser: Callable[[], Browser], clock: Clock
) -> None:
    """Given a link that expires the day after tomorrow, when that day comes, then it answers
    404 and the list says « Expiré »; the day before it still works."""
    today = bootstrap.get().calendar.today()
    expiry = (today + timedelta(days=2)).isoformat()
    made = share(mediateur, filters={"du": "2024-01-01"}, expire_le=expiry).json()
    assert made["expire_le"] == expiry
    email = moi(mediateur)["email"]
    visitor = new_browser()

    clock.advance(days=1)
    assert visitor.get(path_of(made["url"])).status == 200
    clock.advance(days=1)

    assert visitor.get(path_of(made["url"])).status == 404
    mediateur.sign_in(email)  # two days later: the session has ended
    (item,) = listed(mediateur)
    assert item["expire"] is True
    page = text_of(mediateur.get("/statistiques/partages"))
    assert "Expiré" in page and "Expiré depuis le" in page
    assert "Supprimer" in page  # an expired link can still be removed from the list


def test_the_api_refuses_bad_filters_and_expiry_dates_in_french(mediateur: Browser) -> None:
    """Given the share API, when the body is wrong, then 422 names each field in French and no
    link is made."""
    today = bootstrap.get().calendar.today()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"filters": {"type": "nimportequoi"}}, "filters.type"),
        ({"filters": {"periode": "toujours"}}, "filters.periode"),
        ({"filters": {"du": "31/01/2024"}}, "filters.du"),
        ({"filters": {"du": "2019-12-31"}}, "filters.du"),
        ({"filters": {"lieu": "01AUTREMEDIATEUR"}}, "filters.lieu"),
        ({"expire_le": today.isoformat()}, "expire_le"),
        ({"expire_le": (today + timedelta(days=400)).isoformat()}, "expire_le"),
        ({"expire_le": "demain"}, "expire_le"),
        ({"portee": "tout"}, "portee"),
        ({"filters": {"q": "x"}}, "filters.q"),
    ]
    outcomes = {}
    for body, field in cases:
        page = mediateur.api("POST", "/api/statistiques/partages", body)
        outcomes[field, json.dumps(body)] = (page.status, field in page.json().get("errors", {}))

    assert set(outcomes.values()) == {(422, True)}, outcomes
    assert listed(mediateur) == []
    assert "après aujourd'hui" in share(mediateur, 422, expire_le=today.isoformat()).plain


def test_the_page_keeps_a_wrong_expiry_date_and_says_why(mediateur: Browser) -> None:
    """Given the share form, when the expiry date is today, then the form comes back with the
    value, the error summary and nothing made."""
    today = bootstrap.get().calendar.today().isoformat()
    confirm = mediateur.get(f"/statistiques/partages/nouveau?{PERIOD}")
    action = form_action(confirm)

    again = mediateur.post(action, {"expire_le": today})

    assert again.status == 400
    assert 'id="resume-erreurs"' in again.text
    assert "La date d'expiration doit être après aujourd'hui." in again.field_errors()
    assert f'value="{today}"' in again.text
    assert listed(mediateur) == []


def test_the_share_form_refuses_a_request_the_statistics_page_refuses(mediateur: Browser) -> None:
    page = mediateur.get("/statistiques/partages/nouveau?type=nimportequoi")

    assert page.status == 400
    assert "Ces statistiques ne peuvent pas être partagées" in page.plain
    assert 'class="coop-form"' not in page.text
    assert mediateur.get("/statistiques/partages/nouveau?portee=univers").status == 404


# --- rate limit, storage, logs ----------------------------------------------------------------------


def test_opens_are_rate_limited_per_link_with_a_french_429(
    mediateur: Browser, new_browser: Callable[[], Browser], clock: Clock
) -> None:
    """Given a link opened 60 times within a minute, when it is opened again, then a French
    429 page with Retry-After answers (not counted), while another link still opens; the next
    minute it opens again."""
    made = share(mediateur, filters={"du": "2024-01-01", "au": "2024-12-31"}).json()
    other = share(mediateur, filters={"periode": "ce_mois"}).json()
    visitor = new_browser()
    next_minute(clock)
    statuses = [visitor.get(path_of(made["url"])).status for _ in range(60)]

    refused = visitor.get(path_of(made["url"]))

    assert statuses == [200] * 60
    assert refused.status == 429
    assert "Trop de demandes" in refused.plain
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Robots-Tag"].startswith("noindex")
    assert visitor.get(path_of(other["url"])).status == 200
    counts = {i["id"]: i["ouvertures"] for i in listed(mediateur)}
    assert counts[made["id"]] == 60
    clock.advance(seconds=60)
    assert visitor.get(path_of(made["url"])).status == 200


def test_only_the_tokens_digest_is_stored_and_no_log_line_holds_the_token(
    mediateur: Browser, new_browser: Callable[[], Browser], aws: Stack
) -> None:
    handler = observability.logger()._logger.handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        made = share(mediateur, filters={"periode": "cette_annee"}).json()
        token = made["url"].rsplit("/", 1)[1]
        assert new_browser().get(f"/s/{token}").status == 200
    finally:
        handler.setStream(previous)

    assert token not in buffer.getvalue()
    assert '"route": "/s/{jeton}"' in buffer.getvalue() or "/s/{jeton}" in buffer.getvalue()
    dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name="eu-west-3")
    stored = json.dumps(
        [dynamodb.scan(TableName=aws.names.table(table))["Items"] for table in ("app", "sessions")]
    )
    assert token not in stored
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest() in stored


# --- the structure's links ----------------------------------------------------------------------


@pytest.fixture
def structure(new_browser: Callable[[], Browser], idp: Any, tail: StreamTail) -> dict[str, Browser]:
    """A structure of two mediators (one gestionnaire, one not) with 2024 activities, a second
    gestionnaire, and an outsider gestionnaire of another structure."""
    siret = "9" + "".join(random.choices("0123456789", k=13))
    other_siret = "8" + "".join(random.choices("0123456789", k=13))
    people = {
        "alice": ready(new_browser(), unique("alice"), siret, idp),
        "bob": ready(new_browser(), unique("bob"), siret, idp),
        "claire": ready(new_browser(), unique("claire"), siret, idp),
        "outsider": ready(new_browser(), unique("outsider"), other_siret, idp),
    }
    record(people["alice"])
    record(people["bob"], type="collectif", participants_anonymes={"total": 3})
    record(people["outsider"], type="collectif", participants_anonymes={"total": 40})
    project(tail, people["alice"], people["bob"], people["outsider"])
    for name in ("alice", "claire", "outsider"):
        assert stats_command(["grant", "--email", moi(people[name])["email"]]) == 0
    return people


def test_a_gestionnaire_shares_the_structures_figures_and_only_those(
    structure: dict[str, Browser], new_browser: Callable[[], Browser]
) -> None:
    """Given a structure of two mediators, when its gestionnaire shares its statistics of 2024,
    then the public page shows the structure's sum (not the other structure's 40 participants),
    without any mediator's name or e-mail."""
    alice = structure["alice"]
    stats_page = alice.get(f"/structure/statistiques?periode=personnalisee&{PERIOD}")
    partager = next(h for h in links(stats_page) if h.startswith("/statistiques/partages/nouveau"))
    assert "portee=structure" in partager
    confirm = alice.get(html.unescape(partager))
    assert confirm.h1 == "Partager les statistiques de ma structure"
    action = form_action(confirm)
    created = alice.post(action, {"expire_le": ""})
    assert created.status == 200, created.text
    url = re.search(r'id="lien-nouveau" value="([^"]+)"', created.text)[1]

    public = new_browser().get(path_of(url))

    assert public.status == 200, public.text
    assert public.h1.startswith("Statistiques de la structure")
    expected = alice.api("GET", f"/api/structure/statistiques?{PERIOD}").json()
    assert expected["accompagnements"]["total"] == 4
    assert "4 Accompagnements" in text_of(public)
    assert "40" not in text_of(public).split("Général", 1)[1].split("Accompagnements par mois")[0]
    for browser in structure.values():
        person = moi(browser)
        for secret in (person["email"], person["nom"]):
            assert secret not in public.plain


def test_every_gestionnaire_of_the_structure_and_nobody_else_lists_and_revokes_its_links(
    structure: dict[str, Browser], new_browser: Callable[[], Browser]
) -> None:
    """Given a structure link made by Alice, then Claire (gestionnaire of the same SIRET) lists
    it; Bob (a mediator of the structure, not gestionnaire) and a gestionnaire of another
    structure neither see it nor revoke it, nor make one; Claire revokes it."""
    alice, bob, claire, outsider = (structure[n] for n in ("alice", "bob", "claire", "outsider"))
    made = share(alice, filters={"periode": "annee_derniere"}, portee="structure").json()
    assert made["portee"] == "structure"

    assert [i["id"] for i in listed(claire)] == [made["id"]]
    claire_page = text_of(claire.get("/statistiques/partages"))
    assert f"par {moi(alice)['prenom']} {moi(alice)['nom']}" in claire_page
    for stranger in (bob, outsider):
        assert listed(stranger) == []
        assert stranger.api("DELETE", f"/api/statistiques/partages/{made['id']}").status == 404
    assert share(bob, 403, portee="structure").status == 403
    assert bob.get("/statistiques/partages/nouveau?portee=structure").status == 403
    assert share(alice, 422, portee="structure", filters={"lieu": "x"}).json()["errors"] == {
        "filters.lieu": (
            "Le filtre par lieu d'activité n'existe pas pour la structure : chaque lieu est"
            " celui d'un médiateur."
        )
    }

    assert claire.api("DELETE", f"/api/statistiques/partages/{made['id']}").status == 204
    assert new_browser().get(path_of(made["url"])).status == 404
    assert listed(alice) == []


def test_a_gestionnaires_own_links_stay_apart_from_the_structures(
    structure: dict[str, Browser],
) -> None:
    alice, claire = structure["alice"], structure["claire"]
    mine = share(alice, filters={"periode": "ce_mois"}).json()
    theirs = share(alice, filters={"periode": "ce_mois"}, portee="structure").json()

    assert {i["id"]: i["portee"] for i in listed(alice)} == {
        mine["id"]: "mediateur",
        theirs["id"]: "structure",
    }
    assert [i["id"] for i in listed(claire)] == [theirs["id"]]
    assert claire.api("DELETE", f"/api/statistiques/partages/{mine['id']}").status == 404


# --- the print view -------------------------------------------------------------------------------


def test_print_and_share_buttons_carry_the_figures_shown(mediateur: Browser) -> None:
    page = mediateur.get(f"/statistiques?periode=personnalisee&{PERIOD}&canal=a_distance")

    hrefs = [html.unescape(h) for h in links(page)]
    assert f"/statistiques?{PERIOD}&canal=a_distance&imprimer=1" in hrefs
    assert f"/statistiques/partages/nouveau?{PERIOD}&canal=a_distance&portee=mediateur" in hrefs
    assert "data-imprimer" in page.text
    preset = mediateur.get("/statistiques?periode=mois_dernier")
    assert "/statistiques?periode=mois_dernier&imprimer=1" in [
        html.unescape(h) for h in links(preset)
    ]


def test_the_print_view_shows_the_figures_with_name_and_period_on_top_and_no_form(
    mediateur: Browser,
) -> None:
    """Given a mediator without JavaScript, when they follow « Imprimer / PDF », then the page
    has their name, the period and every block, without the filters form."""
    page = mediateur.get(f"/statistiques?{PERIOD}&type=individuel&imprimer=1")

    assert page.status == 200, page.text
    assert page.h1 == "Mes statistiques"
    me = moi(mediateur)
    shown = text_of(page)
    assert shown.index(f"{me['prenom']} {me['nom']}") < shown.index("Général")
    assert periode_shown(page) == (
        "Statistiques du 1er janvier 2024 au 31 décembre 2024 · Accompagnement individuel"
    )
    assert "coop-stats-filtres" not in page.text
    for block in ("Général", "Accompagnements par mois", "Thématiques de médiation numérique"):
        assert block in shown
    assert "Version à imprimer" in shown
    assert f"/statistiques?{PERIOD}&type=individuel" in [html.unescape(h) for h in links(page)]
    assert 'class="fr-sidemenu' in page.text  # on screen the menu stays; print hides it


def test_the_print_view_of_an_invalid_request_is_the_page_with_its_errors(
    mediateur: Browser,
) -> None:
    page = mediateur.get("/statistiques?du=2019-01-01&imprimer=1")

    assert page.status == 400
    assert "coop-stats-filtres" in page.text  # the form, to correct the period


def test_the_structures_print_view(structure: dict[str, Browser]) -> None:
    page = structure["alice"].get(f"/structure/statistiques?{PERIOD}&imprimer=1")

    assert page.status == 200, page.text
    assert page.h1 == "Statistiques de ma structure"
    assert "Structure (SIRET" in page.plain
    assert "coop-stats-filtres" not in page.text
    assert "/structure/statistiques?" in page.text


def test_the_api_answers_follow_the_documented_models(mediateur: Browser) -> None:
    """Given /api/openapi.json, when a link is made and listed, then both answers validate
    against the models it names for them."""
    from jsonschema import Draft202012Validator

    document = mediateur.get("/api/openapi.json").json()
    answers = {
        "PartageOut": share(mediateur, filters={"periode": "ce_mois"}).json(),
        "PartagesPage": mediateur.api("GET", "/api/statistiques/partages").json(),
    }
    paths = document["paths"]
    assert "/api/statistiques/partages" in paths and "/api/statistiques/partages/{id}" in paths

    for model, body in answers.items():
        schema = {"$ref": f"#/components/schemas/{model}", "components": document["components"]}
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        assert [e.message for e in validator.iter_errors(body)] == [], model
