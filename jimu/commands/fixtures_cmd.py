"""``jimu fixtures``: draw forms and generate labelled scan corpora."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jimu.errors import BadArgsError
from jimu.forms_schema import get_form

app = typer.Typer(help="Render forms and generate labelled scan corpora.", no_args_is_help=True)
console = Console(stderr=True)


def _read_values(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadArgsError(f"values file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise BadArgsError(f"{path.name} is not valid JSON (line {e.lineno})") from None
    if isinstance(data, dict) and "fields" in data:
        data = data["fields"]  # a truth file works too
    if not isinstance(data, dict):
        raise BadArgsError(f"{path.name}: expected an object mapping field ids to values")
    return data


@app.command("render")
def render(
    form: str = typer.Option(..., "--form", help="Form id, e.g. jumin_idou."),
    out: Path = typer.Option(..., "--out", help="Output file: .png or .pdf."),
    values: Path | None = typer.Option(None, "--values", help="JSON of canonical values (or a .truth.json)."),
    dpi: int = typer.Option(300, "--dpi", min=72, max=1200),
    font: str | None = typer.Option(None, "--font", help="Font for the values: a name of jimu/render/fonts.py "
                                    "(gothic, mincho, seto, yoz-standard, ...) or a path."),
) -> None:
    """Draw a form, blank or filled with VALUES, as PNG or as a printable PDF."""
    from jimu.fixtures.render import Hand, render_pdf, render_png, save_png
    from jimu.render.fonts import font_path

    f = get_form(form)
    vals = _read_values(values)
    hand = Hand(font=font_path(font)) if font else None
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        render_pdf(f, out, vals, hand=hand)
    elif suffix == ".png":
        save_png(render_png(f, vals, dpi=dpi, hand=hand), out, dpi)
    else:
        raise BadArgsError(f"cannot write '{suffix}' files", hint="Use --out NAME.png or --out NAME.pdf.")
    console.print(f"wrote {out}")


@app.command("generate")
def generate(
    form: str = typer.Option("all", "--form", help="Form id or 'all' for a mixed batch."),
    count: int = typer.Option(10, "--count", min=1),
    seed: int = typer.Option(1, "--seed"),
    quality: str = typer.Option(
        "office", "--quality",
        help="Scan tier (clean | office | poor | handwritten) or capture profile (blue_ink | hand_lettered | "
             "phone | fax | stained | folded | misfeed).",
    ),
    out: Path = typer.Option(..., "--out"),
    container: str = typer.Option("none", "--container", help="none | tiff | pdf: put all forms in one feeder file"),
    pc_pdf: bool = typer.Option(False, "--pc-pdf", help="Write PC-filled PDFs (values as real text) instead."),
    workers: int = typer.Option(2, "--workers", min=1),
    shared_values: bool = typer.Option(
        False, "--shared-values",
        help="Give every tier the same value sets for a seed (how jimu/fixtures/samples were made).",
    ),
) -> None:
    """Generate COUNT realistic filled forms as scans, each beside NAME.truth.json."""
    from jimu.fixtures import corpus

    t0 = time.perf_counter()
    if quality not in corpus.QUALITIES:
        raise BadArgsError(f"unknown quality '{quality}'", hint=f"Use one of {', '.join(corpus.QUALITIES)}.")
    if pc_pdf:
        paths = corpus.generate_pc_pdf(form, count, seed, out, shared_values=shared_values)
        console.print(f"wrote {len(paths)} PC-filled PDFs to {out}")
        return
    if container != "none":
        if container not in ("tiff", "pdf"):
            raise BadArgsError(f"unknown container '{container}'", hint="Use none, tiff or pdf.")
        path = corpus.generate_container(form, count, seed, quality, out, container,  # type: ignore[arg-type]
                                         shared_values=shared_values)
        console.print(f"wrote {path} ({count} forms)")
        return
    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("gen", total=count)
        names = corpus.generate(form, count, seed, quality, out, workers=workers,
                                progress=lambda _n: bar.advance(task), shared_values=shared_values)
    dt = time.perf_counter() - t0
    console.print(f"wrote {len(names)} scans with truth to {out} in {dt:.1f} s ({len(names) / dt:.1f} forms/s)")
