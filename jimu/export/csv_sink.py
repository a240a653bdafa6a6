"""The CSV sink: a batch's records as one CSV file per form, for core systems and RPA robots.

``export_batch(factory, batch_id, "csv-cp932", root)`` writes into ``root/<batch_id>/csv-cp932/``:

* ``<form_id>.csv``: a header row, then one row per record (columns, dates and code tables from the
  form's ``export.csv`` section), CRLF, in CP932 (``csv-cp932``) or UTF-8 with a BOM (``csv-utf8-bom``);
* ``<form_id>.needs-attention.csv`` (UTF-8 with BOM), only when some record cannot be written as its
  columns say: a character CP932 cannot hold (髙, 﨑, an IVS selector: never replaced), a date that
  is not one, a choice without a code. Such a record is left out of ``<form_id>.csv`` and written here
  whole, with a first column 要確認 saying which column and which character (by code point);
* ``manifest.json``, written last: counts, each file's rows, records, bytes and sha256, the encoding,
  and every unencodable character as record id + field id + code point (never the value).

Each file is written whole or not at all (a temporary file, fsync, ``os.replace``). The names are the
batch's own: exporting a batch again rewrites the same files (each record once, at its latest version),
and when nothing changed nothing is rewritten (the manifest, its time included, stays as it was).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jimu.errors import BadArgsError, DiskFullError, ExportError, is_disk_full
from jimu.export.charset import code_points, unencodable
from jimu.export.records import batch_records
from jimu.export.values import CellProblem, cell, meta_cell
from jimu.forms_schema.export_model import CsvExport, ResolvedColumn, resolve_csv_columns
from jimu.forms_schema.model import FormDefinition
from jimu.settings import Settings

log = logging.getLogger(__name__)

FORMATS: dict[str, str] = {"csv-cp932": "cp932", "csv-utf8-bom": "utf-8-sig"}
MANIFEST = "manifest.json"
ATTENTION_SUFFIX = ".needs-attention.csv"
ATTENTION_HEADER = "要確認"
MANIFEST_VERSION = 1
PROBLEMS_JA = {
    "unencodable": "この文字コードに無い文字",
    "not_a_date": "日付として読めません",
    "no_code": "コード表に無い選択肢",
    "unexpected_value": "想定外の値",
    "missing_field": "項目がありません（様式の版の違い）",
}


@dataclass(frozen=True)
class Finding:
    """Why a record was not written to its form's CSV: named by ids and code points, never by the value."""

    record_id: str
    form_id: str
    field_id: str
    column: str
    problem: str
    code_points: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    manifest: dict[str, Any]
    changed: bool  # False: the files on disk already held this export (nothing was rewritten)

    def summary(self) -> dict[str, Any]:
        """What to show or log (counts, names, no values)."""
        m = self.manifest
        return {"folder": str(self.folder), "format": m["format"], **m["count"], "changed": self.changed,
                "files": [f["name"] for f in m["files"]] + [MANIFEST]}


def export_root(settings: Settings) -> Path:
    """Where exports go unless ``--out`` says otherwise: ``JIMU_CSV_EXPORT_DIR``, else ``{data_dir}/exports``."""
    return settings.csv_export_dir or settings.data_dir / "exports"


def check_format(fmt: str) -> str:
    """The Python encoding of an export format; a :class:`BadArgsError` for an unknown one."""
    if fmt not in FORMATS:
        raise BadArgsError(f"unknown export format '{fmt}'", hint=f"Use one of: {', '.join(FORMATS)}.")
    return FORMATS[fmt]


def _bad_chars(text: str, encoding: str, csv_spec: CsvExport) -> list[str]:
    if encoding == "cp932":
        return unencodable(text, csv_spec.charset)
    return [c for c in dict.fromkeys(text) if 0xD800 <= ord(c) <= 0xDFFF]  # UTF-8 holds all but lone surrogates


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _row(form: FormDefinition, cols: list[ResolvedColumn], csv_spec: CsvExport, record: Mapping[str, Any],
         encoding: str) -> tuple[list[str], list[Finding]]:
    """One record's cells, and what keeps it out of the form's CSV (each cell holds the value as read,
    for the needs-attention file, when it has a problem)."""
    cells: list[str] = []
    found: list[Finding] = []
    values = record.get("fields") or {}
    rid = str(record.get("record_id"))
    for col in cols:
        fid = col.leaf_id or f"meta:{col.meta}"
        if col.meta is not None:
            text = meta_cell(col.meta, record)
        elif col.leaf_id not in values:
            found.append(Finding(rid, form.form_id, fid, col.header, "missing_field"))
            cells.append("")
            continue
        else:
            try:
                text = cell(col, values[col.leaf_id], csv_spec.multi_separator)
            except CellProblem as p:
                found.append(Finding(rid, form.form_id, fid, col.header, p.problem))
                cells.append(_shown(values[col.leaf_id]))
                continue
        bad = _bad_chars(text, encoding, csv_spec)
        if bad:
            found.append(Finding(rid, form.form_id, fid, col.header, "unencodable", code_points(bad)))
        cells.append(text)
    return cells, found


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _encode(text: str, encoding: str) -> bytes:
    data = text.encode(encoding)
    if data.decode(encoding) != text:  # every character was checked; this guards against a codec's one-way map
        raise ExportError("a character would not read back as written; nothing was exported",
                          hint="This is a bug in jimu/export/charset.py: report it with the batch id.")
    return data


def _attention_note(found: list[Finding]) -> str:
    return " / ".join(f"{f.column}({f.field_id}): {PROBLEMS_JA[f.problem]}" + (f" {' '.join(f.code_points)}"
                                                                            if f.code_points else "")
                      for f in found)


