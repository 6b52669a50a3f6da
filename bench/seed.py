"""Realistic data, written fast. Items are the store layer's own (`to_item`, `_to_item`,
`_index_items`, `_links`, serialized by pynamodb) put straight into the embedded tables (moto
runs in this process): an HTTP batch write costs ~2.5 ms per activity in botocore/pynamodb
serialization, which would take 7 minutes for the 160 000 activities of `make bench`.
Activities are drawn from a realistic mix; past the first `TEMPLATES` of a mediator, a drawn
activity is cloned with a new id and a new date (same distribution, 5× cheaper). Mediators and
lieux go through the real account service (a handful of them)."""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain import vocab
from chalicelib.domain.activites import (
    ActiviteInput,
    Anonyme,
    Instantane,
    ParticipantsAnonymes,
    Personne,
)
from chalicelib.domain.beneficiaires import Beneficiaire, BeneficiaireInput
from chalicelib.domain.ids import new_id
from chalicelib.domain.mediateurs import Identity, LieuInput, Profile

REGION = "eu-west-3"
TEMPLATES = 2000
COMMUNES = ("69383", "13055", "75056", "31555", "59350", "33063", "44109", "67482")
# Frequent French given names and surnames; drawn with Zipf weights (a few very common ones,
# a long tail), which is what makes a search for "Martin" read more than one for "Lefèvre".
PRENOMS = (  # noqa: SIM905 - a paragraph of names reads better than quoted strings
    "Marie Jean Pierre Michel André Philippe Nathalie Isabelle Catherine Françoise Monique "
    "Sylvie Nicolas Christophe Sophie Patrick Christine Daniel Alain Bernard Jacques Martine "
    "Valérie Sandrine Stéphane Céline Julie Laurent David Éric Frédéric Sébastien Nadia Fatima "
    "Mohamed Karim Yasmine Léa Emma Lucas Hugo Louis Chloé Camille Manon Inès Thomas Julien "
    "Aurélie Paulette Germaine Raymond Odette Marcel Josiane Gérard Jacqueline Simone Hélène"
).split()
NOMS = (  # noqa: SIM905
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefèvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefebvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier "
    "François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu "
    "Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun "
    "Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche "
    "Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas "
    "Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq "
    "Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin "
    "Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier "
    "Marty Aubry Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly "
    "Hervé Schneider Fernandez Lebrun Collet Léger Bouvier Julien Prévost Millet Perrot Daniel "
    "Benali Haddad Nguyen Traoré Diallo Cissé Bensaïd Kaci Mansouri Ferreira Da Silva Pereira"
).split()


def zipf(rnd: random.Random, values: Sequence[str], s: float = 1.0) -> str:
    weights = [1 / (rank + 1) ** s for rank in range(len(values))]
    return rnd.choices(values, weights)[0]


_ONSETS = ("b", "br", "ch", "d", "f", "g", "gr", "j", "l", "m", "n", "p", "r", "s", "t", "v")
_NUCLEI = ("a", "e", "i", "o", "ou", "au", "é", "ai", "eu", "on", "an", "in")
_CODAS = ("", "", "t", "d", "rt", "ier", "et", "and", "el", "ot", "in", "eau", "ard", "ès")


def rare_word(rnd: random.Random) -> str:
    word = "".join(rnd.choice(_ONSETS) + rnd.choice(_NUCLEI) for _ in range(rnd.randint(1, 2)))
    return (word + rnd.choice(_CODAS)).capitalize()


def surname(rnd: random.Random) -> str:
    """France has ~1.3 million surnames: the 170 most frequent cover ~8 % of people (Martin,
    the first, ~0.5 %); the rest is a long tail of nearly unique names."""
    return zipf(rnd, NOMS, 0.9) if rnd.random() < 0.08 else rare_word(rnd) + rare_word(rnd).lower()


def given_name(rnd: random.Random) -> str:
    """Given names are more concentrated (the first, ~3 %)."""
    return zipf(rnd, PRENOMS, 0.5) if rnd.random() < 0.6 else rare_word(rnd)


def slugs(vocabulary: vocab.Vocabulary) -> list[str]:
    return list(vocabulary)


@dataclass
class Mediator:
    profile: Profile
    people: list[Beneficiaire]
    arrivals: list[date] = field(default_factory=list)  # sorted, one per person when set

    def known_on(self, day: date) -> list[Beneficiaire]:
        """The people already followed on that day (newcomers arrive all year long)."""
        if not self.arrivals:
            return self.people
        return self.people[: bisect.bisect_right(self.arrivals, day)]

    def arrive_over(self, days: Sequence[date], rnd: random.Random) -> None:
        self.arrivals = sorted(rnd.choice(days) for _ in self.people)

    @property
    def id(self) -> str:
        return self.profile.mediateur.id

    @property
    def lieux(self) -> list[str]:
        return [lieu.id for lieu in self.profile.lieux]


