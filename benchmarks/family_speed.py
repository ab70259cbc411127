"""Time per picture of each hash family's library codes, on the bundled fixture photographs
at postcheck's working size (what indexing a picture costs per family), and PDQ on the
full-size decoded file (what a hash list's producer computes).

    .venv/bin/python benchmarks/family_speed.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from postcheck.verifiers import perceptual
from postcheck.verifiers.families import families
from postcheck.verifiers.families.pdq import pdq

PHOTOS = sorted((Path(__file__).parents[1] / "fixtures" / "known").glob("*.jpg"))


def _ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    views = [perceptual.library_view(p) for p in PHOTOS]
    table = Table(title=f"ms per picture, median of {args.rounds} ({len(PHOTOS)} photos)")
    table.add_column("family")
    table.add_column("ms / picture", justify="right")
    for name, family in families().items():
        per = [_ms(lambda v=v, f=family: f.library_codes(v), args.rounds) for v in views]
        table.add_row(name, f"{statistics.mean(per):.2f}")
    full = [np.asarray(Image.open(p).convert("RGB")) for p in PHOTOS]
    per = [_ms(lambda a=a: pdq(a), args.rounds) for a in full]
    sizes = ", ".join(f"{a.shape[1]}×{a.shape[0]}" for a in full)
    table.add_row(f"pdq, full decoded file ({sizes})", f"{statistics.mean(per):.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
