"""Benchmark: deep k-nearest neighbours and conformity leave-one-out on SST-2 (and SNLI).

Protocol (no overlap between calibration and evaluated sentences): the index holds every
layer of every training sentence; the first half of the evaluation split calibrates the
p-values, the second half is evaluated. Measured:
  fit        seconds for the representations and the faiss indexes, index size on disk
  latency    per-query seconds for predict() (representations + search) in batches, and for
             the neighbour search alone
  accuracy   DkNN vs the plain classifier on the evaluated half; credibility of right/wrong
  attribution (SST-2) conformity LOO vs confidence LOO ("loo") vs "gradient": share of
             sentences whose top word has a non-neutral SST tag, and how spread the scores are

    python benchmarks/bench_dknn.py --model models/minilm-sst2 --train sst2:train \\
        --calibration sst2:dev --out benchmarks/results/dknn.json [--snli-model models/minilm-snli]

``--calibration NAME:SPLIT`` names the evaluation split; its first half calibrates, its second
half is evaluated. ``--train-limit`` / ``--eval-limit`` take the first N for quick checks.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pathologies.data import load_dataset, parse_spec
from pathologies.dknn import DkNN
from pathologies.engine import ScoringEngine
from pathologies.explain import explain
from pathologies.models import load_classifier

NEUTRAL = 2


def peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def load(spec: str, limit: int | None):
    name, split, spec_limit = parse_spec(spec)
    return load_dataset(name, split, limit=limit or spec_limit).examples


def dir_mib(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 2**20, 2)


def fit_index(model, train, k: int, index_dir: Path) -> tuple[DkNN, dict]:
    """Fit (timing representations and indexing apart) and save; sizes on disk."""
    engine = ScoringEngine(model)
    start = time.perf_counter()
    reps = engine.representations(train)
    t_reps = time.perf_counter() - start
    dknn = DkNN(k=k)
    start = time.perf_counter()
    dknn.fit(model, train, _Precomputed(engine, reps))
    t_index = time.perf_counter() - start
    dknn.save(index_dir)
    stats = {
        "train_examples": len(train),
        "layers": dknn.layers_,
        "dims": dknn.dims_,
        "k": k,
        "metric": dknn.metric,
        "representations_s": round(t_reps, 2),
        "faiss_index_s": round(t_index, 3),
        "fit_s": round(t_reps + t_index, 2),
        "index_dir": str(index_dir),
        "index_size_mib": dir_mib(index_dir),
        "peak_rss_mib": peak_mib(),
    }
    return dknn, stats


class _Precomputed:
    """An engine stand-in that hands back representations computed (and timed) already."""

    def __init__(self, engine: ScoringEngine, reps):
        self.model, self._reps = engine.model, reps

    def representations(self, variants):
        return self._reps


def accuracy(model, dknn: DkNN, calibration, evaluated) -> dict:
    engine = ScoringEngine(model)
    start = time.perf_counter()
    dknn.calibrate(model, calibration, engine)
    t_cal = time.perf_counter() - start
    out = dknn.predict(model, evaluated, engine)
    y = np.array([ex.label for ex in evaluated])
    dknn_right = out.prediction == y
    model_right = out.model_prediction == y
    cred = out.credibility
    high = cred >= np.median(cred)
    return {
        "calibration_examples": len(calibration),
        "calibrate_s": round(t_cal, 2),
        "evaluated_examples": len(evaluated),
        "model_accuracy": round(float(model_right.mean()), 4),
        "dknn_accuracy": round(float(dknn_right.mean()), 4),
        "agreement_dknn_model": round(float((out.prediction == out.model_prediction).mean()), 4),
        "mean_credibility_dknn_right": _mean(cred[dknn_right]),
        "mean_credibility_dknn_wrong": _mean(cred[~dknn_right]),
        "dknn_accuracy_top_half_credibility": _mean(dknn_right[high]),
        "dknn_accuracy_bottom_half_credibility": _mean(dknn_right[~high]),
        "mean_conformity_model_right": _mean(out.conformity[model_right]),
        "mean_conformity_model_wrong": _mean(out.conformity[~model_right]),
    }


def latency(model, dknn: DkNN, queries, batch_sizes=(1, 32, 256)) -> dict:
    """Seconds per query for predict() with a fresh engine (nothing cached), by batch size."""
    out = {"queries": len(queries)}
    for bs in batch_sizes:
        qs = queries[: min(len(queries), 64)] if bs == 1 else queries
        engine = ScoringEngine(model)
        start = time.perf_counter()
        for s in range(0, len(qs), bs):
            dknn.predict(model, qs[s : s + bs], engine)
        out[f"predict_ms_per_query_batch_{bs}"] = round(1000 * (time.perf_counter() - start) / len(qs), 2)
    engine = ScoringEngine(model)
    reps = engine.representations(queries)
    probs = engine.probabilities(queries)
    start = time.perf_counter()
    dknn.from_representations(reps, probs)
    out["search_only_ms_per_query_all_layers"] = round(1000 * (time.perf_counter() - start) / len(queries), 3)
    return out


def attribution_quality(model, dknn: DkNN, evaluated, with_credibility: bool = False) -> dict:
    """Top-word tags and score spread of conformity LOO, confidence LOO and gradient."""
    tagged = [ex for ex in evaluated if ex.tags is not None]
    words = sum(len(ex.words) for ex in tagged)
    result = {
        "sentences": len(tagged),
        "words": words,
        "share_of_words_non_neutral": round(sum(t != NEUTRAL for ex in tagged for t in ex.tags) / words, 4),
    }
    methods = [("conformity", {"index": dknn}), ("loo", {}), ("gradient", {})]
    if with_credibility:
        methods.insert(1, ("conformity-credibility", {"index": dknn}))
    for method, settings in methods:
        engine = ScoringEngine(model)  # fresh: each method pays for its own forward passes
        start = time.perf_counter()
        records = explain(model, tagged, method, engine=engine, **settings)
        seconds = time.perf_counter() - start
        result[method] = {"seconds": round(seconds, 2), **score_stats(records, tagged)}
        print(method, json.dumps(result[method]), flush=True)
    return result


def score_stats(records, examples) -> dict:
    first_top, tie_credit, tied, flat = [], [], [], []
    std_rel, std_raw, small = [], [], []
    for r, ex in zip(records, examples):
        s = np.asarray(r.scores, dtype=np.float64)
        non_neutral = np.array([t != NEUTRAL for t in ex.tags])
        top = s.max()
        peak = np.abs(s).max()
        at_top = np.isclose(s, top, rtol=0, atol=1e-9)
        first_top.append(non_neutral[int(s.argmax())])
        tie_credit.append(non_neutral[at_top].mean())
        tied.append(at_top.sum() > 1)
        flat.append(peak == 0)
        std_raw.append(s.std())
        std_rel.append(s.std() / peak if peak > 0 else 0.0)
        small.extend((np.abs(s) < 0.01 * peak) if peak > 0 else np.ones(len(s), dtype=bool))
    return {
        "top_word_non_neutral": _mean(np.array(first_top)),
        "top_word_non_neutral_ties_shared": _mean(np.array(tie_credit)),
        "share_sentences_top_tied": _mean(np.array(tied)),
        "share_sentences_all_zero": _mean(np.array(flat)),
        "mean_sentence_std": round(float(np.mean(std_raw)), 5),
        "mean_sentence_std_over_max_abs": _mean(np.array(std_rel)),
        "share_words_below_1pct_of_max_abs": _mean(np.array(small)),
    }


def _mean(x: np.ndarray) -> float | None:
    return round(float(np.mean(x)), 4) if len(x) else None


def run_task(model_dir: str, train_spec: str, eval_spec: str, args, index_dir: Path, with_attribution: bool) -> dict:
    model = load_classifier(model_dir)
    train = load(train_spec, args.train_limit)
    dev = load(eval_spec, args.eval_limit)
    half = len(dev) // 2
    calibration, evaluated = dev[:half], dev[half:]
    print(f"{model_dir}: {len(train)} training, {len(calibration)} calibration, {len(evaluated)} evaluated", flush=True)
    dknn, fit_stats = fit_index(model, train, args.k, index_dir)
    print("fit", json.dumps(fit_stats), flush=True)
    task = {"model": model_dir, "train": train_spec, "evaluation": eval_spec,
            "protocol": "calibrate on the first half of the evaluation split, evaluate on the second half",
            "fit": fit_stats}
    task["accuracy"] = accuracy(model, dknn, calibration, evaluated)
    print("accuracy", json.dumps(task["accuracy"]), flush=True)
    dknn.save(index_dir)  # now with the calibration scores
    task["latency"] = latency(model, dknn, evaluated[: args.latency_queries])
    print("latency", json.dumps(task["latency"]), flush=True)
    if with_attribution:
        task["attribution"] = attribution_quality(model, dknn, evaluated, args.with_credibility)
    task["peak_rss_mib"] = peak_mib()
    return task


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--train", default="sst2:train")
    parser.add_argument("--calibration", default="sst2:dev", help="Evaluation split: first half calibrates.")
    parser.add_argument("--snli-model", default=None, help="Also run SNLI (index snli:dev, evaluate snli:test).")
    parser.add_argument("--k", type=int, default=75)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--eval-limit", type=int, default=None)
    parser.add_argument("--latency-queries", type=int, default=872, help="Time predict() on at most N queries.")
    parser.add_argument("--with-credibility", action="store_true", help="Also compare credibility LOO.")
    parser.add_argument("--index-dir", default=None, help="Keep the indexes here (default: a temporary folder).")
    parser.add_argument("--out", default="benchmarks/results/dknn.json")
    args = parser.parse_args()

    torch.manual_seed(0)
    import faiss

    results: dict = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
        f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads)",
        "args": vars(args),
    }
    root = Path(args.index_dir) if args.index_dir else Path(tempfile.mkdtemp(prefix="dknn-bench-"))
    start = time.perf_counter()
    try:
        results["sst2"] = run_task(args.model, args.train, args.calibration, args, root / "sst2", True)
        if args.snli_model:
            if Path(args.snli_model).is_dir():
                results["snli"] = run_task(args.snli_model, "snli:dev", "snli:test", args, root / "snli", False)
            else:
                results["snli"] = {"skipped": f"no model at {args.snli_model}"}
    finally:
        if not args.index_dir:
            shutil.rmtree(root, ignore_errors=True)
    results["total_s"] = round(time.perf_counter() - start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
