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

The parts: :mod:`~jimu.extractors.ingest.files` (reading, limits, the type), ``images``, ``pdfs``,
``blank`` (separator sheets) and ``common``.

Speed (one core, load + split): a 300-dpi A4 office-quality scan as PNG (2.7 MB, noisy)
~85 ms, as JPEG ~20 ms; a page of a scanned PDF ~35 ms, of a typed PDF ~12 ms (plus
~60 ms once per process to start the PDF worker).  Decoded images are copied once,
into a writable numpy array (Pillow only exports read-only buffers; a few ms); PDF
rasters go from the worker's pipe straight into the page's array.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from jimu.errors import BlankPageError, EmptyFileError
from jimu.extractors.ingest.blank import BLANK_INK_RATIO, ink_ratio, is_blank_page
from jimu.extractors.ingest.common import FileKind
from jimu.extractors.ingest.files import read_file, sniff_file_type
from jimu.extractors.ingest.images import DEFAULT_DPI, ink_gray
from jimu.extractors.types import Document, Page
from jimu.settings import Settings, get_settings

__all__ = [
    "BLANK_INK_RATIO",
    "DEFAULT_DPI",
    "FileKind",
    "document_sha256",
    "ink_gray",
    "ink_ratio",
    "is_blank_page",
    "load_documents",
    "load_pages",
    "sniff_file_type",
    "split_documents",
]

log = logging.getLogger(__name__)


def load_documents(path: Path, settings: Settings | None = None) -> list[Document]:
    """Read ``path`` and split it into documents (one per non-blank page); see the module doc."""
    file_sha, pages = read_file(Path(path), settings or get_settings())
    return split_documents(Path(path), file_sha, pages)


def load_pages(path: Path, settings: Settings | None = None) -> list[Page]:
    """Every page of ``path`` (blank ones included), checked against the limits in ``settings``."""
    return read_file(Path(path), settings or get_settings())[1]


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
