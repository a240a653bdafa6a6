"""From what a reader saw to the canonical value of DESIGN.md, recording any snap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jimu.forms_schema.model import LeafField
from jimu.validators.address_snap import snap_address
from jimu.validators.japanese import digits_only, nfkc_compact, to_katakana, wareki_to_iso
from jimu.validators.snap import VOCABULARIES, snap

SNAP_CONFIDENCE_FACTOR = 0.6  # a snapped value is likelier wrong than a read one
ADDRESS_SNAP_FACTOR = 0.85  # an address whose prefecture, city or town was snapped to master data


@dataclass(frozen=True)
class Normalized:
    value: Any  # canonical value, None for empty
    confidence: float
    snapped_from: str | None = None


def normalize(leaf: LeafField, raw: Any, confidence: float) -> Normalized:
    kind = leaf.kind
    if kind in ("text", "kana"):
        text = nfkc_compact(str(raw or ""))
        if kind == "kana":
            text = to_katakana(text)
        if leaf.charset and set(leaf.charset) <= set("0123456789-"):
            text = digits_only(text)
        if not text:
            return Normalized(None, confidence)
        if leaf.vocabulary:
            s = snap(text, VOCABULARIES[leaf.vocabulary])
            if s.snapped:
                return Normalized(s.value, confidence * SNAP_CONFIDENCE_FACTOR, snapped_from=text)
        if kind == "text" and not leaf.charset and "住所" in leaf.label:
            a = snap_address(text)
            if a.changed:
                return Normalized(a.value, confidence * ADDRESS_SNAP_FACTOR, snapped_from=text)
            text = a.value  # the master's spelling of a name written another way (ヶ/ケ)
        return Normalized(text, confidence)
    if kind == "digits":
        return Normalized(str(raw) if raw else None, confidence)
    if kind == "date":
        return Normalized(wareki_to_iso(raw), confidence)
    if kind == "multi_choice":
        return Normalized(sorted(raw or []), confidence)
    if kind == "single_choice":
        return Normalized(raw if isinstance(raw, str) else None, confidence)
    if kind == "checkbox":
        return Normalized(bool(raw), confidence)
    raise ValueError(f"unknown field kind {kind}")
