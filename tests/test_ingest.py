"""Tests for jimu.extractors.ingest (and the PDF worker in jimu.extractors.pdf_tool).

Bad inputs come from tests/resources/bad_inputs.py, one test case per kind; good inputs
are written here (PIL, reportlab, pypdf, and the scanner simulators in jimu/fixtures/).
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from pathlib import Path

import numpy as np
import pdfplumber
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import RectangleObject
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from jimu.errors import (
    BlankPageError,
    EmptyFileError,
    InputFileError,
    LimitExceededError,
    UnsupportedFileError,
)
from jimu.extractors import pdf_tool
from jimu.extractors.ingest import (
    BLANK_INK_RATIO,
    document_sha256,
    ink_ratio,
    is_blank_page,
    load_documents,
    load_pages,
    sniff_file_type,
    split_documents,
)
from jimu.extractors.types import Page
from jimu.fixtures.containers import blank_separator_page, write_multipage_tiff, write_scanned_pdf
from jimu.fixtures.scan import a4_size_px, simulate_scan
from jimu.settings import Settings
from tests.resources.bad_inputs import JP_FONT, KINDS, blank_page, form_like_page, make, nested_xobject_bomb

MAX_SECONDS = 6.0  # every bad input must be settled well within this (the PDF bombs get a 2 s timeout)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def noisy(img: Image.Image, sigma: float = 3.0, seed: int = 0) -> Image.Image:
    """Sensor noise, so that PNGs are as large (and slow to decode) as real scans."""
    a = np.asarray(img, dtype=np.int16) + np.random.default_rng(seed).normal(0, sigma, img.size[::-1]).astype(np.int16)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), mode="L")


# =========================================================================== bad inputs
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow, on the truncated TIFF
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bad_input(kind: str, tmp_path: Path) -> None:
    item = make(kind, tmp_path)
    settings = Settings(**item.settings)
    start = time.perf_counter()
    if item.expected == "ok":
        docs = load_documents(item.path, settings)
        assert docs and all(len(d.pages) == 1 for d in docs)
        assert docs[0].file_sha256 == sha(item.path.read_bytes())
    else:
        with pytest.raises(InputFileError) as info:
            load_documents(item.path, settings)
        err = info.value
        assert type(err) is item.expected, f"{kind}: got {type(err).__name__}: {err}"
        message = err.message
        assert message[0].isupper() and message.endswith("."), message
        assert 20 < len(message) < 400, message
        assert err.hint, "every error says what to do"
        assert item.path.name not in str(err) and str(tmp_path) not in str(err), "no file names in messages"
        assert [leak for leak in LEAKS if leak in str(err)] == []
        assert not re.search(r"\bb'", str(err)), "no bytes reprs in messages"
        assert [word for word in item.message_has if word not in message.lower()] == [], message
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS, f"{kind} took {elapsed:.1f} s"


LEAKS = ("Traceback", "Errno", "object at 0x", "PdfiumError", "\\x")  # never in a message for a clerk
BRIEF_KINDS = (
        "empty_file",
        "truncated_png",
        "truncated_jpeg",
        "truncated_pdf",
        "text_named_png",
        "random_bytes_named_jpg",
        "encrypted_pdf",
        "pdf_bomb_nested_xobjects",
        "decompression_bomb_png",
        "pdf_100_pages",
        "tiff_corrupt_second_page",
        "pdf_zero_pages",
        "pdf_huge_page",
        "html_named_pdf",
        "png_1x1",
        "png_0x0",
        "gif_image",
        "jpeg_named_tif",
)


def test_there_are_many_bad_input_kinds() -> None:
    assert len(KINDS) >= 15


@pytest.mark.parametrize("kind", BRIEF_KINDS)
def test_bad_input_kinds_cover_the_brief(kind: str) -> None:
    assert kind in KINDS


def test_page_limit_is_checked_before_rendering(tmp_path: Path) -> None:
    item = make("pdf_100_pages", tmp_path)
    start = time.perf_counter()
    with pytest.raises(LimitExceededError, match="100 pages"):
        load_documents(item.path)
    assert time.perf_counter() - start < 1.0  # 100 A4 pages at 300 dpi would take seconds


def test_page_limit_is_a_setting(tmp_path: Path) -> None:
    item = make("pdf_100_pages", tmp_path)
    pages = load_pages(item.path, Settings(max_pages=100))
    assert len(pages) == 100


def test_worker_is_replaced_after_a_bomb_and_pdfs_load_again(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(nested_xobject_bomb())
    with pytest.raises(LimitExceededError):
        load_documents(bomb, Settings(pdf_timeout_s=1.0))
    good = make("pdf_owner_password_only", tmp_path)
    assert len(load_documents(good.path)) == 1


def test_pdf_errors_do_not_leak_between_files(tmp_path: Path) -> None:
    """pdfium keeps its last error code across documents; one worker sees all three in a row."""
    pdf_tool.shutdown_workers()
    kinds = ("encrypted_pdf", "pdf_garbage_body", "pdf_zero_pages", "encrypted_pdf", "pdf_zero_pages")
    items = [make(kind, tmp_path / f"{i}-{kind}") for i, kind in enumerate(kinds)]

    def raised(path: Path) -> type[Exception] | None:
        try:
            load_documents(path)
        except InputFileError as e:
            return type(e)
        return None

    got = [raised(item.path) for item in items]  # in this order, through the same worker
    assert got == [item.expected for item in items]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="missing"):
        load_documents(tmp_path / "gone.png")


def test_folder_is_not_a_scan(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a regular file"):
        load_documents(tmp_path)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"\xff\xd8\xff\xe0..JFIF", "jpeg"),
        (b"II*\x00....", "tiff"),
        (b"MM\x00*....", "tiff"),
        (b"%PDF-1.7\n", "pdf"),
        (b"\r\n\x00junk before the header %PDF-1.4\n", "pdf"),
    ],
)
def test_sniff_file_type(head: bytes, kind: str) -> None:
    assert sniff_file_type(head, ".bin") == kind


def test_sniff_names_what_it_found() -> None:
    with pytest.raises(UnsupportedFileError, match="HEIC"):
        sniff_file_type(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", ".jpg")
    with pytest.raises(UnsupportedFileError, match="text file") as info:
        sniff_file_type("住民異動届\n".encode("cp932"), ".txt")
    assert "although" not in info.value.message  # .txt is not a name we would expect to be a scan


# =========================================================================== images
def test_png_300dpi_a4_loads_fast_and_exactly(tmp_path: Path) -> None:
    page = noisy(form_like_page(dpi=300))
    path = tmp_path / "scan.png"
    page.save(path, dpi=(300, 300))
    assert path.stat().st_size > 2_000_000  # as large as a real noisy scan
    times = []
    for _ in range(5):
        start = time.perf_counter()
        docs = load_documents(path)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.15, f"best of 5: {min(times) * 1000:.0f} ms"
    (doc,) = docs
    p = doc.pages[0]
    assert p.image.dtype == np.uint8 and p.image.flags.writeable and p.image.flags.c_contiguous
    assert np.array_equal(p.image, np.asarray(page))
    assert p.dpi == 300 and p.page_no == 0 and p.words is None
    assert p.width_mm == pytest.approx(210, abs=0.2) and p.height_mm == pytest.approx(297, abs=0.2)
    assert doc.sha256 == doc.file_sha256 == sha(path.read_bytes()) and doc.index == 0 and doc.source == path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation(tmp_path: Path, orientation: int) -> None:
    page = form_like_page(dpi=60)  # 496×702, not symmetric
    ImageDraw.Draw(page).rectangle([0, 0, 120, 60], fill=0)  # a marker in one corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.jpg"
    page.save(path, format="JPEG", quality=95, exif=exif, dpi=(60, 60))
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("L"))
    (p,) = load_pages(path, Settings())
    assert np.array_equal(p.image, expected)


def test_jpeg_rgb_decodes_to_ink_gray(tmp_path: Path) -> None:
    """Colour scans: neutral pixels keep their luma, a red seal turns light, blue pen stays dark."""
    page = form_like_page(dpi=100).convert("RGB")
    draw = ImageDraw.Draw(page)
    draw.rectangle([100, 100, 300, 200], fill=(200, 30, 30))  # a red seal
    draw.rectangle([400, 100, 600, 200], fill=(30, 50, 160))  # blue ballpoint
    path = tmp_path / "color.jpg"
    page.save(path, quality=95)
    (p,) = load_pages(path)
    with Image.open(path) as im:
        luma = np.asarray(im.convert("L"), dtype=np.int16)
    assert p.image.ndim == 2
    neutral = np.ones(luma.shape, bool)
    neutral[95:206, 95:606] = False
    assert np.abs(p.image.astype(np.int16) - luma)[neutral].mean() < 1.0
    assert p.image[120:180, 120:280].mean() > 180  # the seal is nearly paper
    assert p.image[120:180, 420:580].mean() < 60  # the pen is darker than in luma
    assert p.image[120:180, 420:580].mean() <= luma[120:180, 420:580].mean()


@pytest.mark.parametrize(
    ("fmt", "saved_dpi", "expected"),
    [
        ("PNG", (200, 200), 200),
        ("JPEG", (150, 150), 150),
        ("TIFF", (400, 400), 400),
        ("PNG", None, 100),  # no metadata: an A4-shaped image → its size says 100 dpi
        ("JPEG", (10, 10), 100),  # nonsense → unknown → from the size
        ("JPEG", (72, 72), 100),  # what cameras and editors write when they do not know
        ("TIFF", (5000, 5000), 100),
    ],
)
def test_dpi_from_metadata(tmp_path: Path, fmt: str, saved_dpi: tuple[int, int] | None, expected: float) -> None:
    page = form_like_page(dpi=100)
    path = tmp_path / f"page.{fmt.lower()}"
    params = {"dpi": saved_dpi} if saved_dpi else {}
    page.save(path, format=fmt, **params)
    (p,) = load_pages(path)
    assert p.dpi == pytest.approx(expected, abs=0.5)
    assert p.dpi_known == (saved_dpi is not None and 72 < saved_dpi[0] <= 1200)
    assert p.width_mm == pytest.approx(page.width / p.dpi * 25.4)


def test_unknown_dpi_of_a_non_a4_image_is_a_guess(tmp_path: Path) -> None:
    Image.new("L", (1600, 1200), 255).save(tmp_path / "photo.png")  # a 4:3 photo, no dpi
    (p,) = load_pages(tmp_path / "photo.png")
    assert not p.dpi_known and p.dpi == 300


def test_fax_tiff_with_non_square_pixels_is_resampled(tmp_path: Path) -> None:
    fine = form_like_page(dpi=204).convert("1")
    w, h = fine.size
    fax = fine.resize((w, round(h * 98 / 204)), Image.Resampling.NEAREST)  # 204×98 dpi "normal" fax
    path = tmp_path / "fax.tif"
    fax.save(path, compression="group4", dpi=(204, 98))
    (p,) = load_pages(path)
    assert p.dpi == 204
    assert p.image.shape == (round(fax.height * 204 / 98), w)
    assert p.height_mm == pytest.approx(297, abs=1.0)


def _page_with_hole(mode: str) -> Image.Image:
    """A page of the given mode: white background, black box at (10..40, 10..40), a transparent hole."""
    base = Image.new("RGBA", (200, 150), (255, 255, 255, 255))
    d = ImageDraw.Draw(base)
    d.rectangle([10, 10, 40, 40], fill=(0, 0, 0, 255))
    d.rectangle([100, 50, 150, 100], fill=(0, 0, 0, 0))  # fully transparent black
    d.rectangle([160, 50, 190, 100], fill=(0, 0, 0, 128))  # half-transparent black
    return base if mode == "RGBA" else base.convert(mode)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_flattened_on_white(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "alpha.png"
    _page_with_hole(mode).save(path)
    (p,) = load_pages(path)
    assert p.image[20, 20] == 0
    assert p.image[75, 125] == 255  # transparent → paper, not black
    assert 120 <= p.image[75, 175] <= 135


def test_palette_with_transparency_is_flattened(tmp_path: Path) -> None:
    img = Image.new("P", (200, 150), 0)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    ImageDraw.Draw(img).rectangle([50, 50, 100, 100], fill=1)
    path = tmp_path / "palette.png"
    img.save(path, transparency=0)  # index 0 (black) is transparent
    (p,) = load_pages(path)
    assert p.image[10, 10] == 255 and p.image[75, 75] == 255


RAMP = np.tile(np.arange(0, 256, 2, dtype=np.uint8), (120, 1))  # 120×128 grey ramp


@pytest.mark.parametrize("mode", ["palette", "sixteen_bit"])
def test_palette_and_sixteen_bit_become_eight_bit_grey(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"{mode}.png"
    if mode == "palette":
        Image.fromarray(RAMP).convert("P").save(path)
    else:
        Image.fromarray(RAMP.astype(np.uint16) * 257).save(path)
        with Image.open(path) as im:
            assert im.mode.startswith("I")
    (p,) = load_pages(path)
    assert p.image.dtype == np.uint8
    assert np.abs(p.image.astype(int) - RAMP).max() <= 1


def test_one_bit_tiff_is_black_and_white(tmp_path: Path) -> None:
    bits = Image.fromarray(np.where(RAMP > 127, 255, 0).astype(np.uint8)).convert("1")
    bits.save(tmp_path / "1.tif", compression="group4")
    (p,) = load_pages(tmp_path / "1.tif")
    assert set(np.unique(p.image).tolist()) == {0, 255}
    assert np.array_equal(p.image, np.where(RAMP > 127, 255, 0))


def test_cmyk_jpeg(tmp_path: Path) -> None:
    page = form_like_page(dpi=60).convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    page.save(path, quality=95)
    (p,) = load_pages(path)
    assert p.image[0, 0] > 200 and p.image.min() < 60


# =========================================================================== splitting
def test_multipage_tiff_drops_blank_separators(tmp_path: Path) -> None:
    rng = random.Random(4)
    forms = [form_like_page(dpi=200, seed=s) for s in range(3)]
    sheets = [
        forms[0],
        blank_separator_page(200, rng),
        forms[1],
        blank_separator_page(200, rng),
        blank_separator_page(200, rng),
        forms[2],
    ]
    path = write_multipage_tiff(sheets, tmp_path / "feeder.tif", dpi=200)
    file_sha = sha(path.read_bytes())

    pages = load_pages(path)
    assert [p.page_no for p in pages] == list(range(6))
    docs = load_documents(path)
    assert [d.index for d in docs] == [0, 1, 2]
    assert [d.pages[0].page_no for d in docs] == [0, 2, 5]
    assert [(d.file_sha256, d.source, d.pages[0].dpi) for d in docs] == [(file_sha, path, 200)] * 3
    assert [d.sha256 for d in docs] == [hashlib.sha256(f"{file_sha}#{i}".encode()).hexdigest() for i in range(3)]
    assert [np.array_equal(d.pages[0].image, np.asarray(form)) for d, form in zip(docs, forms, strict=True)] == [True] * 3
    assert len({d.sha256 for d in docs}) == 3


def test_one_form_among_blanks_keeps_the_file_sha(tmp_path: Path) -> None:
    rng = random.Random(1)
    path = write_multipage_tiff(
        [blank_separator_page(150, rng), form_like_page(dpi=150), blank_separator_page(150, rng)],
        tmp_path / "one.tif",
        dpi=150,
    )
    (doc,) = load_documents(path)
    assert doc.sha256 == doc.file_sha256 == sha(path.read_bytes())
    assert doc.pages[0].page_no == 1 and doc.index == 0


def test_split_documents_directly() -> None:
    form = Page(image=np.asarray(form_like_page(dpi=100)).copy(), dpi=100, page_no=0)
    blank = Page(image=np.asarray(blank_page(dpi=100)).copy(), dpi=100, page_no=1)
    docs = split_documents(Path("x.tif"), "ab" * 32, [form, blank, form])
    assert [d.sha256 for d in docs] == [document_sha256("ab" * 32, 0), document_sha256("ab" * 32, 1)]
    with pytest.raises(BlankPageError, match="blank"):
        split_documents(Path("x.png"), "ab" * 32, [blank])
    with pytest.raises(EmptyFileError):
        split_documents(Path("x.png"), "ab" * 32, [])


def _blank_with_lighting(dpi: int, seed: int) -> NDArray[np.uint8]:
    """Grey, unevenly lit paper (180 in one corner, 240 in the other) with noise and specks."""
    w, h = a4_size_px(dpi)
    gen = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = 180.0 + 60.0 * (xx / w + yy / h) / 2 + gen.normal(0, 6, (h, w)).astype(np.float32)
    for _ in range(300):  # salt and pepper
        f[int(gen.integers(0, h)), int(gen.integers(0, w))] = 20.0
    return np.clip(f, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dpi", [200, 300])
@pytest.mark.parametrize("seed", range(4))
def test_a_blank_separator_sheet_is_blank(seed: int, dpi: int) -> None:
    assert ink_ratio(np.asarray(blank_separator_page(dpi, random.Random(seed))), dpi) < 0.001


@pytest.mark.parametrize("seed", range(4))
def test_unevenly_lit_noisy_paper_is_blank(seed: int) -> None:
    assert ink_ratio(_blank_with_lighting(200, seed), 200) < 0.001


@pytest.mark.parametrize("quality", ["office", "poor"])
def test_a_scanned_white_sheet_is_blank(quality: str) -> None:
    scan = simulate_scan(Image.new("L", a4_size_px(300), 255), quality, random.Random(2))  # type: ignore[arg-type]
    assert ink_ratio(np.asarray(scan.image.convert("L")), scan.dpi) < 0.001


@pytest.mark.parametrize("seed", range(3))
def test_forms_are_never_blank(seed: int) -> None:
    form = form_like_page(dpi=300, seed=seed)
    assert ink_ratio(np.asarray(form), 300) > 3 * BLANK_INK_RATIO
    scan = simulate_scan(form, "poor", random.Random(seed))
    assert ink_ratio(np.asarray(scan.image.convert("L")), scan.dpi) > 3 * BLANK_INK_RATIO


def test_dark_pages_and_pages_with_words_are_not_blank() -> None:
    dark = Page(image=np.full((1000, 700), 20, np.uint8), dpi=100, page_no=0)
    assert not is_blank_page(dark)
    white = np.full((1000, 700), 255, np.uint8)
    assert is_blank_page(Page(image=white, dpi=100, page_no=0))
    from jimu.extractors.types import TextWord

    assert not is_blank_page(Page(image=white, dpi=100, page_no=0, words=[TextWord("氏名", 1, 1, 5, 4)]))


# =========================================================================== PDFs
def _register_jp_font() -> str:
    if "IPAGothic" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("IPAGothic", str(JP_FONT)))
    return "IPAGothic"


def _ink_in_box(p: Page, x0: float, y0: float, x1: float, y1: float) -> int:
    k = p.dpi / 25.4
    crop = p.image[int(y0 * k) : int(y1 * k) + 1, int(x0 * k) : int(x1 * k) + 1]
    return int(crop.min()) if crop.size else 255


@pytest.fixture
def pc_pdf(tmp_path: Path) -> Path:
    """A form typed on a PC: labels and values as real text (IPAGothic), a frame, 12 pt."""
    font = _register_jp_font()
    path = tmp_path / "pc_form.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(font, 12)
    top = A4[1]
    c.drawString(20 * mm, top - 30 * mm, "氏名")
    c.drawString(50 * mm, top - 30 * mm, "山田 太郎")
    c.drawString(20 * mm, top - 50 * mm, "住所")
    c.drawString(50 * mm, top - 50 * mm, "千葉市中央区千葉港1-1")
    c.rect(15 * mm, top - 60 * mm, 170 * mm, 40 * mm)
    c.showPage()
    c.save()
    return path


def test_pc_pdf_has_words_in_mm_and_a_raster(pc_pdf: Path) -> None:
    (doc,) = load_documents(pc_pdf)
    p = doc.pages[0]
    assert p.dpi == 300 and p.image.shape == (3508, 2480) and p.image.dtype == np.uint8
    assert p.width_mm == pytest.approx(210, abs=0.1) and p.height_mm == pytest.approx(297, abs=0.1)
    assert p.words is not None
    by_text = {w.text: w for w in p.words}
    assert set(by_text) == {"氏名", "山田", "太郎", "住所", "千葉市中央区千葉港1-1"}
    assert by_text["太郎"].x0 > by_text["山田"].x1
    # the same words as pdfplumber finds, at the same places
    with pdfplumber.open(pc_pdf) as pdf:
        plumber = {w["text"]: w for w in pdf.pages[0].extract_words()}
    assert set(plumber) == set(by_text)
    assert {t: (by_text[t].x0, by_text[t].y0) for t in plumber} == {
        t: (pytest.approx(pw["x0"] * 25.4 / 72, abs=0.1), pytest.approx(pw["top"] * 25.4 / 72, abs=0.1))
        for t, pw in plumber.items()}


@pytest.mark.parametrize(("text", "x", "baseline"),
                         [("氏名", 20, 30), ("山田", 50, 30), ("住所", 20, 50), ("千葉市中央区千葉港1-1", 50, 50)])
def test_pc_pdf_words_are_where_they_were_typed(pc_pdf: Path, text: str, x: float, baseline: float) -> None:
    (p,) = load_pages(pc_pdf)
    assert p.words is not None
    w = {w.text: w for w in p.words}[text]
    font_mm = 12 * 25.4 / 72
    assert w.x0 == pytest.approx(x, abs=0.05)
    assert w.y0 < baseline < w.y1 and w.y1 - w.y0 == pytest.approx(font_mm, rel=0.15)
    assert w.x1 - w.x0 == pytest.approx(len(text) * font_mm, rel=0.3) or not text.isalpha()
    assert _ink_in_box(p, w.x0, w.y0, w.x1, w.y1) < 100, f"no ink under {text}"


def test_rotated_pdf_page_words_follow_the_raster(pc_pdf: Path, tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(pc_pdf))
    writer.pages[0].rotate(90)
    path = tmp_path / "rotated.pdf"
    writer.write(path)
    (p,) = load_pages(path)
    assert p.image.shape == (2480, 3508) and p.width_mm == pytest.approx(297, abs=0.1)
    assert p.words is not None
    by_text = {w.text: w for w in p.words}
    w = by_text["千葉市中央区千葉港1-1"]
    assert w.y1 - w.y0 > 5 * (w.x1 - w.x0)  # the line now runs downwards
    assert w.x0 == pytest.approx(297 - 50 - 1.2, abs=1.0)
    assert [word.text for word in p.words if _ink_in_box(p, word.x0, word.y0, word.x1, word.y1) >= 100] == []


def test_invisible_ocr_layer_is_not_a_text_layer(tmp_path: Path) -> None:
    font = _register_jp_font()
    scan = tmp_path / "scan.png"
    form_like_page(dpi=150).save(scan)
    path = tmp_path / "searchable.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(str(scan), 0, 0, width=A4[0], height=A4[1])
    t = c.beginText(20 * mm, A4[1] - 30 * mm)
    t.setFont(font, 12)
    t.setTextRenderMode(3)  # invisible, as scanner OCR writes it
    t.textLine("氏名 山田太郎")
    c.drawText(t)
    c.showPage()
    c.save()
    (p,) = load_pages(path)
    assert p.words is None
    assert p.dpi == 150  # the scan image's own resolution, not upsampled to 300


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_pdf_words_follow_rotate_and_crop_box(pc_pdf: Path, tmp_path: Path, rotate: int) -> None:
    """pdfplumber's words land where pdfium draws them, on a turned page whose MediaBox and CropBox are offset."""
    (flat,) = load_pages(pc_pdf)
    assert flat.words is not None
    user = {w.text: ((w.x0 + w.x1) / 2, 297 - (w.y0 + w.y1) / 2) for w in flat.words}  # centres, mm from bottom-left
    pt = 72 / 25.4
    cx0, cy0, cx1, cy1 = 10, 20, 200, 280  # CropBox, mm
    writer = PdfWriter(clone_from=PdfReader(pc_pdf))
    page = writer.pages[0]
    page.mediabox = RectangleObject([-5 * pt, -7 * pt, 215 * pt, 300 * pt])
    page.cropbox = RectangleObject([cx0 * pt, cy0 * pt, cx1 * pt, cy1 * pt])
    if rotate:
        page.rotate(rotate)
    path = tmp_path / f"turned{rotate}.pdf"
    writer.write(path)
    (p,) = load_pages(path)
    assert (p.width_mm, p.height_mm) == ((pytest.approx(190, abs=0.1), pytest.approx(260, abs=0.1)) if rotate in (0, 180)
                                         else (pytest.approx(260, abs=0.1), pytest.approx(190, abs=0.1)))
    assert p.words is not None
    assert [w.text for w in p.words] == [w.text for w in flat.words]  # whole words, in reading order

    def want(text: str) -> tuple[float, float]:
        x, y = user[text]
        return {0: (x - cx0, cy1 - y), 90: (y - cy0, x - cx0), 180: (cx1 - x, y - cy0), 270: (cy1 - y, cx1 - x)}[rotate]

    assert {w.text: ((w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2) for w in p.words} == {
        w.text: tuple(pytest.approx(v, abs=0.05) for v in want(w.text)) for w in p.words}
    assert [w.text for w in p.words if _ink_in_box(p, w.x0, w.y0, w.x1, w.y1) >= 100] == []


def test_invisible_text_beside_visible_text_is_left_out(tmp_path: Path) -> None:
    font = _register_jp_font()
    path = tmp_path / "mixed.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(font, 12)
    c.drawString(20 * mm, A4[1] - 30 * mm, "氏名")
    t = c.beginText(20 * mm, A4[1] - 50 * mm)
    t.setFont(font, 12)
    t.setTextRenderMode(3)
    t.textOut("隠れた")
    t.setTextRenderMode(0)
    t.textOut("見える")  # in the same text object, after the invisible run
    c.drawText(t)
    c.showPage()
    c.save()
    (p,) = load_pages(path)
    assert p.words is not None
    by_text = {w.text: w for w in p.words}
    assert set(by_text) == {"氏名", "見える"}
    w = by_text["見える"]
    assert w.x0 == pytest.approx(20 + 3 * 12 * 25.4 / 72, abs=0.1)  # placed after the hidden run
    assert _ink_in_box(p, w.x0, w.y0, w.x1, w.y1) < 100


def test_text_without_unicode_mapping_gives_no_words(pc_pdf: Path, tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(pc_pdf))
    for font in writer.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        if "/ToUnicode" in font:
            del font["/ToUnicode"]
    path = tmp_path / "no_tounicode.pdf"
    writer.write(path)
    with pdfplumber.open(path) as pdf:
        assert "(cid:" in pdf.pages[0].extract_text()
    (p,) = load_pages(path)
    assert p.words is None  # read from the raster like a scan


def test_filled_in_form_fields_become_words(tmp_path: Path) -> None:
    path = tmp_path / "fillable.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 10)
    c.drawString(20 * mm, A4[1] - 30 * mm, "Postal code")
    c.acroForm.textfield(
        name="postal", value="2600013", x=60 * mm, y=A4[1] - 33 * mm, width=40 * mm, height=8 * mm, borderWidth=1
    )
    c.showPage()
    c.save()
    (p,) = load_pages(path)
    assert p.words is not None
    by_text = {w.text: w for w in p.words}
    assert "Postal" in by_text
    field = by_text["2600013"]
    assert (field.x0, field.x1) == (pytest.approx(60, abs=0.1), pytest.approx(100, abs=0.1))
    assert (field.y0, field.y1) == (pytest.approx(25, abs=0.1), pytest.approx(33, abs=0.1))
    assert _ink_in_box(p, field.x0 + 1, field.y0 + 1, field.x1 - 1, field.y1 - 1) < 128  # value drawn too


def test_scanned_pdf_pages_and_blank_separators(tmp_path: Path) -> None:
    rng = random.Random(9)
    forms = [form_like_page(dpi=300, seed=1), form_like_page(dpi=200, seed=2), form_like_page(dpi=300, seed=3)]
    bilevel = forms[2].convert("1", dither=Image.Dither.NONE)
    sheets = [forms[0], blank_separator_page(300, rng), forms[1], bilevel]
    path = write_scanned_pdf(sheets, tmp_path / "feeder.pdf", dpi=[300, 300, 200, 300])
    docs = load_documents(path)
    assert [d.pages[0].page_no for d in docs] == [0, 2, 3]
    dpis = [d.pages[0].dpi for d in docs]
    assert dpis == [300, 200, 300]
    for d, src in zip(docs, [forms[0], forms[1], bilevel.convert("L")], strict=True):
        p = d.pages[0]
        assert p.words is None
        assert p.image.shape == (src.height, src.width)
        assert np.abs(p.image.astype(np.int16) - np.asarray(src, dtype=np.int16)).mean() < 2
        assert p.width_mm == pytest.approx(210, abs=0.3)
    assert docs[1].sha256 == document_sha256(sha(path.read_bytes()), 1)


def test_large_pdf_page_is_rendered_at_reduced_dpi(tmp_path: Path) -> None:
    path = tmp_path / "a0.pdf"
    c = canvas.Canvas(str(path), pagesize=(841 * mm, 1189 * mm))
    c.setFont("Helvetica", 200)
    c.drawString(100 * mm, 600 * mm, "A0 POSTER")
    c.showPage()
    c.save()
    settings = Settings()
    (p,) = load_pages(path, settings)
    assert 150 <= p.dpi < 300
    assert p.image.size <= settings.max_page_pixels
    assert p.width_mm == pytest.approx(841, abs=0.5)


def test_concurrent_pdf_loads_use_separate_workers(pc_pdf: Path) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(len(load_pages(pc_pdf)[0].words or []))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and results == [5, 5, 5]
    pdf_tool.shutdown_workers()
    assert len(load_pages(pc_pdf)) == 1  # workers start again on demand

