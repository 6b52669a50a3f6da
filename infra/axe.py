"""axe-core (the accessibility rules engine) for the browser tests, pinned like DSFR.

``python -m infra.axe`` prints the path of ``axe.min.js``; the browser suite calls :func:`path`.
Same approach as ``infra/build_assets.py``: the npm tarball is fetched once into the git-ignored
``.cache/npm`` with ``npm pack`` and checked against the registry's ``dist.integrity`` on every
use. It is test tooling only, never shipped in the Lambda package.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NPM_CACHE = ROOT / ".cache" / "npm"

AXE_VERSION = "4.10.3"
AXE_PACKAGE = f"axe-core@{AXE_VERSION}"
AXE_TARBALL = f"axe-core-{AXE_VERSION}.tgz"
AXE_INTEGRITY = (
    "sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/"
    "PbZhideTcEg=="
)
MEMBER = "package/axe.min.js"


def path(cache_dir: Path = NPM_CACHE) -> Path:
    """Return the path of the pinned ``axe.min.js``, fetching it with npm when not cached."""
    tarball = fetch_tarball(cache_dir)
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{tarball.name}: {MEMBER} missing")
        data = member.read()
    script = cache_dir / f"axe-core-{AXE_VERSION}.min.js"
    if not script.exists() or script.read_bytes() != data:
        temporary = script.with_suffix(".tmp")
        temporary.write_bytes(data)
        temporary.replace(script)
    return script


def fetch_tarball(cache_dir: Path) -> Path:
    tarball = cache_dir / AXE_TARBALL
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is required to download axe-core (install Node.js)")
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "pack", AXE_PACKAGE, "--pack-destination", str(cache_dir), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")
    if f"sha512-{digest}" != AXE_INTEGRITY:
        tarball.unlink()  # the next run downloads a fresh copy
        raise SystemExit(f"{tarball.name}: integrity mismatch with the pinned {AXE_INTEGRITY}")
    return tarball


if __name__ == "__main__":
    print(path())
