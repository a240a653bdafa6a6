"""Capture profiles (jimu.fixtures.capture), coloured ballpoint ink, the extra fonts and their glyph fallback."""

from __future__ import annotations

import datetime as dt
import io
import random
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from jimu.fixtures.capture import blue_ballpoint, capture_hand
from jimu.fixtures.fonts import CHECK_CHARS
from jimu.fixtures.render import Hand, render_png, write_text
from jimu.fixtures.scan import CAPTURE_QUALITIES, Quality, ScanResult, save_scan, simulate_scan
from jimu.forms_schema import get_form, load_all_forms
from jimu.forms_schema.model import Box
from jimu.render import registration_marks
from jimu.render.canvas import RasterCanvas
from jimu.render.fonts import PRINT_FONTS, font_for_char, has_glyph, missing_chars

SMALL = (900, 700)
MARKERS = [(110, 110), (790, 110), (450, 350), (110, 590), (790, 590)]  # centres of 60×60 solid squares
HALF = 30
INSTALLED = sorted(n for n, (_pkg, path) in PRINT_FONTS.items() if Path(path).exists())


def _marker_page() -> Image.Image:
    page = Image.new("L", SMALL, 255)
    d = ImageDraw.Draw(page)
    for x, y in MARKERS:
        d.rectangle((x - HALF, y - HALF, x + HALF - 1, y + HALF - 1), fill=0)
    return page


@pytest.fixture(scope="module")
def marker_page() -> Image.Image:
    return _marker_page()


def _capture(page: Image.Image, quality: Quality, seed: int) -> ScanResult:
    return simulate_scan(page, quality, random.Random(seed), [])


def _gray(res: ScanResult) -> NDArray[np.float32]:
    return np.asarray(res.image.convert("L"), dtype=np.float32)


def _dark_centroid(gray: NDArray[np.float32], box: tuple[int, int, int, int], pad: int) -> tuple[float, float] | None:
    h, w = gray.shape
    x0, y0, x1, y1 = box
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    patch = gray[y0:y1, x0:x1]
    thr = (float(np.percentile(patch, 5)) + float(np.percentile(patch, 95))) / 2
    ys, xs = np.nonzero(patch < thr)
    return float(xs.mean()) + x0, float(ys.mean()) + y0


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("quality", CAPTURE_QUALITIES)
def test_profile_is_deterministic_for_a_seed(marker_page: Image.Image, quality: Quality) -> None:
    rng_a, rng_b = random.Random(7), random.Random(7)
    a = simulate_scan(marker_page, quality, rng_a, [])
    b = simulate_scan(marker_page, quality, rng_b, [])
    assert a.encoded is not None and a.encoded == b.encoded
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert (a.matrix, a.homography, a.details) == (b.matrix, b.homography, b.details)
    assert rng_a.random() == rng_b.random()


@pytest.mark.parametrize("quality", CAPTURE_QUALITIES)
def test_profile_differs_between_seeds(marker_page: Image.Image, quality: Quality) -> None:
    a, b = _capture(marker_page, quality, 1), _capture(marker_page, quality, 2)
    assert a.encoded != b.encoded
    assert a.details != b.details


@pytest.mark.parametrize("quality", CAPTURE_QUALITIES)
def test_profile_records_what_it_applied(marker_page: Image.Image, quality: Quality) -> None:
    d = _capture(marker_page, quality, 3).details
    assert d["quality"] == quality
    assert "dpi" in d
    expected = {"phone": "homography", "fax": "streaks", "stained": "stains", "folded": "punch_holes",
                "misfeed": "cut"}
    if quality in expected:
        assert expected[quality] in d


# --------------------------------------------------------------------------- geometry


@lru_cache(maxsize=32)
def _cached(quality: Quality, seed: int) -> ScanResult:
    return _capture(_marker_page(), quality, seed)


@lru_cache(maxsize=4)
def _cached_form_phone(seed: int) -> ScanResult:
    return _capture(render_png(get_form("inkan_toroku")), "phone", seed)  # A4, 300 dpi


@pytest.mark.parametrize("marker", MARKERS)
@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("quality", CAPTURE_QUALITIES)
def test_marker_lands_where_map_point_says(quality: Quality, seed: int, marker: tuple[int, int]) -> None:
    res = _cached(quality, seed)
    gray = _gray(res)
    h, w = gray.shape
    x, y = marker
    px, py = res.map_point(x - 0.5, y - 0.5)  # centre of the square's pixels
    box = res.map_box((x - HALF, y - HALF, x + HALF - 1, y + HALF - 1))
    if box[0] < 2 or box[1] < 2 or box[2] > w - 2 or box[3] > h - 2:
        assert quality == "misfeed", "only a misfeed cuts a marker off"
        return
    got = _dark_centroid(gray, box, pad=4)
    assert got is not None
    tol = 2.0 if quality != "fax" else 2.5  # fax: 1-bit edges and streaks
    assert got[0] == pytest.approx(px, abs=tol) and got[1] == pytest.approx(py, abs=tol)


