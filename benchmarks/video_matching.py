"""Videos through the real pipeline (library in a store, frames sampled and matched):
recall on the fixture cases, false matches on unrelated clips, and the seconds it takes to
check one minute of 720p video end to end (decode, sample, hash, match).

    .venv/bin/python benchmarks/video_matching.py [--bench-dir DIR]

The 720p minute and 24 unrelated clips are made by fixtures/videos/make_videos.py
(--bench-dir; real photos from benchmarks/data/photos when present, else scikit-image's).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).parents[1]
VIDEOS = ROOT / "fixtures" / "videos"
CASES = {  # file: (known caption it must find, offset in seconds if a known video)
    "reupload-lowbitrate.mp4": ("known clip", 0.0),
    "reupload-trimmed.mp4": ("known clip", 4.0),
    "reupload-cropped.mp4": ("known clip", 0.0),
    "reupload-mirrored.mp4": ("known clip", 0.0),
    "new-with-known-photo.mp4": ("koksan 2010", None),
}


def check(path: Path, svc) -> tuple[list, object, float]:
    from postcheck.verifiers import video
    from postcheck.verifiers.video_match import FrameResult, gather

    t0 = time.perf_counter()
    results = []
    settings = svc.settings
    with video.sample_frames(
        path,
        max_duration=settings.max_video_seconds,
        min_interval=settings.video_min_interval,
        max_frames=settings.video_max_frames,
    ) as frames:
        for frame in frames:
            results.append(
                FrameResult(
                    frame.t, [m for m in svc.library.search(frame.image, k=1) if m.is_match]
                )
            )
        info, note = frames.info, frames.note
    evidence, _ = gather(results, info, len(results), note)
    return evidence.matches, evidence, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench-dir", type=Path, default=None)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        bench = args.bench_dir or Path(tmp) / "bench"
        bench.mkdir(parents=True, exist_ok=True)
        if not (bench / "bench-720p-60s.mp4").exists():
            spec = importlib.util.spec_from_file_location("make_videos", VIDEOS / "make_videos.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            photos = ROOT / "benchmarks" / "data" / "photos"
            module.make_bench(bench, photo_dir=photos if photos.is_dir() else None, clips=24)
        os.environ["POSTCHECK_DATA_DIR"] = f"{tmp}/data"
        from postcheck.library import add_known_file
        from postcheck.services import services

        svc = services()
        add_known_file(
            svc,
            VIDEOS / "known-clip.mp4",
            first_seen=datetime(2022, 3, 1, tzinfo=UTC),
            caption="known clip",
        )
        add_known_file(svc, ROOT / "fixtures" / "known" / "koksan-2010.jpg", caption="koksan 2010")
        for name in ("astronaut-2016.jpg", "coffee-2025.jpg", "chelsea-2024.jpg"):
            add_known_file(svc, ROOT / "fixtures" / "known" / name, caption=name)

        table = Table(title="video cases (library: the known clip, the fixture archive's photos)")
        for col in (
            "video",
            "must find",
            "found",
            "offset",
            "span in the post",
            "frames",
            "seconds",
        ):
            table.add_column(col)
        for name, (caption, offset) in CASES.items():
            matches, evidence, secs = check(VIDEOS / name, svc)
            hit = next((m for m in matches if m.known.caption == caption), None)
            ok = hit is not None and (offset is None or abs((hit.offset or 0) - offset) <= 0.5)
            table.add_row(
                name,
                caption,
                "yes" if ok else "NO",
                f"{hit.offset}" if hit and hit.offset is not None else "—",
                f"{hit.span[0]:.1f}–{hit.span[1]:.1f} s" if hit else "—",
                str(evidence.frames_examined),
                f"{secs:.1f}",
            )
        console.print(table)

        unrelated = [
            *sorted(bench.glob("unrelated-*.mp4")),
            VIDEOS / "unrelated-1.mp4",
            VIDEOS / "unrelated-2.mp4",
        ]
        false = frames = 0
        for path in unrelated:
            matches, evidence, _ = check(path, svc)
            false += bool(matches)
            frames += evidence.frames_examined
        console.print(
            f"unrelated clips: {len(unrelated)} ({frames} frames) — {false} matched anything"
        )

        minute = bench / "bench-720p-60s.mp4"
        times = []
        for _ in range(3):
            _, evidence, secs = check(minute, svc)
            times.append(secs)
        console.print(
            f"one minute of 720p (1280x720, 30 fps): checked end to end in {min(times):.1f} s "
            f"(best of 3; runs {', '.join(f'{t:.1f}' for t in times)} s), "
            f"{evidence.frames_examined} frames sampled per minute"
        )


if __name__ == "__main__":
    main()
