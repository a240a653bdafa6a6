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

The worker runs :mod:`jimu.extractors.pdf_worker` (as a file, ``runpy``) with ``python -P`` so that it
imports nothing from the project — in particular not ``jimu/extractors/__init__.py`` and whatever that
grows into; what it produces per page is described there.  Messages between the processes are
built-in types only (tuples, lists, str, float); page rasters travel as raw bytes straight into the
parent's numpy buffer.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
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
WordBox = tuple[str, float, float, float, float]  # text, x0, y0, x1, y1 in mm from the top-left (as in pdf_worker)

MAX_JOBS_PER_WORKER = 100
MAX_IDLE_WORKERS = 4
STARTUP_TIMEOUT_S = 60.0
WORKER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pdf_worker.py")  # run as a file


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
                [sys.executable, "-P", "-c", code, WORKER_FILE, str(p2c_r), str(c2p_w), str(memory_mb)],
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
