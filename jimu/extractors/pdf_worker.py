"""The PDF worker process (started by :mod:`jimu.extractors.pdf_tool`): pypdfium2 and pdfplumber, behind
the parent's wall-clock and memory guards.

It runs alone: the parent starts ``python -P`` on this file (``runpy``), so it imports nothing from the
project (not ``jimu/extractors/__init__.py``), and its messages are built-in types only.  That is why
it is one module: a sibling module could only be reached by putting the project on the worker's path.

What the worker produces per page:

* a grayscale (``FPDFBitmap_Gray``) raster of the page as displayed (``/Rotate`` and the
  CropBox applied), form fields drawn, at the dpi the parent asked for — or at the
  embedded image's own resolution when the page is a single full-page scan image whose
  resolution is lower (no point in upsampling a 200-dpi scan to 300 dpi); when the scan
  image maps 1:1 onto the raster its pixels are copied without smoothing;
* the **visible** text layer as words with boxes in millimetres from the top-left of the
  displayed page, in the same frame as the raster.  Words and their positions come from
  pdfplumber (``page.extract_words()``), run here in the worker, so its pure-Python parser
  is under the same wall-clock and memory guards as pdfium.  pdfplumber only looks at a
  page where pdfium found visible text (a scan, with or without a scanner's OCR layer, is
  never parsed twice); text drawn invisibly (render mode 3/7, i.e. a scanner's OCR layer)
  is left out of pdfplumber's characters; and its word boxes are mapped back to PDF user
  space and through pdfium's own page-to-device map, so ``/Rotate`` and CropBox offsets
  put them exactly where the raster shows them.  The values of filled-in AcroForm text
  fields (a form filled in a PDF viewer keeps them in widget annotations, not in the page
  text) are added as one word per field, boxed by the field's rectangle (pdfium).  A page
  whose text cannot be mapped to Unicode (no ``ToUnicode``: >10 % of its characters come
  out as ``(cid:N)``) gets no words, so the page is read from its raster like a scan.
"""

from __future__ import annotations

import io
import math
import os
import re
import unicodedata
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

MM_PER_PT = 25.4 / 72.0
# FPDF_TEXTRENDERMODE_INVISIBLE / _CLIP: text that is never painted (OCR layers)
_INVISIBLE_RENDER_MODES = (3, 7)
_MAX_UNMAPPED_SHARE = 0.10
_MAX_ANNOTS = 5000
WordBox = tuple[str, float, float, float, float]  # text, x0, y0, x1, y1 in mm from the top-left


def _worker_main(fd_in: int, fd_out: int, memory_mb: int) -> None:  # pragma: no cover - runs in the worker
    """Entry point of the worker process (see the module docstring)."""
    rx = Connection(fd_in, writable=False)
    tx = Connection(fd_out, readable=False)
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c
    except Exception as exc:
        tx.send(("fatal", f"cannot import pypdfium2: {type(exc).__name__}: {exc}"))
        return
    try:
        import pdfplumber  # noqa: F401 - imported here so that a missing one fails the start, not a page
    except Exception as exc:
        tx.send(("fatal", f"cannot import pdfplumber: {type(exc).__name__}: {exc}"))
        return
    _limit_address_space(memory_mb)
    tx.send(("ready", os.getpid()))
    while True:
        try:
            msg = rx.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "quit":
            return
        if msg[0] == "open":
            data = rx.recv_bytes()
            try:
                _serve_document(pdfium, pdfium_c, data, int(msg[1]), rx, tx)
            except (EOFError, OSError):
                return
            except MemoryError:
                tx.send(("error", "memory", "out of memory", None))
            del data


def _limit_address_space(memory_mb: int) -> None:  # pragma: no cover - runs in the worker
    if memory_mb <= 0:
        return
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + memory_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass  # not Linux: only the wall-clock guard applies


def _serve_document(
    pdfium: Any, c: Any, data: bytes, max_pages: int, rx: Connection, tx: Connection
) -> None:  # pragma: no cover - runs in the worker
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        tx.send(("error", _load_failure_kind(c, data, getattr(exc, "err_code", None)), str(exc), None))
        return
    text = _TextLayer(data)
    try:
        try:
            pdf.init_forms()  # before any page is loaded, so that filled-in fields are drawn
        except Exception:
            pass
        count = len(pdf)
        sizes: list[tuple[float, float]] = []
        for i in range(count if count <= max_pages else 0):
            try:
                sizes.append(pdf.get_page_size(i))
            except Exception as exc:
                tx.send(("error", "corrupt", f"{type(exc).__name__}: {exc}", i))
                return
        tx.send(("opened", count, sizes))
        msg = rx.recv()
        if msg[0] != "render":
            return
        for index, max_dpi in enumerate(msg[1]):
            try:
                header, bitmap = _render_page(pdfium, c, pdf, text, index, float(max_dpi))
            except MemoryError:
                tx.send(("error", "memory", "out of memory", index))
                return
            except Exception as exc:
                tx.send(("error", "corrupt", f"{type(exc).__name__}: {exc}", index))
                return
            try:
                tx.send(header)
                tx.send_bytes(bitmap.buffer)
            finally:
                bitmap.close()
        tx.send(("done",))
    finally:
        text.close()
        pdf.close()


