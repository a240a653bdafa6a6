"""In-process OCR through tesserocr (libtesseract bound into Python): no process start-up per field.

One ``PyTessBaseAPI`` is kept alive per (lang, psm, oem) and created on first use, so loading the
Japanese models (~100–300 ms) is paid once per process, not once per field. Whitelist, blacklist and
``lstm_choice_mode`` are set per call and reset afterwards, so a phone-number whitelist never leaks
into the next name field.

Threads and processes
    A ``PyTessBaseAPI`` is not safe to use from two threads at once. The engine holds a lock around
    every call, so sharing one instance between threads is safe but serial. For parallel OCR, use
    processes with one engine each — ``jimu.extractors.engines.get_engine()`` hands out one instance per
    process (it notices a fork and builds a fresh one in the child).

Empty psm 7/8 results on a crop with ink are retried once as a raw line (psm 13), see
:func:`~jimu.extractors.engines.base.wants_raw_line_retry`.

Timeouts
    Every ``Recognize`` gets tesseract's own deadline (``ETEXT_DESC`` deadline, tesserocr's
    ``Recognize(timeout=ms)``), set from ``JIMU_TESSERACT_TIMEOUT_S``; a call that runs past it raises
    :class:`~jimu.errors.OcrTimeoutError`. The deadline is checked inside the recogniser's loop; the
    steps before it (copying the crop, Otsu thresholding, finding the one text line in psm 7/8/10)
    are linear in the crop's pixels and bounded for field-sized crops, so a call cannot hang there.
    (On a full A4 page in psm 6 with a 50 ms deadline the call returns after ≈0.3 s: page layout
    analysis runs before the deadline is looked at. Field crops have no layout to analyse.)
    A batch is a loop of such calls, so it is bounded by ``len(reqs) × timeout``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from jimu.errors import ExternalToolError, MissingDependencyError, OcrTimeoutError
from jimu.settings import get_settings

from .base import (
    RAW_LINE_PSM,
    OcrRequest,
    OcrResult,
    RawLine,
    RawSymbol,
    assemble,
    wants_raw_line_retry,
)
from .tessdata import resolve_lang, tessdata_dir

try:
    import tesserocr
except ImportError:  # pragma: no cover - tesserocr is a hard dependency in pyproject.toml
    tesserocr = None

PIP_HINT = "Install it in the virtualenv: .venv/bin/pip install tesserocr (or run `make setup`)."
OEM_LSTM_ONLY = 1


def _box(b: Any) -> tuple[int, int, int, int] | None:
    return (int(b[0]), int(b[1]), int(b[2]), int(b[3])) if b else None


def _require_tesserocr() -> Any:
    if tesserocr is None:
        raise MissingDependencyError("the Python package tesserocr is not installed", hint=PIP_HINT)
    return tesserocr


class TesserocrEngine:
    """:class:`~jimu.extractors.engines.base.OcrEngine` running libtesseract in this process."""

    name = "tesserocr"

    def __init__(self, tessdata: Path | None = None, timeout_s: float | None = None, oem: int = OEM_LSTM_ONLY) -> None:
        _require_tesserocr()
        self.tessdata = tessdata if tessdata is not None else tessdata_dir()
        self.timeout_s = timeout_s if timeout_s is not None else get_settings().tesseract_timeout_s
        self.oem = oem
        self._apis: dict[tuple[str, int, int], Any] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    # ---------------------------------------------------------------------------------------------

    def version(self) -> str:
        """libtesseract's version, e.g. ``"5.5.4"`` (the one bundled in tesserocr's wheel)."""
        tr = _require_tesserocr()
        raw = str(tr.tesseract_version())
        m = re.search(r"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", raw)
        if m is None:
            raise ExternalToolError(f"cannot parse libtesseract version {raw.splitlines()[:1]!r}")
        major = int(m.group(1).split(".")[0])
        if major < 4:
            raise MissingDependencyError(
                f"tesserocr is built against tesseract {m.group(1)}; Jimu needs ≥ 4 (LSTM models)",
                hint=PIP_HINT,
            )
        return m.group(1)

    def recognize(self, req: OcrRequest) -> OcrResult:
        with self._lock:
            return self._recognize(req)

    def recognize_batch(self, reqs: list[OcrRequest]) -> list[OcrResult]:
        """A loop over :meth:`recognize`: in-process calls cost ~10 ms each, nothing to amortise."""
        with self._lock:
            return [self._recognize(r) for r in reqs]

    def close(self) -> None:
        with self._lock:
            for api in self._apis.values():
                api.End()
            self._apis.clear()

    def __enter__(self) -> TesserocrEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------

    def _api(self, lang: str, psm: int) -> Any:
        tr = _require_tesserocr()
        if os.getpid() != self._pid:  # forked: the parent's handles are not ours to use
            self._apis = {}
            self._pid = os.getpid()
        key = (lang, psm, self.oem)
        api = self._apis.get(key)
        if api is None:
            model = resolve_lang(self.tessdata, lang)
            try:
                api = tr.PyTessBaseAPI(path=str(self.tessdata), lang=model, psm=psm, oem=self.oem)
            except RuntimeError as e:
                raise ExternalToolError(
                    f"tesserocr could not load the tesseract model {model!r} from {self.tessdata}: {e}",
                    hint="Check that the *.traineddata files are readable and not truncated.",
                ) from e
            self._apis[key] = api
        return api

    def _recognize(self, req: OcrRequest) -> OcrResult:
        gray = req.gray
        if gray.size == 0:
            return OcrResult.empty()
        result = self._read(gray, req, req.psm)
        if wants_raw_line_retry(req, result, gray):
            result = self._read(gray, req, RAW_LINE_PSM)
        return result

    def _read(self, gray: np.ndarray, req: OcrRequest, psm: int) -> OcrResult:
        api = self._api(req.lang, psm)
        h, w = gray.shape
        buf = gray.tobytes()  # SetImageBytes does not copy: ``buf`` must outlive the iteration below
        if req.whitelist:
            api.SetVariable("tessedit_char_whitelist", req.whitelist)
        if req.blacklist:
            api.SetVariable("tessedit_char_blacklist", req.blacklist)
        if req.alternatives:
            api.SetVariable("lstm_choice_mode", "2")
        try:
            api.SetImageBytes(buf, w, h, 1, w)
            api.SetSourceResolution(int(req.dpi))
            timeout_ms = max(1, round(self.timeout_s * 1000))
            t0 = time.monotonic()
            ok = api.Recognize(timeout=timeout_ms)
            elapsed = time.monotonic() - t0
            if not ok:
                api.Clear()
                if elapsed >= 0.8 * self.timeout_s:
                    raise OcrTimeoutError(
                        f"tesserocr gave up on a {w}×{h} px image after {elapsed:.2f} s (deadline {self.timeout_s:g} s)"
                    )
                raise ExternalToolError(f"tesserocr could not recognise a {w}×{h} px image")
            lines = self._layout(api, req.alternatives)
        except ExternalToolError:
            raise
        except RuntimeError as e:
            raise ExternalToolError(f"tesserocr failed on a {w}×{h} px image: {e}") from e
        finally:
            if req.whitelist:
                api.SetVariable("tessedit_char_whitelist", "")
            if req.blacklist:
                api.SetVariable("tessedit_char_blacklist", "")
            if req.alternatives:
                api.SetVariable("lstm_choice_mode", "0")
        del buf
        return assemble(lines, whitelist=req.whitelist, alternatives=req.alternatives)

    @staticmethod
    def _layout(api: Any, alternatives: bool) -> list[RawLine]:
        tr = _require_tesserocr()
        RIL = tr.RIL
        ri = api.GetIterator()
        if ri is None:
            return []
        lines: list[RawLine] = []
        for r in tr.iterate_level(ri, RIL.SYMBOL):
            if r.Empty(RIL.SYMBOL):
                continue
            try:
                text = r.GetUTF8Text(RIL.SYMBOL)
            except RuntimeError:  # tesserocr's way of saying "this symbol has no text"
                continue
            if not text or not text.strip():
                continue
            if not lines or r.IsAtBeginningOf(RIL.TEXTLINE):
                lbox = r.BoundingBox(RIL.TEXTLINE)
                lines.append(RawLine(box=_box(lbox) or (0, 0, 0, 1), symbols=[]))
            box = r.BoundingBox(RIL.SYMBOL)
            alts: list[tuple[str, float]] | None = None
            if alternatives:
                alts = [(c.GetUTF8Text(), float(c.Confidence())) for c in r.GetChoiceIterator()]
            lines[-1].symbols.append(
                RawSymbol(
                    text=text,
                    conf=float(r.Confidence(RIL.SYMBOL)),
                    box=_box(box),
                    word_start=bool(r.IsAtBeginningOf(RIL.WORD)),
                    alternatives=alts,
                )
            )
        return lines
