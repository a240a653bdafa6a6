"""A PC-filled PDF's text layer is evidence like any other reading: it passes the same character rules."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from jimu.extractors.text_layer import read_text_layer
from jimu.extractors.types import TextWord
from jimu.fixtures.corpus import CORPUS_TODAY
from jimu.forms_schema import get_form
from jimu.validators.policy import THRESHOLD_KINDS, FieldInput, Thresholds, decide

FORM = get_form("inkan_toroku")
T = Thresholds(version="test", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.5))


def _word_in(field_id: str, text: str) -> TextWord:
    e = FORM.leaf(field_id).entry
    return TextWord(text, e.x + 2, e.y + 2, e.x + 30, e.y + 6)


@pytest.mark.parametrize(("field_id", "text"), [
    ("name", "<script>alert(1)</script>"),
    ("name", "山田<b>太郎</b>"),
    ("name", "Yamada Taro"),
    ("kana", "ヤマダ<i>タロウ"),
    ("address", "千葉市中央区<img src=x>"),
])
def test_markup_or_latin_in_a_typed_name_is_flagged(field_id: str, text: str) -> None:
    reading = read_text_layer(FORM, [_word_in(field_id, text)])[field_id]
    assert reading.problem == "bad_characters" and reading.raw == text
    d = decide(FORM, {field_id: FieldInput(reading.raw, reading.confidence, reading.problem)}, T, CORPUS_TODAY)
    assert d.fields[field_id].status == "flagged"
    assert "bad_characters" in d.fields[field_id].reasons


@pytest.mark.parametrize(("field_id", "text"), [("name", "山田 太郎"), ("kana", "ヤマダ タロウ"),
                                                ("address", "千葉市中央区中央3丁目4-5")])
def test_ordinary_typed_values_keep_the_text_layer_confidence(field_id: str, text: str) -> None:
    reading = read_text_layer(FORM, [_word_in(field_id, text)])[field_id]
    assert reading.problem is None and reading.confidence > 0.99


def test_pc_filled_pdf_with_markup_in_the_name_is_flagged_end_to_end(tmp_path: Path) -> None:
    from jimu.extractors.extract import Extractor
    from jimu.extractors.ingest import load_documents
    from jimu.fixtures.fonts import font_path
    from jimu.fixtures.render import Hand, render_pdf
    from jimu.fixtures.values import sample_values

    values = sample_values(FORM, random.Random(3), CORPUS_TODAY)
    values["name"] = "山田<script>太郎"
    path = render_pdf(FORM, tmp_path / "pc.pdf", values, hand=Hand(font=font_path("gothic")))
    (doc,) = load_documents(path)
    ex = Extractor()
    res = ex.extract(doc)
    f = res.fields["name"]
    assert f.source == "text_layer" and f.problem == "bad_characters"
    d = decide(FORM, {k: FieldInput(v.value, v.confidence, v.problem, v.snapped_from) for k, v in res.fields.items()},
               T, CORPUS_TODAY)
    assert d.fields["name"].status == "flagged"
