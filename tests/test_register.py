"""Registration of scanned pages onto their form's template (jimu.extractors.register, jimu.extractors.templates).

Ground truth comes from the scan simulator: ``ScanResult.matrix`` maps 300-dpi page pixels
(= template pixels) to scan pixels, so after registration every template point must land
within a pixel or two of where the simulator put it.  Independently, the ruled lines of the
registered image are measured against the template's (``jimu.bench.register_eval.measure_alignment``).
"""

from __future__ import annotations

import dataclasses
import math
import random
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from jimu.bench import register_eval as E
from jimu.errors import BlankPageError, UnknownFormError
from jimu.extractors import homography as H
from jimu.extractors import register as R
from jimu.extractors import templates as T
from jimu.extractors.types import PX_PER_MM, WORK_DPI, Page, RegisteredPage
from jimu.fixtures.render import render_png
from jimu.forms_schema import FormDefinition, load_all_forms
from jimu.render import registration_marks

FORM_IDS = sorted(load_all_forms())
SEED = 20261120
GRID = np.array([[x, y] for x in np.linspace(60, 2420, 7) for y in np.linspace(60, 3450, 9)], dtype=np.float64)
TEMPLATE_SIZE = (round(210 * PX_PER_MM), round(297 * PX_PER_MM))  # (w, h)

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]


# --------------------------------------------------------------------------- helpers (shared with test_classify)
@dataclasses.dataclass(frozen=True)
class Scan:
    page: Page
    truth: F64  # 2×3: template px → scan px
    rotation: int  # clockwise quarter turn of the content on the page
    form_id: str | None


def form(form_id: str) -> FormDefinition:
    return load_all_forms()[form_id]


def turn(img: U8, truth: F64, quarter_turns: int) -> tuple[U8, F64]:
    """Turn a scan clockwise by quarter turns (a landscape scan of the portrait form)."""
    return E.turn_clockwise(img, truth, quarter_turns)


@lru_cache(maxsize=64)
def corpus_scan(form_id: str, quality: str, index: int, quarter_turns: int = 0) -> Scan:
    """A filled, scanned form from the corpus generator (sampled values, hand, seal)."""
    from jimu.fixtures.corpus import make_one

    scan, _, _ = make_one(form(form_id), SEED, index, quality)  # type: ignore[arg-type]
    img = R.to_gray(np.asarray(scan.image))
    truth = np.array(scan.matrix, dtype=np.float64).reshape(2, 3)
    img, truth = turn(img, truth, quarter_turns)
    return Scan(Page(image=img, dpi=scan.dpi, page_no=0), truth, (scan.rotation + 90 * quarter_turns) % 360, form_id)


def warp_scan(
    page300: U8, *, skew_deg: float = 0.0, scale: float = 1.0, shift_mm: tuple[float, float] = (0.0, 0.0),
    dpi: int = 300, flip: bool = False, seed: int = 0,
) -> tuple[U8, F64]:
    """A hand-made scan: the simulator's geometry convention (clockwise skew about the centre), blur, noise."""
    w_out, h_out = round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)
    k = dpi / WORK_DPI * scale
    t = math.radians(skew_deg + (180.0 if flip else 0.0))
    m = np.array([[math.cos(t) * k, -math.sin(t) * k, 0.0], [math.sin(t) * k, math.cos(t) * k, 0.0]])
    cin = np.array([(page300.shape[1] - 1) / 2, (page300.shape[0] - 1) / 2])
    shift = np.array(shift_mm) / 25.4 * dpi
    m[:, 2] = np.array([(w_out - 1) / 2, (h_out - 1) / 2]) + shift - m[:, :2] @ cin
    src = cv2.GaussianBlur(page300, (0, 0), 0.8)
    out = np.asarray(cv2.warpAffine(src, m, (w_out, h_out), flags=cv2.INTER_LINEAR, borderValue=255), np.float32)
    noisy = out * (240 - 30) / 255 + 30 + np.random.default_rng(seed).normal(0, 5, out.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8), m


def true_error_px(m: F64, truth: F64, dpi: float) -> float:
    """Worst distance (template px) between where registration and the truth put template points."""
    d = np.linalg.norm(H.apply(m, GRID) - H.apply(truth, GRID), axis=1)
    return float(d.max() / (dpi / WORK_DPI))