def _load_failure_kind(c: Any, data: bytes, code: int | None) -> str:  # pragma: no cover - worker
    """Why pdfium refused the file: ``encrypted``, ``empty`` (no pages) or ``corrupt``.

    pdfium's last-error code is not reset between documents (a PDF without pages fails
    without setting one), so it is cross-checked with pypdf, imported only on this path.
    """
    encrypted: bool | None = None
    pages: int | None = None
    try:
        import io

        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = bool(reader.is_encrypted)
        if not encrypted:
            pages = len(reader.pages)
    except Exception:
        pass
    if code in (c.FPDF_ERR_PASSWORD, c.FPDF_ERR_SECURITY) and encrypted is not False:
        return "encrypted"
    if encrypted:  # pdfium could not open it and pypdf says it is encrypted
        return "encrypted"
    if pages == 0:
        return "empty"
    return "corrupt"


def _render_page(
    pdfium: Any, c: Any, pdf: Any, text: _TextLayer, index: int, max_dpi: float
) -> tuple[tuple[Any, ...], Any]:  # pragma: no cover - worker
    page = pdf[index]
    try:
        w_pt, h_pt = page.get_size()
        dpi = max_dpi
        native = _native_image_dpi(c, page, w_pt, h_pt)
        if native is not None and 72.0 <= native < dpi:
            dpi = native
        flags = c.FPDF_ANNOT  # a Gray bitmap gets luma anyway; FPDF_GRAYSCALE only makes it 3× slower
        if native is not None and dpi == native:  # scan pixels map 1:1: copy them, do not resample
            flags |= c.FPDF_RENDER_NO_SMOOTHIMAGE
        width_mm, height_mm = w_pt * MM_PER_PT, h_pt * MM_PER_PT
        to_mm = _page_to_mm(c, page, w_pt, h_pt)
        words = text.words(index, to_mm) if _has_visible_text(c, page) else None
        fields = _form_field_words(c, page, pdf.formenv, to_mm) if pdf.formenv else []
        if fields:
            words = (words or []) + fields
        if words is not None:
            words = [w for w in words if 0.0 <= (w[1] + w[3]) / 2 <= width_mm and 0.0 <= (w[2] + w[4]) / 2 <= height_mm]
        width = max(1, round(w_pt * dpi / 72.0))
        height = max(1, round(h_pt * dpi / 72.0))
        bitmap = pdfium.PdfBitmap.new_native(width, height, c.FPDFBitmap_Gray)
        bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
        c.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0, flags)
        if page.formenv:
            c.FPDF_FFLDraw(page.formenv, bitmap, page, 0, 0, width, height, 0, flags)
        header = ("page", index, height, width, dpi, words or None, width_mm, height_mm)
        return header, bitmap
    finally:
        page.close()


def _native_image_dpi(c: Any, page: Any, w_pt: float, h_pt: float) -> float | None:  # pragma: no cover
    """Resolution of the scan image when the page is one full-page image (plus OCR text)."""
    count = c.FPDFPage_CountObjects(page)
    if count <= 0 or count > 64:
        return None
    image = None
    for k in range(count):
        obj = c.FPDFPage_GetObject(page, k)
        kind = c.FPDFPageObj_GetType(obj)
        if kind == c.FPDF_PAGEOBJ_IMAGE:
            if image is not None:
                return None
            image = obj
        elif kind == c.FPDF_PAGEOBJ_TEXT:
            if c.FPDFTextObj_GetTextRenderMode(obj) not in _INVISIBLE_RENDER_MODES:
                return None
        else:
            return None
    if image is None:
        return None
    import ctypes

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    if not c.FPDFPageObj_GetBounds(image, left, bottom, right, top):
        return None
    if (right.value - left.value) * (top.value - bottom.value) < 0.9 * w_pt * h_pt:
        return None
    meta = c.FPDF_IMAGEOBJ_METADATA()
    if not c.FPDFImageObj_GetImageMetadata(image, page, meta):
        return None
    dpi = max(float(meta.horizontal_dpi), float(meta.vertical_dpi))
    if not math.isfinite(dpi) or dpi <= 0:
        return None
    nearest = round(dpi)
    return float(nearest) if abs(dpi - nearest) < 0.05 else dpi


