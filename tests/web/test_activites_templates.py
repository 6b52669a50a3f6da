"""The activity pages as a mediator's phone receives them: the type choice and the one form of the
three types, rendered straight from the templates (no server), checked for what a user — or a
screen reader — would notice: labels, error summary, kept values, warnings."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.domain import vocab
from chalicelib.domain.communes import Commune
from chalicelib.web.activites.form import LABELS
from chalicelib.web.communes_field import CommuneChoice
from chalicelib.web.http import FormData
from chalicelib.web.render import render
from chalicelib.web.static import STATIC_ROOT

TYPES = ("individuel", "collectif", "demarche")
NOTES_HINT = (
    "Ne notez pas de données sensibles : santé, date de naissance, numéro de sécurité sociale, "
    "mots de passe, coordonnées bancaires, opinions…"
)
CONFLICT = (
    "Cette activité a été modifiée entre-temps sur un autre appareil. Vos saisies sont conservées "
    "ci-dessous : vérifiez-les puis enregistrez à nouveau."
)


@pytest.fixture(autouse=True)
def _built_assets() -> None:
    if not (STATIC_ROOT / "manifest.json").exists():
        pytest.skip("static assets missing: run `make assets`")


# --- a tiny DOM, enough to check labels and ids ----------------------------------------------------

VOID = frozenset(("input", "meta", "link", "br", "img", "hr", "source", "wbr", "col", "area"))


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    ancestors: list[Element] = field(default_factory=list)
    has_legend: bool = False
    text: str = ""

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


class Dom(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self._open))
        self.elements.append(element)
        if tag == "legend":
            for ancestor in reversed(self._open):
                if ancestor.tag == "fieldset":
                    ancestor.has_legend = True
                    break
        if tag not in VOID:
            self._open.append(element)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].text += data

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, id_: str) -> Element | None:
        return next((e for e in self.elements if e.get("id") == id_), None)

    def controls(self) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag in ("input", "select", "textarea") and e.get("type") != "hidden"
        ]


# --- rendering -------------------------------------------------------------------------------------


def lieux(n: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(id=f"lieu{i}", nom=f"Lieu n°{i}") for i in range(1, n + 1)]


BENEFICIAIRES = [
    SimpleNamespace(id="ben1", nom_complet="Dupont Jeanne"),
    SimpleNamespace(id="ben2", nom_complet="Martin Ali"),
]
PARTENAIRES = [SimpleNamespace(id="par1", nom="France Services Lyon 3")]
ST_DENIS = [
    Commune("97411", "Saint-Denis", ("97400",), "974"),
    Commune("93066", "Saint-Denis", ("93200",), "93"),
]


def page(type_: str = "individuel", **overrides: Any) -> tuple[str, Dom]:
    context: dict[str, Any] = {
        # What base.html needs.
        "moi": None,
        "profil": None,
        "csrf_token": "t",
        "route": f"/activites/nouvelle/{type_}",
        "flash": None,
        "is_local": False,
        # The form.
        "type": type_,
        "type_label": vocab.TYPES_ACTIVITE.label(type_),
        "mode": "creer",
        "action": f"/activites/nouvelle/{type_}",
        "valeurs": {"date": "2025-03-14"},
        "errors": {},
        "labels": LABELS,
        "lieux": lieux(2),
        "communes": {"commune_insee": CommuneChoice(), "anonyme_commune_insee": CommuneChoice()},
        "beneficiaires": BENEFICIAIRES,
        "partenaires": PARTENAIRES,
        "jeton": "jeton-1",
        "version": None,
        "conflit": False,
        "deja_enregistre": False,
        "alerte_notes": [],
        "annuler": "/activites",
    }
    context.update(overrides)
    text = render("activites/formulaire.html", **context)
    return text, Dom(text)


def title_of(text: str) -> str:
    match = re.search(r"<title>(.*?)</title>", text, re.S)
    assert match
    return html.unescape(match.group(1).strip())


def h1_of(text: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    assert match
    return html.unescape(match.group(1).strip())


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def checked(dom: Dom, name: str) -> list[str]:
    return [e.attrs["value"] for e in dom.all("input", name=name) if "checked" in e.attrs]


def selected(dom: Dom) -> dict[str, str]:
    """Each select's chosen option value, by the select's name."""
    return {
        o.ancestors[-1].attrs["name"]: o.attrs["value"]
        for o in dom.all("option")
        if "selected" in o.attrs
    }


def value(dom: Dom, name: str) -> str | None:
    found = dom.all("input", name=name)
    return found[0].get("value") if found else None


# --- every type renders, accessibly ---------------------------------------------------------------------


@pytest.mark.parametrize("type_", TYPES)
def test_each_type_renders_its_form(type_: str) -> None:
    text, dom = page(type_)

    assert h1_of(text) == vocab.TYPES_ACTIVITE.label(type_)
    assert (
        title_of(text) == f"Enregistrer une activité — {vocab.TYPES_ACTIVITE.label(type_)} — Coop"
    )
    form = dom.all("form", method="post")[0]
    assert form.get("action") == f"/activites/nouvelle/{type_}"
    assert "novalidate" in form.attrs
    buttons = dom.all("button", type="submit")
    # Enter in a text field presses the first submit button of the form: a hidden one that
    # says so, read as a search when the search field holds text, else as a save.
    assert (buttons[0].get("name"), buttons[0].get("value")) == ("action", "implicite")
    assert "fr-btn coop-submit" in [b.get("class") for b in buttons]
    assert {b.get("value") for b in buttons if b.get("value")} <= {
        "implicite",
        "chercher_beneficiaire",
        "creer_beneficiaire",
    }
    assert "Enregistrer l'activité" in plain(text)
    assert dom.all("a", href="/activites")[-1].get("class") == "fr-btn fr-btn--secondary"


@pytest.mark.parametrize("type_", TYPES)
@pytest.mark.parametrize("n_lieux", [0, 3, 6])
def test_every_field_has_a_label_and_a_unique_id(type_: str, n_lieux: int) -> None:
    ambiguous = CommuneChoice(text="Saint-Denis", candidates=ST_DENIS, error="x")
    _, dom = page(
        type_,
        lieux=lieux(n_lieux),
        communes={"commune_insee": ambiguous, "anonyme_commune_insee": ambiguous},
        alerte_notes=["un IBAN"],
    )

    ids = [e.attrs["id"] for e in dom.elements if "id" in e.attrs]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    labelled = {e.get("for") for e in dom.all("label")}
    for control in dom.controls():
        assert control.get("id") in labelled, control.attrs
        if (
            control.get("type") in ("radio", "checkbox")
            and control.get("name") != "confirmer_notes"
        ):
            fieldsets = [a for a in control.ancestors if a.tag == "fieldset"]
            assert fieldsets and fieldsets[-1].has_legend, control.attrs
    for described in dom.elements:
        for ref in (described.get("aria-describedby") or "").split():
            assert dom.by_id(ref), (described.attrs, ref)


@pytest.mark.parametrize("type_", TYPES)
def test_the_spec_labels_are_shown_verbatim(type_: str) -> None:
    text, _ = page(type_)
    shown = plain(text)

    common = [
        "Date",
        "Durée",
        "15 min",
        "1 h 30",
        "Autre durée",
        "Lieu d'activité",
        "Autre lieu",
        "À domicile",
        "À distance",
        "Commune du lieu",
        "Pas de matériel",
        NOTES_HINT,
        "Thématiques de médiation numérique",
        "Intelligence artificielle (IA)",
    ]
    person = [
        "J'ai déjà accompagné cette personne",
        "Commune de résidence",
        "Le bénéficiaire a-t-il réalisé l'action…",
        "Fait par la personne elle-même",
        "Structure d'aide aux démarches (France Services…)",
        "Oui, en atelier collectif",
        "Non communiqué ou hétérogène",
    ]
    specific = {
        "individuel": person,
        "demarche": [
            *person,
            "Papiers - Élections - Citoyenneté",
            "Nom de la démarche",
            "Par exemple : Carte d'identité",
            "La démarche est-elle finalisée ?",
            "Non, la personne la finalisera seule",
        ],
        "collectif": [
            "Titre de l'atelier",
            "Intermédiaire",
            "Participants suivis",
            "Participants anonymes",
            "Préciser la répartition (facultatif)",
            "Nombre de femmes",
            "70 ans et plus",
            "Retraité(e)",
        ],
    }
    for label in (*common, *specific[type_]):
        assert label in shown, label
    if type_ == "collectif":
        assert "Le bénéficiaire a-t-il réalisé l'action…" not in shown


def test_counts_and_durations_bring_up_the_numeric_keypad() -> None:
    _, dom = page("collectif")

    numeric = {e.get("name") for e in dom.all("input", inputmode="numeric")}

    assert {"duree_heures", "duree_minutes", "participants_anonymes_total"} <= numeric
    assert {
        f"participants_anonymes_tranches_age_{s}"
        for s in vocab.TRANCHES_AGE
        if s != "non_communique"
    } <= numeric
    assert "participants_anonymes_tranches_age_non_communique" not in numeric
    assert {
        f"participants_anonymes_statuts_{s}" for s in vocab.STATUTS if s != "non_communique"
    } <= (numeric)


def test_the_date_cannot_be_picked_in_the_future() -> None:
    _, dom = page(aujourdhui=date(2025, 3, 14))

    picker = dom.by_id("date")

    assert picker is not None
    assert (picker.get("type"), picker.get("max"), picker.get("min")) == (
        "date",
        "2025-03-14",
        "2020-01-01",
    )


def test_no_inline_style_or_script() -> None:
    for type_ in TYPES:
        text, dom = page(type_, errors={"date": "Saisissez la date."}, conflit=True)
        assert "style=" not in text
        assert all(s.get("src") for s in dom.all("script"))


# --- hidden fields, modes -------------------------------------------------------------------------------


def test_a_new_activity_carries_its_token_and_no_version() -> None:
    _, dom = page()

    assert value(dom, "csrf_token") == "t"
    assert value(dom, "jeton") == "jeton-1"
    assert value(dom, "type") == "individuel"
    assert value(dom, "version") is None


def test_a_modified_activity_carries_its_version() -> None:
    text, dom = page(
        "demarche",
        mode="modifier",
        action="/activites/a1/modifier",
        version=4,
        annuler="/activites/a1",
    )

    assert value(dom, "version") == "4"
    assert title_of(text).startswith("Modifier une activité")
    assert dom.all("form", method="post")[0].get("action") == "/activites/a1/modifier"
    assert dom.all("a", href="/activites/a1")
    assert "Changer de type d'activité" not in plain(text)


def test_a_conflict_keeps_the_values_and_says_so() -> None:
    text, dom = page(mode="modifier", version=5, conflit=True, valeurs={"notes": "Mon texte"})

    assert CONFLICT in plain(text)
    assert "fr-alert--warning" in (dom.by_id("conflit") or Element("", {})).attrs["class"]
    assert "Mon texte" in text
    assert CONFLICT not in plain(page(mode="modifier", version=5)[0])


# --- the person, the beneficiaries, the partners -------------------------------------------------------


def text_of_labels(dom, inputs) -> str:  # type: ignore[no-untyped-def]
    ids = {i.get("id") for i in inputs}
    return " ".join(plain(label.text) for label in dom.all("label") if label.get("for") in ids)


def test_a_beneficiary_is_chosen_in_a_list_that_defaults_to_anonymous() -> None:
    _, dom = page("individuel", valeurs={"beneficiaire_id": "ben2"})

    radios = [e for e in dom.all("input") if e.get("name") == "beneficiaire_id"]

    assert [r.get("value") for r in radios] == ["", "ben1", "ben2"]
    assert "Accompagnement anonyme" in text_of_labels(dom, radios)
    assert [r.get("value") for r in radios if "checked" in r.attrs] == ["ben2"]
    assert dom.by_id("partenaire_id") is not None


def test_without_beneficiaries_or_partners_their_fields_are_not_shown() -> None:
    for type_ in TYPES:
        text, dom = page(type_, beneficiaires=[], partenaires=[])
        assert dom.by_id("beneficiaire_id") is None
        assert dom.by_id("participants_ids") is None
        assert dom.by_id("partenaire_id") is None
        assert "Accompagnement anonyme" not in text


def test_an_atelier_lists_the_followed_participants_as_checkboxes() -> None:
    text, dom = page("collectif", valeurs={"participants_ids": ["ben1"]})

    assert checked(dom, "participants_ids") == ["ben1"]
    assert [e.get("value") for e in dom.all("input", name="participants_ids")] == ["ben1", "ben2"]
    assert dom.by_id("beneficiaire_id") is None
    assert "Participants suivis" in plain(text)


@pytest.mark.parametrize(("n_lieux", "tag"), [(1, "input"), (4, "input"), (5, "select")])
def test_lieux_are_tiles_when_few_and_a_list_when_many(n_lieux: int, tag: str) -> None:
    _, dom = page(lieux=lieux(n_lieux), valeurs={"lieu_id": "lieu1"})

    if tag == "input":
        assert len(dom.all("input", name="lieu_id", type="radio")) == n_lieux
        assert checked(dom, "lieu_id") == ["lieu1"]
        assert "coop-tiles" in (dom.by_id("lieu_id") or Element("", {})).attrs["class"]
    else:
        assert (dom.by_id("lieu_id") or Element("", {})).tag == "select"
        assert selected(dom)["lieu_id"] == "lieu1"


def test_without_lieu_the_form_says_how_to_add_one() -> None:
    text, dom = page(lieux=[], errors={"lieu_id": "Choisissez un lieu d'activité."})

    assert dom.all("a", href="/lieux/nouveau")
    assert dom.by_id("lieu_id") is not None
    assert "Choisissez un lieu d'activité." in plain(text)


# --- errors ----------------------------------------------------------------------------------------------

ERRORS = {
    "individuel": {
        "date": "La date ne peut pas être dans le futur.",
        "duree": "Saisissez une durée en heures et minutes.",
        "canal": "Choisissez un canal.",
        "lieu_id": "Choisissez un lieu d'activité.",
        "commune_insee": "Choisissez la commune dans la liste.",
        "anonyme_genre": "Choisissez un genre de la liste.",
        "anonyme_commune_insee": "Aucune commune ne correspond à « Zz ».",
        "thematiques": "Choisissez au moins une thématique.",
        "structure_redirection": "Choisissez la structure vers laquelle la personne est orientée.",
        "notes": "Les notes dépassent 5 000 caractères.",
    },
    "demarche": {
        "thematiques_demarche": "Choisissez au moins une thématique de la démarche.",
        "nom_demarche": "Le nom de la démarche dépasse 200 caractères.",
        "finalisation": "Choisissez une réponse de la liste.",
        "beneficiaire_id": "Ce bénéficiaire n'existe pas.",
    },
    "collectif": {
        "participants_anonymes_total": "Indiquez au moins un participant.",
        "participants_anonymes_genres": "La répartition par genre (12) dépasse le total (10).",
        "participants_anonymes_statuts_retraite": "Saisissez un nombre entier.",
        "participants_anonymes_deja_accompagnes": "Saisissez un nombre entier.",
        "participants_ids": "Un participant n'existe pas.",
    },
}
TEXT_FIELDS = {
    "date",
    "commune_insee",
    "anonyme_commune_insee",
    "notes",
    "structure_redirection",
    "nom_demarche",
    # "beneficiaire_id" is now a group of radios (a fieldset)
    "participants_anonymes_total",
    "participants_anonymes_statuts_retraite",
    "participants_anonymes_deja_accompagnes",
}


@pytest.mark.parametrize("type_", TYPES)
def test_errors_are_summed_up_linked_and_shown_on_their_field(type_: str) -> None:
    errors = ERRORS[type_]
    candidates = CommuneChoice(text="Saint-Denis", candidates=ST_DENIS)
    text, dom = page(
        type_,
        errors=errors,
        valeurs={"duree": "autre", "duree_heures": "1h"},
        communes={"commune_insee": candidates, "anonyme_commune_insee": CommuneChoice(text="Zz")},
    )
    shown = plain(text)

    assert title_of(text).startswith("Erreur : ")
    n = len(errors)
    assert f"Le formulaire contient {n} erreurs" in shown
    for field_id, message in errors.items():
        links = dom.all("a", href=f"#{field_id}")
        assert links, field_id
        target = dom.by_id(field_id)
        assert target is not None, field_id
        assert f"{LABELS[field_id]} : {message}" in shown
        assert shown.count(message) >= 2, field_id  # in the summary and next to the field
        if field_id in TEXT_FIELDS:
            assert target.get("aria-invalid") == "true", field_id
            assert f"{field_id.removesuffix('_q')}" in (target.get("id") or "")
        elif target.tag == "fieldset":
            assert "fr-fieldset--error" in target.attrs["class"], field_id
        # Nothing the summary links to is folded away.
        folded = [a for a in target.ancestors if a.tag == "details" and "open" not in a.attrs]
        assert not folded, field_id


def test_an_other_duration_in_error_marks_its_boxes_invalid() -> None:
    _, dom = page(
        errors={"duree": "Saisissez une durée en heures et minutes."},
        valeurs={"duree": "autre", "duree_heures": "1h", "duree_minutes": ""},
    )

    assert (dom.by_id("duree_heures") or Element("", {})).get("aria-invalid") == "true"
    assert "duree-erreur" in (
        (dom.by_id("duree_minutes") or Element("", {})).get("aria-describedby") or ""
    )
    assert value(dom, "duree_heures") == "1h"


def test_without_errors_there_is_no_summary() -> None:
    text, dom = page()

    assert not title_of(text).startswith("Erreur")
    assert dom.by_id("resume-erreurs") is None
    assert 'aria-invalid="true"' not in text
    # Optional parts start folded when nothing is in them.
    assert all("open" not in d.attrs for d in dom.all("details"))


# --- values typed are kept --------------------------------------------------------------------------------

TYPED = {
    "date": "2025-03-10",
    "duree": "autre",
    "duree_heures": "1",
    "duree_minutes": "20",
    "canal": "domicile",
    "lieu_id": "lieu2",
    "commune_insee_q": "Lyon 3e Arrondissement (69003)",
    "commune_insee": "69383",
    "materiel": ["telephone", "tablette"],
    "thematiques": ["email", "sante"],
    "notes": "Revoir <la> « CAF » & co",
    "anonyme_deja_accompagne": "non",
    "anonyme_genre": "masculin",
    "anonyme_tranche_age": "70_plus",
    "anonyme_statut": "retraite",
    "autonomie": "autonome",
    "oriente": "oui",
    "structure_redirection": "aide_sociale",
    "partenaire_id": "par1",
    "poursuite": "non",
    "thematiques_demarche": ["logement"],
    "nom_demarche": "Dossier d'APL",
    "finalisation": "doit_revenir",
}


def test_what_was_typed_is_shown_again() -> None:
    lyon = CommuneChoice(insee="69383", text="Lyon 3e Arrondissement (69003)")
    text, dom = page(
        "demarche",
        valeurs=TYPED,
        communes={"commune_insee": lyon, "anonyme_commune_insee": CommuneChoice()},
    )

    for name in (
        "duree",
        "canal",
        "lieu_id",
        "anonyme_deja_accompagne",
        "anonyme_genre",
        "anonyme_tranche_age",
        "anonyme_statut",
        "autonomie",
        "oriente",
        "poursuite",
        "finalisation",
    ):
        assert checked(dom, name) == [TYPED[name]], name
    for name in ("materiel", "thematiques", "thematiques_demarche"):
        assert checked(dom, name) == TYPED[name], name
    for name in (
        "date",
        "duree_heures",
        "duree_minutes",
        "commune_insee_q",
        "nom_demarche",
        "commune_insee",
    ):
        assert value(dom, name) == TYPED[name], name
    chosen = selected(dom)
    assert chosen["structure_redirection"] == "aide_sociale"
    assert chosen["partenaire_id"] == "par1"
    assert checked(dom, "beneficiaire_id") == [""]  # anonymous by default
    assert "Revoir &lt;la&gt; « CAF » &amp; co</textarea>" in text
    assert "open" in (dom.by_id("anonyme") or Element("", {})).attrs  # details typed: unfolded


def test_posted_form_data_can_be_shown_again_as_is() -> None:
    posted = FormData(
        {
            "thematiques": ["email"],
            "participants_ids": ["ben2"],
            "participants_anonymes_total": ["7"],
        }
    )

    _, dom = page("collectif", valeurs=posted)

    assert checked(dom, "thematiques") == ["email"]
    assert checked(dom, "participants_ids") == ["ben2"]
    assert value(dom, "participants_anonymes_total") == "7"


def test_a_breakdown_typed_unfolds_and_is_kept() -> None:
    _, dom = page(
        "collectif",
        valeurs={
            "participants_anonymes_total": "10",
            "participants_anonymes_genres_feminin": "6",
            "participants_anonymes_tranches_age_12_17": "3",
            "participants_anonymes_deja_accompagnes": "2",
        },
    )

    assert "open" in (dom.by_id("participants_anonymes_repartition") or Element("", {})).attrs
    assert value(dom, "participants_anonymes_genres_feminin") == "6"
    assert value(dom, "participants_anonymes_tranches_age_12_17") == "3"
    assert value(dom, "participants_anonymes_deja_accompagnes") == "2"


def test_an_ambiguous_commune_offers_its_candidates() -> None:
    candidates = CommuneChoice(text="Saint-Denis", candidates=ST_DENIS)
    _, dom = page(
        communes={"commune_insee": candidates, "anonyme_commune_insee": CommuneChoice()},
        valeurs={"canal": "domicile"},
    )

    assert [e.get("value") for e in dom.all("input", name="commune_insee")] == ["97411", "93066"]
    assert value(dom, "commune_insee_q") == "Saint-Denis"


# --- notes --------------------------------------------------------------------------------------------------


def test_sensitive_notes_ask_for_a_confirmation() -> None:
    text, dom = page(
        alerte_notes=["un IBAN", "un numéro de sécurité sociale"],
        errors={"notes": "Ces notes semblent contenir un IBAN."},
    )

    shown = plain(text)
    assert "un IBAN, un numéro de sécurité sociale" in shown
    box = dom.by_id("confirmer_notes")
    assert box is not None and (box.get("type"), box.get("value")) == ("checkbox", "1")
    assert "checked" not in box.attrs
    assert "Je confirme que ces notes ne contiennent pas de donnée sensible" in shown
    assert NOTES_HINT in shown


def test_notes_without_warning_have_no_confirmation() -> None:
    text, dom = page()

    assert dom.by_id("confirmer_notes") is None
    assert dom.by_id("notes-alerte") is None
    assert NOTES_HINT in plain(text)


# --- the type choice -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffixe", ["", "?beneficiaire=ben1"])
def test_the_type_choice_offers_three_big_links(suffixe: str) -> None:
    text = render(
        "activites/choix.html",
        moi=None,
        profil=None,
        csrf_token="t",
        route="/activites/nouvelle",
        flash=None,
        is_local=False,
        errors={},
        suffixe=suffixe,
    )
    dom = Dom(text)

    assert h1_of(text) == "Enregistrer une activité"
    for slug, label in vocab.TYPES_ACTIVITE.choices():
        links = dom.all("a", href=f"/activites/nouvelle/{slug}{suffixe}")
        assert len(links) == 1, slug
        assert any("fr-enlarge-link" in a.attrs.get("class", "") for a in links[0].ancestors)
        assert label in plain(text)
    assert "style=" not in text
