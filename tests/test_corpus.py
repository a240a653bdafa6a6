"""Corpus generator: deterministic, truthful (every truth passes the form's own rules), all tiers and containers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image

from jimu.fixtures import corpus
from jimu.fixtures.values import value_problems
from jimu.forms_schema import get_form


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("quality", ["clean", "office", "poor", "handwritten"])
def test_generate_tier_writes_scans_with_truth(tmp_path: Path, quality: str) -> None:
    names = corpus.generate("all", 3, 7, quality, tmp_path, workers=1)  # type: ignore[arg-type]
    assert len(names) == 3
    pairs = list(corpus.iter_truth(tmp_path))
    expected = (quality, 200 if quality == "poor" else 300, ".png" if quality == "clean" else ".jpg")
    assert [(truth["scan"]["quality"], _dpi(scan), scan.suffix) for scan, truth in pairs] == [expected] * 3


def _dpi(scan: Path) -> int:
    with Image.open(scan) as im:
        return round(im.info["dpi"][0])


CAPTURE_EXT = {"phone": ".jpg", "fax": ".tif", "blue_ink": ".jpg", "hand_lettered": ".jpg", "stained": ".jpg",
               "folded": ".jpg", "misfeed": ".jpg"}


@pytest.mark.parametrize("quality", sorted(CAPTURE_EXT))
def test_generate_capture_profile(tmp_path: Path, quality: str) -> None:
    (name,) = corpus.generate("inkan_toroku", 1, 7, quality, tmp_path, workers=1)  # type: ignore[arg-type]
    assert name.endswith(CAPTURE_EXT[quality])
    ((_scan, truth),) = list(corpus.iter_truth(tmp_path))
    info = truth["scan"]
    assert info["quality"] == quality and info["seed"] == 7 and info["index"] == 0
    assert info["font"].endswith(".ttf") and len(info["ink_rgb"]) == 3
    assert (info["dpi"] is None) == (quality == "phone")
    if quality == "phone":
        assert len(info["homography"]) == 3 and all(len(r) == 3 for r in info["homography"])


@pytest.mark.parametrize("quality", ["phone", "fax"])
def test_capture_profile_is_byte_identical_for_a_seed(tmp_path: Path, quality: str) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    corpus.generate("kaigo_nintei", 1, 21, quality, a, workers=1)  # type: ignore[arg-type]
    corpus.generate("kaigo_nintei", 1, 21, quality, b, workers=1)  # type: ignore[arg-type]
    corpus.generate("kaigo_nintei", 1, 22, quality, c, workers=1)  # type: ignore[arg-type]
    assert digest(a) == digest(b)
    assert list(digest(a).values()) != list(digest(c).values())


@pytest.mark.parametrize(("tier_a", "tier_b"), [("office", "poor"), ("clean", "handwritten"), ("office", "phone")])
def test_tiers_draw_independent_values(tier_a: str, tier_b: str) -> None:
    form = get_form("jumin_idou")
    _, ta, _ = corpus.make_one(form, 3, 0, tier_a)  # type: ignore[arg-type]
    _, tb, _ = corpus.make_one(form, 3, 0, tier_b)  # type: ignore[arg-type]
    assert ta["fields"] != tb["fields"]
    _, again, _ = corpus.make_one(form, 3, 0, tier_a)  # type: ignore[arg-type]
    assert again["fields"] == ta["fields"]


def test_shared_values_keeps_the_old_shared_value_sets() -> None:
    """--shared-values: every tier of a seed gets the value sets of the old (seed, index) key, as in jimu/fixtures/samples."""
    import random

    from jimu.fixtures.values import sample_values

    form = get_form("inkan_toroku")
    old = sample_values(form, random.Random("jimu-corpus-424242-0"), corpus.CORPUS_TODAY)
    _, office, _ = corpus.make_one(form, 424242, 0, "office", shared_values=True)
    _, poor, _ = corpus.make_one(form, 424242, 0, "poor", shared_values=True)
    assert office["fields"] == poor["fields"] == old
    sample = json.loads((Path(__file__).parents[1] / "jimu" / "fixtures" / "samples"
                         / "inkan_toroku_office_s424242_0000.truth.json").read_text())
    assert sample["fields"] == json.loads(json.dumps(office["fields"], ensure_ascii=False))


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
    truths = [truth for _scan, truth in corpus.iter_truth(tmp_path)]
    assert [t["form_id"] for t in truths] == [form_id] * 4
    assert [set(t["fields"]) for t in truths] == [{lf.id for lf in form.leaf_fields()}] * 4
    assert [value_problems(form, t["fields"], corpus.CORPUS_TODAY) for t in truths] == [[]] * 4


@pytest.mark.parametrize("kind", ["tiff", "pdf"])
def test_feeder_container(tmp_path: Path, kind: str) -> None:
    path = corpus.generate_container("all", 4, 5, "office", tmp_path, kind)  # type: ignore[arg-type]
    truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
    assert len(truth["documents"]) == 4
    assert truth["pages"] >= 4
    if kind == "tiff":
        with Image.open(path) as im:
            assert getattr(im, "n_frames", 1) == truth["pages"]
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
