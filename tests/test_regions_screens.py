"""The photo inside a phone screenshot when it is as dark (or as pale) as the app's UI
around it (issue 17): a night photo in a dark-mode app, an overexposed one in a light-mode
app. The finder (regions.detail_box) looks for the block of lines with detail among the
UI's flat lines, not for a colour unlike the UI's.

The screenshots are drawn here, in layouts of this test's own (not the benchmark's): an
X-like timeline (black, the photo indented under the avatar, rounded, with a thin border),
a Telegram-like chat (blue-grey, the photo in a message bubble with the time under it), a
Bluesky-like dim feed, and a light-mode timeline, each with a status bar, header, text
and buttons, saved as JPEG as a platform would."""

import io
from pathlib import Path

import numpy as np
import pytest
from matching_library import exact_library
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from postcheck.domain import MatchEdit
from postcheck.verifiers import perceptual, regions
from postcheck.verifiers.matcher import match

FIX = Path(__file__).parents[1] / "fixtures"
KOKSAN = FIX / "known" / "koksan-2010.jpg"
MOTORCYCLE = FIX / "images" / "x-motorcycle.jpg"
HUBBLE = FIX / "images" / "b-exif-hubble.jpg"  # a deep-sky photo: dark to begin with
COINS = FIX / "images" / "x-coins.jpg"
CAMERA = FIX / "images" / "b-camera.jpg"

WORDS = "rail convoy spotted near the border last night video shows at least six vehicles"


def _font(size: float) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", round(size))
    except OSError:
        return ImageFont.load_default(round(size))


def night(path: Path, factor: float = 0.16) -> Image.Image:
    """The photo darkened to a night shot's levels (mean grey about 10-20)."""
    return ImageEnhance.Brightness(Image.open(path).convert("RGB")).enhance(factor)


def pale(path: Path, keep: float = 0.12) -> Image.Image:
    """The photo washed out towards white (fog, an overexposed sky): grey 225-255."""
    a = np.asarray(Image.open(path).convert("RGB")).astype(np.float32)
    return Image.fromarray((255 - (255 - a) * keep).round().astype(np.uint8))


def _text_lines(draw, x, y, width, size, colour, n):
    words = WORDS.split()
    for k in range(n):
        line = " ".join(words[(3 * k + i) % len(words)] for i in range(5))
        draw.text((x, y), line[: int(width / (size * 0.55))], font=_font(size), fill=colour)
        y += round(size * 1.45)
    return y


def _jpeg(img: Image.Image, quality: int = 85) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _status_and_header(draw, w, bg, fg, muted, avatar):
    draw.text((24, 10), "21:47", font=_font(17), fill=fg)
    for k in range(3):  # signal, wifi, battery
        draw.rectangle((w - 90 + 24 * k, 14, w - 74 + 24 * k, 26), fill=fg)
    draw.line((0, 44, w, 44), fill=muted)
    draw.ellipse((16, 58, 64, 106), fill=avatar)
    draw.text((76, 60), "Rail Watcher", font=_font(19), fill=fg)
    draw.text((76, 86), "@railwatch · 2h", font=_font(15), fill=muted)


def _finish(ui: Image.Image, photo: Image.Image, box, radius: int, outline, u: int):
    """The UI drawn at 1/u of a phone's resolution, enlarged u times (its fills stay exact),
    the photo pasted at full resolution (rounded, outlined as the app does), then saved as
    JPEG. The photo's box at the screenshot's resolution comes back with it."""
    shot = ui.resize((ui.width * u, ui.height * u), Image.NEAREST)
    x0, y0, x1, y1 = (v * u for v in box)
    size = (x1 - x0, y1 - y0)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius * u, 255)
    shot.paste(photo.resize(size, Image.LANCZOS), (x0, y0), mask)
    if outline is not None:
        ImageDraw.Draw(shot).rounded_rectangle(
            (x0, y0, x1 - 1, y1 - 1), radius=radius * u, outline=outline, width=u
        )
    return _jpeg(shot), (x0, y0, x1, y1)


