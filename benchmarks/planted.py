"""What the library benchmarks share: the real benchmark originals and their edited
queries (benchmarks/robustness.py's set) as codes, and synthetic libraries of random codes
to plant them in.

The codes are cached in benchmarks/data/planted.pkl (hashing 1,900 queries takes minutes).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DATA = HERE / "data"


def ensure_photos(data: Path = DATA) -> tuple[Path, Path]:
    photos, queries = data / "photos", data / "queries"
    if not photos.is_dir() or len(list(photos.iterdir())) < 100:
        subprocess.run(["bash", str(HERE / "get_photos.sh"), str(photos)], check=True)
    if not (queries / "manifest.json").exists():
        subprocess.run(
            [sys.executable, str(HERE / "edits.py"), str(photos), str(queries)], check=True
        )
    return photos, queries


def _library_codes(path: str) -> tuple[dict[str, bytes], float]:
    from postcheck.verifiers import perceptual

    fp = perceptual.fingerprint(path)
    return {k: bytes.fromhex(v) for k, v in fp.hashes.items()}, fp.colourfulness


def _query_codes(path: str) -> dict[str, list[bytes]]:
    from postcheck.verifiers import perceptual

    query = perceptual.query_print(path)
    return {name: [c.code for c in codes] for name, codes in query.codes.items()}


def planted(data: Path = DATA) -> dict:
    """{'originals': [file], 'library': [(codes, colourfulness)], 'queries': [{file, truth
    (index into originals or None), family, codes: {family: [code]}}]}"""
    cache = data / "planted.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    photos, queries_dir = ensure_photos(data)
    manifest = json.loads((queries_dir / "manifest.json").read_text())
    originals = manifest["originals"]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        library = list(pool.map(_library_codes, [str(photos / f) for f in originals]))
        codes = list(
            pool.map(
                _query_codes,
                [str(queries_dir / q["file"]) for q in manifest["queries"]],
                chunksize=8,
            )
        )
    queries = [
        {
            "file": q["file"],
            "truth": originals.index(q["truth"]) if q["truth"] else None,
            "family": q["family"],
            "codes": c,
        }
        for q, c in zip(manifest["queries"], codes, strict=True)
    ]
    out = {"originals": originals, "library": library, "queries": queries}
    cache.write_bytes(pickle.dumps(out))
    return out


def code_layout() -> dict[str, tuple[int, int]]:
    """family -> (bits, codes per library picture) as the families define them today (a
    family that packs its codes, HashFamily.codes_per_value, keeps that many)."""
    from postcheck.verifiers.families import families
    from postcheck.verifiers.regions import WINDOWS

    per = {"dct256": 2 + len(WINDOWS)}
    return {name: (f.bits, per.get(name, f.codes_per_value)) for name, f in families().items()}


def synthetic_family(n: int, bits: int, per: int, seed: int) -> np.ndarray:
    """Random codes for n pictures, `per` codes each: (n * per, bits / 8) uint8."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n * per, bits // 8), dtype=np.uint8)


def plant_positions(n: int, count: int, seed: int = 7) -> np.ndarray:
    """Where the real originals sit among n pictures (spread, reproducible)."""
    return np.sort(np.random.default_rng(seed).choice(n, count, replace=False))


def query_matrix(codes: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(codes), np.uint8).reshape(len(codes), -1)


def exact_hit(query_codes: dict[str, list[bytes]], library_codes: dict[str, bytes]) -> bool:
    """Would an exact search put this original among the query's candidates (some code of
    some family within that family's threshold)?"""
    from postcheck.verifiers.families import families

    fams = families()
    for key, code in library_codes.items():
        family = key.partition("@")[0]
        for q in query_codes.get(family, []):
            if fams[family].distance(q, code) <= fams[family].threshold:
                return True
    return False
