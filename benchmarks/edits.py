"""Synthetic 'recycled photo' edits for the benchmark. Deterministic given a random.Random.

Every function takes a PIL RGB image and an rng, returns (PIL image, params dict).
make_dataset() writes the queries (JPEG/WEBP/PNG files) + a JSON manifest.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

WORDS = [
    "this",
    "is",
    "the",
    "real",
    "photo",
    "from",
    "yesterday",
    "share",
    "before",
    "they",
    "delete",
    "it",
    "breaking",
    "news",
    "wow",
    "look",
    "at",
    "this",
    "unbelievable",
    "scene",
    "you",
    "will",
    "not",
    "believe",
    "what",
    "happened",
    "next",
    "everyone",
    "needs",
    "to",
    "see",
    "this",
    "amazing",
    "moment",
    "caught",
    "on",
    "camera",
    "today",
]


def font(size):
    return ImageFont.load_default(size=max(8, int(size)))


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def fit_max(img, m):
    w, h = img.size
    s = m / max(w, h)
    if s < 1:
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    return img


def social(img, rng, max_side=None):
    """What an upload usually does afterwards: downscale to <=1080 px."""
    return fit_max(img, max_side or rng.choice([1080, 1080, 960, 720]))


def draw_text_block(d, box, text, size, fill, rng, align="center"):
    x0, y0, x1, y1 = box
    f = font(size)
    words = text.split()
    lines, cur = [], ""
    for w in words:
        t = (cur + " " + w).strip()
        if f.getlength(t) > (x1 - x0) * 0.92 and cur:
            lines.append(cur)
            cur = w
        else:
            cur = t
    if cur:
        lines.append(cur)
    lh = size * 1.2
    y = y0 + ((y1 - y0) - lh * len(lines)) / 2
    for ln in lines:
        if y + lh > y1 + 2:
            break
        tw = f.getlength(ln)
        x = x0 + ((x1 - x0) - tw) / 2 if align == "center" else x0 + 0.04 * (x1 - x0)
        d.text((x, y), ln, font=f, fill=fill)
        y += lh


# ----------------------------------------------------------------------------- families


def e_jpeg(img, rng):
    q = rng.randint(30, 70)
    return social(img, rng), {"q": q}


def e_resize(img, rng):
    w = rng.choice([150, 200, 320, 480, 640])
    h = max(1, round(img.size[1] * w / img.size[0]))
    return img.resize((w, h), Image.LANCZOS), {"width": w}


def e_crop(img, rng, kind=None):
    W, H = img.size
    keep = rng.uniform(0.75, 0.9)
    kind = kind or rng.choice(["corner", "strip", "any"])
    if kind == "corner":
        a = b = math.sqrt(keep)
        corner = rng.choice(["tl", "tr", "bl", "br"])
        x0 = 0 if corner[1] == "l" else 1 - a
        y0 = 0 if corner[0] == "t" else 1 - b
    elif kind == "strip":
        side = rng.choice(["top", "bottom", "left", "right"])
        if side in ("top", "bottom"):
            a, b = 1.0, keep
            x0, y0 = 0, (0 if side == "top" else 1 - b)
        else:
            a, b = keep, 1.0
            x0, y0 = (0 if side == "left" else 1 - a), 0
        corner = side
    else:
        a = rng.uniform(keep, 1.0)
        b = keep / a
        x0, y0 = rng.uniform(0, 1 - a), rng.uniform(0, 1 - b)
        corner = "any"
    box = (round(x0 * W), round(y0 * H), round((x0 + a) * W), round((y0 + b) * H))
    return social(img.crop(box), rng), {
        "keep": round(keep, 3),
        "anchor": corner,
        "box_frac": [x0, y0, a, b],
    }


def e_mirror(img, rng):
    return social(ImageOps.mirror(img), rng), {}


def e_caption(img, rng, kind=None):
    img = social(img, rng)
    W, H = img.size
    kind = kind or rng.choice(["top", "bottom", "both", "meme"])
    bg = rng.choice([(255, 255, 255), (0, 0, 0)])
    fg = (0, 0, 0) if bg[0] == 255 else (255, 255, 255)
    if kind == "meme":  # impact-style text drawn over the picture, top and bottom
        out = img.copy()
        d = ImageDraw.Draw(out)
        size = H * rng.uniform(0.07, 0.1)
        f = font(size)
        for yy, txt in ((H * 0.03, sentence(rng, 3).upper()), (H * 0.85, sentence(rng, 3).upper())):
            tw = f.getlength(txt)
            d.text(
                ((W - tw) / 2, yy),
                txt,
                font=f,
                fill=(255, 255, 255),
                stroke_width=max(1, int(size / 12)),
                stroke_fill=(0, 0, 0),
            )
        return out, {"kind": kind}
    frac = rng.uniform(0.15, 0.25)
    bh = round(H * frac)
    nb = 2 if kind == "both" else 1
    out = Image.new("RGB", (W, H + nb * bh), bg)
    y_img = bh if kind in ("top", "both") else 0
    out.paste(img, (0, y_img))
    d = ImageDraw.Draw(out)
    bars = []
    if kind in ("top", "both"):
        bars.append((0, 0, W, bh))
    if kind in ("bottom", "both"):
        bars.append((0, y_img + H, W, y_img + H + bh))
    for bx in bars:
        draw_text_block(
            d, bx, sentence(rng, rng.randint(4, 12)), bh * rng.uniform(0.22, 0.35), fg, rng
        )
    return out, {"kind": kind, "bar_frac": round(frac, 3), "bg": bg}


def e_watermark(img, rng):
    img = social(img, rng).convert("RGBA")
    W, H = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    alpha = rng.randint(70, 140)
    kind = rng.choice(["big", "tiled", "logo"])
    if kind == "big":
        txt = rng.choice(["@newsdaily", "SAMPLE", "(c) photo agency", "viralpics"])
        f = font(W * 0.11)
        tw = f.getlength(txt)
        d.text(((W - tw) / 2, H * rng.uniform(0.3, 0.6)), txt, font=f, fill=(255, 255, 255, alpha))
    elif kind == "tiled":
        f = font(W * 0.05)
        for yy in range(0, H, max(10, int(H / 5))):
            for xx in range(-int(W * 0.2), W, max(10, int(W / 3))):
                d.text((xx + (yy // 7) % 40, yy), "@stock", font=f, fill=(255, 255, 255, alpha))
    else:
        r = W * rng.uniform(0.08, 0.14)
        cx, cy = W - r * 1.4, H - r * 1.4
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, alpha))
        f = font(r * 0.7)
        d.text((cx - r * 0.8, cy - r * 0.4), "TV24", font=f, fill=(200, 0, 0, min(255, alpha + 60)))
        d.text((W * 0.03, H * 0.03), "LIVE", font=font(W * 0.05), fill=(255, 0, 0, 200))
    out = Image.alpha_composite(img, layer).convert("RGB")
    return out, {"kind": kind, "alpha": alpha}


def e_border(img, rng):
    img = social(img, rng)
    W, H = img.size
    kind = rng.choice(["letterbox", "pillarbox", "frame", "square"])
    col = rng.choice(
        [
            (0, 0, 0),
            (255, 255, 255),
            (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)),
        ]
    )
    p = rng.uniform(0.10, 0.20)
    if kind == "letterbox":
        out = Image.new("RGB", (W, round(H * (1 + 2 * p))), col)
        out.paste(img, (0, round(H * p)))
    elif kind == "pillarbox":
        out = Image.new("RGB", (round(W * (1 + 2 * p)), H), col)
        out.paste(img, (round(W * p), 0))
    elif kind == "frame":
        pp = p / 2
        out = Image.new("RGB", (round(W * (1 + 2 * pp)), round(H * (1 + 2 * pp))), col)
        out.paste(img, (round(W * pp), round(H * pp)))
    else:  # pad to square (instagram style), plus some margin
        S = round(max(W, H) * (1 + p))
        out = Image.new("RGB", (S, S), col)
        out.paste(img, ((S - W) // 2, (S - H) // 2))
    return social(out, rng), {"kind": kind, "pad": round(p, 3), "colour": col}


def _icon_row(d, y, W, size, fg, rng):
    x = W * 0.04
    for _ in range(rng.randint(3, 4)):
        shape = rng.choice(["ellipse", "rect", "tri"])
        box = (x, y, x + size, y + size)
        if shape == "ellipse":
            d.ellipse(box, outline=fg, width=max(2, int(size / 10)))
        elif shape == "rect":
            d.rounded_rectangle(box, radius=size / 4, outline=fg, width=max(2, int(size / 10)))
        else:
            d.polygon(
                [(x, y + size), (x + size / 2, y), (x + size, y + size)],
                outline=fg,
                width=max(2, int(size / 10)),
            )
        x += size * 1.8
    d.rectangle(
        (W * 0.9, y, W * 0.9 + size * 0.8, y + size), outline=fg, width=max(2, int(size / 10))
    )


def e_screenshot(img, rng):
    """Phone screenshot: status bar, app header, the picture, buttons, caption/comment text, nav bar.
    The picture covers ~40-60% of the screenshot area."""
    W = rng.choice([1080, 1170, 720])
    dark = rng.random() < 0.4
    bg = (0, 0, 0) if dark else rng.choice([(255, 255, 255), (250, 250, 250), (240, 242, 245)])
    fg = (245, 245, 245) if dark else (20, 20, 20)
    layout = rng.choice(["feed", "feed", "chat"])
    target = rng.uniform(0.40, 0.60)
    iw, ih = img.size
    if layout == "feed":
        pw = round(W * rng.choice([1.0, 1.0, 0.94]))
    else:
        pw = round(W * rng.uniform(0.62, 0.8))
    ph = round(pw * ih / iw)
    if ph > 1.4 * W:  # very tall picture: shrink
        ph = round(1.4 * W)
        pw = round(ph * iw / ih)
    status_h, header_h = round(W * 0.065), round(W * rng.uniform(0.12, 0.16))
    top = status_h + header_h
    H = round(pw * ph / target / W)
    H = max(H, top + ph + round(W * 0.3))
    out = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(out)
    # status bar
    d.text(
        (W * 0.05, status_h * 0.2),
        f"{rng.randint(7, 23)}:{rng.randint(10, 59)}",
        font=font(status_h * 0.55),
        fill=fg,
    )
    for k in range(3):
        d.rectangle(
            (W * (0.80 + 0.045 * k), status_h * 0.3, W * (0.83 + 0.045 * k), status_h * 0.7),
            fill=fg,
        )
    # header: avatar + name + menu
    r = header_h * 0.32
    cy = status_h + header_h / 2
    d.ellipse(
        (W * 0.04, cy - r, W * 0.04 + 2 * r, cy + r),
        fill=tuple(rng.randint(0, 255) for _ in range(3)),
    )
    d.text(
        (W * 0.04 + 2.6 * r, cy - r * 0.9),
        sentence(rng, 2).replace(" ", "_"),
        font=font(header_h * 0.28),
        fill=fg,
    )
    d.text(
        (W * 0.04 + 2.6 * r, cy + r * 0.05),
        f"{rng.randint(2, 59)} min",
        font=font(header_h * 0.2),
        fill=(128, 128, 128),
    )
    for k in range(3):
        d.ellipse(
            (
                W * 0.92,
                cy - r * 0.6 + k * r * 0.55,
                W * 0.92 + r * 0.25,
                cy - r * 0.35 + k * r * 0.55,
            ),
            fill=fg,
        )
    # picture
    if layout == "feed":
        px = (W - pw) // 2
        y = top + rng.randint(0, round(W * 0.05))
        out.paste(img.resize((pw, ph), Image.LANCZOS), (px, y))
    else:
        px = W - pw - round(W * 0.04)
        y = top + round(W * rng.uniform(0.05, 0.2))
        bubble = tuple(rng.randint(150, 230) for _ in range(3))
        pad = round(W * 0.012)
        d.rounded_rectangle(
            (px - pad, y - pad, px + pw + pad, y + ph + pad * 6), radius=W * 0.03, fill=bubble
        )
        mask = Image.new("L", (pw, ph), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, pw - 1, ph - 1), radius=W * 0.025, fill=255)
        out.paste(img.resize((pw, ph), Image.LANCZOS), (px, y), mask)
        d.text((px + pw - W * 0.12, y + ph + pad), "12:41", font=font(W * 0.03), fill=fg)
    pic_box = (px, y, px + pw, y + ph)
    yy = y + ph + round(W * 0.03)
    _icon_row(d, yy, W, W * 0.06, fg, rng)
    yy += round(W * 0.09)
    d.text((W * 0.04, yy), f"{rng.randint(12, 9999)} likes", font=font(W * 0.035), fill=fg)
    yy += round(W * 0.05)
    draw_text_block(
        d,
        (0, yy, W, min(H - W * 0.12, yy + W * 0.2)),
        sentence(rng, 14),
        W * 0.035,
        fg,
        rng,
        align="left",
    )
    # nav bar
    nb = round(W * 0.11)
    d.rectangle((0, H - nb, W, H), fill=(20, 20, 20) if dark else (245, 245, 245))
    for k in range(5):
        cx = W * (0.1 + 0.2 * k)
        d.rounded_rectangle(
            (cx - nb * 0.2, H - nb * 0.7, cx + nb * 0.2, H - nb * 0.3),
            radius=4,
            outline=fg,
            width=3,
        )
    frac = pw * ph / (W * H)
    return out, {"layout": layout, "dark": dark, "pic_frac": round(frac, 3), "pic_box": pic_box}


def e_gray(img, rng):
    return social(img.convert("L").convert("RGB"), rng), {}


def e_brightness(img, rng):
    kind = rng.choice(["brightness", "contrast", "both"])
    f1 = rng.choice([-1, 1]) * rng.uniform(0.15, 0.30) + 1
    f2 = rng.choice([-1, 1]) * rng.uniform(0.15, 0.30) + 1
    out = img
    if kind in ("brightness", "both"):
        out = ImageEnhance.Brightness(out).enhance(f1)
    if kind in ("contrast", "both"):
        out = ImageEnhance.Contrast(out).enhance(f2)
    return social(out, rng), {"kind": kind, "b": round(f1, 3), "c": round(f2, 3)}


def e_rotate(img, rng):
    ang = rng.choice([-1, 1]) * rng.uniform(2, 5)
    crop = rng.random() < 0.5
    img = social(img, rng)
    out = img.rotate(ang, resample=Image.BICUBIC, expand=not crop, fillcolor=(0, 0, 0))
    if crop:  # crop away the black corners (largest axis-aligned rect of same aspect)
        W, H = img.size
        a = math.radians(abs(ang))
        s = 1 / (math.cos(a) + max(W / H, H / W) * math.sin(a))
        cw, ch = W * s, H * s
        cx, cy = out.size[0] / 2, out.size[1] / 2
        out = out.crop(
            (round(cx - cw / 2), round(cy - ch / 2), round(cx + cw / 2), round(cy + ch / 2))
        )
    return out, {"angle": round(ang, 2), "cropped": crop}


def e_format(img, rng):
    fmt = rng.choice(["WEBP", "PNG"])
    return social(img, rng), {"fmt": fmt}


FAMILIES = {
    "jpeg": (e_jpeg, 3),
    "resize": (e_resize, 3),
    "crop": (e_crop, 4),
    "mirror": (e_mirror, 2),
    "caption": (e_caption, 4),
    "watermark": (e_watermark, 3),
    "border": (e_border, 4),
    "screenshot": (e_screenshot, 4),
    "gray": (e_gray, 2),
    "brightness": (e_brightness, 3),
    "rotate": (e_rotate, 3),
    "format": (e_format, 2),
}


def save(img, path_noext, rng, fam, params):
    if fam == "format":
        fmt = params["fmt"]
        if fmt == "WEBP":
            q = rng.randint(50, 90)
            params["q"] = q
            p = path_noext + ".webp"
            img.save(p, "WEBP", quality=q)
        else:
            p = path_noext + ".png"
            img.save(p, "PNG")
        return p
    q = params.get("q") if fam == "jpeg" else rng.randint(75, 92)
    p = path_noext + ".jpg"
    img.save(p, "JPEG", quality=q)
    return p


def load_rgb(path, max_side=2048):
    im = Image.open(path)
    if im.format == "JPEG":
        im.draft("RGB", (max_side, max_side))
    im = ImageOps.exif_transpose(im) if False else im
    im = im.convert("RGB")
    return fit_max(im, max_side)


# The photo sources of the first benchmark (123 photos): their split and their queries are
# made exactly as before, so the old figures stay comparable; issue 17's photos come after.
OLD_SOURCES = {
    "cimg", "digikam", "hugin", "kphotoalbum", "lomiri16", "lomiri20", "mate", "matplotlib",
    "opencv", "plasma", "sddm", "skimage", "sklearn",
}  # fmt: skip
LOW_TEXTURE = 2.5  # mean grey step between neighbouring pixels (512 px copy) below: "low"
MIN_SIDE = 180  # smaller files in the packages are icons, not photographs


def source(name):
    return name.split("__")[0]


def texture(path):
    """Mean absolute difference of neighbouring pixels, in grey levels, on the picture at
    512 px (the matcher's working size): about 0.3 for fog, 0.6 for a storm sky, 5 for a
    typical street scene."""
    import numpy as np

    im = load_rgb(path, 1024)
    im.thumbnail((512, 512), Image.BILINEAR)
    g = np.asarray(im.convert("L"), np.float32)
    return float((np.abs(np.diff(g, axis=1)).mean() + np.abs(np.diff(g, axis=0)).mean()) / 2)


def split_photos(photo_dir, n_orig=40, seed=1, files=None):
    files = sorted(files if files is not None else os.listdir(photo_dir))

    # group near-identical scenes (kphotoalbum x / x_2, grand_canyon_1..3) so they land on the same side
    def group(f):
        b = os.path.splitext(f)[0]
        for suf in ("_2", "_3", "_1"):
            if b.endswith(suf):
                b = b[: -len(suf)]
        return b

    groups = {}
    for f in files:
        groups.setdefault(group(f), []).append(f)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    orig, unrel = [], []
    for k in keys:
        (orig if len(orig) < n_orig and len(groups[k]) == 1 else unrel).extend(groups[k])
    return sorted(orig), sorted(unrel)


def old_family_queries(photo_dir, out_dir, manifest, f, i, rng):
    """The first benchmark's 12 edit families (37 copies) of original number i."""
    base = load_rgb(os.path.join(photo_dir, f))
    for fam, (fn, nvar) in FAMILIES.items():
        for v in range(nvar):
            kw = {}
            if fam == "crop":
                kw["kind"] = ["corner", "corner", "strip", "any"][v]
            if fam == "caption":
                kw["kind"] = ["top", "bottom", "both", "meme"][v]
            out, params = fn(base, rng, **kw)
            p = save(out, os.path.join(out_dir, f"o{i:03d}_{fam}_{v}"), rng, fam, params)
            add_query(manifest, p, fam, params, truth=f)


def add_query(manifest, path, family, params, truth=None, photo=None):
    """One query of the data set: an edited original (truth) or an unrelated photo's copy."""
    record = {"file": os.path.basename(path), "truth": truth}
    if photo is not None:
        record["photo"] = photo
    record.update(family=family, params=params)
    manifest["queries"].append(record)


def plain_query(photo_dir, out_dir, manifest, f, i, rng):
    """Unrelated photo f as an upload would make it (query u<i>_plain); returns the photo."""
    base = load_rgb(os.path.join(photo_dir, f))
    p = os.path.join(out_dir, f"u{i:03d}_plain.jpg")
    social(base, rng).save(p, "JPEG", quality=85)
    add_query(manifest, p, "unrelated", {}, photo=f)
    return base


def make_dataset(photo_dir, out_dir, seed=12345, n_unrel_edits=4):
    os.makedirs(out_dir, exist_ok=True)
    old = [f for f in sorted(os.listdir(photo_dir)) if source(f) in OLD_SOURCES]
    orig, unrel = split_photos(photo_dir, files=old)
    rng = random.Random(seed)
    manifest = {"originals": orig, "unrelated": unrel, "queries": []}
    for i, f in enumerate(orig):
        old_family_queries(photo_dir, out_dir, manifest, f, i, rng)
    # unrelated: plain + a few random edits each (to exercise query-side variants on non-matches)
    fams = list(FAMILIES)
    for i, f in enumerate(unrel):
        base = plain_query(photo_dir, out_dir, manifest, f, i, rng)
        for v in range(n_unrel_edits):
            fam = (
                ["screenshot", "caption", "border", "crop", "mirror", "rotate", "watermark"][v % 7]
                if v < 3
                else rng.choice(fams)
            )
            fn = FAMILIES[fam][0]
            out, params = fn(base, rng)
            p = save(out, os.path.join(out_dir, f"u{i:03d}_{fam}_{v}"), rng, fam, params)
            add_query(manifest, p, "unrelated_" + fam, params, photo=f)
    add_hard(photo_dir, out_dir, manifest, orig, unrel)
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, default=str)
    return manifest


