"""Benchmark: peak memory of an audit does not grow with the number of examples.

Audits the first N and then the first 4N IMDB test reviews (seeded shuffle of the test set,
so both sets mix long and short reviews) with the gradient method into a run folder, each in
a fresh process, and records the peak resident set (ru_maxrss) of each, the longest input
in tokens and the engine's batch budget. Also checks the batches the gradient method and the
scoring engine build: no batch of more than one input above its token budget.

    python benchmarks/bench_memory.py --model models/minilm-sst2 --n 50 [--threads 1]

Writes benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(model_path: str, n: int, threads: int, seed: int, device: str = "cpu") -> dict:
    """In this process: audit n reviews; return time, peak RSS and batch checks."""
    import torch

    torch.set_num_threads(threads)
    from pathologies.audit import AuditSpec, audit
    from pathologies.data import load_dataset
    from pathologies.engine import token_batches
    from pathologies.attribution import gradient as gradient_module
    from pathologies.models import load_classifier

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    test = load_dataset("imdb", "test").examples
    random.Random(seed).shuffle(test)
    examples = test[:n]
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = load_classifier(model_path, device=device)
    budget = gradient_module.InputGradient().batch_tokens
    seen = {"batches": 0, "over_budget_multi": 0, "largest_padded": 0, "largest_single": 0}
    original = model.embedding_gradients

    def watched(batch, targets=None):  # records every gradient batch's padded size
        lengths = [model.n_tokens(ex) for ex in batch]
        padded = max(lengths) * len(lengths)
        seen["batches"] += 1
        seen["largest_padded"] = max(seen["largest_padded"], padded)
        if len(batch) == 1:
            seen["largest_single"] = max(seen["largest_single"], lengths[0])
        elif padded > budget:
            seen["over_budget_multi"] += 1
        return original(batch, targets)

    model.embedding_gradients = watched
    spec = AuditSpec(methods=["gradient"], metrics=[], reduce=None, curves=False, show=0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        audit(model, examples, Path(tmp) / "run", spec=spec, model_source=model_path, show_progress=False)
        seconds = time.perf_counter() - start
    fitted = [model.fit_to_limit(ex) for ex in examples]
    lengths = [model.n_tokens(ex) for ex in fitted]
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_python_imports_mib": round(rss_start, 1),
        "rss_after_data_mib": round(rss_loaded, 1),
        "tokens_mean": round(sum(lengths) / len(lengths), 1),
        "tokens_max": max(lengths),
        "gradient_batches": seen,
        "threads": threads,
        "device": device,
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 1024**2, 1) if device == "cuda" else None,
        "gradient_budget_tokens": budget,
        "token_batches_check": check_token_batches(token_batches),
    }


def check_token_batches(token_batches) -> dict:
    """Random lengths (some far above the budget): every batch of more than one input fits."""
    rng = random.Random(0)
    worst, singles = 0, 0
    for _ in range(200):
        budget = rng.choice([64, 512, 4096])
        lengths = [rng.choice([rng.randint(1, 40), rng.randint(1, 5000)]) for _ in range(rng.randint(1, 300))]
        for b in token_batches(lengths, budget, 256):
            padded = max(lengths[i] for i in b) * len(b)
            if len(b) > 1:
                worst = max(worst, padded / budget)
            elif padded > budget:
                singles += 1
    return {"largest_multi_input_batch_over_budget": round(worst, 4), "single_inputs_above_budget": singles}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/minilm-sst2")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.model, args.one, args.threads, args.seed, args.device)))
        return
    rows = []
    for n in (args.n, 4 * args.n):
        cmd = [sys.executable, __file__, "--model", args.model, "--one", str(n), "--threads", str(args.threads), "--seed", str(args.seed), "--device", args.device]
        load = os.getloadavg()
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        row = json.loads(res.stdout.strip().splitlines()[-1])
        row["load_average_before"] = [round(x, 2) for x in load]
        rows.append(row)
        print(json.dumps(row), flush=True)
    import torch

    out = {
        "command": "python benchmarks/bench_memory.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        + (torch.cuda.get_device_name(0) if args.device == "cuda" else "no GPU"),
        "device": args.device,
        "model": args.model,
        "method": "gradient (AuditSpec(methods=['gradient'], metrics=[], reduce=None, curves=False, show=0))",
        "runs": rows,
        "peak_rss_growth_4n_over_n_mib": round(rows[1]["peak_rss_mib"] - rows[0]["peak_rss_mib"], 1),
        "measured": time.strftime("%Y-%m-%d %H:%M"),
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
