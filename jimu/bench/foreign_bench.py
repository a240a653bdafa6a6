"""``jimu bench foreign``: adding a city's own form, measured end to end on each foreign test form.

1. **propose**: ``jimu forms propose`` on the blank (timed); its fields are matched with the
   form's reference definition: a reference field is *proposed right* when a proposed field's box
   is within 1 mm on every edge, and its kind and label are checked too.
2. **editor fixes**: what is left for a person to do in the editor (fields to add or delete,
   boxes to move, kinds and labels to change, options, eras, table columns, required and
   validators to set, the title), and the time it takes by the keystroke-level model (Card,
   Moran & Newell): the constants are in :data:`KLM_SECONDS`, the cost of each edit in
   :data:`EDIT_SECONDS`. This is an estimate from counted edits, not a stopwatch.
3. **filled copies**: ``count`` copies per capture rendered onto the real blank and degraded
   (``jimu fixtures generate --form F --quality Q``), all run through ``jimu batch run`` in one
   batch, in a subprocess with its own data folder; then, from the store: classified share,
   written fields exact, auto-accepted fields and silent errors (accepted and wrong).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from jimu.bench.metrics import ErrorRate, is_empty, same

CAPTURES = ("office", "hand_lettered", "phone", "fax")
BOX_TOL_MM = 1.0

# keystroke-level model operators (seconds): K a keystroke (average typist), P point with the
# mouse, B a button press or release, H hands between keyboard and mouse, M mental preparation
KLM_SECONDS = {"K": 0.28, "P": 1.1, "B": 0.1, "H": 0.4, "M": 1.35}
JA_KEYS_PER_CHAR = 2.5  # romaji input and conversion of a Japanese label, per character


def _klm(ops: str) -> float:
    return sum(KLM_SECONDS[o] for o in ops)


# an edit's cost: its operators, plus typed characters where it types (added per edit)
EDIT_SECONDS = {
    "check": _klm("MPBB"),  # look at a proposed field over the blank, click it
    "move_box": _klm("MPBBPBB") + _klm("PBBPBB"),  # drag the box, then its corner
    "add_field": _klm("MHPBB") + _klm("PBBPBB") * 2,  # Add, then drag it into place and size it
    "delete_field": _klm("MPBB") + _klm("HK"),
    "set_kind": _klm("MPBBPBB"),  # pick from the kind list
    "set_flag": _klm("MPBB"),  # required
    "type": _klm("MHPBB"),  # go to a text input (the typing is added per character)
}


def _type_seconds(text: str) -> float:
    ja = sum(1 for ch in text if ord(ch) > 0x7F)
    return EDIT_SECONDS["type"] + KLM_SECONDS["K"] * (len(text) - ja + JA_KEYS_PER_CHAR * ja)


def _near(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(abs(float(a[k]) - float(b[k])) <= BOX_TOL_MM for k in ("x", "y", "w", "h"))


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> float:
    w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    inter = max(0.0, w) * max(0.0, h)
    return inter / min(a["w"] * a["h"], b["w"] * b["h"])


def _fits(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """An option's or a date part's box is good enough when it covers most of the other."""
    return _overlap(a, b) > 0.6


def _same_text(a: Any, b: Any) -> bool:
    import unicodedata

    def norm(v: Any) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v or "")))

    return norm(a) == norm(b)


def _attr_edits(ref: dict[str, Any], got: dict[str, Any], edits: list[tuple[str, float]]) -> None:
    """What a person sets by hand on a matched field (ids and test-only ``fill`` tags aside)."""
    fid = ref["id"]
    if got.get("kind") != ref["kind"]:
        edits.append((f"{fid}: kind {got.get('kind')} → {ref['kind']}", EDIT_SECONDS["set_kind"]))
    if not _same_text(got.get("label"), ref["label"]):
        edits.append((f"{fid}: label", _type_seconds(ref["label"])))
    if bool(got.get("required")) != bool(ref.get("required")):
        edits.append((f"{fid}: required", EDIT_SECONDS["set_flag"]))
    for key in ("validators", "vocabulary", "charset", "cells", "cell_w", "cell_pitch", "mark", "eras", "rows"):
        rv, gv = ref.get(key), got.get(key)
        if key in ("cell_w", "cell_pitch") and rv is not None and gv is not None and abs(rv - gv) <= 0.3:
            continue
        if rv not in (None, []) and rv != gv:
            edits.append((f"{fid}: {key}", _type_seconds(json.dumps(ref[key], ensure_ascii=False))))
    ropts, gopts = ref.get("options") or [], got.get("options") or []
    for i, o in enumerate(ropts):
        g = gopts[i] if i < len(gopts) else None
        if g is None:
            edits.append((f"{fid}: add option {o['label']}", EDIT_SECONDS["add_field"] + _type_seconds(o["label"])))
            continue
        if not _same_text(g.get("label"), o["label"]):
            edits.append((f"{fid}: option label {o['label']}", _type_seconds(o["label"])))
        if o.get("box") and not (g.get("box") and _fits(o["box"], g["box"])):
            edits.append((f"{fid}: option box {o['label']}", EDIT_SECONDS["move_box"]))
    if ref.get("date_boxes"):
        rb, gb = ref["date_boxes"], got.get("date_boxes") or {}
        for part in ("year", "month", "day"):
            if not (gb.get(part) and _fits(rb[part], gb[part])):
                edits.append((f"{fid}: {part} area", EDIT_SECONDS["move_box"]))
        for era, box in rb["eras"].items():
            if not (era in gb.get("eras", {}) and _fits(box, gb["eras"][era])):
                edits.append((f"{fid}: era {era} box", EDIT_SECONDS["move_box"]))
    rcols, gcols = ref.get("columns") or [], got.get("columns") or []
    for i, c in enumerate(rcols):
        g = gcols[i] if i < len(gcols) else {}
        if not g:
            edits.append((f"{fid}: add column {c['label']}", _type_seconds(json.dumps(c, ensure_ascii=False))))
            continue
        for key in ("kind", "label", "width", "under", "validators", "vocabulary", "eras", "reading_of"):
            if key in ("reading_of", "under"):
                if bool(c.get(key)) != bool(g.get(key)):
                    edits.append((f"{fid}.{c['id']}: {key}", _type_seconds(str(c.get(key) or ""))))
            elif key == "label" and not _same_text(c[key], g.get(key)):
                edits.append((f"{fid}.{c['id']}: label", _type_seconds(c[key])))
            elif key != "label" and c.get(key) not in (None, []) and ((key != "width" and c.get(key) != g.get(key))
                                                   or (key == "width" and abs(c[key] - g.get(key, 0)) > BOX_TOL_MM)):
                edits.append((f"{fid}.{c['id']}: {key}", _type_seconds(json.dumps(c[key], ensure_ascii=False))))
    if ref.get("row_heights") and (len(got.get("row_heights") or []) != len(ref["row_heights"]) or any(
            abs(a - b) > BOX_TOL_MM for a, b in zip(ref["row_heights"], got.get("row_heights") or [], strict=False))):
        edits.append((f"{fid}: row_heights", _type_seconds(json.dumps(ref["row_heights"]))))


def score_proposal(reference: list[dict[str, Any]], proposed: list[dict[str, Any]], title: str = "",
                   code: str = "") -> dict[str, Any]:
    """Match proposed fields with the reference's; count what is right and what a person must fix
    (the form's title and code typed, and one save that loads, included)."""
    used: set[int] = set()
    edits: list[tuple[str, float]] = [("title", _type_seconds(title)), ("code", _type_seconds(code)),
                                      ("save and read the loader's answer", _klm("MPBBMM"))]
    right = kind_right = label_right = 0
    for ref in reference:
        match = next((i for i, p in enumerate(proposed) if i not in used and _near(ref["box"], p["box"])), None)
        if match is not None:
            right += 1
            kind_right += proposed[match]["kind"] == ref["kind"]
            label_right += proposed[match]["label"] == ref["label"]
        else:  # a proposal in about the right place is moved; otherwise the field is added
            match = next((i for i, p in enumerate(proposed) if i not in used and _overlap(ref["box"], p["box"]) > 0.5),
                         None)
            if match is not None:
                edits.append((f"{ref['id']}: box", EDIT_SECONDS["move_box"]))
            else:
                edits.append((f"{ref['id']}: add", EDIT_SECONDS["add_field"] + _type_seconds(ref["label"])))
        got = proposed[match] if match is not None else {"box": ref["box"]}
        if match is not None:
            used.add(match)
            edits.append((f"{ref['id']}: check", EDIT_SECONDS["check"]))
        _attr_edits(ref, got, edits)
    for i, p in enumerate(proposed):
        if i not in used:
            edits.append((f"{p['id']}: delete", EDIT_SECONDS["delete_field"]))
    return {"fields": len(reference), "proposed": len(proposed), "boxes_within_1mm": right,
            "boxes_within_1mm_share": round(right / max(1, len(reference)), 4),
            "kind_right": kind_right, "label_right": label_right, "edits": len(edits),
            "edit_list": [e for e, _ in edits], "editor_seconds": round(sum(s for _, s in edits), 1)}


def run_propose(blank: Path, form_id: str, out: Path) -> tuple[list[dict[str, Any]], float]:
    """``jimu forms propose`` as a user runs it (a subprocess), timed; the draft's fields."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jimu.cli", "forms", "propose", str(blank), "--form-id", form_id,
                    "--out", str(out)], check=True, capture_output=True, timeout=600)
    seconds = time.perf_counter() - t0
    draft = yaml.safe_load((out / f"{form_id}.yaml").read_text(encoding="utf-8"))
    return list(draft["fields"]), seconds


def run_batch(inbox: Path, data: Path, forms_dir: Path, env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """``jimu batch run`` over the inbox in a subprocess with its own data folder; its JSON summary."""
    env = env | {"JIMU_DATA_DIR": str(data), "JIMU_FORMS_DIRS": str(forms_dir)}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "jimu.cli", "batch", "run", str(inbox), "--json"], env=env,
                       capture_output=True, text=True, timeout=3600, check=True)
    return json.loads(r.stdout), time.perf_counter() - t0


def read_store(data: Path) -> dict[str, dict[str, Any]]:
    """source name → form id, state and fields (value, status) of the documents in a data folder's store."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data.resolve() / 'jimu.db'}")
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as c:
        docs = c.execute(text("SELECT id, source_name, form_id, state FROM documents")).all()
        fields = c.execute(text("SELECT document_id, field_id, value_json, status FROM field_values")).all()
    by_doc: dict[str, dict[str, tuple[Any, str]]] = defaultdict(dict)
    for doc_id, fid, value_json, status in fields:
        by_doc[doc_id][fid] = (json.loads(value_json), status)
    for doc_id, name, form_id, state in docs:
        out[Path(name).stem] = {"form_id": form_id, "state": state, "fields": by_doc.get(doc_id, {})}
    engine.dispose()
    return out


def score_copies(truths: dict[str, dict[str, Any]], store: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Classified share, written fields exact, auto-accepted and silent errors over the copies given."""
    classified = written = exact = accepted = wrong = 0
    states: dict[str, int] = defaultdict(int)
    for stem, truth in truths.items():
        doc = store.get(stem, {"form_id": None, "state": "missing", "fields": {}})
        states[doc["state"]] += 1
        ok = doc["form_id"] == truth["form_id"]
        classified += ok
        for fid, tv in truth["fields"].items():
            got = doc["fields"].get(fid) if ok else None
            if not is_empty(tv):
                written += 1
                exact += got is not None and same(got[0], tv)
            if got is not None and got[1] == "accepted":
                accepted += 1
                wrong += not same(got[0], tv)
    n = len(truths)
    return {"copies": n, "classified": round(classified / max(1, n), 4), "written_fields": written,
            "written_exact": round(exact / max(1, written), 4), "auto_accepted": accepted,
            "silent_errors": ErrorRate(accepted=accepted, wrong=wrong).as_dict(),
            "states": dict(states)}


def run(forms_dir: Path, work: Path, count: int, seed: int, captures: tuple[str, ...] = CAPTURES,
        progress: Any = print) -> dict[str, Any]:
    from jimu.forms_schema.loader import load_form_file

    for scratch in ("drafts", "inbox", "data"):  # generated copies are kept: same seed, same files
        if (work / scratch).exists():
            shutil.rmtree(work / scratch)
    env = dict(os.environ) | {"JIMU_FORMS_DIRS": str(forms_dir)}
    report: dict[str, Any] = {"forms": {}, "copies": {}}
    yamls = sorted(p for p in forms_dir.glob("*.yaml"))
    form_ids = [load_form_file(p).form_id for p in yamls]
    for path, form_id in zip(yamls, form_ids, strict=True):
        ref = yaml.safe_load(path.read_text(encoding="utf-8"))
        blank = forms_dir / ref["template_image"]["file"]
        progress(f"{form_id}: propose on {blank.name}")
        proposed, seconds = run_propose(blank, f"{form_id}_draft", work / "drafts")
        score = score_proposal(ref["fields"], proposed, ref["title"], ref["code"])
        report["forms"][form_id] = {"propose_seconds": round(seconds, 1)} | score
    inbox = work / "inbox" / "他市様式"
    inbox.mkdir(parents=True)
    truths: dict[str, dict[str, Any]] = {}
    for form_id in form_ids:
        for q in captures:
            progress(f"{form_id}: {count} copies, {q}")
            folder = work / "copies" / f"{form_id}-{q}-s{seed}"
            if len(list(folder.glob("*.truth.json"))) != count:
                if folder.exists():
                    shutil.rmtree(folder)
                subprocess.run([sys.executable, "-m", "jimu.cli", "fixtures", "generate", "--form", form_id, "--count",
                                str(count), "--seed", str(seed), "--quality", q, "--out", str(folder), "--workers",
                                "1"], env=env, check=True, capture_output=True, timeout=3600)
            for t in sorted(folder.glob("*.truth.json")):
                stem = t.name[: -len(".truth.json")]
                scan = next(p for p in folder.iterdir() if p.stem == stem and not p.name.endswith(".json"))
                shutil.copyfile(scan, inbox / scan.name)
                truths[stem] = json.loads(t.read_text(encoding="utf-8")) | {"_group": f"{form_id}/{q}"}
    progress(f"jimu batch run over {len(truths)} copies")
    summary, batch_s = run_batch(inbox.parent, work / "data", forms_dir, env)
    store = read_store(work / "data")
    groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for stem, tr in truths.items():
        groups[tr["_group"]][stem] = tr
    for g, ts in sorted(groups.items()):
        report["copies"][g] = score_copies(ts, store)
    report["batch"] = {"documents": len(truths), "seconds": round(batch_s, 1), "states": summary.get("states")}
    return report
