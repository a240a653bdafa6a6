"""Ingest: read one scan file into pages, enforce the input limits, split it into documents.

API
---
``load_documents(path, settings=None) -> list[Document]``
    What the pipeline calls: :func:`load_pages` + :func:`split_documents`.
``load_pages(path, settings=None) -> list[Page]``
    Every page of the file, blank ones included, as grayscale rasters (plus PDF words).
``split_documents(source, file_sha, pages) -> list[Document]``
    Drops blank (separator) pages; every other page becomes one document.

Every problem with the file raises an :class:`~jimu.errors.InputFileError` subclass whose
message a clerk can act on; messages never quote file contents or the file name (names
can hold personal data), only sizes, page numbers and what was found.

Files
-----
* The type comes from the first bytes (magic), never from the name: a JPEG named
  ``.tif`` loads as a JPEG; an HTML page named ``.pdf`` is an
  :class:`~jimu.errors.UnsupportedFileError` that says what it looks like.  Accepted:
  PNG, JPEG, TIFF (multi-page; reduced-resolution thumbnail IFDs are skipped), PDF.
* Limits, checked as early as possible: the file size (``max_file_bytes``) before
  reading (and the read itself is capped); the page count (``max_pages``) before any
  page is decoded or rasterised; every image page's pixel count (``max_page_pixels``)
  from its header before decoding — a 30000×30000 "decompression bomb" PNG of a few KB
  never gets its pixels allocated (Pillow's own ``DecompressionBombError`` is mapped too).
* Truncated or damaged files are :class:`~jimu.errors.CorruptFileError` (a PNG without
  its ``IEND`` chunk or a PDF without ``%%EOF`` at its end is treated as cut off even if
  a lenient decoder could show part of it).  A zero-byte file, or a PDF without pages,
  is :class:`~jimu.errors.EmptyFileError`.  Images smaller than 100 px on a side are not
  scans (:class:`~jimu.errors.CorruptFileError`).

Images
------
Grayscale ``uint8`` (0 = black).  Colour (RGB, palette, CMYK, colour JPEGs) → an
ink-preserving gray (:func:`ink_gray`): luma where the pixel is neutral, the red channel
where it is coloured, so blue or black pen stays dark while red seals and red/orange
printing turn light; alpha (RGBA, LA, palette transparency) is flattened onto white;
16-bit → top 8 bits; 1-bit → 0/255.  Gray JPEGs are decoded straight to luma.  The EXIF
orientation (JPEG, and TIFF/PNG if present) is applied.  DPI comes from the file
(JFIF/EXIF, pHYs, TIFF resolution); a value outside 72–1200 dpi, exactly 72 (what cameras
and editors write when they do not know), or none at all means "unknown":
``Page.dpi_known`` is False and ``Page.dpi`` is the A4 estimate from the image size when
the image is A4-shaped, else 300 — registration measures the real scale from the page.
Non-square pixels (fax TIFFs, e.g. 204×98 dpi) are resampled to square pixels at the
larger of the two resolutions.

PDFs
----
Parsed and rasterised with pypdfium2, and its text layer read with pdfplumber, in a killable
worker process (:mod:`jimu.extractors.pdf_tool`): a PDF that takes longer than ``pdf_timeout_s`` to open or
to render any one page, or that needs more than ``pdf_memory_mb``, is stopped and raises
:class:`~jimu.errors.LimitExceededError`.  A password-protected PDF (one that cannot be
opened without a password) is :class:`~jimu.errors.EncryptedFileError`; a PDF that is
merely *restricted* by an owner password (no printing/editing) opens without one and is
read normally — municipal fillable forms are often distributed like that.  Every page is
rendered at 300 dpi (the registration stage needs the raster even when there is a text
layer), except that a page that is one full-page scan image of lower resolution is
rendered at that resolution (no upsampling), and a page too large for
``max_page_pixels`` at 300 dpi is rendered at the highest dpi that fits, down to 150
dpi; a page that would need less than 150 dpi (larger than about 1.3 m × 1.3 m with the
default limit) is :class:`~jimu.errors.LimitExceededError`.  ``Page.words`` holds the
visible text layer (a form filled on a PC: printed labels and typed values; filled-in
AcroForm fields too) in millimetres from the top-left of the page as displayed;
scanned pages, and pages whose only text is an invisible OCR layer, have ``words=None``.

Splitting
---------
Our forms are single-page, so a multi-page file (sheet feeder) holds one form per page,
sometimes with blank separator sheets between them.  A page is blank when, at 100 dpi
and ignoring a 2 % border, fewer than 0.3 % of its pixels are ink: darker by more than
50 grey levels than the local paper (a dilated, blurred background estimate, so uneven
lighting and grey paper do not count), after dropping specks smaller than ~0.4 mm²
(dust, salt-and-pepper noise).  A page with PDF words is never blank, nor is a page
that is mostly dark (a lid-open or inverted scan is for an operator to see, not to
drop).  Scanned forms measure 5–7 %, simulated blank sheets below 0.06 %.  Each
remaining page becomes ``Document(index=0..n-1)``; a file whose pages are all blank
raises :class:`~jimu.errors.BlankPageError`.

``Document.file_sha256`` is the SHA-256 (hex) of the file's bytes.  ``Document.sha256``
is the same value when the file yields exactly one document, and otherwise
``sha256(f"{file_sha256}#{index}".encode("ascii")).hexdigest()`` — stable for the same
file, distinct per document, and reproducible from the file alone.

Speed (one core, load + split): a 300-dpi A4 office-quality scan as PNG (2.7 MB, noisy)
~85 ms, as JPEG ~20 ms; a page of a scanned PDF ~35 ms, of a typed PDF ~12 ms (plus
~60 ms once per process to start the PDF worker).  Decoded images are copied once,
into a writable numpy array (Pillow only exports read-only buffers; a few ms); PDF
rasters go from the worker's pipe straight into the page's array.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from jimu.errors import (
    BlankPageError,
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    ExternalToolError,
    InputFileError,
    JimuError,
    LimitExceededError,
    MissingDependencyError,
    UnsupportedFileError,
)
from jimu.extractors.pdf_tool import PdfToolError, open_pdf
from jimu.extractors.types import WORK_DPI, Document, Page, TextWord
from jimu.settings import Settings, get_settings

__all__ = [
    "BLANK_INK_RATIO",
    "DEFAULT_DPI",
    "FileKind",
    "document_sha256",
    "ink_ratio",
    "is_blank_page",
    "load_documents",
    "load_pages",
    "sniff_file_type",
    "split_documents",
]

log = logging.getLogger(__name__)

FileKind = Literal["png", "jpeg", "tiff", "pdf"]

DEFAULT_DPI = 300.0
MIN_DPI, MAX_DPI = 72.0, 1200.0
MIN_SIDE_PX = 100
PDF_DPI = float(WORK_DPI)
PDF_MIN_DPI = 150.0
MM_PER_INCH = 25.4

BLANK_WORK_DPI = 100.0
BLANK_MARGIN = 0.02
BLANK_INK_DELTA = 50
BLANK_MIN_SPECK_MM2 = 0.4
BLANK_INK_RATIO = 0.003
DARK_PAGE_MEAN = 96.0

_PIL_FORMAT: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}
_LABEL: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "pdf": "PDF"}
_SUFFIX_KIND: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".pdf": "PDF",
}
_PDF_HINT = "Print the document to a new PDF or rescan the paper form; if the file is genuine, raise {setting}."
_EOF_PAD = b"\x00\t\n\r\x0c "
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the whole (empty, CRC'd) end chunk
_SIZE_HINT = "Scan in grayscale at 200–400 dpi, or split the batch into several files (or raise JIMU_MAX_FILE_BYTES)."
_PAGES_HINT = "Split the batch into files of fewer pages (or raise JIMU_MAX_PAGES)."
_PIXELS_HINT = "Scan again at 200–400 dpi (600 at most), or raise JIMU_MAX_PAGE_PIXELS."


# =========================================================================== public API
def load_documents(path: Path, settings: Settings | None = None) -> list[Document]:
    """Read ``path`` and split it into documents (one per non-blank page); see the module doc."""
    file_sha, pages = _load(Path(path), settings or get_settings())
    return split_documents(Path(path), file_sha, pages)


def load_pages(path: Path, settings: Settings | None = None) -> list[Page]:
    """Every page of ``path`` (blank ones included), checked against the limits in ``settings``."""
    return _load(Path(path), settings or get_settings())[1]


def split_documents(source: Path, file_sha: str, pages: list[Page]) -> list[Document]:
    """One document per non-blank page; ``BlankPageError`` when every page is blank."""
    if not pages:
        raise EmptyFileError("The file contains no pages.")
    kept = [p for p in pages if not is_blank_page(p)]
    if not kept:
        if len(pages) == 1:
            raise BlankPageError("The page is blank: no printing or writing was found on it.")
        raise BlankPageError(f"All {len(pages)} pages of the file are blank: no printing or writing was found.")
    if len(kept) < len(pages):
        log.debug("dropped %d blank page(s) of %d", len(pages) - len(kept), len(pages))
    single = len(kept) == 1
    return [
        Document(
            source=source,
            sha256=file_sha if single else document_sha256(file_sha, index),
            file_sha256=file_sha,
            index=index,
            pages=[page],
        )
        for index, page in enumerate(kept)
    ]


def document_sha256(file_sha: str, index: int) -> str:
    """The ``Document.sha256`` of document ``index`` of a file that yields several documents."""
    return hashlib.sha256(f"{file_sha}#{index}".encode("ascii")).hexdigest()


def is_blank_page(page: Page) -> bool:
    """True for a separator sheet: no PDF words and almost no ink (see the module doc)."""
    if page.words:
        return False
    return ink_ratio(page.image, page.dpi) < BLANK_INK_RATIO


def ink_ratio(image: NDArray[np.uint8], dpi: float) -> float:
    """Share of the page (border excluded, at 100 dpi) covered by ink; 1.0 for a dark page."""
    img = image
    scale = BLANK_WORK_DPI / dpi if dpi > 0 else 1.0
    work_dpi = dpi
    if scale < 1.0:
        img = np.asarray(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        work_dpi = BLANK_WORK_DPI
    h, w = img.shape[:2]
    m = round(min(h, w) * BLANK_MARGIN)
    core = img[m : h - m, m : w - m]
    if core.size == 0:
        return 0.0
    if float(cv2.mean(core)[0]) < DARK_PAGE_MEAN:
        return 1.0
    k = max(3, round(3.8 / MM_PER_INCH * work_dpi) | 1)  # ~3.8 mm: wider than any pen stroke
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    background = cv2.blur(cv2.dilate(core, kernel), (k, k))
    darker = cv2.subtract(background, core)
    _, mask = cv2.threshold(darker, BLANK_INK_DELTA, 1, cv2.THRESH_BINARY)
    if not cv2.countNonZero(mask):
        return 0.0
    min_area = max(2, round(BLANK_MIN_SPECK_MM2 * (work_dpi / MM_PER_INCH) ** 2))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:n, cv2.CC_STAT_AREA]
    return float(areas[areas >= min_area].sum()) / float(core.size)


def sniff_file_type(data: bytes, suffix: str = "") -> FileKind:
    """The file type from its first bytes; ``UnsupportedFileError`` for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:1024].find(b"%PDF-") != -1:
        return "pdf"
    what, hint = _describe_other(data)
    named = _SUFFIX_KIND.get(suffix.lower())
    note = f", although its name ends in '{suffix.lower()}'" if named else ""
    raise UnsupportedFileError(
        f"The file is not a PNG, JPEG, TIFF or PDF scan: its contents look like {what}{note}.",
        hint=hint,
    )


