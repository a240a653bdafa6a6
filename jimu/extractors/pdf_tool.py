"""Open and rasterise PDFs with pypdfium2 in a separate worker process that can be killed.

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
  displayed page, in the same frame as the raster.  Words come from pdfium's text page
  (pdfium's own word/line breaks, plus a gap check), not from pdfplumber: pdfium gets
  ``/Rotate`` and CropBox offsets right for free, tells invisible text (render mode 3/7,
  i.e. a scanner's OCR layer) apart from real text, and keeps the pure-Python pdfminer
  parser away from hostile files.  The values of filled-in AcroForm text fields (a form
  filled in a PDF viewer keeps them in widget annotations, not in the page text) are
  added as one word per field, boxed by the field's rectangle.  A page whose text cannot
  be mapped to Unicode (no ``ToUnicode``, >10 % unmapped characters) gets no words, so
  the page is read from its raster like a scan.
"""

from __future__ import annotations

import atexit
import math
import os
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
        env = dict(os.environ)
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
                header, bitmap = _render_page(pdfium, c, pdf, index, float(max_dpi))
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
    pdfium: Any, c: Any, pdf: Any, index: int, max_dpi: float
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
        words = _text_words(c, page, to_mm)
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


def _adjacent(a: tuple[float, float, float, float], b: tuple[float, float, float, float], direction: str | None) -> str | None:
    """Direction (``"h"``/``"v"``) in which char box ``b`` continues the word ending in ``a``."""
    ah, bh = a[3] - a[1], b[3] - b[1]
    aw, bw = a[2] - a[0], b[2] - b[0]
    # text may run either way along an axis (a page turned by /Rotate 180 or 270)
    if direction != "v":
        overlap = min(a[3], b[3]) - max(a[1], b[1])
        gap = max(b[0] - a[2], a[0] - b[2])
        if overlap >= 0.5 * min(ah, bh) and gap <= 0.3 * max(ah, bh):
            return "h"
    if direction != "h":
        overlap = min(a[2], b[2]) - max(a[0], b[0])
        gap = max(b[1] - a[3], a[1] - b[3])
        if overlap >= 0.5 * min(aw, bw) and gap <= 0.3 * max(aw, bw):
            return "v"
    return None


def _text_words(
    c: Any, page: Any, to_mm: Callable[[float, float], tuple[float, float]]
) -> list[WordBox] | None:  # pragma: no cover
    """Words of the visible text, or None when there is none (or it is not mapped to Unicode)."""
    textpage = c.FPDFText_LoadPage(page)
    if not textpage:
        return None
    try:
        count = c.FPDFText_CountChars(textpage)
        rect = c.FS_RECTF()
        words: list[WordBox] = []
        chars: list[str] = []
        box: list[float] = []
        last: tuple[float, float, float, float] | None = None
        direction: str | None = None
        visible = unmapped = 0

        def flush() -> None:
            nonlocal last, direction
            if chars:
                words.append(("".join(chars), box[0], box[1], box[2], box[3]))
            chars.clear()
            box.clear()
            last, direction = None, None

        i = 0
        while i < count:
            code = c.FPDFText_GetUnicode(textpage, i)
            k = i
            i += 1
            if c.FPDFText_IsGenerated(textpage, k) == 1:
                flush()
                continue
            if 0xD800 <= code <= 0xDBFF and i < count:
                low = c.FPDFText_GetUnicode(textpage, i)
                if 0xDC00 <= low <= 0xDFFF:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 1
            if code <= 0 or code > 0x10FFFF:
                flush()
                continue
            ch = chr(code)
            if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs", "Cf"):
                flush()
                continue
            obj = c.FPDFText_GetTextObject(textpage, k)
            if obj and c.FPDFTextObj_GetTextRenderMode(obj) in _INVISIBLE_RENDER_MODES:
                flush()
                continue
            visible += 1
            if c.FPDFText_HasUnicodeMapError(textpage, k) == 1:
                unmapped += 1
            if not c.FPDFText_GetLooseCharBox(textpage, k, rect):
                flush()
                continue
            cb = _box_mm(to_mm, rect.left, rect.bottom, rect.right, rect.top)
            if last is not None:
                step = _adjacent(last, cb, direction)
                if step is None:
                    flush()
                else:
                    direction = step
            if not chars:
                box[:] = list(cb)
            else:
                box[:] = [min(box[0], cb[0]), min(box[1], cb[1]), max(box[2], cb[2]), max(box[3], cb[3])]
            chars.append(ch)
            last = cb
        flush()
    finally:
        c.FPDFText_ClosePage(textpage)
    if not words or unmapped > _MAX_UNMAPPED_SHARE * visible:
        return None
    return words


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
