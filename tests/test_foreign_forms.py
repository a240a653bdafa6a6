"""A city's own paper form, added as data: its blank scan is the template, registered without marks.

The form in ``tests/resources/foreign`` was drawn by ``scripts/make_foreign_forms.py`` to look
unlike Jimu's own forms (no corner marks, grey Mincho print, labels in their own cells).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from jimu.extractors.types import WORK_DPI, Page

FOREIGN = Path(__file__).resolve().parent / "resources" / "foreign"
VALUES = {"guardian_name": "佐藤花子", "guardian_kana": "サトウハナコ", "address": "船橋市本町一丁目2番3号",
          "phone": "0471234567", "child_name": "佐藤健太", "school": "本町小学校", "grade": "4", "sex": "male",
          "household_size": "3"}


@pytest.fixture()
def foreign_forms(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from jimu.extractors.templates import clear_caches
    from jimu.forms_schema.loader import clear_cache
    from jimu.settings import get_settings

    monkeypatch.setenv("JIMU_FORMS_DIRS", str(FOREIGN))
    monkeypatch.setenv("JIMU_TEMPLATE_DISK_CACHE", "0")
    get_settings.cache_clear()
    clear_cache()
    clear_caches()
    yield
    monkeypatch.delenv("JIMU_FORMS_DIRS")
    get_settings.cache_clear()
    clear_cache()
    clear_caches()


def _filled() -> np.ndarray:
    from jimu.fixtures.fonts import font_path
    from jimu.fixtures.render import Hand, render_png
    from jimu.forms_schema import get_form

    img = render_png(get_form("shugaku_enjo"), VALUES, dpi=WORK_DPI, hand=Hand(font=font_path("mincho")))
    return np.asarray(img, dtype=np.uint8)


def _scan(page300: np.ndarray, turn: int, skew_deg: float, dpi: int) -> np.ndarray:
    h, w = page300.shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -skew_deg, 1.0)
    img = cv2.warpAffine(page300, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    img = np.rot90(img, k=-(turn // 90)).copy()  # clockwise quarter turns
    k = dpi / WORK_DPI
    return np.asarray(cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def test_the_blank_scan_is_the_template(foreign_forms: None) -> None:
    from jimu.extractors.templates import get_template
    from jimu.forms_schema import get_form

    form = get_form("shugaku_enjo")
    t = get_template(form)
    assert form.template_image_path is not None and not form.has_corner_marks
    assert len(t.mark_centres) == 0
    assert t.size == (round(210 * WORK_DPI / 25.4), round(297 * WORK_DPI / 25.4))
    # the printed labels are dropped out of the field crops: the blank's own ink is the dropout
    lb = form.fields[0].box
    y, x = round((lb.y + lb.h / 2) * WORK_DPI / 25.4), round((lb.x + 4) * WORK_DPI / 25.4)
    assert t.dropout[y - 15:y + 15, x - 5:x + 60].any()


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_markless_registration_in_every_orientation(foreign_forms: None, turn: int) -> None:
    from jimu.extractors.register import register_page

    img = _scan(_filled(), turn, skew_deg=1.5, dpi=200)
    reg = register_page(Page(image=img, dpi=200, page_no=0))
    assert reg.form_id == "shugaku_enjo" and reg.rotation == turn
    assert reg.fit_points is not None and len(reg.fit_points)
    inl = reg.fit_points[reg.fit_points[:, 3] > 0.5]
    assert len(inl) >= 6 and float(np.median(inl[:, 2])) < 1.5  # template px at 300 dpi


@pytest.mark.parametrize("dpi", [150, 200])
def test_a_foreign_scan_without_dpi_registers(foreign_forms: None, dpi: int) -> None:
    from jimu.extractors.register import register_page

    img = _scan(_filled(), 0, skew_deg=-0.8, dpi=dpi)
    reg = register_page(Page(image=img, dpi=300.0, page_no=0, dpi_known=False))
    assert reg.form_id == "shugaku_enjo"
    assert math.isclose(reg.source_dpi, dpi, rel_tol=0.05)


def test_jimus_own_forms_are_not_taken_for_the_foreign_one(foreign_forms: None) -> None:
    from jimu.extractors.register import register_page
    from jimu.fixtures.render import render_png
    from jimu.forms_schema import get_form

    img = np.asarray(render_png(get_form("inkan_toroku"), dpi=300), dtype=np.uint8)
    assert register_page(Page(image=img, dpi=300, page_no=0)).form_id == "inkan_toroku"


def test_a_new_uncalibrated_form_accepts_nothing(foreign_forms: None) -> None:
    from jimu.forms_schema import get_form
    from jimu.validators.policy import FieldInput, Thresholds, decide

    form = get_form("shugaku_enjo")
    th = Thresholds.load()
    assert not th.covers(form)
    d = decide(form, {k: FieldInput(v, 1.0) for k, v in VALUES.items()}, th)
    assert all(x.status == "flagged" and "uncalibrated" in x.reasons for x in d.fields.values())


@pytest.mark.parametrize("on_scan", [False, True])
def test_preview_draws_every_field_over_the_blank_or_a_registered_scan(foreign_forms: None, tmp_path: Path,
                                                                        on_scan: bool) -> None:
    from PIL import Image

    from jimu.extractors.preview import ENTRY, write_preview
    from jimu.extractors.types import PX_PER_MM
    from jimu.forms_schema import get_form

    form = get_form("shugaku_enjo")
    scan = None
    if on_scan:
        scan = tmp_path / "filled.png"
        Image.fromarray(_scan(_filled(), 180, skew_deg=1.0, dpi=200)).save(scan, dpi=(200, 200))
    out = write_preview(form, tmp_path / "preview.png", scan)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[:2] == (round(297 * PX_PER_MM), round(210 * PX_PER_MM))
    for leaf in form.leaf_fields():
        e = leaf.entry
        y, x = round((e.y + e.h / 2) * PX_PER_MM), round(e.x * PX_PER_MM)
        assert tuple(img[y, x]) == ENTRY or tuple(img[y, x + 1]) == ENTRY, leaf.id


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``jimu forms propose`` run once on each foreign blank, as a user runs it."""
    from typer.testing import CliRunner

    from jimu.cli import app

    out = tmp_path_factory.mktemp("drafts")
    made = {}
    for form_id in ("shugaku_enjo", "kokuho_todoke", "jidou_teate"):
        r = CliRunner().invoke(app, ["forms", "propose", str(FOREIGN / f"{form_id}_blank.png"), "--form-id",
                                     f"{form_id}_draft", "--out", str(out)])
        assert r.exit_code == 0, r.output
        made[form_id] = out / f"{form_id}_draft.yaml"
    return made


