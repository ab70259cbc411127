"""Where the photo is inside a picture: borders, caption bars, screenshot chrome.

Reposts put the original inside something else (a letterbox, a meme caption, a phone's UI);
the query is hashed on each plausible photo region as well as whole. All functions work on
RGB uint8 arrays and return boxes (x0, y0, x1, y1) in pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Box = tuple[int, int, int, int]

# Sub-windows of a library picture (fractions of the border-trimmed original): a repost
# cropped by up to a quarter of the area still contains one of them almost whole.
WINDOWS: dict[str, tuple[float, float, float, float]] = {}
for _side in (0.9, 0.8):
    for _name, _w in (
        ("tl", (0, 0, _side, _side)),
        ("tr", (1 - _side, 0, 1, _side)),
        ("bl", (0, 1 - _side, _side, 1)),
        ("br", (1 - _side, 1 - _side, 1, 1)),
    ):
        WINDOWS[f"win:{_name}{int(_side * 100)}"] = _w
WINDOWS.update(
    {
        "win:top85": (0, 0, 1, 0.85),
        "win:bot85": (0, 0.15, 1, 1),
        "win:left85": (0, 0, 0.85, 1),
        "win:right85": (0.15, 0, 1, 1),
        "win:mid85": (0.075, 0.075, 0.925, 0.925),
        "win:mid70": (0.15, 0.15, 0.85, 0.85),
    }
)


# Centre cuts of a library picture to the cell shapes collage apps and grids cut a photo
# to (width / height): a collage's tile is the photo cut to fill its cell, centred, which
# is a deep crop no fixed window above covers. Only cuts keeping under 90 % of a side are
# kept (the whole picture's codes meet the others); the name says the cell's shape.
CENTRE_ASPECTS = (0.5, 0.625, 0.8, 1.0, 1.25, 1.6, 2.0)
CENTRE_KEEP_MAX = 0.9


def centre_windows(height: int, width: int) -> dict[str, tuple[float, float, float, float]]:
    """'ctr:<w/h>' -> the centred window of that shape, as fractions of the picture."""
    out: dict[str, tuple[float, float, float, float]] = {}
    aspect = width / max(1, height)
    for cell in CENTRE_ASPECTS:
        keep = cell / aspect if cell < aspect else aspect / cell
        if keep >= CENTRE_KEEP_MAX:
            continue
        cut = (1 - keep) / 2
        out[f"ctr:{cell:.3g}"] = (
            (cut, 0.0, 1 - cut, 1.0) if cell < aspect else (0.0, cut, 1.0, 1 - cut)
        )
    return out


def window_fractions(name: str, height: int, width: int) -> tuple[float, float, float, float]:
    """Where a library code's window lies (fractions); the whole picture when unknown."""
    if name.startswith("ctr:"):
        return centre_windows(height, width).get(name, (0.0, 0.0, 1.0, 1.0))
    return WINDOWS.get(name, (0.0, 0.0, 1.0, 1.0))


def near_colour(rgb: np.ndarray, colour: np.ndarray, tol: int) -> np.ndarray:
    # Per channel on purpose: numpy's max over a size-3 axis is ~10x slower.
    c = np.asarray(colour).astype(np.int16)
    a = rgb.astype(np.int16)
    return (
        (np.abs(a[..., 0] - c[0]) <= tol)
        & (np.abs(a[..., 1] - c[1]) <= tol)
        & (np.abs(a[..., 2] - c[2]) <= tol)
    )


