"""Corpus generator: deterministic, truthful (every truth passes the form's own rules), all tiers and containers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image

from fixtures import corpus
from fixtures.values import value_problems
from forms_schema import get_form


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("quality", ["clean", "office", "poor", "handwritten"])
def test_generate_tier_writes_scans_with_truth(tmp_path: Path, quality: str) -> None:
    names = corpus.generate("all", 3, 7, quality, tmp_path, workers=1)  # type: ignore[arg-type]
    assert len(names) == 3
    pairs = list(corpus.iter_truth(tmp_path))
    assert len(pairs) == 3
    for scan, truth in pairs:
        assert truth["scan"]["quality"] == quality
        with Image.open(scan) as im:
            dpi = round(im.info["dpi"][0])
        assert dpi == (200 if quality == "poor" else 300)
        assert scan.suffix == (".png" if quality == "clean" else ".jpg")


def test_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    corpus.generate("all", 4, 11, "office", a, workers=1)
    corpus.generate("all", 4, 11, "office", b, workers=2)
    corpus.generate("all", 4, 12, "office", c, workers=1)
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


@pytest.mark.parametrize("form_id", ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"])
def test_generated_truth_passes_the_forms_own_rules(tmp_path: Path, form_id: str) -> None:
    corpus.generate(form_id, 4, 3, "clean", tmp_path, workers=1)
    form = get_form(form_id)
    for _scan, truth in corpus.iter_truth(tmp_path):
        assert truth["form_id"] == form_id
        assert set(truth["fields"]) == {lf.id for lf in form.leaf_fields()}
        assert value_problems(form, truth["fields"], corpus.CORPUS_TODAY) == []


@pytest.mark.parametrize("kind", ["tiff", "pdf"])
def test_feeder_container(tmp_path: Path, kind: str) -> None:
    path = corpus.generate_container("all", 4, 5, "office", tmp_path, kind)  # type: ignore[arg-type]
    truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
    assert len(truth["documents"]) == 4
    assert truth["pages"] >= 4
    if kind == "tiff":
        with Image.open(path) as im:
            assert im.n_frames == truth["pages"]
    else:
        with pdfplumber.open(path) as pdf:
            assert len(pdf.pages) == truth["pages"]
            assert not pdf.pages[0].extract_text().strip()


def test_pc_filled_pdf_has_values_as_text(tmp_path: Path) -> None:
    (path,) = corpus.generate_pc_pdf("inkan_toroku", 1, 9, tmp_path)
    truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
    with pdfplumber.open(path) as pdf:
        text = pdf.pages[0].extract_text().replace(" ", "")
    assert truth["fields"]["name"] in text


def test_generate_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from jimu.cli import app

    r = CliRunner().invoke(app, ["fixtures", "generate", "--form", "kaigo_nintei", "--count", "2", "--seed", "3",
                                 "--quality", "clean", "--out", str(tmp_path), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert len(list(tmp_path.glob("*.truth.json"))) == 2
    r = CliRunner().invoke(app, ["fixtures", "generate", "--form", "nope", "--count", "1", "--out", str(tmp_path)])
    assert r.exit_code != 0


def test_forms_cli_list_and_show() -> None:
    from typer.testing import CliRunner

    from jimu.cli import app

    r = CliRunner().invoke(app, ["forms", "list", "--json"])
    assert r.exit_code == 0
    assert {f["form_id"] for f in json.loads(r.output)} == {
        "inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"}
    r = CliRunner().invoke(app, ["forms", "show", "kodomo_iryohi"])
    assert r.exit_code == 0
    assert "guardian_mynumber" in r.output and "restricted" in r.output
