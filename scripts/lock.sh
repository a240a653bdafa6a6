#!/usr/bin/env bash
# `make lock`: resolve pyproject.toml's dependencies into the hash-pinned lock files in requirements/.
#
#   requirements/dev.txt    Jimu + the dev extra (tests, lint)  — what `make setup` / `make demo` / CI install
#   requirements/base.txt   Jimu's run-time dependencies only   — a production install
#   requirements/train.txt  dev + the train extra (scikit-learn) — scripts/train_digit_classifier.py
#
# Each set is resolved for Linux x86_64 (manylinux_2_28, glibc ≥ 2.28) and CPython 3.11, whatever machine
# runs this; every pin carries the sha256 of its files on PyPI, so `pip install --require-hashes` gets the
# very same files everywhere.  base and train are constrained by dev, so a package has one version in all
# three.  Versions already in the lock are kept unless pyproject.toml needs others; to move on:
#
#   make lock LOCK_ARGS=--upgrade                       every package to its newest allowed version
#   make lock LOCK_ARGS="--upgrade-package onnxruntime"  just one (repeatable)
#
# The resolver is uv (pinned below), installed into build/lock-tools; only PyPI is needed.  The first line
# of each file is the fingerprint of what it was made from (scripts/lock_inputs.py); `make setup` refuses
# a lock whose fingerprint does not match pyproject.toml, so a changed dependency cannot be forgotten.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
tools=build/lock-tools
if [[ ! -x $tools/bin/uv || $("$tools/bin/uv" --version 2>/dev/null | cut -d' ' -f2) != "$UV_VERSION" ]]; then
  echo "lock: installing uv $UV_VERSION into $tools"
  rm -rf "$tools"
  "$PY" -m venv "$tools"
  "$tools/bin/python" -m pip install -q "uv==$UV_VERSION" 2>&1 | { grep -v "^WARNING: Location" || true; }
fi
uv=$tools/bin/uv
fingerprint=$("$PY" scripts/lock_inputs.py)

compile() {  # compile OUT [uv options…]
  local out=$1
  shift
  local tmp
  tmp=$(mktemp "$out.XXXXXX")
  [[ -f $out ]] && tail -n +2 "$out" > "$tmp"  # the current pins are the resolver's preferences
  UV_CUSTOM_COMPILE_COMMAND="make lock" "$uv" pip compile --quiet pyproject.toml requirements/tools.in \
    --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes --annotation-style line \
    -o "$tmp" "$@" || { rm -f "$tmp"; echo "lock: resolving $out failed" >&2; exit 1; }
  { echo "# jimu-lock-inputs: sha256=$fingerprint"; cat "$tmp"; } > "$out"
  rm -f "$tmp"
  echo "lock: $out ($(grep -c '^[A-Za-z0-9].*==' "$out") packages)"
}

mkdir -p requirements
compile requirements/dev.txt --extra dev "$@"
compile requirements/base.txt -c requirements/dev.txt
compile requirements/train.txt --extra dev --extra train -c requirements/dev.txt
"$PY" scripts/lock_inputs.py --check requirements/dev.txt requirements/base.txt requirements/train.txt
