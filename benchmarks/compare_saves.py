"""Two benchmark runs, query by query: which queries' outcome differs.

    .venv/bin/python benchmarks/compare_saves.py before.json after.json [--stage]

Reads the --save files of benchmarks/robustness.py (or benchmarks/match_speed.py). A
query's outcome is what it was matched to (known ids) and the edits named for each; with
--stage the proof's wording counts too (which stage proved it, the inliers, the NCC).
Prints every query whose outcome differs, then a summary with both runs' timings; exits
1 when an outcome differs, so a script can use it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def outcome(row: dict, stage: bool) -> tuple:
    return tuple(
        sorted((known, tuple(edits), text if stage else "") for known, edits, text in row["found"])
    )


def truth_id(row: dict, originals: list[str] | None) -> str:
    if row["truth"] is None:
        return "unrelated"
    return row["truth"] if originals is None else str(originals.index(row["truth"]) + 1)


def describe(row: dict, stage: bool) -> str:
    if not row["found"]:
        return "nothing"
    return "; ".join(
        f"{known} [{','.join(edits)}]" + (f" ({text})" if stage else "")
        for known, edits, text in row["found"]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--stage", action="store_true", help="the proof's wording counts too")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=Path(__file__).parent / "data" / "queries" / "manifest.json",
        help="to name the true original by its library id",
    )
    args = parser.parse_args()
    before = {r["file"]: r for r in json.loads(args.before.read_text())}
    after = {r["file"]: r for r in json.loads(args.after.read_text())}
    originals = (
        json.loads(args.manifest.read_text())["originals"] if args.manifest.exists() else None
    )
    common = [f for f in before if f in after]
    differ = 0
    for name in common:
        a, b = before[name], after[name]
        if outcome(a, args.stage) != outcome(b, args.stage):
            differ += 1
            print(
                f"{name} ({a['family']}, truth {truth_id(a, originals)}): "
                f"{describe(a, args.stage)}  ->  {describe(b, args.stage)}"
            )
    only = (len(before) - len(common), len(after) - len(common))
    print(
        f"{len(common)} queries in both runs ({only[0]} only in the first, {only[1]} only in "
        f"the second): {differ} with a different outcome"
        + (" (the stage's wording counted)" if args.stage else "")
    )
    for label, run in (("first", before), ("second", after)):
        feat = np.array([run[f]["features_s"] for f in common]) * 1000
        match = np.array([run[f]["match_s"] for f in common]) * 1000
        if len(common):
            print(
                f"  {label}: features median {np.median(feat):.1f} ms; matching median "
                f"{np.median(match):.1f} ms, p95 {np.percentile(match, 95):.1f} ms, "
                f"mean {match.mean():.1f} ms"
            )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
