"""The activities store against DynamoDB (moto): what it writes is what the statistics, the
beneficiary profiles and the optimistic locking rely on.

The store is used directly, without the service rules, so that links to beneficiaries can be
written before beneficiaries exist. Each test works in its own mediator's partition.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.domain.activites import ActiviteInput, Filtres, ParticipantsAnonymes
from chalicelib.domain.errors import Conflict, DuplicateRequest, IdempotencyKeyReused, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.store.activites import MAX_CURSOR_PART, DynamoActivityStore
from chalicelib.store.dynamo import ACT, decode_cursor, encode_cursor
from tests.conftest import Stack

REGION = "eu-west-3"
T0 = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)


class StreamTail:
    """The activities table's stream, as the statistics projector reads it, one partition."""

    def __init__(self, aws: Stack) -> None:
        dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name=REGION)
        self._streams = boto3.client(
            "dynamodbstreams", endpoint_url=aws.endpoint, region_name=REGION
        )
        table = dynamodb.describe_table(TableName=aws.names.table("activities"))["Table"]
        self.arn = table["LatestStreamArn"]
        self.view = table["StreamSpecification"]["StreamViewType"]
        self._iterators: dict[str, str] = {}

    def _shard_records(self, shard_id: str) -> Iterator[dict[str, Any]]:
        iterator = (
            self._iterators.get(shard_id)
            or self._streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )
        while iterator:
            page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            self._iterators[shard_id] = iterator = page.get("NextShardIterator")
            yield from page.get("Records", [])
            if not page.get("Records"):
                return

    def records(self, mediateur_id: str) -> list[dict[str, Any]]:
        """New records of this mediator's partition since the last call."""
        shards = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        return [
            record
            for shard in shards
            for record in self._shard_records(shard["ShardId"])
            if record["dynamodb"]["Keys"]["pk"]["S"] == "MED#" + mediateur_id
        ]


@pytest.fixture
def store(app_setup: Any) -> DynamoActivityStore:
    from chalicelib import bootstrap

    return bootstrap.get().activity_store


@pytest.fixture
def stream(aws: Stack, app_setup: Any) -> StreamTail:
    return StreamTail(aws)


@pytest.fixture
def beneficiaries_table(aws: Stack) -> Any:
    resource = boto3.resource("dynamodb", endpoint_url=aws.endpoint, region_name=REGION)
    return resource.Table(aws.names.table("beneficiaries"))


def _people(mediateur_id: str, count: int) -> list[str]:
    """Beneficiaries that exist (an activity can only link existing people)."""
    from chalicelib import bootstrap
    from chalicelib.domain.beneficiaires import Beneficiaire, BeneficiaireInput

    store = bootstrap.get().beneficiary_store
    ids = []
    for i in range(count):
        person = Beneficiaire(
            id="b" + new_id(),
            mediateur_id=mediateur_id,
            data=BeneficiaireInput(prenom=f"Personne{i}", nom="Test"),
            version=1,
            cree_le=T0,
            modifie_le=T0,
        )
        ids.append(store.create(person, frozenset({"test"})).id)
    return ids


def _someone() -> str:
    return "m" + new_id()


def _individuel(**fields: Any) -> ActiviteInput:
    values: dict[str, Any] = {
        "type": "individuel",
        "date": date(2025, 1, 31),
        "duree": 30,
        "canal": "a_distance",
        "thematiques": ("email",),
        **fields,
    }
    return ActiviteInput(**values)


def _image(record: dict[str, Any], which: str) -> dict[str, Any]:
    """A stream image as plain values ({"date": "2025-01-31", "duree": "30", ...})."""
    return {name: next(iter(value.values())) for name, value in record["dynamodb"][which].items()}


def _links(table: Any, beneficiaire_id: str) -> list[dict[str, Any]]:
    items = table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": "BEN#" + beneficiaire_id},
        ConsistentRead=True,
    )["Items"]
    return list(items)


# --- the stream the statistics read --------------------------------------------------------------


def test_recording_modifying_and_deleting_write_one_stream_record_each(
    store: DynamoActivityStore, stream: StreamTail
) -> None:
    mediateur_id, activite_id = _someone(), new_id()

    created = store.create(mediateur_id, activite_id, _individuel(), T0, None)
    moved = store.update(
        created, _individuel(date=date(2025, 2, 3), duree=60), 1, T0 + timedelta(hours=2)
    )
    store.delete(moved, moved.version)

    assert stream.view == "NEW_AND_OLD_IMAGES"
    insert, modify, remove = records = stream.records(mediateur_id)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert {r["dynamodb"]["Keys"]["sk"]["S"] for r in records} == {"ACT#" + activite_id}

    assert "OldImage" not in insert["dynamodb"]
    new = _image(insert, "NewImage")
    assert (new["kind"], new["mediateur_id"], new["type"]) == (
        "activite",
        mediateur_id,
        "individuel",
    )
    assert (new["date"], new["duree"], new["participants"], new["version"]) == (
        "2025-01-31",
        "30",
        "1",
        "1",
    )

    old, new = _image(modify, "OldImage"), _image(modify, "NewImage")
    assert (old["date"], old["duree"], old["version"]) == ("2025-01-31", "30", "1")
    assert (new["date"], new["duree"], new["version"]) == ("2025-02-03", "60", "2")
    assert old["cree_le"] == new["cree_le"] != new["modifie_le"]

    assert "NewImage" not in remove["dynamodb"]
    assert _image(remove, "OldImage")["date"] == "2025-02-03"
    with pytest.raises(NotFound):
        store.get(mediateur_id, activite_id)
    assert stream.records(mediateur_id) == []  # and nothing else


