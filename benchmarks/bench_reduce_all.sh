#!/usr/bin/env bash
# Issue 4's benchmark, in one run on a quiet machine: gradient input reduction (greedy, beam 5)
# on SST-2 dev and SNLI test with MiniLM models, batched vs one example at a time, and
# TextAttack's InputReductionFeng2018 on the first 50 SST-2 dev sentences (its own venv:
# benchmarks/TEXTATTACK.md). Needs models/minilm-sst2 and models/minilm-snli
# (bash benchmarks/train_table.sh minilm-sst2 minilm-snli).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATHOLOGIES_DATA=${PATHOLOGIES_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
BEAM_LIMIT=${BEAM_LIMIT:-200}
.venv/bin/python -u benchmarks/bench_reduce.py --model models/minilm-sst2 --data sst2:dev --limit 872 \
  --beam-limit "$BEAM_LIMIT" --single-limit 50 --out benchmarks/results/reduce_sst2.json
if [ -x /work/ta-venv/bin/python ] || [ -n "${TA_PYTHON:-}" ]; then
  "${TA_PYTHON:-/work/ta-venv/bin/python}" benchmarks/textattack_feng.py --n 50 --model models/minilm-sst2 \
    --out benchmarks/results/textattack_feng.json
fi
.venv/bin/python -u benchmarks/bench_reduce.py --model models/minilm-snli --data snli:test --limit 872 \
  --beam-limit "$BEAM_LIMIT" --single-limit 0 --out benchmarks/results/reduce_snli.json
