"""Draw "foreign" blank forms: paper forms that do not look like Jimu's own drawings.

They stand in for a city's real printed forms in tests: no corner marks, a title set left in
Mincho, grey printing, labels in their own cells, a guidance box and an office-use stamp area,
drawn here with PIL (not with Jimu's renderer). Each form is written as its blank scan
(``NAME_blank.png`` at 200 dpi) beside a YAML that names it as its ``template_image``.

    python scripts/make_foreign_forms.py tests/resources/foreign
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jimu.forms_schema.layout import date_layout, digit_cells, entry_box, option_boxes, table_cells, table_header, tick_square
from jimu.forms_schema.model import Box, FormField

DPI = 200
A4 = (210.0, 297.0)
INK = 70  # grey printing
MINCHO = Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf")

# (id, label, kind, box x, y, w, h in mm, label cell width, extra YAML keys)
SHUGAKU_FIELDS: list[tuple[str, str, str, tuple[float, float, float, float], float, dict[str, object]]] = [
    ("guardian_name", "保護者氏名", "text", (20, 58, 120, 12), 34, {"required": True, "fill": "applicant.name"}),
    ("guardian_kana", "フリガナ", "kana", (20, 70, 120, 10), 34, {"reading_of": "guardian_name",
                                                                  "validators": ["katakana"], "fill": "applicant.kana"}),
    ("address", "住所", "text", (20, 80, 170, 12), 34, {"required": True, "validators": ["japan_address"],
                                                         "fill": "applicant.address"}),
    ("phone", "電話番号", "text", (20, 92, 90, 11), 34, {"charset": "0123456789-", "validators": ["phone"],
                                                          "fill": "applicant.phone"}),
    ("child_name", "児童氏名", "text", (20, 118, 110, 12), 34, {"required": True}),
    ("school", "学校名", "text", (20, 130, 110, 11), 34, {}),
    ("grade", "学年", "digits", (130, 130, 40, 11), 16, {"cells": 1}),
    ("sex", "性別", "single_choice", (130, 118, 60, 12), 16,
     {"options": [{"id": "male", "label": "男"}, {"id": "female", "label": "女"}], "mark": "tick"}),
    ("household_size", "世帯人数", "digits", (20, 158, 70, 11), 34, {"cells": 2}),
]


def _mm(v: float) -> int:
    return round(v * DPI / 25.4)


def _font(size_mm: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(MINCHO), _mm(size_mm))


def shugaku_enjo(out: Path) -> None:
    form_id = "shugaku_enjo"
    img = Image.new("L", (_mm(A4[0]), _mm(A4[1])), 255)
    d = ImageDraw.Draw(img)
    d.text((_mm(20), _mm(18)), "就学援助費受給申請書", font=_font(7), fill=INK)
    d.text((_mm(20), _mm(30)), "（あて先）市教育委員会", font=_font(3.5), fill=INK)
    d.text((_mm(120), _mm(40)), "令和　　年　　月　　日", font=_font(3.5), fill=INK)
    d.rectangle((_mm(150), _mm(14), _mm(190), _mm(34)), outline=INK, width=2)  # 受付印
    d.text((_mm(163), _mm(15)), "受付印", font=_font(3), fill=INK)
    d.text((_mm(20), _mm(50)), "１　申請者（保護者）", font=_font(4), fill=INK)
    d.text((_mm(20), _mm(110)), "２　対象の児童・生徒", font=_font(4), fill=INK)
    d.text((_mm(20), _mm(150)), "３　世帯の状況", font=_font(4), fill=INK)
    fields = []
    for fid, label, kind, (x, y, w, h), lw, extra in SHUGAKU_FIELDS:
        d.rectangle((_mm(x), _mm(y), _mm(x + w), _mm(y + h)), outline=INK, width=2)
        d.rectangle((_mm(x), _mm(y), _mm(x + lw), _mm(y + h)), fill=235, outline=INK, width=2)
        d.text((_mm(x + 1.5), _mm(y + h / 2 - 1.8)), label, font=_font(3.5), fill=INK)
        item: dict[str, object] = {"id": fid, "label": label, "kind": kind,
                                   "box": {"x": x, "y": y, "w": w, "h": h}, "label_w": lw, **extra}
        fields.append(item)
        # the boxes a person writes in: where the definition says (Jimu reads them from its geometry)
        f = FormField.model_validate(item)
        entry = entry_box(f)
        if kind == "digits":
            for b in digit_cells(entry, int(f.cells or 1), f.cell_w, f.cell_pitch):
                d.rectangle((_mm(b.x), _mm(b.y), _mm(b.right), _mm(b.bottom)), outline=INK, width=1)
        if kind == "single_choice":
            for o, ob in option_boxes(entry, f.options, f.mark):
                s = tick_square(ob)
                d.rectangle((_mm(s.x), _mm(s.y), _mm(s.right), _mm(s.bottom)), outline=INK, width=2)
                d.text((_mm(s.right + 1.5), _mm(s.y)), o.label, font=_font(3.5), fill=INK)
    d.rectangle((_mm(20), _mm(185), _mm(190), _mm(230)), outline=INK, width=2)
    notes = ["【注意】", "・申請書は児童・生徒一人につき一枚提出してください。",
             "・記入漏れがあると審査ができません。", "・所得の状況により認定されない場合があります。"]
    for i, line in enumerate(notes):
        d.text((_mm(24), _mm(188 + i * 8)), line, font=_font(3.5), fill=INK)
    d.text((_mm(20), _mm(250)), "教育委員会記入欄", font=_font(3.5), fill=INK)
    d.rectangle((_mm(20), _mm(256), _mm(190), _mm(280)), outline=INK, width=2)
    for x in (62, 104, 146):
        d.line((_mm(x), _mm(256), _mm(x), _mm(280)), fill=INK, width=2)
    out.mkdir(parents=True, exist_ok=True)
    img.save(out / f"{form_id}_blank.png", dpi=(DPI, DPI))
    definition = {
        "form_id": form_id, "version": 1, "title": "就学援助費受給申請書", "code": "他市様式（試験用）",
        "template_image": {"file": f"{form_id}_blank.png", "dpi": DPI},
        "fields": fields,
    }
    (out / f"{form_id}.yaml").write_text(
        "# A foreign form (scripts/make_foreign_forms.py): its blank scan is the template.\n"
        + yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), encoding="utf-8")


def kokuho_todoke(out: Path) -> None:
    """国民健康保険 異動届 of "another city": tinted paper (a coloured form scanned grey), labels above
    the values, 男/女 stacked in a narrow column (circled), a 1./2./3. reason list stacked, and
    1文字枠 wider than Jimu's and spaced apart."""
    form_id = "kokuho_todoke"
    paper, ink = 228, 40
    img = Image.new("L", (_mm(A4[0]), _mm(A4[1])), paper)
    d = ImageDraw.Draw(img)
    d.text((_mm(60), _mm(16)), "国民健康保険 異動届", font=_font(7), fill=ink)
    d.rectangle((_mm(15), _mm(40), _mm(195), _mm(150)), outline=ink, width=3)  # 太枠
    fields: list[dict[str, object]] = []

    def cell(x: float, y: float, w: float, h: float, label: str) -> None:
        d.rectangle((_mm(x), _mm(y), _mm(x + w), _mm(y + h)), outline=ink, width=2)
        d.text((_mm(x + 1.5), _mm(y + 1)), label, font=_font(2.8), fill=ink)  # the label above the value

    # label above the value: the whole cell is the field, label_w 0 (the label is dropped out as printed ink)
    cell(15, 40, 120, 18, "世帯主氏名")
    fields.append({"id": "householder_name", "label": "世帯主氏名", "kind": "text", "required": True,
                   "box": {"x": 15, "y": 40, "w": 120, "h": 18}, "label_w": 0, "fill": "applicant.name"})
    cell(15, 58, 120, 14, "フリガナ")
    fields.append({"id": "householder_kana", "label": "フリガナ", "kind": "kana", "reading_of": "householder_name",
                   "validators": ["katakana"], "box": {"x": 15, "y": 58, "w": 120, "h": 14}, "label_w": 0,
                   "fill": "applicant.kana"})
    # 性別: 男 above 女 in a 15 mm column, circled
    cell(135, 40, 60, 32, "")
    d.text((_mm(137), _mm(42)), "性別", font=_font(3), fill=ink)
    opts = []
    for i, (oid, label) in enumerate((("male", "男"), ("female", "女"))):
        y = 49 + i * 10
        d.text((_mm(160), _mm(y)), label, font=_font(5), fill=ink)
        opts.append({"id": oid, "label": label, "box": {"x": 158.0, "y": float(y - 1.5), "w": 9.0, "h": 8.0}})
    fields.append({"id": "sex", "label": "性別", "kind": "single_choice", "mark": "circle", "options": opts,
                   "box": {"x": 135, "y": 40, "w": 60, "h": 32}, "label_w": 12})
    # 記号番号: 8 cells, 8 mm wide, every 10 mm
    cell(15, 72, 180, 16, "")
    d.text((_mm(17), _mm(77)), "記号番号", font=_font(3.5), fill=ink)
    for i in range(8):
        x = 45 + 1.2 + i * 10
        d.rectangle((_mm(x), _mm(73.5), _mm(x + 8), _mm(86.5)), outline=ink, width=2)
    fields.append({"id": "insured_number", "label": "記号番号", "kind": "digits", "cells": 8, "cell_w": 8.0,
                   "cell_pitch": 10.0, "box": {"x": 15, "y": 72, "w": 180, "h": 16}, "label_w": 30})
    # 異動の理由: 1./2./3. stacked, circled
    cell(15, 88, 180, 40, "")
    d.text((_mm(17), _mm(90)), "異動の理由（番号に〇）", font=_font(3.5), fill=ink)
    reasons = [("tennyu", "1. 転入"), ("shakai_dattai", "2. 社会保険の離脱"), ("shussei", "3. 出生")]
    ropts = []
    for i, (oid, label) in enumerate(reasons):
        y = 98 + i * 9
        d.text((_mm(50), _mm(y)), label, font=_font(4), fill=ink)
        ropts.append({"id": oid, "label": label, "box": {"x": 48.0, "y": float(y - 1.5), "w": 8.0, "h": 7.5}})
    fields.append({"id": "reason", "label": "異動の理由", "kind": "single_choice", "mark": "circle", "options": ropts,
                   "box": {"x": 15, "y": 88, "w": 180, "h": 40}, "label_w": 30})
    # 生年月日: eras printed 2×2 (大 昭 / 平 令) to circle, then free areas for 年 月 日 (no cells)
    cell(15, 128, 180, 22, "")
    d.text((_mm(17), _mm(136)), "生年月日", font=_font(3.5), fill=ink)
    eras = {}
    for i, (era, ch) in enumerate((("taisho", "大"), ("showa", "昭"), ("heisei", "平"), ("reiwa", "令"))):
        ex, ey = 50 + (i % 2) * 8, 130 + (i // 2) * 9
        d.text((_mm(ex + 1.5), _mm(ey + 1.2)), ch, font=_font(4.5), fill=ink)
        eras[era] = {"x": float(ex), "y": float(ey), "w": 7.5, "h": 8.0}
    parts = {}
    for i, (part, unit) in enumerate((("year", "年"), ("month", "月"), ("day", "日"))):
        px = 70 + i * 30
        d.text((_mm(px + 17), _mm(135)), unit, font=_font(4.5), fill=ink)
        parts[part] = {"x": float(px), "y": 131.0, "w": 16.0, "h": 16.0}
    fields.append({"id": "birth_date", "label": "生年月日", "kind": "date", "validators": ["past"],
                   "eras": ["taisho", "showa", "heisei", "reiwa"], "date_boxes": {"eras": eras, **parts},
                   "box": {"x": 15, "y": 128, "w": 180, "h": 22}, "label_w": 30})
    d.text((_mm(15), _mm(160)), "※太枠内を記入してください。", font=_font(3.5), fill=ink)
    out.mkdir(parents=True, exist_ok=True)
    img.save(out / f"{form_id}_blank.png", dpi=(DPI, DPI))
    definition = {"form_id": form_id, "version": 1, "title": "国民健康保険 異動届", "code": "他市様式（試験用）",
                  "template_image": {"file": f"{form_id}_blank.png", "dpi": DPI}, "fields": fields}
    (out / f"{form_id}.yaml").write_text(
        "# A foreign form (scripts/make_foreign_forms.py): its blank scan is the template.\n"
        + yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), encoding="utf-8")