def timeline(photo: Image.Image, bg, fg, muted, border, w=540, u=2) -> tuple[Image.Image, tuple]:
    """An X-like timeline post: the photo indented under the avatar, rounded corners, a
    thin border; buttons and the start of the next post below."""
    pw = w - 76 - 16
    ph = round(pw * photo.height / photo.width)
    top = 118
    out = Image.new("RGB", (w, top + 2 * 28 + 14 + ph + 200), bg)
    draw = ImageDraw.Draw(out)
    _status_and_header(draw, w, bg, fg, muted, (88, 120, 170))
    y = _text_lines(draw, 76, top, pw, 17, fg, 2) + 14
    x0, y0 = 76, y
    y = y0 + ph + 16
    for k, label in enumerate(("12", "48", "1.2K", "")):  # reply, repost, like, share
        cx = 76 + k * pw // 4
        draw.ellipse((cx, y, cx + 18, y + 18), outline=muted, width=2)
        draw.text((cx + 26, y), label, font=_font(15), fill=muted)
    y += 40
    draw.line((0, y, w, y), fill=border)
    draw.ellipse((16, y + 14, 64, y + 62), fill=(170, 90, 60))
    _text_lines(draw, 76, y + 16, pw, 17, fg, 3)
    return _finish(out, photo, (x0, y0, x0 + pw, y0 + ph), 8, border, u)


def chat(
    photo: Image.Image,
    w=540,
    u=2,
    pad=0,
    bg=(14, 22, 33),
    bubble=(43, 82, 120),
) -> tuple[Image.Image, tuple]:
    """A Telegram-like dark chat: a forwarded photo filling an outgoing bubble's top (the
    bubble's rounded corners are the photo's), its caption in the bubble under it,
    messages above and below. With `pad`, the bubble shows around the photo (WhatsApp's
    few pixels), which JPEG joins to the photo."""
    fg, muted = (235, 240, 245), (150, 175, 200)
    pw = round(w * 0.7)
    ph = round(pw * photo.height / photo.width)
    h = 130 + ph + 250
    out = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(out)
    draw.text((20, 10), "09:12", font=_font(16), fill=fg)
    draw.rectangle((0, 36, w, 90), fill=(23, 33, 43))  # the chat's title bar
    draw.ellipse((14, 42, 56, 84), fill=(90, 160, 110))
    draw.text((66, 48), "Field reports", font=_font(18), fill=fg)
    draw.rounded_rectangle((14, 104, 300, 128), radius=10, fill=(24, 37, 51))
    draw.text((24, 108), "anyone seen this one?", font=_font(15), fill=fg)
    x0, y0 = w - pw - 18, 146
    draw.rounded_rectangle(
        (x0 - pad, y0 - pad, x0 + pw + pad, y0 + ph + 54), radius=10, fill=bubble
    )
    y = _text_lines(draw, x0 + 10, y0 + ph + 8, pw - 20, 15, fg, 1)
    draw.text((x0 + pw - 46, y + 2), "09:11", font=_font(12), fill=muted)
    y = y0 + ph + 72
    draw.rounded_rectangle((14, y, 360, y + 46), radius=10, fill=(24, 37, 51))
    _text_lines(draw, 24, y + 4, 330, 15, fg, 2)
    draw.rectangle((0, h - 56, w, h), fill=(23, 33, 43))  # the message field
    draw.text((60, h - 40), "Message", font=_font(17), fill=muted)
    return _finish(out, photo, (x0, y0, x0 + pw, y0 + ph), 10, None, u)


X_DARK = dict(bg=(0, 0, 0), fg=(231, 233, 234), muted=(113, 118, 123), border=(47, 51, 54))
DIM = dict(bg=(22, 30, 39), fg=(241, 243, 245), muted=(120, 139, 165), border=(46, 64, 82))
LIGHT = dict(bg=(255, 255, 255), fg=(15, 20, 25), muted=(83, 100, 113), border=(207, 217, 222))


