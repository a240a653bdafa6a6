"""What an OCR engine read in a text field, cleaned up, and how much to trust it.

* :func:`charset_class` — which characters a field can hold: ``kana`` (フリガナ, 口座名義),
  ``name`` (氏名, 続柄: kanji and kana only), ``address`` (住所: plus digits and hyphens),
  ``narrow`` (the field's own ``charset``, e.g. a phone number) or ``text`` (anything else:
  kana, kanji, digits, Latin letters and a little punctuation).
* :func:`clean_text` drops characters outside the class (``©``, ``|``, ``=`` … that ruled-line
  remnants, specks and seals turn into) and separators that cannot start or end a value
  (a leading ``ー``, an address's trailing ``-``), keeping the per-character confidences aligned.
* :func:`char_margins` — a character's confidence, lowered by how close its runner-up came
  (tesseract's alternatives): an ``タ`` read with ``ダ`` a close second is not sure at all.
* :func:`fix_lookalikes` — katakana and kanji of the same shape (ニ/二, ハ/八, ー/一 …) chosen
  by the script around them; :func:`implausible_chars` counts characters that are unlikely where
  they stand (a kana word starting with ッ, マッオ, 稲も区).
* :func:`length_fit` — whether the number of characters read fits the width of the writing:
  Japanese characters are about as wide as they are tall, so an inserted or lost character shows.
* :func:`text_confidence` — one number from the weakest and mean character confidence and every
  doubt above (and a second reading that disagrees). Tesseract is over-confident, on handwriting
  most of all: a reading is only put above 0.9 when nothing at all speaks against it.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass, field

from jimu.forms_schema.model import LeafField

CharsetClass = str  # "kana" | "name" | "address" | "narrow" | "text"

HYPHENS = frozenset("-‐‑‒–—―−－ｰ")
LONG_VOWEL = "ー"
SMALL_KANA = frozenset("ァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎ")
# marks that belong inside Japanese names and addresses
JA_MARKS = frozenset("々〆ヶヵ〇・ー")
TEXT_PUNCT = frozenset("・()（）&＆.,，．'’/／")


def _is_kanji(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


def _is_hiragana(ch: str) -> bool:
    return 0x3041 <= ord(ch) <= 0x309F


def _is_katakana(ch: str) -> bool:
    o = ord(ch)
    return 0x30A1 <= o <= 0x30FA or ch in "ーヽヾ"


def _is_digit(ch: str) -> bool:
    return unicodedata.normalize("NFKC", ch) in "0123456789" and ch.strip() != ""


def _is_latin(ch: str) -> bool:
    n = unicodedata.normalize("NFKC", ch)
    return len(n) == 1 and ("a" <= n <= "z" or "A" <= n <= "Z")


def charset_class(leaf: LeafField) -> CharsetClass:
    """The class of characters a text field may hold, from its kind, charset, vocabulary and label."""
    if leaf.kind == "kana":
        return "kana"
    if leaf.charset:
        return "narrow"
    label = leaf.label
    if leaf.vocabulary or "氏名" in label or "名義" in label:
        return "name"
    if "住所" in label:
        return "address"
    return "text"


def allowed(ch: str, cls: CharsetClass, charset: str | None = None) -> bool:
    if cls == "narrow":
        return charset is None or unicodedata.normalize("NFKC", ch) in charset or ch in charset
    if cls == "kana":
        return _is_katakana(ch) or _is_hiragana(ch)
    ja = _is_kanji(ch) or _is_hiragana(ch) or _is_katakana(ch) or ch in JA_MARKS
    if cls == "name":
        return ja
    if cls == "address":
        return ja or _is_digit(ch) or ch in HYPHENS
    return ja or _is_digit(ch) or ch in HYPHENS or _is_latin(ch) or ch in TEXT_PUNCT


@dataclass
class Cleaned:
    text: str
    confidences: list[float]
    margins: list[float] = field(default_factory=list)
    dropped: str = ""  # the characters that were dropped, in order
    dropped_inside: int = 0  # of those, how many sat between kept characters (not at the ends)
    implausible: int = 0  # characters that are unlikely where they stand (see :func:`implausible_chars`)


def clean_text(text: str, confidences: list[float], cls: CharsetClass, charset: str | None = None,
               margins: list[float] | None = None) -> Cleaned:
    """Drop characters a field of class ``cls`` cannot hold; keep confidences (and margins) aligned."""
    confs = list(confidences) + [0.0] * max(0, len(text) - len(confidences))
    margs = list(margins) if margins is not None else list(confs)
    margs += [0.0] * max(0, len(text) - len(margs))
    keep = [not ch.isspace() and allowed(ch, cls, charset) for ch in text]
    idx = [i for i, k in enumerate(keep) if k]
    # separators that cannot start or end a value
    while idx and _bad_start(text[idx[0]], cls):
        keep[idx.pop(0)] = False
    while idx and _bad_end(text, idx, cls):
        keep[idx.pop()] = False
    dropped = "".join(ch for ch, k in zip(text, keep, strict=True) if not k and not ch.isspace())
    inside = 0
    if idx:
        inside = sum(1 for i in range(idx[0], idx[-1]) if not keep[i] and not text[i].isspace())
    kept = fix_lookalikes("".join(text[i] for i in idx), cls)
    if cls == "kana":
        kept = fix_small_kana(kept)
    if cls == "kana" and kept and kept[0] in SMALL_KANA:
        kept = SMALL_TO_LARGE.get(kept[0], kept[0]) + kept[1:]  # no word starts with a small kana
        odd = 1
    else:
        odd = 0
    return Cleaned(
        text=kept,
        confidences=[confs[i] for i in idx],
        margins=[margs[i] for i in idx],
        dropped=dropped,
        dropped_inside=inside,
        implausible=odd + implausible_chars(kept, cls),
    )


SMALL_TO_LARGE = {
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ", "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ",
    "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ", "ぁ": "あ", "ぃ": "い", "ぅ": "う", "ぇ": "え", "ぉ": "お", "っ": "つ",
    "ゃ": "や", "ゅ": "ゆ", "ょ": "よ", "ゎ": "わ",
}
HIRAGANA_BETWEEN_KANJI_OK = frozenset("のがつヶケ")


VOWEL_KANA = frozenset("アイウエオあいうえお")
YOON_BASE = frozenset("キギシジチヂニヒビピミリテデフヴきぎしじちぢにひびぴみりてでふ")  # may take ャュョ


def _kana_pair_impossible(a: str, b: str) -> bool:
    """Two kana that do not follow each other in Japanese words (マッオ, アョ, ンァ)."""
    if a in "ッっ":
        return b in VOWEL_KANA or b in "ンんー" or b in SMALL_KANA
    if b in "ャュョゃゅょ":
        return a not in YOON_BASE
    if b in "ァィゥェォぁぃぅぇぉ":
        return a in "ンんーッっ" or a in SMALL_KANA
    return False


SMALL_VOWEL_BASE = frozenset("ウクグスズツテデトドフヴシジチイ")  # may take ァィゥェォ (ティ, ファ, シェ, イェ)


def fix_small_kana(text: str) -> str:
    """A small kana where none can stand (ツョ, コィ, ワュ) is its large twin (ツヨ, コイ, ワユ).

    The recogniser confuses the two sizes; a pair no word has is the sign. Legitimate pairs
    (キョ, ティ, ファ …) are kept, and so are the doubtful ones (ジョ/ジヨ both exist): those are
    left to the confidence and the furigana check.
    """
    out = list(text)
    for i in range(1, len(out)):
        small_vowel_odd = out[i] in "ァィゥェォ" and out[i - 1] not in SMALL_VOWEL_BASE
        if out[i] in SMALL_KANA and out[i] not in "ッっ" and (small_vowel_odd or _kana_pair_impossible(out[i - 1], out[i])):
            out[i] = SMALL_TO_LARGE.get(out[i], out[i])
    return "".join(out)


def implausible_chars(text: str, cls: CharsetClass) -> int:
    """How many characters are unlikely where they stand, a sign of a misread.

    * kana: a small kana, ン or ー that starts the reading, two small kana in a row, a pair no
      Japanese word has (ッ before a vowel, ョ after a kana that takes none), ッ at the end;
    * names and addresses: a single hiragana between two kanji (稲も区 for 稲毛区), other
      than the particles and counters that do stand there (の, が, つ, ヶ); a ー that does not
      follow a kana.
    """
    n = 0
    if cls == "kana":
        if text and (text[0] in SMALL_KANA or text[0] in "ンー"):
            n += 1
        n += sum(1 for a, b in itertools.pairwise(text) if a in SMALL_KANA and b in SMALL_KANA)
        n += sum(1 for a, b in itertools.pairwise(text) if _kana_pair_impossible(a, b))
        if len(text) > 1 and text[-1] in "ッっ":
            n += 1
    elif cls in ("name", "address"):
        for i in range(1, len(text) - 1):
            ch = text[i]
            if _is_hiragana(ch) and ch not in HIRAGANA_BETWEEN_KANJI_OK and _is_kanji(text[i - 1]) and _is_kanji(text[i + 1]):
                n += 1
        # ー lengthens a kana's vowel: after a kanji or a digit it is a misread line or dash
        n += sum(1 for a, b in itertools.pairwise(text) if b == LONG_VOWEL and not (_is_katakana(a) or _is_hiragana(a)))
    return n


# katakana and kanji (and a digit or two) that are the same shape in print and handwriting
KATA_TO_KANJI = {"ニ": "二", "ハ": "八", "ロ": "口", "エ": "工", "カ": "力", "タ": "夕", "ト": "卜", "ー": "一"}
KANJI_TO_KATA = {v: k for k, v in KATA_TO_KANJI.items()}


def _script(ch: str) -> str:
    if ch in KATA_TO_KANJI or ch in KANJI_TO_KATA:
        return "?"
    if _is_kanji(ch) or ch in "々〆":
        return "kanji"
    if _is_katakana(ch):
        return "kata"
    if _is_hiragana(ch):
        return "hira"
    if _is_digit(ch):
        return "digit"
    return "other"


def fix_lookalikes(text: str, cls: CharsetClass) -> str:
    """Katakana ↔ kanji of the same shape (ニ/二, ハ/八, ロ/口, ー/一 …) by the script around them.

    Between kanji (or a kanji and the end) a ニ is 二; between katakana a 二 is ニ. A lone or
    mixed-context character is left as read. Only for Japanese name, address and free text.
    """
    if cls not in ("name", "address", "text") or not any(c in KATA_TO_KANJI or c in KANJI_TO_KATA for c in text):
        return text
    scripts = [_script(c) for c in text]
    out = list(text)
    for i, ch in enumerate(text):
        if scripts[i] != "?":
            continue
        left = next((scripts[j] for j in range(i - 1, -1, -1) if scripts[j] != "?"), None)
        right = next((scripts[j] for j in range(i + 1, len(text)) if scripts[j] != "?"), None)
        sides = {s for s in (left, right) if s is not None}
        if sides and sides <= {"kanji", "digit"} and "kanji" in sides and ch in KATA_TO_KANJI:
            if ch == "ー" and left != "kanji":
                continue  # 一 follows a kanji (一丁目 after a town name); after a digit it is a dash
            out[i] = KATA_TO_KANJI[ch]
        elif "kata" in sides and "kanji" not in sides and ch in KANJI_TO_KATA:
            out[i] = KANJI_TO_KATA[ch]
    return "".join(out)


def _bad_start(ch: str, cls: CharsetClass) -> bool:
    if cls == "narrow":
        return False
    return ch == LONG_VOWEL or ch in HYPHENS or ch in "・.,，．'’/／&＆)）"


def _bad_end(text: str, idx: list[int], cls: CharsetClass) -> bool:
    if cls in ("narrow", "kana"):
        return False
    ch = text[idx[-1]]
    if ch in HYPHENS or ch == "・" or ch in ".,，．'’/／&＆(（":
        return True
    if ch == LONG_VOWEL:  # ー ends a katakana word (センター), not a kanji or a number
        return len(idx) < 2 or not (_is_katakana(text[idx[-2]]) and text[idx[-2]] != LONG_VOWEL)
    return False


def char_margins(text: str, confidences: list[float],
                 alternatives: list[list[tuple[str, float]]] | None, weight: float = 1.0) -> list[float]:
    """Per character: its confidence times (1 − weight × the best competing alternative's score).

    When the engine's own top alternative is another character, the margin is at most the
    competitor's shortfall. Without alternatives the confidences are returned unchanged.
    """
    if not alternatives:
        return list(confidences)
    out: list[float] = []
    for i, ch in enumerate(text):
        c = confidences[i] if i < len(confidences) else 0.0
        alts = alternatives[i] if i < len(alternatives) else []
        other = max((s for a, s in alts if a != ch and a.strip()), default=0.0)
        out.append(max(0.0, c * (1.0 - weight * other)))
    return out


def char_width(ch: str) -> float:
    """Advance of a character in ems: full-width 1, narrow (digits, Latin, '-') about 0.55."""
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 0.55


# width of a line of writing ≈ (ALPHA × ems + BETA) × its core height; fitted on typed and
# handwriting-font fixtures (katakana are shorter than kanji for the same advance)
LENGTH_MODEL = {"kana": (1.41, -0.93), "name": (1.22, -0.2), "address": (1.28, -1.39), "text": (1.25, -0.32)}


def length_fit(text: str, cls: CharsetClass, ink_width: int, core_height: int) -> float:
    """Measured width of the writing over the width expected for ``text``: about 1 when the count fits.

    Clearly below 1 when a character was read twice (タダ for ダ), above when one was lost.
    1.0 for classes without a model (narrow fields) and for empty text.
    """
    model = LENGTH_MODEL.get(cls)
    ems = sum(char_width(ch) for ch in text)
    if model is None or not ems or core_height <= 0:
        return 1.0
    alpha, beta = model
    expected = max(0.5, alpha * ems + beta)
    return ink_width / core_height / expected


# --------------------------------------------------------------------------------------------------
# confidence of a text field

BLEND_MIN = 0.5  # field confidence = BLEND_MIN × weakest character + (1 − BLEND_MIN) × mean …
WEAK_CHAR, WEAK_POWER = 0.95, 2.0  # … × (weakest / WEAK_CHAR) ** WEAK_POWER when the weakest is below WEAK_CHAR
DISAGREE_FACTOR = 0.75  # a second reading (other model or scale) came out different
DROPPED_END_FACTOR = 0.9  # junk dropped before or after the value
DROPPED_INSIDE_FACTOR = 0.8  # junk dropped between kept characters
TOUCHES_EDGE_FACTOR = 0.9  # the writing runs over the box's line: something may be cut off
RETRY_FACTOR = 0.8  # the first reading gave nothing usable
NOISE_FACTOR = 0.95  # a seal or a line remnant had to be removed from the crop
IMPLAUSIBLE_FACTOR = 0.8  # per character that is unlikely where it stands
FIT_LOW, FIT_HIGH = 0.9, 1.35  # length fit outside this band lowers the confidence


@dataclass(frozen=True)
class TextEvidence:
    chars: list[float]  # per-character confidences of the cleaned text (margins where available)
    dropped: str = ""
    dropped_inside: int = 0
    fit: float = 1.0
    agrees: bool | None = None  # None: no second reading
    touches_edge: bool = False
    retried: bool = False
    noise: bool = False
    implausible: int = 0


def text_confidence(ev: TextEvidence) -> float:
    """One number for a text field, low when any of its characters is weak or anything looked wrong."""
    if not ev.chars:
        return 0.0
    lo = min(ev.chars)
    mean = sum(ev.chars) / len(ev.chars)
    conf = BLEND_MIN * lo + (1 - BLEND_MIN) * mean
    if lo < WEAK_CHAR:  # tesseract is over-confident: a character below this is often a misread
        conf *= (lo / WEAK_CHAR) ** WEAK_POWER
    if ev.agrees is False:
        conf *= DISAGREE_FACTOR
    if ev.dropped_inside:
        conf *= DROPPED_INSIDE_FACTOR
    elif ev.dropped:
        conf *= DROPPED_END_FACTOR
    if ev.touches_edge:
        conf *= TOUCHES_EDGE_FACTOR
    if ev.retried:
        conf *= RETRY_FACTOR
    if ev.noise:
        conf *= NOISE_FACTOR
    if ev.implausible:
        conf *= IMPLAUSIBLE_FACTOR ** ev.implausible
    if ev.fit < FIT_LOW:
        conf *= max(0.3, 1.0 - 3.0 * (FIT_LOW - ev.fit))
    elif ev.fit > FIT_HIGH:
        conf *= max(0.3, 1.0 - 1.5 * (ev.fit - FIT_HIGH))
    return max(0.0, min(1.0, conf))
