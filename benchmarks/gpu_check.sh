#!/usr/bin/env bash
# The speed benchmarks of benchmarks/RAY.md on a CUDA machine, figures written beside the CPU
# ones: benchmarks/results/ray_gpu.json (the CPU figures stay in benchmarks/results/ray.json).
#
#   bash benchmarks/gpu_check.sh                 # from the repository root
#
# Needs: a CUDA build of torch and this package with the ray extra in $PY (default
# .venv/bin/python: `make install` then `pip install torch` for your CUDA), the model folder
# $MODEL (default models/minilm-sst2: `make demo` or `pathologies train minilm ...`), and
# $PATHOLOGIES_DATA with sst/ and imdb_aclImdb.tar.gz. Nothing is downloaded.
#
# What it runs (each step's command is recorded in the JSON):
#   1. the scaling comparison on the GPU: local executor vs Ray with 1 worker holding the GPU,
#      and 2 workers sharing it (--gpus-per-worker 0.5), 400 SST-2 dev sentences,
#      gradient + loo, records compared with the local run's;
#   2. the projection's per-review costs on IMDB test reviews (more reviews than on CPU);
#   3. the memory check (peak RSS flat from N to 4N reviews) with the model on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MODEL=${MODEL:-models/minilm-sst2}
THREADS=${THREADS:-4}
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TOKENIZERS_PARALLELISM=false RAY_USAGE_STATS_ENABLED=0
export PATHOLOGIES_DATA=${PATHOLOGIES_DATA:-$(cd .. && pwd)/shared/data}

"$PY" - <<'EOF'
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"gpu_check.sh: no CUDA device visible to torch {torch.__version__}; nothing measured")
print("CUDA:", torch.cuda.get_device_name(0), "torch", torch.__version__)
EOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

OUT=benchmarks/results/ray_gpu.json
"$PY" benchmarks/bench_ray.py --model "$MODEL" --device cuda --threads "$THREADS" --limit 400 --chunk 16 \
  --modes local,ray1,ray2,ray1,local --gpus-per-worker 1 --out "$OUT"
"$PY" benchmarks/bench_ray.py --model "$MODEL" --device cuda --threads "$THREADS" --project \
  --imdb-gradient 256 --imdb-loo 32 --out "$OUT"
"$PY" benchmarks/bench_memory.py --model "$MODEL" --device cuda --n 200 --threads "$THREADS" \
  --out benchmarks/results/memory_gpu.json
echo "written: $OUT benchmarks/results/memory_gpu.json"
