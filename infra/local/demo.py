"""Demo data for `make run`: the demo mediator gets lieux and about six months of varied
activities, recorded through the real services (same rules, same storage, same stream).

Runs once (when the demo mediator has no lieu yet); `DEMO=0 make run` starts empty.
Fictitious data only, generated from a fixed seed.
"""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta
from typing import Any

from chalicelib.domain import vocab
from chalicelib.domain.activites import ORIENTEE, ActiviteInput, Anonyme, ParticipantsAnonymes
from chalicelib.domain.beneficiaires import BeneficiaireInput
from chalicelib.domain.mediateurs import Identity, LieuInput, Profile

log = logging.getLogger("coop.local.demo")

DEMO_EMAIL = "camille.dupont@demo.coop.local"
LIEUX = (
    LieuInput("Médiathèque Jean Macé", "2 rue Jean Macé", "69387"),
    LieuInput("France Services Gratte-Ciel", "12 avenue Henri Barbusse", "69266"),
    LieuInput("Tiers-lieu Les Minguettes", "5 place Jules Grandclément", "69259"),
)
COMMUNES = ("69387", "69383", "69266", "69259", "69388", "69384")
TITRES = (
    "Premiers pas sur smartphone",
    "Sécuriser sa messagerie",
    "Découvrir les démarches en ligne",
    "Organiser ses photos",
    "Reconnaître une arnaque en ligne",
)
DEMARCHES = (
    "Carte d'identité",
    "Déclaration de revenus",
    "Prime d'activité",
    "Carte grise",
    "Inscription France Travail",
)


PRENOMS = (
    "Hélène",
    "Mohamed",
    "Jeanne",
    "Lucas",
    "Fatou",
    "Gérard",
    "Inès",
    "Marcel",
    "Yasmine",
    "Paulette",
    "Kévin",
    "Aïcha",
    "Bernard",
    "Chloé",
    "Rémi",
    "Nadia",
    "Joseph",
    "Léa",
    "Thi Mai",
    "Élodie",
    "Omar",
    "Monique",
    "Théo",
    "Samia",
    "André",
)
NOMS = (
    "Dupont",
    "Benali",
    "Martin",
    "Nguyen",
    "Diallo",
    "Lefèvre",
    "Moreau",
    "Garcia",
    "Haddad",
    "Rousseau",
    "Lambert",
    "Traoré",
    "Fontaine",
    "Roux",
    "Girard",
    "Mercier",
    "Blanc",
    "Faure",
    "Tran",
    "Chevalier",
    "Kaci",
    "Perrin",
    "Morel",
    "Mansouri",
    "Colin",
)


def demo_people(rng: random.Random) -> list[BeneficiaireInput]:
    """Fictitious people (phone numbers in the 06 39 98 range reserved for fiction)."""
    people = []
    for i, (prenom, nom) in enumerate(zip(PRENOMS, NOMS, strict=True)):
        people.append(
            BeneficiaireInput(
                prenom=prenom,
                nom=nom,
                annee_naissance=rng.choice((None, rng.randint(1938, 2006))),
                telephone=f"06 39 98 {i // 10:02d} {i % 100:02d}" if rng.random() < 0.6 else None,
                email=f"{prenom.lower()}.{nom.lower()}@exemple.fr".replace(" ", "")
                if rng.random() < 0.3
                else None,
                commune_insee=rng.choice(COMMUNES),
                genre=rng.choice(("feminin", "masculin", None)),
                statut=rng.choice((*vocab.STATUTS, None)),
            )
        )
    return people


def demo_identity() -> Identity:
    from infra.fake_proconnect import builtin_users

    user = builtin_users()[DEMO_EMAIL]
    return Identity(
        sub=user.sub,
        idp_id=user.idp_id,
        email=user.email,
        prenom=user.given_name,
        nom=user.usual_name,
        siret=user.siret,
    )


def _common(rng: random.Random, day: date, lieux: list[str]) -> dict[str, Any]:
    canal = rng.choices(("lieu_activite", "domicile", "a_distance", "autre"), (70, 12, 12, 6))[0]
    materiel = rng.sample(("ordinateur", "telephone", "tablette"), rng.randint(1, 2))
    return {
        "date": day,
        "duree": rng.choice((15, 30, 30, 45, 45, 60, 60, 90, 120)),
        "canal": canal,
        "lieu_id": rng.choice(lieux) if canal == "lieu_activite" else None,
        "commune_insee": rng.choice(COMMUNES) if canal in ("domicile", "autre") else None,
        "materiel": tuple(materiel) if rng.random() > 0.1 else ("aucun",),
    }


