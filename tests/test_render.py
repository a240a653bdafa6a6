"""Renderer: values land inside their boxes, PDFs are real, and what is drawn is legible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pdfplumber
import pytesseract
import pytest

from jimu.fixtures.fonts import font_path
from jimu.fixtures.render import Hand, render_pdf, render_png
from jimu.forms_schema import get_form

DPI = 100
K = DPI / 25.4

# hand-written values (canonical) for jumin_idou, covering every kind the form has
JUMIN_VALUES = {
    "notice_kind": "tenkyo",
    "notice_date": "2026-11-20",
    "move_date": "2026-11-10",
    "phone": "0432455111",
    "new_zip": "2600013",
    "new_address": "千葉市中央区中央三丁目4番5号",
    "old_address": "千葉市美浜区真砂二丁目12番3号",
    "householder_name": "山田太郎",
    "notifier_name": "山田太郎",
    "members[0].name": "山田太郎",
    "members[0].kana": "ヤマダタロウ",
    "members[0].birth": "1975-04-01",
    "members[0].sex": "male",
    "members[0].relationship": "世帯主",
    "members[1].name": "山田花子",
    "members[1].kana": "ヤマダハナコ",
    "members[1].birth": "2019-05-01",
    "members[1].sex": "female",
    "members[1].relationship": "子",
}


def ink(img: np.ndarray) -> np.ndarray:
    return img < 128


def test_values_only_inside_their_boxes() -> None:
    form = get_form("jumin_idou")
    blank = np.asarray(render_png(form, None, dpi=DPI))
    filled = np.asarray(render_png(form, JUMIN_VALUES, dpi=DPI, hand=Hand(font=font_path("gothic"))))
    added = ink(filled) & ~ink(blank)
    allowed = np.zeros_like(added)
    for lf in form.leaf_fields():
        e = lf.entry
        allowed[int(e.y * K) - 1 : int(e.bottom * K) + 2, int(e.x * K) - 1 : int(e.right * K) + 2] = True
    assert added.sum() > 500
    assert not (added & ~allowed).any(), "ink outside every field's entry box"
    for fid in JUMIN_VALUES:
        e = form.leaf(fid).entry
        box = added[int(e.y * K) : int(e.bottom * K) + 1, int(e.x * K) : int(e.right * K) + 1]
        assert box.sum() > 3, f"nothing drawn for {fid}"


@pytest.mark.parametrize("form_id", ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"])
def test_blank_form_renders_with_marks(form_id: str) -> None:
    img = np.asarray(render_png(get_form(form_id), None, dpi=DPI))
    assert img.shape == (round(297 * K), round(210 * K))
    m = round(5 * K), round(10 * K)
    assert (img[m[0] + 1 : m[1] - 1, m[0] + 1 : m[1] - 1] < 50).all(), "top-left registration mark"
    assert 0.02 < ink(img).mean() < 0.2


def test_unknown_field_and_option_are_refused() -> None:
    from jimu.errors import BadArgsError

    form = get_form("jumin_idou")
    with pytest.raises(BadArgsError, match="unknown field"):
        render_png(form, {"nope": "x"}, dpi=DPI)
    with pytest.raises(BadArgsError, match="unknown option"):
        render_png(form, {"notice_kind": "moved"}, dpi=DPI)


def test_pdf_is_real_with_text_values(tmp_path: Path) -> None:
    form = get_form("jumin_idou")
    out = render_pdf(form, tmp_path / "f.pdf", JUMIN_VALUES)
    with pdfplumber.open(out) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        assert abs(page.width - 595.3) < 1 and abs(page.height - 841.9) < 1
        text = page.extract_text()
    assert "住民異動届" in text
    assert "千葉市中央区中央三丁目4番5号" in text.replace(" ", "")
    assert "043-245-5111" in text


@pytest.mark.parametrize(
    ("field_id", "expected"),
    [
        ("new_address", "千葉市中央区中央三丁目4番5号"),
        ("phone", "043-245-5111"),
        ("old_address", "千葉市美浜区真砂二丁目12番3号"),
    ],
)
def test_clean_render_is_legible_to_tesseract(field_id: str, expected: str) -> None:
    form = get_form("jumin_idou")
    dpi = 300
    k = dpi / 25.4
    img = np.asarray(render_png(form, JUMIN_VALUES, dpi=dpi, hand=Hand(font=font_path("gothic"))))
    e = form.leaf(field_id).entry
    crop = img[int(e.y * k) + 6 : int(e.bottom * k) - 6, int(e.x * k) + 6 : int(e.right * k) - 6]
    text = pytesseract.image_to_string(crop, lang="jpn", config="--psm 7", timeout=30)
    assert text.replace(" ", "").strip() == expected


def test_render_cli_png_and_pdf(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from jimu.cli import app

    values = tmp_path / "v.json"
    values.write_text(json.dumps(JUMIN_VALUES, ensure_ascii=False))
    runner = CliRunner()
    r = runner.invoke(app, ["fixtures", "render", "--form", "jumin_idou", "--values", str(values),
                            "--out", str(tmp_path / "a.png"), "--dpi", "150"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["fixtures", "render", "--form", "jumin_idou", "--out", str(tmp_path / "b.pdf")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.png").stat().st_size > 10_000
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
