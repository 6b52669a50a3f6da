"""Gestionnaire de structure: granted by an ops command or by another gestionnaire of the same
structure; sees the statistics of the whole structure (the sum of its mediators'), figures only.

Every test gets a structure (SIRET) of its own: the fake ProConnect is told to release that
SIRET for the test's users, so other tests' mediators never join the structure's sums.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.mediateurs import ROLE_GESTIONNAIRE
from chalicelib.stats.__main__ import main as stats_command
from infra.fake_proconnect import SECOND_MEDIATOR_EMAIL
from tests.conftest import Browser, Stack
from tests.support.stats import StreamTail, handle

YEAR = "2024"
PERIOD = f"du={YEAR}-01-01&au={YEAR}-12-31"
NOT_ALLOWED = "Vous n'avez pas accès à cette page"
PERSON = {"prenom": "Zéphyrin", "nom": "Quatrebarbes"}


@pytest.fixture(scope="module")
def tail(aws: Stack) -> StreamTail:
    return StreamTail(aws)


@pytest.fixture
def siret() -> str:
    return "9" + "".join(random.choices("0123456789", k=13))


@pytest.fixture
def member(new_browser: Callable[[], Browser], idp: Any, siret: str) -> Callable[[str], Browser]:
    """A mediator of the test's structure, signed in, with a lieu d'activité."""

    def sign_in(email: str) -> Browser:
        browser = new_browser()
        idp.provider.override_userinfo_claims = {"siret": siret}
        try:
            browser.sign_in(email)
        finally:
            idp.provider.override_userinfo_claims = {}
        browser.onboard()
        browser.refresh_csrf()
        return browser

    return sign_in


def unique(name: str) -> str:
    return f"{name}.{random.randrange(10**9)}@structure.example.org"


def moi(browser: Browser) -> dict[str, Any]:
    page = browser.get("/api/moi", headers={"Accept": "application/json"})
    assert page.status == 200
    return page.json()


def record(browser: Browser, **body: Any) -> dict[str, Any]:
    lieu = moi(browser)["lieux"][0]["id"]
    payload = {
        "type": "individuel",
        "date": f"{YEAR}-01-15",
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": lieu,
        "thematiques": ["email"],
        **body,
    }
    page = browser.api("POST", "/api/activites", payload)
    assert page.status == 201, page.text
    return page.json()


def project(tail: StreamTail, *browsers: Browser) -> None:
    """Deliver the mediators' stream records to the projector, as the Lambda would."""
    projector = bootstrap.get().projector
    for browser in browsers:
        assert handle(projector, tail.records(moi(browser)["id"])) == []


def stats(browser: Browser, path: str = "/api/statistiques") -> dict[str, Any]:
    page = browser.api("GET", f"{path}?{PERIOD}")
    assert page.status == 200, page.text
    return page.json()


# --- granting ------------------------------------------------------------------------------------


