"""Check the layer rules (the import-linter contracts in pyproject.toml); `make test` runs it.

flows/, verifiers/ and fixtures/ install as postcheck.flows, postcheck.verifiers and
postcheck.fixtures (setup.py's package-dir mapping), which import-linter cannot see in the
source tree: it needs one folder per package. So the package is laid out as it installs,
with symlinks in a temporary folder, and linted there. Exit status: import-linter's.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"flows": "flows", "verifiers": "verifiers", "fixtures": "fixtures"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="postcheck-layers-") as tmp:
        package = Path(tmp) / "postcheck"
        package.mkdir()
        for entry in (ROOT / "postcheck").iterdir():
            if entry.name != "__pycache__":
                (package / entry.name).symlink_to(entry)
        for name, folder in MAPPED.items():
            (package / name).symlink_to(ROOT / folder)
        sys.path.insert(0, tmp)
        importlib.import_module("postcheck")  # this layout, not the editable install's
        os.chdir(ROOT)  # pyproject.toml holds the contracts
        from importlinter.cli import lint_imports

        return lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)


if __name__ == "__main__":
    raise SystemExit(main())
