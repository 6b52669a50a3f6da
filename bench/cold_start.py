"""Cases 1 and 2: what a Lambda cold start pays to import the app.

1. `import app` ÷ `import boto3`, both net of an empty interpreter (`python -c pass`), fresh
   processes interleaved round by round so that a noisy neighbour hits all three alike.
2. `import app` from the unzipped deployment package as Lambda runs it (read-only: nothing is
   compiled or written, `PYTHONDONTWRITEBYTECODE=1`) ÷ the same import once Python has written
   every missing `__pycache__` entry: 1.0 when the package ships complete bytecode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from bench.common import ROOT, Result, median

ROUNDS = 15
PROD_ENV = {
    "STAGE": "prod",
    "TABLE_PREFIX": "coop-prod",
    "EXPORT_BUCKET": "coop-prod-exports",
    "EXPORT_QUEUE_URL": "https://sqs.eu-west-3.amazonaws.com/000000000000/coop-prod-exports",
    "PUBLIC_URL": "https://coop.example.gouv.fr",
    "OIDC_ISSUER": "https://auth.agentconnect.gouv.fr/api/v2",
    "OIDC_CLIENT_ID": "coop",
    "OIDC_CLIENT_SECRET_PARAMETER": "/coop/prod/proconnect/client_secret",
    "POWERTOOLS_SERVICE_NAME": "coop",
    "POWERTOOLS_METRICS_NAMESPACE": "Coop",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "SESSION_IDLE_SECONDS": "7200",
    "SESSION_ABSOLUTE_SECONDS": "43200",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_REGION": "eu-west-3",
}


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PROD_ENV)
    env.update(extra or {})
    return env


def _run(code: str, cwd: Path, env: Mapping[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)  # noqa: S603
    return time.perf_counter() - started


def _interleaved(variants: dict[str, tuple[str, Path, dict[str, str]]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for name in names:  # warm the OS page cache and __pycache__ where it may be written
        _run(*variants[name])
    for round_ in range(ROUNDS):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # rotate the order every round
            times[name].append(_run(*variants[name]))
    return times


def cold_start_import_ratio() -> Result:
    env = _env()
    times = _interleaved(
        {
            "pass": ("pass", ROOT, env),
            "boto3": ("import boto3", ROOT, env),
            "app": ("import app", ROOT, env),
        }
    )
    base = median(times["pass"])
    app_net = median(times["app"]) - base
    boto3_net = median(times["boto3"]) - base
    return Result(
        "cold_start_import_ratio",
        app_net / boto3_net,
        "×",
        "<= 1.6",
        {
            "median_pass_ms": round(base * 1000, 1),
            "median_import_boto3_ms": round(median(times["boto3"]) * 1000, 1),
            "median_import_app_ms": round(median(times["app"]) * 1000, 1),
            "import_app_net_ms": round(app_net * 1000, 1),
            "import_boto3_net_ms": round(boto3_net * 1000, 1),
            "rounds": ROUNDS,
        },
    )


def _has_python_sources(path: Path) -> bool:
    return any(path.rglob("*.py"))


def packaged_bytecode_ratio(package: Path) -> Result:
    with tempfile.TemporaryDirectory(prefix="coop-bench-zip-") as tmp:
        shipped, warm = Path(tmp) / "shipped", Path(tmp) / "warm"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(shipped)
        shutil.copytree(shipped, warm)
        assert _has_python_sources(shipped), f"no Python sources in {package}"
        pyc = sum(1 for _ in shipped.rglob("*.pyc"))
        # The warm copy: Python writes whatever bytecode it finds missing, once.
        _run("import app", warm, _env())
        readonly = _env({"PYTHONDONTWRITEBYTECODE": "1"})
        # -I would drop the venv's site-packages: boto3 & co come from the runtime, like Lambda.
        times = _interleaved(
            {
                "pass": ("pass", shipped, readonly),
                "shipped": ("import app", shipped, readonly),
                "warm": ("import app", warm, readonly),
            }
        )
        written = sum(1 for _ in warm.rglob("*.pyc")) - pyc
    base = median(times["pass"])
    shipped_net = median(times["shipped"]) - base
    warm_net = median(times["warm"]) - base
    return Result(
        "packaged_bytecode_ratio",
        shipped_net / warm_net,
        "×",
        "<= 1.2",
        {
            "median_pass_ms": round(base * 1000, 1),
            "median_import_shipped_ms": round(median(times["shipped"]) * 1000, 1),
            "median_import_warm_pycache_ms": round(median(times["warm"]) * 1000, 1),
            "pyc_in_zip": pyc,
            "pyc_missing_from_zip": written,
            "rounds": ROUNDS,
            "zip_bytes": package.stat().st_size,
        },
    )
