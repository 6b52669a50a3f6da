"""Case 6: an xlsx export of 100 000 activities through the real worker.

The parent (which runs the embedded AWS) seeds the activities and requests the export through
the real service (request item + SQS message). A fresh worker process — like a Lambda
container — receives the message from the queue and hands it to the real handler: rows are
read from DynamoDB page by page, spooled, written by XlsxWriter and uploaded to S3. It reports
its wall time and its peak RSS (VmHWM). Another fresh process reads the same export's rows the
same way and times the stdlib `csv` module writing them: the ratio compares the whole export to
the cheapest possible file of the same rows. 10 000 activities give the RSS growth.

    python -m bench.export_bench worker|csv   (the child processes; env from the parent)
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from bench import seed
from bench.common import ROOT, Result, Stack, app_env, streams_off

SIZES = (10_000, 100_000)
CSV_SAMPLE = 10_000  # rows written by the csv baseline (a rate: a sample is enough)


def _peak_rss_mb() -> float:
    """VmHWM: the peak resident set of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _received(queue_url: str) -> dict[str, Any]:
    """The export message as Lambda's SQS event source hands it over."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for _ in range(20):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            return {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
            }
    raise SystemExit("no export message in the queue")


def run_worker() -> dict[str, Any]:
    from chalicelib.exports.handlers import on_export_messages

    record = _received(os.environ["EXPORT_QUEUE_URL"])
    started = time.perf_counter()
    on_export_messages({"Records": [record]})
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "message": record["body"]}


def run_csv(message: str) -> dict[str, Any]:
    """The same export's rows, read the same way, written by the stdlib csv module."""
    from chalicelib import bootstrap
    from chalicelib.domain.exports import parse_message

    key = parse_message(message)
    assert key is not None
    worker = bootstrap.get().export_worker
    export = worker._store.find(key.scope, key.owner, key.id)
    assert export is not None
    plan = worker.plan(export)
    started = time.perf_counter()
    rows = list(islice(plan.rows, CSV_SAMPLE))
    reading = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp) / "x.csv", "w", newline="") as fh:
            started = time.perf_counter()
            writer = csv.writer(fh)
            writer.writerow([c.titre for c in plan.columns])
            writer.writerows(rows)
            fh.flush()
            seconds = time.perf_counter() - started
        xlsx = _xlsx_only(plan, rows, Path(tmp) / "x.xlsx")
    return {
        "rows": len(rows),
        "seconds": seconds,
        "columns": len(plan.columns),
        "read_rows_per_s": len(rows) / reading,
        "xlsx_writer_rows_per_s": len(rows) / xlsx,
    }


def _xlsx_only(plan: Any, rows: list[Any], path: Path) -> float:
    """The app's own xlsx writer alone on the same rows (information: where the time goes)."""
    from datetime import UTC, datetime

    from chalicelib.exports.writers import Sheet, write_xlsx

    sheet = Sheet(
        name=plan.name,
        title=plan.title,
        columns=plan.columns,
        preamble=(("Total", str(len(rows))),),
        created=datetime.now(UTC),
    )
    started = time.perf_counter()
    write_xlsx(path, sheet, iter(rows))
    return time.perf_counter() - started


def _child(mode: str, stack: Stack, *args: str) -> dict[str, Any]:
    env = {**os.environ, **app_env(stack), "PYTHONPATH": str(ROOT)}
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    answer = subprocess.run(  # noqa: S603 - this interpreter, our module
        [sys.executable, "-m", "bench.export_bench", mode, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        raise RuntimeError(f"export {mode} failed: {answer.stderr[-2000:]}")
    return dict(json.loads(answer.stdout.strip().splitlines()[-1]))


def _request(container: Any, mediator: seed.Mediator) -> Any:
    from chalicelib.domain.exports import ExportRequest

    return container.exports.request(
        mediator.profile.mediateur, set(mediator.lieux), ExportRequest("activites", "xlsx")
    )


def export_cases(container: Any, stack: Stack, rnd: random.Random) -> list[Result]:
    runs = {}
    year = container.calendar.today().year - 1
    days = seed.days_of_year(year) + seed.days_of_year(year - 1)
    for size in SIZES:
        mediator = seed.new_mediator(container, f"export{size}")
        mediator.people = seed.seed_people(container, mediator.id, 300, rnd)
        with streams_off(stack.names.table("activities")):
            for _ in seed.seed_activities(mediator, size, days, rnd):
                pass
        export = _request(container, mediator)
        worker = _child("worker", stack)
        done = container.exports.get(mediator.profile.mediateur, export.id)
        assert done.statut == "pret", done.statut
        assert done.lignes == size, (done.lignes, size)
        runs[size] = {**worker, "rows": size, "bytes": done.taille}
    big = runs[SIZES[-1]]
    baseline = _child("csv", stack, big["message"])
    export_rate = big["rows"] / big["seconds"]
    csv_rate = baseline["rows"] / baseline["seconds"]
    raw = {
        "export_rows_per_s": round(export_rate),
        "csv_rows_per_s": round(csv_rate),
        "columns": baseline["columns"],
        "export_seconds_100k": round(big["seconds"], 1),
        "of_which_read_rows_per_s": round(baseline["read_rows_per_s"]),
        "of_which_xlsx_writer_rows_per_s": round(baseline["xlsx_writer_rows_per_s"]),
        "xlsx_bytes_100k": big["bytes"],
    }
    small = runs[SIZES[0]]
    return [
        Result("export_speed_vs_csv_100k", export_rate / csv_rate, "× csv", ">= 0.0667", raw),
        Result(
            "export_peak_rss_mb_100k",
            big["peak_rss_mb"],
            "MB",
            "<= 256",
            {"peak_rss_mb_10k": round(small["peak_rss_mb"], 1)},
        ),
        Result(
            "export_rss_growth_100k_vs_10k",
            big["peak_rss_mb"] / small["peak_rss_mb"],
            "×",
            "<= 1.3",
            {
                "peak_rss_mb_10k": round(small["peak_rss_mb"], 1),
                "peak_rss_mb_100k": round(big["peak_rss_mb"], 1),
                "export_seconds_10k": round(small["seconds"], 1),
            },
        ),
    ]


def main(argv: list[str]) -> None:
    if argv[0] == "worker":
        print(json.dumps(run_worker()))
    else:
        print(json.dumps(run_csv(argv[1])))


if __name__ == "__main__":
    main(sys.argv[1:])
