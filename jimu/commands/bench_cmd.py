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
        from jimu.bench.metrics import provenance
        from jimu.fixtures.corpus import iter_truth
        from jimu.validators.policy import Thresholds

        prov = provenance([corpus], [t for _, t in iter_truth(corpus)][: limit or None], Thresholds.load().version)
        json_out.write_text(json.dumps({"_provenance": prov} | report, ensure_ascii=False, indent=2))
        console.print(f"wrote {json_out}")


def _extract_pairs(corpora: list[Path], workers: int, limit: int | None, cache: Path | None = None) -> list[Any]:
    """Extraction results of one or more corpora; with ``cache``, reused from (or saved to) that JSON file.

    The cache is keyed on everything extraction depends on (``extract_bench.extraction_key``: its code,
    the OCR packages and engine, the corpora's scans and truth, ``--limit``): results made otherwise are
    never reused. It holds no decisions: the thresholds are applied afresh on every run."""
    from jimu.bench.extract_bench import extract_corpus, extraction_key, load_cache, save_cache

    for corpus in corpora:
        if not corpus.is_dir():
            raise BadArgsError(f"corpus folder not found: {corpus}")
    key = extraction_key(corpora, limit=limit)
    if cache is not None and cache.exists():
        cached = load_cache(cache, key)
        if cached is not None:
            console.print(f"reusing extraction results from {cache}")
            return cached
        console.print(f"[yellow]{cache} was made by other code, another corpus or limit, or is not a Jimu "
                      "cache: extracting again[/]")
    pairs = []
    for corpus in corpora:
        n = limit or sum(1 for _ in corpus.glob("*.truth.json"))
        with Progress(TextColumn(f"extracting {corpus.name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("", total=n)
            pairs += extract_corpus(corpus, workers=workers, limit=limit, progress=lambda _r, t=task: bar.advance(t))
    if cache is not None:
        save_cache(cache, key, pairs)
    return pairs


def _err(e: dict[str, Any]) -> str:
    if not e["accepted"]:
        return "— (0 accepted)"
    return f"{100 * e['rate']:.2f}% ≤{100 * e['upper95']:.2f}% ({e['wrong']}/{e['accepted']})"


@app.command("accuracy")
def accuracy(
    corpus: list[Path] = typer.Option(..., "--corpus", help="Folder(s) of scans with NAME.truth.json."),
    json_out: Path | None = typer.Option(None, "--json-out"),
    workers: int = typer.Option(2, "--workers", min=1),
    limit: int | None = typer.Option(None, "--limit", min=1),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="Thresholds file (default: the shipped one)."),
    cache: Path | None = typer.Option(None, "--cache", help="Reuse/save extraction results (JSON; same code and corpus only)."),
) -> None:
    """Silent error (with its 95% upper bound), straight-through, keystrokes saved and operator time of the
    accept/flag policy, per tier and capture profile."""
    from jimu.bench.accuracy_bench import accuracy_report
    from jimu.bench.metrics import SECONDS_PER_CONFIRM, SECONDS_PER_DOCUMENT_OPENED, SECONDS_PER_KEYSTROKE, provenance
    from jimu.validators.policy import Thresholds

    pairs = _extract_pairs(corpus, workers, limit, cache)
    th = Thresholds.load(thresholds)
    if (warning := th.warning()) is not None:
        console.print(f"[bold red]{warning}[/]")
    report = accuracy_report(pairs, th)
    t = Table("tier", "docs", "silent error written (≤95%)", "silent error empty", "auto-accept",
              "straight-through", "… no restricted fields", "… check-digit auto", "keystrokes saved", "operator s/doc",
              title=f"Accept/flag policy (thresholds {th.version})")
    for tier, r in report.items():
        st, sf = r["straight_through"], r["straight_through_without_restricted_fields"]
        t.add_row(tier, str(r["documents"]), _err(r["silent_error_written"]), _err(r["silent_error_empty"]),
                  _pct(r["auto_accept_rate"]), _pct(st["double_entry"]), _pct(sf["double_entry"]),
                  _pct(st["check_digit_auto"]), _pct(r["keystrokes_saved"]), f"{r['operator_seconds_per_document']:.0f}")
    console.print(t)
    g = Table("tier", *sorted({k for r in report.values() for k in r["silent_error_by_group"]}),
              title="Silent error by field group: rate ≤ upper 95% bound (wrong/accepted)")
    groups = g.columns[1:]
    for tier, r in report.items():
        g.add_row(tier, *[_err(r["silent_error_by_group"][str(col.header)]) if str(col.header) in
                          r["silent_error_by_group"] else "—" for col in groups])
    console.print(g)
    for tier, r in report.items():
        console.print(f"[bold]{tier}[/] fields holding documents back: {r['fields_holding_back']}")
        if r["wrong_accepted_by_field"]:
            console.print(f"   wrong but accepted: {r['wrong_accepted_by_field']}")
    console.print(f"operator time model: {SECONDS_PER_DOCUMENT_OPENED} s per document opened, {SECONDS_PER_CONFIRM} s "
                  f"per field confirmed, {SECONDS_PER_KEYSTROKE} s per keystroke")
    if json_out:
        out = {"_provenance": provenance(corpus, [t for t, _ in pairs], th.version)} | report
        json_out.write_text(json.dumps(out, ensure_ascii=False, indent=2))
        console.print(f"wrote {json_out}")


def calibrate(
    corpus: list[Path] = typer.Option(..., "--corpus", help="Labelled corpora to fit on (not the ones you report on)."),
    target: float = typer.Option(0.001, "--target", help="Upper 95% bound on the silent-error rate of each group."),
    out: Path | None = typer.Option(None, "--out", help="Where to write (default: jimu/validators/thresholds.json)."),
    workers: int = typer.Option(2, "--workers", min=1),
    limit: int | None = typer.Option(None, "--limit", min=1),
    cache: Path | None = typer.Option(None, "--cache", help="Reuse/save extraction results (JSON; same code and corpus only)."),
    form: str | None = typer.Option(None, "--form", help="Calibrate one form on its own (a city's new form), "
                                    "added to the existing thresholds file."),
) -> None:
    """Fit each field group's acceptance model and the threshold at which the upper 95% bound of its error
    on the corpus is ≤ TARGET; write them to the versioned thresholds file. A group without enough
    evidence is never auto-accepted, and the table says how many more fields it needs."""
    from jimu.bench.accuracy_bench import calibrated_forms, calibration_samples
    from jimu.bench.metrics import provenance
    from jimu.validators.calibrate import fit, write_thresholds
    from jimu.validators.policy import THRESHOLDS_FILE

    if not 0 < target < 1:
        raise BadArgsError("--target must be between 0 and 1, e.g. 0.001")
    pairs = _extract_pairs(corpus, workers, limit, cache)
    if form is not None:
        from jimu.forms_schema import get_form
        from jimu.validators.calibrate import merge_form

        pairs = [(t, r) for t, r in pairs if t["form_id"] == form]
        if not pairs:
            raise BadArgsError(f"the corpus holds no filled copies of form '{form}'")
    fitted = fit(calibration_samples(pairs), target)
    prov = provenance(corpus, [t for t, _ in pairs])
    desc = f"seeds {prov['seeds']}; tiers {prov['forms_per_tier']}"
    if form is not None:
        dest = out or THRESHOLDS_FILE
        if not dest.is_file():
            raise BadArgsError(f"thresholds file not found: {dest}", hint="Calibrate Jimu's own forms first.")
        data = merge_form(dest, form, get_form(form).version, fitted, target, desc)
    else:
        data = write_thresholds(out or THRESHOLDS_FILE, fitted, target, desc, calibrated_forms(pairs),
                                {"provenance": prov})
    t = Table("group", "threshold", "candidates (wrong)", "accepted", "wrong accepted", "upper 95%", "note",
              title=f"thresholds {data['version']} (target: upper 95% bound ≤ {target:g})")
    for kind, v in fitted.items():
        t.add_row(kind, "never" if v["threshold"] > 1 else f"{v['threshold']:.4f}",
                  f"{v['candidates']} ({v['candidate_errors']})", str(v["accepted"]), str(v["errors_accepted"]),
                  "—" if v["upper95"] is None else f"{100 * v['upper95']:.3f}%",
                  f"needs ~{v['needs_more_fields']} more fields" if "needs_more_fields" in v else "")
    console.print(t)
    console.print(f"wrote {out or THRESHOLDS_FILE}")


@app.command("pipeline")
def pipeline(
    count: int = typer.Option(200, "--count", min=1, help="Office-tier forms to generate (if --scans is not given)."),
    scans: Path | None = typer.Option(None, "--scans", help="Folder of scans to use instead of generating."),
    seed: int = typer.Option(500, "--seed"),
    work: Path = typer.Option(Path("data/bench-pipeline"), "--work", help="Scratch folder."),
    json_out: Path | None = typer.Option(None, "--json-out"),
    memory_only: bool = typer.Option(False, "--memory-only", help="Only the Prefect flow, memory sampled all along."),
) -> None:
    """Extraction alone, one worker (the Prefect flow) and two workers, one OCR process each, same scans, same run."""
    from jimu.bench import pipeline_bench
    from jimu.fixtures import corpus

    if scans is None:
        scans = work / f"scans-office-s{seed}-{count}"
        if not scans.exists() or len(list(scans.glob("*.truth.json"))) < count:
            console.print(f"generating {count} office-tier forms into {scans}")
            corpus.generate("all", count, seed, "office", scans, workers=2)
    if memory_only:
        with console.status(f"the batch flow over {scans}, memory sampled…"):
            r = pipeline_bench.memory_run(scans, work.resolve())
        m = r["memory_tree"]
        console.print(f"{r['forms']} forms in {r['seconds']:.0f} s ({r['forms_per_s']:.2f} forms/s); process tree peak "
                      f"{m['peak_mib']:.0f} MiB, first quarter {m['first_quarter_peak_mib']:.0f} → last quarter "
                      f"{m['last_quarter_peak_mib']:.0f} MiB; by tenth: {r['peak_mib_by_tenth_of_the_run']}")
        if json_out:
            json_out.write_text(json.dumps({"_provenance": _pipeline_provenance(scans)} | r, ensure_ascii=False, indent=2))
        return
    with console.status("extraction alone, one worker, then two workers…"):
        r = pipeline_bench.run(scans, work.resolve())
    t = Table("forms", "extraction forms/s", "one worker (Prefect) forms/s", "one worker process", "two worker processes",
              "orchestration", "two ÷ one", "machine's two ÷ one", "peak MiB (tree)", "MiB 1st → last quarter",
              title="Pipeline benchmark (same run, same scans)")
    m = r["memory_tree"]
    t.add_row(str(r["forms"]), f"{r['extract_forms_per_s']:.2f}", f"{r['one_worker_forms_per_s']:.2f}",
              f"{r['worker_process_forms_per_s']:.2f}", f"{r['two_workers_forms_per_s']:.2f}",
              f"{100 * r['orchestration_overhead']:+.1f}%", f"{r['two_over_one']:.2f}×",
              f"{r['extraction_two_over_one']:.2f}×", f"{m['peak_mib']:.0f}",
              f"{m['first_quarter_peak_mib']:.0f} → {m['last_quarter_peak_mib']:.0f}")
    console.print(t)
    cpu = Table("pass", "CPU ms per form", "cores busy", "stolen by the host", "CPU seconds by process",
                title="CPU of the process tree")
    for name, c in r["cpu"].items():
        cpu.add_row(name, str(c["cpu_ms_per_form"]), f"{c['cores_busy']:.2f}", f"{100 * c['stolen_cpu_share']:.0f}%",
                    ", ".join(f"{k} {v:g}" for k, v in c["cpu_s_by_process"].items() if k != "total"))
    console.print(cpu)
    console.print(f"two workers reach {100 * r['scaling_efficiency']:.0f}% of what this machine gives two OCR processes "
                  f"alone ({r['extraction_two_over_one']:.2f}×); orchestration CPU per form "
                  f"{100 * r['orchestration_cpu_overhead']:+.1f}%")
    console.print(f"document states: one worker {r['states_one']}, two workers {r['states_two']}")
    if json_out:
        json_out.write_text(json.dumps({"_provenance": _pipeline_provenance(scans)} | r, ensure_ascii=False, indent=2))


def _pipeline_provenance(scans: Path) -> dict[str, Any]:
    from jimu.bench.metrics import provenance
    from jimu.fixtures.corpus import iter_truth
    from jimu.validators.policy import Thresholds

    return provenance([scans], [t for _, t in iter_truth(scans)], Thresholds.load().version)


@app.command("foreign")
def foreign(
    forms_dir: Path = typer.Option(Path("tests/resources/foreign"), "--forms-dir",
                                   help="Folder of city form definitions with their blank scans."),
    count: int = typer.Option(20, "--count", min=1, help="Filled copies per form and capture."),
    seed: int = typer.Option(901, "--seed"),
    work: Path = typer.Option(Path("data/bench-foreign"), "--work", help="Scratch folder (emptied first)."),
    json_out: Path | None = typer.Option(None, "--json-out"),
) -> None:
    """Adding each city form, measured: propose vs its definition, editor fixes, filled copies through `jimu batch run`."""
    from jimu.bench import foreign_bench
    from jimu.bench.metrics import provenance
    from jimu.validators.policy import Thresholds

    if not forms_dir.is_dir():
        raise BadArgsError(f"forms folder not found: {forms_dir}")
    r = foreign_bench.run(forms_dir, work, count, seed, progress=lambda m: console.print(f"[dim]{m}[/]"))
    t = Table("form", "fields", "propose s", "boxes ≤ 1 mm", "kind right", "label right", "edits", "editor min (KLM)",
              title="Adding a form: propose, then the editor")
    for fid, f in r["forms"].items():
        boxes = f"{f['boxes_within_1mm']} ({_pct(f['boxes_within_1mm_share'])})"
        t.add_row(fid, str(f["fields"]), f"{f['propose_seconds']:.0f}", boxes, str(f["kind_right"]),
                  str(f["label_right"]), str(f["edits"]), f"{f['editor_seconds'] / 60:.1f}")
    console.print(t)
    t = Table("form / capture", "copies", "classified", "written exact", "auto-accepted", "silent errors",
              title="Filled copies through jimu batch run (before calibration)")
    for g, c in r["copies"].items():
        t.add_row(g, str(c["copies"]), _pct(c["classified"]), _pct(c["written_exact"]), str(c["auto_accepted"]),
                  str(c["silent_errors"]["wrong"]))
    console.print(t)
    if json_out:
        prov = provenance([forms_dir], [], Thresholds.load().version) | {"seed": seed, "count": count}
        json_out.write_text(json.dumps({"_provenance": prov} | r, ensure_ascii=False, indent=2))
        console.print(f"wrote {json_out}")


@app.command("review-scale")
def review_scale(
    small: int = typer.Option(100, "--small", min=1, help="Documents in review in the small store."),
    large: int = typer.Option(10_000, "--large", min=1, help="Documents in review in the large store."),
    seed: int = typer.Option(907, "--seed"),
    repeat: int = typer.Option(15, "--repeat", min=3, help="Timed requests per response (median)."),
    work: Path = typer.Option(Path("data/bench-review-scale"), "--work", help="Scratch folder (emptied first)."),
    json_out: Path | None = typer.Option(None, "--json-out"),
) -> None:
    """Work list, a deep page, /next, the review page and a cached page image with a small and a
    large backlog, same run: the ratio says whether each stays flat."""
    import shutil

    from jimu.bench import review_scale as bench

    shutil.rmtree(work, ignore_errors=True)
    with console.status(f"building {small} and {large} documents in review, then timing…"):
        r = bench.run(work.resolve(), small=small, large=large, seed=seed, repeat=repeat)
    t = Table("response", f"ms at {small}", f"ms at {large}", "large ÷ small", "target", "met",
              title="Review app at scale (medians, same run)")
    for name, row in r["responses"].items():
        t.add_row(name, f"{row['ms_small']:.1f}", f"{row['ms_large']:.1f}", f"{row['ratio']:.2f}×",
                  f"< {row['target_ms']:.0f} ms", "yes" if row["meets_target"] else "NO")
    console.print(t)
    if json_out:
        bench.write(r, json_out)