# =========================================================================== reading
def _load(path: Path, settings: Settings) -> tuple[str, list[Page]]:
    data = _read_capped(path, settings.max_file_bytes)
    file_sha = hashlib.sha256(data).hexdigest()
    kind = sniff_file_type(data, path.suffix)
    named = _SUFFIX_KIND.get(path.suffix.lower())
    if named and named != _LABEL[kind]:
        log.info("file named as %s is a %s; reading it as %s", named, _LABEL[kind], _LABEL[kind])
    if kind == "pdf":
        return file_sha, _load_pdf(data, settings)
    return file_sha, _load_image(data, kind, settings)


def _read_capped(path: Path, max_bytes: int) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise InputFileError(
            "The file is missing: it was moved or deleted before it could be read.",
            hint="Check the inbox folder and drop the scan in again.",
        ) from exc
    except OSError as exc:
        raise InputFileError(
            "The file cannot be opened (no permission, or the disk is unavailable).",
            hint="Check the inbox folder's permissions, then drop the scan in again.",
        ) from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError("This is not a regular file (it is a folder or a device).")
    if st.st_size == 0:
        raise EmptyFileError("The file is empty (0 bytes): the scan or the copy did not finish.")
    if st.st_size > max_bytes:
        raise LimitExceededError(
            f"The file is {_mb(st.st_size)}, larger than the {_mb(max_bytes)} limit for one scan.", hint=_SIZE_HINT
        )
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(
            "The file cannot be read (no permission, or the disk is unavailable).",
            hint="Check the inbox folder's permissions, then drop the scan in again.",
        ) from exc
    if not data:
        raise EmptyFileError("The file is empty (0 bytes): the scan or the copy did not finish.")
    if len(data) > max_bytes:  # it grew after stat()
        raise LimitExceededError(f"The file is larger than the {_mb(max_bytes)} limit for one scan.", hint=_SIZE_HINT)
    return data


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _describe_other(data: bytes) -> tuple[str, str | None]:
    """(what the bytes look like, hint) for a file that is none of the four types."""
    head = data[:16]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image", "Scan the form again as PDF, TIFF, PNG or JPEG (GIF is not accepted)."
    if head.startswith(b"BM"):
        return "a BMP image", "Save the image as PNG, or scan again as PDF, TIFF, PNG or JPEG."
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image", "Save the image as PNG or JPEG, or scan again as PDF, TIFF, PNG or JPEG."
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        return (
            "a HEIC/AVIF photo",
            "Set the camera or scanner app to save JPEG, or convert the photo to JPEG.",
        )
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")):
        return "a JPEG 2000 image", "Save the image as PNG or JPEG, or scan again as PDF, TIFF, PNG or JPEG."
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or an Office document (Word, Excel)", "Print the document to PDF, or scan the paper form."
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an older Office document (Word, Excel)", "Print the document to PDF, or scan the paper form."
    if head.startswith(b"%!PS"):
        return "a PostScript file", "Print the document to PDF, or scan the paper form."
    text = _as_text(data[:4096])
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n").lower()
        if start.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in start[:512]:
            return "a web page (HTML)", "Download or scan the form itself, not the web page it came from."
        if start.startswith(("<?xml", "<svg")):
            return "an XML or SVG file", None
        if start.startswith("{\\rtf"):
            return "an RTF document", "Print the document to PDF, or scan the paper form."
        return "a text file", None
    return "unrecognisable data (the file may be damaged)", None


