"""Mes activités without JavaScript: choosing a type, the three forms (record, fix, confirm notes,
modify, duplicate), deletion, ownership, the list with its filters and pages, archived lieux.

Forms are submitted the way a browser would: the controls of the page as rendered (checked boxes,
hidden fields, typed text), changed only where the mediator would change them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from chalicelib.domain import activites_rules as rules
from chalicelib.domain import notes as notes_rule
from tests.conftest import Browser, Page
from tests.support.forms import activity_form as _form

FieldValue = str | list[str]
ID = r"[0-9a-z]{26}"
LIEU = "Médiathèque Louise Michel"
SAVED = "/activites?message=activite_enregistree"
CONFLICT = "Cette activité a été modifiée entre-temps sur un autre appareil."
TYPE_LABELS = {
    "individuel": "Accompagnement individuel",
    "collectif": "Atelier collectif de médiation numérique",
    "demarche": "Aide aux démarches administratives",
}


def _value(page: Page, name: str) -> FieldValue | None:
    """What the page's form would post for `name` (a list for several values)."""
    values = _form(page).fields.get(name)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _submit(browser: Browser, page: Page, **changes: FieldValue | None) -> Page:
    """Post the page's form with what the mediator changed (None: left empty / unchecked)."""
    form = _form(page)
    fields: dict[str, Any] = dict(form.fields)
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return browser.post(form.action, fields)


# --- reading pages ---------------------------------------------------------------------------------


def _cards(page: Page) -> list[tuple[str, str]]:
    """(activity id, visible text) of each activity card, in page order."""
    cards = []
    for block in re.findall(r'<li class="fr-card[^"]*coop-activite">.*?</li>', page.text, re.S):
        found = re.search(rf'href="/activites/({ID})"', block)
        assert found, block
        text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))).strip()
        cards.append((found.group(1), text))
    return cards


def _ids(page: Page) -> list[str]:
    return [activite_id for activite_id, _ in _cards(page)]


def _detail(page: Page) -> dict[str, str]:
    rows = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text, re.S)
    return {html.unescape(k): html.unescape(v.strip()) for k, v in rows}


def _today() -> date:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today()


# --- set-up through the API (fast) -------------------------------------------------------------------


def _ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def _lieu_id(browser: Browser, nom: str = LIEU) -> str:
    items = browser.api("GET", "/api/lieux").json()["items"]
    return str(next(item["id"] for item in items if item["nom"] == nom))


def _add_lieu(browser: Browser, nom: str) -> str:
    page = browser.api(
        "POST", "/api/lieux", {"nom": nom, "adresse": "3 place Guichard", "commune_insee": "69383"}
    )
    assert page.status == 201, page.text
    return str(page.json()["id"])


def _create(browser: Browser, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "individuel",
        "date": _today().isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": fields.pop("lieu_id", None) or _lieu_id(browser),
        "thematiques": ["email"],
        **fields,
    }
    page = browser.api("POST", "/api/activites", payload)
    assert page.status == 201, page.text
    return dict(page.json())


def _stored(browser: Browser) -> list[dict[str, Any]]:
    return list(browser.api("GET", "/api/activites").json()["items"])


# --- choosing the type -------------------------------------------------------------------------------


def test_recording_starts_with_the_choice_of_three_types_once_a_lieu_exists(
    browser: Browser,
) -> None:
    browser.sign_in("choix@example.org")

    # Given a mediator who has not declared a lieu yet, every way in leads to onboarding.
    for page in (
        browser.get("/activites/nouvelle"),
        browser.get("/activites/nouvelle/individuel"),
        browser.post("/activites/nouvelle/individuel", {"duree": "30"}),
    ):
        assert page.status == 303 and page.location.endswith("/bienvenue"), page.url
    browser.onboard()

    choice = browser.get("/activites/nouvelle")

    assert choice.status == 200 and choice.h1 == "Enregistrer une activité"
    links = re.findall(r'<a href="(/activites/nouvelle/[a-z]+)">([^<]+)</a>', choice.text)
    assert [(href, html.unescape(label)) for href, label in links] == [
        (f"/activites/nouvelle/{slug}", label) for slug, label in TYPE_LABELS.items()
    ]
    for slug, label in TYPE_LABELS.items():
        form = browser.get(f"/activites/nouvelle/{slug}")
        assert (form.status, form.h1) == (200, label)
    assert browser.get("/activites/nouvelle/zzz").status == 404
    assert _stored(browser) == []