@lru_cache(maxsize=8)
def filled_render(form_id: str, seed: int = 1) -> U8:
    from jimu.fixtures.values import sample_values

    f = form(form_id)
    values = sample_values(f, random.Random(seed), __import__("datetime").date(2026, 11, 20))
    return np.asarray(render_png(f, values, dpi=300), dtype=np.uint8)


def poor_upside_down_scans(count: int = 2, limit: int = 40) -> list[Scan]:
    """Poor-tier scans (filled, seal, noise, 200 dpi) that the simulator turned upside down."""
    from jimu.fixtures.scan import simulate_scan

    out = []
    for k in range(limit):
        fid = FORM_IDS[k % 5]
        seals = [(1200, 1000, 1700, 1200), (300, 1500, 900, 1700)]
        scan = simulate_scan(Image.fromarray(filled_render(fid)), "poor", random.Random(k), seal_boxes_px=seals)
        if scan.upside_down:
            truth = np.array(scan.matrix, dtype=np.float64).reshape(2, 3)
            out.append(Scan(Page(image=R.to_gray(np.asarray(scan.image)), dpi=scan.dpi, page_no=0), truth, 180, fid))
            if len(out) == count:
                break
    return out


# --------------------------------------------------------------------------- templates
def test_templates_cached_and_consistent() -> None:
    a = T.get_template("jumin_idou")
    assert T.get_template(form("jumin_idou")) is a
    w, h = TEMPLATE_SIZE
    assert a.image.shape == (h, w) and a.image.dtype == np.uint8
    assert a.dropout.shape == (h, w) and a.dropout.dtype == np.bool_
    assert a.line.shape == a.tolerated.shape == T.coarse_shape()
    assert not a.image.flags.writeable  # shared between pages: read-only
    # the marks' centroids sit where the form definition puts them
    want = [(b.x + b.w / 2, b.y + b.h / 2) for b in registration_marks(form("jumin_idou"))]
    assert np.abs(a.mark_centres - (np.array(want) * PX_PER_MM - 0.5)).max() < 1.0  # the renderer snaps to pixels
    assert len(a.patches) >= 12


def test_dropout_mask_covers_printed_ink_only() -> None:
    t = T.get_template("kodomo_iryohi")
    mask = T.dropout_mask("kodomo_iryohi")
    ink = t.image < 128
    assert mask[ink].all()  # every printed pixel is dropped
    assert 0.02 < mask.mean() < 0.2  # … and the entry areas mostly are not
    leaf = form("kodomo_iryohi").leaf_fields()[0]
    e = leaf.entry
    inner = mask[round((e.y + 1.5) * PX_PER_MM) : round((e.bottom - 1.5) * PX_PER_MM),
                 round((e.x + 1.5) * PX_PER_MM) : round((e.right - 1.5) * PX_PER_MM)]
    assert inner.mean() < 0.5


def test_template_disk_cache_round_trip(tmp_path: Path) -> None:
    f = form("inkan_toroku")
    t = T.get_template(f)
    path = tmp_path / f"{T.template_key(f)}.npz"
    T._save_disk(path, t)
    back = T._load_disk(path, f)
    assert back is not None
    assert np.array_equal(back.image, t.image) and np.array_equal(back.dropout, t.dropout)
    assert np.array_equal(back.line, t.line) and np.allclose(back.patches, t.patches)
    assert T.template_key(f).startswith("inkan_toroku-v1-")


# --------------------------------------------------------------------------- orientation
@pytest.mark.parametrize("quarter_turns", [0, 1, 2, 3])
def test_every_orientation_registers(quarter_turns: int) -> None:
    s = corpus_scan(FORM_IDS[quarter_turns + 1], "office", 3, quarter_turns)
    reg = R.register_page(s.page)
    loc = R.locate(s.page)
    assert reg.form_id == s.form_id
    assert reg.rotation == s.rotation
    assert true_error_px(loc.matrix, s.truth, s.page.dpi) < 1.5
    assert reg.image.shape == (TEMPLATE_SIZE[1], TEMPLATE_SIZE[0]) and reg.image.dtype == np.uint8
    assert E.measure_alignment(reg).p95_abs < 2.0


