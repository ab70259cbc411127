"""Walking the TIFF structure, within budgets, before exifread does."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from postcheck.verifiers.metadata.limits import (
    _EXIF_POINTER,
    _GPS_POINTER,
    _INTEROP_POINTER,
    _SKIPPED_TAGS,
    _TYPE_SIZE,
    MAX_ASCII_BYTES,
    MAX_ENTRIES,
    MAX_IFDS,
    MAX_TOTAL_ENTRIES,
    MAX_VALUES,
    MAX_XMP_BYTES,
    Unreadable,
)

# --- walking the TIFF structure before exifread does ---------------------------------------------


@dataclass
class ExifLayout:
    """What the walk learnt: the IFDs exifread will read, and the thumbnail's place."""

    endian: str
    ifds: list[tuple[str, int]] = field(default_factory=list)
    entries: int = 0
    values: int = 0
    ascii_bytes: int = 0
    orientation: int | None = None
    thumbnail: tuple[int, int] | None = None  # offset, length inside the block
    thumbnail_error: str | None = None
    thumbnail_compression: int | None = None
    xmp: bytes | None = None  # TIFF tag 0x02BC (XMLPacket)


def check_exif_structure(block: bytes) -> ExifLayout:
    """Walk IFD0's chain, the Exif, GPS and Interop IFDs the way exifread will, and refuse
    (Unreadable) anything that would make it read outside the block, loop, or do
    unbounded work."""
    if len(block) < 8:
        raise Unreadable(f"EXIF block truncated ({len(block)} bytes, no TIFF header)")
    order = block[:2]
    if order not in (b"II", b"MM"):
        raise Unreadable("EXIF block has no TIFF byte-order mark")
    end = "<" if order == b"II" else ">"
    (magic, first) = struct.unpack_from(end + "HI", block, 2)
    if magic != 42:
        raise Unreadable(f"EXIF block has TIFF magic {magic}, not 42")
    layout = ExifLayout(endian=end)
    visited: dict[int, str] = {}
    size = len(block)

    def read_ifd(offset: int, name: str, *, chain: bool) -> list[tuple[int, int, int, int, int]]:
        where = f"{name} at offset {offset}"
        if offset in visited:
            raise Unreadable(f"IFD loop: {where} is {visited[offset]} again")
        if len(visited) >= MAX_IFDS:
            raise Unreadable(f"too many IFDs (more than {MAX_IFDS})")
        if offset < 8 or offset + 2 > size:
            raise Unreadable(f"{where} lies outside the {size}-byte EXIF block")
        visited[offset] = name
        layout.ifds.append((name, offset))
        (count,) = struct.unpack_from(end + "H", block, offset)
        if count > MAX_ENTRIES:
            raise Unreadable(f"{where} claims {count} entries (limit {MAX_ENTRIES})")
        table_end = offset + 2 + 12 * count + (4 if chain else 0)
        if table_end > size:
            raise Unreadable(
                f"truncated IFD: {where} claims {count} entries, the block ends at {size}"
            )
        layout.entries += count
        if layout.entries > MAX_TOTAL_ENTRIES:
            raise Unreadable(f"too many IFD entries (more than {MAX_TOTAL_ENTRIES})")
        out = []
        for i in range(count):
            entry = offset + 2 + 12 * i
            tag, kind, n = struct.unpack_from(end + "HHI", block, entry)
            (value,) = struct.unpack_from(end + "I", block, entry + 8)
            out.append((tag, kind, n, value, entry + 8))
            if tag in _SKIPPED_TAGS:
                xmp_ok = name == "IFD0" and kind in (1, 7) and 4 < n <= MAX_XMP_BYTES
                if tag == 0x02BC and xmp_ok and value + n <= size:
                    layout.xmp = block[value : value + n]
                continue
            unit = _TYPE_SIZE.get(kind)
            if unit is None:  # exifread skips unknown field types
                continue
            nbytes = n * unit
            if nbytes > 4 and (value < 8 or value + nbytes > size):
                raise Unreadable(
                    f"tag 0x{tag:04X} in {name} claims {n} values ({nbytes} bytes) at "
                    f"offset {value}, past the end of the {size}-byte EXIF block"
                )
            if kind == 2:
                layout.ascii_bytes += nbytes
            elif n < 1000:
                layout.values += n
            if layout.values > MAX_VALUES or layout.ascii_bytes > MAX_ASCII_BYTES:
                raise Unreadable("EXIF block asks for too much work (value budget exceeded)")
        return out

    def pointer(tag: int, kind: int, n: int, value: int, name: str) -> int:
        if kind not in (4, 13) or n != 1:
            raise Unreadable(f"IFD pointer 0x{tag:04X} in {name} has type {kind}, count {n}")
        return value

    def sub_ifds(entries: list, name: str, *, exif_pointer: bool) -> None:
        for tag, kind, n, value, _ in entries:
            # exifread follows these pointers whatever their value, 0 included.
            if tag == _GPS_POINTER:
                read_ifd(pointer(tag, kind, n, value, name), "GPS IFD", chain=False)
            elif tag == _INTEROP_POINTER:
                read_ifd(pointer(tag, kind, n, value, name), "Interop IFD", chain=False)
            elif tag == _EXIF_POINTER and exif_pointer:
                target = pointer(tag, kind, n, value, name)
                exif_entries = read_ifd(target, "Exif IFD", chain=False)
                sub_ifds(exif_entries, "Exif IFD", exif_pointer=False)

    offset, index = first, 0
    while offset:
        name = f"IFD{index}"
        entries = read_ifd(offset, name, chain=True)
        (nxt,) = struct.unpack_from(end + "I", block, offset + 2 + 12 * len(entries))
        for tag, kind, n, value, at in entries:
            if index == 0 and tag == 0x0112 and kind == 3 and n == 1:
                layout.orientation = struct.unpack_from(end + "H", block, at)[0]
            if index == 1 and tag in (0x0201, 0x0202, 0x0103) and kind in (3, 4) and n == 1:
                v = value if kind == 4 else struct.unpack_from(end + "H", block, at)[0]
                if tag == 0x0103:
                    layout.thumbnail_compression = v
                else:
                    start, length = layout.thumbnail or (0, 0)
                    layout.thumbnail = (v, length) if tag == 0x0201 else (start, v)
        sub_ifds(entries, name, exif_pointer=index == 0)
        offset, index = nxt, index + 1
    if layout.thumbnail is not None:
        start, length = layout.thumbnail
        if not start or not length:
            layout.thumbnail_error = "thumbnail offset or length missing in IFD1"
            layout.thumbnail = None
        elif start < 8 or start + length > size:
            layout.thumbnail_error = (
                f"thumbnail pointer runs past the end of the EXIF block (offset {start}, "
                f"length {length}, block {size} bytes)"
            )
            layout.thumbnail = None
    return layout