def test_the_ops_command_grants_by_email_or_by_id_an_existing_mediator_only(
    member: Callable[[str], Browser], capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob = member(unique("alice")), member(unique("bob"))

    assert stats_command(["grant", "--email", moi(alice)["email"].upper()]) == 0
    assert stats_command(["grant", "--mediator", moi(bob)["id"]]) == 0
    assert stats_command(["grant", "--email", unique("nobody")]) == 2
    assert stats_command(["grant", "--mediator", "01UNKNOWNMEDIATOR"]) == 2

    assert ROLE_GESTIONNAIRE in moi(alice)["roles"]
    assert set(moi(bob)["roles"]) == {"mediateur", ROLE_GESTIONNAIRE}
    out = capsys.readouterr()
    assert f"médiateur {moi(alice)['id']}: gestionnaire de la structure" in out.out
    assert "Aucun médiateur" in out.err


def test_granting_twice_changes_nothing(member: Callable[[str], Browser]) -> None:
    alice = member(unique("alice"))

    assert stats_command(["grant", "--email", moi(alice)["email"]]) == 0
    assert stats_command(["grant", "--email", moi(alice)["email"]]) == 0

    assert sorted(moi(alice)["roles"]) == ["gestionnaire", "mediateur"]


# --- the structure's statistics ------------------------------------------------------------------


def test_a_gestionnaire_sees_the_sum_of_the_structures_mediators_without_any_name(
    member: Callable[[str], Browser], new_browser: Callable[[], Browser], tail: StreamTail
) -> None:
    alice, bob = member(unique("alice")), member(unique("bob"))
    outsider = new_browser()
    outsider.sign_in(unique("outsider"))  # the shared on-the-fly structure, not this one
    outsider.onboard()
    outsider.refresh_csrf()
    person = bob.api("POST", "/api/beneficiaires", PERSON).json()
    record(alice)
    record(alice, date=f"{YEAR}-03-02", duree=90, canal="a_distance", lieu_id=None)
    record(bob, beneficiaire_id=person["id"], autonomie="autonome")
    record(
        bob,
        type="collectif",
        date=f"{YEAR}-02-10",
        participants_ids=[person["id"]],
        participants_anonymes={"total": 4, "genres": {"feminin": 3}},
    )
    record(outsider)
    project(tail, alice, bob, outsider)
    assert stats_command(["grant", "--email", moi(alice)["email"]]) == 0

    figures = stats(alice, "/api/structure/statistiques")

    own = [stats(alice), stats(bob)]
    assert figures["accompagnements"] == {
        "total": 8,
        "individuel": 3,
        "demarche": 0,
        "collectif": 5,
    }
    assert figures["accompagnements"]["total"] == sum(f["accompagnements"]["total"] for f in own)
    assert figures["beneficiaires"] == {"total": 7, "suivis": 1, "anonymes": 6, "nouveaux": 7}
    assert figures["par_mois"][:3] == [
        {"mois": f"{YEAR}-01", "accompagnements": 2},
        {"mois": f"{YEAR}-02", "accompagnements": 5},
        {"mois": f"{YEAR}-03", "accompagnements": 1},
    ]
    for key in ("thematiques", "canaux", "genres", "durees", "autonomie"):
        counts = {i["cle"]: i["nombre"] for i in figures[key]}
        assert counts == {
            i["cle"]: sum(n["nombre"] for f in own for n in f[key] if n["cle"] == i["cle"])
            for i in figures[key]
        }, key
    assert [i["libelle"] for i in figures["lieux"] if i["nombre"]] == [
        "Médiathèque Louise Michel"
    ] * 2

    page = alice.get(f"/structure/statistiques?periode=personnalisee&{PERIOD}")

    assert page.status == 200, page.text
    assert page.h1 == "Statistiques de ma structure"
    assert "2 médiateurs" in page.plain
    assert "Participants aux ateliers collectifs" in page.plain
    for secret in ("Zéphyrin", "Quatrebarbes", "zephyrin"):
        assert secret not in page.plain
    assert "graphique-thematiques" in page.text  # the same charts as Mes statistiques


def test_the_structures_figures_follow_the_type_and_canal_filters(
    member: Callable[[str], Browser], tail: StreamTail
) -> None:
    alice, bob = member(unique("alice")), member(unique("bob"))
    record(alice)
    record(bob, canal="a_distance", lieu_id=None)
    record(bob, type="demarche", thematiques=[], thematiques_demarche=["logement"])
    project(tail, alice, bob)
    stats_command(["grant", "--email", moi(bob)["email"]])

    def total(query: str) -> int:
        page = bob.api("GET", f"/api/structure/statistiques?{PERIOD}&{query}")
        assert page.status == 200, page.text
        return int(page.json()["accompagnements"]["total"])

    assert total("type=individuel") == 2
    assert total("canal=a_distance") == 1
    assert total("type=demarche&canal=lieu_activite") == 1
    assert bob.api("GET", f"/api/structure/statistiques?{PERIOD}&canal=lune").status == 422
    page = bob.get(f"/structure/statistiques?periode=personnalisee&{PERIOD}&type=inconnu")
    assert page.status == 400
    assert "Choisissez une valeur dans la liste." in page.plain


def test_a_plain_mediator_gets_a_french_403(member: Callable[[str], Browser]) -> None:
    bob = member(unique("bob"))

    page = bob.get("/structure/statistiques")
    assert page.status == 403
    assert NOT_ALLOWED in page.plain
    assert bob.api("GET", "/api/structure/statistiques").status == 403
    assert bob.get("/structure/gestionnaires").status == 403
    refused = bob.post("/structure/gestionnaires", {"email": moi(bob)["email"]})
    assert refused.status == 403
    assert ROLE_GESTIONNAIRE not in moi(bob)["roles"]


def test_signed_out_visitors_are_sent_to_sign_in(browser: Browser) -> None:
    page = browser.get("/structure/statistiques")

    assert page.status == 303
    assert page.location.startswith("/connexion?retour=")


# --- a gestionnaire names another ---------------------------------------------------------------------


def test_a_gestionnaire_names_a_mediator_of_the_same_structure(
    member: Callable[[str], Browser],
) -> None:
    alice, bob = member(unique("alice")), member(unique("bob"))
    stats_command(["grant", "--email", moi(alice)["email"]])
    form = alice.get("/structure/gestionnaires")
    assert form.status == 200
    assert moi(bob)["email"] in form.plain

    answer = alice.post("/structure/gestionnaires", {"email": f"  {moi(bob)['email'].upper()} "})

    assert answer.status == 303
    done = alice.follow(answer)
    assert f"{moi(bob)['prenom']} {moi(bob)['nom']} est maintenant gestionnaire" in done.plain
    assert ROLE_GESTIONNAIRE in moi(bob)["roles"]
    assert bob.get("/structure/statistiques").status == 200


def test_a_gestionnaire_cannot_name_someone_of_another_structure(
    member: Callable[[str], Browser], new_browser: Callable[[], Browser]
) -> None:
    alice = member(unique("alice"))
    stats_command(["grant", "--email", moi(alice)["email"]])
    dominique = new_browser()
    dominique.sign_in(SECOND_MEDIATOR_EMAIL)  # built-in user of another SIRET
    assert moi(dominique)["structure"]["siret"] != moi(alice)["structure"]["siret"]

    for email in (SECOND_MEDIATOR_EMAIL, unique("nobody"), ""):
        page = alice.post("/structure/gestionnaires", {"email": email})
        assert page.status == 400
        assert page.field_errors() == [
            "Aucun médiateur de votre structure n'a cette adresse e-mail."
            if email
            else "Saisissez l'adresse e-mail du médiateur."
        ]

    assert ROLE_GESTIONNAIRE not in moi(dominique)["roles"]


def test_naming_a_gestionnaire_needs_the_csrf_token(member: Callable[[str], Browser]) -> None:
    alice, bob = member(unique("alice")), member(unique("bob"))
    stats_command(["grant", "--email", moi(alice)["email"]])

    page = alice.post("/structure/gestionnaires", {"email": moi(bob)["email"]}, csrf=False)

    assert page.status == 403
    assert ROLE_GESTIONNAIRE not in moi(bob)["roles"]


def test_a_gestionnaire_who_moves_to_another_structure_is_no_gestionnaire_there(
    member: Callable[[str], Browser], new_browser: Callable[[], Browser], idp: Any
) -> None:
    email = moi(member(unique("alice")))["email"]
    stats_command(["grant", "--email", email])

    alice = new_browser()  # signs in again, now employed by another structure
    idp.provider.override_userinfo_claims = {"siret": "98765432100012"}
    try:
        alice.sign_in(email)
    finally:
        idp.provider.override_userinfo_claims = {}

    assert moi(alice)["structure"] == {"siret": "98765432100012"}
    assert moi(alice)["roles"] == ["mediateur"]
    assert alice.get("/structure/statistiques").status == 403
