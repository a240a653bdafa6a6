"""The whole page of a document as a PNG, from the stored original (``Document.original_path``).

The original is read with the ingest stage (PNG/JPEG/TIFF/PDF, same limits as the batch), the
document's page is picked by its sha256 (a feeder file holds several documents), registered onto
its form's template when that works (straight and upright), else shown as scanned, and scaled to
a screen-friendly width.  Only files inside the data dir are ever opened.

Rendering takes a moment (a PDF page, registration), so a page is rendered once and kept: in
memory (:class:`PageCache`) and on disk under ``<data dir>/cache/pages`` (as private as the
originals beside it).  :class:`PageRenderer` renders in one background thread when a document is
opened, and for the next ones in the queue, so the image is usually ready before it is asked for.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PIL import Image

from jimu.errors import JimuError
from jimu.settings import Settings

log = logging.getLogger(__name__)

PAGE_WIDTH_PX = 1240  # ≈150 dpi across an A4 page


def original_file(original_path: str | None, settings: Settings) -> Path | None:
    """The stored original (a storage key, or an old absolute path inside the data folder), or None."""
    from jimu.storage import resolve_original

    return resolve_original(original_path, settings)


def render_page_png(path: Path, sha256: str, form_id: str | None, settings: Settings) -> bytes | None:
    """The document's first page as PNG bytes; None when the original cannot be read."""
    from jimu.extractors.ingest import load_documents

    try:
        docs = load_documents(path, settings)
    except JimuError as e:
        log.info("page image unavailable: %s", type(e).__name__)
        return None
    doc = next((d for d in docs if d.sha256 == sha256), docs[0] if len(docs) == 1 else None)
    if doc is None or not doc.pages:
        return None
    page = doc.pages[0]
    image: np.ndarray = page.image
    if form_id:
        try:
            from jimu.extractors.register import register_page

            image = register_page(page, [form_id]).image
        except Exception as e:  # registration is a nicety here; show the page as scanned
            log.info("page image shown unregistered: %s", type(e).__name__)
    img = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if img.width > PAGE_WIDTH_PX:
        img = img.resize((PAGE_WIDTH_PX, round(img.height * PAGE_WIDTH_PX / img.width)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


class PageCache:
    """A few recently rendered pages (rendering a PDF page or registering takes a moment)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            v = self._items.get(key)
            if v is not None:
                self._items.move_to_end(key)
            return v

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class PageRenderer:
    """Page images rendered once: memory, then disk, then a render (in the background when asked
    ahead with :meth:`prefetch`)."""

    def __init__(self, settings: Settings, memory: PageCache | None = None) -> None:
        self.settings = settings
        self.memory = memory or PageCache()
        self.folder = settings.data_dir / "cache" / "pages"
        # one daemon thread (not a ThreadPoolExecutor, whose threads the interpreter waits for at
        # exit: a render queued ahead must never keep a stopping server or test run alive)
        self._jobs: queue.SimpleQueue[tuple[Future[bytes | None], Callable[[], bytes | None]] | None] = \
            queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="jimu-page", daemon=True)
        self._thread.start()
        self._inflight: dict[str, Future[bytes | None]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(sha256: str, form_id: str | None) -> str:
        return hashlib.sha256(f"{sha256}|{form_id or ''}|{PAGE_WIDTH_PX}".encode()).hexdigest()

    def _disk(self, key: str) -> Path:
        return self.folder / f"{key}.png"

    def _render(self, key: str, path: Path, sha256: str, form_id: str | None) -> bytes | None:
        disk = self._disk(key)
        data: bytes | None
        try:
            data = disk.read_bytes()
        except OSError:
            data = render_page_png(path, sha256, form_id, self.settings)
            if data is not None:
                try:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    tmp = disk.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                    tmp.write_bytes(data)
                    os.replace(tmp, disk)
                except OSError as e:  # a full disk: the page is still shown, only not kept
                    log.info("page image not cached: %s", type(e).__name__)
        if data is not None:
            self.memory.put(key, data)
        return data

    def _future(self, key: str, path: Path, sha256: str, form_id: str | None) -> Future[bytes | None]:
        with self._lock:
            fut = self._inflight.get(key)
            if fut is None:
                fut = Future()
                self._jobs.put((fut, lambda: self._render(key, path, sha256, form_id)))
                self._inflight[key] = fut
                fut.add_done_callback(lambda _f: self._forget(key))
            return fut

    def _forget(self, key: str) -> None:
        with self._lock:
            self._inflight.pop(key, None)

    def prefetch(self, path: Path | None, sha256: str, form_id: str | None) -> None:
        if path is None:
            return
        key = self.key(sha256, form_id)
        if self.memory.get(key) is None and not self._disk(key).exists():
            self._future(key, path, sha256, form_id)

    def get(self, path: Path, sha256: str, form_id: str | None, timeout_s: float = 60.0) -> bytes | None:
        key = self.key(sha256, form_id)
        data = self.memory.get(key)
        if data is not None:
            return data
        return self._future(key, path, sha256, form_id).result(timeout=timeout_s)

    def close(self) -> None:
        self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fut, render = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(render())
            except BaseException as e:  # handed to whoever waits on it
                fut.set_exception(e)
