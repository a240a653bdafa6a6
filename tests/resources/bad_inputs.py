"""Bad (and tricky-but-fine) scan files for the ingest tests, written at test time.

Nothing here is committed as a binary: each ``make_*`` function writes one file into the
folder it is given and returns a :class:`BadInput` with the outcome ``load_documents``
must produce — an :class:`~jimu.errors.InputFileError` subclass, or ``"ok"`` — plus the
settings overrides the case needs (e.g. a short PDF timeout so a bomb test stays quick)
and words the error message must contain.  :data:`KINDS` maps each kind to its maker;
``make(kind, folder)`` is the entry point.  The files are small on disk (the largest,
the content-stream bomb and the 900-megapixel PNG, are ~150 KB; the over-size file is sparse).

Run ``python -m tests.resources.bad_inputs DIR`` to write them all into ``DIR``.
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont, TiffImagePlugin

from jimu.errors import (
    BlankPageError,
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    InputFileError,
    LimitExceededError,
    UnsupportedFileError,
)

Expected = type[InputFileError] | Literal["ok"]

JP_FONT = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
A4_MM = (210.0, 297.0)


@dataclass(frozen=True)
class BadInput:
    kind: str
    path: Path
    expected: Expected
    settings: dict[str, Any] = field(default_factory=dict)  # Settings(**settings) for this case
    message_has: tuple[str, ...] = ()  # lower-case words the error message must contain


# =========================================================================== building blocks
def a4_px(dpi: int) -> tuple[int, int]:
    return round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi)


def form_like_page(dpi: int = 200, seed: int = 0) -> Image.Image:
    """An A4 grayscale page that looks like a printed form: frames, rules and labels."""
    w, h = a4_px(dpi)
    img = Image.new("L", (w, h), 250)
    d = ImageDraw.Draw(img)
    k = dpi / 25.4
    line = max(1, round(0.3 * k))
    d.rectangle([15 * k, 15 * k, 195 * k, 282 * k], outline=20, width=line)
    rng = random.Random(seed)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(str(JP_FONT), round(4 * k))
    except OSError:
        font = ImageFont.load_default(size=round(4 * k))
    labels = ["氏名", "住所", "生年月日", "電話番号", "届出日", "世帯主", "本籍", "備考"]
    y = 30.0
    for i, label in enumerate(labels):
        d.line([20 * k, (y + 12) * k, 190 * k, (y + 12) * k], fill=30, width=line)
        d.text((22 * k, y * k), label, fill=10, font=font)
        d.text((70 * k, y * k), f"{rng.randint(1000, 9999)}-{i}", fill=40, font=font)
        y += 30.0
    return img


def blank_page(dpi: int = 150, seed: int = 0) -> Image.Image:
    """A blank sheet as a scanner sees it: off-white paper, sensor noise, a few dust specks."""
    w, h = a4_px(dpi)
    gen = np.random.default_rng(seed)
    a = gen.integers(241, 251, (h, w), dtype=np.uint8)
    for _ in range(25):
        y, x = int(gen.integers(0, h - 3)), int(gen.integers(0, w - 3))
        a[y : y + 2, x : x + 2] = int(gen.integers(60, 160))
    return Image.fromarray(a, mode="L")


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def bilevel_png(width: int, height: int) -> bytes:
    """A 1-bit all-white PNG of any size, streamed through zlib (never held in memory)."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    block_rows = max(1, (4 << 20) // len(row))
    parts = []
    left = height
    while left:
        n = min(block_rows, left)
        parts.append(comp.compress(row * n))
        left -= n
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b"")


def pdf_file(objects: list[bytes]) -> bytes:
    """A classic PDF (xref table) of ``objects`` (object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def one_page_pdf(
    content: bytes,
    media: tuple[float, float] = (595.28, 841.89),
    resources: bytes = b"",
    extra_objects: list[bytes] | None = None,
    content_extra: bytes = b"",
) -> bytes:
    """catalog (1), pages (2), page (3), content (4), then ``extra_objects`` (5, 6, ...)."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << %s >> /Contents 4 0 R >>"
        % (media[0], media[1], resources),
        pdf_stream(content, content_extra),
    ]
    return pdf_file(objs + (extra_objects or []))


