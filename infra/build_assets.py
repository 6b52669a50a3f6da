"""Build the static assets shipped inside the Lambda package: DSFR (pinned npm tarball) + ours.

Run from the repository root: ``python -m infra.build_assets``.

Output (git-ignored, wiped and rebuilt every time)::

    chalicelib/static/manifest.json          version, DSFR version, every servable file
    chalicelib/static/<version>/coop.css     our own stylesheet and script (from assets/)
    chalicelib/static/<version>/coop.js
    chalicelib/static/<version>/dsfr/...     a subset of the package's dist/, same relative layout

The version directory is a hash of every output file, so a URL is never reused for other bytes and
can be cached forever (``immutable``). Text files get a ``.gz`` sibling compressed once here rather
than on every request in the Lambda.
"""

from __future__ import annotations

import base64
import fnmatch
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
NPM_CACHE = ROOT / ".cache" / "npm"
OUR_ASSETS = ROOT / "assets"
OUTPUT = ROOT / "chalicelib" / "static"

# 1.15 changed the licence (gated install): stay on 1.14.x. The integrity is the registry's
# `dist.integrity`; checking it means a tampered or truncated cached tarball is never shipped.
DSFR_VERSION = "1.14.4"
DSFR_PACKAGE = f"@gouvfr/dsfr@{DSFR_VERSION}"
DSFR_TARBALL = f"gouvfr-dsfr-{DSFR_VERSION}.tgz"
DSFR_INTEGRITY = (
    "sha512-Ca17apmTyAF2tMFwMcLwQN7fTlbfMFeyYSLUIUmjoSg1XVF4vDDk"
    "bvvKBpWJWaoTLDSFZBbvvHzcDyxw9wSkLA=="
)

# Paths relative to the package's dist/. The fonts are woff2 only: every @font-face lists woff2
# first, and every browser that runs the DSFR reads woff2, so woff/ttf would be dead weight.
DSFR_DIST_PATTERNS = (
    "dsfr.min.css",
    "utility/icons/icons.min.css",
    "fonts/*.woff2",
    "icons/*/*.svg",
    "favicon/*",
)
# Copied next to the dist files: the MIT licence requires shipping it with the code.
DSFR_EXTRA_FILES = {"LICENSE.md": "dsfr/LICENSE.md"}
OUR_FILES = ("coop.css", "coop.js")

# The icon utility sheet defines ~1 700 classes (355 KB, render-blocking); pages use a few dozen.
# It is shipped reduced to the `fr-icon-*` classes named in our templates, code and scripts.
ICONS_CSS = "dsfr/utility/icons/icons.min.css"
ICON_SOURCES = ("templates/**/*.html", "chalicelib/**/*.py", "assets/*.js")
ICON_CLASS = re.compile(r"\bfr-icon-[a-z0-9]+(?:-[a-z0-9]+)*")

# Bump when the output layout changes, so the version (and every URL) changes with it.
LAYOUT_REVISION = "1"
VERSION_LENGTH = 12

CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
    ".woff2": "font/woff2",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# Already-compressed formats (woff2, png) gain nothing from gzip.
COMPRESSIBLE = {".css", ".js", ".json", ".webmanifest", ".svg", ".md", ".ico"}


@dataclass(frozen=True)
class BuiltFile:
    """One servable file: its raw bytes and, when worth it, a gzip variant."""

    raw: bytes
    gz: bytes | None
    content_type: str


def main() -> dict[str, object]:
    """Fetch DSFR if needed, build the output tree and return the manifest written."""
    tarball = fetch_dsfr(NPM_CACHE)
    sources = read_dsfr(tarball) | read_our_assets(OUR_ASSETS)
    icons = subset_icons(sources[ICONS_CSS].decode("utf-8"), used_icons(ROOT))
    sources[ICONS_CSS] = icons.encode("utf-8")
    files = {path: build_file(path, data) for path, data in sorted(sources.items())}
    version = content_version(sources)
    manifest = make_manifest(version, files)
    write_output(OUTPUT, version, files, manifest)
    print_summary(version, files)
    return manifest


def fetch_dsfr(cache_dir: Path) -> Path:
    """Return the pinned DSFR tarball, downloading it with npm only when it is not cached."""
    tarball = cache_dir / DSFR_TARBALL
    if not tarball.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", DSFR_PACKAGE, "--pack-destination", str(cache_dir), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    check_integrity(tarball)
    return tarball


def check_integrity(tarball: Path) -> None:
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")
    if f"sha512-{digest}" != DSFR_INTEGRITY:
        raise SystemExit(f"{tarball}: integrity mismatch; delete it and build again")


def read_dsfr(tarball: Path) -> dict[str, bytes]:
    """Read the selected DSFR files straight from the tarball (nothing is extracted to disk)."""
    selected: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            target = dsfr_target(member.name)
            if target is None or not member.isfile():
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                selected[target] = extracted.read()
    check_package_version(selected)
    return selected


def dsfr_target(member_name: str) -> str | None:
    """Map a tarball member to its output path under ``dsfr/``, or None if we don't ship it."""
    if not member_name.startswith("package/"):
        return None
    package_path = member_name.removeprefix("package/")
    if package_path in DSFR_EXTRA_FILES:
        return DSFR_EXTRA_FILES[package_path]
    if package_path == "package.json":
        return "package.json"  # read for the version check only, dropped afterwards
    dist_path = package_path.removeprefix("dist/")
    if dist_path == package_path or not is_safe_relative(dist_path):
        return None
    if any(fnmatch.fnmatchcase(dist_path, pattern) for pattern in DSFR_DIST_PATTERNS):
        return f"dsfr/{dist_path}"
    return None


