#!/usr/bin/env bash
# Planted shortcuts (benchmarks/SHORTCUTS.md): TextCNN on SST-2, 8 methods + random, both
# trainings included in the time. Prints the load before and after: on a shared machine the
# wall time says little without it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/bench}
export PATHOLOGIES_DATA=${PATHOLOGIES_DATA:-../shared/data} HF_HUB_OFFLINE=1 PATHOLOGIES_PROGRESS=lines
mkdir -p "$OUT"
for kind in token token-in-context; do
  limit=500; [ "$kind" = token ] || limit=200
  rm -rf "$OUT/sc-$kind" "$OUT/sc-$kind.models"
  uptime
  /usr/bin/time -v .venv/bin/pathologies shortcut-test textcnn --data sst2 --out "$OUT/sc-$kind" \
    --kind "$kind" --limit "$limit" --epochs 3 --seed 13
  uptime
done
