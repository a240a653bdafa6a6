"""A Prefect process worker that stops on the first SIGTERM: ``python -m jimu.flows.worker --pool jimu --limit 2``.

``prefect worker start`` answers a first SIGTERM by sending itself SIGINT and keeps running; only a
second SIGTERM (then a SIGKILL of its own) stops it, so a service manager's ``stop`` hangs until
its timeout. This runs the same worker (``prefect.workers.process.ProcessWorker``) and stops it on
the first SIGTERM or SIGINT. A drain run it had started may be cut short: its files are claimed
with a lease, and go to another worker when the lease runs out (:mod:`jimu.store.claims`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal


async def run(pool: str, limit: int | None, name: str | None) -> None:
    from prefect.workers.process import ProcessWorker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with ProcessWorker(work_pool_name=pool, limit=limit, name=name) as worker:
        work = asyncio.create_task(worker.start())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for t in (work, stopped):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
    print(f"worker {name or ''} on pool {pool!r} stopped".replace("  ", " "), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pool", required=True, help="Work pool (process type), e.g. jimu.")
    ap.add_argument("--limit", type=int, default=None, help="Flow runs at a time on this machine.")
    ap.add_argument("--name", default=None)
    args = ap.parse_args()
    asyncio.run(run(args.pool, args.limit, args.name))


if __name__ == "__main__":
    main()
