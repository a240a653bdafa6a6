"""``jimu batch``: run a batch over an inbox, list and show batches, reprocess one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jimu.settings import get_settings

app = typer.Typer(help="Batches: run, list, show, reprocess.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


def _summary_table(s: dict[str, Any]) -> None:
    states = s["states"]
    accepted = states.get("accepted", 0) + states.get("delivered", 0)
    t = Table(title=f"batch {s['batch_id']}", show_header=False)
    t.add_row("files", str(s["files"]))
    t.add_row("documents", f"{s['documents']} ({s['new']} new, {s['skipped']} already processed)")
    t.add_row("accepted → queue", str(accepted))
    t.add_row("flagged → review", str(states.get("review", 0)))
    t.add_row("likely rescans (held)", str(states.get("duplicate", 0)))
    t.add_row("quarantined", str(states.get("quarantined", 0)) + (
        "  " + ", ".join(f"{k}: {v}" for k, v in sorted(s["quarantine_reasons"].items())) if s["quarantine_reasons"]
        else ""))
    t.add_row("throughput", f"{s['documents_per_s']:.2f} documents/s ({s['seconds']:.1f} s)")
    t.add_row("outbox pending", str(s["outbox_pending"]) + (f"  (queue: {s['relay_error']})" if s["relay_error"] else ""))
    if s.get("skipped_entries"):
        t.add_row("not taken this run", str(len(s["skipped_entries"])))
    console.print(t)
    if s.get("skipped_entries"):
        k = Table("file", "why it was not taken (理由)", title="entries not taken")
        for e in s["skipped_entries"]:
            k.add_row(e["file"], e["message"])
        console.print(k)
    console.print("review flagged documents:  jimu review serve  →  http://127.0.0.1:8000/")
    console.print("read the queue:            jimu queue consume --max 10")


@app.command("run")
def run(
    path: Path = typer.Argument(..., help="Inbox folder (a sub-folder per ward office) or a single file."),
    workers: int = typer.Option(2, "--workers", min=1, help="OCR worker processes."),
    prefect: bool = typer.Option(True, "--prefect/--no-prefect", help="Run as a Prefect flow (visible in its UI)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Process every scan under PATH; print what was accepted, flagged and quarantined."""
    from jimu.pipeline.inbox import discover
    from jimu.validators.policy import Thresholds

    if (warning := Thresholds.load().warning()) is not None:
        err.print(f"[bold red]{warning}[/]")
    n = len(discover(path).files) if path.exists() else 0
    if prefect:
        from jimu.flows.quiet import quiet_prefect

        quiet_prefect()
        from jimu.flows.batch import batch_flow

        with err.status(f"running the batch flow over {n} file(s)…"):
            summary = batch_flow(str(path), workers=workers, trigger="cli")
    else:
        from dataclasses import asdict

        from jimu.pipeline.batch import run_batch_plain

        with Progress(TextColumn("processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("", total=n)
            summary = asdict(run_batch_plain(path, workers, "cli", on_file=lambda _r: bar.advance(task)))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _summary_table(summary)


@app.command("list")
def list_batches(limit: int = typer.Option(20, "--limit"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Recent batches, newest first."""
    from sqlalchemy import select

    from jimu.store.db import init_db, session_scope
    from jimu.store.models import Batch

    factory = init_db(get_settings())
    with session_scope(factory) as s:
        rows = list(s.scalars(select(Batch).order_by(Batch.created_at.desc()).limit(limit)))
        data: list[dict[str, Any]] = [{"id": b.id, "created_at": b.created_at.isoformat(), "trigger": b.trigger, "state": b.state,
                 "files": b.n_files, "documents": b.n_documents, "accepted": b.n_accepted, "review": b.n_review,
                 "quarantined": b.n_quarantined, "duplicate": b.n_duplicate} for b in rows]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    t = Table("batch", "created", "trigger", "state", "files", "docs", "accepted", "review", "quarantined")
    for row in data:
        d = {k: str(v) for k, v in row.items()}
        t.add_row(d["id"], d["created_at"][:19], d["trigger"], d["state"], d["files"], d["documents"], d["accepted"],
                  d["review"], d["quarantined"])
    console.print(t)


@app.command("show")
def show(batch_id: str, as_json: bool = typer.Option(False, "--json"),
         fields: bool = typer.Option(True, "--fields/--no-fields")) -> None:
    """Every document of a batch and, per field: value, confidence, accepted or flagged with reasons.

    Restricted fields (マイナンバー, bank details) are masked here; the review UI shows them to those who need them.
    """
    from jimu.pipeline.views import batch_view

    data = batch_view(batch_id, with_fields=fields)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    b = data["batch"]
    console.print(f"[bold]batch {b['id']}[/] {b['state']} — {b['documents']} documents from {b['source']}")
    for d in data["documents"]:
        head = f"[bold]{d['source_name']}[/] #{d['index']} {d['form_id'] or '?'} [{d['state']}]"
        if d["quarantine"]:
            head += f" — {d['quarantine']['code']}: {d['quarantine']['message']}"
        console.print(head)
        if not fields or not d["fields"]:
            continue
        t = Table("field", "value", "conf", "status", "reasons", show_edge=False, pad_edge=False)
        for f in d["fields"]:
            t.add_row(f["field_id"], f["display"], f"{f['confidence']:.3f}" if f["confidence"] is not None else "—",
                      f["status"], ", ".join(f["reasons"]))
        console.print(t)


@app.command("reprocess")
def reprocess(
    batch_id: str,
    from_stage: str = typer.Option("extract", "--from", help="extract | validate | deliver"),
    only_flagged: bool = typer.Option(False, "--only-flagged", help="Only documents waiting for review."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    workers: int = typer.Option(2, "--workers", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-run a batch with the current code and thresholds; operator corrections are never overwritten."""
    from jimu.pipeline.reprocess import reprocess_batch

    report = reprocess_batch(batch_id, from_stage, only_flagged=only_flagged, dry_run=dry_run, workers=workers)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    t = Table("document", "form", "before", "after", "changed fields", "published")
    for d in report["documents"]:
        t.add_row(d["source_name"], d["form_id"] or "?", d["state_before"], d["state_after"],
                  ", ".join(d["changed_fields"]) or "—", d["published"] or "—")
    console.print(t)
    console.print(("[yellow]dry run — nothing written[/]  " if dry_run else "")
                  + f"{report['changed']} document(s) changed, {report['published']} new record version(s) queued")