def _as_text(chunk: bytes) -> str | None:
    for encoding in ("utf-8", "cp932"):
        try:
            text = chunk.decode(encoding)
        except UnicodeDecodeError:
            # the chunk may end inside a multi-byte character
            try:
                text = chunk[:-3].decode(encoding) if len(chunk) > 3 else ""
            except UnicodeDecodeError:
                continue
        if text and sum(ch.isprintable() or ch in "\t\r\n" for ch in text) >= 0.97 * len(text):
            return text
    return None


# =========================================================================== images
@contextmanager
def _decoding(label: str, page_no: int | None = None) -> Iterator[None]:
    """Turn decoder failures into typed errors (naming the page of a multi-page file)."""
    what = f"Page {page_no + 1} of the {label} file" if page_no is not None else f"The {label} file"
    try:
        yield
    except JimuError:
        raise
    except Image.DecompressionBombError as exc:
        raise LimitExceededError(
            f"{what} declares an image far too large to open (hundreds of megapixels); it is not a normal scan.",
            hint=_PIXELS_HINT,
        ) from exc
    except MemoryError as exc:
        raise LimitExceededError(f"{what} needs more memory than is available to open.") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError, struct.error...
        log.debug("%s decoder failed: %s: %s", label, type(exc).__name__, exc)
        raise CorruptFileError(
            f"{what} is damaged or incomplete and cannot be read (it may have been cut off during copying)."
        ) from exc


