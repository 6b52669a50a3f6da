"""/api/beneficiaires (SPEC §10): the same rules as the forms, for scripts and a future offline client.

Create, read, search and list, French field errors, optimistic locking, deletion, ownership, a
property test that no body makes it crash or store an invalid person, and the OpenAPI description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.domain import beneficiaires as rules
from chalicelib.domain import vocab
from chalicelib.schemas.beneficiaires import BeneficiaireIn
from tests.conftest import Browser

NOBODY = "0000000000zzzzzzzzzzzzzzzz"
STALE = "Cet élément a été modifié entre-temps. Rechargez-le puis recommencez."
READ_ONLY = (
    "id",
    "nombre_accompagnements",
    "premier_accompagnement",
    "dernier_accompagnement",
    "cree_le",
    "modifie_le",
)
SPEC_FIELDS = {  # SPEC §10, "Beneficiary fields"
    *("prenom", "nom", "annee_naissance", "telephone", "pas_de_telephone", "email"),
    *("commune_insee", "genre", "tranche_age", "statut", "notes", "confirmer_notes", "version"),
}
ENGLISH = re.compile(r"\b(?:Input|should|must|provided|number|items|Value error|valid)\b")


def _ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    return browser


def _post(browser: Browser, payload: Any) -> Any:
    return browser.api("POST", "/api/beneficiaires", payload)


def _create(browser: Browser, prenom: str, nom: str, **fields: Any) -> dict[str, Any]:
    page = _post(browser, {"prenom": prenom, "nom": nom, **fields})
    assert page.status == 201, page.text
    return dict(page.json())


def _items(browser: Browser, query: str = "") -> list[dict[str, Any]]:
    page = browser.api("GET", "/api/beneficiaires" + query)
    assert page.status == 200, page.text
    return list(page.json()["items"])


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [f"{item['prenom']} {item['nom']}" for item in items]


def test_given_a_body_when_created_then_it_is_normalised_and_read_back_whole(
    browser: Browser,
) -> None:
    _ready(browser, "api.creer.beneficiaire@example.org")

    page = _post(
        browser,
        {
            "prenom": " Hélène ",
            "nom": "Dupont",
            "annee_naissance": 1950,
            "telephone": "06 12 34 56 78",
            "email": " Helene@Exemple.FR ",
            "commune_insee": "69383",
            "genre": "feminin",
            "tranche_age": "18_24",
            "statut": "retraite",
            "notes": "Vient le mardi.",
        },
    )

    assert page.status == 201, page.text
    created = page.json()
    assert page.location == f"/api/beneficiaires/{created['id']}"
    assert set(created) == SPEC_FIELDS | set(READ_ONLY)
    assert {k: created[k] for k in ("prenom", "telephone", "email", "tranche_age", "version")} == {
        "prenom": "Hélène",
        "telephone": "+33612345678",
        "email": "helene@exemple.fr",
        "tranche_age": "70_plus",  # derived from the year, whatever was sent
        "version": 1,
    }
    assert (created["nombre_accompagnements"], created["premier_accompagnement"]) == (0, None)
    assert browser.api("GET", f"/api/beneficiaires/{created['id']}").json() == created
    listed = browser.api("GET", "/api/beneficiaires").json()
    assert listed == {"items": [created], "cursor": None, "tronquee": False}
    assert _items(browser, "?q=helene%20dup") == [created]
    assert _items(browser, "?q=0612") == [created]
    assert _items(browser, "?q=paris") == []
    # What the API answers is what it accepts back: a read body can be sent as is.
    body = {k: v for k, v in created.items() if k not in READ_ONLY}
    assert BeneficiaireIn.model_validate_json(json.dumps(body)).to_domain().nom == "Dupont"


def test_given_invalid_bodies_when_posted_then_422_in_french_per_field_and_nothing_saved(
    browser: Browser,
) -> None:
    _ready(browser, "api.erreurs.beneficiaire@example.org")
    cases: list[tuple[Any, dict[str, str]]] = [
        ({}, {"prenom": rules.PRENOM_REQUIS, "nom": rules.NOM_REQUIS}),
        ({"prenom": "A", "nom": " "}, {"nom": rules.NOM_REQUIS}),
        ({"prenom": "A", "nom": "B" * 101}, {"nom": rules.NOM_TROP_LONG}),
        (
            {"prenom": "A", "nom": "B", "annee_naissance": "1975"},
            {"annee_naissance": "Saisissez un nombre entier."},
        ),
        (
            {"prenom": "A", "nom": "B", "annee_naissance": 1899},
            {"annee_naissance": rules.ANNEE_NAISSANCE_INVALIDE.format(annee_max=_year())},
        ),
        (
            {"prenom": "A", "nom": "B", "telephone": "+44 20 7946 0958"},
            {"telephone": rules.TELEPHONE_INVALIDE},
        ),
        ({"prenom": "A", "nom": "B", "email": "a@b"}, {"email": rules.EMAIL_INVALIDE}),
        (
            {"prenom": "A", "nom": "B", "commune_insee": "99999"},
            {"commune_insee": rules.COMMUNE_INCONNUE},
        ),
        ({"prenom": "A", "nom": "B", "genre": "autre"}, {"genre": rules.GENRE_INVALIDE}),
        ({"prenom": "A", "nom": "B", "statut": ["retraite"]}, {"statut": "Saisissez un texte."}),
        (
            {"prenom": "A", "nom": "B", "pas_de_telephone": "oui"},
            {"pas_de_telephone": "Répondez par oui ou non."},
        ),
        ({"prenom": "A", "nom": "B", "age": 40}, {"age": "Ce champ n'est pas attendu."}),
        (
            {"prenom": "A", "nom": "B", "notes": "IBAN FR76 3000 6000 0112 3456 7890 189"},
            {
                "notes": "Vos notes semblent contenir un IBAN. Retirez-le ou confirmez qu'il ne s'agit pas d'une donnée sensible."
            },
        ),
        ([1, 2], {"corps": "Le corps de la requête doit être un objet JSON."}),
        ("texte", {"corps": "Le corps de la requête doit être un objet JSON."}),
    ]

    answers = [(payload, _post(browser, payload)) for payload in cases_payloads(cases)]

    for (payload, page), (_, expected) in zip(answers, cases, strict=True):
        assert page.status == 422, (payload, page.text)
        assert page.json()["errors"] == expected, payload
        assert not ENGLISH.search(page.text), page.text
    raw = browser.request(
        "POST",
        "/api/beneficiaires",
        body="{pas du json",
        headers={"Content-Type": "application/json", "X-CSRF-Token": browser.csrf_token},
    )
    assert raw.status == 422
    assert _items(browser) == []
    confirmed = _post(
        browser,
        {
            "prenom": "A",
            "nom": "B",
            "notes": "IBAN FR76 3000 6000 0112 3456 7890 189",
            "confirmer_notes": True,
        },
    )
    assert confirmed.status == 201 and confirmed.json()["confirmer_notes"] is True


def cases_payloads(cases: list[tuple[Any, dict[str, str]]]) -> list[Any]:
    return [payload for payload, _ in cases]


def _year() -> int:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today().year


def test_given_a_person_when_replaced_then_the_version_guards_against_stale_writes(
    browser: Browser,
) -> None:
    _ready(browser, "api.modifier.beneficiaire@example.org")
    person = _create(browser, "Lucie", "Bernard", email="lucie@exemple.fr")
    path = f"/api/beneficiaires/{person['id']}"
    body = {k: v for k, v in person.items() if k not in READ_ONLY}

    missing = browser.api("PUT", path, {**body, "version": None})
    replaced = browser.api("PUT", path, {**body, "nom": "Bernard-Petit", "email": None})
    stale = browser.api("PUT", path, {**body, "nom": "Trop tard"})
    invalid_and_stale = browser.api("PUT", path, {**body, "nom": ""})

    assert (missing.status, missing.json()["errors"]) == (
        422,
        {"version": "Ce champ est obligatoire."},
    )
    assert replaced.status == 200, replaced.text
    after = replaced.json()
    assert (after["nom"], after["email"], after["version"]) == ("Bernard-Petit", None, 2)
    assert after["cree_le"] == person["cree_le"] and after["modifie_le"] >= person["modifie_le"]
    assert (stale.status, stale.json()["message"]) == (409, STALE)
    assert invalid_and_stale.status == 422  # what to fix comes before the conflict
    assert browser.api("GET", path).json() == after
    assert _names(_items(browser, "?q=petit")) == ["Lucie Bernard-Petit"]
    assert _items(browser, "?q=lucie%40exemple") == []


def test_given_people_when_listing_then_tri_and_cursors_follow_the_query(browser: Browser) -> None:
    _ready(browser, "api.liste.beneficiaires@example.org")
    for prenom, nom, annee in (
        ("Zoé", "Abad", 1990),
        ("Anne", "Zola", 1950),
        ("Marc", "Martin", None),
    ):
        _create(browser, prenom, nom, annee_naissance=annee)

    assert _names(_items(browser)) == ["Zoé Abad", "Marc Martin", "Anne Zola"]
    assert _names(_items(browser, "?tri=prenom")) == ["Anne Zola", "Marc Martin", "Zoé Abad"]
    assert _names(_items(browser, "?tri=annee")) == ["Anne Zola", "Zoé Abad", "Marc Martin"]
    assert browser.api("GET", "/api/beneficiaires?tri=annee").json()["cursor"] is None
    bad = {
        "?tri=age": {"tri": "Choisissez une valeur dans la liste."},
        "?tri=annee&cursor=abc": {
            "cursor": "Ce curseur n'est pas valide : reprenez à la première page."
        },
        "?q=" + "a" * 201: {"q": "La recherche doit faire 200 caractères au plus."},
    }
    for query, errors in bad.items():
        page = browser.api("GET", "/api/beneficiaires" + query)
        assert (page.status, page.json()["errors"]) == (422, errors), query
    # A name cursor that is not one of ours starts again from the first page.
    assert _names(_items(browser, "?cursor=garbage")) == ["Zoé Abad", "Marc Martin", "Anne Zola"]


def test_given_unknown_or_foreign_ids_then_404_and_deleting_is_final(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "api.alice.beneficiaires@example.org")
    person = _create(alice, "Hélène", "Secret", notes="Note d'Alice")
    bob = _ready(new_browser(), "api.bob.beneficiaires@example.org")
    path = f"/api/beneficiaires/{person['id']}"
    body = {"prenom": "Bob", "nom": "Était là", "version": 1}

    foreign = {
        "GET": bob.api("GET", path),
        "PUT": bob.api("PUT", path, body),
        "DELETE": bob.api("DELETE", path),
        "GET nobody": bob.api("GET", f"/api/beneficiaires/{NOBODY}"),
        "PUT garbage": bob.api("PUT", "/api/beneficiaires/%27%3B--", body),
        "DELETE long": bob.api("DELETE", "/api/beneficiaires/" + "a" * 300),
    }

    assert {name: page.status for name, page in foreign.items()} == dict.fromkeys(foreign, 404)
    assert "Secret" not in "".join(page.text for page in foreign.values())
    assert _items(bob, "?q=helene") == [] and _items(bob) == []
    assert alice.api("GET", path).json() == person

    deleted = alice.api("DELETE", path)

    assert (deleted.status, deleted.body) == (204, b"")
    again = {
        "GET": alice.api("GET", path).status,
        "PUT": alice.api("PUT", path, {**body, "version": 2}).status,
        "DELETE": alice.api("DELETE", path).status,
    }
    assert again == dict.fromkeys(again, 404)
    assert _items(alice) == [] and _items(alice, "?q=secret") == []
    anonymous = new_browser().api("GET", "/api/beneficiaires")
    assert anonymous.status == 401


def test_given_a_long_but_valid_email_when_saved_and_changed_then_no_crash(
    browser: Browser,
) -> None:
    """Every word is indexed for the search, in the same transaction as the person (at most 100
    writes): a person with very many words must still save, and change every word at once."""
    _ready(browser, "api.mots.beneficiaire@example.org")
    words = ".".join(f"m{i:02d}" for i in range(60))
    many = " ".join(f"p{i:02d}" for i in range(24))  # 95 characters, 24 words
    others = many.replace("p", "n")

    page = _post(browser, {"prenom": many, "nom": others, "email": f"{words}@exemple.fr"})

    assert page.status == 201, page.text
    created = page.json()
    assert _names(_items(browser, "?q=p07 n23")) == [f"{many} {others}"]
    changed = browser.api(
        "PUT",
        f"/api/beneficiaires/{created['id']}",
        {
            "prenom": many.replace("p", "q"),
            "nom": "Court",
            "email": f"x{words}@exemple.fr",
            "version": 1,
        },
    )
    assert changed.status == 200, changed.text
    assert _items(browser, "?q=p07") == []
    assert _items(browser, "?q=court q23")[0]["id"] == created["id"]


# --- property: no body crashes the API --------------------------------------------------------------

JUNK = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=30),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
NAMES = st.one_of(
    st.sampled_from(["Hélène", "Jean-Pierre", "N'Diaye", "  Zoé "]), st.text(max_size=30)
)
VALID: dict[str, st.SearchStrategy[Any]] = {
    "prenom": NAMES,
    "nom": NAMES,
    "annee_naissance": st.integers(1890, 2100),
    "telephone": st.one_of(
        st.sampled_from(["0612345678", "+262 692 12 34 56", "12"]), st.text(max_size=20)
    ),
    "pas_de_telephone": st.booleans(),
    "email": st.one_of(st.just("a.b@exemple.fr"), st.emails(), st.text(max_size=20)),
    "commune_insee": st.sampled_from(["69383", "2A004", "97411", "00000", ""]),
    "genre": st.sampled_from([*vocab.GENRES, "x"]),
    "tranche_age": st.sampled_from([*vocab.TRANCHES_AGE, "x"]),
    "statut": st.sampled_from([*vocab.STATUTS, "x"]),
    "notes": st.one_of(st.text(max_size=60), st.just("mdp : Soleil2024")),
    "confirmer_notes": st.booleans(),
}


@st.composite
def _bodies(draw: st.DrawFn) -> Any:
    """Mostly objects mixing plausible values and junk; sometimes not an object at all."""
    if draw(st.integers(0, 15)) == 0:
        return draw(JUNK)
    junk_in_ten = draw(st.sampled_from([0, 0, 1, 3]))
    body: dict[str, Any] = {}
    for name, valid in VALID.items():
        roll = draw(st.integers(0, 9))
        if roll < junk_in_ten:
            body[name] = draw(JUNK)
        elif roll < 7 or name in ("prenom", "nom"):
            body[name] = draw(valid)
    return body


def test_given_any_body_when_posted_then_never_a_500_and_only_valid_people_are_saved(
    browser: Browser,
) -> None:
    _ready(browser, "api.hypothese.beneficiaire@example.org")
    statuses: list[int] = []

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=_bodies())
    @example(body={"prenom": "Awa", "nom": "Diallo"})  # both outcomes whatever the random draws
    @example(body=["not", "an", "object"])
    def post_anything(body: Any) -> None:
        page = _post(browser, body)
        statuses.append(page.status)
        assert page.status in (201, 422), (body, page.status, page.text)
        if page.status == 201:
            saved = page.json()
            assert saved["prenom"] and saved["nom"]
            assert saved["telephone"] is None or saved["telephone"].startswith("+")
        else:
            assert page.json()["errors"], page.text

    post_anything()
    assert 201 in statuses and 422 in statuses


def test_the_openapi_document_describes_the_beneficiaries(browser: Browser) -> None:
    document = browser.api("GET", "/api/openapi.json").json()

    paths = document["paths"]
    assert set(paths["/api/beneficiaires"]) == {"get", "post"}
    assert set(paths["/api/beneficiaires/{id}"]) == {"parameters", "get", "put", "delete"}
    schemas = document["components"]["schemas"]
    assert set(schemas["BeneficiaireIn"]["properties"]) == SPEC_FIELDS
    assert set(schemas["BeneficiaireOut"]["properties"]) == SPEC_FIELDS | set(READ_ONLY)
    assert set(schemas["BeneficiairesPage"]["properties"]) >= {"items", "cursor"}