# --- recording the three types ---------------------------------------------------------------------


def test_three_activities_recorded_through_the_forms_are_listed_newest_first(
    browser: Browser,
) -> None:
    _ready(browser, "trois@example.org")
    lieu_id = _lieu_id(browser)

    # The usual case is a few taps: today and the only lieu are already chosen.
    individuel = browser.get("/activites/nouvelle/individuel")
    assert _value(individuel, "date") == _today().isoformat()
    assert (_value(individuel, "canal"), _value(individuel, "lieu_id")) == (
        "lieu_activite",
        lieu_id,
    )
    posts = [
        _submit(browser, individuel, duree="45", thematiques=["email", "bureautique"]),
        _submit(
            browser,
            browser.get("/activites/nouvelle/demarche"),
            canal="a_distance",
            duree="autre",
            duree_heures="1",
            duree_minutes="10",
            thematiques_demarche=["logement"],
            nom_demarche="Demande d'APL",
        ),
        _submit(
            browser,
            browser.get("/activites/nouvelle/collectif"),
            duree="120",
            thematiques=["email"],
            titre_atelier="Créer son adresse e-mail",
            participants_anonymes_total="8",
            participants_anonymes_genres_feminin="5",
            participants_anonymes_tranches_age_60_69="3",
        ),
    ]

    assert [(page.status, page.location) for page in posts] == [(303, SAVED)] * 3
    listing = browser.follow(posts[-1])
    assert "L'activité a été enregistrée." in listing.plain
    cards = _cards(listing)
    kinds = ("collectif", "demarche", "individuel")
    assert len(cards) == 3
    for (_, text), kind in zip(cards, kinds, strict=True):
        assert text.startswith(TYPE_LABELS[kind]), text
    collectif, demarche, individuel_card = (text for _, text in cards)
    assert " · 2 h · " in collectif and LIEU in collectif and "8 participants" in collectif
    assert "Créer son adresse e-mail" in collectif
    assert " · 1 h 10 · À distance" in demarche and "Demande d'APL" in demarche
    assert " · 45 min · " in individuel_card and LIEU in individuel_card
    assert "participant" not in individuel_card

    stored = _stored(browser)
    assert [a["id"] for a in stored] == [card_id for card_id, _ in cards]
    atelier = stored[0]
    assert atelier["participants"] == 8
    assert atelier["participants_anonymes"] == {
        "total": 8,
        "deja_accompagnes": 0,
        "genres": {"feminin": 5},
        "tranches_age": {"60_69": 3},
        "statuts": {},
    }
    assert (stored[1]["duree"], stored[1]["canal"], stored[1]["lieu_id"]) == (
        70,
        "a_distance",
        None,
    )
    assert stored[2]["thematiques"] == ["email", "bureautique"]

    # An older activity does not push the latest ones off the dashboard.
    _create(browser, date=(_today() - timedelta(days=3)).isoformat())
    accueil = browser.get("/")
    assert _ids(accueil) == [card_id for card_id, _ in cards]
    assert 'href="/activites">Voir toutes mes activités' in accueil.text


