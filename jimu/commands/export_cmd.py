"""``jimu export``: write a batch's records as CSV for the core systems (CP932 or UTF-8 with BOM)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jimu.settings import get_settings


def export(
    batch: str = typer.Option(..., "--batch", help="The batch id (jimu batch list)."),
    fmt: str = typer.Option("csv-cp932", "--format", help="csv-cp932 (Shift_JIS, CRLF) or csv-utf8-bom."),
    out: Path | None = typer.Option(None, "--out", help="Folder to write into (default JIMU_CSV_EXPORT_DIR, "
                                                        "else {data_dir}/exports); files go to OUT/<batch>/<format>/."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write one CSV per form (and a manifest) for a batch; a record CP932 cannot hold goes to a
    needs-attention file instead, named in the manifest by record, field and code point.

    Running it again rewrites the same files: each record once, at its latest version."""
    from jimu.export.csv_sink import check_format, export_batch, export_root
    from jimu.store.db import init_db

    check_format(fmt)
    settings = get_settings()
    result = export_batch(init_db(settings), batch, fmt, out or export_root(settings))
    s = result.summary()
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False, sort_keys=True))
        return
    typer.echo(f"batch {batch} → {s['folder']} ({fmt}{'' if s['changed'] else ', unchanged'})")
    typer.echo(f"  records {s['records']}: written {s['written']}, needs attention {s['needs_attention']}"
               + (f", skipped {s['skipped']}" if s["skipped"] else ""))
    for name in s["files"]:
        typer.echo(f"  {name}")
    if s["needs_attention"]:
        typer.echo("  records the core system's character set cannot hold are in *.needs-attention.csv "
                   "(UTF-8); manifest.json lists each by record id, field and code point")