def _new_photos(photo_dir, old_files):
    """Issue 17's photos: big enough, and not a near-copy of one already in the set (the same
    photo ships in several GCompris activities); near-copies among them are kept together."""
    import imagehash

    seen = []  # (phash, group name)
    for f in old_files:
        seen.append((imagehash.phash(load_rgb(os.path.join(photo_dir, f), 512)), None))
    groups = {}
    for f in sorted(os.listdir(photo_dir)):
        if source(f) in OLD_SOURCES:
            continue
        try:
            im = Image.open(os.path.join(photo_dir, f))
            if min(im.size) < MIN_SIDE:
                continue
            h = imagehash.phash(load_rgb(os.path.join(photo_dir, f), 512))
        except OSError:
            continue
        match = next((g for other, g in seen if h - other <= 6), False)
        if match is None:
            continue  # a copy of one of the first 123: leave it out
        near = match or f
        groups.setdefault(near, []).append(f)
        seen.append((h, near))
    return groups


def add_hard(photo_dir, out_dir, manifest, old_orig, old_unrel, n_new_orig=40, seed=17):
    """40 more originals (24 low-texture, 16 others) and every other new photo unrelated;
    the old edit families on the new originals, issue 17's edits on all originals, and the
    unrelated photos plain and edited (collages of unrelated photos among them)."""
    from edits_hard import COLLAGES, HARD_FAMILIES, VARIANTS

    rng = random.Random(seed)
    groups = _new_photos(photo_dir, old_orig + old_unrel)
    keys = sorted(groups)
    rng.shuffle(keys)
    low, normal, new_orig = [], [], []
    for k in keys:
        f = groups[k][0]
        if len(groups[k]) > 1 or min(Image.open(os.path.join(photo_dir, f)).size) < 480:
            continue
        (low if texture(os.path.join(photo_dir, f)) < LOW_TEXTURE else normal).append(f)
    new_orig = sorted(low[:24] + normal[: n_new_orig - 24])
    new_unrel = sorted(f for k in keys for f in groups[k] if f not in new_orig)
    manifest["originals"] = old_orig + new_orig
    manifest["unrelated"] = old_unrel + new_unrel
    all_orig = manifest["originals"]
    pool = [load_rgb(os.path.join(photo_dir, f), 800) for f in new_unrel[::7]]
    manifest["texture"] = {
        f: round(texture(os.path.join(photo_dir, f)), 3) for f in all_orig + old_unrel + new_unrel
    }
    for f in new_orig:
        i = all_orig.index(f)
        old_family_queries(photo_dir, out_dir, manifest, f, i, rng)
    for i, f in enumerate(all_orig):
        base = load_rgb(os.path.join(photo_dir, f))
        for fam, fn in HARD_FAMILIES.items():
            for v in range(VARIANTS):
                kw = {"others": pool} if fam in COLLAGES else {}
                out, params = fn(base, rng, variant=v, **kw)
                p = save(out, os.path.join(out_dir, f"o{i:03d}_{fam}_{v}"), rng, fam, params)
                add_query(manifest, p, fam, params, truth=f)
    hard = list(HARD_FAMILIES)
    unrel_pool = pool[: len(pool) // 2]
    # (file numbers after every unrelated photo's: u000-u484 are the old and new photos'
    # one-edit copies below, u485 on the new photos' plain and edited copies)
    for i, f in enumerate(new_unrel, start=len(manifest["unrelated"])):
        base = plain_query(photo_dir, out_dir, manifest, f, i, rng)
        for v, fam in enumerate(["collage4", rng.choice(hard)]):
            fn = HARD_FAMILIES[fam]
            kw = {"others": unrel_pool} if fam in COLLAGES else {}
            out, params = fn(base, rng, variant=v, **kw)
            p = save(out, os.path.join(out_dir, f"u{i:03d}_{fam}_{v}"), rng, fam, params)
            add_query(manifest, p, "unrelated_" + fam, params, photo=f)
    # every unrelated photo, old and new, through one of the new edits as well
    for i, f in enumerate(manifest["unrelated"]):
        base = load_rgb(os.path.join(photo_dir, f))
        fam = hard[i % len(hard)]
        kw = {"others": unrel_pool} if fam in COLLAGES else {}
        out, params = HARD_FAMILIES[fam](base, rng, variant=i % VARIANTS, **kw)
        p = save(out, os.path.join(out_dir, f"u{i:03d}_{fam}_h"), rng, fam, params)
        add_query(manifest, p, "unrelated_" + fam, params, photo=f)


if __name__ == "__main__":
    m = make_dataset(
        sys.argv[1] if len(sys.argv) > 1 else "photos",
        sys.argv[2] if len(sys.argv) > 2 else "queries",
    )
    print(
        len(m["originals"]),
        "originals,",
        len(m["unrelated"]),
        "unrelated,",
        len(m["queries"]),
        "queries",
    )
