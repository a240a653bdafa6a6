"""The ``jimu`` command line. Each sub-command group lives in ``jimu/commands/``."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from jimu.commands import (
    batch_cmd,
    bench_cmd,
    demo_cmd,
    export_cmd,
    fixtures_cmd,
    forms_cmd,
    queue_cmd,
    review_cmd,
    users_cmd,
)
from jimu.errors import JimuError

app = typer.Typer(help="Jimu: AI-OCR for Chiba City's ward-office application forms.", no_args_is_help=True)
app.add_typer(forms_cmd.app, name="forms")
app.add_typer(fixtures_cmd.app, name="fixtures")
app.command("demo")(demo_cmd.demo)
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(queue_cmd.app, name="queue")
app.add_typer(batch_cmd.app, name="batch")
app.command("calibrate")(bench_cmd.calibrate)
app.add_typer(review_cmd.app, name="review")
app.add_typer(users_cmd.app, name="users")
app.command("export")(export_cmd.export)

err_console = Console(stderr=True)


def main() -> None:
    try:
        app(standalone_mode=False)
    except JimuError as e:
        err_console.print(f"[bold red]error:[/] {e.message}")
        if e.hint:
            err_console.print(f"[yellow]fix:[/] {e.hint}")
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":
    main()
