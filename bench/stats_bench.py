"""Cases 4, 7 and 8: the statistics pipeline.

4. One statistics view of a whole past year for mediators with 1 000, 10 000 and 50 000
   activities: DynamoDB items read (botocore `after-call` hook: items returned by GetItem and
   BatchGetItem, ScannedCount of Query), and at 10 000 the time of recomputing the same
   figures from the activities ÷ the time of reading them from the aggregates.
7. WCUs the statistics pipeline consumes per activity write, from the real item sizes before
   and after each of its writes, over a realistic stream (see `stream_ops`) delivered as the
   real moto stream records, in batches of 100, to the real handler.
8. Records/s through that handler ÷ records/s through a handler that only parses the batch.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench import seed
from bench.common import (
    REGION,
    Result,
    Stack,
    dynamodb_meter,
    median,
    streams_off,
    write_meter,
)
from chalicelib.stats.ports import Owner

SIZES = (1_000, 10_000, 50_000)
MONTHS = 12
BATCH = 100
STREAM_MEDIATORS = 200  # each records ~5 activities in the hour (README: reporting peak)
STREAM_STRUCTURE_SIZE = 10  # mediators per structure employeuse
STREAM_OPS = 1_000
EARLIER_THIS_MONTH = 60  # activities each already has in the current month


def _months(year: int) -> list[str]:
    return [f"{year}-{n:02d}" for n in range(1, MONTHS + 1)]


def build_aggregates(
    container: Any, mediator: seed.Mediator, months: list[str], newcomers: bool = True
) -> None:
    """The real projector's recomputation, and the people's counters (newcomers items)."""
    for month in months:
        container.projector.recompute(Owner.mediateur(mediator.id), month)
    if newcomers:
        container.nouveaux.links_changed(mediator.id, [p.id for p in mediator.people])


def _recompute_figures(container: Any, mediator: seed.Mediator, du: date, au: date) -> Any:
    """What the view would cost without aggregates: every activity of the period read and
    aggregated (without even the newcomers, which would need every activity ever)."""
    from chalicelib.domain.activites import Filtres
    from chalicelib.domain.dates import month_of
    from chalicelib.stats.aggregation import Labels, Selection, bucket_of, figures, total

    activities = list(container.activity_store.between(mediator.id, Filtres(du=du, au=au)))
    by_month: dict[str, list[Any]] = {}
    for a in activities:
        by_month.setdefault(month_of(a.date), []).append(a)
    buckets = {m: bucket_of(acts) for m, acts in by_month.items()}
    combo = total(buckets.values(), Selection())
    par_mois = [(m, total([b], Selection()).counters.get("n", 0)) for m, b in buckets.items()]
    labels = Labels(lieu=str, commune=str)
    return figures(combo, du, au, sorted(par_mois), 0, labels)


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def stats_reads(container: Any, stack: Stack, rnd: random.Random) -> list[Result]:
    from chalicelib.domain.dates import Periode

    year = container.calendar.today().year - 1
    periode = Periode(date(year, 1, 1), date(year, 12, 31))
    meter = dynamodb_meter()
    results = []
    speedup: Result | None = None
    items_by_size = {}
    for size in SIZES:
        mediator = seed.new_mediator(container, f"stats{size}")
        mediator.people = seed.seed_people(container, mediator.id, max(24, size // 100), rnd)
        mediator.arrive_over(seed.days_of_year(year), rnd)
        started = time.perf_counter()
        with streams_off(stack.names.table("activities")):
            for _ in seed.seed_activities(mediator, size, seed.days_of_year(year), rnd):
                pass
        build_aggregates(container, mediator, _months(year))
        seeded = time.perf_counter() - started
        with meter.counting():
            answer = container.statistics.figures(mediator.profile, periode)
        assert answer["accompagnements"]["total"] >= size, answer["accompagnements"]
        items_by_size[size] = meter.items_read
        results.append(
            Result(
                f"stats_items_read_{size // 1000}k",
                meter.items_read,
                "items",
                "<= 24, same at every N",
                {
                    "activities": size,
                    "calls": dict(meter.calls),
                    "items_by_table": dict(meter.by_table),
                    "seed_and_aggregate_s": round(seeded, 1),
                },
            )
        )
        if size == 10_000:
            speedup = _speedup(container, mediator, periode)
    same = len(set(items_by_size.values())) == 1
    for result in results:
        result.raw["same_at_every_size"] = same
        result.also = same
    assert speedup is not None
    return [*results, speedup]


def _speedup(container: Any, mediator: seed.Mediator, periode: Any) -> Result:
    aggregated, recomputed = [], []
    for _ in range(3):  # interleaved: noise hits both alike
        for _ in range(3):
            aggregated.append(
                _timed(lambda: container.statistics.figures(mediator.profile, periode))
            )
        recomputed.append(
            _timed(lambda: _recompute_figures(container, mediator, periode.du, periode.au))
        )
    return Result(
        "stats_read_speedup_10k",
        median(recomputed) / median(aggregated),
        "×",
        ">= 100",
        {
            "median_recompute_ms": round(median(recomputed) * 1000, 1),
            "median_aggregates_ms": round(median(aggregated) * 1000, 2),
            "runs": [len(recomputed), len(aggregated)],
        },
    )


# --- a structure's year ---------------------------------------------------------------------------

STRUCTURE_SIZES = (5, 40)  # mediators
STRUCTURE_ACTIVITIES = 120  # a year, each


def structure_reads(container: Any, stack: Stack, rnd: random.Random) -> list[Result]:
    """Case 4 for a gestionnaire de structure: the stats-table items one view of a past year
    reads, with 5 and 40 mediators in the structure, from the structure's own buckets; beside
    it, what summing the members' buckets at read time (the design before) reads."""
    import uuid

    from chalicelib.domain.dates import Periode

    year = container.calendar.today().year - 1
    periode = Periode(date(year, 1, 1), date(year, 12, 31))
    meter = dynamodb_meter()
    stats_table = stack.names.table("stats")
    found: dict[int, tuple[int, int, int]] = {}
    for size in STRUCTURE_SIZES:
        siret = "7" + str(uuid.uuid4().int)[:13]
        members = []
        for n in range(size):
            mediator = seed.new_mediator(container, f"structure{size}m{n}", siret=siret)
            mediator.people = seed.seed_people(container, mediator.id, 12, rnd)
            mediator.arrive_over(seed.days_of_year(year), rnd)
            with streams_off(stack.names.table("activities")):
                for _ in seed.seed_activities(
                    mediator, STRUCTURE_ACTIVITIES, seed.days_of_year(year), rnd
                ):
                    pass
            build_aggregates(container, mediator, _months(year))
            members.append(mediator)
        for month in _months(year):
            container.projector.recompute(Owner.structure(siret), month)
        with meter.counting():
            answer = container.statistics.structure_figures(siret, periode)
        assert answer["accompagnements"]["total"] >= size * STRUCTURE_ACTIVITIES, answer
        own = meter.by_table[stats_table]
        app_items = meter.items_read - own
        with meter.counting():
            for mediator in members:
                container.statistics.figures(mediator.profile, periode)
        found[size] = (own, meter.by_table[stats_table], app_items)
    same = len({own for own, _, _ in found.values()}) == 1
    return [
        Result(
            f"stats_structure_items_read_{size}_mediators",
            own,
            "items",
            "<= 24, same at 5 and 40 mediators",
            {
                "summing_members_buckets_items": summed,
                "profile_and_lieux_items_for_labels": app_items,
                "activities": size * STRUCTURE_ACTIVITIES,
                "same_at_every_size": same,
            },
            also=same,
        )
        for size, (own, summed, app_items) in found.items()
    ]