@pytest.mark.parametrize("mark", range(4))
@pytest.mark.parametrize("seed", [11, 12])
def test_phone_homography_maps_the_forms_registration_marks(seed: int, mark: int) -> None:
    res = _cached_form_phone(seed)
    assert res.homography is not None
    assert 2000 <= max(res.image.size) <= 4000
    hom = np.array(res.details["homography"], dtype=np.float64)
    assert hom.shape == (3, 3)
    assert np.allclose(hom.ravel(), res.homography, rtol=1e-6, atol=1e-6)
    k = 300 / 25.4
    m = registration_marks(get_form("inkan_toroku"))[mark]
    px, py = res.map_point((m.x + m.w / 2) * k - 0.5, (m.y + m.h / 2) * k - 0.5)
    box = res.map_box((round(m.x * k), round(m.y * k), round(m.right * k), round(m.bottom * k)))
    got = _dark_centroid(_gray(res), box, pad=3)
    assert got is not None
    assert got[0] == pytest.approx(px, abs=2.0) and got[1] == pytest.approx(py, abs=2.0)


def test_phone_page_does_not_fill_the_frame(marker_page: Image.Image) -> None:
    res = _capture(marker_page, "phone", 4)
    w, h = res.image.size
    corners = [res.map_point(x, y) for x, y in ((0, 0), (SMALL[0] - 1, 0), (0, SMALL[1] - 1))]
    assert all(0 < x < w and 0 < y < h for x, y in corners)
    assert res.details["corners_px"][0] == pytest.approx(list(corners[0]), abs=0.1)


# --------------------------------------------------------------------------- file formats


@pytest.mark.parametrize("seed", range(6))
def test_phone_jpeg_has_no_or_wrong_dpi(tmp_path: Path, marker_page: Image.Image, seed: int) -> None:
    res = _capture(marker_page, "phone", seed)
    path = save_scan(res, tmp_path / "photo")
    assert path.suffix == ".jpg"
    with Image.open(path) as im:
        assert im.format == "JPEG"
        assert im.info.get("dpi") in (None, (72, 72))
        assert im.info.get("dpi") == (None if res.details["file_dpi"] is None else (72, 72))
    assert res.details["dpi"] is None
    assert 70 <= res.details["jpeg_quality"] <= 85
    long_side = max(res.image.size) * 3508 / max(SMALL)
    assert 1990 <= long_side <= 4010


@pytest.mark.parametrize("seed", range(5))
def test_fax_is_binary_tiff(tmp_path: Path, marker_page: Image.Image, seed: int) -> None:
    res = _capture(marker_page, "fax", seed)
    assert res.fmt == "tif"
    values = np.unique(np.asarray(res.image.convert("L")))
    assert set(values.tolist()) <= {0, 255}
    path = save_scan(res, tmp_path / "fax")
    with Image.open(path) as im:
        assert im.format == "TIFF" and im.mode == "1"
        assert im.info["compression"] == "group4"
        xdpi, ydpi = (round(v) for v in im.info["dpi"])
    assert [xdpi, ydpi] == res.details["dpi"]
    assert xdpi == 200 and ydpi in (100, 200)
    if res.details["mode"] == "standard" and not res.details["line_doubled"]:
        assert ydpi == 100
        assert res.image.size[1] == pytest.approx(SMALL[1] / 3, abs=2)


@pytest.mark.parametrize("quality", ["blue_ink", "hand_lettered", "stained", "folded"])
def test_colour_profiles_are_rgb_jpeg(marker_page: Image.Image, quality: Quality) -> None:
    res = _capture(marker_page, quality, 2)
    assert res.image.mode == "RGB" and res.fmt == "jpg"
    assert res.image.info["dpi"] == (300, 300)


def test_misfeed_cuts_an_edge_and_stretches_the_feed(marker_page: Image.Image) -> None:
    res = _capture(marker_page, "misfeed", 9)
    d = res.details
    assert d["cut"]["edge"] in ("top", "bottom", "left", "right") and 3 <= d["cut"]["mm"] <= 15
    assert 0.02 <= abs(d["feed_stretch"]) <= 0.08
    assert 2.0 <= abs(res.skew_deg) <= 6.0


# --------------------------------------------------------------------------- ink


