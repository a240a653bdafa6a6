"""OCR engines for zone OCR of form fields: one module per way of running tesseract.

>>> from jimu.extractors.engines import OcrRequest, get_engine
>>> engine = get_engine()                       # JIMU_OCR_ENGINE, default "tesserocr"
>>> engine.recognize(OcrRequest(crop, lang="Japanese", psm=7)).text
>>> engine.recognize_batch([OcrRequest(c, whitelist="0123456789-") for c in phone_crops])

* ``tesserocr`` (:mod:`.tesserocr_engine`): libtesseract in this process, models loaded once.
* ``pytesseract`` (:mod:`.tesseract_cli`): the tesseract program, one process per call or per batch
  stack; the reference the in-process engine is tested against.

Both read with the same models (:func:`tessdata_dir`) and turn tesseract's layout into text with the
same rules (:func:`jimu.extractors.engines.base.assemble`), so they agree on almost every crop; the rest
comes from the libtesseract versions (tesserocr's wheel bundles 5.5.4, Debian's program is 5.3.0).

``get_engine`` returns one instance per engine name per process; engines are not meant to be shared
by threads running in parallel (calls are serialised), use a process pool for parallel OCR.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from jimu.errors import BadArgsError
from jimu.settings import get_settings

from .base import OcrEngine, OcrRequest, OcrResult
from .tessdata import resolve_lang, tessdata_dir


def _tesserocr() -> OcrEngine:
    from .tesserocr_engine import TesserocrEngine

    return TesserocrEngine()


def _ppocr() -> OcrEngine:
    from .ppocr import PpocrEngine

    return PpocrEngine()


def _pytesseract() -> OcrEngine:
    from .tesseract_cli import TesseractCliEngine

    return TesseractCliEngine()


# name → factory; the factories import lazily so a missing tesserocr only breaks its own engine
ENGINES: dict[str, Callable[[], OcrEngine]] = {
    "ppocr": _ppocr,
    "tesserocr": _tesserocr,
    "pytesseract": _pytesseract,
}

_instances: dict[tuple[int, str], OcrEngine] = {}
_lock = threading.Lock()


def get_engine(name: str | None = None) -> OcrEngine:
    """This process's engine called ``name`` (default: ``settings.ocr_engine``), built on first use."""
    key = (name or get_settings().ocr_engine).strip().lower()
    factory = ENGINES.get(key)
    if factory is None:
        raise BadArgsError(
            f"unknown OCR engine {key!r}",
            hint=f"Set JIMU_OCR_ENGINE to one of: {', '.join(sorted(ENGINES))}.",
        )
    pid = os.getpid()
    with _lock:
        engine = _instances.get((pid, key))
        if engine is None:
            engine = factory()
            _instances[(pid, key)] = engine
        return engine


def close_engines() -> None:
    """Close and forget this process's engines (tests; long-running workers before they exit)."""
    pid = os.getpid()
    with _lock:
        for k in [k for k in _instances if k[0] == pid]:
            _instances.pop(k).close()


__all__ = [
    "ENGINES",
    "OcrEngine",
    "OcrRequest",
    "OcrResult",
    "close_engines",
    "get_engine",
    "resolve_lang",
    "tessdata_dir",
]
