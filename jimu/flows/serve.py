"""Serve the batch flow locally on a schedule: ``python -m jimu.flows.serve [INBOX] [--cron '*/30 * * * *']``.

This is the documented local way to run the deployment of ``prefect.yaml`` without a work pool:
Prefect's ``Flow.serve`` registers the deployment with the (local) server and runs it on its cron.
Open the Prefect UI with ``prefect server start`` (and set PREFECT_API_URL) to watch the runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jimu.flows.quiet import quiet_prefect
from jimu.settings import get_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("inbox", nargs="?", default=str(get_settings().data_dir / "inbox"))
    ap.add_argument("--cron", default="*/30 * * * *")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    quiet_prefect()
    from jimu.flows.batch import batch_flow

    batch_flow.serve(name="inbox-every-30-min", cron=args.cron,
                     parameters={"inbox": str(Path(args.inbox).resolve()), "workers": args.workers,
                                 "trigger": "schedule"})


if __name__ == "__main__":
    main()
