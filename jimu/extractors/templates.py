"""Blank form templates: what each form looks like when nothing is written on it.

For every form this module renders the blank page once (``jimu.render.render_blank``) at
``WORK_DPI`` and derives what registration, classification and the field readers need:

* ``image`` — the blank render, uint8 at ``WORK_DPI`` (template mm × ``PX_PER_MM`` = pixel);
* ``dropout`` — the printed ink dilated by a couple of pixels, so a reader can remove ruled lines
  and printed labels from a field crop (``crop[dropout[y0:y1, x0:x1]] = 255``);
* coarse (``COARSE_DPI``) maps for classification: ``line`` (where the template has strong ink),
  ``tolerated`` (printed ink and shading, slightly grown, plus every entry area and seal/office box,
  where a filled page may have ink) and ``coarse_ink`` (darkness 0..1, for ECC and phase correlation);
* ``patches`` — centres (template px) of small windows with two-dimensional structure (box corners,
  crossings, marks) that the registration aligns one by one to reach sub-pixel accuracy;
* ``mark_centres`` — centroids of the four corner registration marks, in template pixels.

Everything is cached in-process (a dict keyed like the disk cache) and, optionally, on disk under
``<settings.data_dir>/cache/templates`` keyed by form id, form version, a hash of the form
definition and :data:`FEATURES_VERSION`, so rendering five templates is never paid per page
(set ``JIMU_TEMPLATE_DISK_CACHE=0`` to keep it in memory only).  Template arrays are shared
and read-only.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from jimu.extractors.types import PX_PER_MM, WORK_DPI
from jimu.forms_schema.model import Box, FormDefinition

FEATURES_VERSION = 4  # bump when anything derived below changes (invalidates the disk cache)
COARSE_DPI = 50.0  # classification / orientation / coarse search resolution
COARSE_FACTOR = WORK_DPI / COARSE_DPI  # template px per coarse px (6); must be a whole number
DROPOUT_DILATE_PX = 2
INK_LEVEL = 128  # template pixels darker than this are printed ink (fills are 205 and 232)
LINE_DARKNESS = 0.35  # coarse darkness above which the template has a line / printed text
SHADE_DARKNESS = 0.04  # coarse darkness above which the template is printed at all (shading included)
ENTRY_GROW_MM = 1.5  # handwriting spills a little over the entry boxes
PATCH_PX = 128  # refinement window at WORK_DPI (10.8 mm)

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
B = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Template:
    form_id: str
    version: int
    title: str
    key: str  # cache key: form version + definition hash + features version
    image: U8  # blank render at WORK_DPI, H×W
    dropout: B  # printed ink dilated by DROPOUT_DILATE_PX, WORK_DPI
    coarse_ink: F32  # darkness 0..1 at COARSE_DPI
    line: B  # strong printed ink at COARSE_DPI
    tolerated: B  # printed (incl. shading, grown) or an entry / seal area, COARSE_DPI
    patches: NDArray[np.float64]  # N×2 (x, y) centres in template px of refinement windows
    mark_centres: NDArray[np.float64]  # 4×2 (x, y): TL, TR, BL, BR, template px

    @cached_property
    def forbidden(self) -> B:
        """Coarse pixels where a page of this form has no ink (white, and nobody writes there)."""
        return ~self.tolerated

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in template pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    @property
    def coarse_size(self) -> tuple[int, int]:
        return int(self.line.shape[1]), int(self.line.shape[0])

    def patch_darkness(self, cx: float, cy: float) -> F32:
        """Template darkness (0..1) in a PATCH_PX window centred on (cx, cy)."""
        h = PATCH_PX // 2
        x0, y0 = round(cx) - h, round(cy) - h
        img = self.image
        out = np.zeros((PATCH_PX, PATCH_PX), np.float32)
        ys0, xs0 = max(0, y0), max(0, x0)
        ys1, xs1 = min(img.shape[0], y0 + PATCH_PX), min(img.shape[1], x0 + PATCH_PX)
        out[ys0 - y0 : ys1 - y0, xs0 - x0 : xs1 - x0] = 1.0 - img[ys0:ys1, xs0:xs1].astype(np.float32) / 255.0
        return out


# --------------------------------------------------------------------------- helpers
def definition_hash(form: FormDefinition) -> str:
    """Hash of the form definition as loaded from its YAML (key order independent)."""
    return hashlib.sha256(form.model_dump_json().encode("utf-8")).hexdigest()[:16]


_KEYS: dict[int, tuple[FormDefinition, str]] = {}


def template_key(form: FormDefinition) -> str:
    """Cache key; memoised per form object (the forms are loaded once and kept)."""
    hit = _KEYS.get(id(form))
    if hit is not None and hit[0] is form:
        return hit[1]
    key = f"{form.form_id}-v{form.version}-{definition_hash(form)}{_blank_hash(form)}-f{FEATURES_VERSION}"
    if len(_KEYS) > 256:
        _KEYS.clear()
    _KEYS[id(form)] = (form, key)
    return key


def _blank_hash(form: FormDefinition) -> str:
    p = form.template_image_path
    if p is None:
        return ""
    try:
        return "-b" + hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    except OSError:
        return "-bmissing"


def blank_image(form: FormDefinition) -> U8:
    """The form's blank page at WORK_DPI: its real blank scan (``template_image``), else Jimu's drawing."""
    from jimu.render import render_blank

    p = form.template_image_path
    if p is None:
        return np.asarray(render_blank(form, dpi=WORK_DPI), dtype=np.uint8).copy()
    from PIL import Image

    size = (round(form.page.width_mm * PX_PER_MM), round(form.page.height_mm * PX_PER_MM))
    with Image.open(p) as im:
        gray = np.asarray(im.convert("L").resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    # tinted or greyish paper (a coloured form scanned grey): the paper becomes white, as a scan's
    # background is normalised before it is compared with the template
    paper = float(np.percentile(gray, 90))
    return np.asarray(np.clip(gray * (255.0 / max(paper, 1.0)), 0, 255), dtype=np.uint8).copy()


def coarse_shape(width_mm: float = 210.0, height_mm: float = 297.0) -> tuple[int, int]:
    """(height, width) of the coarse template grid (whole coarse pixels only)."""
    k = int(COARSE_FACTOR)
    return round(height_mm * PX_PER_MM) // k, round(width_mm * PX_PER_MM) // k


def to_coarse_gray(image: U8) -> U8:
    """Area-average a WORK_DPI image onto the coarse grid (coarse pixel u covers px [6u, 6u + 6))."""
    k = int(COARSE_FACTOR)
    ch, cw = image.shape[0] // k, image.shape[1] // k
    return np.asarray(cv2.resize(image[: ch * k, : cw * k], (cw, ch), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def to_coarse_darkness(image: U8) -> F32:
    """Coarse darkness 0..1 of a white-background WORK_DPI image (the blank template)."""
    return np.asarray(1.0 - to_coarse_gray(image).astype(np.float32) / 255.0, dtype=np.float32)


def _box_mask(shape: tuple[int, int], boxes: list[Box], grow_mm: float, px_per_mm: float) -> B:
    m = np.zeros(shape, np.uint8)
    for b in boxes:
        x0 = max(0, int(np.floor((b.x - grow_mm) * px_per_mm)))
        y0 = max(0, int(np.floor((b.y - grow_mm) * px_per_mm)))
        x1 = min(shape[1], int(np.ceil((b.right + grow_mm) * px_per_mm)))
        y1 = min(shape[0], int(np.ceil((b.bottom + grow_mm) * px_per_mm)))
        if x1 > x0 and y1 > y0:
            m[y0:y1, x0:x1] = 1
    return m.astype(bool)


def _entry_boxes(form: FormDefinition) -> list[Box]:
    boxes = [lf.entry for lf in form.leaf_fields()]
    for hd in form.headings:
        if hd.body_h:
            boxes.append(Box(x=hd.box.x, y=hd.box.bottom, w=hd.box.w, h=hd.body_h))
    return boxes


def _mark_centres(image: U8, form: FormDefinition) -> NDArray[np.float64]:
    from jimu.render import registration_marks

    out = []
    for b in registration_marks(form):
        x0, y0 = int(b.x * PX_PER_MM) - 10, int(b.y * PX_PER_MM) - 10
        x1, y1 = int(b.right * PX_PER_MM) + 10, int(b.bottom * PX_PER_MM) + 10
        roi = 255.0 - image[y0:y1, x0:x1].astype(np.float64)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        s = roi.sum()
        out.append((float((xs * roi).sum() / s), float((ys * roi).sum() / s)))
    return np.array(out, dtype=np.float64)


def _select_patches(image: U8, tolerated_entry: B, marks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Centres of windows with strong 2-D structure (corners, crossings), spread over the page."""
    f = 4  # work at 75 dpi
    small = cv2.resize(image, (image.shape[1] // f, image.shape[0] // f), interpolation=cv2.INTER_AREA)
    d = np.asarray(cv2.GaussianBlur(1.0 - small.astype(np.float32) / 255.0, (0, 0), 1.0), dtype=np.float32)
    gx = cv2.Sobel(d, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(d, cv2.CV_32F, 0, 1, ksize=3)
    win = (PATCH_PX // f, PATCH_PX // f)
    sxx = cv2.boxFilter(gx * gx, -1, win)
    syy = cv2.boxFilter(gy * gy, -1, win)
    sxy = cv2.boxFilter(gx * gy, -1, win)
    tr = sxx + syy
    lam_min = tr / 2 - np.sqrt(np.maximum((sxx - syy) ** 2 / 4 + sxy * sxy, 0))
    # prefer windows that are not mostly entry area (handwriting lands there)
    entry_frac = cv2.boxFilter(tolerated_entry.astype(np.float32), -1, win)
    score = lam_min * (1.0 - 0.7 * entry_frac)
    h, w = score.shape
    margin = PATCH_PX // f // 2 + 2
    score[:margin, :] = 0
    score[-margin:, :] = 0
    score[:, :margin] = 0
    score[:, -margin:] = 0
    top = float(score.max())
    centres: list[tuple[float, float]] = [(float(x), float(y)) for x, y in marks]
    cols, rows = 5, 7
    for r in range(rows):
        for c in range(cols):
            y0, y1 = r * h // rows, (r + 1) * h // rows
            x0, x1 = c * w // cols, (c + 1) * w // cols
            cell = score[y0:y1, x0:x1]
            if cell.size == 0:
                continue
            iy, ix = np.unravel_index(int(np.argmax(cell)), cell.shape)
            if cell[iy, ix] < 0.05 * top:
                continue
            cx, cy = (x0 + ix + 0.5) * f - 0.5, (y0 + iy + 0.5) * f - 0.5
            if all(abs(cx - px) > PATCH_PX * 0.6 or abs(cy - py) > PATCH_PX * 0.6 for px, py in centres):
                centres.append((cx, cy))
    return np.array(centres, dtype=np.float64)


def build_template(form: FormDefinition) -> Template:
    """Render (or load) the blank form and derive every feature (no caching)."""
    image = blank_image(form)
    ink = (image < INK_LEVEL).astype(np.uint8)
    k = 2 * DROPOUT_DILATE_PX + 1
    dropout = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))).astype(bool)
    coarse = to_coarse_darkness(image)
    line = coarse > LINE_DARKNESS
    shape = (coarse.shape[0], coarse.shape[1])
    printed = cv2.dilate((coarse > SHADE_DARKNESS).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    px_coarse = PX_PER_MM / COARSE_FACTOR
    entries = _box_mask(shape, _entry_boxes(form), ENTRY_GROW_MM, px_coarse)
    tolerated = printed | entries
    marks = _mark_centres(image, form) if form.has_corner_marks else np.zeros((0, 2), np.float64)
    entry_full_small = _box_mask((image.shape[0] // 4, image.shape[1] // 4), _entry_boxes(form), 0.0, PX_PER_MM / 4)
    patches = _select_patches(image, entry_full_small, marks)
    for a in (image, dropout):
        a.flags.writeable = False
    return Template(
        form_id=form.form_id, version=form.version, title=form.title, key=template_key(form), image=image,
        dropout=dropout, coarse_ink=coarse, line=line, tolerated=tolerated, patches=patches, mark_centres=marks,
    )


# --------------------------------------------------------------------------- caches
def _cache_dir() -> Path | None:
    try:
        from jimu.settings import get_settings

        settings = get_settings()
    except Exception:  # settings unavailable: in-process cache only
        return None
    return settings.data_dir / "cache" / "templates" if settings.template_disk_cache else None


def _load_disk(path: Path, form: FormDefinition) -> Template | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            image = z["image"]
            dropout = np.unpackbits(z["dropout"])[: image.size].reshape(image.shape).astype(bool)
            for a in (image, dropout):
                a.flags.writeable = False
            return Template(
                form_id=form.form_id, version=form.version, title=form.title, key=template_key(form),
                image=image, dropout=dropout,
                coarse_ink=z["coarse_ink"], line=z["line"], tolerated=z["tolerated"], patches=z["patches"],
                mark_centres=z["mark_centres"],
            )
    except (OSError, KeyError, ValueError):
        return None


def _save_disk(path: Path, t: Template) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(
            buf, image=t.image, dropout=np.packbits(t.dropout.ravel()), coarse_ink=t.coarse_ink, line=t.line,
            tolerated=t.tolerated, patches=t.patches, mark_centres=t.mark_centres,
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
        for old in path.parent.glob(f"{t.form_id}-v*.npz"):  # older versions of this form's template
            if old != path and old.name.split("-v")[0] == t.form_id:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only data dir only costs a re-render next time


_CACHE: dict[str, Template] = {}
_LOCK = threading.Lock()


def _template_for(key: str, form: FormDefinition) -> Template:
    with _LOCK:
        t = _CACHE.get(key)
        if t is None:
            t = _CACHE[key] = _build_cached(key, form)
        return t


def _build_cached(key: str, form: FormDefinition) -> Template:
    cache = _cache_dir()
    path = cache / f"{key}.npz" if cache is not None else None
    if path is not None and path.exists():
        t = _load_disk(path, form)
        if t is not None:
            return t
    t = build_template(form)
    if path is not None:
        _save_disk(path, t)
    return t


def get_template(form: FormDefinition | str) -> Template:
    """The cached template of a form (a FormDefinition, or a form id of the installed forms)."""
    if isinstance(form, str):
        form = _forms()[form]
    return _template_for(template_key(form), form)


def _forms() -> dict[str, FormDefinition]:
    from jimu.forms_schema import load_all_forms

    return load_all_forms()


def all_templates(form_ids: list[str] | None = None) -> list[Template]:
    """Templates of the given installed forms (default: all). An unknown id is a FormSchemaError."""
    forms = _forms()
    if form_ids is None:
        return [get_template(f) for f in forms.values()]
    from jimu.forms_schema import get_form

    return [get_template(get_form(i)) for i in form_ids]


def clear_caches() -> None:
    with _LOCK:
        _CACHE.clear()


def dropout_mask(form_id: str) -> B:
    """True where the blank form has printed ink (dilated a little), at WORK_DPI: whiten it in crops."""
    return get_template(form_id).dropout


def template_image(form_id: str) -> U8:
    """The blank form at WORK_DPI (do not modify: it is shared)."""
    return get_template(form_id).image
