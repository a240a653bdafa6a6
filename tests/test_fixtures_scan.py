"""Tests for the scan simulator (jimu.fixtures.scan) and multi-page containers (jimu.fixtures.containers)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import cv2
import numpy as np
import pdfplumber
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from jimu.fixtures.containers import PageLike, blank_separator_page, write_multipage_tiff, write_scanned_pdf
from jimu.fixtures.scan import (
    CAPTURE_QUALITIES,
    SCAN_QUALITIES,
    Quality,
    ScanResult,
    a4_size_px,
    mm_to_px,
    save_scan,
    simulate_scan,
)

QUALITIES: tuple[Quality, ...] = SCAN_QUALITIES  # the capture profiles: tests/test_capture_profiles.py
DEGRADED: tuple[Quality, ...] = ("office", "poor", "handwritten")
EXPECTED_DPI = {"clean": 300, "office": 300, "handwritten": 300, "poor": 200}
MAX_SKEW = {"office": 1.5, "handwritten": 1.5, "poor": 4.0}
MAX_SHIFT_MM = {"office": 4.0, "handwritten": 4.0, "poor": 6.0}

SMALL = (900, 700)  # 76 × 59 mm at 300 dpi
SEAL_BOX = (560, 60, 820, 300)
MARKER = (40, 40, 140, 140)  # solid square near the top-left corner


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in (
        "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    ):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _synthetic_page(size: tuple[int, int] = SMALL) -> Image.Image:
    """A small 300-dpi 'form': a corner marker, a few boxes, rules and a line of text."""
    w, h = size
    page = Image.new("L", size, 255)
    d = ImageDraw.Draw(page)
    d.rectangle(MARKER, fill=0)
    d.rectangle((SEAL_BOX[0], SEAL_BOX[1], SEAL_BOX[2], SEAL_BOX[3]), outline=0, width=4)
    for i in range(4):
        y = 360 + i * 110
        d.rectangle((60, y, w - 60, y + 4), fill=0)
        d.text((80, y + 20), "氏名 山田 太郎 123-4567", font=_font(44), fill=0)
    d.rectangle((80, h - 90, 300, h - 40), outline=0, width=3)
    return page


def _bar_page() -> Image.Image:
    """Only a long thick horizontal bar, for measuring the applied skew."""
    page = Image.new("L", (1200, 900), 255)
    ImageDraw.Draw(page).rectangle((100, 440, 1100, 460), fill=0)
    return page


@pytest.fixture(scope="module")
def small_page() -> Image.Image:
    return _synthetic_page()


@pytest.fixture(scope="module")
def a4_page() -> Image.Image:
    return _synthetic_page(a4_size_px(300))


def _scan(
    page: Image.Image, quality: Quality, seed: int, boxes: list[tuple[int, int, int, int]] | None = None
) -> ScanResult:
    return simulate_scan(page, quality, random.Random(seed), boxes if boxes is not None else [SEAL_BOX])


def _arr(result: ScanResult) -> NDArray[np.uint8]:
    return np.asarray(result.image, dtype=np.uint8)


def _red_mask(result: ScanResult) -> NDArray[np.bool_]:
    a = np.asarray(result.image.convert("RGB"), dtype=np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return (r - g > 50) & (r - b > 40)


# --------------------------------------------------------------------------- tiers


@pytest.mark.parametrize("quality", QUALITIES)
def test_tier_dpi_size_mode_and_format(small_page: Image.Image, quality: Quality) -> None:
    res = _scan(small_page, quality, seed=3)
    dpi = EXPECTED_DPI[quality]
    assert res.dpi == dpi
    assert res.image.size == (round(SMALL[0] * dpi / 300), round(SMALL[1] * dpi / 300))
    assert res.image.mode == ("RGB" if quality == "poor" else "L")
    assert res.fmt == ("png" if quality == "clean" else "jpg")
    assert res.rotation in (0, 180)
    assert res.rotation == (180 if res.upside_down else 0)
    assert tuple(round(v) for v in res.image.info["dpi"]) == (dpi, dpi)


@pytest.mark.parametrize("quality", QUALITIES)
def test_a4_page_stays_a4(a4_page: Image.Image, quality: Quality) -> None:
    res = _scan(a4_page, quality, seed=11)
    assert res.image.size == a4_size_px(res.dpi)
    w_mm = res.image.size[0] / res.dpi * 25.4
    h_mm = res.image.size[1] / res.dpi * 25.4
    assert w_mm == pytest.approx(210, abs=0.3)
    assert h_mm == pytest.approx(297, abs=0.3)


def test_clean_is_unchanged_copy(small_page: Image.Image) -> None:
    res = _scan(small_page, "clean", seed=0)
    assert np.array_equal(_arr(res), np.asarray(small_page))
    assert res.image is not small_page
    assert (res.skew_deg, res.shift_px, res.upside_down, res.encoded) == (0.0, (0, 0), False, None)


@pytest.mark.parametrize("quality", QUALITIES)
def test_deterministic_for_same_seed(small_page: Image.Image, quality: Quality) -> None:
    rng_a, rng_b = random.Random(42), random.Random(42)
    a = simulate_scan(small_page, quality, rng_a, [SEAL_BOX])
    b = simulate_scan(small_page, quality, rng_b, [SEAL_BOX])
    assert np.array_equal(_arr(a), _arr(b))
    assert a.encoded == b.encoded
    assert (a.skew_deg, a.shift_px, a.rotation, a.matrix, a.seal_bbox) == (
        b.skew_deg,
        b.shift_px,
        b.rotation,
        b.matrix,
        b.seal_bbox,
    )
    # the caller's rng advanced identically
    assert rng_a.random() == rng_b.random()


def test_does_not_touch_global_random_state(small_page: Image.Image) -> None:
    random.seed(1234)
    np.random.seed(1234)
    expected_py, expected_np = random.random(), np.random.random()
    random.seed(1234)
    np.random.seed(1234)
    _scan(small_page, "poor", seed=5)
    assert random.random() == expected_py
    assert np.random.random() == expected_np


@pytest.mark.parametrize("quality", DEGRADED)
def test_different_seeds_differ(small_page: Image.Image, quality: Quality) -> None:
    a, b = _scan(small_page, quality, seed=1), _scan(small_page, quality, seed=2)
    assert a.skew_deg != b.skew_deg
    assert not np.array_equal(_arr(a), _arr(b))


@pytest.mark.parametrize("quality", DEGRADED)
def test_geometry_within_bounds(small_page: Image.Image, quality: Quality) -> None:
    skews = []
    for seed in range(25):
        res = _scan(small_page, quality, seed)
        assert abs(res.skew_deg) <= MAX_SKEW[quality]
        limit = mm_to_px(MAX_SHIFT_MM[quality], res.dpi) + 0.5
        assert abs(res.shift_px[0]) <= limit and abs(res.shift_px[1]) <= limit
        assert res.scale == pytest.approx(res.dpi / 300, rel=0.016)
        skews.append(res.skew_deg)
    # actually spread over the range, in both directions
    assert min(skews) < -MAX_SKEW[quality] / 3 and max(skews) > MAX_SKEW[quality] / 3


@pytest.mark.parametrize(
    ("quality", "seed"), [("office", 0), ("office", 7), ("poor", 1), ("poor", 4), ("poor", 9)]
)
def test_skew_visible_in_image_is_clockwise_positive(quality: Quality, seed: int) -> None:
    res = _scan(_bar_page(), quality, seed, boxes=[])
    gray = np.asarray(res.image.convert("L"), dtype=np.uint8)
    dark = (gray < 110).astype(np.uint8)
    _n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    ys, xs = np.nonzero(labels == biggest)
    slope = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)[0]
    measured = math.degrees(math.atan(slope))
    assert measured == pytest.approx(res.skew_deg, abs=0.25)
    # the bar centre lands where the reported matrix says it does
    cx, cy = res.map_point(600, 450)
    assert float(xs.mean()) == pytest.approx(cx, abs=3)
    assert float(ys.mean()) == pytest.approx(cy, abs=3)


def test_poor_turns_some_pages_upside_down(small_page: Image.Image) -> None:
    flipped = []
    for seed in range(40):
        res = _scan(small_page, "poor", seed)
        assert res.rotation == (180 if res.upside_down else 0)
        flipped.append(res.upside_down)
        # the top-left marker really ends up bottom-right on flipped pages
        gray = np.asarray(res.image.convert("L"), dtype=np.float32)
        mx0, my0, mx1, my1 = res.map_box(MARKER)
        w, h = res.image.size
        assert (mx0 > w / 2) == res.upside_down and (my0 > h / 2) == res.upside_down
        inset = 8
        patch = gray[max(0, my0 + inset) : my1 - inset, max(0, mx0 + inset) : mx1 - inset]
        assert patch.size and float(np.median(patch)) < 110
    assert 1 <= sum(flipped) <= 14
    for quality in ("office", "handwritten"):
        assert not any(_scan(small_page, quality, s).upside_down for s in range(20))


@pytest.mark.parametrize("seed", range(6))
def test_poor_seal_is_red_and_overlaps_box(small_page: Image.Image, seed: int) -> None:
    res = _scan(small_page, "poor", seed)
    red = _red_mask(res)
    assert red.sum() > 400, "expected a visible red seal"
    ys, xs = np.nonzero(red)
    bx0, by0, bx1, by1 = res.map_box(SEAL_BOX)
    # most red pixels fall inside the (mapped) seal box, and the red area intersects it
    inside = (xs >= bx0) & (xs < bx1) & (ys >= by0) & (ys < by1)
    assert inside.mean() > 0.5
    assert res.seal_bbox is not None
    sx0, sy0, sx1, sy1 = res.seal_bbox
    assert sx0 < bx1 and bx0 < sx1 and sy0 < by1 and by0 < sy1
    in_seal = (xs >= sx0 - 3) & (xs < sx1 + 3) & (ys >= sy0 - 3) & (ys < sy1 + 3)
    assert in_seal.mean() > 0.97
    # seal diameter is 15–18 mm (at the output dpi, allowing for rotation and bleed)
    diam_mm = max(sx1 - sx0, sy1 - sy0) / res.dpi * 25.4
    assert 13.5 <= diam_mm <= 20.0


def test_seal_picks_one_of_several_boxes(small_page: Image.Image) -> None:
    boxes = [(60, 60, 200, 200), SEAL_BOX]
    hit = set()
    for seed in range(12):
        res = _scan(small_page, "poor", seed, boxes)
        assert res.seal_bbox is not None
        sx0, sy0, sx1, sy1 = res.seal_bbox
        for i, box in enumerate(boxes):
            bx0, by0, bx1, by1 = res.map_box(box)
            if sx0 < bx1 and bx0 < sx1 and sy0 < by1 and by0 < sy1:
                hit.add(i)
    assert hit == {0, 1}


def test_no_seal_without_boxes_and_no_red_in_other_tiers(small_page: Image.Image) -> None:
    res = _scan(small_page, "poor", seed=2, boxes=[])
    assert res.seal_bbox is None
    assert _red_mask(res).sum() < 20
    for quality in ("clean", "office", "handwritten"):
        assert _scan(small_page, quality, seed=2).image.mode == "L"


def test_poor_has_uneven_lighting_and_specks() -> None:
    blank = Image.new("L", SMALL, 255)
    res = _scan(blank, "poor", seed=8, boxes=[])
    gray = np.asarray(res.image.convert("L"), dtype=np.uint8)
    smooth = cv2.medianBlur(gray, 15).astype(np.float32)
    assert 165 <= float(smooth.min()) <= 235
    assert float(smooth.max() - smooth.min()) > 8
    assert int((gray < 100).sum()) > 5  # dust specks
    office = np.asarray(_scan(blank, "office", seed=8).image, dtype=np.float32)
    assert 0.2 < float(office.std()) < 8.0  # mild noise only (JPEG smooths it)


def test_unknown_quality_rejected(small_page: Image.Image) -> None:
    with pytest.raises(ValueError, match="quality"):
        simulate_scan(small_page, "telex", random.Random(0))  # type: ignore[arg-type]


@pytest.mark.parametrize("quality", CAPTURE_QUALITIES)
def test_capture_profile_labels_map_into_the_scan(small_page: Image.Image, quality: Quality) -> None:
    """map_box of the top-left marker (and of the seal box frame) stays right under every capture profile."""
    res = _scan(small_page, quality, seed=6)
    gray = np.asarray(res.image.convert("L"), dtype=np.float32)
    x0, y0, x1, y1 = res.map_box(MARKER)
    w, h = res.image.size
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        assert quality == "misfeed"  # an edge strip was cut off
        return
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    inner = gray[round(cy) - 8 : round(cy) + 8, round(cx) - 8 : round(cx) + 8]
    assert float(np.median(inner)) < 110
    px, py = res.map_point((MARKER[0] + MARKER[2]) / 2, (MARKER[1] + MARKER[3]) / 2)
    assert abs(px - cx) < 3 and abs(py - cy) < 3
    outside = gray[min(h - 1, y1 + 12), max(0, min(w - 1, round(cx)))]
    assert float(outside) > 120


@pytest.mark.parametrize("quality", ["clean", "poor"])
def test_save_scan_writes_format_and_dpi(tmp_path: Path, small_page: Image.Image, quality: Quality) -> None:
    res = _scan(small_page, quality, seed=4)
    path = save_scan(res, tmp_path / "sub" / "page.001")
    assert path.name == f"page.001.{res.fmt}"
    with Image.open(path) as im:
        assert im.format == ("PNG" if res.fmt == "png" else "JPEG")
        assert tuple(round(v) for v in im.info["dpi"]) == (res.dpi, res.dpi)
        assert np.array_equal(np.asarray(im), _arr(res))
    if res.encoded is not None:
        assert path.read_bytes() == res.encoded


# --------------------------------------------------------------------------- containers


def test_multipage_tiff_roundtrip(tmp_path: Path, small_page: Image.Image) -> None:
    pages = [_scan(small_page, q, seed=i).image for i, q in enumerate(QUALITIES)]
    path = write_multipage_tiff(pages, tmp_path / "batch.tif", dpi=300)
    with Image.open(path) as im:
        assert getattr(im, "n_frames", 1) == len(pages)
        for i, page in enumerate(pages):
            im.seek(i)
            assert im.size == page.size
            assert im.info["compression"] == "tiff_adobe_deflate"
            assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)
            assert np.array_equal(np.asarray(im), np.asarray(page))


def test_bilevel_tiff_uses_group4(tmp_path: Path, small_page: Image.Image) -> None:
    pages = [small_page.convert("1"), blank_separator_page(100, random.Random(0)).convert("1")]
    path = write_multipage_tiff(pages, tmp_path / "fax.tiff", dpi=200)
    with Image.open(path) as im:
        assert getattr(im, "n_frames", 1) == 2
        for i in range(2):
            im.seek(i)
            assert im.mode == "1"
            assert im.info["compression"] == "group4"


def test_scanned_pdf_is_image_only_a4(tmp_path: Path, a4_page: Image.Image) -> None:
    office = _scan(a4_page, "office", seed=1)
    poor = _scan(a4_page, "poor", seed=1)
    pages = [office.image, blank_separator_page(300, random.Random(1)), a4_page.convert("1")]
    path = write_scanned_pdf(pages, tmp_path / "feeder.pdf", dpi=300)
    mixed = write_scanned_pdf([office, poor], tmp_path / "mixed.pdf", dpi=300)  # ScanResults carry dpi
    for pdf_path, n in ((path, 3), (mixed, 2)):
        with pdfplumber.open(pdf_path) as pdf:
            assert len(pdf.pages) == n
            for page in pdf.pages:
                assert page.width == pytest.approx(595.3, abs=1.5)
                assert page.height == pytest.approx(841.9, abs=1.5)
                assert page.chars == []
                assert (page.extract_text() or "").strip() == ""
                assert len(page.images) == 1
    # deterministic bytes (no timestamps), and the ScanResult JPEG is embedded verbatim
    again = write_scanned_pdf([office, poor], tmp_path / "mixed2.pdf", dpi=300)
    assert again.read_bytes() == mixed.read_bytes()
    assert office.encoded is not None and office.encoded in mixed.read_bytes()


def test_scanned_pdf_renders_back_to_the_pages(tmp_path: Path, small_page: Image.Image) -> None:
    """Bilevel (G4) and grey/colour (JPEG) pages render with the right polarity, colour and size."""
    pdfium = pytest.importorskip("pypdfium2")
    poor = _scan(small_page, "poor", seed=0)
    pages: list[PageLike] = [small_page.convert("1"), poor]
    path = write_scanned_pdf(pages, tmp_path / "render.pdf", dpi=300)
    doc = pdfium.PdfDocument(str(path))
    try:
        # float rounding can add one pixel row/column: crop to the expected size
        bilevel = doc[0].render(scale=300 / 72).to_pil().convert("L").crop((0, 0, *small_page.size))
        colour = doc[1].render(scale=200 / 72).to_pil().convert("RGB").crop((0, 0, *poor.image.size))
    finally:
        doc.close()
    assert bilevel.size == small_page.size
    diff = np.abs(
        np.asarray(bilevel, dtype=np.int16) - np.asarray(small_page.convert("1").convert("L"), dtype=np.int16)
    )
    assert float((diff > 128).mean()) < 0.01
    assert colour.size == poor.image.size
    diff = np.abs(np.asarray(colour, dtype=np.int16) - np.asarray(poor.image, dtype=np.int16))
    assert float(diff.mean()) < 3.0


def test_scanned_pdf_per_page_dpi(tmp_path: Path) -> None:
    pages = [blank_separator_page(300, random.Random(0)), blank_separator_page(150, random.Random(0))]
    path = write_scanned_pdf(pages, tmp_path / "p.pdf", dpi=[300, 150])
    with pdfplumber.open(path) as pdf:
        assert [round(p.width) for p in pdf.pages] == [595, 595]
    with pytest.raises(ValueError):
        write_scanned_pdf(pages, tmp_path / "q.pdf", dpi=[300])
    with pytest.raises(ValueError):
        write_scanned_pdf([], tmp_path / "r.pdf", dpi=300)


@pytest.mark.parametrize("dpi", [200, 300])
def test_blank_separator_page(dpi: int) -> None:
    a = blank_separator_page(dpi, random.Random(9))
    b = blank_separator_page(dpi, random.Random(9))
    assert a.mode == "L" and a.size == a4_size_px(dpi)
    arr = np.asarray(a, dtype=np.uint8)
    assert np.array_equal(arr, np.asarray(b))
    assert float((arr < 128).mean()) < 5e-4  # nearly blank
    assert 230 < float(arr.mean()) < 255
    assert float(arr.std()) > 0.5  # but not a synthetic flat white
    assert not np.array_equal(arr, np.asarray(blank_separator_page(dpi, random.Random(10))))