def new_mediator(
    container: Any, label: str, email: str | None = None, siret: str | None = None
) -> Mediator:
    """Signed in through the real account service (employed by `siret`), with two lieux."""
    sub = uuid.uuid4().hex
    email = email or f"bench-{label}-{sub[:8]}@example.org"
    identity = Identity(sub, "bench", email, "Camille", label.capitalize(), siret)
    mediateur = container.accounts.sign_in(identity)
    for nom, commune in (("Médiathèque", "69383"), ("France services", "13055")):
        container.accounts.add_lieu(mediateur.id, LieuInput(nom, "1 place de la Mairie", commune))
    return Mediator(container.accounts.account(mediateur.id).profile, [])


def mediator_of(container: Any, mediateur_id: str) -> Mediator:
    return Mediator(container.accounts.account(mediateur_id).profile, [])


# --- beneficiaries -------------------------------------------------------------------------------


def person_input(rnd: random.Random) -> BeneficiaireInput:
    telephone = None
    if rnd.random() < 0.6:
        telephone = "06" + "".join(rnd.choice("0123456789") for _ in range(8))
    return BeneficiaireInput(
        prenom=given_name(rnd),
        nom=surname(rnd),
        annee_naissance=rnd.randint(1935, 2005) if rnd.random() < 0.7 else None,
        telephone=telephone,
        commune_insee=rnd.choice(COMMUNES) if rnd.random() < 0.8 else None,
        genre=rnd.choice(slugs(vocab.GENRES)) if rnd.random() < 0.7 else None,
        statut=rnd.choice(slugs(vocab.STATUTS)) if rnd.random() < 0.5 else None,
    )


