"""Unpack Qt resource files (.rcc) with the standard library only: GCompris ships its
photographs inside them. Usage: python3 rcc_extract.py OUTDIR FILE.rcc...

Format (Qt's rcc): 'qres', version, then offsets of the tree, the data and the names; a
tree entry is a directory (children) or a file (offset of its data, zlib-compressed when
flag 1 is set; zstd, flag 4, is skipped: not in the standard library)."""

import os
import struct
import sys
import zlib


def extract(path: str, out: str) -> None:
    with open(path, "rb") as fh:
        b = fh.read()
    if b[:4] != b"qres":
        raise SystemExit(f"{path}: not a Qt resource file")
    version, tree, data, names = struct.unpack(">IIII", b[4:20])
    entry = 14 if version == 1 else 22

    def name(off: int) -> str:
        n = struct.unpack(">H", b[names + off : names + off + 2])[0]
        return b[names + off + 6 : names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(i: int, prefix: str) -> None:
        e = tree + i * entry
        noff, flags = struct.unpack(">IH", b[e : e + 6])
        nm = name(noff) if i else ""
        if flags & 2:
            count, first = struct.unpack(">II", b[e + 6 : e + 14])
            for c in range(first, first + count):
                walk(c, os.path.join(prefix, nm))
            return
        doff = struct.unpack(">I", b[e + 10 : e + 14])[0]
        size = struct.unpack(">I", b[data + doff : data + doff + 4])[0]
        blob = b[data + doff + 4 : data + doff + 4 + size]
        if flags & 4:
            return
        if flags & 1:
            blob = zlib.decompress(blob[4:])
        dest = os.path.join(out, prefix, nm)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(blob)

    walk(0, "")


if __name__ == "__main__":
    for p in sys.argv[2:]:
        extract(p, os.path.join(sys.argv[1], os.path.basename(p)[: -len(".rcc")]))
