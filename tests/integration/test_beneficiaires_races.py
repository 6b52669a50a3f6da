"""Deleting a person while edits run (on another device) never leaves their name behind.

A security review saw 11 races in 30 leave search-index entries holding a deleted person's
prénom and nom: the delete removed the index words it had read, while an edit saved in between
had written others. Here hypothesis draws histories of edits and deletes of a few people, and
other devices' edits and deletes that land between a write's read and its save (the real
service and the DynamoDB store on moto: only the moment of each write is chosen). At the end,
nothing in the beneficiaries table holds a deleted person's name, whatever the interleaving.

`BENEFICIARY_RACE_EXAMPLES` sets the number of histories (15 in CI; each is ~50 DynamoDB calls).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.beneficiaires import BeneficiaireInput
from chalicelib.domain.errors import Conflict, NotFound, Unavailable

EXAMPLES = int(os.environ.get("BENEFICIARY_RACE_EXAMPLES", "15"))
PEOPLE = 3
Operation = tuple[str, int, int]  # ("edit", person, name number) or ("delete", person, 0)
operation = st.tuples(
    st.sampled_from(["edit", "edit", "delete"]), st.integers(0, PEOPLE - 1), st.integers(0, 999)
)


class RacingStore:
    """The real store; before each write, whatever the history says lands first (another
    device's edit or delete, through a service that sees the same table)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.meanwhile: Callable[[], None] = lambda: None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        self.meanwhile()
        return self._store.update(*args, **kwargs)

    def pseudonymise(self, *args: Any, **kwargs: Any) -> Any:
        self.meanwhile()
        return self._store.pseudonymise(*args, **kwargs)


class History:
    """A few people of one new mediator, each name unique to the example."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.mediateur_id = "m" + uuid.uuid4().hex[:25]
        self.tag = uuid.uuid4().hex[:6]
        self.names: dict[int, set[str]] = {i: set() for i in range(PEOPLE)}
        self.deleted: set[int] = set()
        service = container.beneficiaries
        self.ids = [service.create(self.mediateur_id, self.name(i, 0)).id for i in range(PEOPLE)]

    def name(self, person: int, number: int) -> BeneficiaireInput:
        prenom = f"Prenom{self.tag}p{person}n{number}"
        nom = f"Nom{self.tag}p{person}n{number}"
        self.names[person] |= {prenom, nom}
        return BeneficiaireInput(prenom=prenom, nom=nom)

    def apply(self, via: Any, op: Operation) -> None:
        """One user's action; what they are told (409, 404, 503) saved nothing."""
        kind, person, number = op
        try:
            if kind == "delete":
                via.delete(self.mediateur_id, self.ids[person])
                self.deleted.add(person)
                return
            current = via.get(self.mediateur_id, self.ids[person])
            new = self.name(person, number + 1)
            data = replace(current.data, prenom=new.prenom, nom=new.nom)
            via.modify(self.mediateur_id, self.ids[person], data, current.version)
        except NotFound:
            if kind == "delete":
                self.deleted.add(person)  # someone else deleted them first
        except (Conflict, Unavailable):
            pass

    def items(self) -> list[dict[str, Any]]:
        """Every item of the mediator's person and index partitions."""
        client = self.container.db.connection.client
        table = self.container.settings.table_name("beneficiaries")
        found = []
        for pk in ("MED#" + self.mediateur_id, "IDX#" + self.mediateur_id):
            pages = client.get_paginator("query").paginate(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ConsistentRead=True,
            )
            found += [item for page in pages for item in page["Items"]]
        return found


def test_no_interleaving_of_edits_and_deletes_leaves_a_deleted_name_behind(app_setup: Any) -> None:
    from chalicelib import bootstrap
    from chalicelib.services.beneficiaires import BeneficiaryService

    c = bootstrap.get()
    racing = RacingStore(c.beneficiary_store)
    service = BeneficiaryService(racing, c.calendar, c.communes, c.activity_store)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        history=st.lists(operation, min_size=1, max_size=6),
        meanwhile=st.lists(st.one_of(st.none(), operation), max_size=8),
    )
    def run(history: list[Operation], meanwhile: list[Operation | None]) -> None:
        world = History(c)
        pending = list(meanwhile)

        def land_next() -> None:  # another device, between a read and its write
            op = pending.pop(0) if pending else None
            if op is not None:
                world.apply(c.beneficiaries, op)

        racing.meanwhile = land_next
        for op in history:
            world.apply(service, op)
        racing.meanwhile = lambda: None
        while pending:
            land_next()

        items = world.items()
        text = repr(items)
        for person in sorted(world.deleted):
            leaked = [word for word in world.names[person] if word in text]
            assert leaked == [], (person, leaked)
            index = [i for i in items if i["sk"]["S"].endswith("#" + world.ids[person])]
            assert [i["sk"]["S"] for i in index if i["pk"]["S"].startswith("IDX#")] == []
            stored = c.beneficiary_store.get(world.mediateur_id, world.ids[person])
            assert stored.supprime, person

    run()
