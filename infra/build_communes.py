"""Build `chalicelib/data/communes.json.gz`, the French communes reference, from pinned npm data.

Run from the repository root: `python -m infra.build_communes` (`make assets` does it).

Source: `@etalab/decoupage-administratif` (Etalab / data.gouv.fr), built from the INSEE Code
Officiel Géographique, INSEE legal populations and the La Poste postal codes base. Data under
Licence Ouverte, code under MIT: see `chalicelib/data/LICENCE-communes.md`.

What we keep, and why:
- `commune-actuelle`: the communes that exist today (the ones a beneficiary lives in).
- `arrondissement-municipal`: the 45 arrondissements of Paris, Lyon and Marseille. People say
  "Lyon 3e" and each has its own postal code, so mediators must be able to pick them. The parent
  commune (Paris 75056, Lyon 69123, Marseille 13055) is kept as well.
- Dropped: `commune-deleguee` / `commune-associee` (former communes merged into another one: their
  INSEE code is no longer current) and the 5 districts of the TAAF (984xx), which have no postal
  code and no permanent inhabitants.

Output: gzip of a compact JSON object `{"source", "fields", "rows"}`; each row is
`[insee, nom, [codes postaux], departement, population]`, rows sorted by INSEE code. The
population (0 when unknown) is only used to rank search results. The bytes are deterministic
(gzip mtime=0, sorted rows, no timestamp), so a rebuild never shows up as a change.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"  # millésime 2026 (COG au 1er janvier 2026)
# npm "integrity" of the tarball: a cached or re-downloaded file that differs is refused.
INTEGRITY = (
    "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/"
    "7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ=="
)
TARBALL_NAME = f"etalab-decoupage-administratif-{VERSION}.tgz"
MEMBER = "package/data/communes.json"
KEPT_TYPES = frozenset({"commune-actuelle", "arrondissement-municipal"})
FIELDS = ["insee", "nom", "codes_postaux", "departement", "population"]

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache" / "npm"
OUTPUT = ROOT / "chalicelib" / "data" / "communes.json.gz"


def integrity_of(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def fetch_tarball(cache_dir: Path = CACHE_DIR) -> Path:
    """Return the pinned tarball, downloading it with `npm pack` only when it is not cached."""
    tarball = cache_dir / TARBALL_NAME
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is required to download the communes dataset (install Node.js)")
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(cache_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    actual = integrity_of(tarball)
    if actual != INTEGRITY:
        tarball.unlink()  # so that the next run downloads a fresh copy
        raise SystemExit(
            f"{tarball.name}: integrity {actual} does not match the pinned {INTEGRITY}"
        )
    return tarball


def read_communes(tarball: Path) -> list[dict[str, Any]]:
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{MEMBER} not found in {tarball.name}")
        data: list[dict[str, Any]] = json.load(member)
    return data


def to_rows(communes: list[dict[str, Any]]) -> list[list[Any]]:
    rows = [
        [
            c["code"],
            c["nom"],
            sorted(set(c["codesPostaux"])),
            c["departement"],
            int(c.get("population") or 0),
        ]
        for c in communes
        if c.get("type") in KEPT_TYPES and c.get("codesPostaux")
    ]
    rows.sort(key=lambda row: row[0])
    return rows


def encode(rows: list[list[Any]]) -> bytes:
    document = {"source": f"{PACKAGE}@{VERSION}", "fields": FIELDS, "rows": rows}
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    # mtime=0 and no file name in the header: same input, same bytes.
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def write_atomically(path: Path, payload: bytes) -> None:
    """Readers (tests, `chalice local`) never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
        # mkstemp creates 0600; the Lambda runtime user must be able to read the packaged file.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def build(output: Path = OUTPUT, cache_dir: Path = CACHE_DIR) -> int:
    """Build the reference file; return the number of communes written."""
    rows = to_rows(read_communes(fetch_tarball(cache_dir)))
    write_atomically(output, encode(rows))
    return len(rows)


def main() -> int:
    count = build()
    size = OUTPUT.stat().st_size
    print(
        f"{OUTPUT.relative_to(ROOT)}: {count} communes, {size / 1024:.0f} KiB ({PACKAGE}@{VERSION})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
