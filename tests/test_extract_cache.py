"""The benchmarks' extraction cache: a JSON file keyed on everything extraction depends on, never pickle."""

from __future__ import annotations

import ast
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jimu.bench import extract_bench
from jimu.bench.extract_bench import (
    EXTRACTION_CODE,
    FileResult,
    extraction_key,
    load_cache,
    result_from_json,
    result_to_json,
    save_cache,
)
from jimu.settings import get_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A small stand-in for the checkout (every path of EXTRACTION_CODE, and what extraction does not
    run), a town master, and a corpus of two scans with their truth."""
    root = tmp_path / "root"
    for name in EXTRACTION_CODE:
        p = root / name
        if p.suffix == ".py":
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"# {name}\n")
        else:
            (p / "sub").mkdir(parents=True)
            (p / "__init__.py").write_text("")
            (p / "sub" / "mod.py").write_text("X = 1\n")
    for name in ("jimu/validators/thresholds.json", "jimu/validators/policy.py", "jimu/validators/calibrate.py",
                 "jimu/validators/rules.py", "jimu/review/app.py", "jimu/bench/accuracy_bench.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in ("a", "b"):
        (corpus / f"{n}.png").write_bytes(b"\x89PNG" + n.encode())
        (corpus / f"{n}.truth.json").write_text(json.dumps({"form_id": "inkan_toroku", "fields": {"name": n}}))
    masters = tmp_path / "masters"
    masters.mkdir()
    (masters / "chiba_city_towns.csv").write_text("中央区,中央,1\n", encoding="utf-8")
    monkeypatch.setenv("JIMU_MASTER_DATA_DIR", str(masters))
    monkeypatch.setenv("JIMU_OCR_ENGINE", "ppocr")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _key(tmp: Path, **kw: Any) -> str:
    return extraction_key([tmp / "corpus"], root=tmp / "root", **kw)


def _edit(rel: str, text: str = "# changed\n") -> Callable[[Path], None]:
    def go(tmp: Path) -> None:
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return go


def _rename(p: Path, name: str) -> None:
    p.rename(p.with_name(name))


CHANGES_THE_KEY: dict[str, Callable[[Path], None]] = {
    "extractor-module-edited": _edit("root/jimu/extractors/sub/mod.py"),
    "extractor-module-added": _edit("root/jimu/extractors/sub/new.py"),
    "extractor-model-replaced": _edit("root/jimu/extractors/sub/digits.npz", "weights"),
    "form-yaml-edited": _edit("root/jimu/forms_schema/sub/mod.py"),
    "normaliser-edited": _edit("root/jimu/validators/normalize.py"),
    "address-snap-edited": _edit("root/jimu/validators/address_snap.py"),
    "settings-defaults-edited": _edit("root/jimu/settings.py"),
    "truth-edited": _edit("corpus/a.truth.json", '{"form_id": "inkan_toroku", "fields": {"name": "c"}}'),
    "scan-bytes-changed": _edit("corpus/b.png", "another scan"),
    "scan-added": _edit("corpus/c.jpg", "a third scan"),
    "scan-removed": lambda tmp: (tmp / "corpus" / "b.png").unlink(),
    "scan-renamed": lambda tmp: _rename(tmp / "corpus" / "b.png", "b2.png"),
    "town-master-edited": _edit("masters/chiba_city_towns.csv", "中央区,中央,2\n"),
}


@pytest.mark.parametrize("change", CHANGES_THE_KEY.values(), ids=CHANGES_THE_KEY.keys())
def test_the_key_changes_with_the_code_and_the_corpus(checkout: Path, change: Callable[[Path], None]) -> None:
    before = _key(checkout)
    assert _key(checkout) == before  # the same inputs, the same key
    change(checkout)
    assert _key(checkout) != before


KEEPS_THE_KEY: dict[str, Callable[[Path], None]] = {
    # thresholds, policy, calibration and rules are applied to the cached results on every run
    "thresholds-recalibrated": _edit("root/jimu/validators/thresholds.json", '{"version": "new"}'),
    "policy-edited": _edit("root/jimu/validators/policy.py"),
    "calibration-edited": _edit("root/jimu/validators/calibrate.py"),
    "rules-edited": _edit("root/jimu/validators/rules.py"),
    "review-app-edited": _edit("root/jimu/review/app.py"),
    "bench-scoring-edited": _edit("root/jimu/bench/accuracy_bench.py"),
    "bytecode-written": _edit("root/jimu/extractors/__pycache__/mod.cpython-311.pyc", "bytecode"),
    "notes-beside-the-corpus": _edit("corpus/README.txt", "notes"),
}


@pytest.mark.parametrize("change", KEEPS_THE_KEY.values(), ids=KEEPS_THE_KEY.keys())
def test_the_key_ignores_what_is_applied_after_extraction(checkout: Path, change: Callable[[Path], None]) -> None:
    before = _key(checkout)
    change(checkout)
    assert _key(checkout) == before


@pytest.mark.parametrize(
    ("kw_a", "kw_b"),
    [
        pytest.param({}, {"limit": 1}, id="limit"),
        pytest.param({"limit": 1}, {"limit": 2}, id="another-limit"),
        pytest.param({"engine": "ppocr"}, {"engine": "tesserocr"}, id="engine"),
    ],
)
def test_the_key_changes_with_limit_and_engine(checkout: Path, kw_a: dict[str, Any], kw_b: dict[str, Any]) -> None:
    assert _key(checkout, **kw_a) != _key(checkout, **kw_b)


def test_the_default_engine_is_the_settings_engine(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _key(checkout) == _key(checkout, engine="ppocr") == _key(checkout, engine=" PPOCR ")
    monkeypatch.setenv("JIMU_OCR_ENGINE", "tesserocr")
    get_settings.cache_clear()
    assert _key(checkout) == _key(checkout, engine="tesserocr") != _key(checkout, engine="ppocr")


def test_the_key_changes_with_an_ocr_package_version(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _key(checkout)
    versions = extract_bench._package_versions()
    assert versions["rapidocr"] is not None  # the recogniser's weights ship in it
    monkeypatch.setattr(extract_bench, "_package_versions", lambda: versions | {"rapidocr": "0.0.1"})
    assert _key(checkout) != before


def test_the_order_of_corpora_is_in_the_key(checkout: Path) -> None:
    other = checkout / "other"
    other.mkdir()
    (other / "z.png").write_bytes(b"z")
    root = checkout / "root"
    a, b = checkout / "corpus", other
    assert extraction_key([a, b], root=root) != extraction_key([b, a], root=root) != extraction_key([a], root=root)


def _static_imports(path: Path, module: str) -> set[str]:
    """jimu modules a file imports, anywhere in it (function-level imports too)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            out |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return {m for m in out if m.split(".")[0] == "jimu"}


