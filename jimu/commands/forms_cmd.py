"""``jimu forms``: list, show and preview the form definitions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jimu.forms_schema import get_form, load_all_forms

app = typer.Typer(help="The form definitions (jimu/forms_schema/*.yaml).", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 180)


@app.command("list")
def list_forms(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the forms Jimu knows."""
    forms = load_all_forms()
    if as_json:
        out = [{"form_id": f.form_id, "version": f.version, "title": f.title, "code": f.code,
                "fields": len(f.leaf_fields())} for f in forms.values()]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    t = Table("form_id", "version", "title", "code", "fields", "rules")
    for f in forms.values():
        t.add_row(f.form_id, str(f.version), f.title, f.code, str(len(f.leaf_fields())), str(len(f.rules)))
    console.print(t)


@app.command("show")
def show_form(form_id: str, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show one form's fields (table cells expanded) and rules."""
    form = get_form(form_id)
    if as_json:
        typer.echo(form.model_dump_json(indent=2))
        return
    console.print(f"[bold]{form.title}[/] ({form.form_id} v{form.version}, {form.code})")
    t = Table("field", "label", "kind", "box (mm)", "required", "validators", "sensitivity")
    for lf in form.leaf_fields():
        e = lf.entry
        extra = f" ×{lf.cells}" if lf.cells else ""
        if lf.options:
            extra = " [" + "/".join(o.label for o in lf.options) + "]"
        t.add_row(lf.id, lf.label, lf.kind + extra, f"{e.x:.0f},{e.y:.0f} {e.w:.0f}×{e.h:.0f}",
                  "yes" if lf.required else "", ", ".join(lf.validators), lf.sensitivity)
    console.print(t)
    if form.rules:
        r = Table("rule", "kind", "fields", "message")
        for rule in form.rules:
            r.add_row(rule.name, rule.kind + (" (note)" if rule.severity == "note" else ""), ", ".join(rule.fields),
                      rule.message)
        console.print(r)


@app.command("preview")
def preview(
    form_id: str,
    on: Path | None = typer.Option(None, "--on", help="A filled scan: registered onto the form, then drawn on."),
    out: Path | None = typer.Option(None, "--out", help="PNG to write (default: data/preview/FORM.png)."),
) -> None:
    """Draw every field box, 1文字枠 cell, option and era over the form's blank (or a registered scan)."""
    from jimu.errors import BadArgsError
    from jimu.extractors.preview import write_preview
    from jimu.settings import get_settings

    form = get_form(form_id)
    if on is not None and not on.is_file():
        raise BadArgsError(f"scan not found: {on}")
    dest = out or get_settings().data_dir / "preview" / f"{form_id}{'_' + on.stem if on else ''}.png"
    console.print(f"wrote {write_preview(form, dest, on)}")


@app.command("propose")
def propose_cmd(
    blank: Path = typer.Argument(..., help="A blank scan of the form (PNG, JPEG, TIFF or PDF; its first page)."),
    form_id: str = typer.Option(..., "--form-id", help="Id of the new form (lower case, digits and _)."),
    out: Path = typer.Option(Path("."), "--out", help="Folder for FORM_ID.yaml and FORM_ID_blank.png."),
) -> None:
    """Propose a draft definition from a blank scan: ruled cells, labels, 1文字枠 runs, tick boxes and options."""
    import re

    from PIL import Image

    from jimu.errors import BadArgsError
    from jimu.extractors.engines import get_engine
    from jimu.extractors.ingest import load_documents
    from jimu.extractors.page_prep import a4_dpi, to_gray
    from jimu.extractors.propose import draft_yaml, propose

    if not re.fullmatch(r"[a-z][a-z0-9_]*", form_id):
        raise BadArgsError(f"form id '{form_id}' must be lower case letters, digits and _ (e.g. shugaku_enjo)")
    if not blank.is_file():
        raise BadArgsError(f"blank scan not found: {blank}")
    page = load_documents(blank)[0].pages[0]
    gray = to_gray(page.image)
    dpi = page.dpi if page.dpi_known else (a4_dpi(gray.shape[:2]) or page.dpi)
    draft, proposals = propose(gray, dpi, get_engine(None), form_id)
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gray).save(out / f"{form_id}_blank.png", dpi=(round(dpi), round(dpi)))
    yml = out / f"{form_id}.yaml"
    yml.write_text(draft_yaml(draft, proposals, blank.name), encoding="utf-8")
    t = Table("field", "label", "kind", "box (mm)", "sure", "why")
    for p in proposals:
        b = p.field["box"]
        t.add_row(p.field["id"], p.field["label"], p.field["kind"], f"{b['x']},{b['y']} {b['w']}×{b['h']}",
                  f"{p.confidence:.2f}", "; ".join(p.why))
    console.print(t)
    console.print(f"wrote {yml} and {out / (form_id + '_blank.png')}; check it: "
                  f"JIMU_FORMS_DIRS={out} jimu forms preview {form_id}")
