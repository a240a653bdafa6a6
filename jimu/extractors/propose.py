"""``jimu forms propose BLANK``: a draft form definition from a blank scan.

The blank's cells, small boxes and printed words come from :mod:`jimu.extractors.propose_cells`.
Three layouts of real forms are recognised, in this order, each claiming the cells it uses (one
module each: ``propose_table``, ``propose_beside``, ``propose_inside``; what they share is in
``propose_fields``):

1. **a table**: a row of labelled header cells over two or more rows of cells with the same
   columns (a header such as フリガナ／氏名 gives a furigana sub-row over the name);
2. **a label beside its entry**: a cell of printed text with an empty cell to its right (the
   field's box is both, ``label_w`` the label's width);
3. **a label inside its value**: a cell whose printed label sits at its top or left, the rest
   empty (``label_w: 0``; the printed ink is dropped out of the crop), or holding a run of
   1文字枠, option words to circle (男/女 stacked, a 1./2./3. list) or a date's printed eras and
   年 月 日.

Inside an entry, small squares are tick boxes (with the option word printed beside each), and a
run of narrow equal cells is a 1文字枠 digit run. Labels and option words are read with the
recogniser. Every proposal says how sure it is (0..1) and why, as a comment above the field in
the YAML (:func:`draft_yaml`); ``jimu forms preview`` shows the boxes. Nothing here is trusted:
the draft is reviewed and edited before it is used.
"""

from __future__ import annotations

import itertools
from typing import Any

from jimu.extractors.propose_beside import _beside
from jimu.extractors.propose_cells import DIGIT_CELL_MM, TEXT_INK_SHARE, U8, find_cells, printed_ink
from jimu.extractors.propose_fields import Proposal, _Page
from jimu.extractors.propose_inside import _inside
from jimu.extractors.propose_table import _tables


def propose(gray: U8, dpi: float, engine: Any, form_id: str) -> tuple[dict[str, Any], list[Proposal]]:
    """A draft definition (a dict that dumps to YAML) and its proposals, in reading order."""
    px = dpi / 25.4
    cells = find_cells(gray, px)
    big = [c for c in cells if not (c.w <= DIGIT_CELL_MM[1] + 1 and c.h <= DIGIT_CELL_MM[2])]
    small = [c for c in cells if c not in big]
    p = _Page(gray, printed_ink(gray, px), px, engine, big, small, set(), set())
    for c in big:
        if c.ink > TEXT_INK_SHARE and c.h <= 12:
            c.text = p.read(c)
    proposals = _tables(p) + _beside(p) + _inside(p)
    proposals.sort(key=lambda q: (round(q.field["box"]["y"]), q.field["box"]["x"]))
    for prev, q in itertools.pairwise(proposals):
        if q.field["kind"] == "kana" and prev.field["kind"] == "text" and "reading_of" not in q.field:
            q.field["reading_of"] = prev.field["id"]
            q.why.append(f"reads the field next to it ({prev.field['id']})")
        if prev.field["kind"] == "kana" and q.field["kind"] == "text" and "reading_of" not in prev.field:
            prev.field["reading_of"] = q.field["id"]  # furigana printed above the name
            prev.why.append(f"reads the field under it ({q.field['id']})")
    draft = {
        "form_id": form_id, "version": 1, "title": "（表題を記入）", "code": "（様式番号を記入）",
        "template_image": {"file": f"{form_id}_blank.png", "dpi": round(dpi)},
        "fields": [q.field for q in proposals],
    }
    return draft, proposals


def draft_yaml(draft: dict[str, Any], proposals: list[Proposal], source: str) -> str:
    """The draft as YAML, each field preceded by a comment saying how sure its proposal is and why."""
    import yaml

    head = {k: v for k, v in draft.items() if k != "fields"}
    out = [f"# Draft by `jimu forms propose {source}`: check every field (jimu forms preview), then fill in",
           "# title, code, required, validators and sensitivity. A field's comment says how sure its proposal is.",
           yaml.safe_dump(head, allow_unicode=True, sort_keys=False).rstrip(), "fields:"]
    for p in proposals:
        out.append(f"  # proposal {p.confidence:.2f}: {'; '.join(p.why)}")
        body = yaml.safe_dump([p.field], allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)
        out += ["  " + line for line in body.rstrip().splitlines()]
    return "\n".join(out) + "\n"
