"""The CPU-bound part, run in worker processes: one file in, plain picklable results out.

Every failure of a file or a document becomes an error code and a clerk-readable message;
nothing raised here can stop a batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jimu.errors import InputFileError, JimuError
from jimu.pipeline import memory

log = logging.getLogger("jimu.pipeline")


@dataclass
class FieldOut:
    field_id: str
    kind: str
    value: Any
    confidence: float
    problem: str | None
    snapped_from: str | None
    source: str
    crop: np.ndarray | None  # the field's gray image; the routing process encodes it (``crop_png``)

    @property
    def crop_png(self) -> bytes | None:
        """The crop as PNG, for the store. Encoded here, in the routing process, not in the OCR
        process: it is about a seventh of a form's reading time, which the OCR process, the one
        a worker waits on, no longer spends."""
        return encode_crop(self.crop)


@dataclass
class DocOut:
    index: int
    sha256: str
    page_count: int
    form_id: str | None = None
    form_version: int | None = None
    fields: list[FieldOut] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    seconds: float = 0.0


@dataclass
class FileOut:
    path: str
    file_sha256: str
    docs: list[DocOut] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    seconds: float = 0.0


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def encode_crop(crop: np.ndarray | None) -> bytes | None:
    if crop is None or crop.size == 0:
        return None
    import cv2

    # level 1: a third faster than level 3 on noisy scans, for 5% more bytes
    ok, buf = cv2.imencode(".png", crop, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return bytes(buf) if ok else None


_EXTRACTOR: Any = None


def init_worker(engine: str | None = None) -> None:
    """Load the OCR engine and models once per worker process."""
    global _EXTRACTOR
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # for tesseract's OpenMP (its own variable, read by children too)
    import cv2

    cv2.setNumThreads(1)
    from jimu.extractors.extract import Extractor

    _EXTRACTOR = Extractor(engine)
    memory.settle_startup()  # the models stay out of later collections (jimu.pipeline.memory)


def _error(e: BaseException) -> tuple[str, str]:
    if isinstance(e, InputFileError):
        return e.reason_code, str(e)
    if isinstance(e, JimuError):
        return type(e).__name__, str(e)
    # an unexpected failure: log the type only (a message could hold read values), quarantine the file
    log.error("unexpected %s while reading a document", type(e).__name__, exc_info=False)
    return "internal_error", "Jimu could not read this document because of an internal error; it was set aside."


def extract_file(path_s: str, sha: str | None = None) -> FileOut:
    """Ingest a file and extract every document in it."""
    from jimu.extractors.ingest import load_documents

    if _EXTRACTOR is None:
        init_worker()
    path = Path(path_s)
    t0 = time.perf_counter()
    out = FileOut(path=path_s, file_sha256=sha or file_sha256(path))
    try:
        docs = load_documents(path)
    except Exception as e:
        out.error_code, out.error_message = _error(e)
        out.seconds = time.perf_counter() - t0
        return out
    for doc in docs:
        d0 = time.perf_counter()
        d = DocOut(index=doc.index, sha256=doc.sha256, page_count=len(doc.pages))
        try:
            res = _EXTRACTOR.extract(doc)
            d.form_id, d.form_version = res.form_id, res.form_version
            d.fields = [
                FieldOut(f.field_id, f.kind, f.value, f.confidence, f.problem, f.snapped_from, f.source, f.crop)
                for f in res.fields.values()
            ]
        except Exception as e:
            d.error_code, d.error_message = _error(e)
        d.seconds = time.perf_counter() - d0
        out.docs.append(d)
    out.seconds = time.perf_counter() - t0
    memory.after_file()  # page images are large: every few files, free memory goes back to the system
    return out