def _person(rng: random.Random) -> dict[str, Any]:
    oriente = rng.random() < 0.2
    return {
        "anonyme": Anonyme(
            deja_accompagne=rng.random() < 0.4,
            commune_insee=rng.choice(COMMUNES),
            genre=rng.choice(list(vocab.GENRES)),
            tranche_age=rng.choice(list(vocab.TRANCHES_AGE)),
            statut=rng.choice(list(vocab.STATUTS)),
        ),
        "autonomie": rng.choice((*vocab.AUTONOMIE, None)),
        "oriente": oriente,
        "structure_redirection": rng.choice(list(vocab.STRUCTURES_REDIRECTION))
        if oriente
        else None,
        "poursuite": rng.choice((*vocab.POURSUITE, None)),
    }


def activity(
    rng: random.Random, day: date, lieux: list[str], people: list[str] | None = None
) -> ActiviteInput:
    type_ = rng.choices(("individuel", "demarche", "collectif"), (55, 30, 15))[0]
    common = _common(rng, day, lieux)
    thematiques = tuple(rng.sample(list(vocab.THEMATIQUES), rng.randint(1, 3)))
    if type_ == "collectif":
        total = rng.randint(3, 12)
        femmes = rng.randint(0, total)
        return ActiviteInput(
            type="collectif",
            thematiques=thematiques,
            titre_atelier=rng.choice(TITRES),
            niveau=rng.choice(list(vocab.NIVEAUX)),
            participants_ids=tuple(rng.sample(people, rng.randint(0, 2))) if people else (),
            participants_anonymes=ParticipantsAnonymes(
                total=total,
                deja_accompagnes=rng.randint(0, total),
                genres={"feminin": femmes, "masculin": rng.randint(0, total - femmes)},
                tranches_age={
                    "60_69": rng.randint(0, total // 2),
                    "70_plus": rng.randint(0, total // 2),
                },
            ),
            **common,
        )
    person = _person(rng)
    if people and rng.random() < 0.45:
        person["beneficiaire_id"] = rng.choice(people)
    if type_ == "demarche":
        finalisation = rng.choice(list(vocab.FINALISATION))
        if finalisation == ORIENTEE:  # « orientée vers une autre structure »: oriented, somewhere
            person["oriente"] = True
            person["structure_redirection"] = rng.choice(list(vocab.STRUCTURES_REDIRECTION))
        return ActiviteInput(
            type="demarche",
            thematiques_demarche=tuple(
                rng.sample(list(vocab.THEMATIQUES_DEMARCHE), rng.randint(1, 2))
            ),
            nom_demarche=rng.choice(DEMARCHES),
            finalisation=finalisation,
            **common,
            **person,
        )
    return ActiviteInput(type="individuel", thematiques=thematiques, **common, **person)


def seed(container: Any, days: int = 182, seed_value: int = 2026) -> int:
    """Create the demo mediator's lieux and activities; returns the number of activities."""
    accounts = container.accounts
    mediateur = accounts.sign_in(demo_identity())
    account = accounts.account(mediateur.id)
    if account is None or account.profile.lieux:
        return 0  # already seeded (or the mediator set things up by hand)
    for lieu in LIEUX:
        accounts.add_lieu(mediateur.id, lieu)
    account = accounts.account(mediateur.id)
    assert account is not None
    profile: Profile = account.profile
    lieux = [lieu.id for lieu in profile.lieux_actifs]
    rng = random.Random(seed_value)
    people = [
        container.beneficiaries.create(mediateur.id, person).id for person in demo_people(rng)
    ]
    today = container.calendar.today()
    count = 0
    for offset in range(days, -1, -1):
        day = today - timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for _ in range(rng.choice((0, 1, 1, 2))):
            container.activities.record(profile, activity(rng, day, lieux, people))
            count += 1
    log.info("demo data: %d activities for %s", count, DEMO_EMAIL)
    return count
