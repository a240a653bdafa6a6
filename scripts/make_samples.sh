#!/usr/bin/env bash
# Regenerates jimu/fixtures/samples/: one scan of every form in every quality tier, a feeder TIFF and a PC-filled PDF.
set -euo pipefail
cd "$(dirname "$0")/.."
out=jimu/fixtures/samples
find "$out" -maxdepth 1 -type f ! -name README.md -delete 2>/dev/null || true
for q in clean office poor handwritten; do
  for f in inkan_toroku jumin_idou juminhyo_kofu kaigo_nintei kodomo_iryohi; do
    .venv/bin/jimu fixtures generate --shared-values --form "$f" --count 1 --seed 424242 --quality "$q" --out "$out" --workers 1 >/dev/null
  done
done
.venv/bin/jimu fixtures generate --shared-values --form all --count 3 --seed 4242 --quality office --container tiff --out "$out" >/dev/null
.venv/bin/jimu fixtures generate --shared-values --form kodomo_iryohi --count 1 --seed 4243 --pc-pdf --out "$out" >/dev/null
du -sh "$out"
