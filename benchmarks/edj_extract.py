"""The photograph inside an Enlightenment background (.edj, an eet archive): eet keeps a
lossy image as plain JPEG data, so the largest JPEG stream in the file is the picture.
Usage: python3 edj_extract.py OUTDIR FILE.edj...   (writes NAME.jpg, the bytes as they are)"""

import os
import sys


def largest_jpeg(b: bytes) -> bytes | None:
    best = None
    start = b.find(b"\xff\xd8\xff")
    while start >= 0:
        nxt = b.find(b"\xff\xd8\xff", start + 3)
        end = b.rfind(b"\xff\xd9", start, nxt if nxt > 0 else len(b))
        if end > start and (best is None or end + 2 - start > len(best)):
            best = b[start : end + 2]
        start = nxt
    return best


if __name__ == "__main__":
    for p in sys.argv[2:]:
        with open(p, "rb") as fh:
            jpeg = largest_jpeg(fh.read())
        if jpeg is not None and len(jpeg) > 100_000:
            name = os.path.splitext(os.path.basename(p))[0]
            with open(os.path.join(sys.argv[1], f"{name}.jpg"), "wb") as fh:
                fh.write(jpeg)
