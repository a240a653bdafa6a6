"""``jimu queue``: consume records (as the processing center would), queue status, run the outbox relay."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from jimu.errors import InvalidMessageError, QueueError

app = typer.Typer(help="The processing-center queue (embedded SQLite queue, or RabbitMQ via JIMU_QUEUE_URL).",
                  no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


@app.command("consume")
def consume(
    as_json: bool = typer.Option(False, "--json", help="Print each record as one JSON object per line."),
    max_n: int | None = typer.Option(None, "--max", min=1, help="Stop after N records (default: all)."),
    timeout: float = typer.Option(2.0, "--timeout", min=0.0, help="Seconds to wait for a record before stopping."),
    seen_db: Path | None = typer.Option(None, "--seen-db", help="Dedupe store (default {data_dir}/consumer-seen.db)."),
) -> None:
    """Read records, print them, then ack; each record version is shown once (copies are dropped).

    A message that is not a valid record (JSON Schema) is rejected to the dead-letter queue.
    """
    from jimu.queue import open_queue
    from jimu.queue.dedupe import DedupingConsumer, SeenStore
    from jimu.queue.message import validate_record_message
    from jimu.settings import get_settings

    settings = get_settings()
    consumer = DedupingConsumer(open_queue(settings), SeenStore(seen_db or settings.resolved_consumer_seen_db))
    done = rejected = 0
    try:
        while max_n is None or done < max_n:
            want = 50 if max_n is None else min(50, max_n - done)
            msgs = consumer.get(want, timeout)
            if not msgs:
                break
            for msg in msgs:
                try:
                    validate_record_message(msg.body)
                except InvalidMessageError as e:
                    err_console.print(f"[yellow]rejected[/] {msg.message_id}: {e.message} → dead-letter queue")
                    consumer.reject(msg, requeue=False)
                    rejected += 1
                    continue
                if as_json:
                    typer.echo(json.dumps(msg.body, ensure_ascii=False, sort_keys=True))
                else:
                    b = msg.body
                    typer.echo(f"{b['record_id']} v{b['record_version']}  {b['form_id']} v{b['form_version']}  "
                               f"{b['source_name']}  {len(b['fields'])} fields")
                sys.stdout.flush()
                consumer.ack(msg)
                done += 1
    finally:
        consumer.close()
    err_console.print(f"consumed {done} record(s); dropped {consumer.duplicates} duplicate cop(ies); "
                      f"rejected {rejected}")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Queue depth, dead letters, and records waiting in the outbox."""
    from jimu.queue import open_queue
    from jimu.settings import get_settings
    from jimu.store.db import init_db, safe_url, session_scope
    from jimu.store.repo import document_counts, pending_outbox_count

    settings = get_settings()
    factory = init_db(settings)
    with session_scope(factory) as s:
        pending = pending_outbox_count(s)
        docs = document_counts(s)
    out: dict[str, Any] = {
        "store": safe_url(settings.resolved_database_url),
        "outbox_pending": pending,
        "documents": docs,
        "queue": {"url": _safe_queue_url(settings.resolved_queue_url), "name": settings.queue_name},
    }
    error: QueueError | None = None
    try:
        q = open_queue(settings)
        try:
            st = q.stats()
        finally:
            q.close()
        out["queue"].update(ready=st.ready, unacked=st.unacked, dead_letters=st.dead)
    except QueueError as e:
        error = e
        out["queue"]["error"] = e.message
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        t = Table("what", "value")
        t.add_row("record store", out["store"])
        t.add_row("outbox pending", str(pending))
        t.add_row("documents", ", ".join(f"{k} {v}" for k, v in sorted(docs.items())) or "none")
        t.add_row("queue", f"{out['queue']['url']} ({settings.queue_name})")
        if error is None:
            unacked = out["queue"]["unacked"]
            t.add_row("queue ready", str(out["queue"]["ready"]))
            t.add_row("queue unacked", "?" if unacked is None else str(unacked))
            t.add_row("dead letters", str(out["queue"]["dead_letters"]))
        console.print(t)
    if error is not None:
        raise error


@app.command("relay")
def relay_cmd(
    until_empty: bool = typer.Option(False, "--until-empty", help="Retry with backoff until the outbox is empty."),
    deadline: float = typer.Option(60.0, "--deadline", min=0.0, help="With --until-empty: give up after S seconds."),
    batch_size: int = typer.Option(100, "--batch-size", min=1),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Publish the records waiting in the outbox (normally the batch does this after each document)."""
    from dataclasses import asdict

    from jimu.outbox import relay, relay_until_empty
    from jimu.queue import open_queue
    from jimu.settings import get_settings
    from jimu.store.db import init_db

    settings = get_settings()
    factory = init_db(settings)
    publisher = open_queue(settings)
    try:
        if until_empty:
            report = relay_until_empty(factory, publisher, batch_size=batch_size, deadline_s=deadline)
        else:
            report = relay(factory, publisher, batch_size=batch_size)
    finally:
        publisher.close()
    if as_json:
        typer.echo(json.dumps(asdict(report), ensure_ascii=False))
    else:
        typer.echo(f"published {report.published}; pending {report.pending}"
                   + (f"; stuck {report.stuck}" if report.stuck else "")
                   + (" (another relay is running)" if report.busy else ""))
    if report.failed and report.pending:
        raise QueueError(f"the relay stopped: {report.last_error}")


def _safe_queue_url(url: str) -> str:
    from jimu.queue.amqp_queue import safe_amqp_url

    return url if url.startswith("sqlite") else safe_amqp_url(url)
