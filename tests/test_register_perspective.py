"""Registration of captures unlike Jimu's simulator: phone photos (perspective), files without dpi,
and pages that look like a form but cannot be aligned (jimu.extractors.register, jimu.extractors.homography)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from jimu.errors import AlignmentError, UnknownFormError
from jimu.extractors import homography as H
from jimu.extractors import register as R
from jimu.extractors.ingest import load_pages
from jimu.extractors.types import WORK_DPI, Page
from tests.test_register import FORM_IDS, GRID, filled_render

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]


def phone_photo(img: U8, corner_move: float, seed: int, scale: float = 0.55,
                frame: tuple[int, int] = (1600, 2200), desk: int = 120) -> tuple[U8, F64]:
    """A photo of the page lying on a desk: smaller than the frame, corners moved by up to ``corner_move`` of the page."""
    h, w = img.shape
    rng = np.random.default_rng(seed)
    fw, fh = frame
    src = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float32)
    base = src * scale + np.array([(fw - w * scale) / 2, (fh - h * scale) / 2], dtype=np.float32)
    move = rng.uniform(-corner_move, corner_move, (4, 2)) * np.array([w * scale, h * scale])
    dst = (base + move).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(cv2.GaussianBlur(img, (0, 0), 1.0), m, (fw, fh), borderValue=desk)
    return np.asarray(out, dtype=np.uint8), np.asarray(m, dtype=np.float64)


def error_template_px(m: F64, truth: F64) -> float:
    """Worst distance, in template px (WORK_DPI), between where registration and the truth put template points."""
    scale = float(np.sqrt(abs(np.linalg.det(H.jacobian(truth, 1240, 1754)))))
    return float(np.linalg.norm(H.apply(m, GRID) - H.apply(truth, GRID), axis=1).max() / scale)


@pytest.mark.parametrize(("form_id", "seed"), [(FORM_IDS[0], 0), (FORM_IDS[1], 1), (FORM_IDS[2], 2), (FORM_IDS[4], 24)])
def test_phone_photo_registers_within_a_pixel(form_id: str, seed: int) -> None:
    img, truth = phone_photo(filled_render(form_id), 0.03, seed)
    page = Page(image=img, dpi=72, page_no=0, dpi_known=False)  # a camera's "72 dpi"
    loc = R.locate(page)
    assert loc.form_id == form_id and loc.rotation == 0
    assert error_template_px(loc.matrix, truth) < 1.0
    assert loc.dpi == pytest.approx(300 * 0.55, rel=0.06)
    reg = R.register_page(page)
    assert reg.perspective and reg.fit_points is not None and reg.fit_points[:, 3].sum() >= 12


@pytest.mark.parametrize("form_id", ["jumin_idou", "kaigo_nintei"])
def test_flatbed_scan_stays_affine(form_id: str) -> None:
    from tests.test_register import warp_scan

    img, truth = warp_scan(filled_render(form_id), skew_deg=2.0, scale=1.01, shift_mm=(3.0, -2.0), dpi=300)
    loc = R.locate(Page(image=img, dpi=300, page_no=0))
    assert H.is_affine(loc.matrix, (2480, 3508), tol_px=0.5)
    assert error_template_px(loc.matrix, H.h3(truth)) < 1.0


def _jpeg_bytes(img: U8, dpi: tuple[int, int] | None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90, **({"dpi": dpi} if dpi else {}))
    return buf.getvalue()


@pytest.mark.parametrize(("dpi", "saved"), [(150, None), (200, None), (150, (72, 72)), (200, (72, 72))])
def test_jpeg_without_dpi_registers(tmp_path: Path, dpi: int, saved: tuple[int, int] | None) -> None:
    fid = "juminhyo_kofu"
    full = filled_render(fid)
    small = np.asarray(cv2.resize(full, (round(full.shape[1] * dpi / 300), round(full.shape[0] * dpi / 300)),
                                  interpolation=cv2.INTER_AREA), dtype=np.uint8)
    path = tmp_path / "scan.jpg"
    path.write_bytes(_jpeg_bytes(small, saved))
    (page,) = load_pages(path)
    assert not page.dpi_known
    reg = R.register_page(page)
    assert reg.form_id == fid
    assert reg.source_dpi == pytest.approx(dpi, rel=0.02)
    assert reg.scale == pytest.approx(1.0, abs=0.02)


def _folded(img: U8, shift_px: int) -> U8:
    """A page folded across the middle: the lower half slid sideways and turned a little."""
    out = img.copy()
    h, w = img.shape
    lower = img[h // 2 :]
    m = cv2.getRotationMatrix2D((w / 2, 0), 2.5, 1.0)
    m[0, 2] += shift_px
    out[h // 2 :] = cv2.warpAffine(lower, m, (w, h - h // 2), borderValue=255)
    return out


def test_recognisable_but_unalignable_page_is_quarantined_as_not_aligned() -> None:
    fid = "juminhyo_kofu"
    page = Page(image=_folded(filled_render(fid), 90), dpi=300, page_no=0)
    with pytest.raises(AlignmentError) as e:
        R.register_page(page)
    assert "looks like 住民票の写し等交付申請書" in e.value.message
    assert "could not be aligned" in e.value.message and "rescan flat" in e.value.message
    assert e.value.reason_code == "not_aligned"
    assert not isinstance(e.value, UnknownFormError)


def test_alignment_error_message_names_the_form_only() -> None:
    err = AlignmentError.looks_like("印鑑登録申請書", 0.71)
    assert str(err).startswith("This page looks like 印鑑登録申請書 (match 0.71")
    assert "再スキャン" in str(err)


def test_unknown_scale_is_measured_from_the_marks() -> None:
    """A 4:3 frame is not A4-shaped: the marks' spacing gives the scale, whatever the metadata said."""
    img, _ = phone_photo(filled_render("kodomo_iryohi"), 0.0, 0, scale=0.5, frame=(1600, 2133))
    loc = R.locate(Page(image=img, dpi=300, page_no=0, dpi_known=False))
    assert loc.dpi == pytest.approx(150, rel=0.02)
    assert loc.form_id == "kodomo_iryohi"
    assert WORK_DPI == 300