@pytest.mark.parametrize("form_id", ["shugaku_enjo", "kokuho_todoke", "jidou_teate"])
def test_propose_finds_the_fields_of_a_foreign_blank_within_a_millimetre(drafts: dict[str, Path], form_id: str) -> None:
    import yaml

    from jimu.bench.foreign_bench import score_proposal
    from jimu.forms_schema.loader import load_form_file

    load_form_file(drafts[form_id])  # the draft loads strictly
    assert "# proposal 0." in drafts[form_id].read_text(encoding="utf-8")
    truth = yaml.safe_load((FOREIGN / f"{form_id}.yaml").read_text(encoding="utf-8"))["fields"]
    got = yaml.safe_load(drafts[form_id].read_text(encoding="utf-8"))["fields"]
    score = score_proposal(truth, got)
    assert score["boxes_within_1mm"] >= 0.8 * len(truth), score["edit_list"]
    assert score["kind_right"] == score["boxes_within_1mm"] and score["label_right"] == score["boxes_within_1mm"]


def _draft_field(drafts: dict[str, Path], form_id: str, label: str) -> dict[str, object]:
    import yaml

    fields = yaml.safe_load(drafts[form_id].read_text(encoding="utf-8"))["fields"]
    return next(f for f in fields if f["label"] == label)


def test_propose_finds_digit_runs_with_their_own_width_and_pitch(drafts: dict[str, Path]) -> None:
    kigou = _draft_field(drafts, "kokuho_todoke", "記号番号")
    assert kigou["kind"] == "digits" and kigou["cells"] == 8
    assert abs(kigou["cell_w"] - 8.0) <= 0.3 and abs(kigou["cell_pitch"] - 10.0) <= 0.3
    zip_code = _draft_field(drafts, "jidou_teate", "郵便番号")  # 〒 and 7 cells over the address, one cell
    assert zip_code["cells"] == 7 and zip_code["validators"] == ["postal_code"]
    assert _draft_field(drafts, "jidou_teate", "住所")["validators"] == ["japan_address"]
    assert _draft_field(drafts, "shugaku_enjo", "世帯人数")["cells"] == 2


def test_propose_finds_options_stacked_ticked_and_printed_to_circle(drafts: dict[str, Path]) -> None:
    sex = _draft_field(drafts, "kokuho_todoke", "性別")  # 男 above 女, to circle
    assert sex["mark"] == "circle" and [o["label"] for o in sex["options"]] == ["男", "女"]
    assert sex["options"][0]["box"]["y"] < sex["options"][1]["box"]["y"]
    reason = _draft_field(drafts, "kokuho_todoke", "異動の理由")  # 1./2./3., the note in brackets left out
    assert [o["label"] for o in reason["options"]] == ["1.転入", "2.社会保険の離脱", "3.出生"]
    ticked = _draft_field(drafts, "shugaku_enjo", "性別")
    assert ticked["mark"] == "tick" and [o["label"] for o in ticked["options"]] == ["男", "女"]