def test_an_invalid_form_comes_back_with_everything_typed_then_saves_once_fixed(
    browser: Browser,
) -> None:
    _ready(browser, "erreurs@example.org")
    form = browser.get("/activites/nouvelle/individuel")
    futur = (_today() + timedelta(days=3)).isoformat()
    notes = "Création d'un compte Ameli.\r\nÀ revoir la semaine prochaine."

    page = _submit(
        browser,
        form,
        date=futur,
        canal=None,
        thematiques=None,
        duree="autre",
        duree_heures="1",
        duree_minutes="10",
        materiel=["ordinateur", "telephone"],
        notes=notes,
        anonyme_genre="feminin",
    )

    assert page.status == 400
    assert page.title.startswith("Erreur : ")
    assert "Le formulaire contient 3 erreurs" in page.plain
    for anchor in ("date", "canal", "thematiques"):
        assert f'<a href="#{anchor}">' in page.text, anchor
        assert f'id="{anchor}"' in page.text, anchor
    assert sorted(page.field_errors()) == sorted(
        [rules.DATE_FUTURE, rules.CANAL_REQUIS, rules.THEMATIQUES_REQUISES]
    )
    assert "Canal : Indiquez où s'est déroulée l'activité." in page.plain
    kept = {
        name: _value(page, name)
        for name in ("date", "duree", "duree_heures", "duree_minutes", "materiel", "anonyme_genre")
    }
    assert kept == {
        "date": futur,
        "duree": "autre",
        "duree_heures": "1",
        "duree_minutes": "10",
        "materiel": ["ordinateur", "telephone"],
        "anonyme_genre": "feminin",
    }
    assert str(_value(page, "notes")).replace("\r\n", "\n") == notes.replace("\r\n", "\n")
    assert _stored(browser) == []

    fixed = _submit(
        browser,
        page,
        date=_today().isoformat(),
        canal="lieu_activite",
        thematiques=["email"],
    )

    assert (fixed.status, fixed.location) == (303, SAVED)
    (stored,) = _stored(browser)
    assert (stored["duree"], stored["materiel"], stored["notes"]) == (
        70,
        ["ordinateur", "telephone"],
        "Création d'un compte Ameli.\nÀ revoir la semaine prochaine.",
    )
    assert stored["anonyme"]["genre"] == "feminin"


def test_notes_that_look_sensitive_are_saved_only_once_confirmed(browser: Browser) -> None:
    _ready(browser, "notes@example.org")
    notes = "Compte Ameli créé, mdp : Soleil2024"

    warned = _submit(
        browser,
        browser.get("/activites/nouvelle/individuel"),
        duree="30",
        thematiques=["email"],
        notes=notes,
    )

    assert warned.status == 400
    expected = notes_rule.message_notes_sensibles([notes_rule.SENSIBLE_MOT_DE_PASSE])
    assert warned.field_errors() == [expected]
    assert "semblent contenir des données sensibles (un mot de passe)" in warned.plain
    assert 'type="checkbox" id="confirmer_notes" name="confirmer_notes" value="1"' in warned.text
    assert _value(warned, "confirmer_notes") is None  # never ticked for the mediator
    assert _value(warned, "notes") == notes
    assert _stored(browser) == []

    confirmed = _submit(browser, warned, confirmer_notes="1")

    assert (confirmed.status, confirmed.location) == (303, SAVED)
    (stored,) = _stored(browser)
    assert (stored["notes"], stored["confirmer_notes"]) == (notes, True)


def test_a_form_posted_twice_records_one_activity(browser: Browser) -> None:
    _ready(browser, "double@example.org")
    form = browser.get("/activites/nouvelle/individuel")

    first = _submit(browser, form, duree="30", thematiques=["email"])
    again = _submit(browser, form, duree="30", thematiques=["email"])  # double tap, a retry

    assert [(p.status, p.location) for p in (first, again)] == [(303, SAVED)] * 2
    assert len(_stored(browser)) == 1
    # A new form is a new activity, even with the same values.
    other = browser.get("/activites/nouvelle/individuel")
    assert _value(other, "jeton") != _value(form, "jeton")
    assert _submit(browser, other, duree="30", thematiques=["email"]).status == 303
    assert len(_stored(browser)) == 2


# --- modifying -----------------------------------------------------------------------------------


def test_a_modified_duration_is_shown_on_the_detail(browser: Browser) -> None:
    _ready(browser, "modifier@example.org")
    created = _create(browser, duree=30, notes="Première prise en main")

    form = browser.get(f"/activites/{created['id']}/modifier")
    assert form.status == 200 and form.h1 == TYPE_LABELS["individuel"]
    assert "Modifier une activité" in form.plain
    assert (_value(form, "version"), _value(form, "duree")) == ("1", "30")
    assert _value(form, "notes") == "Première prise en main"

    saved = _submit(browser, form, duree="90")

    assert saved.status == 303
    assert saved.location == f"/activites/{created['id']}?message=activite_modifiee"
    detail = browser.follow(saved)
    assert "L'activité a été modifiée." in detail.plain
    rows = _detail(detail)
    assert (rows["Durée"], rows["Lieu d'activité"], rows["Notes"]) == (
        "1 h 30",
        LIEU,
        "Première prise en main",
    )
    assert "Modifiée le" in rows
    stored = browser.api("GET", f"/api/activites/{created['id']}").json()
    assert (stored["duree"], stored["version"], stored["cree_le"]) == (
        90,
        2,
        created["cree_le"],
    )


