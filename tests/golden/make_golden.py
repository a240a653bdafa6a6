"""Regenerate tests/golden/samples.json: per committed sample, what extraction and the policy decide.

    python -m tests.golden.make_golden

Review the diff before committing: a field moving from right to wrong, or an accepted field that
is wrong, is a regression.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jimu.bench.metrics import same
from jimu.fixtures.corpus import iter_truth

SAMPLES = Path(__file__).resolve().parents[2] / "jimu" / "fixtures" / "samples"
GOLDEN = Path(__file__).resolve().parent / "samples.json"
TODAY = dt.date(2026, 11, 20)


def sample_items() -> list[tuple[Path, dict[str, Any]]]:
    """The committed single-form samples with their truth, by name (a feeder file of several forms is not one)."""
    return [(p, t) for p, t in iter_truth(SAMPLES) if "form_id" in t]


def run_sample(path: Path, truth: dict[str, Any], extractor: Any = None, thresholds: Any = None) -> dict[str, Any]:
    """What extraction and the policy decide for one sample: its form, the fields read wrong, those accepted."""
    from jimu.extractors.extract import Extractor
    from jimu.extractors.ingest import load_documents
    from jimu.forms_schema import get_form
    from jimu.validators.policy import FieldInput, Thresholds, decide

    ex = extractor if extractor is not None else Extractor()
    th = thresholds if thresholds is not None else Thresholds.load()
    doc = load_documents(path)[0]
    res = ex.extract(doc)
    d = decide(get_form(res.form_id), {k: FieldInput(f.value, f.confidence, f.problem, f.snapped_from)
                                       for k, f in res.fields.items()}, th, TODAY)
    return {
        "form_id": res.form_id,
        "wrong": sorted(k for k, f in res.fields.items() if not same(f.value, truth["fields"][k])),
        "accepted": sorted(k for k, dec in d.fields.items() if dec.status == "accepted"),
    }


def run_samples() -> dict[str, Any]:
    from jimu.extractors.extract import Extractor
    from jimu.validators.policy import Thresholds

    ex, th = Extractor(), Thresholds.load()
    return {path.name: run_sample(path, truth, ex, th) for path, truth in sample_items()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(run_samples(), ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
