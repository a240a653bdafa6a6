"""Operator input ↔ canonical values (DESIGN.md "Canonical values"), and the re-validation on approve.

What an operator may type (full-width or half-width alike):

* digits fields (〒, 個人番号, 口座番号 …): digits, with or without separators (``-`` ``ー`` spaces);
* katakana fields: katakana, hiragana or half-width katakana (→ full-width katakana);
* dates: 和暦 (``昭和45年3月7日``, ``平成元年1月8日``, ``S45.3.7``) or western (``1970-03-07``, ``1970年3月7日``);
* single choice: the option's label (``更新``), its id (``koshin``) or its number in the list (``2``);
* multi choice: several of those separated by ``、`` ``,`` or spaces;
* checkbox: ``はい``/``いいえ`` (also ``1``/``0``, ``レ``, ``✓``, ``あり``/``なし``);
* empty input = no value.

Error messages are Japanese, for the operator, and never repeat the value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jimu.forms_schema.model import FormDefinition, LeafField
from jimu.validators.japanese import ERA_BY_ID, WarekiError, date_to_wareki, digits_only, nfkc_compact, to_katakana
from jimu.validators.policy import REASON_TEXT
from jimu.validators.registry import FIELD_VALIDATORS
from jimu.validators.rules import check_rules

# Plain Japanese for the named field validators (``rule:<validator>`` reasons and approve errors).
VALIDATOR_TEXT: dict[str, str] = {
    "mynumber": "個人番号の桁数または検査用数字が合いません",
    "insurer_number": "保険者番号の桁数または検証番号が合いません",
    "postal_code": "郵便番号が7桁でないか、存在しない番号です",
    "chiba_address": "千葉市内の町丁目として確認できない住所です",
    "phone": "電話番号の形が正しくありません（0から始まる10桁、または070/080/090/050から始まる11桁）",
    "katakana": "全角カタカナで入力してください",
    "account_name": "口座名義は全角カタカナ（ー・（）可）で入力してください",
    "bank_code": "金融機関コードが4桁でないか、存在しないコードです",
    "digits": "数字だけで入力してください",
    "not_future": "未来の日付になっています",
    "past": "今日より前の日付である必要があります",
    "count": "0〜99の数で入力してください",
}
EXTRA_REASON_TEXT: dict[str, str] = {
    "second_entry_mismatch": "二重入力の値が一致しません",
    "operator_error": "入力に誤りがあります",
}
REQUIRED_TEXT = "必須項目です。記入がない場合は不備返戻にしてください"

_TRUE = {"はい", "1", "レ", "✓", "✔", "○", "〇", "あり", "有", "true", "yes", "y", "on", "x", "v"}
_FALSE = {"いいえ", "0", "なし", "無", "false", "no", "n", "off", "-", "ー"}
_MULTI_SPLIT = re.compile(r"[、,，;；/／\s]+")


class InputError(ValueError):
    """The operator's input cannot be turned into a canonical value (message: Japanese, no value)."""


def reason_words(reason: str, form: FormDefinition | None) -> str:
    """A flag reason (``low_confidence``, ``rule:<name>`` …) in plain Japanese."""
    if reason.startswith("rule:"):
        name = reason[5:]
        if form is not None:
            for r in form.rules:
                if r.name == name:
                    return r.message
        return VALIDATOR_TEXT.get(name, "検査に合いません")
    return REASON_TEXT.get(reason) or EXTRA_REASON_TEXT.get(reason, "確認が必要です")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


# ------------------------------------------------------------------------------------------ display


def wareki_text(iso: str) -> str:
    """``1970-03-07`` → ``昭和45年3月7日`` (the ISO text itself when it is not a date in an era)."""
    try:
        d = dt.date.fromisoformat(iso)
        era_id, y, m, day = date_to_wareki(d)
    except (ValueError, WarekiError):
        return iso
    return f"{ERA_BY_ID[era_id].name}{'元' if y == 1 else y}年{m}月{day}日"


def display_value(leaf: LeafField, value: Any) -> str:
    """What an input box shows for a canonical value (what the operator would type to get it)."""
    if value is None:
        return ""
    kind = leaf.kind
    if kind == "date" and isinstance(value, str):
        return wareki_text(value)
    if kind == "single_choice":
        return next((o.label for o in leaf.options if o.id == value), str(value))
    if kind == "multi_choice":
        items = value if isinstance(value, list) else [value]
        labels = {o.id: o.label for o in leaf.options}
        return "、".join(labels.get(str(v), str(v)) for v in items)
    if kind == "checkbox":
        return "はい" if value else "いいえ"
    return str(value)


def input_hint(leaf: LeafField) -> str:
    """A short guide to what may be typed, shown under the input."""
    kind = leaf.kind
    if kind in ("single_choice", "multi_choice"):
        opts = " ".join(f"{i}:{o.label}" for i, o in enumerate(leaf.options, 1))
        return opts + (" （複数は「、」で区切る）" if kind == "multi_choice" else "")
    if kind == "date":
        return "和暦（例 昭和45年3月7日）または 1970-03-07"
    if kind == "checkbox":
        return "はい／いいえ"
    if kind == "kana":
        return "カタカナ（ひらがなも可）"
    if kind == "digits":
        return f"数字{leaf.cells}桁" if leaf.cells else "数字"
    if leaf.charset and set(leaf.charset) <= set("0123456789-"):
        return "数字（ハイフンは省略可）"
    return ""