def is_safe_relative(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and "\\" not in path


def check_package_version(selected: dict[str, bytes]) -> None:
    package = json.loads(selected.pop("package.json"))
    if package["version"] != DSFR_VERSION:
        raise SystemExit(f"expected DSFR {DSFR_VERSION}, tarball holds {package['version']}")
    if "dsfr/dsfr.min.css" not in selected or "dsfr/LICENSE.md" not in selected:
        raise SystemExit("DSFR tarball layout changed: dsfr.min.css or LICENSE.md missing")


def used_icons(root: Path) -> set[str]:
    """Every `fr-icon-…` class written in the templates, the Python code and our scripts."""
    used: set[str] = set()
    for pattern in ICON_SOURCES:
        for path in root.glob(pattern):
            if "static" not in path.relative_to(root).parts:
                used.update(ICON_CLASS.findall(path.read_text(encoding="utf-8")))
    return used


def subset_icons(css: str, used: set[str]) -> str:
    """Keep the licence comment and the rules (top level or inside @media) whose selectors name
    a used icon class, each reduced to its selectors for used classes; drop emptied @media."""
    licence = css[: css.index("*/") + 2] if css.startswith("/*") else ""
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.S)

    def keep(selectors: str) -> str:
        kept = [
            sel
            for sel in selectors.split(",")
            if (match := ICON_CLASS.search(sel)) is not None and match.group(0) in used
        ]
        return ",".join(kept)

    def rules(text: str) -> str:
        out = []
        for selectors, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
            kept = keep(selectors.strip())
            if kept:
                out.append(f"{kept}{{{declarations}}}")
        return "".join(out)

    out = []
    position = 0
    for media in re.finditer(r"(@media[^{]+)\{((?:[^{}]*\{[^{}]*\})*[^{}]*)\}", body):
        out.append(rules(body[position : media.start()]))
        inner = rules(media.group(2))
        if inner:
            out.append(f"{media.group(1).strip()}{{{inner}}}")
        position = media.end()
    out.append(rules(body[position:]))
    return licence + "".join(out) + "\n"


def read_our_assets(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in OUR_FILES}


def build_file(path: str, raw: bytes) -> BuiltFile:
    suffix = PurePosixPath(path).suffix
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None:
        raise SystemExit(f"{path}: no content type for {suffix!r}; add it to CONTENT_TYPES")
    gz = compress(raw) if suffix in COMPRESSIBLE else None
    # Tiny SVGs can grow when gzipped: then the raw file is the better answer for everybody.
    if gz is not None and len(gz) >= len(raw):
        gz = None
    return BuiltFile(raw=raw, gz=gz, content_type=content_type)


def compress(data: bytes) -> bytes:
    # mtime=0 and no file name in the header: same input, same bytes, on every machine.
    return gzip.compress(data, compresslevel=9, mtime=0)


def content_version(sources: dict[str, bytes]) -> str:
    """Hash of every path and content: any change anywhere gives new URLs."""
    digest = hashlib.sha256(f"coop-static-layout-{LAYOUT_REVISION}\0".encode())
    for path in sorted(sources):
        digest.update(path.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(sources[path]).digest())
    return digest.hexdigest()[:VERSION_LENGTH]


def make_manifest(version: str, files: dict[str, BuiltFile]) -> dict[str, object]:
    entries = {
        path: {
            "type": built.content_type,
            "size": len(built.raw),
            "gz": built.gz is not None,
            # Per-file hash: the server derives ETags from it without reading the file.
            "sha256": hashlib.sha256(built.raw).hexdigest()[:16],
        }
        for path, built in files.items()
    }
    return {"version": version, "dsfr": DSFR_VERSION, "files": entries}


def write_output(
    output: Path, version: str, files: dict[str, BuiltFile], manifest: dict[str, object]
) -> None:
    """Write into a sibling directory, then swap: a running dev server never sees half a tree."""
    staging = output.with_name(output.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    version_dir = staging / version
    for path, built in files.items():
        target = version_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(built.raw)
        if built.gz is not None:
            target.with_name(target.name + ".gz").write_bytes(built.gz)
    # Compact: it is parsed on every cold start (`python -m json.tool` makes it readable).
    manifest_text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    (staging / "manifest.json").write_text(manifest_text + "\n", encoding="utf-8")
    swap_directories(staging, output)


def swap_directories(staging: Path, output: Path) -> None:
    previous = output.with_name(output.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if output.exists():
        output.rename(previous)
    staging.rename(output)
    shutil.rmtree(previous, ignore_errors=True)


def print_summary(version: str, files: dict[str, BuiltFile]) -> None:
    print(f"static assets {version} (DSFR {DSFR_VERSION}) → {OUTPUT.relative_to(ROOT)}/{version}")
    groups = {
        "css": (".css",),
        "js": (".js",),
        "fonts": (".woff2",),
        "icons": (".svg",),
        "other": (".png", ".ico", ".webmanifest", ".md", ".json"),
    }
    for label, suffixes in groups.items():
        selected = [built for path, built in files.items() if path.endswith(suffixes)]
        print(f"  {label:<6} {len(selected):>5} files  {format_sizes(selected)}")
    print(f"  total  {len(files):>5} files  {format_sizes(list(files.values()))}")


def format_sizes(files: list[BuiltFile]) -> str:
    raw = sum(len(built.raw) for built in files)
    # What a gzip-accepting browser downloads: the gz variant when there is one.
    served = sum(len(built.gz if built.gz is not None else built.raw) for built in files)
    return f"raw {raw / 1024:8.1f} KiB  served gzip {served / 1024:8.1f} KiB"


if __name__ == "__main__":
    main()