def test_poor_upside_down_scans_register() -> None:
    scans = poor_upside_down_scans()
    assert len(scans) == 2, "the simulator should turn ~15 % of poor scans upside down"
    for s in scans:
        loc = R.locate(s.page)
        assert loc.rotation == 180 and loc.form_id == s.form_id
        assert true_error_px(loc.matrix, s.truth, s.page.dpi) < 2.0


# --------------------------------------------------------------------------- geometry
@pytest.mark.parametrize(
    ("skew", "scale", "shift", "dpi", "flip"),
    [
        (4.0, 1.0, (5.0, -5.0), 300, False),
        (-4.0, 1.03, (-6.0, 4.0), 200, False),
        (2.5, 0.97, (6.0, 6.0), 200, True),
        (-1.0, 0.97, (-3.0, -6.0), 300, False),
        (3.0, 1.03, (0.0, 0.0), 300, True),
    ],
)
def test_registration_under_skew_scale_shift_and_dpi(
    skew: float, scale: float, shift: tuple[float, float], dpi: int, flip: bool
) -> None:
    fid = FORM_IDS[int(abs(skew * 10)) % 5]
    img, truth = warp_scan(filled_render(fid), skew_deg=skew, scale=scale, shift_mm=shift, dpi=dpi, flip=flip)
    page = Page(image=img, dpi=dpi, page_no=0)
    loc = R.locate(page)
    assert loc.form_id == fid
    assert loc.rotation == (180 if flip else 0)
    assert true_error_px(loc.matrix, truth, dpi) < 2.0
    reg = R.register_page(page)
    assert reg.skew_deg == pytest.approx(skew, abs=0.1)
    assert reg.scale == pytest.approx(scale, abs=0.005)
    assert reg.source_dpi == dpi


@pytest.mark.parametrize(("quality", "index"), [("office", 11), ("poor", 12), ("handwritten", 13), ("clean", 14)])
def test_box_lines_land_within_a_few_pixels(quality: str, index: int) -> None:
    """Measured on the image: ruled lines of the registered page vs the template's (dark-line profiles)."""
    s = corpus_scan(FORM_IDS[index % 5], quality, index, index % 4)
    reg = R.register_page(s.page)
    a = E.measure_alignment(reg)
    assert a.n > 100
    assert a.p95_abs <= 2.0 and a.max_abs <= 3.0, a
    # the measure itself sees a 3 px misregistration
    shifted = np.full_like(reg.image, 255)
    shifted[3:, 3:] = reg.image[:-3, :-3]
    bad = E.measure_alignment(dataclasses.replace(reg, image=shifted))
    assert bad.mean_abs > 2.5


def test_marks_missing_falls_back_to_printed_features() -> None:
    """All four corner marks covered (white-out, or a seal): the printed features still register the page."""
    fid = "juminhyo_kofu"
    img300 = filled_render(fid).copy()
    for i, b in enumerate(registration_marks(form(fid))):
        x0, y0 = round(b.x * PX_PER_MM) - 8, round(b.y * PX_PER_MM) - 8
        x1, y1 = round(b.right * PX_PER_MM) + 8, round(b.bottom * PX_PER_MM) + 8
        img300[y0:y1, x0:x1] = 255 if i % 2 else 120
    img, truth = warp_scan(img300, skew_deg=-3.0, scale=1.01, shift_mm=(4.0, -3.0), dpi=200, flip=True)
    loc = R.locate(Page(image=img, dpi=200, page_no=0))
    assert loc.method == "features" and loc.form_id == fid and loc.rotation == 180
    assert true_error_px(loc.matrix, truth, 200) < 2.0


