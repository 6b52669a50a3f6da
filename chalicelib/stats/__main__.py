"""Ops commands of the statistics, configured from the environment like the Lambda functions
(STAGE, TABLE_PREFIX, AWS_REGION, AWS_ENDPOINT_URL…):

    python -m chalicelib.stats verify [--mediator ID]... [--repair]
        Recompute the aggregates from the activities and print the differences (per mediator and
        month: which counters differ, expected vs stored). Without --mediator: every mediator
        (a Scan of the app table). Exit code 0 when nothing drifted, 1 otherwise; with --repair,
        0 when every drift was repaired.

    python -m chalicelib.stats grant (--email EMAIL | --mediator ID)
        Make an existing mediator gestionnaire de structure of their own structure (SIRET).
        Exit code 0 when granted, 2 when no such mediator (or no structure).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.stats")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="recompute the statistics and report drift")
    check.add_argument("--mediator", action="append", help="a mediator id (repeatable)")
    check.add_argument("--repair", action="store_true", help="rewrite what drifted")
    grant = commands.add_parser("grant", help="make a mediator gestionnaire de structure")
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--mediator")
    return parser


def run_verify(mediateurs: list[str] | None, repair: bool) -> int:
    from chalicelib import bootstrap

    report = bootstrap.get().verifier.verify(mediateurs, repair)
    for line in report.lines():
        print(line)
    if report.failures:
        return 1
    return 0 if (not report.unrepaired if repair else report.ok) else 1


def run_grant(email: str | None, mediateur_id: str | None) -> int:
    from chalicelib import bootstrap
    from chalicelib.domain.errors import NotFound, ValidationFailed

    try:
        granted = bootstrap.get().accounts.grant_gestionnaire(mediateur_id, email)
    except NotFound:
        print("Aucun médiateur ne correspond (ou plusieurs).", file=sys.stderr)
        return 2
    except ValidationFailed as exc:
        print(" ".join(exc.errors.values()), file=sys.stderr)
        return 2
    print(f"médiateur {granted.id}: gestionnaire de la structure {granted.siret}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "verify":
        return run_verify(args.mediator, args.repair)
    return run_grant(args.email, args.mediator)


if __name__ == "__main__":
    sys.exit(main())
