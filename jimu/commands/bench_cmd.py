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
