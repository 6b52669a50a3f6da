"""/api/activites (SPEC §10): the same rules as the forms, for scripts and a future offline client.

Create, read, list with filters and cursors, idempotent retries, French field errors, optimistic
locking, ownership, a property test that no body makes it crash or store an invalid activity, and
the OpenAPI description.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import activites_rules as rules
from chalicelib.domain import notes, vocab
from chalicelib.schemas.activites import ActiviteIn
from tests.conftest import Browser

NOBODY = "0000000000zzzzzzzzzzzzzzzz"
NOT_FOUND = "La page que vous cherchez est introuvable."
STALE = "Cet élément a été modifié entre-temps. Rechargez-le puis recommencez."
READ_ONLY = ("id", "participants", "cree_le", "modifie_le")
SPEC_FIELDS = {  # SPEC §10, "Activity fields"
    *("type", "date", "duree", "canal", "lieu_id", "commune_insee", "materiel", "thematiques"),
    *("thematiques_demarche", "nom_demarche", "finalisation", "autonomie", "oriente"),
    *("structure_redirection", "partenaire_id", "poursuite", "beneficiaire_id", "anonyme"),
    *("titre_atelier", "niveau", "participants_ids", "participants_anonymes", "autonomies"),
    "notes",
    *("confirmer_notes", "version"),
}
ENGLISH = re.compile(r"\b(?:Input|should|must|provided|number|items|Value error)\b")


def _today() -> date:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today()


def _ago(days: int) -> str:
    return (_today() - timedelta(days=days)).isoformat()


def _ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def _lieu_id(browser: Browser) -> str:
    return str(browser.api("GET", "/api/lieux").json()["items"][0]["id"])


def _individuel(lieu_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "individuel",
        "date": _today().isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": lieu_id,
        "thematiques": ["email"],
        **fields,
    }


def _post(browser: Browser, payload: Any, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else None
    return browser.api("POST", "/api/activites", payload, headers=headers)


def _create(browser: Browser, lieu_id: str, **fields: Any) -> dict[str, Any]:
    page = _post(browser, _individuel(lieu_id, **fields))
    assert page.status == 201, page.text
    return dict(page.json())


def _all_ids(browser: Browser, query: str = "") -> list[str]:
    """Every id of the list, following the cursors."""
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        suffix = f"&cursor={cursor}" if cursor else ""
        body = browser.api("GET", f"/api/activites?{query}{suffix}").json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ends")


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# --- creating and reading -----------------------------------------------------------------------


def test_each_type_created_over_the_api_comes_back_whole(browser: Browser) -> None:
    _ready(browser, "api.types@example.org")
    lieu_id = _lieu_id(browser)
    bodies = {
        "individuel": _individuel(
            lieu_id,
            duree=45,
            materiel=["ordinateur", "telephone"],
            thematiques=["email", "sante"],
            anonyme={
                "deja_accompagne": False,
                "commune_insee": "69383",
                "genre": "feminin",
                "tranche_age": "60_69",
                "statut": "retraite",
            },
            autonomie="partiellement_autonome",
            oriente=True,
            structure_redirection="aide_sociale",
            poursuite="atelier",
            notes="Première visite",
        ),
        "demarche": {
            "type": "demarche",
            "date": _ago(1),
            "duree": 70,
            "canal": "domicile",
            "commune_insee": "69383",
            "thematiques_demarche": ["logement", "argent_impots"],
            "nom_demarche": "Demande d'APL",
            "finalisation": "doit_revenir",
        },
        "collectif": {
            "type": "collectif",
            "date": _ago(2),
            "duree": 120,
            "canal": "autre",
            "commune_insee": "75056",
            "materiel": ["tablette"],
            "thematiques": ["email"],
            "titre_atelier": "Créer son adresse e-mail",
            "niveau": "debutant",
            "participants_anonymes": {
                "total": 12,
                "deja_accompagnes": 4,
                "genres": {"feminin": 7, "masculin": 3},
                "tranches_age": {"70_plus": 5},
                "statuts": {"retraite": 6},
            },
        },
    }

    created = {}
    for kind, body in bodies.items():
        page = _post(browser, body)
        assert page.status == 201, page.text
        created[kind] = answer = page.json()
        assert page.headers.get("Location") == f"/api/activites/{answer['id']}"
        assert "Idempotent-Replayed" not in page.headers
        assert set(answer) == SPEC_FIELDS | set(READ_ONLY)
        assert {k: answer[k] for k in body} == body, kind
        assert answer["version"] == 1 and answer["confirmer_notes"] is False
        assert answer["cree_le"] == answer["modifie_le"]
        assert datetime.fromisoformat(answer["cree_le"]).tzinfo is not None

    assert [created[k]["participants"] for k in bodies] == [1, 1, 12]
    assert created["demarche"]["lieu_id"] is None and created["demarche"]["anonyme"] is None
    assert created["collectif"]["anonyme"] is None  # an atelier has no single person
    for answer in created.values():
        assert browser.api("GET", f"/api/activites/{answer['id']}").json() == answer
    listing = browser.api("GET", "/api/activites").json()
    assert listing == {"items": [created[k] for k in bodies], "cursor": None}


def test_the_list_is_paged_by_cursor_and_filtered(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "api.pages@example.org")
    lieu_id = _lieu_id(alice)
    # 45 activities, one per day, every third one a démarche done at a distance.
    ids = []
    for n in range(45):
        extra: dict[str, Any] = {"date": _ago(n)}
        if n % 3 == 2:
            extra |= {
                "type": "demarche",
                "canal": "a_distance",
                "thematiques": [],
                "thematiques_demarche": ["logement"],
            }
        ids.append(_create(alice, lieu_id, **extra)["id"])

    pages, cursor = [], None
    for _ in range(3):
        body = alice.api("GET", "/api/activites" + (f"?cursor={cursor}" if cursor else "")).json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["cursor"]

    assert [len(page) for page in pages] == [20, 20, 5]
    assert cursor is None
    assert pages[0] + pages[1] + pages[2] == ids  # newest first, none twice, none missing
    demarches = [i for n, i in enumerate(ids) if n % 3 == 2]
    assert _all_ids(alice, "type=demarche") == demarches
    assert _all_ids(alice, "canal=a_distance&thematique=logement") == demarches
    assert _all_ids(alice, f"du={_ago(30)}&au={_ago(5)}") == ids[5:31]
    assert _all_ids(alice, f"type=individuel&lieu={lieu_id}&au={_ago(40)}") == [
        i for n, i in enumerate(ids) if n >= 40 and n % 3 != 2
    ]
    assert _all_ids(alice, "thematique=email&du=" + _today().isoformat()) == ids[:1]

    # A cursor only says where to resume: another mediator's, or a forged one, never shows
    # someone else's activities and never crashes.
    first_cursor = alice.api("GET", "/api/activites").json()["cursor"]
    bob = _ready(new_browser(), "api.pages.bob@example.org")
    bob_ids = {_create(bob, _lieu_id(bob), date=_ago(n))["id"] for n in (0, 50)}
    forged = [
        first_cursor,
        "!!!",
        "%25%25",
        "A" * 5000,
        _b64({"a": 1}),
        _b64([1, 2]),
        _b64(["X#1", "2024-01-01#x"]),
        _b64(["ACT#zzz", "9999"]),
        _b64({"ACT#x": 1, "y": 2}),
        _b64(["ACT#" + "z" * 100, "z"]),
    ]
    for cursor in forged:
        page = bob.api("GET", f"/api/activites?cursor={cursor}")
        assert page.status in (200, 422), (cursor, page.status)
        if page.status == 200:
            assert {item["id"] for item in page.json()["items"]} <= bob_ids, cursor


def test_invalid_filters_are_422_with_french_messages(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "api.filtres@example.org")
    _create(alice, _lieu_id(alice))
    bob = _ready(new_browser(), "api.filtres.bob@example.org")
    date_error = "Saisissez une date valide (AAAA-MM-JJ)."
    choice_error = "Choisissez une valeur dans la liste."
    cases = {
        "type=zzz": {"type": choice_error},
        "du=2024-13-01": {"du": date_error},
        "au=hier": {"au": date_error},
        "du=2025-03-01&au=2025-02-01": {"au": "La date de fin doit être après la date de début."},
        "canal=partout": {"canal": choice_error},
        f"lieu={_lieu_id(bob)}": {"lieu": choice_error},  # someone else's lieu
        "thematique=cuisine": {"thematique": choice_error},
        "beneficiaire=%27%3B--": {"beneficiaire": choice_error},
        "type=zzz&du=x": {"type": choice_error, "du": date_error},
    }

    for query, errors in cases.items():
        page = alice.api("GET", f"/api/activites?{query}")
        assert (page.status, page.json().get("errors")) == (422, errors), query


# --- idempotency --------------------------------------------------------------------------------


def test_an_idempotency_key_replays_the_first_answer_for_its_own_mediator_only(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "api.idem@example.org")
    body = _individuel(_lieu_id(alice), duree=60)

    first = _post(alice, body, key="retry-7f3a")
    again = _post(alice, body, key="retry-7f3a")

    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _all_ids(alice) == [first.json()["id"]]

    other = _post(alice, body, key="retry-8b21")
    no_key = _post(alice, body)
    assert other.status == no_key.status == 201
    assert len({first.json()["id"], other.json()["id"], no_key.json()["id"]}) == 3
    assert len(_all_ids(alice)) == 3

    # Keys are per mediator: the same key from someone else is their own new activity.
    bob = _ready(new_browser(), "api.idem.bob@example.org")
    bobs = _post(bob, _individuel(_lieu_id(bob)), key="retry-7f3a")
    assert bobs.status == 201 and "Idempotent-Replayed" not in bobs.headers
    assert bobs.json()["id"] != first.json()["id"]
    assert _all_ids(bob) == [bobs.json()["id"]]
    assert len(_all_ids(alice)) == 3

    too_long = _post(alice, body, key="k" * 201)
    assert (too_long.status, too_long.json()["errors"]) == (
        422,
        {"Idempotency-Key": "La clé d'idempotence doit faire 200 caractères au plus."},
    )
    assert len(_all_ids(alice)) == 3


# --- invalid bodies -----------------------------------------------------------------------------


def test_invalid_bodies_get_french_errors_per_field_and_nothing_is_saved(
    browser: Browser,
) -> None:
    _ready(browser, "api.invalide@example.org")
    lieu_id = _lieu_id(browser)
    valid = _individuel(lieu_id)
    collectif = {**valid, "type": "collectif"}
    not_an_object = {"corps": "Le corps de la requête doit être un objet JSON."}
    cases: list[tuple[Any, dict[str, str]]] = [
        # the shape (pydantic)
        ({**valid, "duree": "abc"}, {"duree": "Saisissez un nombre entier."}),
        ({**valid, "duree": 1.5}, {"duree": "Saisissez un nombre entier."}),
        ({**valid, "mediateur_id": "m1"}, {"mediateur_id": "Ce champ n'est pas attendu."}),
        (
            {**valid, "thematiques": "email"},
            {"thematiques": "Choisissez une ou plusieurs valeurs dans la liste."},
        ),
        ({**valid, "duree": "9" * 5000}, {"duree": "Saisissez un nombre entier."}),
        ({**valid, "date": "2024-13-01"}, {"date": "Saisissez une date valide (AAAA-MM-JJ)."}),
        (
            {**valid, "date": "2024-05-02T10:30"},
            {"date": "Saisissez une date valide (AAAA-MM-JJ)."},
        ),
        ({**valid, "materiel": ["aucun"] * 11}, {"materiel": "Choisissez 10 valeurs au plus."}),
        ({**valid, "anonyme": "femme"}, {"anonyme": "Saisissez un objet."}),
        ({**valid, "oriente": "peut-être"}, {"oriente": "Répondez par oui ou non."}),
        ({**valid, "anonyme": {"genre": 3}}, {"anonyme.genre": "Saisissez un texte."}),
        ({k: v for k, v in valid.items() if k != "type"}, {"type": "Ce champ est obligatoire."}),
        ([valid], not_an_object),
        ("activite", not_an_object),
        (42, not_an_object),
        (None, not_an_object),
        # the rules (domain)
        ({**valid, "type": "zzz"}, {"type": rules.TYPE_INVALIDE}),
        ({**valid, "date": _ago(-3)}, {"date": rules.DATE_FUTURE}),
        ({**valid, "date": "2019-12-31"}, {"date": rules.DATE_TROP_ANCIENNE}),
        ({**valid, "duree": 0}, {"duree": rules.DUREE_INVALIDE}),
        ({**valid, "duree": 1440}, {"duree": rules.DUREE_INVALIDE}),
        ({**valid, "canal": None}, {"canal": rules.CANAL_REQUIS}),
        ({**valid, "lieu_id": None}, {"lieu_id": rules.LIEU_REQUIS}),
        ({**valid, "lieu_id": NOBODY}, {"lieu_id": rules.LIEU_INCONNU}),
        ({**valid, "canal": "domicile"}, {"commune_insee": rules.COMMUNE_REQUISE}),
        (
            {**valid, "canal": "domicile", "commune_insee": "99999"},
            {"commune_insee": rules.COMMUNE_INCONNUE},
        ),
        (
            {**valid, "materiel": ["aucun", "ordinateur"]},
            {"materiel": rules.MATERIEL_AUCUN_EXCLUSIF},
        ),
        ({**valid, "thematiques": []}, {"thematiques": rules.THEMATIQUES_REQUISES}),
        ({**valid, "oriente": True}, {"structure_redirection": rules.STRUCTURE_REQUISE}),
        ({**valid, "beneficiaire_id": NOBODY}, {"beneficiaire_id": rules.BENEFICIAIRE_INCONNU}),
        (
            {**valid, "notes": "NIR 1 84 12 76 451 089 46"},
            {"notes": notes.message_notes_sensibles([notes.SENSIBLE_NIR])},
        ),
        (collectif, {"participants": rules.PARTICIPANTS_REQUIS}),
        (
            {**collectif, "participants_anonymes": {"total": 5, "genres": {"feminin": 8}}},
            {
                "participants_anonymes.genres": rules.REPARTITION_DEPASSE_TOTAL.format(
                    repartition="genre", somme=8, total=5
                )
            },
        ),
    ]

    for body, errors in cases:
        page = _post(browser, body)
        assert (page.status, page.json().get("errors")) == (422, errors), body
    broken = browser.request(
        "POST",
        "/api/activites",
        body='{"type": ',
        headers={"Content-Type": "application/json", "X-CSRF-Token": browser.csrf_token},
    )
    assert (broken.status, broken.json()["errors"]) == (422, not_an_object)
    assert _all_ids(browser) == []


# --- replacing and deleting ---------------------------------------------------------------------


def test_replacing_needs_the_current_version_and_keeps_the_type(browser: Browser) -> None:
    _ready(browser, "api.put@example.org")
    lieu_id = _lieu_id(browser)
    created = _create(browser, lieu_id, duree=30)
    url = f"/api/activites/{created['id']}"
    change = _individuel(lieu_id, duree=90, date=_ago(40), notes="Revu")

    missing = browser.api("PUT", url, change)
    retyped = browser.api("PUT", url, {**change, "type": "collectif", "version": 1})
    invalid = browser.api("PUT", url, {**change, "duree": 0, "version": 1})
    stale = browser.api("PUT", url, {**change, "version": 7})
    saved = browser.api("PUT", url, {**change, "version": 1})
    replayed = browser.api("PUT", url, {**change, "duree": 15, "version": 1})

    assert (missing.status, missing.json()["errors"]) == (
        422,
        {"version": "Ce champ est obligatoire."},
    )
    assert (retyped.status, retyped.json()["errors"]) == (
        422,
        {"type": "Le type d'une activité ne peut pas être modifié."},
    )
    assert (invalid.status, invalid.json()["errors"]) == (422, {"duree": rules.DUREE_INVALIDE})
    assert (stale.status, stale.json()["message"]) == (409, STALE)
    assert saved.status == 200
    answer = saved.json()
    assert (answer["duree"], answer["date"], answer["notes"], answer["version"]) == (
        90,
        _ago(40),
        "Revu",
        2,
    )
    assert answer["cree_le"] == created["cree_le"]
    assert answer["modifie_le"] >= created["modifie_le"]
    assert (replayed.status, replayed.json()["message"]) == (409, STALE)
    assert browser.api("GET", url).json() == answer


def test_unknown_or_foreign_ids_are_404_and_deleting_is_final(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "api.404@example.org")
    lieu_id = _lieu_id(alice)
    activite = _create(alice, lieu_id)
    bob = _ready(new_browser(), "api.404.bob@example.org")
    url = f"/api/activites/{activite['id']}"
    put = {**_individuel(_lieu_id(bob)), "version": 1}

    answers = {
        f"{who} {method} {target}": user.api(method, path, put if method == "PUT" else None)
        for who, user, target, path in (
            ("alice", alice, "unknown", f"/api/activites/{NOBODY}"),
            ("alice", alice, "garbage", "/api/activites/..%2F"),
            ("bob", bob, "alice's", url),
        )
        for method in ("GET", "PUT", "DELETE")
    }

    assert {name: page.status for name, page in answers.items()} == dict.fromkeys(answers, 404)
    assert {page.json()["message"] for page in answers.values()} == {NOT_FOUND}
    assert alice.api("GET", url).json() == activite

    stale = alice.api("DELETE", f"{url}?version=5")
    assert stale.status == 409 and alice.api("GET", url).status == 200
    deleted = alice.api("DELETE", url)
    assert (deleted.status, deleted.body) == (204, b"")
    assert alice.api("GET", url).status == 404
    assert alice.api("DELETE", url).status == 404
    assert _all_ids(alice) == []


# --- no body makes it crash or store an invalid activity -----------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=False),
    st.text(max_size=20),
    st.just("x" * 6000),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)).map(date.isoformat),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
)


# Values of the right JSON kind but wrong for the field: where the edge's checks are thinnest.
NUMBERS = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6).filter(lambda x: not x.is_integer()),
    st.sampled_from([float("nan"), -1, 0, 10**20, "12", " 30 ", True]),
)
NEAR_MISS: dict[str, st.SearchStrategy[Any]] = {
    "date": st.sampled_from(["2024-02-30", "2024-05-02T10:30", "29/11/2024", "", 20240101]),
    "duree": NUMBERS,
    "materiel": st.lists(st.sampled_from([*vocab.MATERIEL, "aucun", "x"]), max_size=12),
    "thematiques": st.lists(st.sampled_from([*vocab.THEMATIQUES, "email", "?"]), max_size=40),
    "anonyme": st.dictionaries(st.sampled_from(["genre", "statut", "age"]), JUNK, max_size=2),
    "participants_anonymes": st.fixed_dictionaries(
        {"total": NUMBERS},
        optional={"genres": st.dictionaries(st.text(max_size=9), NUMBERS, max_size=12)},
    ),
}


def _slugs(vocabulary: vocab.Vocabulary, min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(list(vocabulary)), min_size=min_size, max_size=3, unique=True)


def _counts(vocabulary: vocab.Vocabulary) -> st.SearchStrategy[dict[str, int]]:
    return st.dictionaries(st.sampled_from(list(vocabulary)), st.integers(0, 20), max_size=3)


def _valid_values(lieu_id: str) -> dict[str, st.SearchStrategy[Any]]:
    communes = st.sampled_from(["69383", "75056", "2A004", "97411"])
    dates = st.dates(min_value=date(2020, 1, 1), max_value=_today()).map(date.isoformat)
    return {
        "type": st.sampled_from(list(vocab.TYPES_ACTIVITE)),
        "date": dates,
        "duree": st.one_of(st.sampled_from([15, 30, 45, 60, 90, 120]), st.integers(1, 1439)),
        "canal": st.sampled_from(list(vocab.CANAUX)),
        "lieu_id": st.just(lieu_id),
        "commune_insee": communes,
        "materiel": st.one_of(
            st.just(["aucun"]), _slugs(vocab.MATERIEL).map(lambda m: [x for x in m if x != "aucun"])
        ),
        "thematiques": _slugs(vocab.THEMATIQUES, min_size=1),
        "thematiques_demarche": _slugs(vocab.THEMATIQUES_DEMARCHE, min_size=1),
        "nom_demarche": st.text(max_size=40),
        "finalisation": st.sampled_from(list(vocab.FINALISATION)),
        "autonomie": st.sampled_from(list(vocab.AUTONOMIE)),
        "oriente": st.booleans(),
        "structure_redirection": st.sampled_from(list(vocab.STRUCTURES_REDIRECTION)),
        "poursuite": st.sampled_from(list(vocab.POURSUITE)),
        "anonyme": st.fixed_dictionaries(
            {},
            optional={
                "deja_accompagne": st.booleans(),
                "commune_insee": communes,
                "genre": st.sampled_from(list(vocab.GENRES)),
                "tranche_age": st.sampled_from(list(vocab.TRANCHES_AGE)),
                "statut": st.sampled_from(list(vocab.STATUTS)),
            },
        ),
        "titre_atelier": st.text(max_size=40),
        "niveau": st.sampled_from(list(vocab.NIVEAUX)),
        "participants_anonymes": st.fixed_dictionaries(
            {"total": st.integers(0, 60)},
            optional={
                "deja_accompagnes": st.integers(0, 10),
                "genres": _counts(vocab.GENRES),
                "tranches_age": _counts(vocab.TRANCHES_AGE),
                "statuts": _counts(vocab.STATUTS),
            },
        ),
        "participants_ids": st.just([]),
        "notes": st.one_of(st.text(max_size=80), st.just("mdp : Soleil2024")),
        "confirmer_notes": st.booleans(),
    }


@st.composite
def _bodies(draw: st.DrawFn, lieu_id: str) -> Any:
    """Mostly objects mixing valid values, missing fields and junk; sometimes not an object."""
    if draw(st.integers(0, 24)) == 0:
        return draw(JUNK)
    junk_in_ten = draw(st.sampled_from([0, 0, 2, 5]))
    body: dict[str, Any] = {}
    for name, valid in _valid_values(lieu_id).items():
        roll = draw(st.integers(0, 9))
        if roll < junk_in_ten:
            body[name] = draw(st.one_of(JUNK, NEAR_MISS.get(name, JUNK)))
        elif junk_in_ten and roll < junk_in_ten + 2 and name != "type":
            continue  # left out
        else:
            body[name] = draw(valid)
    if junk_in_ten and draw(st.booleans()):
        body[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    return body


def _as_stored(activite: dict[str, Any]) -> Any:
    """An activity read back from the API, as the domain sees it."""
    body = {k: v for k, v in activite.items() if k not in READ_ONLY}
    return ActiviteIn.model_validate_json(json.dumps(body)).to_domain()


def test_no_body_crashes_the_api_or_stores_an_invalid_activity(browser: Browser) -> None:
    from chalicelib import bootstrap

    _ready(browser, "api.proprietes@example.org")
    lieu_id = _lieu_id(browser)
    container = bootstrap.get()
    context = rules.RuleContext(
        today=container.calendar.latest_allowed(),
        lieux={lieu["id"] for lieu in browser.api("GET", "/api/lieux").json()["items"]},
        communes=container.communes,
        beneficiaires=frozenset(),
        partenaires=frozenset(),
    )
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=_bodies(lieu_id))
    def post_anything(body: Any) -> None:
        page = _post(browser, body)
        statuses[page.status] += 1
        assert page.status in (201, 422), (page.status, page.text[:300])
        if page.status == 422:
            for field, message in page.json()["errors"].items():
                assert not ENGLISH.search(message), (field, message)
            return
        stored = browser.api("GET", f"/api/activites/{page.json()['id']}")
        assert stored.status == 200
        assert rules.validate(_as_stored(stored.json()), context) == {}

    post_anything()

    assert statuses[201] and statuses[422], statuses
    every = browser.api("GET", "/api/activites").json()["items"]
    assert all(rules.validate(_as_stored(a), context) == {} for a in every)


# --- OpenAPI ------------------------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_describes_the_activities(browser: Browser) -> None:
    from openapi_spec_validator import validate

    page = browser.get("/api/openapi.json")  # public: no session needed to read it

    assert page.status == 200
    document = page.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    assert set(paths["/api/activites"]) >= {"get", "post"}
    assert set(paths["/api/activites/{id}"]) >= {"get", "put", "delete"}
    for implemented in ("/api/moi", "/api/communes", "/api/lieux", "/api/lieux/{id}"):
        assert implemented in paths, implemented
    filters = {p["name"] for p in paths["/api/activites"]["get"]["parameters"]}
    assert filters >= {"du", "au", "type", "canal", "lieu", "beneficiaire", "thematique", "cursor"}
    schemas = document["components"]["schemas"]
    assert set(schemas["ActiviteIn"]["properties"]) == SPEC_FIELDS
    assert set(schemas["ActiviteOut"]["properties"]) == SPEC_FIELDS | set(READ_ONLY)
    post = paths["/api/activites"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ActiviteIn"
    }
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ActiviteOut"
    }
