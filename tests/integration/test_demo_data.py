"""Demo data: recorded through the real services, so it obeys every rule and feeds the stats."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap
from infra.local.demo import DEMO_EMAIL, demo_identity, seed


def test_demo_data_gives_the_demo_mediator_lieux_people_and_valid_activities(
    app_setup: Any,
) -> None:
    container = bootstrap.get()

    created = seed(container, days=21)
    again = seed(container, days=21)  # a restart must not duplicate anything

    mediateur = container.accounts.sign_in(demo_identity())
    account = container.accounts.account(mediateur.id)
    assert account is not None and mediateur.email == DEMO_EMAIL
    assert len(account.profile.lieux_actifs) == 3
    assert created > 5 and again == 0
    activites = container.activities.page(
        mediateur.id,
        __import__("chalicelib.domain.activites", fromlist=["Filtres"]).Filtres(),
        None,
        100,
    ).items
    assert len(activites) == created
    assert {a.type for a in activites} <= {"individuel", "demarche", "collectif"}
    people = container.beneficiaries.list(mediateur.id).items
    assert len(people) == 20  # first page of the 25 fictitious people