def _module_file(module: str) -> Path | None:
    p = REPO.joinpath(*module.split("."))
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    return p.with_suffix(".py") if p.with_suffix(".py").is_file() else None


# modules extraction imports only to check a form definition's names or to make test copies' truth,
# or that only score: they cannot change a value or a confidence extraction returns
NOT_EXTRACTION = ("jimu/bench/", "jimu/export/", "jimu/validators/__init__.py", "jimu/validators/registry.py",
                  "jimu/validators/rules.py", "jimu/validators/field_checks.py", "jimu/validators/checkdigits.py",
                  "jimu/validators/bounds.py")


def test_the_key_covers_every_module_extraction_imports() -> None:
    """Walk the imports from the bench's extraction entry point: every jimu file on the way is hashed."""
    seen: set[Path] = set()
    todo = ["jimu.bench.extract_bench", "jimu.extractors.extract", "jimu.extractors.ingest"]
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if path is None or path in seen:
            continue
        seen.add(path)
        todo += _static_imports(path, module)
    rel = sorted(p.relative_to(REPO).as_posix() for p in seen)
    assert "jimu/extractors/readers.py" in rel and "jimu/validators/normalize.py" in rel  # the walk works
    uncovered = [r for r in rel if not any(r == c or r.startswith(c + "/") for c in EXTRACTION_CODE)
                 and not r.startswith(NOT_EXTRACTION)]
    assert uncovered == [], f"extraction runs code the cache key does not hash: add it to EXTRACTION_CODE: {uncovered}"


def _result(name: str = "a.png") -> FileResult:
    fields = {"name": ("山田太郎", 0.987654321), "members[0].sex": ("male", 1.0), "items": (["a", "b"], 0.5),
              "agree": (True, 0.75), "zip": (None, 0.0)}
    details = {"name": {"problem": None, "snapped_from": "山田大郎"}, "zip": {"problem": "空欄", "snapped_from": None}}
    return FileResult(name, "office", "inkan_toroku", "inkan_toroku", True, fields, None, 1.25, details=details)