def test_an_atelier_is_one_item_with_counts_however_many_came(
    store: DynamoActivityStore, stream: StreamTail
) -> None:
    mediateur_id, activite_id = _someone(), new_id()
    atelier = ActiviteInput(
        type="collectif",
        date=date(2025, 3, 14),
        duree=120,
        canal="a_distance",
        thematiques=("email", "securite_numerique"),
        titre_atelier="Éviter les arnaques",
        participants_anonymes=ParticipantsAnonymes(
            total=250,
            deja_accompagnes=40,
            genres={"feminin": 120, "masculin": 100},
            tranches_age={"70_plus": 90},
            statuts={"retraite": 150},
        ),
    )

    store.create(mediateur_id, activite_id, atelier, T0, None)

    (insert,) = stream.records(mediateur_id)
    new = insert["dynamodb"]["NewImage"]
    assert new["participants"] == {"N": "250"}
    counts = new["participants_anonymes"]["M"]
    assert counts["total"] == {"N": "250"}
    assert counts["genres"]["M"] == {"feminin": {"N": "120"}, "masculin": {"N": "100"}}
    assert store.page(mediateur_id, Filtres(), None, 100).items == [
        store.get(mediateur_id, activite_id)
    ]
    assert store.get(mediateur_id, activite_id).data == atelier


# --- links to followed beneficiaries -----------------------------------------------------------


def test_links_to_followed_beneficiaries_follow_the_activity(
    store: DynamoActivityStore, stream: StreamTail, beneficiaries_table: Any
) -> None:
    mediateur_id = _someone()
    ben_1, ben_2, ben_3 = _people(mediateur_id, 3)
    individuel_id, atelier_id = new_id(), new_id()

    individuel = store.create(
        mediateur_id,
        individuel_id,
        _individuel(beneficiaire_id=ben_1, autonomie="autonome"),
        T0,
        None,
    )

    (link,) = _links(beneficiaries_table, ben_1)
    assert link["sk"] == f"ACT#2025-01-31#{individuel_id}"
    assert (link["kind"], link["mediateur_id"], link["activite_id"]) == (
        "lien",
        mediateur_id,
        individuel_id,
    )
    assert (link["type"], link["duree"], link["thematiques"], link["autonomie"]) == (
        "individuel",
        30,
        ["email"],
        "autonome",
    )

    # Another person, another day: the old link goes, the new one is dated like the activity.
    individuel = store.update(
        individuel, _individuel(beneficiaire_id=ben_2, date=date(2025, 2, 10)), 1, T0
    )
    assert _links(beneficiaries_table, ben_1) == []
    assert [x["sk"] for x in _links(beneficiaries_table, ben_2)] == [
        f"ACT#2025-02-10#{individuel_id}"
    ]
    individuel = store.update(
        individuel, _individuel(beneficiaire_id=ben_2, date=date(2025, 2, 11)), 2, T0
    )
    assert [x["sk"] for x in _links(beneficiaries_table, ben_2)] == [
        f"ACT#2025-02-11#{individuel_id}"
    ]

    atelier = store.create(
        mediateur_id,
        atelier_id,
        ActiviteInput(
            type="collectif",
            date=date(2025, 2, 20),
            duree=90,
            canal="a_distance",
            thematiques=("bureautique",),
            participants_ids=(ben_2, ben_3),
            participants_anonymes=ParticipantsAnonymes(total=4),
        ),
        T0,
        None,
    )
    assert atelier.participants == 6
    assert store.ids_for_beneficiaire(ben_2) == [
        (mediateur_id, atelier_id),
        (mediateur_id, individuel_id),
    ]
    assert store.ids_for_beneficiaire(ben_3) == [(mediateur_id, atelier_id)]

    store.delete(individuel, individuel.version)
    assert store.ids_for_beneficiaire(ben_2) == [(mediateur_id, atelier_id)]
    store.delete(atelier, atelier.version)
    assert [_links(beneficiaries_table, b) for b in (ben_1, ben_2, ben_3)] == [[], [], []]
    # Links live in the beneficiaries table: the activities stream only carries activities.
    records = stream.records(mediateur_id)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "MODIFY", "INSERT"] + [
        "REMOVE"
    ] * 2
    assert all(r["dynamodb"]["Keys"]["sk"]["S"].startswith("ACT#") for r in records)


# --- optimistic locking and idempotency ----------------------------------------------------------


