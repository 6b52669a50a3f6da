"""Data safety under abuse and load (issue: nothing lost, nothing leaked, no 500): each test
reproduces what a security review's probe found, then shows the fixed behaviour.

- a statistics period is bounded (2020 → today): a far-future `au` is a French 422, not 35 s;
- an idempotency key (the form's `jeton`, `Idempotency-Key`) reused with other values is a 409,
  never a silently dropped activity;
- DynamoDB transaction conflicts and throttling are retried, then a French 503 with
  `Retry-After` that keeps what was typed;
- what a signed-out client can make us store is bounded (429);
- hostile bodies (deep JSON, huge numbers, invalid UTF-8, oversized forms, non-ASCII return
  paths, wrong methods and media types) get French answers, never a 500;
- export downloads are never cached.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Browser, Page
from tests.support.forms import activity_form
from tests.support.web import activity_body, create_activity, create_person, ready, today

ENGLISH = re.compile(
    r"\b(the|is|not|invalid|error|field|required|method|media|unsupported)\b", re.I
)


def _french(page: Page) -> str:
    """The message of an error answer, checked to be French."""
    text = page.json()["message"] if "json" in str(page.headers.get("Content-Type")) else page.plain
    assert not ENGLISH.search(re.sub(r"<[^>]+>|application/json", " ", text)), text[:300]
    return str(text)


# --- 2. a statistics period is bounded ----------------------------------------------------------


def test_a_period_ending_far_in_the_future_is_refused_in_french(browser: Browser) -> None:
    """Given /api/statistiques?du=2020-01-01&au=9999-12-31 (35 s before: every month to 9999),
    then the answer is a 422 on `au`; the same on the page and for a start in the future."""
    ready(browser, "periode.bornee@example.org")
    future = today().replace(year=today().year + 1).isoformat()

    api = browser.api("GET", "/api/statistiques?du=2020-01-01&au=9999-12-31")
    assert api.status == 422
    assert api.json()["errors"] == {"au": "La date de fin ne peut pas être après aujourd'hui."}
    starting_later = browser.api("GET", f"/api/statistiques?du={future}&au={future}")
    assert starting_later.status == 422
    assert set(starting_later.json()["errors"]) == {"du", "au"}
    page = browser.get("/statistiques?periode=personnalisee&du=2020-01-01&au=9999-12-31")
    assert page.status == 400
    assert "La date de fin ne peut pas être après aujourd'hui." in page.field_errors()
    up_to_today = browser.api("GET", f"/api/statistiques?du=2020-01-01&au={today()}")
    assert up_to_today.status == 200


# --- 3. a reused idempotency key ------------------------------------------------------------------


def _activities(browser: Browser) -> list[dict[str, Any]]:
    return list(browser.api("GET", "/api/activites").json()["items"])


def test_an_api_key_reused_with_other_values_is_a_conflict(browser: Browser) -> None:
    """Given an activity posted with an Idempotency-Key, the same key and values again answer the
    first activity; the same key with other values answers 409 in French and saves nothing."""
    ready(browser, "cle.reutilisee@example.org")
    first = activity_body(browser, duree=30)
    key = {"Idempotency-Key": "cle-0001"}

    created = browser.api("POST", "/api/activites", first, headers=key)
    replayed = browser.api("POST", "/api/activites", first, headers=key)
    other = browser.api("POST", "/api/activites", {**first, "duree": 45}, headers=key)

    assert created.status == 201 and replayed.status == 201
    assert replayed.json()["id"] == created.json()["id"]
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert other.status == 409
    assert "autre activité" in _french(other)
    assert [a["duree"] for a in _activities(browser)] == [30]


def test_a_form_saved_again_with_other_values_explains_and_keeps_them(browser: Browser) -> None:
    """Given a CRA saved, then the browser's Back button, a change and Enregistrer again (same
    jeton): the page says it was saved before with other values, keeps the new values with a
    fresh jeton, and saving that page records a second activity."""
    ready(browser, "jeton.reutilise@example.org")
    page = browser.get("/activites/nouvelle/individuel")
    fields = dict(activity_form(page).fields)
    fields.update({"duree": "30", "thematiques": ["email"]})
    saved = browser.post("/activites/nouvelle/individuel", fields)
    assert saved.status == 303

    again = browser.post("/activites/nouvelle/individuel", {**fields, "duree": "45"})

    assert again.status == 409
    assert "déjà été enregistré, avec d'autres valeurs" in again.plain
    kept = activity_form(again).fields
    assert kept["duree"] == ["45"]
    assert kept["jeton"] != fields["jeton"]
    assert len(_activities(browser)) == 1
    second = browser.post("/activites/nouvelle/individuel", dict(kept))
    assert second.status == 303
    assert sorted(a["duree"] for a in _activities(browser)) == [30, 45]


def test_the_same_form_sent_twice_still_records_one_activity(browser: Browser) -> None:
    ready(browser, "double.envoi@example.org")
    page = browser.get("/activites/nouvelle/individuel")
    fields = {**activity_form(page).fields, "duree": ["30"], "thematiques": ["email"]}

    assert browser.post("/activites/nouvelle/individuel", fields).status == 303
    assert browser.post("/activites/nouvelle/individuel", fields).status == 303
    assert len(_activities(browser)) == 1


# --- 4. transaction conflicts and throttling ----------------------------------------------------


class Contention:
    """Makes the app's DynamoDB client answer TransactWriteItems with a cancellation (another
    transaction held an item) or throttling, `times` times, then lets calls through: a busy
    table, as DynamoDB reports it."""

    def __init__(self, code: str, times: int) -> None:
        from chalicelib import bootstrap

        self.client = bootstrap.get().db.connection.client
        self.code = code
        self.left = times
        self.calls = 0
        self.client.meta.events.register("before-call.dynamodb.TransactWriteItems", self)

    def __call__(self, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.calls += 1
        if self.left <= 0:
            return None
        self.left -= 1
        if self.code == "TransactionConflict":
            error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
            parsed = {"Error": error, "CancellationReasons": [{"Code": "TransactionConflict"}]}
        else:
            parsed = {"Error": {"Code": self.code, "Message": "Rate exceeded"}}
        parsed["ResponseMetadata"] = {"HTTPStatusCode": 400, "HTTPHeaders": {}}
        return AWSResponse("https://dynamodb", 400, {}, None), parsed

    def stop(self) -> None:
        self.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", self)


@pytest.fixture
def contention() -> Iterator[list[Contention]]:
    started: list[Contention] = []
    yield started
    for c in started:
        c.stop()


@pytest.mark.parametrize("code", ["TransactionConflict", "ProvisionedThroughputExceededException"])
def test_a_few_conflicts_are_retried_and_the_activity_is_saved(
    browser: Browser, contention: list[Contention], code: str
) -> None:
    ready(browser, f"conflit.passager.{code.lower()}@example.org")
    contention.append(Contention(code, times=2))

    page = browser.api("POST", "/api/activites", activity_body(browser))

    assert page.status == 201, page.text
    assert contention[0].calls == 3
    assert len(_activities(browser)) == 1


def test_a_table_that_stays_busy_answers_503_in_french_and_saves_nothing(
    browser: Browser, contention: list[Contention]
) -> None:
    ready(browser, "conflit.durable@example.org")
    contention.append(Contention("TransactionConflict", times=100))

    api = browser.api("POST", "/api/activites", activity_body(browser))

    assert api.status == 503
    assert int(api.headers["Retry-After"]) > 0
    assert "rien n'a été enregistré" in _french(api)
    contention[0].stop()
    assert _activities(browser) == []


def test_a_form_saved_while_the_table_is_busy_keeps_every_value(
    browser: Browser, contention: list[Contention]
) -> None:
    """Given a busy table, saving the form answers a French page holding every value typed (the
    same jeton) that sends them again: once the table is free, that records the activity once."""
    ready(browser, "conflit.formulaire@example.org")
    page = browser.get("/activites/nouvelle/individuel")
    fields = {**activity_form(page).fields, "duree": ["45"], "thematiques": ["sante"]}
    fields["notes"] = ["Rendez-vous à la CAF jeudi"]
    contention.append(Contention("TransactionConflict", times=100))

    busy = browser.post("/activites/nouvelle/individuel", fields)

    assert busy.status == 503
    assert int(busy.headers["Retry-After"]) > 0
    assert "rien n'est perdu" in busy.plain
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', busy.plain))
    assert hidden["notes"] == "Rendez-vous à la CAF jeudi"
    assert hidden["duree"] == "45" and hidden["jeton"] == fields["jeton"][0]
    contention[0].stop()
    resent = browser.post("/activites/nouvelle/individuel", dict(parse_qs(urlencode(hidden))))
    assert resent.status == 303
    assert browser.post("/activites/nouvelle/individuel", fields).status == 303  # same jeton
    assert [a["duree"] for a in _activities(browser)] == [45]


# --- 5. what a signed-out client can make us store ----------------------------------------------


@pytest.fixture
def small_quota(app_setup: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    monkeypatch.setenv("ANONYMOUS_ATTEMPTS_PER_10_MIN", "5")
    monkeypatch.setenv("ANONYMOUS_BYTES_PER_10_MIN", str(100 * 1024))
    bootstrap.override(bootstrap.Container(Settings.from_env(os.environ), clock=clock))
    # Every test client comes from 127.0.0.1: a window of its own (a few years ahead).
    clock.advance(days=1000 + random.randrange(100_000) / 144)


def _sessions_table_items() -> int:
    from chalicelib import bootstrap

    client = bootstrap.get().db.connection.client
    table = bootstrap.get().settings.table_name("sessions")
    return int(client.scan(TableName=table, Select="COUNT")["Count"])


def test_a_signed_out_client_cannot_grow_storage_without_bound(
    browser: Browser, small_quota: None
) -> None:
    """Given anonymous POSTs to /connexion/reprise carrying 60 KB each (64 KB kept before,
    without limit), then after the quota every one is a French 429 with Retry-After, and the
    sessions table stops growing."""
    champs = {"cible": "/activites/nouvelle/individuel", "notes": "x" * 60_000}
    answers = Counter()
    sizes = []
    for _ in range(12):
        page = browser.post("/connexion/reprise", champs, csrf=False)
        answers[page.status] += 1
        sizes.append(_sessions_table_items())
    refused = browser.post("/connexion/reprise", champs, csrf=False)

    assert answers[302] >= 1 and answers[429] >= 6, answers
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Trop de demandes" in _french(refused)
    assert sizes[-1] == sizes[answers[302] - 1]  # nothing stored once refused
    # Small sign-in attempts still fit the bytes left, until the attempts run out too.
    plain = [browser.get("/connexion").status for _ in range(6)]
    assert plain[-1] == 429 and 302 in plain, plain


# --- 6. hostile input ---------------------------------------------------------------------------


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE_BODIES: dict[str, bytes] = {
    "deep array": _deep(5_000),
    "deep inside an object": b'{"notes": ' + _deep(5_000) + b"}",
    "deep objects": b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
    "huge integer": b'{"duree": ' + b"9" * 10_000 + b"}",
    "huge float": b'{"duree": 1e400, "participants_anonymes": {"total": -1e400}}',
    "invalid utf-8": b'{"notes": "\xff\xfe\xc3"}',
    "invalid utf-8 alone": b"\xff\xfe\xfd",
    "oversized": b'{"notes": "' + b"a" * 3_000_000 + b'"}',
    "many keys": b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(20_000)) + b"}",
    "not json": b"duree=30&type=individuel",
}
JSON_WRITES = [
    ("POST", "/api/activites"),
    ("PUT", "/api/activites/{activite}"),
    ("POST", "/api/beneficiaires"),
    ("PUT", "/api/beneficiaires/{beneficiaire}"),
    ("POST", "/api/lieux"),
    ("PUT", "/api/lieux/{lieu}"),
    ("POST", "/api/exports"),
]


def _raw(browser: Browser, method: str, path: str, body: bytes, **headers: str) -> Page:
    return browser.request(
        method,
        path,
        body=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRF-Token": browser.csrf_token,
            **headers,
        },
    )


def test_hostile_json_bodies_never_get_a_500(browser: Browser) -> None:
    """Every JSON write route, every hostile body (and a few random ones): a French 4xx."""
    ready(browser, "corps.hostiles@example.org")
    ids = {
        "activite": create_activity(browser)["id"],
        "beneficiaire": create_person(browser)["id"],
        "lieu": browser.api("GET", "/api/lieux").json()["items"][0]["id"],
    }
    statuses: Counter[int] = Counter()
    for method, template in JSON_WRITES:
        for name, body in HOSTILE_BODIES.items():
            page = _raw(browser, method, template.format(**ids), body)
            statuses[page.status] += 1
            assert 400 <= page.status < 500, (method, template, name, page.status)
            _french(page)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        route=st.sampled_from(JSON_WRITES),
        body=st.one_of(
            st.binary(max_size=200),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                lambda inner: (
                    st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4)
                ),
                max_leaves=30,
            ).map(lambda value: json.dumps(value).encode()),
        ),
    )
    def random_body(route: tuple[str, str], body: bytes) -> None:
        page = _raw(browser, route[0], route[1].format(**ids), body)
        assert page.status < 500, (route, body[:100], page.status)

    random_body()
    assert statuses[422] > 0


def test_a_delete_version_that_is_not_a_number_is_a_422_not_a_500(browser: Browser) -> None:
    ready(browser, "version.exotique@example.org")
    activite = create_activity(browser)

    for version in ("²", "abc", "-1", "0", "1.0", "١", "9" * 40):
        page = browser.api("DELETE", f"/api/activites/{activite['id']}?version={quote(version)}")
        assert page.status == 422, (version, page.status)
        assert set(page.json()["errors"]) == {"version"}
    assert browser.api("GET", f"/api/activites/{activite['id']}").status == 200


def test_a_wrong_media_type_or_method_is_answered_in_french(browser: Browser) -> None:
    ready(browser, "methode.mediatype@example.org")

    xml = _raw(browser, "POST", "/api/activites", b"<a/>", **{"Content-Type": "text/xml"})
    patch = browser.api("PATCH", "/api/activites", {})
    page_xml = browser.request(
        "POST",
        "/beneficiaires/nouveau",
        body=b"<a/>",
        headers={"Content-Type": "application/xml", "X-CSRF-Token": browser.csrf_token},
    )

    assert xml.status == 415 and "format" in _french(xml)
    assert patch.status == 405 and "méthode" in _french(patch)
    assert page_xml.status == 415
    assert "<html" in page_xml.text and "format" in page_xml.plain


def test_an_oversized_form_comes_back_with_its_values_and_says_which_field(
    browser: Browser,
) -> None:
    """Given a beneficiary form whose notes are 100 000 "é" (600 KB once encoded, over 256 KB:
    a 403 that lost everything before), the form comes back with every value and the notes'
    message."""
    ready(browser, "formulaire.enorme@example.org")
    page = browser.post(
        "/beneficiaires/nouveau",
        {
            "csrf_token": browser.csrf_token,  # first, like the form's hidden field
            "prenom": "Aïcha",
            "nom": "Benali",
            "annee_naissance": "1961",
            "notes": "é" * 100_000,
        },
    )

    assert page.status == 400
    assert "Les notes doivent faire au plus 5 000 caractères" in " ".join(page.field_errors())
    assert 'value="Aïcha"' in page.plain and 'value="1961"' in page.plain


def test_a_form_beyond_a_megabyte_still_comes_back_as_a_form(browser: Browser) -> None:
    ready(browser, "formulaire.geant@example.org")
    fields = {"csrf_token": browser.csrf_token, "prenom": "Aïcha", "nom": "Benali"}
    page = browser.post("/beneficiaires/nouveau", {**fields, "notes": "a" * 3_000_000})

    assert page.status == 400
    assert 'value="Aïcha"' in page.plain
    assert any("Les notes doivent faire au plus" in e for e in page.field_errors())


@pytest.mark.parametrize("retour", ["/activites?q=été", "/bénéficiaires", "/😀"])
def test_a_non_ascii_return_path_is_kept_and_encoded(browser: Browser, retour: str) -> None:
    """A return path with characters outside Latin-1 dropped the connection (and the sign-in
    cookie): it now redirects to the same path, percent-encoded."""
    ready(browser, "retour.unicode@example.org")

    page = browser.get("/connexion?retour=" + quote(retour))

    assert page.status == 303
    assert page.location.isascii()
    assert page.location == quote(retour, safe="/?=&")


# --- 7. export downloads are never cached -------------------------------------------------------


def test_a_download_link_asks_browsers_and_proxies_not_to_keep_the_file(browser: Browser) -> None:
    from chalicelib import bootstrap

    ready(browser, "telechargement.prive@example.org")
    link = bootstrap.get().export_files.url("mediateurs/x/y.xlsx", "f.xlsx", "text/csv")

    query = parse_qs(urlsplit(link).query)
    assert query["response-cache-control"] == ["private, no-store"]