def test_search_still_registers_when_features_give_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coarse search stays as the last resort (marks covered, feature matching finding nothing)."""
    from jimu.extractors import feature_align

    monkeypatch.setattr(feature_align, "hypotheses", lambda *a, **k: [])
    fid = "juminhyo_kofu"
    img300 = filled_render(fid).copy()
    for i, b in enumerate(registration_marks(form(fid))):
        x0, y0 = round(b.x * PX_PER_MM) - 8, round(b.y * PX_PER_MM) - 8
        x1, y1 = round(b.right * PX_PER_MM) + 8, round(b.bottom * PX_PER_MM) + 8
        img300[y0:y1, x0:x1] = 255 if i % 2 else 120
    img, truth = warp_scan(img300, skew_deg=-3.0, scale=1.01, shift_mm=(4.0, -3.0), dpi=200, flip=True)
    loc = R.locate(Page(image=img, dpi=200, page_no=0))
    assert loc.method == "search" and loc.form_id == fid and loc.rotation == 180
    assert true_error_px(loc.matrix, truth, 200) < 2.0


def test_mark_cut_off_by_the_page_edge() -> None:
    """A shift pushes two marks half off the scan: the remaining and partial marks still register it."""
    fid = "kaigo_nintei"
    img, truth = warp_scan(filled_render(fid), skew_deg=1.5, shift_mm=(-7.5, 0.0), dpi=300)
    loc = R.locate(Page(image=img, dpi=300, page_no=0))
    assert loc.method == "marks" and loc.form_id == fid
    assert true_error_px(loc.matrix, truth, 300) < 1.5


# --------------------------------------------------------------------------- blank / unknown / inputs
def test_blank_pages_raise_blank_page_error() -> None:
    from jimu.fixtures.containers import blank_separator_page
    from jimu.fixtures.scan import simulate_scan

    white = Image.new("L", TEMPLATE_SIZE, 255)
    poor = simulate_scan(white, "poor", random.Random(3))
    pages = [
        Page(image=R.to_gray(np.asarray(poor.image)), dpi=poor.dpi, page_no=4),
        Page(image=np.asarray(blank_separator_page(300, random.Random(5))), dpi=300, page_no=1),
    ]
    for p in pages:
        with pytest.raises(BlankPageError) as e:
            R.register_page(p)
        assert f"Page {p.page_no + 1}" in e.value.message


def test_form_ids_restrict_the_candidates() -> None:
    s = corpus_scan("inkan_toroku", "office", 21)
    assert R.register_page(s.page, ["inkan_toroku", "jumin_idou"]).form_id == "inkan_toroku"
    with pytest.raises(UnknownFormError) as e:
        R.register_page(s.page, ["jumin_idou", "kaigo_nintei"])
    assert "does not match any of Jimu's forms" in e.value.message


def test_rgb_bitonal_and_wrong_dpi_metadata() -> None:
    s = corpus_scan("jumin_idou", "office", 22)
    rgb = np.dstack([s.page.image] * 3)
    assert R.register_page(Page(image=rgb, dpi=300, page_no=0)).form_id == "jumin_idou"
    bitonal = s.page.image > 140
    assert R.register_page(Page(image=bitonal, dpi=300, page_no=0)).form_id == "jumin_idou"
    reg = R.register_page(Page(image=s.page.image, dpi=72, page_no=0))  # JPEG said 72 dpi; the size says 300
    assert reg.form_id == "jumin_idou" and reg.source_dpi == pytest.approx(300, rel=0.01)


def test_tiny_or_odd_images_do_not_crash() -> None:
    rng = np.random.default_rng(0)
    for img in (np.full((40, 30), 255, np.uint8), rng.integers(0, 255, (60, 90), dtype=np.uint8)):
        with pytest.raises((BlankPageError, UnknownFormError)):
            R.register_page(Page(image=img, dpi=300, page_no=0))


def test_registered_page_is_classified_again_the_same() -> None:
    from jimu.extractors.classify import classify_page

    s = corpus_scan("kodomo_iryohi", "poor", 23)
    reg = R.register_page(s.page)
    assert isinstance(reg, RegisteredPage)
    again = classify_page(reg)
    assert again.form_id == "kodomo_iryohi" and again.score > 0.8
    assert 0.0 < reg.match_score <= 1.0


def test_no_growth_over_many_pages() -> None:
    """The caches are bounded: registering pages repeatedly does not keep memory."""
    import tracemalloc

    s = corpus_scan("juminhyo_kofu", "poor", 24)
    R.register_page(s.page)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(15):
        R.register_page(s.page)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(st.size_diff for st in after.compare_to(before, "filename"))
    assert grown < 2_000_000
