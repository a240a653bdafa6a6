#!/usr/bin/env python3
"""The fingerprint of what the lock files in requirements/ were made from.

    python scripts/lock_inputs.py                       print it
    python scripts/lock_inputs.py --check FILE [FILE…]  exit 1 unless each FILE carries it

It covers pyproject.toml's dependencies, extras, Python and build requirements, requirements/tools.in
and the target platform — not the rest of pyproject.toml, so editing a tool's settings does not
call for a new lock.  ``scripts/lock.sh`` (``make lock``) writes it into the first line of each lock
file; ``scripts/setup.sh`` refuses to install from a lock that does not carry the current one.
Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLATFORM = "x86_64-manylinux_2_28 cp311"  # what scripts/lock.sh resolves for
PREFIX = "# jimu-lock-inputs: sha256="


def fingerprint() -> str:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject.get("project", {})
    inputs = {
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "requires-python": project.get("requires-python"),
        "build-system": pyproject.get("build-system", {}).get("requires", []),
        "tools.in": [line.strip() for line in (REPO / "requirements" / "tools.in").read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.lstrip().startswith("#")],
        "platform": PLATFORM,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def main(argv: list[str]) -> int:
    want = fingerprint()
    if not argv:
        print(want)
        return 0
    if argv[0] != "--check" or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    stale = []
    for name in argv[1:]:
        path = Path(name)
        first = path.read_text(encoding="utf-8").split("\n", 1)[0] if path.is_file() else ""
        if first != PREFIX + want:
            stale.append(name)
    if stale:
        print(f"{', '.join(stale)}: made from other dependencies than pyproject.toml / requirements/tools.in declare now",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
