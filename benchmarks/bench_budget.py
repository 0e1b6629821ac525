"""Benchmark: the engine's batch budgets for leave-one-out on CPU (issue 22).

In one process, on the same sentences, round after round (modes interleaved so that load
from other jobs falls on every mode alike):
  limit      the identical set of LOO variant sequences, pre-tokenized, through the bare model
             in length-sorted batches of 64 (nothing else)
  old        explain(model, dev, "loo") with ScoringEngine(batch_tokens=8192, max_batch=256),
             the defaults before this change
  small      the same with ScoringEngine(batch_tokens=2048, max_batch=64)
  default    the same with the engine's defaults now (chosen by device)
Each toolkit mode gets a fresh engine (no cache carried between rounds). Wall and process CPU
seconds per mode and round; the medians and ratios to the limit are printed and written.

    python benchmarks/bench_budget.py --model models/minilm-sst2 [--limit 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from bench_loo import bare_forward
from pathologies.data import load_dataset
from pathologies.engine import ScoringEngine, default_budget
from pathologies.explain import explain
from pathologies.models import load_classifier


def timed(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/budget.json")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = load_classifier(args.model, device="cpu")
    dev = [model.fit_to_limit(ex) for ex in load_dataset("sst2", "dev", limit=args.limit).examples]
    variants = list(dict.fromkeys(v for ex in dev for v in [ex] + [ex.without([i]) for i in range(len(ex.words))]))
    modes = {
        "limit": lambda: bare_forward(model, variants, 64),
        "old": lambda: explain(model, dev, "loo", engine=ScoringEngine(model, batch_tokens=8192, max_batch=256)),
        "small": lambda: explain(model, dev, "loo", engine=ScoringEngine(model, batch_tokens=2048, max_batch=64)),
        "default": lambda: explain(model, dev, "loo", engine=ScoringEngine(model)),
    }
    explain(model, dev[:5], "loo")  # warm-up: first-call costs out of the measured rounds
    times: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    for r in range(args.rounds):
        for name, fn in modes.items():
            times[name].append(timed(fn))
            print(f"round {r + 1} {name}: {times[name][-1][0]:.2f} s wall, {times[name][-1][1]:.2f} s CPU", flush=True)
    med = {m: {"wall_s": statistics.median(w for w, _ in t), "cpu_s": statistics.median(c for _, c in t)} for m, t in times.items()}
    lim = med["limit"]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "load_at_end": os.getloadavg()[0],
        "model": args.model,
        "sentences": len(dev),
        "variants": len(variants),
        "default_budget": default_budget("cpu"),
        "rounds": {m: [[round(w, 3), round(c, 3)] for w, c in t] for m, t in times.items()},
        "median": {m: {k: round(v, 3) for k, v in d.items()} for m, d in med.items()},
        "ratio_to_limit_wall": {m: round(d["wall_s"] / lim["wall_s"], 3) for m, d in med.items()},
        "ratio_to_limit_cpu": {m: round(d["cpu_s"] / lim["cpu_s"], 3) for m, d in med.items()},
    }
    print(json.dumps({k: result[k] for k in ("median", "ratio_to_limit_wall", "ratio_to_limit_cpu", "load_at_end")}, indent=1))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