def test_a_result_round_trips_through_json() -> None:
    r = _result()
    back = result_from_json(json.loads(json.dumps(result_to_json(r), ensure_ascii=False)))
    assert back == r
    assert isinstance(back.fields["name"], tuple)
    failed = FileResult("b.pdf", "fax", "kaigo_nintei", None, False, {}, "CorruptFileError", 0.01)
    assert result_from_json(json.loads(json.dumps(result_to_json(failed)))) == failed


def test_the_cache_is_json_and_is_reused_only_under_its_key(tmp_path: Path) -> None:
    pairs = [({"form_id": "inkan_toroku", "fields": {"name": "山田太郎"}}, _result("a.png")),
             ({"form_id": "kaigo_nintei", "fields": {}}, _result("b.png"))]
    path = tmp_path / "cache.json"
    save_cache(path, "k1", pairs)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["key"] == "k1" and len(data["pairs"]) == 2
    assert load_cache(path, "k1") == pairs
    assert load_cache(path, "k2") is None
    assert not list(tmp_path.glob("*.tmp"))


class _Trap:
    """Unpickling this writes a file: a cache that were unpickled would run it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "unpickled"))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="old-pickle-cache"),
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b'["k1", []]', id="a-list"),
        pytest.param(b'{"format": 0, "key": "k1", "pairs": []}', id="another-format"),
        pytest.param(b'{"format": 1, "key": "k1", "pairs": [[{}, {"name": "x"}]]}', id="a-truncated-result"),
    ],
)
def test_a_file_that_is_not_a_current_cache_is_not_used(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "cache.pkl"
    marker = tmp_path / "marker"
    path.write_bytes(pickle.dumps(("k1", _Trap(marker))) if content is None else content)
    assert load_cache(path, "k1") is None
    assert not marker.exists()


def test_the_bench_commands_extract_once_and_reuse_the_cache(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jimu.commands import bench_cmd

    calls: list[tuple[str, int | None]] = []

    def fake_extract(corpus: Path, workers: int = 2, engine: str | None = None, limit: int | None = None,
                     progress: Any = None) -> list[tuple[dict[str, Any], FileResult]]:
        calls.append((corpus.name, limit))
        return [({"form_id": "inkan_toroku", "fields": {}}, _result(f"{corpus.name}.png"))]

    monkeypatch.setattr(extract_bench, "extract_corpus", fake_extract)
    corpus, cache = checkout / "corpus", checkout / "cache.json"
    first = bench_cmd._extract_pairs([corpus], 1, None, cache)
    assert calls == [("corpus", None)] and cache.is_file()
    assert bench_cmd._extract_pairs([corpus], 1, None, cache) == first
    assert len(calls) == 1  # reused
    bench_cmd._extract_pairs([corpus], 1, 1, cache)
    assert calls[-1] == ("corpus", 1)  # another limit: extracted again
    (corpus / "a.png").write_bytes(b"rescanned")
    bench_cmd._extract_pairs([corpus], 1, 1, cache)
    assert len(calls) == 3  # another scan: extracted again


def test_cached_results_carry_no_decision_the_thresholds_decide_afresh(tmp_path: Path) -> None:
    """Why the thresholds are not in the key: the same cached results give the figures of the thresholds given."""
    from jimu.bench.accuracy_bench import accuracy_report
    from jimu.validators.policy import THRESHOLD_KINDS, Thresholds

    truth = {"form_id": "inkan_toroku", "scan": {"quality": "office"},
             "fields": {"name": "山田太郎", "kana": "ヤマダタロウ", "sex": "male"}}
    read = {"name": ("山田太郎", 0.95), "kana": ("ヤマダタロウ", 0.95), "sex": ("male", 0.95)}
    path = tmp_path / "cache.json"
    save_cache(path, "k", [(truth, FileResult("a.png", "office", "inkan_toroku", "inkan_toroku", True, read, None, 1.0))])
    pairs = load_cache(path, "k")
    assert pairs is not None
    loose = Thresholds(version="loose", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.9))
    strict = Thresholds(version="strict", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.99))
    by_loose = accuracy_report(pairs, loose)["office"]["silent_error_by_group"]
    by_strict = accuracy_report(pairs, strict)["office"]["silent_error_by_group"]
    assert by_loose["choice"]["accepted"] == 1  # the sex, read at 0.95
    assert "choice" not in by_strict