def put(model: Any, item: dict[str, Any]) -> None:
    """One serialized item into the model's embedded table (no stream record if off)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.put_item(model.Meta.table_name, item)


def seed_people(container: Any, mediateur_id: str, count: int, rnd: random.Random) -> list[Any]:
    """`count` people with their search index entries (the store's own items)."""
    from chalicelib.store.beneficiaires import BeneficiaireItem, IndexItem, _index_items, _to_item

    service = container.beneficiaries
    now = datetime.now(UTC)
    people = []
    for _ in range(count):
        data = service.check(person_input(rnd))
        b = Beneficiaire(new_id(), mediateur_id, data, 1, now, now)
        put(BeneficiaireItem, _to_item(b).serialize())
        for entry in _index_items(b, service._tokens(data)):
            put(IndexItem, entry.serialize())
        people.append(b)
    return people


# --- activities ---------------------------------------------------------------------------------


NOTES = (
    "",
    "",
    "",
    "Création d'une adresse e-mail et premier envoi avec pièce jointe.",
    "A besoin de revenir pour la déclaration de revenus en ligne ; apporter l'avis d'imposition "
    "de l'an dernier. Orientée vers l'atelier smartphone du jeudi, à relancer la semaine "
    "prochaine si elle ne vient pas.",
)


def _place(rnd: random.Random, mediator: Mediator) -> dict[str, Any]:
    canal = rnd.choices(slugs(vocab.CANAUX), [6, 2, 1, 2][: len(vocab.CANAUX)])[0]
    if canal == "lieu_activite":
        return {"canal": canal, "lieu_id": rnd.choice(mediator.lieux)}
    if canal == "a_distance":
        return {"canal": canal}
    return {"canal": canal, "commune_insee": rnd.choice(COMMUNES)}


def _common(rnd: random.Random, mediator: Mediator, day: date) -> dict[str, Any]:
    return {
        "date": day,
        "duree": rnd.choice((15, 30, 30, 45, 60, 90, 120)),
        **_place(rnd, mediator),
        "materiel": tuple(rnd.sample(("ordinateur", "telephone", "tablette"), rnd.randint(0, 2)))
        or rnd.choice(((), ("aucun",))),
        "notes": rnd.choice(NOTES),
    }


def _person(rnd: random.Random, mediator: Mediator, day: date) -> dict[str, Any]:
    known = mediator.known_on(day)
    if known and rnd.random() < 0.5:
        return {"beneficiaire_id": rnd.choice(known).id}
    anonyme = Anonyme(
        deja_accompagne=rnd.choice((None, True, False)),
        genre=rnd.choice((None, *slugs(vocab.GENRES))),
        tranche_age=rnd.choice((None, *slugs(vocab.TRANCHES_AGE))),
        statut=rnd.choice((None, *slugs(vocab.STATUTS))),
        commune_insee=rnd.choice((None, *COMMUNES)),
    )
    return {"anonyme": anonyme}


def activity_input(rnd: random.Random, mediator: Mediator, day: date) -> ActiviteInput:
    type_ = rnd.choices(("individuel", "demarche", "collectif"), (6, 3, 1))[0]
    fields = _common(rnd, mediator, day)
    if type_ == "collectif":
        total = rnd.randint(3, 12)
        known = mediator.known_on(day)
        suivis = [p.id for p in rnd.sample(known, min(2, len(known)))]
        return ActiviteInput(
            type=type_,
            thematiques=tuple(rnd.sample(slugs(vocab.THEMATIQUES), 2)),
            titre_atelier="Bien utiliser son smartphone",
            niveau=rnd.choice(slugs(vocab.NIVEAUX)),
            participants_ids=tuple(suivis),
            participants_anonymes=ParticipantsAnonymes(
                total=total,
                deja_accompagnes=rnd.randint(0, total),
                genres={"feminin": total // 2, "masculin": total - total // 2},
            ),
            **fields,
        )
    fields |= _person(rnd, mediator, day)
    fields["autonomie"] = rnd.choice((None, *slugs(vocab.AUTONOMIE)))
    if rnd.random() < 0.3:
        fields["oriente"] = True
        fields["structure_redirection"] = rnd.choice(slugs(vocab.STRUCTURES_REDIRECTION))
    if type_ == "demarche":
        return ActiviteInput(
            type=type_,
            thematiques_demarche=tuple(rnd.sample(slugs(vocab.THEMATIQUES_DEMARCHE), 2)),
            nom_demarche="Demande d'APL",
            finalisation=rnd.choice(slugs(vocab.FINALISATION)),
            **fields,
        )
    return ActiviteInput(
        type=type_, thematiques=tuple(rnd.sample(slugs(vocab.THEMATIQUES), 2)), **fields
    )


def snapshot(data: ActiviteInput, mediator: Mediator) -> Instantane:
    by_id = {p.id: p for p in mediator.people}
    personnes = tuple(
        Personne(
            id=i,
            genre=by_id[i].data.genre,
            tranche_age=by_id[i].data.tranche_age,
            statut=by_id[i].data.statut,
            commune_insee=by_id[i].data.commune_insee,
        )
        for i in data.beneficiaires_lies()
        if i in by_id
    )
    lieux = {lieu.id: lieu.commune_insee for lieu in mediator.profile.lieux}
    return Instantane(personnes, lieux.get(data.lieu_id) if data.lieu_id else None)


def days_of_year(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def _drawn(
    mediator: Mediator, day: date, rnd: random.Random, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from chalicelib.store.activites import _links, to_item

    data = activity_input(rnd, mediator, day)
    activite_id = new_id()
    item = to_item(mediator.id, activite_id, data, now, now, snapshot(data, mediator))
    item.version = 1
    return item.serialize(), [link.serialize() for link in _links(mediator.id, activite_id, data)]


def _clone(
    template: tuple[dict[str, Any], list[dict[str, Any]]], day: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    item, links = template
    activite_id, when = new_id(), day.isoformat()
    clone = {
        **item,
        "sk": {"S": "ACT#" + activite_id},
        "lsi1sk": {"S": f"{when}#{activite_id}"},
        "date": {"S": when},
    }
    return clone, [
        {**link, "sk": {"S": f"ACT#{when}#{activite_id}"}, "activite_id": {"S": activite_id}}
        | {"date": {"S": when}}
        for link in links
    ]


def seed_activities(
    mediator: Mediator, count: int, days: Sequence[date], rnd: random.Random
) -> Iterator[str]:
    """`count` activities spread over `days` (and their links); yields their ids."""
    from chalicelib.store.activites import ActiviteItem, LienBeneficiaireItem

    now = datetime.now(UTC)
    templates: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    dates: list[str] = []  # of the templates, sorted once they are all drawn
    for n in range(count):
        day = rnd.choice(days)
        if n < TEMPLATES:
            drawn = _drawn(mediator, day, rnd, now)
            templates.append(drawn)
        else:
            if not dates:
                templates.sort(key=lambda t: t[0]["date"]["S"])
                dates = [t[0]["date"]["S"] for t in templates]
            # A template of that day or earlier: its people were already followed then.
            known = bisect.bisect_right(dates, day.isoformat())
            template = templates[rnd.randrange(known)] if known else templates[0]
            drawn = _clone(template, day if known else date.fromisoformat(dates[0]))
        item, links = drawn
        put(ActiviteItem, item)
        for link in links:
            put(LienBeneficiaireItem, link)
        yield item["sk"]["S"].removeprefix("ACT#")