def trim_uniform(
    rgb: np.ndarray,
    frac: float = 0.97,
    tol: int = 28,
    min_keep: float = 0.2,
    min_band: int = 2,
) -> Box:
    """Strip edge bands whose rows/columns are at least `frac` the band's own colour (the
    median of the outer 2 rows). frac 0.97: solid borders and padding; ~0.5: caption bars
    with text on them, UI bars. A band narrower than `min_band` lines is left (one-pixel
    noise is not a border)."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = 0, 0, width, height
    for _ in range(2):
        changed = False
        for side in ("top", "bottom", "left", "right"):
            sub = rgb[y0:y1, x0:x1]
            h, w = sub.shape[:2]
            if h < 8 or w < 8:
                break
            if side in ("top", "bottom"):
                edge = sub[:2] if side == "top" else sub[-2:]
                near = near_colour(sub, np.median(edge.reshape(-1, 3), 0), tol).mean(1)
                limit = int(h * (1 - min_keep))
            else:
                edge = sub[:, :2] if side == "left" else sub[:, -2:]
                near = near_colour(sub, np.median(edge.reshape(-1, 3), 0), tol).mean(0)
                limit = int(w * (1 - min_keep))
            if side in ("bottom", "right"):
                near = near[::-1]
            stop = np.nonzero(near[:limit] < frac)[0]
            n = int(stop[0]) if len(stop) else limit
            if n < min_band:
                continue
            changed = True
            if side == "top":
                y0 += n
            elif side == "bottom":
                y1 -= n
            elif side == "left":
                x0 += n
            else:
                x1 -= n
        if not changed:
            break
    return (x0, y0, x1, y1)


def _longest_run(mask: np.ndarray, gap: int) -> tuple[int, int] | None:
    idx = np.nonzero(mask)[0]
    if not len(idx):
        return None
    runs, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i - prev > gap:
            runs.append((start, prev + 1))
            start = i
        prev = i
    runs.append((start, prev + 1))
    return max(runs, key=lambda r: r[1] - r[0])


def content_box(
    rgb: np.ndarray, tol: int = 24, thr: float = 0.5, min_run: float = 0.15
) -> Box | None:
    """The largest photo-like block: the background is the commonest colour of the outer
    frame; photo rows are those mostly not background; take the longest run of them, then
    the same over columns inside it (a screenshot's picture between its UI)."""
    height, width = rgb.shape[:2]
    frame = np.concatenate(
        [
            rgb[:3].reshape(-1, 3),
            rgb[-3:].reshape(-1, 3),
            rgb[:, :3].reshape(-1, 3),
            rgb[:, -3:].reshape(-1, 3),
        ]
    )
    q = (frame // 16).astype(np.int32)
    keys = q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    if counts.max() < 0.3 * len(frame):
        return None
    background = np.median(frame[keys == values[counts.argmax()]], 0)
    is_bg = near_colour(rgb, background, tol)
    rows = _longest_run(is_bg.mean(1) < thr, gap=max(2, height // 100))
    if rows is None or rows[1] - rows[0] < min_run * height:
        return None
    cols = _longest_run(is_bg[rows[0] : rows[1]].mean(0) < thr, gap=max(2, width // 100))
    if cols is None or cols[1] - cols[0] < min_run * width:
        return None
    return (int(cols[0]), int(rows[0]), int(cols[1]), int(rows[1]))


# --- a caption bar with text on it ----------------------------------------------------------
#
# trim_uniform stops at a bar's first line of text when the text covers more than half of a
# row (big meme type), so it keeps most of the bar. A caption bar is told instead by its
# edge with the photo: from the picture's edge inward, rows of the bar's colour with lines
# of text between them, then the photo, which is not the bar's flat colour: the first
# BAR_STEP_ROWS rows in a row each under BAR_PHOTO_MAX of it (a line of text, however bold,
# leaves more of its row in the bar's colour than that). A photo that fades into the bar's
# colour (a night sky under a black bar), or whose own edge is as flat (fog, a wall), has
# no such edge within BAR_SPAN and keeps no box.
BAR_PHOTO_MAX = 0.1
BAR_STEP_ROWS = 3
BAR_SPAN = (0.04, 0.4)  # of the height: narrower is a border's job, wider is not a caption
BAR_TOL = 28
BAR_PURE, BAR_FLAT_SHARE = 0.97, 0.3
BAR_TEXT_ROW = 0.9  # a bar's row with less of its colour than this has text on it


def _bar_rows(rgb: np.ndarray, side: str) -> int:
    """Rows of a caption bar at the top or the bottom (0: none)."""
    height = rgb.shape[0]
    edge = rgb[:2] if side == "top" else rgb[-2:]
    share = near_colour(rgb, np.median(edge.reshape(-1, 3), 0), BAR_TOL).mean(1)
    if side == "bottom":
        share = share[::-1]
    low = share < BAR_PHOTO_MAX
    run = np.convolve(low, np.ones(BAR_STEP_ROWS, int), "valid") == BAR_STEP_ROWS
    starts = np.nonzero(run)[0]
    if not len(starts):
        return 0
    n = int(starts[0])
    if not BAR_SPAN[0] * height <= n <= BAR_SPAN[1] * height:
        return 0
    bar = share[:n]
    # A bar is flat: its outer rows and a good part of the others (the margins and the
    # gaps between lines of text) are its colour; a photo's own textured edge is not.
    flat = bar[:2].min() >= BAR_PURE and (bar >= BAR_TEXT_ROW).mean() >= BAR_FLAT_SHARE
    # And it has a line of text with the bar's colour again after it: a plain band is
    # padding (trim's job), and a clear sky down to a skyline or a ridge fades from its
    # colour into the land once, never back.
    text = np.nonzero(bar < BAR_TEXT_ROW)[0]
    return n if flat and len(text) and (bar[text[0] :] >= BAR_PURE).any() else 0


def bar_box(rgb: np.ndarray) -> Box | None:
    """The picture without its caption bars (top, bottom or both), when it has one."""
    height, width = rgb.shape[:2]
    top, bottom = _bar_rows(rgb, "top"), _bar_rows(rgb, "bottom")
    if not top and not bottom:
        return None
    return (0, top, width, height - bottom)


# --- the photo inside a screenshot, found by its detail rather than its colour ------------------
#
# content_box needs the photo to differ in colour from the UI around it. A night photo in a
# dark-mode app (X, Bluesky, Telegram, Instagram: status bar, header with avatar and name,
# text, the photo, buttons) is as dark as the UI, but it is not flat: sensor noise, JPEG
# blocks, gradients and lights change nearly every line of it, while an app's UI is flat
# fills with short runs of text and icons separated by lines with no change at all. So the
# photo is the longest run of lines with detail: rows first, then the columns inside them
# (a chat bubble or a margin beside an inset photo), then the rows again inside those
# columns (a bubble's padding above and below). Worked on the query at up to 768 px, not on
# the 256 px copy: averaging down smooths a dark photo's one-level noise into a flat fill.

DETAIL_SIDE = 768
# A line is UI (a flat fill) when under DETAIL_LINE of its pixels differ from a neighbour:
# a divider, a scroll bar or a bubble's rounded edge crossing it changes a few pixels; the
# faintest rows of a night sky change 10-40 % (one-level noise), a text line 5-80 %.
DETAIL_LINE = 0.03
# The photo run must be this long (a fraction of the side): a text line or an icon row is
# a few per cent of a phone screen's height; a wide panorama across a phone is about 15 %.
DETAIL_MIN_RUN = (0.1, 0.3)  # of the height, of the width
# What makes it a screenshot rather than a photo with a flat sky or a black night around
# its subject, or one picture of a collage: UI above the photo and below it (a status bar
# or a header; buttons), each at least DETAIL_UI_MARGIN of the height, with text or icons
# in it (at least DETAIL_UI_BUSY of the lines outside the photo have detail: a black sky
# with a few stars has almost none) between flat lines (at least DETAIL_UI_FLAT of them
# are flat: another photo above or below has none), and beside the photo a margin or a
# chat's background, not another photo (at most DETAIL_BESIDE_BUSY of the columns beside
# it, over the photo's rows, have detail: a bubble's edge, a thread line; a collage's
# next tile has detail in nearly every column).
DETAIL_UI_MARGIN = 0.02
DETAIL_UI_BUSY, DETAIL_UI_FLAT = 0.1, 0.25
DETAIL_BESIDE_BUSY = 0.6
# JPEG rings: the 8 x 8 block holding a sharp edge (a photo's outline, its first bright
# line) gets faint noise on the UI side, so the lines with detail start up to a block
# before the photo. Such lines are dropped when a step of RING_EDGE grey levels or more
# (in the mean distance from the UI's fill) follows within RING_MAX lines, and they are
# faint beside it (under a quarter of it). A photo that fades in from the UI's colour (a
# night sky) has no such step and keeps its first lines.
RING_MAX, RING_EDGE = 8, 5.0
# A frame around the photo that JPEG and resizing join to it (a chat bubble's padding, an
# outline): up to RING_MAX lines at the box's edge of one colour, the colour of the box's
# outer line (FRAME_SHARE of their pixels within FRAME_TOL of it), when that colour is not
# the UI's fill (FRAME_DIFF away). A night photo fading into the UI's colour is not a frame.
FRAME_SHARE, FRAME_TOL, FRAME_DIFF = 0.8, 6, 12


def detail_mask(gray: np.ndarray) -> np.ndarray:
    """Pixels that differ from their right or lower neighbour (any step at all: a UI fill
    is exactly flat, even through JPEG; a photo's noise is not)."""
    g = gray.astype(np.int16)
    out = np.zeros(g.shape, bool)
    out[:, :-1] |= g[:, 1:] != g[:, :-1]
    out[:-1, :] |= g[1:, :] != g[:-1, :]
    return out


def _detail_run(share: np.ndarray, min_len: int) -> tuple[int, int] | None:
    """The longest run of lines at least DETAIL_LINE busy (no flat line inside: the flat
    line between a photo and the text under it is what ends the photo)."""
    run = _longest_run(share >= DETAIL_LINE, gap=1)
    if run is None or run[1] - run[0] < min_len:
        return None
    return int(run[0]), int(run[1])


def detail_box(rgb: np.ndarray, side: int = DETAIL_SIDE) -> Box | None:
    """The photo inside a screenshot as the largest block of lines with detail among flat
    UI lines; None when there is no such block or nothing around it looks like UI (a plain
    photo: every line has detail, or its flat part is a sky with no text in it)."""
    small, s = shrink(rgb, side)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    busy = detail_mask(gray)
    sh, sw = gray.shape
    min_rows, min_cols = round(DETAIL_MIN_RUN[0] * sh), round(DETAIL_MIN_RUN[1] * sw)
    rows = _detail_run(busy.mean(1), min_rows)
    if rows is None:
        return None
    cols = _detail_run(busy[rows[0] : rows[1]].mean(0), min_cols)
    if cols is None:
        return None
    inner = _detail_run(busy[rows[0] : rows[1], cols[0] : cols[1]].mean(1), min_rows)
    if inner is None:
        return None
    y0, y1 = rows[0] + inner[0], rows[0] + inner[1]
    x0, x1 = cols
    for edge_lines in (_ring_lines, _frame_lines):  # JPEG ringing first, then a frame
        y0, y1 = _trim_ends(gray[:, x0:x1], y0, y1, edge_lines)
        x0, x1 = _trim_ends(gray[y0:y1].T, x0, x1, edge_lines)
    if min(y0, sh - y1) < DETAIL_UI_MARGIN * sh:
        return None
    lines = busy.mean(1)
    outside = np.r_[lines[:y0], lines[y1:]] >= DETAIL_LINE
    if outside.mean() < DETAIL_UI_BUSY or 1 - outside.mean() < DETAIL_UI_FLAT:
        return None
    columns = busy[y0:y1].mean(0)
    beside = np.r_[columns[:x0], columns[x1:]] >= DETAIL_LINE
    if len(beside) and beside.mean() > DETAIL_BESIDE_BUSY:
        return None
    box = (x0, y0, x1, y1)
    return _up(box, s) if s < 1 else box


def _ring_lines(lines: np.ndarray, fill: float) -> int:
    """How many of the first `lines` (from the UI side inwards) are JPEG ringing before a
    sharp edge (RING_MAX, RING_EDGE), by each line's mean distance from the UI's fill."""
    dev = np.abs(lines[: RING_MAX + 1] - fill).mean(1)
    if len(dev) < 2:
        return 0
    k = int(np.argmax(np.diff(dev))) + 1
    if dev[k] >= RING_EDGE and dev[:k].max() < dev[k] / 4:
        return k
    return 0


def _frame_lines(lines: np.ndarray, fill: float) -> int:
    """How many of the first `lines` (from the UI side inwards) are a frame around the
    photo (FRAME_SHARE, FRAME_TOL, FRAME_DIFF; at most RING_MAX)."""
    if not len(lines):
        return 0
    colour = float(np.median(lines[0]))
    if abs(colour - fill) < FRAME_DIFF:
        return 0
    n = 0
    for line in lines[:RING_MAX]:
        if (np.abs(line - colour) <= FRAME_TOL).mean() < FRAME_SHARE:
            break
        n += 1
    return n


def _trim_ends(
    lines: np.ndarray, start: int, end: int, edge_lines: Callable[[np.ndarray, float], int]
) -> tuple[int, int]:
    """The run [start, end) of `lines` (grey, one line a row) without the lines that
    `edge_lines` (_ring_lines, _frame_lines) counts at either end, from the UI side
    inwards; the UI's fill is the line just outside the run."""
    g = lines.astype(np.float32)
    if start > 0:
        start += edge_lines(g[start:end], float(np.median(g[start - 1])))
    if end < len(g) and end > start:
        end -= edge_lines(g[start:end][::-1], float(np.median(g[end])))
    return start, end


def area_fraction(box: Box, shape: tuple[int, ...]) -> float:
    x0, y0, x1, y1 = box
    return (x1 - x0) * (y1 - y0) / float(shape[0] * shape[1])


def crop(arr: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return arr[y0:y1, x0:x1]


def window(arr: np.ndarray, fractions: tuple[float, float, float, float]) -> np.ndarray:
    height, width = arr.shape[:2]
    a, b, c, d = fractions
    y0, x0 = int(b * height), int(a * width)
    return arr[y0 : max(y0 + 8, int(d * height)), x0 : max(x0 + 8, int(c * width))]


def shrink(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """A copy of at most `side` px (the picture itself when smaller), and its scale."""
    height, width = rgb.shape[:2]
    s = min(1.0, side / max(height, width))
    if s >= 1:
        return rgb, 1.0
    size = (max(1, round(width * s)), max(1, round(height * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), s


def candidate_boxes(rgb: np.ndarray, side: int = 256) -> dict[str, Box]:
    """Photo regions worth trying on a query (found on a <=256 px copy, scaled back)."""
    height, width = rgb.shape[:2]
    small, _ = shrink(rgb, side)
    sh, sw = small.shape[:2]

    def up(b: Box) -> Box:
        return (
            round(b[0] * width / sw),
            round(b[1] * height / sh),
            round(b[2] * width / sw),
            round(b[3] * height / sh),
        )

    found: dict[str, Box] = {"full": (0, 0, width, height)}
    # A caption bar by its edge and its text (where big type stops the trims); first, so
    # that a trim finding the same box does not take its name: the bar is the surer label.
    bar = bar_box(small)
    if bar is not None:
        found["bar"] = up(bar)
    found["trim"] = up(trim_uniform(small, 0.97))  # borders, padding
    found["band"] = up(trim_uniform(small, 0.5))  # caption bars, UI strips
    found["band2"] = up(trim_uniform(small, 0.5, tol=10))
    for name, tol in (("content", 24), ("content2", 10)):  # a photo inside a screenshot
        box = content_box(small, tol=tol)
        if box is not None:
            found[name] = up(box)
    # ... and by its detail, for a photo as dark (or as pale) as the UI around it; on the
    # picture as given (up to 768 px), so its own scale
    box = detail_box(rgb)
    if box is not None:
        found["detail"] = box
    kept: dict[str, Box] = {}
    for name, box in found.items():
        if area_fraction(box, rgb.shape) < 0.08:
            continue
        if any(
            max(abs(box[i] - k[i]) for i in range(4)) <= 0.01 * max(height, width)
            for k in kept.values()
        ):
            continue
        kept[name] = box
    return kept


def outside_uniformity(
    small: np.ndarray, box_frac: tuple[float, float, float, float]
) -> float | None:
    """Share of the pixels outside the photo that have the commonest colour (1.0 = plain
    padding, lower = text or UI around it)."""
    height, width = small.shape[:2]
    x0, y0, x1, y1 = (
        round(box_frac[0] * width),
        round(box_frac[1] * height),
        round(box_frac[2] * width),
        round(box_frac[3] * height),
    )
    mask = np.ones((height, width), bool)
    mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    pixels = small[mask]
    if len(pixels) < 10:
        return None
    q = (pixels // 16).astype(np.int32)
    return float(np.bincount(q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]).max() / len(q))


def colourfulness(rgb: np.ndarray) -> float:
    """Mean channel disagreement on a sparse sample; ~0 for grayscale pictures."""
    a = rgb[::4, ::4].astype(np.int16)
    return float(np.mean(np.abs(a[..., 0] - a[..., 1])) + np.mean(np.abs(a[..., 1] - a[..., 2])))


# --- composites: collages, side-by-side comparisons, grids of 2-4 pictures ---------------------

SEAM_MIN_STEP = 10.0  # mean grey step across a seam between two pictures (grey levels)
SEAM_CONTRAST = 3.0  # ... against the steps next to it: a seam stands out of both pictures
GUTTER_STD = 4.0  # a gutter line is one colour from end to end
SPLIT_RANGE = (0.2, 0.8)  # where a split may fall, as a fraction of the side
# A tile's trim that would leave less than TILE_KEEP_MIN of its cell is not taken: the
# cell is a smooth photo, not a margin. Its tighter trim (the 'tileNt' version): a line is
# margin when TIGHT_FRAC of it is within TIGHT_TOL of the edge's colour, one line is enough.
TILE_KEEP_MIN = 0.3
TIGHT_FRAC, TIGHT_TOL = 0.8, 36


def _splits(gray: np.ndarray, axis: int) -> list[tuple[int, int]]:
    """Straight lines across the whole picture where one picture ends and another begins,
    as (start, end) of the cut along `axis` (1: vertical lines, 0: horizontal): a gutter
    (a run of lines one colour end to end, not at the border) or a seam (a step between
    neighbouring lines far above the steps beside it)."""
    g = gray.astype(np.float32) if axis == 1 else gray.astype(np.float32).T
    width = g.shape[1]
    lo, hi = int(SPLIT_RANGE[0] * width), int(SPLIT_RANGE[1] * width)
    flat = g.std(axis=0) < GUTTER_STD
    found: list[tuple[int, int]] = []
    x = lo
    while x < hi:
        if flat[x]:
            end = x
            while end < width and flat[end]:
                end += 1
            start = x
            while start > 0 and flat[start - 1]:
                start -= 1
            if start > 0 and end < width:  # a border is not a gutter
                found.append((start, end))
            x = end + 1
        else:
            x += 1
    if found:  # the widest gutter
        return [max(found, key=lambda r: r[1] - r[0])]
    # step across two lines (x-1 -> x+1): resampling and JPEG smear a seam over two
    step = np.zeros(width, np.float32)
    step[1:-1] = np.abs(g[:, 2:] - g[:, :-2]).mean(axis=0)
    best, best_score = None, 0.0
    for x in range(lo, hi):
        # the steps beside it: the median of 3-10 lines either side (two lines' steps at
        # +-5 alone let one busy line of either picture hide the seam)
        around = float(np.median(np.r_[step[max(0, x - 10) : x - 2], step[x + 3 : x + 11]]))
        score = step[x] / max(around, 1.0)
        if step[x] >= SEAM_MIN_STEP and score >= SEAM_CONTRAST and score > best_score:
            best, best_score = x, score
    return [] if best is None else [(best, best + 1)]


def tiles(rgb: np.ndarray, side: int = 256) -> dict[str, Box]:
    """The pictures of a composite (2-4 tiles: side by side, above each other, a 2x2 grid,
    one beside two), found by their gutters or seams on a <=256 px copy; {} when the
    picture is one photo. Each tile's own uniform margin is trimmed."""
    small, s = shrink(rgb, side)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    sh, sw = gray.shape

    def cuts(g: np.ndarray, axis: int) -> list[tuple[int, int]]:
        return _splits(g, axis)

    # Each cut found gives its two halves; two cuts the four quarters too; a half that
    # splits again (one picture beside two) its own halves. A false cut (a horizon, the
    # edge of a building) only adds lookups: the whole picture is always looked up too.
    boxes: list[Box] = []
    vertical, horizontal = _splits(gray, 1), _splits(gray, 0)
    for a0, a1 in vertical:
        for x0, x1 in ((0, a0), (a1, sw)):
            boxes.append((x0, 0, x1, sh))
            for b0, b1 in [] if horizontal else _splits(gray[:, x0:x1], 0):
                boxes += [(x0, 0, x1, b0), (x0, b1, x1, sh)]
    for b0, b1 in horizontal:
        for y0, y1 in ((0, b0), (b1, sh)):
            boxes.append((0, y0, sw, y1))
            for a0, a1 in [] if vertical else _splits(gray[y0:y1], 1):
                boxes += [(0, y0, a0, y1), (a1, y0, sw, y1)]
    if vertical and horizontal:
        (a0, a1), (b0, b1) = vertical[0], horizontal[0]
        boxes += [(0, 0, a0, b0), (a1, 0, sw, b0), (0, b1, a0, sh), (a1, b1, sw, sh)]
    out: dict[str, Box] = {}
    frame = trim_uniform(small, 0.97) if boxes else (0, 0, sw, sh)
    for i, cell in enumerate(boxes):
        x0, y0, x1, y1 = cell
        if (x1 - x0) < 0.15 * sw or (y1 - y0) < 0.15 * sh:
            continue
        cell_area = area_fraction(cell, (sh, sw))
        if cell_area < 0.05:
            continue
        pixels = small[y0:y1, x0:x1]

        def trimmed(t: Box, x0: int = x0, y0: int = y0) -> Box:
            return (x0 + t[0], y0 + t[1], x0 + t[2], y0 + t[3])

        cut = trimmed(trim_uniform(pixels, 0.97))
        box = cut
        # A smooth photo filling its cell (a sky, fog) is one colour from edge to edge:
        # the trim would eat it whole. It is kept rather than lost: inside the composite's
        # own border (the whole picture's trim), else untrimmed; the trim's small box is
        # kept as the tile's tighter version (a small photo fitted into a big cell).
        if area_fraction(box, (sh, sw)) < TILE_KEEP_MIN * cell_area:
            box = _inside(cell, frame)
            if area_fraction(box, (sh, sw)) < TILE_KEEP_MIN * cell_area:
                box = cell
            if area_fraction(cut, (sh, sw)) >= 0.05:
                out[f"tile{i + 1}t"] = _up(cut, s)
        out[f"tile{i + 1}"] = _up(box, s)
        # A photo cut to fill its cell may have a plain band of its own (a sky, a wall)
        # that the trim takes for the cell's margin: the untrimmed tile is looked up too.
        if area_fraction(box, (sh, sw)) < 0.95 * cell_area:
            out[f"tile{i + 1}r"] = _up(cell, s)
            # ... and the cell inside the composite's border: a smooth photo that the
            # trim cut into, whole, without the outer gutter the untrimmed cell keeps.
            inside = _inside(cell, frame)
            if inside not in (box, cell):
                out[f"tile{i + 1}f"] = _up(inside, s)
        # The trim above leaves a gutter's or a border's blurred last line or two (a
        # band of one line is not trimmed), and the margin of a photo fitted into its cell
        # when JPEG noise breaks its colour: a tighter trim, where it differs and does not
        # empty the cell.
        tight = trimmed(trim_uniform(pixels, TIGHT_FRAC, tol=TIGHT_TOL, min_band=1))
        if (
            f"tile{i + 1}t" not in out
            and tight != box
            and area_fraction(tight, (sh, sw)) >= TILE_KEEP_MIN * cell_area
        ):
            out[f"tile{i + 1}t"] = _up(tight, s)
    return out


def _inside(box: Box, frame: Box) -> Box:
    """The part of `box` inside `frame` (`box` itself when they do not meet)."""
    x0, y0 = max(box[0], frame[0]), max(box[1], frame[1])
    x1, y1 = min(box[2], frame[2]), min(box[3], frame[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else box


def _up(box: Box, s: float) -> Box:
    return (round(box[0] / s), round(box[1] / s), round(box[2] / s), round(box[3] / s))