def _load_image(data: bytes, kind: FileKind, settings: Settings) -> list[Page]:
    label = _LABEL[kind]
    if kind == "png" and data.rfind(_PNG_IEND) == -1:
        raise CorruptFileError("The PNG file is incomplete: its end is missing, so it was probably cut off during copying.")
    with _decoding(label):
        im = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[kind]])
    with im:
        frames = _list_frames(im, kind, settings)
        pages = []
        for page_no, frame in enumerate(frames):
            with _decoding(label, page_no if len(frames) > 1 else None):
                im.seek(frame)
                pages.append(_decode_frame(im, kind, page_no, len(frames), settings))
    return pages


def _list_frames(im: Image.Image, kind: FileKind, settings: Settings) -> list[int]:
    """Frame numbers to read (TIFF thumbnails skipped), with the page-count and size limits."""
    label = _LABEL[kind]
    frames: list[int] = []
    sizes: list[tuple[int, int]] = []
    if kind == "tiff":
        frame = 0
        while True:
            with _decoding(label, len(frames)):
                try:
                    im.seek(frame)
                except EOFError:
                    break
                subfile = int(getattr(im, "tag_v2", {}).get(254, 0) or 0)
            if not subfile & 1:  # bit 0: a reduced-resolution copy of another page
                frames.append(frame)
                sizes.append(im.size)
                if len(frames) > settings.max_pages:
                    raise LimitExceededError(
                        f"The TIFF file has more than {settings.max_pages} pages; "
                        f"Jimu accepts at most {settings.max_pages} pages per file.",
                        hint=_PAGES_HINT,
                    )
            frame += 1
            if frame > 4 * settings.max_pages + 16:
                raise LimitExceededError(
                    f"The TIFF file holds more than {frame - 1} images; "
                    f"Jimu accepts at most {settings.max_pages} pages per file.",
                    hint=_PAGES_HINT,
                )
        if not frames:
            raise EmptyFileError("The TIFF file contains no pages.")
    else:  # PNG (APNG) and JPEG (MPO): only the first image is the page
        frames, sizes = [0], [im.size]
    for page_no, (w, h) in enumerate(sizes):
        _check_pixels(w, h, page_no, len(frames), settings)
    return frames


