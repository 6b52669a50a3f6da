"""Add valid bytecode to a Lambda deployment zip.

Lambda's /var/task is read-only: without .pyc files every cold start compiles every module
(≈ 2.8× slower imports). Timestamp-based .pyc would be ignored because zip entries carry other
mtimes, so they are compiled with `unchecked-hash` invalidation. The zip is rewritten with
fixed timestamps so that two builds of the same sources give the same bytes.

    python -m infra.bytecode build/prod/deployment.zip
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def add_bytecode(zip_path: Path) -> int:
    if sys.version_info[:2] != (3, 11):
        raise SystemExit("the Lambda runtime is Python 3.11: compile with Python 3.11")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "package"
        with zipfile.ZipFile(zip_path) as source:
            source.extractall(root)
            modes = {info.filename: info.external_attr for info in source.infolist()}
        compileall.compile_dir(
            str(root),
            quiet=1,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        rebuilt = zip_path.with_suffix(".tmp")
        count = 0
        with zipfile.ZipFile(
            rebuilt, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
        ) as target:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                name = path.relative_to(root).as_posix()
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.external_attr = modes.get(name, 0o644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, path.read_bytes())
                count += name.endswith(".pyc")
        shutil.move(rebuilt, zip_path)
    return count


def main(argv: list[str]) -> int:
    for name in argv[1:]:
        count = add_bytecode(Path(name))
        print(f"{name}: {count} compiled modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
