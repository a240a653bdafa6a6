"""PDF files into pages, through the killable worker (:mod:`jimu.extractors.pdf_tool`): the end marker, the
dpi of each page within the pixel limit, and the worker's failures as errors a clerk can act on (see "PDFs"
in :mod:`jimu.extractors.ingest`)."""

from __future__ import annotations

import logging
import math

from jimu.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    ExternalToolError,
    JimuError,
    LimitExceededError,
    MissingDependencyError,
)
from jimu.extractors.ingest.common import MIN_SIDE_PX, MM_PER_INCH, PAGES_HINT
from jimu.extractors.pdf_tool import PdfToolError, open_pdf
from jimu.extractors.types import WORK_DPI, Page, TextWord
from jimu.settings import Settings

log = logging.getLogger(__name__)

PDF_DPI = float(WORK_DPI)
PDF_MIN_DPI = 150.0
_PDF_HINT = "Print the document to a new PDF or rescan the paper form; if the file is genuine, raise {setting}."
_EOF_PAD = b"\x00\t\n\r\x0c "


def load_pdf_pages(data: bytes, settings: Settings) -> list[Page]:
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
                    hint=PAGES_HINT,
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