# ------------------------------------------------------------------------------------------ parsing


def _choice(leaf: LeafField, token: str) -> str:
    t = unicodedata.normalize("NFKC", token).strip()
    if not t:
        raise InputError("選択肢を入力してください")
    for o in leaf.options:
        if t == o.id or t == nfkc_compact(o.label):
            return o.id
    if t.isascii() and t.isdigit() and 1 <= int(t) <= len(leaf.options):
        return leaf.options[int(t) - 1].id
    kata = to_katakana(t)
    for o in leaf.options:
        if kata == to_katakana(o.label):
            return o.id
    raise InputError("選択肢にありません（番号・選択肢名で入力してください）")


def parse_input(leaf: LeafField, text: str) -> Any:
    """The canonical value of what the operator typed; :class:`InputError` when it cannot be one."""
    raw = text if isinstance(text, str) else str(text)
    compact = nfkc_compact(raw)
    kind = leaf.kind
    if kind == "multi_choice":
        tokens = [t for t in _MULTI_SPLIT.split(unicodedata.normalize("NFKC", raw)) if t]
        return sorted({_choice(leaf, t) for t in tokens})
    if kind == "checkbox":
        low = compact.lower()
        if low == "" or low in _FALSE:
            return False
        if low in _TRUE:
            return True
        raise InputError("「はい」か「いいえ」で入力してください")
    if not compact:
        return None
    if kind == "single_choice":
        return _choice(leaf, compact)
    if kind == "date":
        from jimu.validators.japanese import parse_wareki_text

        try:
            return parse_wareki_text(compact).isoformat()
        except WarekiError:
            raise InputError("日付として読めません（例 昭和45年3月7日、1970-03-07）") from None
    if kind == "digits":
        s = digits_only(compact)
        if not (s.isascii() and s.isdigit()):
            raise InputError("数字だけで入力してください")
        return s
    if kind == "kana":
        return to_katakana(compact)
    # text
    if leaf.charset and set(leaf.charset) <= set("0123456789-"):
        s = digits_only(compact)
        if not (s.isascii() and s.isdigit()):
            raise InputError("数字だけで入力してください")
        return s
    return compact


# ------------------------------------------------------------------------------------------ checks


def field_problem(leaf: LeafField, value: Any, *, required: bool | None = None) -> str | None:
    """The first single-field problem of ``value`` in Japanese (required, then named validators)."""
    need = leaf.required if required is None else required
    if need and is_empty(value) and leaf.kind != "checkbox":
        return REQUIRED_TEXT
    if is_empty(value):
        return None
    for name in leaf.validators:
        check = FIELD_VALIDATORS.get(name)
        if check is not None and check(value) is not None:
            return VALIDATOR_TEXT.get(name, "検査に合いません")
    return None


def required_map(form: FormDefinition, values: Mapping[str, Any]) -> dict[str, bool]:
    """Whether each leaf must be filled: ``required``, or a required table column in a row in use."""
    leaves = form.leaf_fields()
    used: dict[tuple[str, int], bool] = {}
    for lf in leaves:
        if lf.table is not None and lf.row is not None:
            key = (lf.table, lf.row)
            used[key] = used.get(key, False) or not is_empty(values.get(lf.id))
    out: dict[str, bool] = {}
    for lf in leaves:
        if lf.table is not None and lf.row is not None:
            col = lf.id.rsplit(".", 1)[-1]
            col_required = any(c.required for t in form.fields if t.id == lf.table for c in t.columns if c.id == col)
            out[lf.id] = col_required and used.get((lf.table, lf.row), False)
        else:
            out[lf.id] = lf.required
    return out


@dataclass
class RuleFailure:
    name: str
    message: str
    fields: list[str]  # every field the rule involves (shown together)
    culprits: list[str]  # the fields the rule blames


@dataclass
class Validation:
    field_errors: dict[str, str] = field(default_factory=dict)
    rule_failures: list[RuleFailure] = field(default_factory=list)
    notes: list[RuleFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.field_errors and not self.rule_failures


def _expand(ids: list[str], form: FormDefinition, values: Mapping[str, Any]) -> list[str]:
    leaves = {lf.id: lf for lf in form.leaf_fields()}
    out: list[str] = []
    for fid in ids:
        if fid in leaves:
            out.append(fid)
        else:  # a whole table: its written cells
            out += [lid for lid, lf in leaves.items() if lf.table == fid and not is_empty(values.get(lid))]
    return list(dict.fromkeys(out))


def validate_record(form: FormDefinition, values: Mapping[str, Any], today: dt.date | None = None) -> Validation:
    """Validate the canonical values of a whole record like the batch does: field checks + cross-field rules."""
    result = Validation()
    req = required_map(form, values)
    for lf in form.leaf_fields():
        problem = field_problem(lf, values.get(lf.id), required=req.get(lf.id, False))
        if problem is not None:
            result.field_errors[lf.id] = problem
    declared = {r.name: list(r.fields) for r in form.rules}
    for res in check_rules(form.rules, values, today):
        involved = _expand([*declared.get(res.name, []), *res.fields], form, values)
        item = RuleFailure(res.name, res.message, involved, _expand(list(res.fields), form, values))
        (result.notes if res.severity == "note" else result.rule_failures).append(item)
    return result
