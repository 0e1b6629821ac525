"""Benchmark: gradient input reduction, greedy and beam-5, batched across examples vs one at a time.

    python benchmarks/bench_reduce.py --model models/minilm-sst2 --data sst2:dev [--limit 872]
        [--beam-limit N] [--single-limit 50] --out benchmarks/results/reduce_sst2.json

For each mode: wall time, seconds per example, model rows per example, mean original and
reduced length, share reduced to 1 or 2 words. "single" runs the same algorithm one example
at a time (AllenNLP's way: every step of every example is its own model call) on the first
``--single-limit`` examples, and the batched run is timed on the same examples for the ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from pathologies.data import load_dataset, parse_spec
from pathologies.models import load_classifier
from pathologies.reduction import InputReducer, summarize


def run(model, examples, beam: int, one_at_a_time: bool = False) -> dict:
    reducer = InputReducer(model, beam=beam, k=5 if beam > 1 else 1, importance="gradient")
    start = time.perf_counter()
    if one_at_a_time:
        records = [r for ex in examples for r in InputReducer(model, beam=beam, k=reducer.k).reduce([ex])]
    else:
        records = []
        for i in range(0, len(examples), 64):
            records += reducer.reduce(examples[i : i + 64])
    seconds = time.perf_counter() - start
    s = summarize(records)
    return {
        "examples": len(examples),
        "seconds": round(seconds, 2),
        "seconds_per_example": round(seconds / len(examples), 4),
        "model_rows_per_example": round(s["mean_model_calls"], 1),
        "mean_original_length": round(s["mean_original_length"], 2),
        "mean_reduced_length": round(s["mean_reduced_length"], 3),
        "share_reduced_to_1": round(s["share_reduced_to_1"], 3),
        "share_reduced_to_2_or_less": round(s["share_reduced_to_2_or_less"], 3),
        "mean_confidence_original": round(s["mean_confidence_original"], 3),
        "mean_confidence_reduced": round(s["mean_confidence_reduced"], 3),
        "random_mean_confidence": round(s.get("random_mean_confidence", float("nan")), 3),
        "random_share_prediction_kept": round(s.get("random_share_prediction_kept", float("nan")), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="sst2:dev")
    parser.add_argument("--limit", type=int, default=872)
    parser.add_argument("--single-limit", type=int, default=50)
    parser.add_argument("--beam-limit", type=int, default=None, help="Beam-5 on the first N only.")
    parser.add_argument("--modes", default="greedy,beam5", help="greedy, beam5 or both; others kept from --out.")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model = load_classifier(args.model)
    name, split, _ = parse_spec(args.data)
    examples = load_dataset(name, split).examples
    # File order (the loader shuffles SST, whose files are sorted by sentiment), so that "the
    # first N" are the same sentences as in TextAttack's run (textattack_feng.py).
    examples = sorted(examples, key=lambda ex: int(ex.uid.rsplit(":", 1)[1]))[: args.limit]
    old = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
    results = {
        **old,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "model": args.model,
        "data": args.data,
    }
    for beam in (1, 5):
        key = "greedy" if beam == 1 else "beam5"
        if key not in args.modes.split(","):
            continue
        results[f"{key}_measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        subset = examples if beam == 1 or not args.beam_limit else examples[: args.beam_limit]
        results[key] = run(model, subset, beam)
        print(key, json.dumps(results[key]), flush=True)
        if args.single_limit:
            sub = examples[: args.single_limit]
            batched = run(model, sub, beam)
            single = run(model, sub, beam, one_at_a_time=True)
            results[f"{key}_first{len(sub)}"] = {
                "batched_s": batched["seconds"],
                "one_at_a_time_s": single["seconds"],
                "batching_speedup": round(single["seconds"] / batched["seconds"], 2),
                "same_mean_reduced_length": batched["mean_reduced_length"] == single["mean_reduced_length"],
            }
            print(key, json.dumps(results[f"{key}_first{len(sub)}"]), flush=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
