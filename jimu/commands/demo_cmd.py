"""``jimu demo``: the main job on the embedded defaults (no services needed)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jimu.settings import get_settings

console = Console()


def demo(
    count: int = typer.Option(10, "--count", min=1, help="Forms in the demo batch."),
    seed: int = typer.Option(2026, "--seed"),
    quality: str = typer.Option("office", "--quality"),
) -> None:
    """Generate a small mixed batch of scanned forms with ground truth, and show it."""
    from fixtures import corpus
    from fixtures.contact_sheet import contact_sheet

    out: Path = get_settings().data_dir / "demo" / "inbox"
    console.print(f"[bold]1.[/] generating {count} scanned forms ({quality} quality, seed {seed}) into {out}")
    names = corpus.generate("all", count, seed, quality, out)  # type: ignore[arg-type]
    t = Table("scan", "form", "fields filled", "rotation", "skew °")
    forms: Counter[str] = Counter()
    files = []
    for path, truth in corpus.iter_truth(out):
        if path.name not in names:
            continue
        files.append(path)
        forms[truth["form_id"]] += 1
        filled = sum(1 for v in truth["fields"].values() if v not in (None, [], ""))
        scan = truth.get("scan", {})
        t.add_row(path.name, truth["form_id"], f"{filled}/{len(truth['fields'])}", str(scan.get("rotation", 0)),
                  f"{scan.get('skew_deg', 0):+.2f}")
    console.print(t)
    sheet = contact_sheet(files, out.parent / "contact_sheet.png")
    console.print(f"[bold]2.[/] forms: {json.dumps(dict(forms), ensure_ascii=False)}")
    console.print(f"[bold]3.[/] look at them: {sheet}  (truth beside each scan as NAME.truth.json)")