def _page_to_mm(
    c: Any, page: Any, w_pt: float, h_pt: float
) -> Callable[[float, float], tuple[float, float]]:  # pragma: no cover - runs in the worker
    """PDF user space → mm from the top-left of the displayed page (``/Rotate``, CropBox).

    pdfium's own ``FPDF_PageToDevice`` (the mapping its renderer uses) at 1/64 pt, sampled
    at three points to get the affine map.
    """
    import ctypes

    scale = 64.0
    size_x, size_y = max(1, round(w_pt * scale)), max(1, round(h_pt * scale))
    dx, dy = ctypes.c_int(), ctypes.c_int()

    def dev(x: float, y: float) -> tuple[float, float]:
        c.FPDF_PageToDevice(page, 0, 0, size_x, size_y, 0, x, y, dx, dy)
        return float(dx.value), float(dy.value)

    ox, oy = dev(0.0, 0.0)
    ax, ay = dev(1000.0, 0.0)
    bx, by = dev(0.0, 1000.0)
    k = MM_PER_PT / scale
    m00, m01, m02 = (ax - ox) / 1000.0 * k, (bx - ox) / 1000.0 * k, ox * k
    m10, m11, m12 = (ay - oy) / 1000.0 * k, (by - oy) / 1000.0 * k, oy * k

    def to_mm(x: float, y: float) -> tuple[float, float]:
        return m00 * x + m01 * y + m02, m10 * x + m11 * y + m12

    return to_mm


def _box_mm(
    to_mm: Callable[[float, float], tuple[float, float]], left: float, bottom: float, right: float, top: float
) -> tuple[float, float, float, float]:
    xa, ya = to_mm(left, top)
    xb, yb = to_mm(right, bottom)
    return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)


def _has_visible_text(c: Any, page: Any) -> bool:  # pragma: no cover - runs in the worker
    """Does pdfium see a character of visible text (not a scanner's invisible OCR layer) on the page?"""
    textpage = c.FPDFText_LoadPage(page)
    if not textpage:
        return False
    try:
        for k in range(c.FPDFText_CountChars(textpage)):
            code = c.FPDFText_GetUnicode(textpage, k)
            if code <= 0x20 or c.FPDFText_IsGenerated(textpage, k) == 1:
                continue
            obj = c.FPDFText_GetTextObject(textpage, k)
            if not obj or c.FPDFTextObj_GetTextRenderMode(obj) not in _INVISIBLE_RENDER_MODES:
                return True
        return False
    finally:
        c.FPDFText_ClosePage(textpage)


_CID = re.compile(r"\(cid:\d+\)")
# Which way text written left to right, in lines top to bottom, runs on the displayed page turned by /Rotate
# (pdfplumber orders a word's characters, and its words, in its own, displayed frame): upside down at 180°,
# down the page at 90° and up it at 270° (there pdfplumber sees the characters as not upright).
_WORD_DIRECTIONS: dict[int, dict[str, str]] = {
    90: {"char_dir_rotated": "ttb", "line_dir_rotated": "rtl"},
    180: {"char_dir": "rtl", "line_dir": "btt"},
    270: {"char_dir_rotated": "btt", "line_dir_rotated": "ltr"},
}


