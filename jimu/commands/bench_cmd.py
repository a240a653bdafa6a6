"""``jimu bench``: benchmarks that print ratios measured in the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jimu.errors import BadArgsError

app = typer.Typer(help="Benchmarks (accuracy and speed on a labelled corpus).", no_args_is_help=True)
console = Console()


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


@app.command("extract")
def extract(
    corpus: Path = typer.Option(..., "--corpus", help="Folder of scans with NAME.truth.json."),
    json_out: Path | None = typer.Option(None, "--json-out"),
    workers: int = typer.Option(2, "--workers", min=1),
    engine: str | None = typer.Option(None, "--engine", help="tesserocr (default) or pytesseract."),
    naive: int = typer.Option(3, "--naive", min=0, help="Forms per tier for the full-page baseline."),
    limit: int | None = typer.Option(None, "--limit", min=1),
) -> None:
    """Field accuracy, classification, calibration and forms/s of extraction, per quality tier."""
    from jimu.bench import extract_bench

    if not corpus.is_dir():
        raise BadArgsError(f"corpus folder not found: {corpus}")
    n = sum(1 for _ in corpus.glob("*.truth.json"))
    with Progress(TextColumn("extracting {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("", total=limit or n)
        report = extract_bench.run(corpus, workers=workers, engine=engine, naive_per_tier=naive, limit=limit,
                                   progress=lambda tier, _r: bar.update(task, advance=1, description=tier))
    t = Table("tier", "forms", "field exact", "CER", "classified", "orientation", "forms/s", "OCR-only limit",
              "naive", "vs limit", "vs naive", title="Extraction")
    kinds: set[str] = set()
    for tier, r in report.items():
        if tier.startswith("_"):
            continue
        kinds |= set(r["by_kind"])
        lim, nv, fps = r["ocr_limit_forms_per_s"], r["naive_forms_per_s"], r["forms_per_s"]
        t.add_row(tier, str(r["forms"]), _pct(r["field_exact"]), _pct(r["cer"]), _pct(r["classified"]),
                  _pct(r["orientation"]), f"{fps:.2f}", f"{lim:.2f}" if lim else "—", f"{nv:.2f}" if nv else "—",
                  f"{lim / fps:.2f}× slower" if lim else "—", f"{fps / nv:.1f}× faster" if nv else "—")
    console.print(t)
    k = Table("tier", *sorted(kinds), title="Exact match by field kind (CER)")
    for tier, r in report.items():
        if tier.startswith("_"):
            continue
        k.add_row(tier, *[f"{_pct(r['by_kind'][x]['exact'])} ({_pct(r['by_kind'][x]['cer'])})"
                          if x in r["by_kind"] else "—" for x in sorted(kinds)])
    console.print(k)
    c = Table("tier", *[f"{d / 10:.1f}" for d in range(10)], title="Calibration: accuracy (n) per confidence decile")
    for tier, r in report.items():
        if tier.startswith("_"):
            continue
        c.add_row(tier, *["—" if b["n"] == 0 else f"{_pct(b['accuracy'])} ({b['n']})" for b in r["calibration"]])
    console.print(c)
    console.print(f"peak memory (MiB): {report['_peak_rss_mib']}")
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        console.print(f"wrote {json_out}")


def _extract_pairs(corpus: Path, workers: int, limit: int | None, cache: Path | None = None) -> list[Any]:
    """Extraction results of a corpus; with ``cache``, reused from (or saved to) that file."""
    import pickle

    from jimu.bench.extract_bench import extract_corpus

    if not corpus.is_dir():
        raise BadArgsError(f"corpus folder not found: {corpus}")
    if cache is not None and cache.exists():
        console.print(f"reusing extraction results from {cache}")
        return list(pickle.loads(cache.read_bytes()))
    n = limit or sum(1 for _ in corpus.glob("*.truth.json"))
    with Progress(TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("", total=n)
        pairs = extract_corpus(corpus, workers=workers, limit=limit, progress=lambda _r: bar.advance(task))
    if cache is not None:
        cache.write_bytes(pickle.dumps(pairs))
    return pairs


@app.command("accuracy")
def accuracy(
    corpus: Path = typer.Option(..., "--corpus", help="Folder of scans with NAME.truth.json."),
    json_out: Path | None = typer.Option(None, "--json-out"),
    workers: int = typer.Option(2, "--workers", min=1),
    limit: int | None = typer.Option(None, "--limit", min=1),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="Thresholds file (default: the shipped one)."),
    cache: Path | None = typer.Option(None, "--cache", help="Reuse/save extraction results (same code only)."),
) -> None:
    """Silent-error, auto-accept, straight-through and keystrokes saved of the accept/flag policy."""
    from jimu.bench.accuracy_bench import accuracy_report
    from validators.policy import Thresholds

    pairs = _extract_pairs(corpus, workers, limit, cache)
    th = Thresholds.load(thresholds)
    report = accuracy_report(pairs, th)
    without = accuracy_report(pairs, th, use_furigana=False)
    t = Table("tier", "docs", "silent error", "auto-accept", "straight-through", "keystrokes saved",
              "without furigana check (accept / straight)", title=f"Accept/flag policy (thresholds {th.version})")
    for tier, r in report.items():
        w = without[tier]
        t.add_row(tier, str(r["documents"]), f"{100 * r['silent_error_rate']:.2f}% ({r['wrong_accepted_fields']}"
                  f"/{r['accepted_fields']})", _pct(r["auto_accept_rate"]), _pct(r["straight_through_rate"]),
                  _pct(r["keystrokes_saved"]), f"{_pct(w['auto_accept_rate'])} / {_pct(w['straight_through_rate'])}")
    console.print(t)
    f = Table("tier", "form", "docs", "silent error", "auto-accept", "straight-through", "keystrokes saved",
              "top flag reasons", title="Per form")
    for tier, r in report.items():
        for form_id, x in r.get("by_form", {}).items():
            top = ", ".join(f"{k} {v}" for k, v in list(x["flag_reasons"].items())[:3])
            f.add_row(tier, form_id, str(x["documents"]), f"{100 * x['silent_error_rate']:.2f}%",
                      _pct(x["auto_accept_rate"]), _pct(x["straight_through_rate"]), _pct(x["keystrokes_saved"]), top)
    console.print(f)
    for tier, r in report.items():
        console.print(f"[bold]{tier}[/] flag reasons: {r['flag_reasons']}")
        if r["wrong_accepted_by_field"]:
            console.print(f"   wrong but accepted: {r['wrong_accepted_by_field']}")
    if json_out:
        for tier in report:
            report[tier]["without_furigana"] = {k: without[tier][k] for k in
                                                ("silent_error_rate", "auto_accept_rate", "straight_through_rate",
                                                 "keystrokes_saved")}
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        console.print(f"wrote {json_out}")


def calibrate(
    corpus: Path = typer.Option(..., "--corpus", help="Labelled corpus to fit on (not the one you report on)."),
    target: float = typer.Option(0.001, "--target", help="Silent-error rate to aim for among accepted fields."),
    out: Path | None = typer.Option(None, "--out", help="Where to write (default: validators/thresholds.json)."),
    workers: int = typer.Option(2, "--workers", min=1),
    limit: int | None = typer.Option(None, "--limit", min=1),
    cache: Path | None = typer.Option(None, "--cache", help="Reuse/save extraction results (same code only)."),
) -> None:
    """Fit per-kind confidence thresholds to TARGET and write them to the versioned thresholds file."""
    from jimu.bench.accuracy_bench import calibration_samples
    from validators.calibrate import fit, write_thresholds
    from validators.policy import THRESHOLDS_FILE

    if not 0 < target < 1:
        raise BadArgsError("--target must be between 0 and 1, e.g. 0.001")
    pairs = _extract_pairs(corpus, workers, limit, cache)
    fitted = fit(calibration_samples(pairs), target)
    data = write_thresholds(out or THRESHOLDS_FILE, fitted, target, corpus.name)
    t = Table("kind", "threshold", "candidates", "accepted", "errors among accepted", title=f"thresholds {data['version']}")
    for kind, v in fitted.items():
        t.add_row(kind, "never" if v["threshold"] > 1 else f"{v['threshold']:.4f}", str(v["candidates"]),
                  str(v["accepted"]), str(v["errors_accepted"]))
    console.print(t)
    console.print(f"wrote {out or THRESHOLDS_FILE}")


@app.command("pipeline")
def pipeline(
    count: int = typer.Option(500, "--count", min=1, help="Office-tier forms to generate (if --scans is not given)."),
    scans: Path | None = typer.Option(None, "--scans", help="Folder of scans to use instead of generating."),
    seed: int = typer.Option(500, "--seed"),
    workers: int = typer.Option(2, "--workers", min=1),
    work: Path = typer.Option(Path("data/bench-pipeline"), "--work", help="Scratch folder."),
    json_out: Path | None = typer.Option(None, "--json-out"),
) -> None:
    """Forms/s of the whole flow (Prefect, store, queue) next to extraction alone, measured in the same run."""
    from fixtures import corpus
    from jimu.bench import pipeline_bench

    if scans is None:
        scans = work / f"scans-office-s{seed}-{count}"
        if not scans.exists() or len(list(scans.glob("*.truth.json"))) < count:
            console.print(f"generating {count} office-tier forms into {scans}")
            corpus.generate("all", count, seed, "office", scans, workers=workers)
    with console.status("extraction alone, then the whole batch flow…"):
        r = pipeline_bench.run(scans, work, workers)
    t = Table("forms", "extraction forms/s", "pipeline forms/s", "overhead", "peak MiB", "MiB 1st → last quarter",
              title="Pipeline benchmark (same run, same scans)")
    m = r["memory"]
    t.add_row(str(r["forms"]), f"{r['extract_forms_per_s']:.2f}", f"{r['pipeline_forms_per_s']:.2f}",
              f"{100 * r['overhead']:+.1f}%", f"{m['peak_mib']:.0f}",
              f"{m['first_quarter_peak_mib']:.0f} → {m['last_quarter_peak_mib']:.0f}")
    console.print(t)
    console.print(f"document states: {r['states']}; outbox pending: {r['outbox_pending']}")
    if json_out:
        json_out.write_text(json.dumps(r, ensure_ascii=False, indent=2))
