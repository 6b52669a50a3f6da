"""Mes bénéficiaires without JavaScript: create (and come back to an activity), find by search,
list sorted and paginated, the profile (history, thématiques, autonomy chart), modify with
conflicts, delete (pseudonymise), and nobody else ever reaching a person.

Forms are submitted the way a browser would: the controls of the page as rendered, changed only
where the mediator would change them. Set-up goes through the JSON API (fast).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

from chalicelib.domain import beneficiaires as rules
from tests.conftest import Browser, Page

ID = r"[0-9a-z]{26}"
NOTICE = (
    "Informez la personne : ses données sont enregistrées par votre structure pour assurer son"
    " suivi. Elle peut demander à les consulter, les corriger ou les supprimer à tout moment."
)
CONFLICT = "Ce bénéficiaire a été modifié entre-temps sur un autre appareil."


# --- a browser's view of the pages -------------------------------------------------------------------


class _Form(HTMLParser):
    """The beneficiary form as a browser submits it: its action and its successful controls."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = ""
        self.fields: dict[str, list[str]] = {}
        self.inputs: dict[str, dict[str, str]] = {}  # attributes of each named input, by id
        self._inside = False
        self._textarea: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and "coop-beneficiaire" in values.get("class", ""):
            self._inside, self.action = True, values.get("action", "")
        if not self._inside or not values.get("name"):
            return
        name, kind = values["name"], values.get("type", "text")
        if tag == "input":
            self.inputs[values.get("id", name)] = values
        if tag == "input" and kind in ("radio", "checkbox"):
            if "checked" in values:
                self.fields.setdefault(name, []).append(values.get("value", "on"))
        elif tag == "input":
            self.fields.setdefault(name, []).append(values.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "textarea":
            self._textarea = None


def _form(page: Page) -> _Form:
    form = _Form(page.text)
    assert form.action, "no beneficiary form on this page"
    return form


def _value(page: Page, name: str) -> str | None:
    values = _form(page).fields.get(name)
    return values[0].replace("\r\n", "\n") if values else None


def _submit(browser: Browser, page: Page, **changes: str | None) -> Page:
    """Post the page's form with what the mediator changed (None: emptied / unticked)."""
    form = _form(page)
    fields: dict[str, Any] = {name: values for name, values in form.fields.items()}
    for name, value in changes.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return browser.post(form.action, fields)


def _rows(page: Page) -> list[tuple[str, list[str]]]:
    """(id, cell texts) of each row of the beneficiaries table, in page order."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page.text, re.S):
        found = re.search(rf'href="/beneficiaires/({ID})"', row)
        if found:
            cells = [_plain(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            rows.append((found.group(1), cells))
    return rows


def _plain(fragment: str) -> str:
    without_sr = re.sub(r'<span class="fr-sr-only">.*?</span>', "", fragment, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_sr))).strip()


def _details(page: Page) -> dict[str, str]:
    rows = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text, re.S)
    return {html.unescape(k): html.unescape(v.strip()) for k, v in rows}


def _names(page: Page) -> list[str]:
    return [f"{cells[1]} {cells[0]}" for _, cells in _rows(page)]


def _section(page: Page, heading_id: str) -> str:
    match = re.search(rf'aria-labelledby="{heading_id}">(.*?)</section>', page.text, re.S)
    assert match, heading_id
    return match.group(1)


def _today() -> date:
    from chalicelib import bootstrap

    return bootstrap.get().calendar.today()


# --- set-up through the API ----------------------------------------------------------------------------


def _ready(browser: Browser, email: str) -> Browser:
    browser.sign_in(email)
    browser.onboard()
    return browser


def _person(browser: Browser, prenom: str, nom: str, **fields: Any) -> dict[str, Any]:
    page = browser.api("POST", "/api/beneficiaires", {"prenom": prenom, "nom": nom, **fields})
    assert page.status == 201, page.text
    return dict(page.json())


def _activity(browser: Browser, beneficiaire_id: str, **fields: Any) -> dict[str, Any]:
    lieu_id = browser.api("GET", "/api/lieux").json()["items"][0]["id"]
    payload = {
        "type": "individuel",
        "date": _today().isoformat(),
        "duree": 30,
        "canal": "lieu_activite",
        "lieu_id": lieu_id,
        "thematiques": ["email"],
        "beneficiaire_id": beneficiaire_id,
        **fields,
    }
    page = browser.api("POST", "/api/activites", payload)
    assert page.status == 201, page.text
    return dict(page.json())


def _search(browser: Browser, q: str) -> list[str]:
    from urllib.parse import quote

    return _names(browser.get(f"/beneficiaires?q={quote(q)}"))


def _stored(mediateur_id: str, beneficiaire_id: str) -> Any:
    """The person as the database holds it, deleted or not (the pages never show that)."""
    from chalicelib import bootstrap

    return bootstrap.get().beneficiary_store.get(mediateur_id, beneficiaire_id)


# --- creating and finding ----------------------------------------------------------------------------


def test_given_the_form_when_a_person_is_created_then_the_profile_list_and_search_show_them(
    browser: Browser,
) -> None:
    _ready(browser, "creer.beneficiaire@example.org")
    form = browser.get("/beneficiaires/nouveau")

    assert form.status == 200 and form.h1 == "Créer un bénéficiaire"
    assert NOTICE in form.plain and "fr-callout" in form.text
    assert "novalidate" in form.text
    inputs = _form(form).inputs
    assert inputs["telephone"]["type"] == "tel" and inputs["telephone"]["autocomplete"] == "off"
    assert inputs["email"]["type"] == "email" and inputs["email"]["autocomplete"] == "off"
    assert inputs["annee_naissance"]["inputmode"] == "numeric"
    assert 'name="commune_insee_q"' in form.text and 'for="pas_de_telephone"' in form.text
    assert "Calculée automatiquement si l'année de naissance est renseignée" in form.plain
    born = _today().year - 30

    created = _submit(
        browser,
        form,
        prenom="  Hélène ",
        nom="Dupont",
        annee_naissance=str(born),
        telephone="06.12.34.56.78",
        email="Helene.Dupont@Example.org",
        commune_insee_q="69383",
        genre="feminin",
        tranche_age="70_plus",  # a stale band: the year decides
        statut="en_emploi",
        notes="Vient le mardi.",
    )

    assert created.status == 303
    assert re.fullmatch(rf"/beneficiaires/{ID}\?message=beneficiaire_cree", created.location)
    profile = browser.follow(created)
    assert profile.h1 == "Hélène Dupont" and profile.title.startswith("Hélène Dupont")
    assert "Le bénéficiaire a été créé." in profile.plain
    assert _details(profile) | {"Créé le": ""} == {
        "Prénom": "Hélène",
        "Nom": "Dupont",
        "Année de naissance": str(born),
        "Téléphone": "06 12 34 56 78",
        "E-mail": "helene.dupont@example.org",
        "Commune de résidence": "Lyon 3e Arrondissement (69003)",
        "Genre": "Femme",
        "Tranche d'âge": "25 - 39 ans",
        "Statut": "En emploi",
        "Nombre d'accompagnements": "0",
        "Créé le": "",
    }
    assert "Vient le mardi." in profile.plain
    assert "Pas encore de données" in profile.plain and "<svg" not in profile.text

    _person(browser, "Hélèna", "Dupontel")
    _person(browser, "Marc", "Durand", telephone="0798765432", email="marc@exemple.fr")
    listing = browser.get("/beneficiaires")
    assert listing.h1 == "Mes bénéficiaires"
    assert [cells for _, cells in _rows(listing)] == [
        ["Dupont", "Hélène", str(born), "0"],
        ["Dupontel", "Hélèna", "—", "0"],
        ["Durand", "Marc", "—", "0"],
    ]
    assert 'href="/beneficiaires/nouveau"' in listing.text
    assert 'href="/exports?kind=beneficiaires"' in listing.text
    assert "Rechercher un bénéficiaire" in listing.plain
    assert "Prénom, nom, commune, e-mail ou téléphone" in listing.plain
    # Every typed word starts a word, whatever the case and accents; the exact name comes first.
    assert _search(browser, "helene dup") == ["Hélène Dupont"]
    assert _search(browser, "DUPONT") == ["Hélène Dupont", "Hélèna Dupontel"]
    assert _search(browser, "hélèn") == ["Hélène Dupont", "Hélèna Dupontel"]
    assert _search(browser, "0612") == ["Hélène Dupont"]
    assert _search(browser, "06 12 34") == ["Hélène Dupont"]
    assert _search(browser, "lyon") == ["Hélène Dupont"]
    assert _search(browser, "marc@exemple") == ["Marc Durand"]
    assert _search(browser, "pont") == []
    found = browser.get("/beneficiaires?q=helene+dup")
    assert "1 bénéficiaire correspond à « helene dup »." in found.plain
    assert found.title.startswith("Recherche « helene dup »")
    assert 'href="/exports?kind=beneficiaires&amp;q=helene+dup"' in found.text
    assert (
        "Aucun bénéficiaire ne correspond à « zzz »." in browser.get("/beneficiaires?q=zzz").plain
    )


def test_given_mistakes_when_the_form_is_sent_then_it_comes_back_with_every_value_and_linked_errors(
    browser: Browser,
) -> None:
    _ready(browser, "erreurs.beneficiaire@example.org")
    form = browser.get("/beneficiaires/nouveau")
    typed = {
        "prenom": "Jean",
        "nom": "",
        "annee_naissance": "19x5",
        "telephone": "12 34",
        "email": "jean@",
        "commune_insee_q": "Zzzyxville",
        "genre": "masculin",
        "statut": "retraite",
        "notes": "Deux lignes.\r\nLa seconde.",
    }

    page = _submit(browser, form, **typed)

    assert page.status == 400
    assert page.title.startswith("Erreur : Créer un bénéficiaire")
    assert "Le formulaire contient 5 erreurs" in page.plain
    summary = re.findall(r'<li><a href="#(\w+)">', page.text)
    assert summary == ["nom", "annee_naissance", "telephone", "email", "commune_insee"]
    for anchor in summary:
        assert f'id="{anchor}"' in page.text, anchor
    assert sorted(page.field_errors()) == sorted(
        [
            rules.NOM_REQUIS,
            "Saisissez l'année de naissance en chiffres, par exemple 1975.",
            rules.TELEPHONE_INVALIDE,
            rules.EMAIL_INVALIDE,
            "Aucune commune ne correspond à « Zzzyxville ».",
        ]
    )
    assert 'aria-invalid="true"' in page.text and 'aria-describedby="nom-erreur"' in page.text
    kept = {name: _value(page, name) for name in typed}
    assert kept == {**typed, "notes": "Deux lignes.\nLa seconde."}
    assert NOTICE in page.plain
    assert browser.api("GET", "/api/beneficiaires").json()["items"] == []

    fixed = _submit(
        browser,
        page,
        nom="Martin",
        annee_naissance="1950",
        telephone="+33 (0)6 12 34 56 78",
        email="jean@exemple.fr",
        commune_insee_q="",
    )

    assert fixed.status == 303, fixed.field_errors()
    (stored,) = browser.api("GET", "/api/beneficiaires").json()["items"]
    assert {k: stored[k] for k in ("nom", "telephone", "tranche_age", "genre", "notes")} == {
        "nom": "Martin",
        "telephone": "+33612345678",
        "tranche_age": "70_plus",
        "genre": "masculin",
        "notes": "Deux lignes.\nLa seconde.",
    }


def test_given_notes_that_look_sensitive_when_saving_then_the_mediator_must_confirm(
    browser: Browser,
) -> None:
    _ready(browser, "notes.beneficiaire@example.org")
    form = browser.get("/beneficiaires/nouveau")

    warned = _submit(
        browser, form, prenom="Paul", nom="Léger", notes="mdp : Soleil2024", pas_de_telephone="1"
    )

    assert warned.status == 400
    assert 'id="notes-alerte"' in warned.text and 'name="confirmer_notes"' in warned.text
    assert "un mot de passe" in warned.plain
    assert _value(warned, "notes") == "mdp : Soleil2024"
    assert _value(warned, "pas_de_telephone") == "1"
    assert browser.api("GET", "/api/beneficiaires").json()["items"] == []

    saved = _submit(browser, warned, confirmer_notes="1")

    assert saved.status == 303
    (stored,) = browser.api("GET", "/api/beneficiaires").json()["items"]
    assert (stored["notes"], stored["pas_de_telephone"]) == ("mdp : Soleil2024", True)
    assert "N'a pas de téléphone" in browser.follow(saved).plain


def test_given_an_activity_form_when_it_sends_the_mediator_to_create_someone_then_it_gets_them_back(
    browser: Browser,
) -> None:
    _ready(browser, "depuis.activite@example.org")
    form = browser.get("/beneficiaires/nouveau?depuis=activite")
    assert _value(form, "depuis") == "activite"
    assert 'href="/activites/reprendre"' in form.text  # "Annuler" goes back to the activity

    invalid = _submit(browser, form, prenom="Zoé")
    assert invalid.status == 400 and _value(invalid, "depuis") == "activite"

    created = _submit(browser, invalid, nom="Lambert")

    assert created.status == 303
    match = re.fullmatch(rf"/activites/reprendre\?beneficiaire=({ID})", created.location)
    assert match, created.location
    assert browser.api("GET", f"/api/beneficiaires/{match.group(1)}").json()["nom"] == "Lambert"
    # Anything else in `depuis` is ignored: the usual profile.
    other = _submit(
        browser, browser.get("/beneficiaires/nouveau?depuis=ailleurs"), prenom="A", nom="B"
    )
    assert other.location.startswith("/beneficiaires/")


# --- modifying -----------------------------------------------------------------------------------------


def test_given_two_devices_when_both_modify_a_person_then_the_second_is_told_and_keeps_its_values(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    _ready(browser, "modifier.beneficiaire@example.org")
    person = _person(
        browser, "Lucie", "Bernard", telephone="0690123456", annee_naissance=1980, genre="feminin"
    )
    phone = browser
    laptop = new_browser()
    laptop.sign_in("modifier.beneficiaire@example.org")
    on_phone = phone.get(f"/beneficiaires/{person['id']}/modifier")
    on_laptop = laptop.get(f"/beneficiaires/{person['id']}/modifier")

    assert on_phone.h1 == "Lucie Bernard" and on_phone.title.startswith("Modifier Lucie Bernard")
    assert {n: _value(on_phone, n) for n in ("prenom", "telephone", "version", "genre")} == {
        "prenom": "Lucie",
        "telephone": "0690 12 34 56",  # as people read it, stored as +590690123456
        "version": "1",
        "genre": "feminin",
    }
    assert NOTICE not in on_phone.plain

    first = _submit(phone, on_phone, statut="sans_emploi")
    assert (first.status, first.location) == (
        303,
        f"/beneficiaires/{person['id']}?message=beneficiaire_modifie",
    )
    assert "Le bénéficiaire a été modifié." in phone.follow(first).plain

    second = _submit(laptop, on_laptop, nom="Bernard-Petit")

    assert second.status == 409
    assert CONFLICT in second.plain
    assert _value(second, "nom") == "Bernard-Petit" and _value(second, "version") == "2"
    assert browser.api("GET", f"/api/beneficiaires/{person['id']}").json()["nom"] == "Bernard"

    again = _submit(laptop, second)

    assert again.status == 303
    stored = browser.api("GET", f"/api/beneficiaires/{person['id']}").json()
    assert (stored["nom"], stored["version"], stored["cree_le"]) == (
        "Bernard-Petit",
        3,
        person["cree_le"],
    )
    assert _search(browser, "bernard-petit") == ["Lucie Bernard-Petit"]
    assert _search(browser, "petit") == ["Lucie Bernard-Petit"]


# --- the profile ---------------------------------------------------------------------------------------


def test_given_two_activities_when_opening_the_profile_then_history_thematiques_and_autonomy_show(
    browser: Browser,
) -> None:
    _ready(browser, "profil.beneficiaire@example.org")
    person = _person(browser, "Nadia", "Benali")
    old_day, new_day = _today() - timedelta(days=40), _today() - timedelta(days=2)
    old = _activity(
        browser,
        person["id"],
        date=old_day.isoformat(),
        thematiques=["email", "bureautique"],
        autonomie="entierement_accompagne",
        duree=45,
    )
    new = _activity(
        browser,
        person["id"],
        type="demarche",
        date=new_day.isoformat(),
        thematiques=["email"],
        thematiques_demarche=["logement"],
        autonomie="autonome",
        duree=90,
    )

    profile = browser.get(f"/beneficiaires/{person['id']}")

    assert profile.status == 200
    details = _details(profile)
    assert details["Nombre d'accompagnements"] == "2"
    assert details["Premier accompagnement"].endswith(str(old_day.year))
    assert (details["Premier accompagnement"], details["Dernier accompagnement"]) != ("", "")
    themes = _plain(_section(profile, "partie-thematiques"))
    assert themes.index("E-mail 2 fois") < themes.index("Bureautique 1 fois")
    assert "Logement 1 fois" in themes
    history = _section(profile, "partie-historique")
    assert re.findall(rf'href="/activites/({ID})"', history) == [new["id"], old["id"]]
    assert "Aide aux démarches administratives" in history and "1 h 30" in history
    assert f'href="/activites?beneficiaire={person["id"]}"' in history
    chart = re.search(r"<svg.*?</svg>", profile.text, re.S)
    assert chart, "no autonomy chart"
    svg = ET.fromstring(chart.group(0))  # noqa: S314 - our own markup, under test
    assert svg.get("role") == "img" and svg.get("aria-labelledby")
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}circle")) == 2
    assert "style=" not in chart.group(0)
    table = _plain(_section(profile, "partie-autonomie").split("<table>")[1])
    assert table.index("Fait à la place de la personne") < table.index(
        "Fait par la personne elle-même"
    )
    assert f'href="/activites/nouvelle?beneficiaire={person["id"]}"' in profile.text
    assert browser.api("GET", f"/api/beneficiaires/{person['id']}").json() | {
        "version": 0
    } == person | {
        "nombre_accompagnements": 2,
        "premier_accompagnement": old_day.isoformat(),
        "dernier_accompagnement": new_day.isoformat(),
        "version": 0,
    }


# --- the list --------------------------------------------------------------------------------------------


def test_given_25_people_when_listing_then_pages_of_20_and_every_sort_works(
    browser: Browser,
) -> None:
    _ready(browser, "liste.beneficiaires@example.org")
    people = [
        _person(browser, f"Prénom{25 - i:02d}", f"Nom{i:02d}", annee_naissance=1950 + (i * 7) % 25)
        for i in range(25)
    ]
    busy, busier = people[24], people[3]
    _activity(browser, busy["id"])
    _activity(browser, busier["id"])
    _activity(browser, busier["id"], date=(_today() - timedelta(days=1)).isoformat())

    first = browser.get("/beneficiaires")

    assert [cells[0] for _, cells in _rows(first)] == [f"Nom{i:02d}" for i in range(20)]
    assert 'aria-sort="ascending"' in first.text and 'aria-current="true"' in first.text
    assert re.search(r'<th scope="col" aria-sort="ascending"><a href="/beneficiaires"', first.text)
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following, "no next page link"
    second = browser.get(html.unescape(following.group(1)))
    assert [cells[0] for _, cells in _rows(second)] == [f"Nom{i:02d}" for i in range(20, 25)]
    assert 'rel="next"' not in second.text and "Première page" in second.plain

    by_count = browser.get("/beneficiaires?tri=accompagnements")
    assert [cells[0] for _, cells in _rows(by_count)][:3] == ["Nom03", "Nom24", "Nom00"]
    assert [cells[3] for _, cells in _rows(by_count)][:3] == ["2", "1", "0"]
    assert re.search(
        r'aria-sort="descending"><a href="/beneficiaires\?tri=accompagnements"', by_count.text
    )
    assert "1 / 2" in by_count.plain
    by_count_2 = browser.get("/beneficiaires?tri=accompagnements&page=2")
    assert len(_rows(by_count_2)) == 5 and 'rel="prev"' in by_count_2.text

    by_first_name = _rows(browser.get("/beneficiaires?tri=prenom"))
    assert [cells[1] for _, cells in by_first_name] == [f"Prénom{n:02d}" for n in range(1, 21)]
    by_year = [int(cells[2]) for _, cells in _rows(browser.get("/beneficiaires?tri=annee"))]
    assert by_year == sorted(by_year) and len(by_year) == 20
    # Garbage in the URL falls back to the defaults rather than failing.
    assert len(_rows(browser.get("/beneficiaires?tri=x&page=zz&apres=%%%"))) == 20


# --- deleting and ownership ------------------------------------------------------------------------------


def test_given_a_person_with_an_activity_when_deleted_then_identity_is_gone_and_the_activity_stays(
    browser: Browser,
) -> None:
    _ready(browser, "supprimer.beneficiaire@example.org")
    mediateur_id = browser.api("GET", "/api/moi").json()["id"]
    person = _person(
        browser,
        "Odile",
        "Garnier",
        annee_naissance=1948,
        telephone="0612345678",
        email="odile@exemple.fr",
        commune_insee="69383",
        genre="feminin",
        statut="retraite",
        notes="Préfère le matin.",
    )
    activity = _activity(browser, person["id"])
    base = f"/beneficiaires/{person['id']}"

    confirmation = browser.get(f"{base}/supprimer")

    assert confirmation.status == 200 and confirmation.h1 == "Supprimer Odile Garnier ?"
    assert "effacés pour toujours" in confirmation.plain
    assert "Son accompagnement passé reste enregistré" in confirmation.plain

    deleted = browser.post(f"{base}/supprimer", {})

    assert (deleted.status, deleted.location) == (
        303,
        "/beneficiaires?message=beneficiaire_supprime",
    )
    listing = browser.follow(deleted)
    assert "Le bénéficiaire a été supprimé." in listing.plain and _rows(listing) == []
    stored = _stored(mediateur_id, person["id"])
    assert stored.supprime
    d = stored.data
    assert (d.prenom, d.nom, d.telephone, d.email, d.notes, d.annee_naissance) == (
        "",
        "",
        None,
        None,
        "",
        None,
    )
    assert (d.commune_insee, d.genre, d.tranche_age, d.statut) == (
        "69383",
        "feminin",
        "70_plus",
        "retraite",
    )
    assert stored.nombre_accompagnements == 1
    for q in ("odile", "garnier", "0612", "odile@exemple.fr", "lyon"):
        assert _search(browser, q) == [], q
    statuses = {
        "profil": browser.get(base).status,
        "modifier": browser.get(f"{base}/modifier").status,
        "modifier POST": browser.post(f"{base}/modifier", {"prenom": "O", "nom": "G"}).status,
        "supprimer": browser.get(f"{base}/supprimer").status,
        "supprimer POST": browser.post(f"{base}/supprimer", {}).status,
        "api GET": browser.api("GET", f"/api/beneficiaires/{person['id']}").status,
        "api DELETE": browser.api("DELETE", f"/api/beneficiaires/{person['id']}").status,
    }
    assert statuses == dict.fromkeys(statuses, 404)
    kept = browser.api("GET", f"/api/activites/{activity['id']}")
    assert kept.status == 200 and kept.json()["beneficiaire_id"] == person["id"]


GARBAGE_IDS = [
    "..%2F",
    "%27%22%3E",
    "a" * 300,
    "AAAAAAAAAAAAAAAAAAAAAAAAAA",
    "0000000000zzzzzzzzzzzzzzzz",
]


def test_given_another_mediator_when_they_try_any_way_in_then_nothing_of_the_person_leaks(
    browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    alice = _ready(browser, "alice.beneficiaires@example.org")
    person = _person(alice, "Hélène", "Secret", notes="Note d'Alice", telephone="0611223344")
    bob = _ready(new_browser(), "bob.beneficiaires@example.org")
    _person(bob, "Hélène", "Autre")
    base = f"/beneficiaires/{person['id']}"
    change = {"prenom": "Bob", "nom": "Était là", "version": "1"}

    answers = {
        "GET profil": bob.get(base),
        "GET modifier": bob.get(f"{base}/modifier"),
        "POST modifier": bob.post(f"{base}/modifier", change),
        "GET supprimer": bob.get(f"{base}/supprimer"),
        "POST supprimer": bob.post(f"{base}/supprimer", {}),
    }
    for garbage in GARBAGE_IDS:
        answers[f"GET {garbage[:10]}"] = bob.get(f"/beneficiaires/{garbage}")
        answers[f"POST {garbage[:10]}"] = bob.post(f"/beneficiaires/{garbage}/modifier", change)

    assert {name: page.status for name, page in answers.items()} == dict.fromkeys(answers, 404)
    leaked = "".join(page.plain for page in answers.values())
    assert "Secret" not in leaked and "Note d'Alice" not in leaked
    assert _search(bob, "helene") == ["Hélène Autre"]
    assert _search(bob, "secret") == [] and _search(bob, "0611") == []
    assert _names(bob.get("/beneficiaires")) == ["Hélène Autre"]
    assert alice.api("GET", f"/api/beneficiaires/{person['id']}").json() == person
    assert _search(alice, "helene") == ["Hélène Secret"]
