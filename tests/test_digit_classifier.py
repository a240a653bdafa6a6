"""The 1文字枠 digit classifier: the shipped model loads and reads printed digits in box crops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from jimu.extractors.digit_classifier import (
    DEFAULT_MODEL_PATH,
    NORM_SIZE,
    DigitClassifier,
    DigitPrediction,
    hog_features,
    preprocess_cell,
)

HALF = "0123456789"
FULL = "０１２３４５６７８９"
PRINT_FONTS = {
    "ipa-gothic": "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "ipa-pgothic": "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
    "ipa-mincho": "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
    "ipa-pmincho": "/usr/share/fonts/opentype/ipafont-mincho/ipamp.ttf",
    "noto-sans-cjk": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "noto-serif-cjk": "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "dejavu-sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "dejavu-serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "droid-sans": "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}
DIGIT_CHARS = {"droid-sans": FULL}  # Droid Sans Fallback has no half-width digits


@pytest.fixture(scope="module")
def clf() -> DigitClassifier:
    return DigitClassifier.default()


def box_crop(
    text: str | None,
    font_path: str | None = None,
    *,
    w: int = 70,
    h: int = 90,
    rel_size: float = 0.7,
    dx: float = 0.0,
    dy: float = 0.0,
    borders: str = "lt",
    blur: float = 0.0,
    jpeg: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A grayscale box crop (0 = ink): ``text`` in ``font_path`` at ``rel_size`` of the box height, its
    centre moved by (dx, dy) box sizes, 2-px border remnants on the sides in ``borders`` (l/t/r/b)."""
    img = np.full((h, w), 245, np.uint8)
    if text is not None:
        assert font_path is not None
        font = ImageFont.truetype(font_path, 200)
        big = Image.new("L", (400, 400), 0)
        ImageDraw.Draw(big).text((100, 50), text, font=font, fill=255)
        a = np.asarray(big)
        ys, xs = np.nonzero(a > 40)
        glyph = a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        th = round(rel_size * h)
        tw = max(1, min(w - 4, round(glyph.shape[1] * th / glyph.shape[0])))
        small = cv2.resize(glyph, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        x0 = int(np.clip(round(w / 2 + dx * w - tw / 2), 2, w - tw - 2))
        y0 = int(np.clip(round(h / 2 + dy * h - th / 2), 2, h - th - 2))
        region = img[y0 : y0 + th, x0 : x0 + tw].astype(np.float32)
        img[y0 : y0 + th, x0 : x0 + tw] = (region * (1 - small) + 20 * small).astype(np.uint8)
    if "l" in borders:
        img[:, 0:2] = 30
    if "r" in borders:
        img[:, w - 3 : w - 1] = 30
    if "t" in borders:
        img[0:3, :] = 40
    if "b" in borders:
        img[h - 2 :, :] = 40
    out: np.ndarray = img.astype(np.float32)
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if noise:
        out += np.random.default_rng(seed).normal(0, noise, out.shape).astype(np.float32)
    res: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    if jpeg is not None:
        ok, buf = cv2.imencode(".jpg", res, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
        assert dec is not None
        res = dec
    return res


def test_shipped_model_loads_and_is_small() -> None:
    assert DEFAULT_MODEL_PATH.is_file()
    assert DEFAULT_MODEL_PATH.stat().st_size < 1024 * 1024
    clf = DigitClassifier.load()
    assert clf.members and all(m.weights[-1].shape[1] == 11 for m in clf.members)
    assert 0.2 < clf.temperature < 10


VARIANTS = [  # (rel_size, dx, dy, borders)
    (0.7, 0.0, 0.0, "lt"),
    (0.55, 0.15, -0.1, "ltrb"),
    (0.82, -0.1, 0.05, "rb"),
]


@pytest.mark.parametrize("variant", range(len(VARIANTS)), ids=["centred", "small-shifted-jpeg", "large-shifted"])
@pytest.mark.parametrize("font", sorted(PRINT_FONTS))
def test_reads_printed_digits(clf: DigitClassifier, font: str, variant: int) -> None:
    path = PRINT_FONTS[font]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    size, dx, dy, borders = VARIANTS[variant]
    crops = [box_crop(ch, path, rel_size=size, dx=dx, dy=dy, borders=borders, blur=0.6,
                      jpeg=70 if variant == 1 else None, noise=3, seed=variant)
             for ch in DIGIT_CHARS.get(font, HALF)]
    preds = clf.predict(crops)
    wrong = [(t, p.digit, round(p.probability, 3)) for t, p in zip(HALF, preds, strict=True) if p.digit != t]
    assert wrong == [], f"{font}: misread (truth, read, p)"
    assert np.mean([p.probability for p in preds]) > 0.95


def test_full_width_digits(clf: DigitClassifier) -> None:
    path = PRINT_FONTS["ipa-gothic"]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    preds = clf.predict([box_crop(ch, path) for ch in FULL])
    assert [p.digit for p in preds] == list("0123456789")


@pytest.mark.parametrize(
    ("borders", "noise", "blur", "jpeg"),
    [("lt", 0, 0, None), ("ltrb", 4, 0.8, 60), ("rb", 8, 1.0, 40), ("", 6, 0.0, None), ("lr", 2, 0.5, 80)],
)
def test_empty_boxes_are_empty(clf: DigitClassifier, borders: str, noise: float, blur: float, jpeg: int | None) -> None:
    crop = box_crop(None, borders=borders, noise=noise, blur=blur, jpeg=jpeg, seed=7)
    pred = clf.predict_one(crop)
    assert pred.is_empty and pred.digit is None
    assert pred.empty_probability > 0.9


def test_empty_box_with_specks_and_partial_border(clf: DigitClassifier) -> None:
    crop = box_crop(None, borders="", noise=3, seed=3)
    crop[:, 0:3] = 250
    crop[10:50, 0:3] = 25  # a piece of the left border
    crop[86:, 20:60] = 35  # a piece of the bottom border
    cv2.circle(crop, (40, 40), 1, 60, -1)  # a speck of dust
    assert preprocess_cell(crop) is None
    assert clf.predict_one(crop).is_empty


@pytest.mark.parametrize("digit", list("0123456789"))
def test_blurred_shifted_digit(clf: DigitClassifier, digit: str) -> None:
    path = PRINT_FONTS["noto-sans-cjk"]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    crop = box_crop(digit, path, rel_size=0.6, dx=0.18, dy=0.15, borders="ltrb", blur=1.2, jpeg=40, noise=5)
    pred = clf.predict_one(crop)
    assert pred.digit == digit, pred


@pytest.mark.parametrize("digit", list("0123456789"))
def test_upsampled_200dpi_digit(clf: DigitClassifier, digit: str) -> None:
    path = PRINT_FONTS["ipa-mincho"]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    crop = box_crop(digit, path, w=46, h=60, borders="lt")
    crop = cv2.resize(crop, (70, 90), interpolation=cv2.INTER_LINEAR)
    assert clf.predict_one(crop).digit == digit


@pytest.fixture(scope="module")
def noisy_predictions(clf: DigitClassifier) -> list[DigitPrediction]:
    path = PRINT_FONTS["dejavu-sans"]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    crops = [box_crop(d, path, blur=1.5, noise=10, seed=i) for i, d in enumerate("0123456789")]
    crops.append(box_crop(None))
    return clf.predict(crops)


@pytest.mark.parametrize("i", range(11), ids=[*"0123456789", "empty"])
def test_probabilities_are_probabilities(noisy_predictions: list[DigitPrediction], i: int) -> None:
    p = noisy_predictions[i]
    assert 0.0 <= p.probability <= 1.0
    assert 0.0 <= p.empty_probability <= 1.0
    assert len(p.digit_probabilities) == 10
    assert all(0.0 <= q <= 1.0 for q in p.digit_probabilities)
    assert sum(p.digit_probabilities) + p.empty_probability == pytest.approx(1.0, abs=1e-4)
    expected = p.empty_probability if p.digit is None else p.digit_probabilities[int(p.digit)]
    assert p.probability == pytest.approx(expected)
    alt, q = p.runner_up()
    assert alt != p.digit and 0.0 <= q <= 1.0


def test_batch_and_single_predictions_agree(clf: DigitClassifier) -> None:
    path = PRINT_FONTS["ipa-gothic"]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    crops = [box_crop(d, path, rel_size=0.5 + 0.03 * i, dx=0.02 * i - 0.1, seed=i, noise=4) for i, d in enumerate("3141592653")]
    crops.insert(4, box_crop(None, borders="ltrb"))
    batch = clf.predict(crops)
    single = [clf.predict_one(c) for c in crops]
    assert [p.digit for p in batch] == [p.digit for p in single]
    assert [p.probability for p in batch] == pytest.approx([p.probability for p in single], abs=1e-5)
    assert clf.predict([]) == []


def test_preprocess_cell_output() -> None:
    path = PRINT_FONTS["ipa-gothic"]
    if not Path(path).is_file():
        pytest.skip(f"{path} not installed")
    img = preprocess_cell(box_crop("7", path, borders="ltrb", dx=0.15))
    assert img is not None
    assert img.shape == (NORM_SIZE, NORM_SIZE) and img.dtype == np.float32
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    ys, xs = np.nonzero(img > 0.1)
    assert ys.max() - ys.min() + 1 <= 21 and xs.max() - xs.min() + 1 <= 21  # digit scaled into 20×20
    assert abs(float((img.sum(axis=0) * np.arange(NORM_SIZE)).sum() / img.sum()) - 13.5) < 1.0  # mass-centred
    assert preprocess_cell(box_crop(None, borders="ltrb")) is None
    assert preprocess_cell(np.full((90, 70), 255, np.uint8)) is None
    assert preprocess_cell(np.zeros((5, 5), np.uint8)) is None
    # colour and float crops are accepted
    bgr = cv2.cvtColor(box_crop("7", path), cv2.COLOR_GRAY2BGR)
    assert preprocess_cell(bgr) is not None
    assert preprocess_cell(box_crop("7", path).astype(np.float32) / 255) is not None


def test_hog_features_shape_and_norm() -> None:
    rng = np.random.default_rng(0)
    imgs = rng.random((3, NORM_SIZE, NORM_SIZE)).astype(np.float32)
    imgs[1] = 0
    h = hog_features(imgs)
    assert h.shape == (3, 324)
    assert np.all(h[1] == 0)
    blocks = h[0].reshape(9, 36)
    assert np.allclose(np.linalg.norm(blocks, axis=1), 1.0, atol=1e-3)


def test_save_load_round_trip(tmp_path: Path, clf: DigitClassifier) -> None:
    path = tmp_path / "m.npz"
    clf.save(path, note="test")
    again = DigitClassifier.load(path)
    x = np.random.default_rng(1).random((4, clf.mean.size)).astype(np.float32)
    assert np.allclose(again.proba(x), clf.proba(x), atol=1e-3)
    bad = tmp_path / "bad.npz"
    np.savez(bad, format=np.array("something-else"))
    with pytest.raises(ValueError):
        DigitClassifier.load(bad)