def reportlab_pdf(pages: int = 1, text: str = "転入届 氏名 山田太郎") -> bytes:
    """A typed (PC) PDF: Japanese text and a frame on each page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = "Helvetica"
    if JP_FONT.exists():
        if "IPAGothic" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("IPAGothic", str(JP_FONT)))
        font = "IPAGothic"
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    for i in range(pages):
        c.setFont(font, 12)
        c.drawString(60, A4[1] - 80, f"{text} {i + 1}")
        c.rect(40, 40, A4[0] - 80, A4[1] - 80)
        c.showPage()
    c.save()
    return buf.getvalue()


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# =========================================================================== empty / truncated
def make_empty_file(folder: Path) -> BadInput:
    return BadInput("empty_file", _write(folder, "empty.png", b""), EmptyFileError, message_has=("empty",))


def make_truncated_png(folder: Path) -> BadInput:
    data = encode(form_like_page(), "PNG")
    path = _write(folder, "truncated.png", data[: len(data) // 2])
    return BadInput("truncated_png", path, CorruptFileError, message_has=("png", "cut off"))


def make_truncated_jpeg(folder: Path) -> BadInput:
    data = encode(form_like_page(), "JPEG", quality=85)
    path = _write(folder, "truncated.jpg", data[: len(data) // 2])
    return BadInput("truncated_jpeg", path, CorruptFileError, message_has=("jpeg", "damaged"))


def make_truncated_tiff(folder: Path) -> BadInput:
    first, second = form_like_page(seed=1), form_like_page(seed=2)
    data = encode(first, "TIFF", save_all=True, append_images=[second], compression="tiff_deflate")
    path = _write(folder, "truncated.tif", data[: int(len(data) * 0.7)])
    return BadInput("truncated_tiff", path, CorruptFileError, message_has=("tiff", "damaged"))


def make_truncated_pdf(folder: Path) -> BadInput:
    page = form_like_page()
    jpeg = encode(page, "JPEG", quality=85)
    w, h = page.size
    content = b"q 595.28 0 0 841.89 0 0 cm /Im0 Do Q"
    image = pdf_stream(
        jpeg,
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /DCTDecode" % (w, h),
    )
    data = one_page_pdf(content, resources=b"/XObject << /Im0 5 0 R >>", extra_objects=[image])
    path = _write(folder, "truncated.pdf", data[: int(len(data) * 0.6)])
    return BadInput("truncated_pdf", path, CorruptFileError, message_has=("pdf", "cut off"))


# =========================================================================== wrong types
def make_text_named_png(folder: Path) -> BadInput:
    path = _write(folder, "notes.png", "申請書の控え\nこれは画像ではありません。\n".encode())
    return BadInput("text_named_png", path, UnsupportedFileError, message_has=("text file", ".png"))


def make_random_bytes_named_jpg(folder: Path) -> BadInput:
    path = _write(folder, "photo.jpg", random.Random(7).randbytes(20_000))
    return BadInput("random_bytes_named_jpg", path, UnsupportedFileError, message_has=("unrecognisable", ".jpg"))


def make_html_named_pdf(folder: Path) -> BadInput:
    html = b"<!DOCTYPE html>\n<html><head><title>404</title></head><body>Not found</body></html>\n"
    path = _write(folder, "download.pdf", html)
    return BadInput("html_named_pdf", path, UnsupportedFileError, message_has=("html", ".pdf"))


def make_gif_image(folder: Path) -> BadInput:
    path = _write(folder, "scan.gif", encode(form_like_page(dpi=100), "GIF"))
    return BadInput("gif_image", path, UnsupportedFileError, message_has=("gif",))


def make_bmp_named_png(folder: Path) -> BadInput:
    path = _write(folder, "scan.png", encode(form_like_page(dpi=100), "BMP"))
    return BadInput("bmp_named_png", path, UnsupportedFileError, message_has=("bmp", ".png"))


def make_office_zip_named_pdf(folder: Path) -> BadInput:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    path = _write(folder, "application.pdf", buf.getvalue())
    return BadInput("office_zip_named_pdf", path, UnsupportedFileError, message_has=("office",))


def make_pdf_garbage_body(folder: Path) -> BadInput:
    data = b"%PDF-1.7\n" + random.Random(3).randbytes(8000) + b"\n%%EOF\n"
    path = _write(folder, "garbage.pdf", data)
    return BadInput("pdf_garbage_body", path, CorruptFileError, message_has=("damaged",))


# =========================================================================== PDF specials
def make_encrypted_pdf(folder: Path) -> BadInput:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(reportlab_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner-secret")
    buf = io.BytesIO()
    writer.write(buf)
    path = _write(folder, "encrypted.pdf", buf.getvalue())
    return BadInput("encrypted_pdf", path, EncryptedFileError, message_has=("password",))


def make_pdf_owner_password_only(folder: Path) -> BadInput:
    """Restricted (no editing) but opens without a password, like many downloadable forms."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.constants import UserAccessPermissions

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(reportlab_pdf())))
    allowed = UserAccessPermissions.PRINT | UserAccessPermissions.EXTRACT  # no modifying
    writer.encrypt(user_password="", owner_password="owner-secret", permissions_flag=allowed)
    buf = io.BytesIO()
    writer.write(buf)
    return BadInput("pdf_owner_password_only", _write(folder, "restricted.pdf", buf.getvalue()), "ok")


