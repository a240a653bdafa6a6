"""Form classification (jimu.extractors.classify): each form is told apart from the other four, blank or
filled, and pages of other documents are not forced into a form."""

from __future__ import annotations

import random

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from jimu.bench.register_eval import turn_clockwise
from jimu.errors import UnknownFormError
from jimu.extractors import register as R
from jimu.extractors.classify import MIN_MARGIN, MIN_SCORE, classify_page, decide, score_all
from jimu.extractors.templates import all_templates, get_template, to_coarse_gray
from jimu.extractors.types import Page
from jimu.fixtures.render import render_png
from jimu.fixtures.scan import simulate_scan
from tests.resources.other_documents import letter_page, photo_page, table_page
from tests.test_register import FORM_IDS, corpus_scan, form

U8 = NDArray[np.uint8]
def _scan_of(img: Image.Image, quality: str, seed: int, quarter_turns: int = 0) -> Page:
    s = simulate_scan(img, quality, random.Random(seed))  # type: ignore[arg-type]
    a = R.to_gray(np.asarray(s.image))
    a, _ = turn_clockwise(a, np.eye(2, 3), quarter_turns)
    return Page(image=a, dpi=s.dpi, page_no=0)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_each_blank_form_is_classified(form_id: str) -> None:
    img = Image.fromarray(get_template(form_id).image)
    page = _scan_of(img, "office", FORM_IDS.index(form_id), quarter_turns=FORM_IDS.index(form_id) % 2)
    c = classify_page(page)
    assert c.form_id == form_id
    assert set(c.scores) == set(FORM_IDS)  # a score for every form
    assert c.score >= 0.9 and c.margin >= 0.25


@pytest.mark.parametrize(("form_id", "quality"), list(zip(FORM_IDS, ["office", "poor", "handwritten", "poor", "office"],
                                                          strict=True)))
def test_each_filled_form_is_classified(form_id: str, quality: str) -> None:
    s = corpus_scan(form_id, quality, 31 + FORM_IDS.index(form_id))
    c = classify_page(s.page)
    assert c.form_id == form_id, c.describe()
    assert c.ranked[0].recall > 0.9
    assert c.margin >= 0.25


@pytest.mark.parametrize(
    ("kind", "quality"),
    [("letter", "office"), ("letter", "poor"), ("table", "office"), ("table_with_marks", "poor"), ("photo", "office")],
)
def test_other_documents_are_unknown(kind: str, quality: str) -> None:
    rng = random.Random(kind + quality)
    img = {
        "letter": letter_page, "photo": photo_page, "table": table_page,
        "table_with_marks": lambda r: table_page(r, corner_marks=True),
    }[kind](rng)
    page = _scan_of(img, quality, 7, quarter_turns=1 if kind == "letter" and quality == "poor" else 0)
    c = classify_page(page)
    assert c.form_id is None
    assert c.score < MIN_SCORE
    with pytest.raises(UnknownFormError) as e:
        R.register_page(page)
    msg = e.value.message
    assert msg.startswith("This page does not match any of Jimu's forms (best match 0.")
    assert any(get_template(f).title in msg for f in FORM_IDS)  # names the closest form, for the clerk


def test_filled_values_do_not_hurt_the_match() -> None:
    """Ink in entry areas is tolerated; the same ink outside them counts against the form."""
    fid = "jumin_idou"
    t = get_template(fid)
    blank_d = R.normalised_darkness(to_coarse_gray(np.asarray(t.image)))
    import datetime as dt

    from jimu.fixtures.values import sample_values

    values = sample_values(form(fid), random.Random(2), dt.date(2026, 11, 20))
    filled = np.asarray(render_png(form(fid), values, dpi=300), dtype=np.uint8)
    filled_d = R.normalised_darkness(to_coarse_gray(filled))
    tpl = all_templates()
    s_blank = {s.form_id: s.score for s in score_all(blank_d, tpl)}
    s_filled = {s.form_id: s.score for s in score_all(filled_d, tpl)}
    assert s_filled[fid] > 0.95 and s_blank[fid] > 0.95
    # the same strokes scattered where nobody writes make it a poor match
    scribbled = filled_d.copy()
    rng = np.random.default_rng(0)
    forbidden = np.argwhere(t.forbidden)
    pick = forbidden[rng.choice(len(forbidden), size=len(forbidden) // 3, replace=False)]
    scribbled[pick[:, 0], pick[:, 1]] = 0.8
    assert {s.form_id: s.score for s in score_all(scribbled, tpl)}[fid] < MIN_SCORE


def test_decide_needs_a_clear_winner() -> None:
    from jimu.extractors.classify import FormScore

    def fs(fid: str, score: float) -> FormScore:
        return FormScore(form_id=fid, title=fid, score=score, recall=score, extra=0.0)

    assert decide([fs("a", 0.95), fs("b", 0.5)]).form_id == "a"
    assert decide([fs("a", MIN_SCORE - 0.01), fs("b", 0.1)]).form_id is None
    close = decide([fs("a", 0.9), fs("b", 0.9 - MIN_MARGIN / 2)])
    assert close.form_id is None and "too closely" in close.describe()
    assert decide([]).form_id is None
