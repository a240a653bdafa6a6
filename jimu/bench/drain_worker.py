"""A worker process of ``jimu bench pipeline``: ``python -m jimu.bench.drain_worker BATCH_ID OCR_PROCESSES``.

It opens its own context (store, thresholds, OCR processes), drains the batch's claims until none
is left and exits: what each machine's worker does with a drain run of the work pool.
"""

from __future__ import annotations

import sys

from jimu.pipeline import batch as pipeline


def main() -> int:
    batch_id, workers = sys.argv[1], int(sys.argv[2])
    from concurrent.futures import ThreadPoolExecutor

    ctx = pipeline.open_context(workers)
    try:  # one drain more than OCR processes: a file is routed while the next is read
        with ThreadPoolExecutor(workers + 1) as threads:
            for f in [threads.submit(pipeline.drain, ctx, batch_id) for _ in range(workers + 1)]:
                f.result()
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