def nested_xobject_bomb(depth: int = 24) -> bytes:
    """``depth`` levels of form XObjects, each drawing the next one twice: 2^(depth-1) fills."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R >>"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, pdf_stream(b"/X Do")]
    for level in range(depth):
        num = 5 + level
        if level == depth - 1:
            body, res = b"0 0 m 595 842 l 0 842 l h f", b""
        else:
            body, res = b"q /X Do Q q /X Do Q", b"/Resources << /XObject << /X %d 0 R >> >>" % (num + 1)
        objs.append(pdf_stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] " + res))
    return pdf_file(objs)


def make_pdf_bomb_nested_xobjects(folder: Path) -> BadInput:
    """24 levels of nested form XObjects (~5 KB): pdfium needs minutes and gigabytes for it.

    With a 2 s timeout the worker is killed.
    """
    path = _write(folder, "bomb_nested.pdf", nested_xobject_bomb())
    return BadInput("pdf_bomb_nested_xobjects", path, LimitExceededError, {"pdf_timeout_s": 2.0}, message_has=("seconds",))


def make_pdf_bomb_memory(folder: Path) -> BadInput:
    """The nested-XObject bomb again, with a generous timeout: the memory cap must stop it."""
    path = _write(folder, "bomb_memory.pdf", nested_xobject_bomb())
    return BadInput(
        "pdf_bomb_memory", path, LimitExceededError, {"pdf_timeout_s": 60.0, "pdf_memory_mb": 300}, message_has=("memory",)
    )


def make_pdf_bomb_content_stream(folder: Path) -> BadInput:
    """A 64 MB flate-compressed content stream (~160 KB on disk) of overlapping fills."""
    line = b"0.5 g 10 10 575 822 re f\n"
    raw = line * ((64 << 20) // len(line))
    data = one_page_pdf(zlib.compress(raw, 9), media=(595, 842), content_extra=b"/Filter /FlateDecode")
    path = _write(folder, "bomb_content.pdf", data)
    return BadInput("pdf_bomb_content_stream", path, LimitExceededError, {"pdf_timeout_s": 2.0}, message_has=("seconds",))


def make_pdf_100_pages(folder: Path) -> BadInput:
    path = _write(folder, "feeder_100.pdf", reportlab_pdf(pages=100))
    return BadInput("pdf_100_pages", path, LimitExceededError, message_has=("100 pages", "60"))


def make_pdf_zero_pages(folder: Path) -> BadInput:
    data = pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    return BadInput("pdf_zero_pages", _write(folder, "no_pages.pdf", data), EmptyFileError, message_has=("no pages",))


def make_pdf_broken_page(folder: Path) -> BadInput:
    """The page tree's only kid is not a page (a font dictionary)."""
    data = pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )
    return BadInput("pdf_broken_page", _write(folder, "broken_page.pdf", data), CorruptFileError, message_has=("page 1",))


