"""Perceptual fingerprints. A picture is decoded once at working size; every hash family
then takes what it needs from that view (the library keeps several codes per picture, a
query tries several regions of itself, mirrored too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from postcheck.domain import Fingerprint
from postcheck.verifiers import dense, imaging, orb, regions
from postcheck.verifiers.families import codeset, families
from postcheck.verifiers.families.base import QueryCode

QUERY_SIDE = 768  # a query may be a screenshot with the photo in a part of it
# Below this detail (0..1) a picture is too flat to hash: flat pictures 'match' each other.
QUALITY_FLOOR = 0.03


@dataclass
class LibraryView:
    image: Image.Image
    rgb: np.ndarray
    gray: np.ndarray
    trim_box: regions.Box
    features: orb.Features


def library_view(source: Path | str | bytes | Image.Image) -> LibraryView:
    image = (
        source
        if isinstance(source, Image.Image)
        else imaging.open_for_hashing(source, imaging.WORK_SIDE)
    )
    image = imaging.fit(image.convert("RGB"), imaging.WORK_SIDE)
    rgb = np.asarray(image)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    features = orb.features(gray)
    features.thumb = dense.thumb(gray)
    return LibraryView(image, rgb, gray, regions.trim_uniform(rgb, 0.97), features)


@dataclass
class QueryView:
    image: Image.Image
    rgb: np.ndarray
    gray: np.ndarray
    boxes: dict[str, regions.Box]
    features: dict[tuple[str, bool], orb.Features]  # taken up front: the photo regions
    small: np.ndarray  # <=128 px copy, to judge what surrounds a photo
    # Each region's small grey copy for the dense check (dense.thumb), mirrored or not:
    # made when first asked for, once per query, however many candidates it meets.
    thumbs: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict)

    def feature(self, box: str, flip: bool) -> orb.Features | None:
        """ORB features of a region (mirrored: of the whole picture only), taken when first
        asked for: a composite's tiles are verified only when one of them found something."""
        key = (box, flip)
        if key not in self.features and not flip and box in self.boxes:
            x0, y0, x1, y1 = self.boxes[box]
            self.features[key] = orb.features(self.gray[y0:y1, x0:x1], offset=(x0, y0))
        return self.features.get(key)

    def thumb(self, box: str, flip: bool) -> np.ndarray:
        """The region's grey copy at the dense check's size (dense.thumb), mirrored if asked."""
        key = (box, flip)
        if key not in self.thumbs:
            x0, y0, x1, y1 = self.boxes[box]
            region = self.gray[y0:y1, x0:x1]
            if flip:
                region = np.ascontiguousarray(region[:, ::-1])
            self.thumbs[key] = dense.thumb(region)
        return self.thumbs[key]


def query_view(source: Path | str | bytes | Image.Image) -> QueryView:
    image = (
        source if isinstance(source, Image.Image) else imaging.open_for_hashing(source, QUERY_SIDE)
    )
    image = imaging.fit(image.convert("RGB"), QUERY_SIDE)
    rgb = np.asarray(image)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    boxes = regions.candidate_boxes(rgb)
    feats: dict[tuple[str, bool], orb.Features] = {}
    for name, (x0, y0, x1, y1) in boxes.items():
        feats[(name, False)] = orb.features(gray[y0:y1, x0:x1], offset=(x0, y0))
    boxes.update(regions.tiles(rgb))
    feats[("full", True)] = orb.features(np.ascontiguousarray(gray[:, ::-1]))
    height, width = rgb.shape[:2]
    s = min(1.0, 128 / max(height, width))
    small = cv2.resize(
        rgb, (max(1, round(width * s)), max(1, round(height * s))), interpolation=cv2.INTER_AREA
    )
    return QueryView(image, rgb, gray, boxes, feats, small)


def library_fingerprint(view: LibraryView) -> Fingerprint:
    """The codes a library picture is indexed by: 'family' for the whole picture,
    'family@variant' for its regions."""
    quality = imaging.detail(view.image)
    hashes: dict[str, str] = {}
    if quality >= QUALITY_FLOOR:
        for name, family in families().items():
            for variant, code in family.library_codes(view).items():
                hashes[f"{name}@{variant}" if variant else name] = code.hex()
    height, width = view.gray.shape
    return Fingerprint(
        hashes=hashes,
        quality=quality,
        colourfulness=regions.colourfulness(view.rgb),
        width=width,
        height=height,
        codeset=codeset(),
    )


def fingerprint(source: Path | str | bytes | Image.Image) -> Fingerprint:
    return library_fingerprint(library_view(source))


@dataclass
class QueryPrint:
    view: QueryView
    codes: dict[str, list[QueryCode]] = field(default_factory=dict)  # the first lookup's
    quality: float = 1.0
    colourfulness: float = 0.0
    _deep: dict[str, list[QueryCode]] | None = None

    def deep_codes(self) -> dict[str, list[QueryCode]]:
        """The fallback families' codes (families.base.HashFamily.fallback), taken when
        first asked for: only a query the first lookup found nothing for needs them."""
        if self._deep is None:
            self._deep = {}
            if self.quality >= QUALITY_FLOOR:
                for name, family in families().items():
                    if family.fallback and (codes := family.query_codes(self.view)):
                        self._deep[name] = codes
        return self._deep


def query_print(source: Path | str | bytes | Image.Image) -> QueryPrint:
    view = query_view(source)
    quality = imaging.detail(view.image)
    codes = {}
    if quality >= QUALITY_FLOOR:
        codes = {
            name: family.query_codes(view)
            for name, family in families().items()
            if not family.fallback
        }
    return QueryPrint(view, codes, quality, regions.colourfulness(view.rgb))