def _as_query(img: Image.Image, box: tuple) -> tuple[np.ndarray, tuple]:
    """The screenshot as the matcher sees it (fitted to QUERY_SIDE) and the photo's box
    at that scale."""
    fitted = perceptual.imaging.fit(img, perceptual.QUERY_SIDE)
    s = fitted.width / img.width
    return np.asarray(fitted), tuple(round(v * s) for v in box)


def _near(found, truth, tol):
    return found is not None and max(abs(found[i] - truth[i]) for i in range(4)) <= tol


SCREENS = {
    "x-dark koksan at night": lambda: timeline(night(KOKSAN), **X_DARK),
    "x-dark motorcycle at night": lambda: timeline(night(MOTORCYCLE, 0.12), **X_DARK),
    "x-dark deep sky": lambda: timeline(Image.open(HUBBLE).convert("RGB"), **X_DARK),
    "bluesky-dim koksan at night": lambda: timeline(night(KOKSAN, 0.22), **DIM),
    "telegram-dark koksan at night": lambda: chat(night(KOKSAN, 0.2)),
    "whatsapp-dark koksan at night, bubble around it": lambda: chat(
        night(KOKSAN, 0.2), pad=4, bg=(11, 20, 26), bubble=(0, 92, 75)
    ),
    "light-mode coins washed out": lambda: timeline(pale(COINS), **LIGHT),
}


@pytest.mark.parametrize("name", list(SCREENS))
def test_the_photo_in_a_screenshot_as_dark_or_pale_as_its_ui_is_found(name):
    """The finder's box within 4 px (at the query's 768 px) of the photo, and a candidate
    region within 1 % of the side (candidate_boxes keeps one box per 1 % neighbourhood:
    a band or content box already there stands for it)."""
    rgb, truth = _as_query(*SCREENS[name]())
    boxes = regions.candidate_boxes(rgb)
    tol = 0.01 * max(rgb.shape[:2])
    assert any(_near(b, truth, tol) for b in boxes.values()), (boxes, truth)
    assert _near(regions.detail_box(rgb), truth, 4), (regions.detail_box(rgb), truth)


@pytest.mark.parametrize(
    "picture",
    [
        lambda: Image.open(KOKSAN).convert("RGB"),
        lambda: night(KOKSAN),
        lambda: Image.open(HUBBLE).convert("RGB"),  # black sky around the galaxies
        lambda: pale(COINS),
        lambda: Image.open(CAMERA).convert("RGB"),
    ],
)
def test_a_plain_photo_gets_no_screenshot_box(picture):
    """No UI around it: no box, or one that is about the whole picture."""
    rgb = np.asarray(perceptual.imaging.fit(_jpeg(picture()), perceptual.QUERY_SIDE))
    box = regions.detail_box(rgb)
    assert box is None or regions.area_fraction(box, rgb.shape) >= 0.9, box


@pytest.mark.parametrize(
    "layout, darkness",
    [(lambda p: timeline(p, **X_DARK), 0.10), (chat, 0.16)],
    ids=["x-dark", "telegram-dark"],
)
def test_a_dark_screenshot_of_a_night_photo_matches_it(layout, darkness):
    """End to end: the night photo is known; its dark-mode screenshot is proven to be it and
    named a screenshot."""
    photo = night(KOKSAN, darkness)
    others = [Image.open(p).convert("RGB") for p in (MOTORCYCLE, COINS, CAMERA)]
    index, feats = exact_library([*others, photo])
    shot, _ = layout(photo)
    found = [
        m
        for m in match(perceptual.query_print(shot), index, lambda e, v: feats[e.known_id])
        if m.is_match
    ]
    assert [m.known.id for m in found] == [4], [(m.known.id, m.stage) for m in found]
    assert MatchEdit.SCREENSHOT in found[0].edits, (found[0].edits, found[0].stage)