def test_two_devices_editing_the_same_activity_do_not_overwrite_each_other(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    phone = _ready(browser, "deux.appareils@example.org")
    created = _create(phone, duree=30)
    tablet = new_browser()
    tablet.sign_in("deux.appareils@example.org")
    on_phone = phone.get(f"/activites/{created['id']}/modifier")
    on_tablet = tablet.get(f"/activites/{created['id']}/modifier")
    assert _value(on_phone, "version") == _value(on_tablet, "version") == "1"

    assert _submit(phone, on_phone, duree="60").status == 303
    conflict = _submit(tablet, on_tablet, duree="120", notes="Vu avec sa fille")

    assert conflict.status == 409
    assert CONFLICT in conflict.plain and "Vos saisies sont conservées" in conflict.plain
    assert (_value(conflict, "duree"), _value(conflict, "notes")) == ("120", "Vu avec sa fille")
    assert _value(conflict, "version") == "2"
    assert phone.api("GET", f"/api/activites/{created['id']}").json()["duree"] == 60

    resubmitted = _submit(tablet, conflict)

    assert resubmitted.status == 303
    stored = phone.api("GET", f"/api/activites/{created['id']}").json()
    assert (stored["duree"], stored["notes"], stored["version"]) == (120, "Vu avec sa fille", 3)


# --- duplicating ---------------------------------------------------------------------------------


def test_duplicating_pre_fills_a_new_form_dated_today_and_keeps_the_source(
    browser: Browser,
) -> None:
    _ready(browser, "dupliquer@example.org")
    source = _create(
        browser,
        type="demarche",
        date=(_today() - timedelta(days=12)).isoformat(),
        duree=45,
        materiel=["telephone"],
        thematiques=[],
        thematiques_demarche=["logement", "argent_impots"],
        nom_demarche="Déclaration de revenus",
        autonomie="partiellement_autonome",
        notes="Rendez-vous pris aux impôts",
    )

    form = browser.get(f"/activites/{source['id']}/dupliquer")

    assert form.status == 200 and form.h1 == TYPE_LABELS["demarche"]
    assert "Dupliquer une activité" in form.plain
    assert _form(form).action == "/activites/nouvelle/demarche"
    assert _value(form, "version") is None
    prefilled = {
        name: _value(form, name)
        for name in (
            "date",
            "duree",
            "canal",
            "lieu_id",
            "materiel",
            "thematiques_demarche",
            "nom_demarche",
            "autonomie",
            "notes",
        )
    }
    assert prefilled == {
        "date": _today().isoformat(),
        "duree": "45",
        "canal": "lieu_activite",
        "lieu_id": source["lieu_id"],
        "materiel": "telephone",
        "thematiques_demarche": ["logement", "argent_impots"],
        "nom_demarche": "Déclaration de revenus",
        "autonomie": "partiellement_autonome",
        "notes": "Rendez-vous pris aux impôts",
    }

    saved = _submit(browser, form)

    assert (saved.status, saved.location) == (303, SAVED)
    copy, original = _stored(browser)
    assert original == source
    assert copy["id"] != source["id"] and copy["date"] == _today().isoformat()
    same = ("type", "duree", "materiel", "thematiques_demarche", "nom_demarche", "autonomie")
    assert {k: copy[k] for k in same} == {k: source[k] for k in same}


# --- deleting ------------------------------------------------------------------------------------


def test_deleting_asks_first_then_removes_the_activity_everywhere(browser: Browser) -> None:
    _ready(browser, "supprimer@example.org")
    kept = _create(browser, duree=15)
    doomed = _create(browser, duree=45)

    confirmation = browser.get(f"/activites/{doomed['id']}/supprimer")

    assert confirmation.status == 200 and confirmation.h1 == "Supprimer cette activité ?"
    assert "45 min" in confirmation.plain
    assert {a["id"] for a in _stored(browser)} == {kept["id"], doomed["id"]}

    deleted = browser.post(f"/activites/{doomed['id']}/supprimer", {})

    assert (deleted.status, deleted.location) == (303, "/activites?message=activite_supprimee")
    listing = browser.follow(deleted)
    assert "L'activité a été supprimée." in listing.plain
    assert _ids(listing) == [kept["id"]]
    assert browser.get(f"/activites/{doomed['id']}").status == 404
    assert browser.api("GET", f"/api/activites/{doomed['id']}").status == 404
    # Posting again (double tap) deletes nothing else and does not crash.
    again = browser.post(f"/activites/{doomed['id']}/supprimer", {})
    assert again.status in (303, 404)
    assert [a["id"] for a in _stored(browser)] == [kept["id"]]
    assert _ids(browser.get("/")) == [kept["id"]]


# --- ownership -------------------------------------------------------------------------------------


def test_another_mediator_cannot_reach_an_activity_in_any_way(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "alice.activites@example.org")
    activite = _create(alice, notes="Secret d'Alice")
    bob = _ready(new_browser(), "bob.activites@example.org")
    bob_lieu = _lieu_id(bob)
    change = {"duree": "120", "canal": "lieu_activite", "lieu_id": bob_lieu, "version": "1"}
    change |= {"date": _today().isoformat(), "thematiques": "email", "jeton": "j"}
    base = f"/activites/{activite['id']}"

    answers = {
        "GET detail": bob.get(base),
        "GET modifier": bob.get(f"{base}/modifier"),
        "POST modifier": bob.post(f"{base}/modifier", change),
        "GET dupliquer": bob.get(f"{base}/dupliquer"),
        "GET supprimer": bob.get(f"{base}/supprimer"),
        "POST supprimer": bob.post(f"{base}/supprimer", {}),
    }

    assert {name: page.status for name, page in answers.items()} == dict.fromkeys(answers, 404)
    assert "Secret d'Alice" not in "".join(page.plain for page in answers.values())
    assert alice.api("GET", f"/api/activites/{activite['id']}").json() == activite
    assert _ids(bob.get("/activites")) == [] and _stored(bob) == []


GARBAGE_IDS = [
    "..%2F",
    "%00",
    "%27%22%3E",
    "a" * 5000,
    "x" * 41,
    "AAAAAAAAAAAAAAAAAAAAAAAAAA",
    "0000000000zzzzzzzzzzzzzzzz",  # well-formed, but nobody's
]


def test_garbage_or_unknown_activity_ids_are_not_found_rather_than_crashing(
    browser: Browser,
) -> None:
    _ready(browser, "garbage.activites@example.org")
    form = {"duree": "30", "version": "1"}

    statuses = {}
    for activite_id in GARBAGE_IDS:
        base, short = f"/activites/{activite_id}", activite_id[:12]
        for suffix in ("", "/modifier", "/dupliquer", "/supprimer"):
            statuses[f"GET {suffix} {short}"] = browser.get(base + suffix).status
        for suffix in ("/modifier", "/supprimer"):
            statuses[f"POST {suffix} {short}"] = browser.post(base + suffix, form).status

    assert statuses == dict.fromkeys(statuses, 404)


# --- the list --------------------------------------------------------------------------------------


def test_the_list_filters_come_from_the_url(browser: Browser) -> None:
    _ready(browser, "filtres@example.org")
    autre_lieu = _add_lieu(browser, "Maison France Services")
    today = _today()

    def days_ago(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    a = _create(browser, date=days_ago(3), thematiques=["email"])
    b = _create(
        browser,
        type="demarche",
        date=days_ago(10),
        canal="a_distance",
        thematiques=[],
        thematiques_demarche=["logement"],
    )
    c = _create(
        browser,
        type="collectif",
        date=days_ago(20),
        lieu_id=autre_lieu,
        thematiques=["bureautique"],
        participants_anonymes={"total": 3},
    )
    d = _create(
        browser,
        date=days_ago(40),
        canal="domicile",
        commune_insee="69383",
        thematiques=["sante"],
    )
    expected = {
        "": [a, b, c, d],
        "type=demarche": [b],
        "canal=lieu_activite": [a, c],
        f"lieu={autre_lieu}": [c],
        f"du={days_ago(15)}": [a, b],
        f"au={days_ago(15)}": [c, d],
        f"du={days_ago(25)}&au={days_ago(5)}": [b, c],
        "thematique=email": [a],
        "thematique=logement": [b],
        "type=individuel&canal=domicile": [d],
        "type=collectif&canal=a_distance": [],
    }

    found = {query: _ids(browser.get(f"/activites?{query}")) for query in expected}

    assert found == {query: [x["id"] for x in items] for query, items in expected.items()}
    empty = browser.get("/activites?type=collectif&canal=a_distance")
    assert "Aucune activité ne correspond à ces filtres." in empty.plain
    filtered = browser.get(f"/activites?lieu={autre_lieu}")
    assert f'<option value="{autre_lieu}" selected>' in filtered.text


def test_an_invalid_date_filter_is_explained_not_a_crash(browser: Browser) -> None:
    _ready(browser, "filtre.invalide@example.org")
    activite = _create(browser)

    cases = {
        "du=2024-13-01": ["Saisissez une date valide, par exemple 31/01/2025."],
        "au=demain": ["Saisissez une date valide, par exemple 31/01/2025."],
        "du=2025-03-01&au=2025-02-01": ["La date de fin doit être après la date de début."],
    }

    for query, errors in cases.items():
        page = browser.get(f"/activites?{query}")
        assert page.status == 400, query
        assert page.field_errors() == errors, query
    # Unknown values of the other filters are explained too, never silently left out (the
    # export link would widen to everything); a garbage cursor starts over.
    strict = browser.get("/activites?type=zzz&canal=%00&lieu=ailleurs&thematique=x&apres=%%")
    assert strict.status == 400 and _ids(strict) == []
    assert strict.field_errors() == ["Choisissez une valeur dans la liste."] * 4
    # A date as typed where the browser shows a plain text box is a date.
    french = browser.get("/activites?du=01/01/2020&apres=%%")
    assert french.status == 200 and _ids(french) == [activite["id"]]


def test_twenty_five_activities_are_shown_twenty_then_five(browser: Browser) -> None:
    _ready(browser, "pages@example.org")
    created = [
        _create(browser, date=(_today() - timedelta(days=n)).isoformat(), duree=15 + n)
        for n in range(25)
    ]

    first = browser.get("/activites")

    assert len(_cards(first)) == 20
    assert "Les plus récentes" not in first.plain
    older = re.search(r'href="([^"]+)">Activités plus anciennes', first.text)
    assert older, first.text
    second = browser.get(html.unescape(older.group(1)))
    assert len(_cards(second)) == 5
    assert "Activités plus anciennes" not in second.plain
    assert _ids(first) + _ids(second) == [a["id"] for a in created]
    back = re.search(r'href="([^"]+)">Les plus récentes', second.text)
    assert back and _ids(browser.get(html.unescape(back.group(1)))) == _ids(first)
    # The filters stay on while paging.
    filtered = browser.get("/activites?type=individuel&canal=lieu_activite")
    older = re.search(r'href="([^"]+)">Activités plus anciennes', filtered.text)
    assert older and "type=individuel&amp;canal=lieu_activite&amp;apres=" in older.group(1)


# --- archived lieux ----------------------------------------------------------------------------------


def test_an_archived_lieu_stays_on_its_activities_but_is_not_offered_anymore(
    browser: Browser,
) -> None:
    _ready(browser, "archive.activites@example.org")
    ancien = _add_lieu(browser, "Ancienne permanence")
    activite = _create(browser, lieu_id=ancien, duree=30)
    archived = browser.post(f"/lieux/{ancien}/archiver", {"archive": "1", "version": "1"})
    assert archived.status in (302, 303)

    # Editing the old activity keeps its lieu.
    form = browser.get(f"/activites/{activite['id']}/modifier")
    assert _value(form, "lieu_id") == ancien
    saved = _submit(browser, form, duree="60")
    assert saved.status == 303, saved.field_errors()
    rows = _detail(browser.follow(saved))
    assert (rows["Durée"], rows["Lieu d'activité"]) == ("1 h", "Ancienne permanence")

    # A new activity cannot use it.
    new_form = browser.get("/activites/nouvelle/individuel")
    assert f'value="{ancien}"' not in new_form.text
    refused = _submit(
        browser, new_form, canal="lieu_activite", lieu_id=ancien, thematiques=["email"]
    )
    assert refused.status == 400
    assert refused.field_errors() == [rules.LIEU_INCONNU]
    assert [a["id"] for a in _stored(browser)] == [activite["id"]]
