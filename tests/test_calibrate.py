"""Calibration: acceptance models, thresholds under a Clopper–Pearson bound, and the thresholds file."""

from __future__ import annotations

import json
import logging
import math
import random
from pathlib import Path

import numpy as np
import pytest

from jimu.forms_schema import get_form
from jimu.validators.bounds import upper_bound
from jimu.validators.calibrate import (
    NEVER,
    AcceptanceModel,
    Sample,
    features,
    fit,
    fit_group,
    fit_model,
    fit_threshold,
    write_thresholds,
)
from jimu.validators.policy import FieldInput, Thresholds, decide


def _samples(n: int, wrong_below: float = 0.0, kind: str = "text", seed: int = 1) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c = rng.uniform(0.5, 1.0)
        out.append(Sample(kind, c, c >= wrong_below or rng.random() < 0.5, False, rng.randint(2, 12)))
    return out


def test_threshold_needs_the_bound_not_the_point_estimate() -> None:
    few = [(0.99, True)] * 500  # 0 errors of 500: point estimate 0, bound 0.6%
    assert fit_threshold(few, 0.001) == (NEVER, 0, 0)
    many = [(0.99, True)] * 3000
    t, accepted, errors = fit_threshold(many, 0.001)
    assert (t, accepted, errors) == (0.99, 3000, 0)


def test_threshold_is_the_lowest_whose_bound_meets_the_target() -> None:
    xs = [(1.0 - i * 1e-5, True) for i in range(4000)] + [(0.5, False)] * 50
    t, accepted, errors = fit_threshold(xs, 0.001)
    assert accepted == 4000 and errors == 0 and t == pytest.approx(1.0 - 3999e-5)
    assert upper_bound(errors, accepted) <= 0.001


def test_group_with_too_little_evidence_is_refused_and_says_what_it_needs() -> None:
    g = fit_group(_samples(200), 0.001)
    assert g["threshold"] == NEVER and g["accepted"] == 0
    assert g["needs_more_fields"] >= 2995 - 200
    assert "more error-free fields" in g["note"]


def test_model_learns_that_low_confidence_is_wrong() -> None:
    s = _samples(3000, wrong_below=0.8)
    x = np.array([features(v.confidence, v.furigana_agrees, v.length) for v in s])
    y = np.array([1.0 if v.correct else 0.0 for v in s])
    m = fit_model(x, y)
    assert m.probability(features(0.99, False, 5)) > 0.95 > m.probability(features(0.6, False, 5))
    assert AcceptanceModel.from_dict(m.as_dict()).probability(features(0.9, True, 3)) == pytest.approx(
        m.probability(features(0.9, True, 3)), abs=1e-5)


def test_model_with_unknown_features_is_refused() -> None:
    with pytest.raises(ValueError):
        AcceptanceModel.from_dict({"features": ["something_else"], "weights": [1.0], "bias": 0.0})


def test_written_file_loads_and_drives_the_policy(tmp_path: Path) -> None:
    samples = [Sample(k, 0.999, True, False, 4) for k in ("text", "kana", "date", "phone", "choice") for _ in range(3100)]
    samples += [Sample(k, 0.97, True, False, 0) for k in ("text_empty", "kana_empty", "date_empty", "phone_empty")
                for _ in range(3100)]
    fitted = fit(samples, 0.001)
    path = tmp_path / "th.json"
    write_thresholds(path, fitted, 0.001, "test", {"inkan_toroku": 1})
    data = json.loads(path.read_text())
    assert data["forms"] == {"inkan_toroku": 1} and data["models"]["text"]["features"]
    th = Thresholds.load(path)
    assert th.problem is None and th.covers(get_form("inkan_toroku")) and not th.covers(get_form("jumin_idou"))
    form = get_form("inkan_toroku")
    d = decide(form, {"name": FieldInput("山田太郎", 0.999)}, th)
    assert d.fields["name"].status == "accepted"
    assert d.fields["name"].confidence > 0.99
    assert decide(form, {"name": FieldInput("山田太郎", 0.6)}, th).fields["name"].status == "flagged"
    # digits were never calibrated: never auto-accepted
    assert "low_confidence" in decide(form, {}, th).fields["name"].reasons