def test_blue_ink_values_come_out_blue() -> None:
    from jimu.fixtures.values import sample_values

    form = get_form("jumin_idou")
    rng = random.Random(3)
    values = sample_values(form, rng, dt.date(2026, 11, 20))
    hand = Hand(font=Path(PRINT_FONTS["gothic"][1]), rng=rng, ink=0, ink_rgb=blue_ballpoint(rng))
    page = render_png(form, values, dpi=100, hand=hand)
    assert page.mode == "RGB"
    a = np.asarray(page, dtype=np.int16)
    blue = (a[..., 2] - a[..., 0] > 60) & (a[..., 2] - a[..., 1] > 40)
    assert int(blue.sum()) > 500
    k = 100 / 25.4
    m = registration_marks(form)[0]  # the printed form stays black
    mark = a[round(m.y * k) + 2 : round(m.bottom * k) - 2, round(m.x * k) + 2 : round(m.right * k) - 2]
    assert float(mark.max()) < 40


def test_blue_ink_profile_scan_stays_blue() -> None:
    from jimu.fixtures.corpus import make_one

    scan, truth, _ = make_one(get_form("inkan_toroku"), 4, 0, "blue_ink")
    ink = truth["scan"]["ink_rgb"]
    assert ink[2] > ink[0] + 60
    a = np.asarray(scan.image, dtype=np.int16)
    assert int(((a[..., 2] - a[..., 0] > 50) & (a[..., 2] > 100)).sum()) > 2000


@pytest.mark.parametrize("quality", CAPTURE_QUALITIES)
def test_capture_hand_uses_registered_fonts(quality: Quality) -> None:
    hand = capture_hand(quality, random.Random(1))
    assert str(hand.font) in {p for _pkg, p in PRINT_FONTS.values()}
    assert hand.ink_rgb is not None and hand.rotation > 0
    if quality == "blue_ink":
        assert hand.ink_rgb[2] > hand.ink_rgb[0] + 60


# --------------------------------------------------------------------------- fonts


@pytest.fixture(scope="module")
def sampled_chars() -> str:
    from jimu.fixtures.values import sample_values

    chars: set[str] = set(CHECK_CHARS)
    for form in load_all_forms().values():
        for seed in range(25):
            for v in sample_values(form, random.Random(seed), dt.date(2026, 11, 20)).values():
                if isinstance(v, str):
                    chars |= set(v)
    return "".join(sorted(chars))


@pytest.mark.parametrize("name", INSTALLED)
def test_every_sampled_character_has_a_glyph_after_fallback(name: str, sampled_chars: str) -> None:
    font = Path(PRINT_FONTS[name][1])
    assert len(sampled_chars) > 200
    unresolved = [c for c in sampled_chars if not has_glyph(font_for_char(font, c), c)]
    assert unresolved == []


def test_fallback_replaces_a_missing_glyph() -> None:
    cedar = Path(PRINT_FONTS["cedar"][1])
    if not cedar.exists():
        pytest.skip("fonts-motoya-l-cedar not installed")
    assert missing_chars(cedar, "1–7 髙﨑") == "–"
    fb = font_for_char(cedar, "–")
    assert fb != cedar and has_glyph(fb, "–")
    assert font_for_char(cedar, "髙") == cedar
    # drawn per character: the dash comes from the fallback font, not as a missing-glyph box
    hand = Hand(font=cedar)
    a, b = RasterCanvas(40, 10, 300), RasterCanvas(40, 10, 300)
    write_text(a, "1–7", Box(x=0, y=0, w=40, h=10), hand)
    b.text("1", 2.0, 5.0, 5.2, cedar, ink=hand.ink)
    b.text("–", 2.0 + b.text_width("1", 5.2, cedar), 5.0, 5.2, fb, ink=hand.ink)
    b.text("7", 2.0 + b.text_width("1", 5.2, cedar) + b.text_width("–", 5.2, fb), 5.0, 5.2, cedar, ink=hand.ink)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))


@pytest.mark.parametrize("angle", [-3.0, 3.0])
def test_rotated_character_turns_about_its_anchor(angle: float) -> None:
    font = Path(PRINT_FONTS["gothic"][1])
    a, b = RasterCanvas(20, 20, 300), RasterCanvas(20, 20, 300)
    a.text("田", 10, 10, 8, font, anchor="mm")
    b.text("田", 10, 10, 8, font, anchor="mm", angle=angle, stroke=0.1)
    ia, ib = np.asarray(a.image) < 128, np.asarray(b.image) < 128
    assert not np.array_equal(ia, ib)
    ya, xa = np.nonzero(ia)
    yb, xb = np.nonzero(ib)
    assert abs(xa.mean() - xb.mean()) < 3 and abs(ya.mean() - yb.mean()) < 3
    assert ib.sum() > ia.sum()  # the extra stroke weight


def test_jpeg_bytes_decode_to_the_image(marker_page: Image.Image) -> None:
    res = _capture(marker_page, "stained", 1)
    assert res.encoded is not None
    again = Image.open(io.BytesIO(res.encoded))
    assert np.array_equal(np.asarray(again), np.asarray(res.image))