def jidou_teate(out: Path) -> None:
    """児童手当 認定請求書 of "another city", printed in green on white: labels printed inside the
    top-left of their value boxes, furigana above the name, 郵便番号 in spaced 1文字枠, the filing
    date as 令和　年　月　日 with no cells, and a children table whose cells split into a furigana
    sub-row over the name, rows of unequal height."""
    form_id = "jidou_teate"
    ink = (0, 105, 70)
    img = Image.new("RGB", (_mm(A4[0]), _mm(A4[1])), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((_mm(15), _mm(14)), "児童手当・特例給付　認定請求書", font=_font(6.5), fill=ink)
    d.text((_mm(15), _mm(26)), "（あて先）市長", font=_font(3.5), fill=ink)
    fields: list[dict[str, object]] = []

    def cell(x: float, y: float, w: float, h: float, label: str, width: int = 2) -> None:
        d.rectangle((_mm(x), _mm(y), _mm(x + w), _mm(y + h)), outline=ink, width=width)
        if label:
            d.text((_mm(x + 1.2), _mm(y + 0.8)), label, font=_font(2.6), fill=ink)

    # 請求日: 令和　年　月　日, the era printed (not chosen), free areas for the numbers
    d.text((_mm(128), _mm(26)), "請求日", font=_font(3.2), fill=ink)
    d.text((_mm(142), _mm(25.5)), "令和", font=_font(4), fill=ink)
    parts = {}
    for i, (part, unit) in enumerate((("year", "年"), ("month", "月"), ("day", "日"))):
        px = 151 + i * 15
        d.text((_mm(px + 10), _mm(25.5)), unit, font=_font(4), fill=ink)
        parts[part] = {"x": float(px), "y": 23.0, "w": 10.0, "h": 9.0}
    fields.append({"id": "request_date", "label": "請求日", "kind": "date", "eras": ["reiwa"], "required": True,
                   "validators": ["not_future"], "fill": "dates.today",
                   "date_boxes": {"eras": {"reiwa": {"x": 141.0, "y": 23.0, "w": 9.0, "h": 9.0}}, **parts},
                   "box": {"x": 126, "y": 22, "w": 70, "h": 11}, "label_w": 0})
    d.text((_mm(15), _mm(37)), "１　請求者", font=_font(4), fill=ink)
    d.rectangle((_mm(15), _mm(43), _mm(195), _mm(88)), outline=ink, width=4)  # 太枠
    cell(15, 43, 110, 9, "フリガナ")
    fields.append({"id": "applicant_kana", "label": "フリガナ", "kind": "kana", "reading_of": "applicant_name",
                   "validators": ["katakana"], "box": {"x": 15, "y": 43, "w": 110, "h": 9}, "label_w": 0,
                   "fill": "applicant.kana"})
    cell(15, 52, 110, 15, "氏名")
    fields.append({"id": "applicant_name", "label": "氏名", "kind": "text", "required": True,
                   "box": {"x": 15, "y": 52, "w": 110, "h": 15}, "label_w": 0, "fill": "applicant.name"})
    cell(125, 43, 70, 24, "電話番号")
    fields.append({"id": "phone", "label": "電話番号", "kind": "text", "charset": "0123456789-",
                   "validators": ["phone"], "box": {"x": 125, "y": 43, "w": 70, "h": 24}, "label_w": 0,
                   "fill": "applicant.phone"})
    # 郵便番号: 〒 then 7 cells 5.5 mm wide, every 7 mm
    cell(15, 67, 180, 21, "")
    d.text((_mm(17), _mm(69)), "住所", font=_font(2.6), fill=ink)
    d.text((_mm(26), _mm(69)), "〒", font=_font(3.5), fill=ink)
    zip_box = {"x": 30.55, "y": 68.2, "w": 49.9, "h": 6.6}  # the cells fill the box's height
    for b in digit_cells(Box.model_validate(zip_box), 7, 5.5, 7.0):
        d.rectangle((_mm(b.x), _mm(b.y), _mm(b.right), _mm(b.bottom)), outline=ink, width=1)
    fields.append({"id": "zip", "label": "郵便番号", "kind": "digits", "cells": 7, "cell_w": 5.5, "cell_pitch": 7.0,
                   "validators": ["postal_code"], "box": zip_box, "label_w": 0, "fill": "applicant.zip"})
    fields.append({"id": "address", "label": "住所", "kind": "text", "required": True, "validators": ["japan_address"],
                   "box": {"x": 15, "y": 76, "w": 180, "h": 12}, "label_w": 0, "fill": "applicant.address"})
    # ２　児童: a table with no header ruling of Jimu's kind, furigana over the name in one cell
    d.text((_mm(15), _mm(95)), "２　支給要件児童（18歳到達後の最初の3月31日までの子）", font=_font(4), fill=ink)
    table = {"x": 15.0, "y": 101.0, "w": 180.0}
    header_h, row_heights = 7.0, [20.0, 20.0, 17.0]
    columns = [
        {"id": "kana", "label": "フリガナ／氏名", "kind": "kana", "width": 70.0, "reading_of": "name",
         "validators": ["katakana"], "fill": "member.kana"},
        {"id": "name", "label": "氏名", "kind": "text", "width": 70.0, "under": "kana", "height_share": 0.62,
         "fill": "member.name"},
        {"id": "birth", "label": "生年月日", "kind": "date", "width": 80.0, "eras": ["heisei", "reiwa"],
         "validators": ["past"], "fill": "member.birth"},
        {"id": "relationship", "label": "続柄", "kind": "text", "width": 30.0, "vocabulary": "relationship",
         "fill": "member.relationship"},
    ]
    total_h = header_h + sum(row_heights)
    tfield: dict[str, object] = {"id": "children", "label": "支給要件児童", "kind": "table", "rows": 3,
                                 "header_h": header_h, "row_heights": row_heights, "columns": columns,
                                 "box": {**table, "h": total_h}, "label_w": 0}
    fields.append(tfield)
    f = FormField.model_validate(tfield)
    d.rectangle((_mm(15), _mm(101), _mm(195), _mm(101 + total_h)), outline=ink, width=3)
    for label, hb in table_header(f):
        d.rectangle((_mm(hb.x), _mm(hb.y), _mm(hb.right), _mm(hb.bottom)), fill=(222, 240, 230), outline=ink, width=2)
        d.text((_mm(hb.x + 2), _mm(hb.y + 1.6)), label, font=_font(3.2), fill=ink)
    for row in table_cells(f):
        for cid, cb in row:
            if cid == "name":  # the sub-row: a dotted line under the furigana, not a full rule
                for x in range(_mm(cb.x), _mm(cb.right), 12):
                    d.line((x, _mm(cb.y), x + 5, _mm(cb.y)), fill=ink, width=1)
                d.line((_mm(cb.x), _mm(cb.bottom), _mm(cb.right), _mm(cb.bottom)), fill=ink, width=2)
                continue
            d.rectangle((_mm(cb.x), _mm(cb.y), _mm(cb.right), _mm(cb.bottom)), outline=ink, width=2)
            if cid == "birth":
                lay = date_layout(cb, ["heisei", "reiwa"])
                for (_era, eb), ch in zip(lay.eras, ("平", "令"), strict=True):
                    d.text((_mm(eb.x + 0.8), _mm(eb.y + 1.5)), ch, font=_font(4), fill=ink)
                for unit, ub in lay.units:
                    d.text((_mm(ub.x + 0.3), _mm(ub.y + 1.8)), unit, font=_font(3.5), fill=ink)
    d.rectangle((_mm(15), _mm(175), _mm(195), _mm(205)), outline=ink, width=2)
    notes = ["【注意】", "・請求者は、児童を養育している方のうち所得の高い方です。",
             "・公務員の方は勤務先に請求してください。"]
    for i, line in enumerate(notes):
        d.text((_mm(19), _mm(178 + i * 8)), line, font=_font(3.5), fill=ink)
    d.text((_mm(15), _mm(250)), "※市記入欄", font=_font(3.2), fill=ink)
    d.rectangle((_mm(15), _mm(256), _mm(195), _mm(282)), outline=ink, width=2)
    for x in (60, 105, 150):
        d.line((_mm(x), _mm(256), _mm(x), _mm(282)), fill=ink, width=2)
    out.mkdir(parents=True, exist_ok=True)
    img.save(out / f"{form_id}_blank.png", dpi=(DPI, DPI))
    definition = {"form_id": form_id, "version": 1, "title": "児童手当・特例給付 認定請求書", "code": "他市様式（試験用）",
                  "template_image": {"file": f"{form_id}_blank.png", "dpi": DPI}, "fields": fields}
    (out / f"{form_id}.yaml").write_text(
        "# A foreign form (scripts/make_foreign_forms.py): its blank scan is the template.\n"
        + yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/resources/foreign")
    shugaku_enjo(folder)
    kokuho_todoke(folder)
    jidou_teate(folder)
