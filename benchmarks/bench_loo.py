"""Benchmark: word-level leave-one-out and gradient attribution on SST-2 dev.

Runs, on the same sentences in one process (one mode after another):
  toolkit   explain(model, dev, "loo") with default settings (the engine)
  limit     the identical set of variant sequences, pre-tokenized, pushed through the bare
            model in length-sorted batches with nothing else
  captum    Captum FeatureAblation one sentence per call, [PAD] replacement, with its default
            perturbations_per_eval=1 and tuned to 64
  gradient  explain(model, dev, "gradient") vs one batched forward+backward pass over the
            same sentences (length-sorted batches of 64)
Peak memory is the growth of the process's resident set during each mode (ru_maxrss is a
high-water mark, so modes are run in order of increasing expected memory and each is
reported as the high-water mark reached so far).

    python benchmarks/bench_loo.py --model models/minilm-sst2 [--limit 872] [--skip-captum-default]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch

from pathologies.data import load_dataset
from pathologies.engine import ScoringEngine
from pathologies.explain import explain
from pathologies.models import load_classifier


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bare_forward(model, variants, batch_size: int) -> float:
    """Seconds to push pre-tokenized variants through the bare model, length-sorted."""
    tok = model.tokenizer
    encs = []
    for ex in variants:
        a, b = ex.segments()
        encs.append(tok(list(a), list(b) if b else None, is_split_into_words=True)["input_ids"])
    order = sorted(range(len(encs)), key=lambda i: len(encs[i]))
    batches = []
    for s in range(0, len(order), batch_size):
        rows = [encs[i] for i in order[s : s + batch_size]]
        T = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), T, dtype=torch.long)
        mask = torch.zeros(len(rows), T, dtype=torch.long)
        for j, r in enumerate(rows):
            ids[j, : len(r)] = torch.tensor(r)
            mask[j, : len(r)] = 1
        batches.append((ids, mask))
    start = time.perf_counter()
    with torch.inference_mode():
        for ids, mask in batches:
            model.module(input_ids=ids, attention_mask=mask)
    return time.perf_counter() - start


def bare_backward(model, examples, batch_size: int = 64) -> float:
    """Seconds for one forward+backward pass over the sentences, length-sorted batches."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].words))
    encs = [model.encode([examples[i] for i in order[s : s + batch_size]]) for s in range(0, len(order), batch_size)]
    start = time.perf_counter()
    for enc in encs:
        embeds = model.embed(enc).detach().requires_grad_(True)
        logits = model.forward_embeddings(embeds, enc)
        logits.max(1).values.sum().backward()
    return time.perf_counter() - start


def captum_loo(model, examples, perturbations_per_eval: int) -> float:
    """Captum FeatureAblation, one sentence per call, words replaced by [PAD]."""
    from captum.attr import FeatureAblation

    tok = model.tokenizer

    def forward(ids, mask):
        return torch.softmax(model.module(input_ids=ids, attention_mask=mask).logits, -1)

    fa = FeatureAblation(forward)
    start = time.perf_counter()
    for ex in examples:
        enc = tok([list(ex.words)], is_split_into_words=True, return_tensors="pt")
        word_ids = [w if w is not None else -1 for w in enc.word_ids(0)]
        ids = enc["input_ids"]
        # Special tokens share one feature group that is never ablated: mask = word id + 1.
        feature_mask = torch.tensor([[w + 1 for w in word_ids]])
        with torch.no_grad():
            target = int(forward(ids, enc["attention_mask"]).argmax())
            fa.attribute(
                ids,
                baselines=tok.pad_token_id,
                target=target,
                additional_forward_args=(enc["attention_mask"],),
                feature_mask=feature_mask,
                perturbations_per_eval=perturbations_per_eval,
            )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--limit", type=int, default=872)
    parser.add_argument("--skip-captum-default", action="store_true")
    parser.add_argument("--gradient-only", action="store_true", help="Measure the gradient pair only.")
    parser.add_argument("--out", default="benchmarks/results/loo.json")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = load_classifier(args.model)
    dev = load_dataset("sst2", "dev", limit=args.limit).examples
    results: dict = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "model": args.model,
        "sentences": len(dev),
        "words": sum(len(e.words) for e in dev),
    }
    mem0 = peak_mib()

    # Gradient first (least memory).
    _, t_grad = timed(lambda: explain(model, dev, "gradient"))
    t_fb = bare_backward(model, dev)
    results["gradient"] = {"toolkit_s": round(t_grad, 2), "forward_backward_s": round(t_fb, 2),
                           "ratio": round(t_grad / t_fb, 3), "peak_rss_mib": round(peak_mib(), 0)}
    print(json.dumps(results["gradient"]))
    if args.gradient_only:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2)
        return

    engine = ScoringEngine(model)
    _, t_loo = timed(lambda: explain(model, dev, "loo", engine=engine))
    st = engine.stats
    results["loo_toolkit"] = {
        "seconds": round(t_loo, 2),
        "sentences_per_s": round(len(dev) / t_loo, 2),
        "variants_computed": st.computed,
        "variants_requested": st.requested,
        "batches": st.batches,
        "padding_waste": round(st.padding_waste, 4),
        "peak_rss_mib": round(peak_mib(), 0),
    }
    print(json.dumps(results["loo_toolkit"]))

    variants = list(dev) + [ex.without([i]) for ex in dev for i in range(len(ex.words))]
    unique = list({v.key(): v for v in variants}.values())
    results["limit"] = {}
    for bs in (64, 256):
        t = bare_forward(model, unique, bs)
        results["limit"][f"batch_{bs}_s"] = round(t, 2)
    best = min(results["limit"].values())
    results["limit"]["variants"] = len(unique)
    results["loo_toolkit"]["ratio_to_limit"] = round(t_loo / best, 3)
    print(json.dumps(results["limit"]))

    results["captum"] = {}
    if not args.skip_captum_default:
        results["captum"]["default_ppe1_s"] = round(captum_loo(model, dev, 1), 2)
    results["captum"]["tuned_ppe64_s"] = round(captum_loo(model, dev, 64), 2)
    for k, v in list(results["captum"].items()):
        results["captum"][k.replace("_s", "_speedup_of_toolkit")] = round(v / t_loo, 2)
    results["peak_rss_mib_start"] = round(mem0, 0)
    print(json.dumps(results["captum"]))
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
