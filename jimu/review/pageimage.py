"""The whole page of a document as a PNG, from the stored original (``Document.original_path``).

The original is read with the ingest stage (PNG/JPEG/TIFF/PDF, same limits as the batch), the
document's page is picked by its sha256 (a feeder file holds several documents), registered onto
its form's template when that works (straight and upright), else shown as scanned, and scaled to
a screen-friendly width.  Only files inside the data dir are ever opened.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
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
