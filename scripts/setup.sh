#!/usr/bin/env bash
# Idempotent set-up: Debian packages Jimu needs, then the Python environment in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(tesseract-ocr tesseract-ocr-jpn tesseract-ocr-script-jpan
              fonts-ipafont-gothic fonts-ipafont-mincho fonts-seto
              fonts-yozvox-yozfont fonts-aoyagi-soseki fonts-ipaexfont-gothic fonts-ipaexfont-mincho
              fonts-takao-gothic fonts-takao-mincho fonts-vlgothic fonts-umeplus fonts-hanazono fonts-konatu
              fonts-motoya-l-maruberi fonts-motoya-l-cedar
              fonts-noto-cjk fonts-droid-fallback)  # the last two: the digit classifier's tests read digits in them
# the review UI's browser tests drive Debian's Chromium
if [[ "${JIMU_WITH_BROWSER:-0}" == "1" ]]; then APT_PACKAGES+=(chromium); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: Python 3.11 is required (found $("$PY" --version 2>&1))." >&2
  echo "setup: run:  sudo apt-get install -y python3.11 python3.11-venv   (or set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# Python packages come from the hash-pinned lock (requirements/dev.txt, made by `make lock`): the same
# files on every machine. Jimu itself is installed editable on top, without touching its dependencies.
lock=${JIMU_LOCK:-requirements/dev.txt}
if ! "$PY" scripts/lock_inputs.py --check "$lock"; then
  echo "setup: $lock is out of date: pyproject.toml's dependencies changed since it was made." >&2
  echo "setup: run:  make lock   (and commit requirements/)" >&2
  exit 1
fi
stamp=.venv/.jimu-installed
want=$(cat pyproject.toml "$lock" | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: installing Python packages from $lock into .venv (first run takes a few minutes)"
  # pip's own exit status decides (pipefail): a failed install stops the setup with pip's message
  quiet() { grep -v -e "^WARNING: Location" || true; }
  if ! .venv/bin/python -m pip install -q --require-hashes -r "$lock" 2>&1 | quiet; then
    echo "setup: pip could not install $lock (see above)" >&2
    exit 1
  fi
  # (PYTHONWARNINGS: setuptools' multi-line BuildBackendWarning about editable installs)
  if ! PYTHONWARNINGS=ignore::UserWarning .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | quiet; then
    echo "setup: pip could not install Jimu itself (pip install --no-deps --no-build-isolation -e .)" >&2
    exit 1
  fi
  .venv/bin/python -c "import jimu.cli, tesserocr, cv2, onnxruntime, pdfplumber, pypdfium2, phonenumbers, pykakasi" \
    || { echo "setup: Python packages failed to install" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
echo "setup: ready ($(tesseract --version 2>&1 | head -1); languages: $(tesseract --list-langs 2>/dev/null | tail -n +2 | tr '\n' ' '))"
