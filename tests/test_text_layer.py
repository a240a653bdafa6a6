"""A PC-filled PDF's text layer is evidence like any other reading: it passes the same character rules."""

from __future__ import annotations

import random
import re
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


def test_pc_filled_pdf_from_the_fixtures_reads_every_typed_field(tmp_path: Path) -> None:
    """`jimu fixtures generate --pc-pdf`: the text layer is pdfplumber's words, in mm, and gives each typed value."""
    import json

    import pdfplumber
    from typer.testing import CliRunner

    from jimu.cli import app
    from jimu.extractors.ingest import load_documents

    r = CliRunner().invoke(app, ["fixtures", "generate", "--pc-pdf", "--form", "inkan_toroku", "--count", "1",
                                 "--seed", "5", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    (path,) = tmp_path.glob("*.pdf")
    truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())["fields"]
    (doc,) = load_documents(path)
    (page,) = doc.pages
    assert page.words is not None
    with pdfplumber.open(path) as pdf:
        plumber = pdf.pages[0].extract_words()
    assert [w.text for w in page.words] == [w["text"] for w in plumber]
    for w, pw in zip(page.words, plumber, strict=True):
        assert (w.x0, w.y0) == (pytest.approx(pw["x0"] * 25.4 / 72, abs=0.01), pytest.approx(pw["top"] * 25.4 / 72, abs=0.01))
        assert (w.x1, w.y1) == (pytest.approx(pw["x1"] * 25.4 / 72, abs=0.01), pytest.approx(pw["bottom"] * 25.4 / 72, abs=0.01))
    readings = read_text_layer(FORM, page.words)
    typed = {leaf.id for leaf in FORM.leaf_fields() if leaf.kind in ("text", "kana", "digits") and truth.get(leaf.id)}
    assert typed and set(readings) == typed
    for field_id in typed:
        reading = readings[field_id]
        assert reading.problem is None and reading.confidence > 0.99, field_id
        assert re.sub(r"[\s-]", "", reading.raw) == re.sub(r"[\s-]", "", str(truth[field_id])), field_id  # 080-… / 080…