def test_a_stale_version_is_a_conflict_and_changes_nothing(
    store: DynamoActivityStore, stream: StreamTail, beneficiaries_table: Any
) -> None:
    mediateur_id, activite_id = _someone(), new_id()
    ben, other_ben = _people(mediateur_id, 2)
    seen = store.create(mediateur_id, activite_id, _individuel(beneficiaire_id=ben), T0, None)
    latest = store.update(seen, _individuel(beneficiaire_id=ben, duree=45), 1, T0)
    stream.records(mediateur_id)

    with pytest.raises(Conflict):
        # A device that still shows version 1 moves the activity to another person.
        store.update(seen, _individuel(beneficiaire_id=other_ben, duree=90), 1, T0)
    with pytest.raises(Conflict):
        store.delete(seen, 1)

    assert store.get(mediateur_id, activite_id) == latest
    assert latest.version == 2 and latest.data.duree == 45
    assert [x["activite_id"] for x in _links(beneficiaries_table, ben)] == [activite_id]
    assert _links(beneficiaries_table, other_ben) == []  # the transaction wrote nothing
    assert stream.records(mediateur_id) == []


def test_an_idempotency_key_creates_once_per_mediator(
    store: DynamoActivityStore, stream: StreamTail
) -> None:
    alice, bob = _someone(), _someone()
    first_id = new_id()
    store.create(alice, first_id, _individuel(), T0, "cle-42")

    with pytest.raises(DuplicateRequest) as duplicate:  # a retry: the same values
        store.create(alice, new_id(), _individuel(), T0, "cle-42")
    with pytest.raises(IdempotencyKeyReused) as reused:  # the key again for other values
        store.create(alice, new_id(), _individuel(duree=45), T0, "cle-42")

    assert duplicate.value.activite_id == first_id
    assert str(reused.value) == first_id
    assert [a.id for a in store.page(alice, Filtres(), None, 10).items] == [first_id]
    assert [r["eventName"] for r in stream.records(alice)] == ["INSERT"]
    bobs = store.create(bob, new_id(), _individuel(), T0, "cle-42")
    assert [a.id for a in store.page(bob, Filtres(), None, 10).items] == [bobs.id]


# --- cursors ---------------------------------------------------------------------------------


def test_pages_resume_at_the_cursor_newest_first(store: DynamoActivityStore) -> None:
    mediateur_id = _someone()
    ids = [
        store.create(mediateur_id, new_id(), _individuel(date=date(2025, 1, 10 - n)), T0, None).id
        for n in range(5)
    ]

    seen, cursor, sizes = [], None, []
    for _ in range(5):
        page = store.page(mediateur_id, Filtres(), cursor, 2)
        seen += [a.id for a in page.items]
        sizes.append(len(page.items))
        cursor = page.cursor
        if cursor is None:
            break

    assert seen == ids
    assert sizes[:3] == [2, 2, 1]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json(value: Any) -> str:
    return _b64(json.dumps(value).encode())


@pytest.mark.parametrize(
    "cursor",
    [
        None,
        "",
        "!!!",
        "%%%",
        "A",
        _b64(b"\xff\xfe\x00garbage"),
        _json({"a": 1}),
        _json([1, 2]),
        _json(["ACT#x"]),
        _json(["ACT#x", "2025-01-01#x", "extra"]),
        _json(["BEN#x", "2025-01-01#x"]),  # another kind of item
        _json(["ACT#x", 20250101]),
        _json(["ACT#" + "x" * 80, "2025-01-01#x"]),
        _json(["ACT#x", "2" * 80]),
        _json("ab"),
        _json(None),
    ],
)
def test_garbage_and_foreign_cursors_are_ignored(cursor: str | None) -> None:
    assert decode_cursor(cursor, ACT, MAX_CURSOR_PART) is None


def test_a_cursor_only_carries_sort_keys() -> None:
    cursor = encode_cursor("ACT#01abc", "2025-01-31#01abc")

    assert decode_cursor(cursor, ACT, MAX_CURSOR_PART) == ("ACT#01abc", "2025-01-31#01abc")
    assert "MED#" not in base64.urlsafe_b64decode(cursor + "==").decode()


def test_reading_with_a_foreign_cursor_stays_in_the_own_partition(
    store: DynamoActivityStore,
) -> None:
    alice, bob = _someone(), _someone()
    alice_ids = [store.create(alice, new_id(), _individuel(), T0, None).id for _ in range(3)]
    bob_id = store.create(bob, new_id(), _individuel(date=date(2025, 1, 1)), T0, None).id
    alice_cursor = store.page(alice, Filtres(), None, 1).cursor
    assert alice_cursor

    page = store.page(bob, Filtres(), alice_cursor, 10)

    assert {a.mediateur_id for a in page.items} <= {bob}
    assert not {a.id for a in page.items} & set(alice_ids)
    assert [a.id for a in store.page(bob, Filtres(), None, 10).items] == [bob_id]
    assert replace(store.get(bob, bob_id).data, notes="") == _individuel(date=date(2025, 1, 1))