def _check_pixels(w: int, h: int, page_no: int, pages: int, settings: Settings) -> None:
    where = f"Page {page_no + 1} of the file" if pages > 1 else "The image"
    if w * h > settings.max_page_pixels:
        raise LimitExceededError(
            f"{where} is {w}×{h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
            f"{settings.max_page_pixels / 1e6:.0f}-megapixel limit for one page (an A4 page at 600 dpi is 35).",
            hint=_PIXELS_HINT,
        )
    if min(w, h) < MIN_SIDE_PX:
        raise CorruptFileError(
            f"{where} is only {w}×{h} pixels, too small to be a scanned page "
            f"(at least {MIN_SIDE_PX} pixels on each side are needed)."
        )


def _decode_frame(im: Image.Image, kind: FileKind, page_no: int, pages: int, settings: Settings) -> Page:
    im.load()
    gray = _to_gray(im)
    xdpi, ydpi = _image_dpi(im)
    known = not (math.isnan(xdpi) or math.isnan(ydpi))
    if not known:
        xdpi = ydpi = _a4_dpi(gray.shape[0], gray.shape[1]) or DEFAULT_DPI
    orientation = _orientation(im, kind)
    if orientation != 1:
        gray = _apply_orientation(gray, orientation)
        if orientation >= 5:
            xdpi, ydpi = ydpi, xdpi
    if abs(xdpi - ydpi) > 0.01 * max(xdpi, ydpi):  # non-square pixels: resample to the finer one
        dpi = max(xdpi, ydpi)
        h, w = gray.shape
        new_w, new_h = round(w * dpi / xdpi), round(h * dpi / ydpi)
        _check_pixels(new_w, new_h, page_no, pages, settings)
        gray = np.asarray(cv2.resize(gray, (new_w, new_h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    else:
        dpi = xdpi
    h, w = gray.shape
    return Page(
        image=gray,
        dpi=dpi,
        page_no=page_no,
        words=None,
        width_mm=w / dpi * MM_PER_INCH,
        height_mm=h / dpi * MM_PER_INCH,
        dpi_known=known,
    )


def _a4_dpi(h: int, w: int) -> float | None:
    """The dpi of an image that is an A4 page filling the frame (either orientation), else None."""
    by_w, by_h = min(h, w) / (210.0 / MM_PER_INCH), max(h, w) / (297.0 / MM_PER_INCH)
    return round((by_w + by_h) / 2, 1) if abs(by_w / by_h - 1) < 0.04 else None


INK_CHROMA_LO, INK_CHROMA_HI = 12.0, 48.0  # max−min of RGB: below → neutral (luma), above → coloured (red)


def ink_gray(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Gray of an RGB page that keeps pen ink and drops red ink.

    Neutral pixels (paper, black print, pencil, JPEG noise) get their luma; coloured pixels
    get their red channel: blue/black ballpoint (red channel dark) stays dark, a red seal or
    red/orange printing (red channel bright) becomes light paper.  Between the two chroma
    levels the two are blended, so there is no edge at a seal's rim.
    """
    a = rgb[..., :3]
    luma = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY).astype(np.float32)
    hi = a.max(axis=2).astype(np.float32)
    chroma = hi - a.min(axis=2).astype(np.float32)
    w = np.clip((chroma - INK_CHROMA_LO) / (INK_CHROMA_HI - INK_CHROMA_LO), 0.0, 1.0)
    red = a[..., 0].astype(np.float32)
    out = luma + w * (red - luma)
    return np.asarray(np.clip(out + 0.5, 0, 255), dtype=np.uint8)


def _to_gray(im: Image.Image) -> NDArray[np.uint8]:
    """Writable H×W uint8, 0 = black, alpha flattened onto white."""
    mode = im.mode
    if mode == "L":
        return np.array(im)
    if mode in ("RGB", "YCbCr", "CMYK", "P") and not (mode == "P" and "transparency" in im.info):
        return ink_gray(np.asarray(im.convert("RGB")))
    if mode == "1":
        return np.array(im.convert("L"))
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
        return _flatten_on_white(np.asarray(im.convert("LA")))
    if mode.startswith("I;16"):
        return (np.asarray(im) >> 8).astype(np.uint8)
    if mode == "I":
        arr = np.asarray(im)
        if int(arr.max(initial=0)) <= 255 and int(arr.min(initial=0)) >= 0:
            return arr.astype(np.uint8)
        return (np.clip(arr, 0, 65535) >> 8).astype(np.uint8)
    if mode == "F":
        farr = np.nan_to_num(np.asarray(im, dtype=np.float32))
        top = float(farr.max(initial=0.0))
        factor = 255.0 if 0.0 < top <= 1.0 else 1.0
        return np.clip(farr * factor, 0, 255).astype(np.uint8)
    try:
        return np.array(im.convert("L"))
    except ValueError:  # modes without a direct conversion (LAB, HSV, ...)
        return np.array(im.convert("RGB").convert("L"))


def _flatten_on_white(la: NDArray[np.uint8]) -> NDArray[np.uint8]:
    lum = la[..., 0].astype(np.uint16)
    alpha = la[..., 1].astype(np.uint16)
    ink = (255 - lum) * alpha + 127
    ink //= 255
    return (255 - ink).astype(np.uint8)


def _image_dpi(im: Image.Image) -> tuple[float, float]:
    raw = im.info.get("dpi")
    values: list[float] = []
    if isinstance(raw, tuple | list) and len(raw) == 2:
        for v in raw:
            try:
                f = float(v)
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if math.isfinite(f) and MIN_DPI < f <= MAX_DPI:  # 72 = "unknown" (cameras, editors)
                nearest = round(f)
                values.append(float(nearest) if abs(f - nearest) < 0.05 else f)
            else:
                values.append(math.nan)
    good = [v for v in values if not math.isnan(v)]
    if len(good) == 2:
        return good[0], good[1]
    if len(good) == 1:
        return good[0], good[0]
    return math.nan, math.nan


def _orientation(im: Image.Image, kind: FileKind) -> int:
    try:
        if kind == "tiff":
            value = getattr(im, "tag_v2", {}).get(0x0112, 1)
        else:
            value = im.getexif().get(0x0112, 1)
        o = int(value)
    except Exception:  # a damaged EXIF block is not worth rejecting the scan
        return 1
    return o if 1 <= o <= 8 else 1


def _apply_orientation(a: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """Same result as ``PIL.ImageOps.exif_transpose``, on the gray array."""
    ops: dict[int, Callable[[NDArray[np.uint8]], object]] = {
        2: lambda x: cv2.flip(x, 1),
        3: lambda x: cv2.rotate(x, cv2.ROTATE_180),
        4: lambda x: cv2.flip(x, 0),
        5: lambda x: cv2.transpose(x),
        6: lambda x: cv2.rotate(x, cv2.ROTATE_90_CLOCKWISE),
        7: lambda x: cv2.flip(cv2.transpose(x), -1),
        8: lambda x: cv2.rotate(x, cv2.ROTATE_90_COUNTERCLOCKWISE),
    }
    op = ops.get(orientation)
    return a if op is None else np.asarray(op(a), dtype=np.uint8)


# =========================================================================== PDFs
def _load_pdf(data: bytes, settings: Settings) -> list[Page]:
    if not _has_eof_marker(data):
        raise CorruptFileError(
            "The PDF file is incomplete: its end marker is missing, so it was probably cut off "
            "during scanning, copying or upload."
        )
    pages: list[Page] = []
    try:
        with open_pdf(
            data,
            max_pages=settings.max_pages,
            timeout_s=settings.pdf_timeout_s,
            memory_mb=settings.pdf_memory_mb,
        ) as doc:
            if doc.page_count == 0:
                raise EmptyFileError("The PDF file contains no pages.")
            if doc.page_count > settings.max_pages:
                raise LimitExceededError(
                    f"The PDF has {doc.page_count} pages; Jimu accepts at most {settings.max_pages} pages per file.",
                    hint=_PAGES_HINT,
                )
            dpis = [_pdf_page_dpi(i, w, h, doc.page_count, settings) for i, (w, h) in enumerate(doc.page_sizes)]
            for rp in doc.render(dpis):
                words = None if rp.words is None else [TextWord(*w) for w in rp.words]
                pages.append(
                    Page(
                        image=rp.image,
                        dpi=rp.dpi,
                        page_no=rp.index,
                        words=words,
                        width_mm=rp.width_mm,
                        height_mm=rp.height_mm,
                    )
                )
    except PdfToolError as exc:
        raise _pdf_error(exc, settings) from exc
    return pages


def _has_eof_marker(data: bytes) -> bool:
    end = len(data)
    stop = max(0, end - 1024 * 1024)
    while end > stop and data[end - 1] in _EOF_PAD:
        end -= 1
    return data.rfind(b"%%EOF", max(0, end - 1024), end) != -1


def _pdf_page_dpi(index: int, w_pt: float, h_pt: float, pages: int, settings: Settings) -> float:
    where = f"Page {index + 1} of the PDF" if pages > 1 else "The PDF page"
    if not (math.isfinite(w_pt) and math.isfinite(h_pt)) or w_pt <= 0 or h_pt <= 0:
        raise CorruptFileError(f"{where} has no valid size.")
    w_in, h_in = w_pt / 72.0, h_pt / 72.0
    w_mm, h_mm = w_in * MM_PER_INCH, h_in * MM_PER_INCH
    if min(w_in, h_in) * PDF_DPI < MIN_SIDE_PX:
        raise CorruptFileError(f"{where} is only {w_mm:.1f} × {h_mm:.1f} mm, too small to be a form.")
    dpi = PDF_DPI
    if w_in * h_in * dpi * dpi > settings.max_page_pixels:
        fit = math.sqrt(settings.max_page_pixels / (w_in * h_in))
        if fit < PDF_MIN_DPI:
            raise LimitExceededError(
                f"{where} is {w_mm / 1000:.2f} × {h_mm / 1000:.2f} m, far larger than a paper form; "
                f"it cannot be read within the {settings.max_page_pixels / 1e6:.0f}-megapixel page limit.",
                hint="Scan or export the form itself at A4 or A3 size (or raise JIMU_MAX_PAGE_PIXELS).",
            )
        dpi = math.floor(fit)
        log.info("page %d is %.0f×%.0f mm; rendering it at %g dpi", index + 1, w_mm, h_mm, dpi)
    return dpi


def _pdf_error(exc: PdfToolError, settings: Settings) -> JimuError:
    page = f" (at page {exc.page + 1})" if exc.page is not None else ""
    log.debug("PDF worker: %s", exc)
    if exc.kind == "encrypted":
        return EncryptedFileError("The PDF is protected by a password, so it cannot be opened.")
    if exc.kind == "corrupt":
        return CorruptFileError(f"The PDF file is damaged and cannot be read{page}.")
    if exc.kind == "empty":
        return EmptyFileError("The PDF file contains no pages.")
    if exc.kind == "timeout":
        return LimitExceededError(
            f"The PDF took longer than {settings.pdf_timeout_s:g} seconds to open{page}, so it was stopped. "
            "It is far more complex than a scanned or typed form (for example a deliberately malformed 'PDF bomb').",
            hint=_PDF_HINT.format(setting="JIMU_PDF_TIMEOUT_S"),
        )
    if exc.kind in ("crashed", "memory"):
        return LimitExceededError(
            f"The PDF needed more than the {settings.pdf_memory_mb} MB of memory allowed to open{page}, "
            "or it made the PDF reader fail. It is far more complex than a scanned or typed form "
            "(possibly a deliberately malformed 'PDF bomb').",
            hint=_PDF_HINT.format(setting="JIMU_PDF_MEMORY_MB"),
        )
    if "pypdfium2" in exc.detail or "pdfplumber" in exc.detail:
        return MissingDependencyError(f"The PDF reader (pypdfium2, pdfplumber) is not installed: {exc.detail}")
    return ExternalToolError(f"The PDF reader process failed: {exc.detail}", hint="Try again; if it keeps failing, report it.")
