"""`python -m bench [--only NAME,...] [--package build/prod/deployment.zip]`: run the cases,
write bench/results.json and print the table (see bench/README.md)."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, Result

GROUPS = ("cold_start", "package", "cra", "search", "stats", "structure", "stream", "export")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(GROUPS), help="groups: " + ", ".join(GROUPS))
    parser.add_argument("--package", default=str(ROOT / "build/prod/deployment.zip"))
    parser.add_argument("--output", default=str(ROOT / "bench/results.json"))
    parser.add_argument("--seed", type=int, default=20240611, help="random data seed")
    return parser


def _fmt(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def table(results: list[Result]) -> str:
    rows = [("case", "value", "unit", "target", "ok")]
    rows += [(r.name, _fmt(r.value), r.unit, r.target, "yes" if r.ok else "NO") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def details(results: list[Result]) -> str:
    """The raw figures each value was computed from (absolute values: information only)."""
    return "\n".join(f"  {r.name}: {json.dumps(r.raw, ensure_ascii=False)}" for r in results)


def _in_process(groups: set[str], rnd: random.Random) -> list[Result]:
    """The cases that run the app in this process, against one embedded AWS."""
    from bench.common import embedded_aws, use_stack

    results: list[Result] = []
    with embedded_aws() as stack:
        steps: list[tuple[str, Callable[[], list[Result]]]] = []
        browser: Any = None
        if groups & {"cra", "search"}:
            from bench.requests_bench import cra_post, signed_in_browser

            browser = signed_in_browser(stack, "bench.camille@example.org")
            if "cra" in groups:
                steps.append(("cra", lambda: cra_post(browser)))
        container = use_stack(stack) if browser is None else _current()
        if "search" in groups:
            from bench.search_bench import search_cases

            steps.append(("search", lambda: search_cases(container, browser, rnd)))
        if "stream" in groups:
            from bench.stats_bench import stream_pipeline

            steps.append(("stream", lambda: stream_pipeline(container, stack, rnd)))
        if "stats" in groups:
            from bench.stats_bench import stats_reads

            steps.append(("stats", lambda: stats_reads(container, stack, rnd)))
        if "structure" in groups:
            from bench.stats_bench import structure_reads

            steps.append(("structure", lambda: structure_reads(container, stack, rnd)))
        if "export" in groups:
            from bench.export_bench import export_cases

            steps.append(("export", lambda: export_cases(container, stack, rnd)))
        for name, step in steps:
            results += _step(name, step)
    return results


def _current() -> Any:
    from chalicelib import bootstrap

    return bootstrap.get()


def _step(name: str, step: Callable[[], list[Result]]) -> list[Result]:
    started = time.perf_counter()
    print(f"[bench] {name}…", file=sys.stderr, flush=True)
    found = step()
    print(f"[bench] {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = groups - set(GROUPS)
    if unknown:
        raise SystemExit(f"unknown groups: {', '.join(sorted(unknown))}")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    started = time.perf_counter()
    results: list[Result] = []
    if "cold_start" in groups:
        from bench.cold_start import cold_start_import_ratio

        results += _step("cold_start", lambda: [cold_start_import_ratio()])
    if "package" in groups:
        from bench.cold_start import packaged_bytecode_ratio

        results += _step("package", lambda: [packaged_bytecode_ratio(Path(args.package))])
    results += _in_process(groups, random.Random(args.seed))
    elapsed = time.perf_counter() - started
    Path(args.output).write_text(
        json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=False) + "\n"
    )
    print(table(results))
    print(f"\nraw figures (medians, counts):\n{details(results)}")
    print(f"\n{sum(r.ok for r in results)}/{len(results)} targets met in {elapsed:.0f} s")
    output = Path(args.output).resolve()
    print(f"written: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