def test_propose_finds_printed_eras_and_free_date_areas(drafts: dict[str, Path]) -> None:
    birth = _draft_field(drafts, "kokuho_todoke", "生年月日")
    assert birth["kind"] == "date" and birth["eras"] == ["taisho", "showa", "heisei", "reiwa"]
    boxes = birth["date_boxes"]
    assert boxes["year"]["x"] < boxes["month"]["x"] < boxes["day"]["x"]
    assert boxes["eras"]["taisho"]["y"] < boxes["eras"]["heisei"]["y"]  # printed 2×2


def test_propose_finds_a_table_with_a_furigana_sub_row(drafts: dict[str, Path]) -> None:
    table = _draft_field(drafts, "jidou_teate", "支給要件児童")
    assert table["kind"] == "table" and table["rows"] == 3
    assert [round(h) for h in table["row_heights"]] == [20, 20, 17]
    kana, name, birth, rel = table["columns"]
    assert kana["kind"] == "kana" and name["under"] == kana["id"] and kana["reading_of"] == name["id"]
    assert birth["kind"] == "date" and birth["eras"] == ["heisei", "reiwa"]
    assert rel["vocabulary"] == "relationship"


KOKUHO = {"householder_name": "鈴木一郎", "householder_kana": "スズキイチロウ", "sex": "female",
          "insured_number": "12345678", "reason": "shakai_dattai", "birth_date": "1962-07-15"}


@pytest.mark.parametrize("turn", [0, 180])
def test_a_tinted_form_with_stacked_options_and_spaced_cells_is_read(foreign_forms: None, turn: int) -> None:
    """Labels above the values, 男/女 stacked and circled, a 1./2./3. list, 1文字枠 8 mm wide every 10 mm,
    and a date with its eras printed 2×2 and free areas for 年 月 日."""
    from jimu.extractors.extract import Extractor
    from jimu.extractors.types import Document
    from jimu.fixtures.fonts import font_path
    from jimu.fixtures.render import Hand, render_png
    from jimu.forms_schema import get_form

    form = get_form("kokuho_todoke")
    page300 = np.asarray(render_png(form, KOKUHO, dpi=WORK_DPI, hand=Hand(font=font_path("mincho"))), dtype=np.uint8)
    img = _scan(page300, turn, skew_deg=-1.2, dpi=200)
    doc = Document(source=Path("kokuho.png"), sha256="x", file_sha256="x", index=0,
                   pages=[Page(image=img, dpi=200, page_no=0)])
    res = Extractor().extract(doc)
    assert res.form_id == "kokuho_todoke" and res.rotation == turn
    got = {k: f.value for k, f in res.fields.items()}
    assert got == KOKUHO


def _page_of(scan: object) -> Page:
    from jimu.extractors.ingest import load_documents

    return load_documents(scan)[0].pages[0]  # type: ignore[arg-type]


def test_a_standard_mode_fax_of_a_grey_form_is_found_by_its_printed_features(foreign_forms: None,
                                                                              tmp_path: Path) -> None:
    """200×100 dpi, 1 bit: the blank's thin grey ruling is mostly lost, so its lines match poorly;
    the printed features decide (and align it), as nothing is printed where the blank is white."""
    from jimu.extractors import register as R
    from jimu.fixtures.corpus import make_one
    from jimu.forms_schema import get_form

    scan, truth, _ = make_one(get_form("shugaku_enjo"), 950, 4, "fax")
    assert truth["scan"]["dpi"] == [200, 100]
    from jimu.fixtures.scan import save_scan

    loc = R.locate(_page_of(save_scan(scan, tmp_path / "fax")))
    assert loc.method == "features" and loc.aligned
    assert loc.classification.form_id == "shugaku_enjo"
    assert loc.classification.score < 0.6  # the lines alone would not have made it the form


@pytest.mark.parametrize(("kind", "quality"), [("letter", "fax"), ("table", "fax"), ("photo", "phone"),
                                               ("letter", "office")])
def test_other_documents_stay_unknown_beside_the_city_forms(foreign_forms: None, kind: str, quality: str) -> None:
    import random

    from jimu.extractors import register as R
    from jimu.fixtures.scan import simulate_scan
    from tests.resources.other_documents import letter_page, photo_page, table_page

    rng = random.Random(kind + quality)
    img = {"letter": letter_page, "photo": photo_page, "table": table_page}[kind](rng)
    s = simulate_scan(img, quality, random.Random(7))  # type: ignore[arg-type]
    page = Page(image=R.to_gray(np.asarray(s.image)), dpi=s.dpi, page_no=0)
    assert R.locate(page).classification.form_id is None
