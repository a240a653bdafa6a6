"""``jimu demo``: the main job on the embedded defaults (SQLite store, SQLite queue, Prefect's local server)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import typer
from rich.console import Console

from jimu.pipeline.inbox import WARDS
from jimu.settings import get_settings

console = Console()


def demo(
    count: int = typer.Option(12, "--count", min=1, help="Forms in the demo batch."),
    seed: int = typer.Option(2026, "--seed"),
    quality: str = typer.Option("office", "--quality"),
    workers: int = typer.Option(2, "--workers", min=1),
    prefect: bool = typer.Option(True, "--prefect/--no-prefect"),
) -> None:
    """Generate a mixed batch of scanned forms in a ward-office inbox, run the batch flow, show the outcome."""
    from jimu.commands.batch_cmd import run as batch_run
    from jimu.fixtures import corpus
    from jimu.fixtures.contact_sheet import contact_sheet

    if get_settings().intake_date is None:  # the simulated forms are dated as if filed on CORPUS_TODAY
        # set in the environment, not only here: the flow's worker processes read their own settings
        os.environ["JIMU_INTAKE_DATE"] = corpus.CORPUS_TODAY.isoformat()
        get_settings.cache_clear()
    settings = get_settings()
    inbox: Path = settings.data_dir / "demo" / "inbox"
    staging = settings.data_dir / "demo" / "generated"
    console.print(f"[bold]1.[/] generating {count} scanned forms ({quality}, seed {seed}) with ground truth")
    names = corpus.generate("all", count, seed, quality, staging, workers=workers)  # type: ignore[arg-type]
    rng = random.Random(seed)
    files = []
    for name in names:
        ward = rng.choice(WARDS)
        dest = inbox / ward / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging / name, dest)
        files.append(dest)
    sheet = contact_sheet(files, settings.data_dir / "demo" / "contact_sheet.png")
    console.print(f"   inbox: {inbox} (a folder per ward office); look at them: {sheet}")
    console.print(f"[bold]2.[/] running the batch {'flow (Prefect, local server)' if prefect else 'pipeline'}")
    batch_run(inbox, workers=workers, prefect=prefect, as_json=False)
    console.print("[bold]3.[/] next:")
    console.print("   jimu queue consume --max 5          # what the processing center receives")
    console.print("   jimu users add op1 --role operator  # then: jimu review serve, and open http://127.0.0.1:8000/")
    console.print("   jimu batch show <batch id>           # every field: value, confidence, accepted or flagged")
