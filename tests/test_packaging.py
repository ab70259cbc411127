"""The repository builds anywhere: no machine's paths in it, a clean setuptools config."""

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
# Folders of one machine: the project's own work folder, scratch space, home folders.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:" + "|".join(["work", "tmp", "root", "home"]) + r")/")


def tracked_text_files() -> list[Path]:
    try:
        names = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if ".venv" not in p.parts]
    files = []
    for name in names:
        path = ROOT / name
        if path.is_file() and path.suffix in {
            ".py",
            ".sh",
            ".toml",
            ".yaml",
            ".md",
            ".json",
            ".csv",
            ".cfg",
            ".txt",
            "",
        }:
            files.append(path)
    return files


def test_no_absolute_paths_of_one_machine():
    found = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            if MACHINE_PATH.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_setuptools_config_is_current():
    """No license-table deprecation (an SPDX string, setuptools >= 77), and every data
    folder the installed package needs (the demo's fixtures) listed as a package: setuptools
    warns that installing unlisted folders as data is deprecated."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["license"] == "MIT"
    assert any(r.startswith("setuptools>=77") for r in config["build-system"]["requires"])
    tool = config["tool"]["setuptools"]
    packages = set(tool["packages"])
    for pkg, folder in tool["package-dir"].items():
        for sub in sorted(p for p in (ROOT / folder).iterdir() if p.is_dir()):
            if sub.name.isidentifier() and any(f.is_file() for f in sub.iterdir()):
                assert f"{pkg}.{sub.name}" in packages, f"{sub} is not listed as a package"
                if not (sub / "__init__.py").exists():  # a folder of data: its files listed
                    assert tool["package-data"].get(f"{pkg}.{sub.name}"), f"{sub}: no data"