# --- the stream ---------------------------------------------------------------------------------


@dataclass
class Op:
    kind: str  # create | edit | delete
    mediator: seed.Mediator


def stream_ops(mediators: list[seed.Mediator], rnd: random.Random) -> list[Op]:
    """A reporting-peak hour: each mediator records ~5 activities, fixes some, deletes a few
    (70 % creates, 20 % edits, 10 % deletes); mediators interleave in time."""
    kinds = rnd.choices(("create", "edit", "delete"), (7, 2, 1), k=STREAM_OPS)
    return [Op(kind, mediators[i % len(mediators)]) for i, kind in enumerate(kinds)]


class StreamReader:
    """The activities table's moto stream, from a point on, as Lambda hands records over."""

    def __init__(self, stack: Stack) -> None:
        import boto3

        dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name=REGION)
        table = dynamodb.describe_table(TableName=stack.names.table("activities"))["Table"]
        self.arn = table["LatestStreamArn"]
        self._streams = boto3.client(
            "dynamodbstreams", endpoint_url=stack.endpoint, region_name=REGION
        )
        shards = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self._iterators = {
            s["ShardId"]: self._streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=s["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for s in shards
        }

    def records(self) -> Iterator[dict[str, Any]]:
        from infra.local.pump import stream_event_record

        for shard_id, iterator in list(self._iterators.items()):
            while iterator:
                page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                for record in page.get("Records", []):
                    yield stream_event_record(record, self.arn, REGION)
                if not page.get("Records"):
                    break


def _apply(container: Any, op: Op, rnd: random.Random, mine: dict[str, list[Any]]) -> None:
    today = container.calendar.today()
    days = [today - timedelta(days=n) for n in range(today.day)] or [today]
    profile = op.mediator.profile
    own = mine.setdefault(op.mediator.id, [])
    if op.kind == "create" or not own:
        data = seed.activity_input(rnd, op.mediator, rnd.choice(days))
        own.append(container.activities.record(profile, data).activite)
        return
    current = own.pop(rnd.randrange(len(own)))
    if op.kind == "delete":
        container.activities.remove(op.mediator.id, current.id, current.version)
        return
    data = seed.activity_input(rnd, op.mediator, current.date)
    while data.type != current.type:  # the form is the type's: an edit keeps it
        data = seed.activity_input(rnd, op.mediator, current.date)
    own.append(container.activities.modify(profile, current.id, data, current.version))


def _stream_mediators(container: Any, stack: Stack, rnd: random.Random) -> list[seed.Mediator]:
    today = container.calendar.today()
    month = today.strftime("%Y-%m")
    days = [today - timedelta(days=n) for n in range(today.day)]
    mediators = []
    with streams_off(stack.names.table("activities")):
        for n in range(STREAM_MEDIATORS):
            siret = f"6{n // STREAM_STRUCTURE_SIZE:013d}"
            mediator = seed.new_mediator(container, f"stream{n}", siret=siret)
            mediator.people = seed.seed_people(container, mediator.id, 10, rnd)
            for _ in seed.seed_activities(mediator, EARLIER_THIS_MONTH, days, rnd):
                pass
            mediators.append(mediator)
    for mediator in mediators:  # the stream pipeline never writes the newcomers items
        build_aggregates(container, mediator, [month], newcomers=False)
    for siret in {m.profile.mediateur.siret for m in mediators}:
        assert siret
        container.projector.recompute(Owner.structure(siret), month)
    return mediators


def stream_pipeline(container: Any, stack: Stack, rnd: random.Random) -> list[Result]:
    from chalicelib.stats.handlers import on_activity_records
    from chalicelib.store.stream import changes_of

    started = time.perf_counter()
    mediators = _stream_mediators(container, stack, rnd)
    reader = StreamReader(stack)
    mine: dict[str, list[Any]] = {}
    setup = time.perf_counter() - started
    started = time.perf_counter()
    for op in stream_ops(mediators, rnd):
        _apply(container, op, rnd, mine)
    writes = time.perf_counter() - started
    records = list(reader.records())
    batches = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
    meter = write_meter()
    handled = []
    meter.enabled = True
    for batch in batches:
        handled.append(_timed(lambda batch=batch: on_activity_records({"Records": batch})))
    meter.enabled = False
    parsed = [_timed(lambda batch=batch: changes_of(batch)) for batch in batches]
    wcu = meter.units / len(records)
    handler_rate = len(records) / sum(handled)
    parse_rate = len(records) / sum(parsed)
    return [
        Result(
            "aggregate_wcu_per_activity_write",
            wcu,
            "WCU",
            "<= 1.5",
            {
                "records": len(records),
                "batches": len(batches),
                "mediators": len(mediators),
                "activities_already_this_month_each": EARLIER_THIS_MONTH,
                "wcu_total": meter.units,
                "wcu_by_table": dict(meter.by_table),
                "wcu_by_owner": dict(meter.by_owner),
                "mediators_per_structure": STREAM_STRUCTURE_SIZE,
                "writes_by_operation": dict(meter.writes),
                "setup_s": round(setup, 1),
                "activity_writes_s": round(writes, 1),
            },
        ),
        Result(
            "stream_records_per_s",
            handler_rate / parse_rate,
            "× parse-only",
            "report",
            {
                "handler_records_per_s": round(handler_rate, 1),
                "parse_only_records_per_s": round(parse_rate, 1),
                "median_batch_ms": round(median(handled) * 1000, 1),
            },
        ),
    ]
