"""The neural recogniser (``ppocr`` engine): loads offline from the installed wheel, reads field crops.

Crops are rendered with fonts of the renderer (IPA Gothic/Mincho, Seto) at 300 dpi, one line each.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from jimu.extractors.engines import ENGINES, OcrRequest, get_engine
from jimu.extractors.engines.ppocr import PpocrEngine, decode, model_path
from jimu.extractors.neural_text import HIRAGANA, KATAKANA

GOTHIC = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
MINCHO = Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf")
SETO = Path("/usr/share/fonts/truetype/seto/setofont.ttf")

pytestmark = pytest.mark.skipif(not (GOTHIC.exists() and MINCHO.exists() and SETO.exists()), reason="fonts not installed")


def render_line(text: str, font: Path, px: int = 40) -> np.ndarray:
    f = ImageFont.truetype(str(font), px)
    left, top, right, bottom = (int(v) for v in f.getbbox(text))
    im = Image.new("L", (right - left + 24, bottom - top + 24), 255)
    ImageDraw.Draw(im).text((12 - left, 12 - top), text, font=f, fill=0)
    return np.asarray(im).copy()


@pytest.fixture(scope="module")
def engine() -> PpocrEngine:
    return PpocrEngine()


def test_is_the_default_engine_and_registered() -> None:
    assert "ppocr" in ENGINES
    assert get_engine().name == "ppocr"


def test_weights_come_from_the_installed_wheel() -> None:
    p = model_path()
    assert p.name == "PP-OCRv6_rec_small.onnx"
    assert "site-packages" in p.parts or "dist-packages" in p.parts


def test_version_names_model_and_runtime(engine: PpocrEngine) -> None:
    v = engine.version()
    assert "PP-OCRv6_rec_small" in v and "onnxruntime" in v


@pytest.mark.parametrize(
    ("text", "font"),
    [
        ("山田太郎", MINCHO),
        ("佐藤花子", SETO),
        ("千葉市中央区千葉港1番1号", GOTHIC),
        ("千葉市稲毛区穴川4丁目12番5号", SETO),
        ("澤邊", MINCHO),  # legitimate old forms stay as written
    ],
)
def test_reads_names_and_addresses(engine: PpocrEngine, text: str, font: Path) -> None:
    res = engine.recognize(OcrRequest(render_line(text, font)))
    assert res.text == text
    assert len(res.char_confidences) == len(res.text)
    assert min(res.char_confidences) > 0.5


@pytest.mark.parametrize(("text", "font"), [("ヤマダタロウ", GOTHIC), ("キョウコ", SETO), ("シュウイチ", MINCHO)])
def test_reads_kana_under_a_kana_whitelist(engine: PpocrEngine, text: str, font: Path) -> None:
    res = engine.recognize(OcrRequest(render_line(text, font), whitelist=KATAKANA + HIRAGANA, alternatives=True))
    assert res.text == text
    assert res.alternatives is not None and len(res.alternatives) == len(text)


def test_whitelist_restricts_output(engine: PpocrEngine) -> None:
    res = engine.recognize(OcrRequest(render_line("043-245-5111", GOTHIC), whitelist="0123456789-"))
    assert res.text == "043-245-5111"
    odd = engine.recognize(OcrRequest(render_line("山田", GOTHIC), whitelist="0123456789-"))
    assert set(odd.text) <= set("0123456789-")


def test_blank_crop_reads_empty(engine: PpocrEngine) -> None:
    res = engine.recognize(OcrRequest(np.full((40, 200), 255, np.uint8)))
    assert res.text == "" and res.confidence == 0.0


def test_decode_merges_repeats_and_drops_blanks() -> None:
    symbols = ["", "a", "b", " "]
    p = np.array([[0.1, 0.8, 0.1, 0], [0.1, 0.9, 0, 0], [0.9, 0.1, 0, 0], [0.1, 0.7, 0.2, 0], [0.2, 0, 0.8, 0]], np.float32)
    res = decode(p, symbols, alternatives=True)
    assert res.text == "aab"
    assert res.char_confidences == pytest.approx([0.9, 0.7, 0.8])
    assert res.alternatives is not None and res.alternatives[2][0][0] == "b"


def test_decode_under_a_mask_picks_the_best_allowed_symbol() -> None:
    symbols = ["", "a", "b"]
    p = np.array([[0.1, 0.6, 0.3]], np.float32)
    allowed = np.array([True, False, True])
    res = decode(p, symbols, allowed)
    assert res.text == "b" and res.char_confidences == pytest.approx([0.3])


OFFLINE_SCRIPT = r"""
import socket
def refuse(*a, **k):
    raise OSError("network disabled for this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from jimu.extractors.engines.ppocr import PpocrEngine
from jimu.extractors.engines.base import OcrRequest
f = ImageFont.truetype(sys.argv[1], 40)
im = Image.new("L", (260, 64), 255)
ImageDraw.Draw(im).text((10, 8), "千葉市", font=f, fill=0)
print(PpocrEngine().recognize(OcrRequest(np.asarray(im))).text)
"""


def test_loads_and_reads_with_the_network_unreachable(tmp_path: Path) -> None:
    """Every socket connection and name lookup fails in the child: the engine must not need them."""
    script = tmp_path / "offline.py"
    script.write_text("import sys\n" + OFFLINE_SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(GOTHIC)], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "千葉市"


def test_offline_guard_really_blocks() -> None:
    """The guard used above does stop a connection (so the offline test can fail)."""
    code = "import socket\n" + OFFLINE_SCRIPT.split("import numpy")[0] + "socket.create_connection(('127.0.0.1', 9))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "network disabled" in out.stderr
    assert socket.socket.connect is not None