def make_pdf_huge_page(folder: Path) -> BadInput:
    """A 5 m × 5 m page: 3.5 gigapixels at 300 dpi."""
    data = one_page_pdf(b"0 g 100 100 500 500 re f", media=(14173.0, 14173.0))
    return BadInput("pdf_huge_page", _write(folder, "poster.pdf", data), LimitExceededError, message_has=("5.00",))


def make_pdf_tiny_page(folder: Path) -> BadInput:
    data = one_page_pdf(b"0 g 0 0 2 2 re f", media=(5.0, 5.0))
    return BadInput("pdf_tiny_page", _write(folder, "stamp.pdf", data), CorruptFileError, message_has=("too small",))


# =========================================================================== limits (images)
def make_decompression_bomb_png(folder: Path) -> BadInput:
    """30000×30000 1-bit PNG (900 megapixels, ~150 KB on disk; 112 MB of raw rows)."""
    path = _write(folder, "bomb.png", bilevel_png(30_000, 30_000))
    return BadInput("decompression_bomb_png", path, LimitExceededError, message_has=("too large",))


def make_png_over_pixel_limit(folder: Path) -> BadInput:
    """8000×8000 (64 megapixels): under Pillow's bomb threshold, over our 60-megapixel limit."""
    path = _write(folder, "big.png", bilevel_png(8000, 8000))
    return BadInput("png_over_pixel_limit", path, LimitExceededError, message_has=("megapixel",))


def make_jpeg_header_bomb(folder: Path) -> BadInput:
    """A tiny JPEG whose frame header claims 60000×60000 pixels."""
    data = bytearray(encode(Image.new("L", (16, 16), 255), "JPEG"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60000, 60000)
    return BadInput("jpeg_header_bomb", _write(folder, "bomb.jpg", bytes(data)), LimitExceededError)


def make_tiff_huge_dimensions(folder: Path) -> BadInput:
    """A hand-made TIFF whose only IFD claims 100000×100000 pixels with 8 bytes of data."""
    entries = [
        (256, 4, 1, 100_000),  # ImageWidth (LONG)
        (257, 4, 1, 100_000),  # ImageLength
        (258, 3, 1, 1),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 0),  # Photometric: white is zero
        (273, 4, 1, 8),  # StripOffsets
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, 100_000),  # RowsPerStrip
        (279, 4, 1, 8),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", 0)
    data = b"II*\x00" + struct.pack("<I", 16) + b"\x00" * 8 + ifd
    return BadInput("tiff_huge_dimensions", _write(folder, "huge.tif", data), LimitExceededError)


def make_tiff_61_pages(folder: Path) -> BadInput:
    frames = [Image.new("1", (200, 200), 1) for _ in range(61)]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return BadInput("tiff_61_pages", _write(folder, "feeder_61.tif", data), LimitExceededError, message_has=("60 pages",))


