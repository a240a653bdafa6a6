"""``jimu review``: the review web app for operators and supervisors."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="The review web app (operators fix and approve flagged fields).", no_args_is_help=True)
console = Console(stderr=True)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (keep 127.0.0.1 behind a proxy)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
) -> None:
    """Serve the review UI against the batch's store (JIMU_DATABASE_URL / JIMU_DATA_DIR).

    Create accounts first: ``jimu users add NAME --role operator``.  Sessions live in this
    process (one worker); restarting it logs everyone out.
    """
    import uvicorn

    from jimu.review.app import create_app
    from jimu.settings import get_settings
    from jimu.store.db import safe_url

    settings = get_settings()
    application = create_app(settings)
    console.print(f"review UI on http://{host}:{port}/  (store: {safe_url(settings.resolved_database_url)})")
    uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)


@app.command("seed")
def seed(
    n: int = typer.Option(5, "--n", min=1, max=500, help="How many documents."),
    form_id: str = typer.Option("inkan_toroku", "--form", help="Form id (see `jimu forms list`)."),
    misread: int = typer.Option(3, "--misread", min=0, max=20, help="Misread fields per document."),
) -> None:
    """Put demo documents (fictitious values, rendered pages) into review — for trying the UI out."""
    from jimu.review.seed import seed_document
    from jimu.settings import get_settings
    from jimu.store.db import init_db

    settings = get_settings()
    factory = init_db(settings)
    import random

    base = random.randrange(1_000_000)
    for i in range(n):
        d = seed_document(factory, settings.data_dir, form_id=form_id, seed=base + i, n_misread=misread)
        console.print(f"document {d.id}: {len(d.flagged)} field(s) to review")
