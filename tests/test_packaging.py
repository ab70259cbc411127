"""The repository builds anywhere: no machine's paths in it, a wheel with every file in it
built without setuptools warnings."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


# Where each folder of the repository installs (setup.py's package_dir).
INSTALLED_AS = {
    "postcheck/": "postcheck/",
    "flows/": "postcheck/flows/",
    "verifiers/": "postcheck/verifiers/",
    "fixtures/": "postcheck/fixtures/",
}
# What setuptools says when the configuration is out of date: the license table
# (SetuptoolsDeprecationWarning) and a folder installed as data without being listed as a
# package ("Package 'postcheck.fixtures.articles' is absent from the `packages`
# configuration").
BUILD_WARNINGS = re.compile(r"deprecat|absent from the .packages.|not listed", re.IGNORECASE)


def test_the_wheel_holds_every_file_and_builds_without_warnings(tmp_path):
    """A wheel built from the tracked files alone (as `pip wheel .` builds it, offline with
    the venv's setuptools) installs every module and data file the package uses, the
    demo's fixtures included, and setuptools warns about nothing in our configuration."""
    try:
        names = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: which files are the repository's is unknown")
    src = tmp_path / "src"
    for name in names:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-v",
            "-w",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-3000:]
    assert not [line for line in log.splitlines() if BUILD_WARNINGS.search(line)]
    [wheel] = (tmp_path / "out").glob("postcheck-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        installed + name.removeprefix(folder)
        for name in names
        for folder, installed in INSTALLED_AS.items()
        if name.startswith(folder)
    }
    assert not sorted(wanted - inside)
    scenarios = json.loads((ROOT / "fixtures" / "scenarios.json").read_text())
    assert f"postcheck/fixtures/{scenarios['known_manifest']}" in inside  # what the demo reads