def make_tiff_corrupt_second_page(folder: Path) -> BadInput:
    first, second = form_like_page(seed=1), form_like_page(seed=2)
    data = bytearray(encode(first, "TIFF", save_all=True, append_images=[second], compression="tiff_deflate"))
    with Image.open(io.BytesIO(bytes(data))) as im:
        assert isinstance(im, TiffImagePlugin.TiffImageFile)
        im.seek(1)
        offsets, counts = im.tag_v2[273], im.tag_v2[279]
    garbage = random.Random(5).randbytes(64)
    for off, cnt in zip(offsets, counts, strict=True):  # scramble every strip of page 2
        start = off + min(8, cnt // 2)
        data[start : start + min(64, cnt - (start - off))] = garbage[: min(64, cnt - (start - off))]
    path = _write(folder, "corrupt_page2.tif", bytes(data))
    return BadInput("tiff_corrupt_second_page", path, CorruptFileError, message_has=("page 2",))


def make_png_1x1(folder: Path) -> BadInput:
    return BadInput(
        "png_1x1",
        _write(folder, "pixel.png", encode(Image.new("L", (1, 1), 0), "PNG")),
        CorruptFileError,
        message_has=("too small",),
    )


def make_png_0x0(folder: Path) -> BadInput:
    ihdr = struct.pack(">IIBBBBB", 0, 0, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b"")
    return BadInput("png_0x0", _write(folder, "zero.png", data), CorruptFileError, message_has=("damaged",))


def make_file_over_size_limit(folder: Path) -> BadInput:
    """201 MB, sparse (takes no disk space): must be refused from its size, without reading it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "huge_scan.pdf"
    with path.open("wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(201 * 1024 * 1024)
    return BadInput("file_over_size_limit", path, LimitExceededError, message_has=("201 mb", "200 mb"))


# =========================================================================== blank pages
def make_blank_single_page(folder: Path) -> BadInput:
    path = _write(folder, "blank.png", encode(blank_page(), "PNG", dpi=(150, 150), compress_level=1))
    return BadInput("blank_single_page", path, BlankPageError, message_has=("blank",))


def make_all_blank_tiff(folder: Path) -> BadInput:
    pages = [blank_page(dpi=100, seed=s) for s in range(3)]
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate", dpi=(100, 100))
    return BadInput("all_blank_tiff", _write(folder, "blank3.tif", data), BlankPageError, message_has=("all 3 pages",))


# =========================================================================== fine after all
def make_jpeg_named_tif(folder: Path) -> BadInput:
    data = encode(form_like_page(), "JPEG", quality=85, dpi=(200, 200))
    return BadInput("jpeg_named_tif", _write(folder, "scan.tif", data), "ok")


def make_png_named_jpg(folder: Path) -> BadInput:
    data = encode(form_like_page(), "PNG", dpi=(200, 200))
    return BadInput("png_named_jpg", _write(folder, "scan.jpg", data), "ok")


KINDS: dict[str, Callable[[Path], BadInput]] = {
    "empty_file": make_empty_file,
    "truncated_png": make_truncated_png,
    "truncated_jpeg": make_truncated_jpeg,
    "truncated_tiff": make_truncated_tiff,
    "truncated_pdf": make_truncated_pdf,
    "text_named_png": make_text_named_png,
    "random_bytes_named_jpg": make_random_bytes_named_jpg,
    "html_named_pdf": make_html_named_pdf,
    "gif_image": make_gif_image,
    "bmp_named_png": make_bmp_named_png,
    "office_zip_named_pdf": make_office_zip_named_pdf,
    "pdf_garbage_body": make_pdf_garbage_body,
    "encrypted_pdf": make_encrypted_pdf,
    "pdf_owner_password_only": make_pdf_owner_password_only,
    "pdf_bomb_nested_xobjects": make_pdf_bomb_nested_xobjects,
    "pdf_bomb_memory": make_pdf_bomb_memory,
    "pdf_bomb_content_stream": make_pdf_bomb_content_stream,
    "pdf_100_pages": make_pdf_100_pages,
    "pdf_zero_pages": make_pdf_zero_pages,
    "pdf_broken_page": make_pdf_broken_page,
    "pdf_huge_page": make_pdf_huge_page,
    "pdf_tiny_page": make_pdf_tiny_page,
    "decompression_bomb_png": make_decompression_bomb_png,
    "png_over_pixel_limit": make_png_over_pixel_limit,
    "jpeg_header_bomb": make_jpeg_header_bomb,
    "tiff_huge_dimensions": make_tiff_huge_dimensions,
    "tiff_61_pages": make_tiff_61_pages,
    "tiff_corrupt_second_page": make_tiff_corrupt_second_page,
    "png_1x1": make_png_1x1,
    "png_0x0": make_png_0x0,
    "file_over_size_limit": make_file_over_size_limit,
    "blank_single_page": make_blank_single_page,
    "all_blank_tiff": make_all_blank_tiff,
    "jpeg_named_tif": make_jpeg_named_tif,
    "png_named_jpg": make_png_named_jpg,
}


def make(kind: str, folder: Path) -> BadInput:
    """Write the ``kind`` file into ``folder``; see :data:`KINDS`."""
    return KINDS[kind](folder)


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_inputs")
    for name in KINDS:
        item = make(name, out)
        expected = item.expected if item.expected == "ok" else item.expected.__name__
        print(f"{name:28} {item.path.name:22} {expected}")