def _file_entry(name: str, form: FormDefinition, encoding: str, charset: str | None, data: bytes,
                records: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {"name": name, "form_id": form.form_id, "form_version": form.version, "encoding": encoding,
            "charset": charset, "rows": len(records), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "records": [{"record_id": r.get("record_id"), "record_version": r.get("record_version")} for r in records]}


def build_files(records: list[dict[str, Any]], forms: Mapping[str, FormDefinition], fmt: str
                ) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files of one export (name → bytes) and its manifest without a time; pure, writes nothing."""
    encoding = check_format(fmt)
    by_form: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_form.setdefault(str(r.get("form_id")), []).append(r)
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    findings: list[Finding] = []
    skipped: list[dict[str, Any]] = []
    for form_id in sorted(by_form):
        form = forms.get(form_id)
        if form is None:
            skipped += [{"record_id": r.get("record_id"), "form_id": form_id, "reason": "unknown_form"}
                        for r in by_form[form_id]]
            continue
        csv_spec = form.export.csv if form.export is not None else CsvExport()
        cols = resolve_csv_columns(form)
        header = [c.header for c in cols]
        good: list[tuple[dict[str, Any], list[str]]] = []
        held: list[tuple[dict[str, Any], list[str]]] = []
        for r in by_form[form_id]:
            cells, found = _row(form, cols, csv_spec, r, encoding)
            if found:
                findings += found
                held.append((r, [_attention_note(found), *cells]))
            else:
                good.append((r, cells))
        charset = csv_spec.charset if encoding == "cp932" else None
        name = f"{form_id}.csv"
        files[name] = _encode(_csv_text(header, [c for _, c in good]), encoding)
        entries.append(_file_entry(name, form, encoding, charset, files[name], [r for r, _ in good]))
        if held:
            name = f"{form_id}{ATTENTION_SUFFIX}"
            files[name] = _csv_text([ATTENTION_HEADER, *header], [c for _, c in held]).encode("utf-8-sig")
            entries.append(_file_entry(name, form, "utf-8-sig", None, files[name], [r for r, _ in held]))
    written = sum(e["rows"] for e in entries if not e["name"].endswith(ATTENTION_SUFFIX))
    manifest = {
        "manifest_version": MANIFEST_VERSION, "format": fmt, "encoding": encoding, "newline": "CRLF",
        "count": {"records": len(records), "written": written, "needs_attention": len(records) - written - len(skipped),
                  "skipped": len(skipped)},
        "files": entries,
        "unencodable": [{k: v for k, v in asdict(f).items() if k != "problem"} for f in findings
                        if f.problem == "unencodable"],
        "problems": [{k: v for k, v in asdict(f).items() if k != "code_points"} for f in findings
                     if f.problem != "unencodable"],
        "skipped": skipped,
    }
    return files, manifest


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it (mode 0600), fsync, ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One export of a batch and format at a time (the batch flow and `jimu export` may meet)."""
    with open(folder / ".export.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        old = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return old if isinstance(old, dict) else None


def _unchanged(folder: Path, old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    if old is None or {k: v for k, v in old.items() if k != "exported_at"} != new:
        return False
    return all(_sha(folder / f["name"]) == f["sha256"] for f in new["files"])


def write_export(folder: Path, files: Mapping[str, bytes], manifest: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Write the files, drop those of an earlier export this one no longer has, then the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock(folder):
        old = _read_manifest(folder)
        if _unchanged(folder, old, manifest):
            assert old is not None
            return old, False
        for name, data in files.items():
            if _sha(folder / name) != hashlib.sha256(data).hexdigest():
                atomic_write(folder / name, data)
        for entry in (old or {}).get("files", []):
            name = Path(str(entry.get("name", ""))).name
            if name and name not in files and name.endswith(".csv"):
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
        stamped = {**manifest, "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
        atomic_write(folder / MANIFEST, (json.dumps(stamped, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        _fsync_dir(folder)
        return stamped, True


def export_batch(factory: sessionmaker[Session], batch_id: str, fmt: str, root: Path,
                 forms: Mapping[str, FormDefinition] | None = None) -> ExportResult:
    """Export every record of ``batch_id`` into ``root/<batch_id>/<fmt>/`` (see the module's docstring)."""
    check_format(fmt)
    if forms is None:
        from jimu.forms_schema import load_all_forms

        forms = load_all_forms()
    got = batch_records(factory, batch_id)
    files, manifest = build_files(got.records, forms, fmt)
    manifest = {"batch_id": batch_id, "batch_state": got.state, **manifest}
    folder = root / batch_id / fmt
    try:
        written, changed = write_export(folder, files, manifest)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(f"the disk is full: batch {batch_id} was not exported") from e
        raise ExportError(f"cannot write the export of batch {batch_id} into {folder} ({e.strerror or e})") from e
    for f in manifest["unencodable"]:
        log.warning("export %s: record %s field %s holds %s, which %s cannot hold: written to %s%s instead",
                    fmt, f["record_id"], f["field_id"], " ".join(f["code_points"]), fmt, f["form_id"],
                    ATTENTION_SUFFIX)
    for f in manifest["problems"]:
        log.warning("export %s: record %s field %s: %s (written to the needs-attention file)",
                    fmt, f["record_id"], f["field_id"], f["problem"])
    for f in manifest["skipped"]:
        log.warning("export %s: record %s of form %s not exported: %s", fmt, f["record_id"], f["form_id"], f["reason"])
    return ExportResult(folder, written, changed)
