"""Shared helpers of the reliability checks: run the CLI in an isolated data dir and inspect the outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JIMU = [sys.executable, "-m", "jimu.cli"]
FINAL = {"review", "accepted", "delivered", "quarantined", "duplicate", "rejected"}


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["JIMU_DATA_DIR"] = str(data_dir)
    env.pop("JIMU_DATABASE_URL", None)
    env.pop("JIMU_QUEUE_URL", None)
    env.setdefault("JIMU_INTAKE_DATE", "2026-11-20")  # jimu.fixtures.corpus.CORPUS_TODAY: the simulated filing day
    env.update(extra)
    return env


def jimu(args: list[str], env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(JIMU + args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def generate(out: Path, count: int, seed: int, quality: str = "office") -> None:
    env = env_for(out.parent / "gen-data")
    r = jimu(["fixtures", "generate", "--form", "all", "--count", str(count), "--seed", str(seed), "--quality",
              quality, "--out", str(out)], env)
    if r.returncode:
        raise SystemExit(f"generation failed: {r.stderr[-2000:]}")
    for t in out.glob("*.truth.json"):  # ground truth stays out of the inbox
        t.unlink()


def document_states(data_dir: Path) -> Counter[str]:
    from sqlalchemy import create_engine, text

    eng = create_engine(f"sqlite:///{data_dir / 'jimu.db'}")
    with eng.connect() as c:
        rows = c.execute(text("select state, count(*) from documents group by state")).all()
    eng.dispose()
    return Counter({s: n for s, n in rows})


def consume_all(env: dict[str, str]) -> list[dict[str, Any]]:
    r = jimu(["queue", "consume", "--json", "--max", "100000", "--timeout", "3"], env)
    if r.returncode:
        raise SystemExit(f"consume failed ({r.returncode}): {r.stderr[-2000:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
