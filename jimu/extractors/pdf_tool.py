"""Open and rasterise PDFs (pypdfium2) and read their text layer (pdfplumber) in a worker process that can be killed.

Why a process: pdfium is not thread-safe, its C calls cannot be interrupted, and a small
hostile PDF (a "PDF bomb": thousands of nested form XObjects, a flate-compressed content
stream of hundreds of megabytes, ...) can keep one busy for minutes while it allocates
gigabytes.  A thread with a timeout would leave that work running in the background; a
worker process is simply killed.  So all PDF parsing (page tree, text layer, form fields)
and all rasterising happens in the worker, under two guards:

* **wall clock** — the parent waits at most ``timeout_s`` for the document to open, and
  again at most ``timeout_s`` for each page; on overrun it kills the worker (SIGKILL);
* **memory** — the worker caps its own address space (``RLIMIT_AS``) at what it uses
  after start-up plus ``memory_mb``; pdfium then fails an allocation (it usually aborts)
  instead of driving the machine into swap; the parent sees the worker die.

Either way the caller gets a :class:`PdfToolError` (``kind`` = ``"timeout"`` or
``"crashed"``) and the next PDF gets a fresh worker.  Workers are reused between files
(a small idle pool, one worker per concurrent caller), which saves their start-up
(~0.15 s); a worker is retired after :data:`MAX_JOBS_PER_WORKER` documents.

The worker runs this very file (``runpy``) with ``python -P`` so that it imports nothing
from the project — in particular not ``jimu/extractors/__init__.py`` and whatever that grows
into.  Messages between the processes are built-in types only (tuples, lists, str,
float); page rasters travel as raw bytes straight into the parent's numpy buffer.

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

import atexit
import io
import math
import os
import re
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # numpy is only needed in the parent; the worker stays lean
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "MAX_JOBS_PER_WORKER",
    "PdfErrorKind",
    "PdfSession",
    "PdfToolError",
    "RenderedPdfPage",
    "WordBox",
    "open_pdf",
    "shutdown_workers",
]

PdfErrorKind = Literal["encrypted", "corrupt", "empty", "timeout", "crashed", "memory", "worker"]
WordBox = tuple[str, float, float, float, float]  # text, x0, y0, x1, y1 in mm from the top-left

MM_PER_PT = 25.4 / 72.0
MAX_JOBS_PER_WORKER = 100
MAX_IDLE_WORKERS = 4
STARTUP_TIMEOUT_S = 60.0
# FPDF_TEXTRENDERMODE_INVISIBLE / _CLIP: text that is never painted (OCR layers)
_INVISIBLE_RENDER_MODES = (3, 7)
_MAX_UNMAPPED_SHARE = 0.10
_MAX_ANNOTS = 5000


class PdfToolError(Exception):
    """The worker could not do its job. ``detail`` is technical (for logs), not for clerks."""

    def __init__(self, kind: PdfErrorKind, detail: str = "", page: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}" + (f" (page index {page})" if page is not None else ""))
        self.kind: PdfErrorKind = kind
        self.detail = detail
        self.page = page


@dataclass(frozen=True)
class RenderedPdfPage:
    index: int  # 0-based page number in the PDF
    image: NDArray[np.uint8]  # H×W grayscale, 0 = black, writable
    dpi: float
    words: list[WordBox] | None  # None: no visible text layer and no filled form fields
    width_mm: float
    height_mm: float


# =========================================================================== parent side
class _Worker:
    """One worker process and the two pipes to it."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.jobs = 0
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        code = (
            "import runpy, sys; "
            "runpy.run_path(sys.argv[1], run_name='__jimu_pdf_worker__')['_worker_main']"
            "(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))"
        )
        env = dict(os.environ)  # the worker inherits the environment, with thread limits for its libraries
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-c", code, os.path.abspath(__file__), str(p2c_r), str(c2p_w), str(memory_mb)],
                pass_fds=(p2c_r, c2p_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError as exc:
            for fd in (p2c_r, p2c_w, c2p_r, c2p_w):
                os.close(fd)
            raise PdfToolError("worker", f"cannot start the PDF worker: {exc}") from exc
        os.close(p2c_r)
        os.close(c2p_w)
        self.tx = Connection(p2c_w, readable=False)
        self.rx = Connection(c2p_r, writable=False)
        try:
            msg = self.recv(STARTUP_TIMEOUT_S)
        except PdfToolError as exc:
            self.kill()
            raise PdfToolError("worker", f"the PDF worker did not start: {exc.detail}") from exc
        if msg[0] != "ready":
            self.kill()
            raise PdfToolError("worker", f"the PDF worker did not start: {msg[1] if len(msg) > 1 else msg}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, msg: tuple[Any, ...]) -> None:
        try:
            self.tx.send(msg)
        except OSError as exc:  # BrokenPipeError: the worker died
            raise PdfToolError("crashed", self._death_note(f"{exc}")) from exc

    def send_bytes(self, data: bytes) -> None:
        try:
            self.tx.send_bytes(data)
        except OSError as exc:
            raise PdfToolError("crashed", self._death_note(f"{exc}")) from exc

    def _wait(self, timeout_s: float) -> None:
        try:
            ready = self.rx.poll(timeout_s)
        except OSError as exc:
            raise PdfToolError("crashed", self._death_note(f"{exc}")) from exc
        if not ready:
            raise PdfToolError("timeout", f"no answer within {timeout_s:g} s")

    def recv(self, timeout_s: float) -> tuple[Any, ...]:
        self._wait(timeout_s)
        try:
            msg = self.rx.recv()
        except (EOFError, OSError) as exc:
            raise PdfToolError("crashed", self._death_note("the worker closed its pipe")) from exc
        if not isinstance(msg, tuple) or not msg:
            raise PdfToolError("worker", f"unexpected message from the PDF worker: {type(msg).__name__}")
        return msg

    def recv_into(self, buf: Any, nbytes: int, timeout_s: float) -> None:
        self._wait(timeout_s)
        try:
            got = self.rx.recv_bytes_into(buf)
        except (EOFError, OSError) as exc:
            raise PdfToolError("crashed", self._death_note("the worker closed its pipe")) from exc
        if got != nbytes:
            raise PdfToolError("worker", f"page raster has {got} bytes, expected {nbytes}")

    def _death_note(self, what: str) -> str:
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return what
        if code < 0:
            return f"{what}; the worker was ended by signal {-code}"
        return f"{what}; the worker exited with status {code}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed process always goes
            pass
        self._close_pipes()

    def close(self) -> None:
        """Ask an idle worker to exit (it also exits on EOF); kill it if it lingers."""
        try:
            self.tx.send(("quit",))
        except OSError:
            pass
        self._close_pipes()
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_pipes(self) -> None:
        for conn in (self.tx, self.rx):
            try:
                conn.close()
            except OSError:
                pass


class _Pool:
    """Idle workers, per process (a forked child starts with an empty pool)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.pid = os.getpid()

    def acquire(self, memory_mb: int) -> _Worker:
        with self.lock:
            if self.pid != os.getpid():  # we were forked: those workers belong to the parent
                self.idle = []
                self.pid = os.getpid()
            while self.idle:
                worker = self.idle.pop()
                if worker.memory_mb == memory_mb and worker.alive():
                    return worker
                worker.kill()
        return _Worker(memory_mb)

    def release(self, worker: _Worker) -> None:
        worker.jobs += 1
        with self.lock:
            keep = (
                self.pid == os.getpid()
                and worker.alive()
                and worker.jobs < MAX_JOBS_PER_WORKER
                and len(self.idle) < MAX_IDLE_WORKERS
            )
            if keep:
                self.idle.append(worker)
                return
        worker.close()

    def shutdown(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
            own = self.pid == os.getpid()
        if own:
            for worker in idle:
                worker.close()


_POOL = _Pool()
atexit.register(_POOL.shutdown)


def shutdown_workers() -> None:
    """Stop the idle PDF workers (they are started again on demand)."""
    _POOL.shutdown()


class PdfSession:
    """An open PDF in a worker. Use :func:`open_pdf`; always close it (``with``)."""

    def __init__(self, worker: _Worker, timeout_s: float, page_count: int, page_sizes: list[tuple[float, float]]) -> None:
        self._worker: _Worker | None = worker
        self._timeout_s = timeout_s
        self._state: Literal["opened", "rendering", "finished"] = "opened"
        self.page_count = page_count
        #: (width, height) in points of each page as displayed; empty when the page count
        #: exceeded ``max_pages`` (nothing more was looked at)
        self.page_sizes = page_sizes

    def __enter__(self) -> PdfSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def render(self, dpis: Sequence[float]) -> Iterator[RenderedPdfPage]:
        """Rasterise every page, page ``i`` at most at ``dpis[i]``; yields pages in order."""
        import numpy as np

        worker = self._worker
        if worker is None or self._state != "opened":
            raise RuntimeError("render() can be called once, on an open session")
        if len(dpis) != self.page_count:
            raise ValueError(f"need one dpi per page ({self.page_count}), got {len(dpis)}")
        self._state = "rendering"
        worker.send(("render", [float(d) for d in dpis]))
        for expected in range(self.page_count):
            msg = self._recv(expected)
            if msg[0] == "error":
                self._finish(reuse=msg[1] != "memory")  # after a MemoryError, start afresh
                raise PdfToolError(msg[1], msg[2], msg[3])
            if msg[0] != "page" or msg[1] != expected:
                raise PdfToolError("worker", f"unexpected message {msg[0]!r} for page index {expected}")
            _, index, height, width, dpi, words, width_mm, height_mm = msg
            image = np.empty((height, width), dtype=np.uint8)
            try:
                worker.recv_into(image.reshape(-1), height * width, self._timeout_s)
            except PdfToolError as exc:
                exc.page = index
                raise
            yield RenderedPdfPage(
                index=index,
                image=image,
                dpi=float(dpi),
                words=None if words is None else [_word(w) for w in words],
                width_mm=float(width_mm),
                height_mm=float(height_mm),
            )
        msg = self._recv(None)
        if msg[0] != "done":
            raise PdfToolError("worker", f"unexpected message {msg[0]!r} after the last page")
        self._finish(reuse=True)

    def _recv(self, page: int | None) -> tuple[Any, ...]:
        assert self._worker is not None
        try:
            return self._worker.recv(self._timeout_s)
        except PdfToolError as exc:
            exc.page = page
            raise

    def _finish(self, reuse: bool) -> None:
        worker, self._worker = self._worker, None
        self._state = "finished"
        if worker is None:
            return
        if reuse:
            _POOL.release(worker)
        else:
            worker.kill()

    def close(self) -> None:
        worker = self._worker
        if worker is None:
            return
        if self._state == "opened":  # never rendered: let the worker drop the document
            try:
                worker.send(("close",))
            except PdfToolError:
                self._finish(reuse=False)
                return
            self._finish(reuse=True)
        else:  # interrupted half-way (timeout, crash, caller gave up): the worker is out of step
            self._finish(reuse=False)


def open_pdf(data: bytes, *, max_pages: int, timeout_s: float, memory_mb: int) -> PdfSession:
    """Open ``data`` in a worker; page sizes are fetched only when ``page_count <= max_pages``.

    Raises :class:`PdfToolError` (encrypted, corrupt, empty, timeout, crashed, memory, worker).
    """
    worker = _POOL.acquire(memory_mb)
    try:
        worker.send(("open", int(max_pages)))
        worker.send_bytes(data)
        msg = worker.recv(timeout_s)
    except BaseException:
        worker.kill()
        raise
    if msg[0] == "error":
        if msg[1] == "memory":
            worker.kill()
        else:
            _POOL.release(worker)
        raise PdfToolError(msg[1], msg[2], msg[3])
    if msg[0] != "opened":
        worker.kill()
        raise PdfToolError("worker", f"unexpected message {msg[0]!r} from the PDF worker")
    sizes = [(float(w), float(h)) for w, h in msg[2]]
    return PdfSession(worker, timeout_s, int(msg[1]), sizes)


def _word(w: Sequence[Any]) -> WordBox:
    return str(w[0]), float(w[1]), float(w[2]), float(w[3]), float(w[4])


# =========================================================================== worker side
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
