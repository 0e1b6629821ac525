#!/usr/bin/env bash
# Trains the README's accuracy table (seed 13) into models/ and collects the figures into
# benchmarks/results/train_accuracy.json. Needs PATHOLOGIES_DATA (the Makefile sets it).
#   bash benchmarks/train_table.sh [NAME ...]      (default: all rows)
set -euo pipefail
cd "$(dirname "$0")/.."
P=".venv/bin/pathologies"
declare -A CMD=(
  [minilm-sst2]="minilm --data sst2 --epochs 2"
  [textcnn-sst2]="textcnn --data sst2 --epochs 5 --batch-size 50"
  [bilstm-sst2]="bilstm --data sst2 --epochs 5 --batch-size 50"
  [minilm-mr]="minilm --data mr --epochs 2"
  [textcnn-mr]="textcnn --data mr --epochs 5 --batch-size 50"
  [bilstm-mr]="bilstm --data mr --epochs 5 --batch-size 50"
  [minilm-snli]="minilm --data snli --epochs 3"
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(minilm-sst2 textcnn-sst2 bilstm-sst2 textcnn-mr bilstm-mr minilm-mr minilm-snli)
for n in "${names[@]}"; do
  if [ -f "models/$n/train_metrics.json" ]; then echo "models/$n exists; skipping"; continue; fi
  echo "== $n: pathologies train ${CMD[$n]} --out models/$n"
  $P train ${CMD[$n]} --out "models/$n"
done
mkdir -p benchmarks/results
.venv/bin/python - <<'PY'
import json, pathlib, platform, torch
rows = {}
for f in sorted(pathlib.Path("models").glob("*/train_metrics.json")):
    m = json.loads(f.read_text())
    rows[f.parent.name] = {k: m[k] for k in ("model", "dataset", "train_split", "eval_split", "n_train", "n_eval", "eval_accuracy", "seconds")}
    rows[f.parent.name]["epochs"] = m["config"]["epochs"]; rows[f.parent.name]["seed"] = m["config"]["seed"]
out = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}", "runs": rows}
pathlib.Path("benchmarks/results/train_accuracy.json").write_text(json.dumps(out, indent=2))
for k, v in rows.items():
    print(f"{k:14s} {v['eval_split']:5s} acc {v['eval_accuracy']:.4f}  {v['seconds']:.0f} s")
PY