@pytest.mark.parametrize("content", [None, "", "{not json", '{"version": "x"}', '{"version": "x", "thresholds": 3}',
                                     "\xff\xfe"])
def test_missing_or_unreadable_thresholds_accept_nothing_and_say_so(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "th.json"
    if content is not None:
        path.write_bytes(content.encode("latin-1") if content == "\xff\xfe" else content.encode())
    th = Thresholds.load(path)
    assert th.problem is not None
    assert th.warning() is not None and "NOTHING WILL BE AUTO-ACCEPTED" in th.warning()
    form = get_form("inkan_toroku")
    d = decide(form, {lf.id: FieldInput("x", 1.0) for lf in form.leaf_fields()}, th)
    assert d.fields and all(dec.status == "flagged" for dec in d.fields.values())


def test_mistyped_thresholds_env_is_loud_at_batch_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    from jimu.pipeline.batch import open_context
    from jimu.settings import get_settings

    monkeypatch.setenv("JIMU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JIMU_THRESHOLDS_FILE", str(tmp_path / "thresholds.jsno"))
    get_settings.cache_clear()
    with caplog.at_level(logging.WARNING, logger="jimu.batch"):
        ctx = open_context(workers=0)
    ctx.close()
    assert ctx.thresholds.problem and "not found" in ctx.thresholds.problem
    assert any("NOTHING WILL BE AUTO-ACCEPTED" in r.getMessage() for r in caplog.records)
    get_settings.cache_clear()


def test_a_form_calibrated_on_its_own_is_accepted_by_its_own_thresholds(tmp_path: Path) -> None:
    from jimu.validators.calibrate import merge_form

    base = fit([Sample(k, 0.999, True, False, 4) for k in ("text", "kana") for _ in range(3100)], 0.001)
    path = tmp_path / "th.json"
    write_thresholds(path, base, 0.001, "own forms", {"jumin_idou": 1})
    form = get_form("inkan_toroku")
    assert not Thresholds.load(path).covers(form)
    own = fit([Sample("text", 0.95, True, False, 4) for _ in range(3100)], 0.001)
    merge_form(path, "inkan_toroku", form.version, own, 0.001, "copies of the form")
    th = Thresholds.load(path)
    assert th.covers(form) and th.covers(get_form("jumin_idou"))
    assert decide(form, {"name": FieldInput("山田太郎", 0.95)}, th).fields["name"].status == "accepted"
    # the other forms keep the shared thresholds, where 0.95 is not enough
    assert decide(get_form("jumin_idou"), {"householder_name": FieldInput("山田太郎", 0.95)},
                  th).fields["householder_name"].status == "flagged"
    assert "kana" not in th.per_form["inkan_toroku"][0]  # the form's own groups only


def test_fields_needed_counts_from_the_most_probable_wrong_field() -> None:
    xs = [Sample("text", 0.999, True, False, 4)] * 1000 + [Sample("text", 0.99, False, False, 4)] \
        + [Sample("text", 0.9, True, False, 4)] * 1000 + [Sample("text", 0.5, False, False, 4)]
    g = fit_group(xs, 0.001)
    assert g["threshold"] == NEVER
    assert g["needs_more_fields"] == 2995 - 1000  # only the 1000 above the first wrong one count


def _brute_force_threshold(samples: list[tuple[float, bool]], target: float) -> tuple[float, int, int]:
    """The definition, checked threshold by threshold: the lowest p whose set {prob ≥ p} has rate and bound ≤ target."""
    best: tuple[float, int, int] = (NEVER, 0, 0)
    for p in sorted({s[0] for s in samples}, reverse=True):
        accepted = [ok for q, ok in samples if q >= p]
        wrong = sum(not ok for ok in accepted)
        if wrong / len(accepted) <= target and upper_bound(wrong, len(accepted)) <= target:
            best = (p, len(accepted), wrong)
    return best


def _scored(seed: int, n: int, error_rate_low: float, ties: bool) -> list[tuple[float, bool]]:
    """Synthetic scored fields: wrong ones concentrated at low probabilities (as a fitted model makes them)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p = rng.random()
        if ties:
            p = round(p, 2)
        out.append((p, rng.random() >= error_rate_low * (1 - p) ** 2))
    return out


@pytest.mark.parametrize(
    ("seed", "n", "error_rate", "target", "ties"),
    [
        pytest.param(1, 3000, 0.0, 0.001, False, id="no-errors-enough-fields"),
        pytest.param(2, 1500, 0.0, 0.001, False, id="no-errors-too-few-fields"),
        pytest.param(8, 4000, 0.5, 0.01, False, id="errors-at-low-probability-some-accepted"),
        pytest.param(5, 4000, 0.5, 0.01, True, id="tied-probabilities"),
        pytest.param(9, 6000, 0.1, 0.005, False, id="few-errors"),
        pytest.param(3, 5000, 0.5, 0.001, False, id="errors-too-many-for-the-target"),
        pytest.param(6, 400, 1.0, 0.05, False, id="small-set-high-target"),
        pytest.param(7, 3000, 3.0, 0.001, False, id="errors-everywhere"),
    ],
)
def test_threshold_matches_its_definition_on_synthetic_scores(seed: int, n: int, error_rate: float, target: float,
                                                               ties: bool) -> None:
    samples = _scored(seed, n, error_rate, ties)
    got = fit_threshold(samples, target)
    assert got == _brute_force_threshold(samples, target)
    t, accepted, errors = got
    if t < NEVER:  # what it accepts on the calibration set is under the target, bound and all
        assert accepted == sum(1 for p, _ in samples if p >= t)
        assert upper_bound(errors, accepted) <= target
    else:
        assert (accepted, errors) == (0, 0)


def test_a_threshold_never_splits_equal_probabilities() -> None:
    xs = [(0.9, True)] * 3000 + [(0.8, True)] * 10 + [(0.8, False)]
    t, accepted, errors = fit_threshold(xs, 0.001)
    assert (t, accepted, errors) == (0.9, 3000, 0)  # 0.8 would take the wrong one with its ten right ones


@pytest.mark.parametrize(
    ("confidence", "furigana", "length", "expected"),
    [
        (0.5, False, 0, [0.0, 0.0, 0.0]),
        (0.9, True, 3, [math.log(9), 1.0, math.log(4)]),
        (1.0, False, -2, [math.log((1 - 1e-7) / 1e-7), 0.0, 0.0]),  # clamped: no infinite logit
        (0.0, False, 1, [math.log(1e-6 / (1 - 1e-6)), 0.0, math.log(2)]),
    ],
)
def test_features(confidence: float, furigana: bool, length: int, expected: list[float]) -> None:
    assert features(confidence, furigana, length) == pytest.approx(expected)


def test_fit_makes_one_group_per_kind_with_its_own_threshold() -> None:
    samples = [Sample("text", 0.999, True, False, 4)] * 3100 + [Sample("date", 0.999, True, False, 8)] * 100
    fitted = fit(samples, 0.001)
    assert sorted(fitted) == ["date", "text"]
    assert fitted["text"]["threshold"] < NEVER and fitted["text"]["candidates"] == 3100
    assert fitted["date"]["threshold"] == NEVER and fitted["date"]["needs_more_fields"] == 2995 - 100
    assert fitted["text"]["upper95"] == pytest.approx(upper_bound(0, 3100), abs=1e-6)


def test_a_fitted_model_never_prefers_a_lower_confidence() -> None:
    s = _samples(3000, wrong_below=0.7, seed=4)
    x = np.array([features(v.confidence, v.furigana_agrees, v.length) for v in s])
    y = np.array([1.0 if v.correct else 0.0 for v in s])
    m = fit_model(x, y)
    probs = [m.probability(features(c / 100, False, 5)) for c in range(50, 100)]
    assert probs == sorted(probs)
    assert m.weights[0] > 0
