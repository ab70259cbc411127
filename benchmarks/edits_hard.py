"""The harder reposts of issue 17, each with several parameters (deterministic given an rng):
small and deep crops, off-centre crops, caption bars of several heights, rotations with
filled corners, collages with other photos as the other tiles, mirrored and captioned.

Every function takes a PIL RGB image, an rng and (for collages) a list of other photos,
and returns (PIL image, params)."""

from __future__ import annotations

import numpy as np
from edits import draw_text_block, sentence, social
from PIL import Image, ImageDraw, ImageFilter, ImageOps


def _crop(img, a, b, x0, y0):
    W, H = img.size
    return img.crop((round(x0 * W), round(y0 * H), round((x0 + a) * W), round((y0 + b) * H)))


def e_crop10(img, rng, variant=0):
    """8-12 % of each side cut away, shared at random between its two edges."""
    a, b = 1 - rng.uniform(0.08, 0.12), 1 - rng.uniform(0.08, 0.12)
    x0, y0 = rng.uniform(0, 1 - a), rng.uniform(0, 1 - b)
    return social(_crop(img, a, b, x0, y0), rng), {"keep_w": round(a, 3), "keep_h": round(b, 3)}


def e_offcentre(img, rng, variant=0):
    """About three quarters of each side, off the centre (towards a corner or an edge)."""
    a, b = rng.uniform(0.72, 0.78), rng.uniform(0.72, 0.78)
    fx, fy = [(0.0, 0.0), (1.0, 0.2), (0.15, 1.0)][variant % 3]
    x0 = (1 - a) * min(1.0, max(0.0, fx + rng.uniform(-0.15, 0.15)))
    y0 = (1 - b) * min(1.0, max(0.0, fy + rng.uniform(-0.15, 0.15)))
    return social(_crop(img, a, b, x0, y0), rng), {"keep": [round(a, 3), round(b, 3)]}


def e_crop60(img, rng, variant=0):
    """55-65 % of each side, anywhere in the picture."""
    a, b = rng.uniform(0.55, 0.65), rng.uniform(0.55, 0.65)
    x0, y0 = rng.uniform(0, 1 - a), rng.uniform(0, 1 - b)
    return social(_crop(img, a, b, x0, y0), rng), {"keep": [round(a, 3), round(b, 3)]}


def caption_bar(img, rng, side, frac):
    W, H = img.size
    bg = rng.choice([(255, 255, 255), (0, 0, 0), (20, 40, 90), (200, 30, 30)])
    fg = (0, 0, 0) if bg == (255, 255, 255) else (255, 255, 255)
    bh = max(12, round(H * frac))
    out = Image.new("RGB", (W, H + bh), bg)
    out.paste(img, (0, bh if side == "top" else 0))
    bar = (0, 0, W, bh) if side == "top" else (0, H, W, H + bh)
    draw_text_block(ImageDraw.Draw(out), bar, sentence(rng, rng.randint(3, 14)), bh * 0.3, fg, rng)
    return out


def e_captionbar(img, rng, variant=0):
    """A band with text added above or below: 8-35 % of the height."""
    img = social(img, rng)
    side = ["top", "bottom", rng.choice(["top", "bottom"])][variant % 3]
    frac = [rng.uniform(0.08, 0.15), rng.uniform(0.15, 0.25), rng.uniform(0.25, 0.35)][variant % 3]
    return caption_bar(img, rng, side, frac), {"side": side, "bar": round(frac, 3)}


def e_mirror_caption(img, rng, variant=0):
    img = social(ImageOps.mirror(img), rng)
    side = rng.choice(["top", "bottom"])
    frac = rng.uniform(0.1, 0.3)
    return caption_bar(img, rng, side, frac), {"side": side, "bar": round(frac, 3)}


def e_rotate_fill(img, rng, variant=0):
    """3-5 degrees, same frame, the corners filled (reflected edge, stretched edge, a solid
    colour or a blurred copy of the picture) instead of left black."""
    img = social(img, rng)
    angle = rng.choice([-1, 1]) * rng.uniform(3, 5)
    fill = ["reflect", "blur", rng.choice(["replicate", "white"])][variant % 3]
    import cv2

    rgb = np.asarray(img)
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    border = {
        "reflect": cv2.BORDER_REFLECT_101,
        "replicate": cv2.BORDER_REPLICATE,
        "white": cv2.BORDER_CONSTANT,
        "blur": cv2.BORDER_CONSTANT,
    }[fill]
    out = cv2.warpAffine(
        rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=border, borderValue=(255, 255, 255)
    )
    if fill == "blur":
        mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (w, h)) > 127
        back = np.asarray(img.resize((w // 8 or 1, h // 8 or 1)).filter(ImageFilter.BLUR))
        back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR)
        out = np.where(mask[..., None], out, back)
    return Image.fromarray(out), {"angle": round(angle, 2), "fill": fill}


def _cover(img, w, h):
    """The picture cut to fill a w x h cell (what collage apps do)."""
    return ImageOps.fit(img, (w, h), Image.LANCZOS)


def _contain(img, w, h, bg):
    cell = Image.new("RGB", (w, h), bg)
    im = img.copy()
    im.thumbnail((w, h), Image.LANCZOS)
    cell.paste(im, ((w - im.size[0]) // 2, (h - im.size[1]) // 2))
    return cell


def collage(img, rng, others, rows, cols, variant):
    """`img` as one tile of a rows x cols grid, the other tiles other photos. Variants:
    cells cut to fill without gutters (seams only), cells cut to fill with a gutter, the
    pictures fitted whole into their cells on a plain background."""
    side = rng.choice([1080, 1200, 960])
    cw = side // cols
    ch = round(cw * rng.choice([0.75, 1.0, 1.25])) if rows * cols == 4 else side // rows
    if rows == 2 and cols == 1:
        cw, ch = side, side // 2
    gutter = [0, rng.randint(4, 16), rng.randint(6, 20)][variant % 3]
    bg = rng.choice([(255, 255, 255), (0, 0, 0), (235, 235, 235)])
    mode = ["cover", "cover", "contain"][variant % 3]
    W, H = cols * cw + (cols + 1) * gutter, rows * ch + (rows + 1) * gutter
    out = Image.new("RGB", (W, H), bg)
    slot = rng.randrange(rows * cols)
    pool = list(others)
    rng.shuffle(pool)
    for k in range(rows * cols):
        pic = img if k == slot else pool[k % len(pool)]
        cell = _cover(pic, cw, ch) if mode == "cover" else _contain(pic, cw, ch, bg)
        r, c = divmod(k, cols)
        out.paste(cell, (gutter + c * (cw + gutter), gutter + r * (ch + gutter)))
    return out, {"grid": f"{rows}x{cols}", "slot": slot, "gutter": gutter, "mode": mode}


def e_collage4(img, rng, variant=0, others=()):
    return collage(img, rng, others, 2, 2, variant)


def e_collage2(img, rng, variant=0, others=()):
    rows, cols = [(1, 2), (2, 1), rng.choice([(1, 2), (2, 1)])][variant % 3]
    return collage(img, rng, others, rows, cols, variant)


HARD_FAMILIES = {
    "crop10": e_crop10,
    "offcentre": e_offcentre,
    "captionbar": e_captionbar,
    "rotate_fill": e_rotate_fill,
    "crop60": e_crop60,
    "collage4": e_collage4,
    "collage2": e_collage2,
    "mirror_caption": e_mirror_caption,
}
VARIANTS = 3
COLLAGES = ("collage4", "collage2")
