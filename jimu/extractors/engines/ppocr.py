"""PP-OCRv6 small text recogniser (the ``ppocr`` engine): recognition only, one call per field.

The weights are the ONNX file ``PP-OCRv6_rec_small.onnx`` shipped inside the PyPI wheel
``rapidocr`` (Apache-2.0, weights by the PaddleOCR authors; see the wheel's ``MODEL_LICENSES.md``).
They are found on disk through the installed package's location, without importing ``rapidocr``
(which would pull in its download helpers), and run with ``onnxruntime`` on the CPU: nothing is
fetched, ever. The character list (18,708 characters, Japanese kana and JIS kanji included) is
stored in the model's own metadata.

How a crop is read:

1. The crop (uint8, 0 = ink; the writing-only crop of :mod:`jimu.extractors.crops`) is scaled to the
   model's input height (48 px), keeping its aspect ratio, and normalised to [-1, 1].
2. The network gives, for every horizontal step, a probability over blank + the characters.
3. Greedy CTC decoding: the most likely symbol per step, repeats merged, blanks dropped. With a
   ``whitelist`` the choice per step is restricted to the whitelist (and blank), so a kana field
   can only come out as kana and a phone field only as digits.
4. ``char_confidences[i]`` is the highest probability the network gave ``text[i]`` over its steps;
   ``alternatives`` (when asked for) are the runner-up symbols at that step, with their
   probabilities, so callers can see how close 千 came to 干 or ュ to ユ.

The request's tesseract-specific settings (``lang``, ``psm``, ``dpi``) are ignored.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np

from jimu.errors import MissingDependencyError

from .base import OcrRequest, OcrResult

MODEL_FILE = "PP-OCRv6_rec_small.onnx"
INPUT_HEIGHT = 48
MIN_WIDTH = 16
MAX_WIDTH = 3200  # a field crop wider than this (66:1) is squeezed
N_ALTERNATIVES = 3


def model_path() -> Path:
    """Where the installed ``rapidocr`` wheel keeps the recogniser's weights."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "the text recogniser's weights are not installed (PyPI package 'rapidocr')",
            hint="Run `make setup` (or `pip install rapidocr onnxruntime`), or set JIMU_OCR_ENGINE=tesserocr.",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE
    if not path.is_file():
        raise MissingDependencyError(
            f"the installed rapidocr package has no {MODEL_FILE}",
            hint="Install rapidocr 3.10 or newer, which ships the PP-OCRv6 weights in its wheel.",
        )
    return path


class PpocrEngine:
    """PP-OCRv6 recognition in this process; one instance per process (see ``get_engine``)."""

    name = "ppocr"

    def __init__(self, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - a broken install
            raise MissingDependencyError("onnxruntime is not installed", hint="Run `make setup`.") from e
        path = model_path()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        chars = meta.get("character", "").split("\n")
        self.symbols: list[str] = ["", *chars, " "]  # index 0 is the CTC blank; the model adds a space last
        self._index = {s: i for i, s in enumerate(self.symbols) if s}
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()
        self._masks: dict[str, np.ndarray] = {}
        self.model_file = path.name

    def version(self) -> str:
        try:
            rapid = importlib.metadata.version("rapidocr")
            ort_v = importlib.metadata.version("onnxruntime")
        except importlib.metadata.PackageNotFoundError as e:
            raise MissingDependencyError("rapidocr or onnxruntime is not installed", hint="Run `make setup`.") from e
        return f"{self.model_file} (rapidocr {rapid}, onnxruntime {ort_v})"

    def knows(self, ch: str) -> bool:
        """Whether the recogniser can output ``ch`` at all."""
        return ch in self._index

    def _mask(self, whitelist: str) -> np.ndarray:
        m = self._masks.get(whitelist)
        if m is None:
            m = np.zeros(len(self.symbols), dtype=bool)
            m[0] = True
            for ch in whitelist:
                i = self._index.get(ch)
                if i is not None:
                    m[i] = True
            self._masks[whitelist] = m
        return m

    @staticmethod
    def _prepare(gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape
        width = int(np.clip(round(w * INPUT_HEIGHT / max(h, 1)), MIN_WIDTH, MAX_WIDTH))
        img = cv2.resize(gray, (width, INPUT_HEIGHT), interpolation=cv2.INTER_AREA if h > INPUT_HEIGHT else cv2.INTER_LINEAR)
        x = (img.astype(np.float32) / 255.0 - 0.5) / 0.5
        return np.repeat(x[None, None, :, :], 3, axis=1)

    def probabilities(self, gray: np.ndarray) -> np.ndarray:
        """The network's T×C probabilities for one crop."""
        x = self._prepare(gray)
        with self._lock:
            out = self._session.run(None, {self._input: x})[0]
        return np.asarray(out[0], dtype=np.float32)

    def recognize(self, req: OcrRequest) -> OcrResult:
        gray = req.gray
        if gray.size == 0 or not np.any(gray < 128):
            return OcrResult.empty()
        probs = self.probabilities(gray)
        allowed = None
        if req.whitelist:
            allowed = self._mask(req.whitelist)
        if req.blacklist:
            allowed = np.ones(len(self.symbols), dtype=bool) if allowed is None else allowed.copy()
            for ch in req.blacklist:
                i = self._index.get(ch)
                if i is not None:
                    allowed[i] = False
        return decode(probs, self.symbols, allowed, req.alternatives)

    def recognize_batch(self, reqs: list[OcrRequest]) -> list[OcrResult]:
        return [self.recognize(r) for r in reqs]

    def close(self) -> None:
        pass


def decode(probs: np.ndarray, symbols: list[str], allowed: np.ndarray | None = None,
           alternatives: bool = False) -> OcrResult:
    """Greedy CTC decoding of T×C ``probs`` (index 0 = blank), restricted to ``allowed`` symbols."""
    p = probs if allowed is None else np.where(allowed[None, :], probs, 0.0)
    best = p.argmax(axis=1)
    chars: list[str] = []
    confs: list[float] = []
    alts: list[list[tuple[str, float]]] = []
    prev = 0
    peak_step = -1
    for t, k in enumerate(best):
        k = int(k)
        if k != 0 and k != prev:
            chars.append(symbols[k])
            confs.append(float(p[t, k]))
            peak_step = t
            alts.append([])
        elif k != 0 and k == prev and float(p[t, k]) > confs[-1]:
            confs[-1] = float(p[t, k])
            peak_step = t
        if k != 0 and alternatives and peak_step == t:
            order = np.argsort(p[t])[::-1][: N_ALTERNATIVES + 1]
            alts[-1] = [(symbols[int(j)], float(p[t, j])) for j in order if int(j) != 0 and p[t, j] > 0]
        prev = k
    if not chars:
        return OcrResult.empty()
    text = "".join(chars)
    return OcrResult(text=text, confidence=float(np.mean(confs)), char_confidences=confs,
                     alternatives=alts if alternatives else None)
