"""The neural recogniser's known errors, handled where they show (not hidden).

* **Chinese character forms.** PP-OCR is trained mostly on Chinese text and sometimes answers
  with a Chinese form of a Japanese character (稻 綠 戶 宫 內 悅 for 稲 緑 戸 宮 内 悦, or a
  simplified form). Those forms are not written on Japanese forms, so they are replaced by the
  Japanese character, and the replacement is recorded (``Fixed.original``) and costs a little
  confidence. Legitimate old forms used in names (澤 邊 髙 﨑 齋 …) are never touched.
* **千 read as 干.** 干葉 / 干代 (千葉, 千代田, 八千代) become 千; any other 干 counts only as
  sure as its margin over 千.
* **丁目 misread** in addresses (厂目, 亅目, or 目 alone after the number) becomes 丁目, recorded.
* **Characters it cannot write.** 髙 and 﨑 are not in its character list: it reads them as 高 and
  崎. In names, where both forms are legitimate and differ in law, 高 and 崎 are capped at
  ``UNWRITABLE_TWIN_CAP`` so such a name is never accepted on the recogniser's word alone.
* **Small and large kana** (ュ/ユ, ィ/イ, ョ/ヨ, ッ/ツ …): a kana of such a pair counts only as
  sure as its margin over its twin, whether or not the twin made the recogniser's top three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CN_TO_JA = {
    "稻": "稲", "綠": "緑", "戶": "戸", "宫": "宮", "內": "内", "悅": "悦", "吕": "呂", "说": "説",
    "东": "東", "马": "馬", "长": "長", "门": "門", "车": "車", "见": "見", "关": "関", "间": "間",
    "桥": "橋", "华": "華", "乡": "郷", "兴": "興", "传": "伝", "县": "県", "义": "義", "红": "紅",
    "绿": "緑", "纪": "紀", "织": "織", "经": "経", "铃": "鈴", "钱": "銭", "阳": "陽", "际": "際",
    "队": "隊", "飞": "飛", "齐": "斉", "贵": "貴",
}  # fmt: skip
# simplified forms of characters with two legitimate Japanese forms (泽: 沢 or 澤): no guess, flagged
CN_AMBIGUOUS = frozenset("泽边龙岛冈丰荣樱宽实爱发广滨橫")  # 橫: a rare old form of 横
CN_AMBIGUOUS_CAP = 0.5
CN_FIX_FACTOR = 0.9  # a character that had to be turned from its Chinese form is a little less sure
KANJI_FIXES = {"干葉": "千葉", "干代": "千代"}
# in an address a 丁目 read as 厂目 / 亅目, or with its 丁 lost (2目35番), after a number
CHOME_MISREAD = re.compile(r"(?<=[0-9０-９一二三四五六七八九十])(?:[厂亅丁]?)目")
UNWRITABLE_TWINS = {"高": "髙", "崎": "﨑"}  # what it writes → what it cannot write
UNWRITABLE_TWIN_CAP = 0.9
KANA_TWINS = {
    a: b
    for x, y in zip("ァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょ", "アイウエオツヤユヨワカケあいうえおつやゆよ", strict=True)
    for a, b in ((x, y), (y, x))
}
KANJI_TWINS = {"干": "千"}


@dataclass(frozen=True)
class Fixed:
    text: str
    confidences: list[float]
    alternatives: list[list[tuple[str, float]]] | None
    original: str  # the text as read
    changed: bool  # a Chinese form or 干葉 was replaced


def _twin_margin(ch: str, conf: float, alts: list[tuple[str, float]]) -> float:
    twin = KANA_TWINS.get(ch) or KANJI_TWINS.get(ch)
    if twin is None:
        return conf
    rival = max((p for a, p in alts if a == twin), default=0.0)
    return max(0.0, min(conf, conf - rival))


def fix_known_errors(text: str, confidences: list[float], alternatives: list[list[tuple[str, float]]] | None,
                     cls: str) -> Fixed:
    """Apply the rules of the module docstring; confidences and alternatives stay aligned with the text."""
    confs = list(confidences) + [0.0] * max(0, len(text) - len(confidences))
    alts = [list(a) for a in alternatives] if alternatives else [[] for _ in text]
    alts += [[] for _ in range(len(text) - len(alts))]
    chars = list(text)
    changed = False
    for i, ch in enumerate(chars):
        ja = CN_TO_JA.get(ch)
        if ja and ja != ch:
            chars[i] = ja
            confs[i] *= CN_FIX_FACTOR
            changed = True
        elif ch in CN_AMBIGUOUS:
            confs[i] = min(confs[i], CN_AMBIGUOUS_CAP)
    joined = "".join(chars)
    for wrong, right in KANJI_FIXES.items():
        start = joined.find(wrong)
        while start >= 0:
            chars[start] = right[0]
            changed = True
            joined = "".join(chars)
            start = joined.find(wrong, start + 1)
    if cls == "address":
        for m in reversed(list(CHOME_MISREAD.finditer("".join(chars)))):
            if m.group(0) != "丁目":
                pos = m.start()
                if m.group(0) == "目":  # the 丁 was lost: put it back, as sure as the 目
                    chars.insert(pos, "丁")
                    confs.insert(pos, confs[pos])
                    alts.insert(pos, [])
                else:
                    chars[pos] = "丁"
                changed = True
    for i, ch in enumerate(chars):
        confs[i] = _twin_margin(ch, confs[i], alts[i])
        if cls == "name" and ch in UNWRITABLE_TWINS:
            confs[i] = min(confs[i], UNWRITABLE_TWIN_CAP)
    return Fixed("".join(chars), confs[: len(chars)], alts[: len(chars)] if alternatives else None, text, changed)