class _TextLayer:
    """The document's text layer through pdfplumber, opened on the first page that has visible text."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pdf: Any = None

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None

    def words(
        self, index: int, to_mm: Callable[[float, float], tuple[float, float]]
    ) -> list[WordBox] | None:  # pragma: no cover - runs in the worker
        """Page ``index``'s visible words, boxed in mm (``to_mm``: pdfium's user space → mm), or None."""
        import pdfplumber

        try:
            if self._pdf is None:
                self._pdf = pdfplumber.open(io.BytesIO(self._data))
            page = self._pdf.pages[index]
            page._layout = _visible_layout(page)  # what pdfplumber's own Page.layout would build, less invisible text
            chars = [ch for ch in page.chars if not ch["text"].isspace()]
            if not chars or sum(1 for ch in chars if _CID.search(ch["text"])) > _MAX_UNMAPPED_SHARE * len(chars):
                return None
            found = page.extract_words(**_WORD_DIRECTIONS.get(page.rotation, {}))
            to_user = _plumber_to_user(page)
        except MemoryError:
            raise
        except Exception:  # pdfminer could not read what pdfium could: the page is read from its raster
            return None
        words: list[WordBox] = []
        for w in found:
            text = "".join(ch for ch in _CID.sub("\ufffd", w["text"]) if unicodedata.category(ch) not in ("Cc", "Cs", "Cf"))
            if not text.strip():
                continue
            xa, ya = to_mm(*to_user(float(w["x0"]), float(w["top"])))
            xb, yb = to_mm(*to_user(float(w["x1"]), float(w["bottom"])))
            words.append((text, min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)))
        return words or None


def _visible_layout(page: Any) -> Any:  # pragma: no cover - runs in the worker
    """pdfminer's layout of a pdfplumber page, without characters drawn in an invisible render mode."""
    from pdfminer.pdfinterp import PDFPageInterpreter
    from pdfplumber.page import PDFPageAggregatorWithMarkedContent

    class VisibleText(PDFPageAggregatorWithMarkedContent):
        hiding = False

        def render_string(self, textstate: Any, seq: Any, ncs: Any, graphicstate: Any) -> None:
            self.hiding = textstate.render in _INVISIBLE_RENDER_MODES
            try:
                super().render_string(textstate, seq, ncs, graphicstate)
            finally:
                self.hiding = False

        def render_char(self, *args: Any, **kwargs: Any) -> float:
            adv = float(super().render_char(*args, **kwargs))
            if self.hiding and self.cur_item._objs:  # the advance still moves the text position
                self.cur_item._objs.pop()
            return adv

    device = VisibleText(page.pdf.rsrcmgr, pageno=page.page_number, laparams=page.pdf.laparams)
    PDFPageInterpreter(page.pdf.rsrcmgr, device).process_page(page.page_obj)
    return device.get_result()


def _plumber_to_user(page: Any) -> Callable[[float, float], tuple[float, float]]:
    """pdfplumber's page coordinates (x, top; points) → PDF user space.

    pdfplumber's frame is pdfminer's device space (the page turned by ``/Rotate``, with the
    MediaBox's corner at the origin, y up) flipped to y down and shifted by its ``mediabox``;
    undoing both, then pdfminer's rotation, gives the user-space point that pdfium maps.
    """
    x0, y0, x1, y1 = (float(v) for v in page.page_obj.mediabox)
    rotate = int(page.page_obj.rotate) % 360
    left, top0, height = float(page.mediabox[0]), float(page.mediabox[1]), float(page.height)

    def to_user(x: float, top: float) -> tuple[float, float]:
        dx, dy = x - left, height - (top - top0)  # pdfminer's device space
        if rotate == 90:  # ctm (0, -1, 1, 0, -y0, x1)
            return x1 - dy, dx + y0
        if rotate == 180:  # ctm (-1, 0, 0, -1, x1, y1)
            return x1 - dx, y1 - dy
        if rotate == 270:  # ctm (0, 1, -1, 0, y1, -x0)
            return dy + x0, y1 - dx
        return dx + x0, dy + y0  # ctm (1, 0, 0, 1, -x0, -y0)

    return to_user


def _form_field_words(
    c: Any, page: Any, formenv: Any, to_mm: Callable[[float, float], tuple[float, float]]
) -> list[WordBox]:  # pragma: no cover
    """One word per filled-in, visible AcroForm text field (or combo box), boxed by its widget."""
    import ctypes

    words: list[WordBox] = []
    count = min(c.FPDFPage_GetAnnotCount(page), _MAX_ANNOTS)
    hidden = c.FPDF_ANNOT_FLAG_HIDDEN | c.FPDF_ANNOT_FLAG_NOVIEW
    for k in range(count):
        annot = c.FPDFPage_GetAnnot(page, k)
        if not annot:
            continue
        try:
            if c.FPDFAnnot_GetSubtype(annot) != c.FPDF_ANNOT_WIDGET or c.FPDFAnnot_GetFlags(annot) & hidden:
                continue
            if c.FPDFAnnot_GetFormFieldType(formenv, annot) not in (
                c.FPDF_FORMFIELD_TEXTFIELD,
                c.FPDF_FORMFIELD_COMBOBOX,
            ):
                continue
            size = c.FPDFAnnot_GetFormFieldValue(formenv, annot, None, 0)
            if size <= 2:
                continue
            buf = ctypes.create_string_buffer(size)
            c.FPDFAnnot_GetFormFieldValue(formenv, annot, ctypes.cast(buf, ctypes.POINTER(c.FPDF_WCHAR)), size)
            value = " ".join(buf.raw[: size - 2].decode("utf-16-le", errors="replace").split())
            rect = c.FS_RECTF()
            if not value or not c.FPDFAnnot_GetRect(annot, rect):
                continue
            x0, y0, x1, y1 = _box_mm(to_mm, rect.left, rect.bottom, rect.right, rect.top)
            words.append((value, x0, y0, x1, y1))
        finally:
            c.FPDFPage_CloseAnnot(annot)
    return words
