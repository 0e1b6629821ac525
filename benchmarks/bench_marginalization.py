"""Benchmark: input marginalization (Kim et al. 2020) on our own models (issue 8).

Sections, chosen with ``--tables`` (any subset, always run in this order):

  3      Table 3, candidate truncation. The first ``--t3-limit`` (10) SST-2 dev sentences of
         at most ``--t3-max-words`` (10) words, in loader order. Reference: sigma mode with
         sigma = ``--reference-sigma`` (1e-6). Every setting of ``--t3-settings`` runs with a
         fresh engine (no shared cache): mean candidates per word, classifier rows computed,
         wall time, Pearson correlation of all word scores with the reference (pooled).
         Full-vocabulary marginalization (sigma = 0) on the first ``--full-vocab-limit`` (3)
         of the sentences checks the reference; it reuses the reference's engine (its cache
         holds every reference row), so only the rows below sigma are computed again.
         Target: an adaptive setting with Pearson >= 0.999 and >= 10x fewer rows than sigma=1e-5.
  speed  The engine path vs the limit, on the Table 3 sentences ("short") and on the first
         ``--speed-limit`` dev sentences of exactly ``--speed-words`` (20) words ("long"), for
         each of ``--speed-settings``. Limit: the masked-LM forward passes (inputs pre-encoded)
         plus the same candidate rows (pre-built, de-duplicated, length-sorted fixed batches)
         through ``model.predict_proba`` (inference mode); best of ``--speed-repeats`` for
         both sides, interleaved. Also: seconds per long sentence for sigma = 1e-3, one
         sentence per call, fresh engine each.
  2      Table 2, AUC_rep: the first ``--t2-limit`` (200) SST-2 test sentences in loader
         order, target = predicted class, for ``--methods``; ``auc_rep`` with the masked LM,
         seed ``--seed``. One fresh engine per method, shared by its scores and its AUC_rep.
  iot    IoT and neutral-word score on the correctly classified positive sentences among the
         same test sentences: erasure-zero and marginalization with each likelihood: the
         masked LM, the fine-tuned masked LM (``--mlm-finetuned``), uniform and prior. The
         uniform and prior likelihoods give every word (nearly) the same weight, so they
         use the adaptive mode (exact head + stratified sample of the tail), not truncation.

One JSON (``--out``) holds everything; it is rewritten after each setting / method, so a
partial run leaves its results. ``--merge`` keeps the sections already in that file.

    python -u benchmarks/bench_marginalization.py --model models/minilm-sst2 --mlm models/mlm \\
        [--mlm-finetuned models/mlm-sst2] [--tables 3,speed,2,iot]

Smoke test (tiny): see benchmarks/MARGINALIZATION.md.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from pathologies.attribution import Marginalization, get_method
from pathologies.attribution.odds import EPS
from pathologies.data import load_dataset
from pathologies.engine import ScoringEngine
from pathologies.metrics.plausibility import iot, neutral_score
from pathologies.metrics.replacement import auc_rep
from pathologies.models import load_classifier
from pathologies.models.mlm import MaskedWordModel, PriorLM, UniformLM, WordDistribution, load_mlm

SECTIONS = ("3", "speed", "2", "iot")
DEFAULT_T3 = (
    "sigma=1e-5;sigma=1e-4;sigma=1e-3;top-n=100;top-n=1000;"
    "adaptive;adaptive:seed=1;adaptive:seed=2;adaptive:max_draws=768;"
    "adaptive:tol=0.1;adaptive:tol=0.1,seed=1;adaptive:tol=0.1,seed=2;adaptive:tol=0.2;adaptive:tol=0.1,head=16,max_draws=256"
)
ADAPTIVE_KEYS = {"head": int, "draws": int, "tol": float, "growth": int, "max_draws": int, "seed": int,
                 "max_candidates": int}
PEARSON_TARGET, ROWS_TARGET = 0.999, 10.0
IOT_VARIANTS = ("erasure-zero", "masked LM", "fine-tuned masked LM", "uniform", "prior")


# --- small helpers ----------------------------------------------------------------------
def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def r4(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


def mean_or_none(xs: Sequence[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def parse_setting(spec: str) -> tuple[str, dict]:
    """``sigma=1e-5``, ``top-n=100``, ``adaptive`` or ``adaptive:tol=0.05,growth=2``."""
    spec = spec.strip()
    if spec.startswith("sigma="):
        return spec, {"mode": "sigma", "sigma": float(spec.split("=", 1)[1])}
    if spec.startswith("top-n="):
        return spec, {"mode": "top-n", "top_n": int(spec.split("=", 1)[1])}
    if spec.split(":", 1)[0] == "adaptive":
        kw: dict = {"mode": "adaptive"}
        rest = spec.split(":", 1)[1] if ":" in spec else ""
        for item in filter(None, (s.strip() for s in rest.split(","))):
            k, v = item.split("=", 1)
            if k not in ADAPTIVE_KEYS:
                raise SystemExit(f"unknown adaptive setting {k!r} in {spec!r}; known: {', '.join(ADAPTIVE_KEYS)}")
            kw[k] = ADAPTIVE_KEYS[k](v)
        return spec, kw
    raise SystemExit(f"bad marginalization setting {spec!r}: sigma=X, top-n=N or adaptive[:k=v,...]")


def settings_list(text: str) -> list[tuple[str, dict]]:
    return [parse_setting(s) for s in text.split(";") if s.strip()]


def with_cap(kw: dict, cap: int | None) -> dict:
    """``--max-candidates`` (smoke tests only) caps every setting that has no cap of its own."""
    return {**kw, "max_candidates": kw.get("max_candidates", cap)} if cap else dict(kw)


def predicted(clf, examples, batch: int = 256) -> list[int]:
    out: list[int] = []
    for s in range(0, len(examples), batch):
        out += clf.predict_proba(examples[s : s + batch]).argmax(1).tolist()
    return out


def engine_stats(engine: ScoringEngine, before: dict | None = None) -> dict:
    st = engine.stats
    now = {"rows_computed": st.computed, "rows_requested": st.requested, "cache_hits": st.cache_hits,
           "batches": st.batches, "real_tokens": st.real_tokens, "padded_tokens": st.padded_tokens}
    if before:
        now = {k: v - before.get(k, 0) for k, v in now.items()}
    now["padding_waste"] = round(1 - now["real_tokens"] / now["padded_tokens"], 4) if now["padded_tokens"] else 0.0
    return now


def correlations(a: Sequence[float], b: Sequence[float]) -> dict:
    from scipy.stats import pearsonr, spearmanr

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return {"pearson": None, "spearman": None, "max_abs_diff": r4(np.abs(x - y).max()) if len(x) else None}
    return {
        "pearson": round(float(pearsonr(x, y)[0]), 6),
        "spearman": round(float(spearmanr(x, y)[0]), 6),
        "max_abs_diff": r4(np.abs(x - y).max()),
        "mean_abs_diff": r4(np.abs(x - y).mean()),
    }


def flat(scores: Sequence[Sequence[float]]) -> list[float]:
    return [s for sc in scores for s in sc]


# --- likelihood wrappers ----------------------------------------------------------------
class TimedLM(MaskedWordModel):
    """Passes through to a likelihood model and adds up the seconds spent in it."""

    def __init__(self, base: MaskedWordModel):
        self.base, self.name, self.seconds, self.calls = base, getattr(base, "name", "mlm"), 0.0, 0

    def distributions(self, example, positions):
        start = time.perf_counter()
        out = self.base.distributions(example, positions)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


# --- running one marginalization setting --------------------------------------------------
def run_marginalization(clf, lm: MaskedWordModel, examples, targets, kw: dict, engine: ScoringEngine,
                        chunk: int, label: str, on_chunk=None) -> dict:
    """Scores of all examples (in chunks of ``chunk`` sentences), counts, bounds, timings."""
    timed = TimedLM(lm)
    method = Marginalization(timed, **kw)
    before = engine_stats(engine)
    scores: list[list[float]] = []
    start = time.perf_counter()
    for s in range(0, len(examples), chunk):
        part, tpart = examples[s : s + chunk], targets[s : s + chunk]
        sc = method.scores(clf, part, tpart, engine=engine)
        scores += sc
        if on_chunk is not None:
            on_chunk(part, tpart, sc)
        if len(examples) > chunk:
            log(f"  {label}: {min(s + chunk, len(examples))}/{len(examples)} sentences, "
                f"{time.perf_counter() - start:.1f} s, {engine.stats.computed - before['rows_computed']} rows")
    seconds = time.perf_counter() - start
    counts = [method.candidates_evaluated(ex) for ex in examples]
    adaptive = kw.get("mode") == "adaptive"
    bounds = [method.score_bounds(ex) for ex in examples] if adaptive else None
    errors = [method.score_errors(ex) for ex in examples] if adaptive else None
    per_word = flat(counts)
    return {
        "scores": scores, "counts": counts, "bounds": bounds, "errors": errors,
        "summary": {
            "settings": {k: v for k, v in method.settings().items() if k != "mlm"},
            "seconds": round(seconds, 2),
            "lm_seconds": round(timed.seconds, 2),
            "mean_candidates_per_word": round(sum(per_word) / len(per_word), 1),
            "median_candidates_per_word": statistics.median(per_word),
            "max_candidates_per_word": max(per_word),
            **engine_stats(engine, before),
            "rows_per_s": round((engine.stats.computed - before["rows_computed"]) / seconds, 1) if seconds else None,
            "peak_rss_mib": peak_mib(),
            **({"mean_se_bits": r4(statistics.mean(flat(errors))), "max_se_bits": r4(max(flat(errors)))} if adaptive else {}),
        },
    }


# --- sections ---------------------------------------------------------------------------
def short_sentences(args):
    dev = load_dataset("sst2", "dev").examples
    return [e for e in dev if len(e.words) <= args.t3_max_words][: args.t3_limit]


def table3_reference(args, clf, mlm, exs, targets, sec, ref_label, ref_kw, settings, save) -> list[list[float]]:
    """Kept candidates by sigma, the reference scores and the full-vocabulary check."""
    n_words = sum(len(e.words) for e in exs)
    # How many candidates (and how much likelihood mass) each sigma keeps, from the distributions.
    dists = [d for e in exs for d in mlm.distributions(e, list(range(len(e.words))))]
    sigmas = sorted({args.reference_sigma, 0.0, *(kw["sigma"] for _, kw in settings if kw["mode"] == "sigma")})
    sec["kept_by_sigma"] = {}
    for s in sigmas:
        n = [max(1, int((d.probs >= s).sum())) for d in dists]
        sec["kept_by_sigma"][f"{s:g}"] = {
            "mean_candidates": round(sum(n) / len(n), 1),
            "mean_mass": round(sum(float(d.probs[:k].sum()) for d, k in zip(dists, n)) / len(n), 5),
        }
    # What the adaptive mode will need: the most likely words that hold 90% ... 99% of the mass.
    sec["candidates_for_mass"] = {}
    for m in (0.5, 0.9, 0.95, 0.98, 0.99):
        n = [min(len(d.probs), int(torch.searchsorted(torch.cumsum(d.probs, 0), torch.tensor([m], dtype=torch.float64))) + 1)
             for d in dists]
        sec["candidates_for_mass"][str(m)] = {"mean": round(sum(n) / len(n), 1), "median": statistics.median(n), "max": max(n)}
    ref_rows = sum(min(max(1, int((d.probs >= args.reference_sigma).sum())), args.max_candidates or 10**9) for d in dists)
    del dists
    log(f"table 3: {len(exs)} sentences, {n_words} words; kept by sigma: {json.dumps(sec['kept_by_sigma'])}")
    log(f"candidates holding a share of the mass: {json.dumps(sec['candidates_for_mass'])}")

    # Reference: its engine caches every row so that the full-vocabulary check reuses them.
    engine = ScoringEngine(clf, cache_size=max(500_000, ref_rows + 2 * len(exs) + 1000))
    ref = run_marginalization(clf, mlm, exs, targets, with_cap(ref_kw, args.max_candidates), engine, args.chunk_t3, ref_label)
    sec["reference"] = {"setting": ref_label, **ref["summary"]}
    log(f"reference {ref_label}: {json.dumps(sec['reference'])}")
    sec["reference"]["scores"] = ref["scores"]
    save()

    k = min(args.full_vocab_limit, len(exs))
    if k:
        full = run_marginalization(clf, mlm, exs[:k], targets[:k], with_cap({"mode": "sigma", "sigma": 0.0}, args.max_candidates),
                                   engine, args.chunk_t3, "full vocabulary")
        ref_part = flat(ref["scores"][:k])
        sec["full_vocabulary"] = {
            "sentences": k, "words": len(ref_part),
            "note": "sigma = 0 on the first sentences, run on the reference's engine: rows the reference "
                    "computed come from its cache; rows_computed counts only the candidates below the reference sigma",
            **full["summary"],
            "reference_candidates_on_these": round(sum(flat(ref["counts"][:k])) / len(ref_part), 1),
            **{f"{m}_with_reference": v for m, v in correlations(flat(full["scores"]), ref_part).items()},
        }
        log(f"full vocabulary on {k} sentences: {json.dumps(sec['full_vocabulary'])}")
        save()
    return ref["scores"]


def table3(args, clf, mlm, results: dict, save) -> None:
    exs = short_sentences(args)
    targets = predicted(clf, exs)
    n_words = sum(len(e.words) for e in exs)
    ref_label, ref_kw = f"sigma={args.reference_sigma:g}", {"mode": "sigma", "sigma": args.reference_sigma}
    settings = settings_list(args.t3_settings)
    identity = {"sentences": [{"uid": e.uid, "text": e.text(), "words": len(e.words), "target": t} for e, t in zip(exs, targets)],
                "mlm": args.mlm, "model": args.model, "reference_setting": ref_label, "max_candidates": args.max_candidates}
    old = results.get("table3") or {}
    reuse = bool(args.merge and old.get("identity") == identity and (old.get("reference") or {}).get("scores"))
    sec: dict = {"identity": identity, "n_sentences": len(exs), "n_words": n_words,
                 "vocabulary": len(getattr(mlm, "words", [])), "chunk_sentences": args.chunk_t3}
    if reuse:  # --merge: same sentences, models and reference; keep the reference and the settings run before
        sec.update({k: old[k] for k in ("kept_by_sigma", "candidates_for_mass", "reference", "full_vocabulary", "settings") if k in old})
        sec["settings"] = dict(sec.get("settings") or {})
        ref_scores = old["reference"]["scores"]
        log(f"table 3: reusing the reference {ref_label} stored in {args.out}")
    results["table3"] = sec
    if not reuse:
        ref_scores = table3_reference(args, clf, mlm, exs, targets, sec, ref_label, ref_kw, settings, save)
        sec["settings"] = {}
    ref_flat = flat(ref_scores)
    for label, kw in settings:
        engine = ScoringEngine(clf)  # fresh: nothing cached from another setting
        run = run_marginalization(clf, mlm, exs, targets, with_cap(kw, args.max_candidates), engine, args.chunk_t3, label)
        row = {**run["summary"], **correlations(flat(run["scores"]), ref_flat)}
        if run["bounds"] is not None:
            inside, widths = [], []
            for b, r in zip(flat(run["bounds"]), ref_flat):
                inside.append(b[0] - 1e-9 <= r <= b[1] + 1e-9)
                widths.append(b[1] - b[0])
            row["reference_inside_bounds_share"] = r4(sum(inside) / len(inside))
            row["mean_bound_width_bits"] = r4(sum(widths) / len(widths))
        sec["settings"][label] = row
        log(f"{label}: {json.dumps(row)}")
        sec["target"] = target_check(sec)
        save()
    sec["target"] = target_check(sec)
    log(f"table 3 target: {json.dumps(sec['target'])}")


def target_check(sec: dict) -> dict:
    """Adaptive settings with Pearson >= 0.999 and >= 10x fewer rows than sigma = 1e-5."""
    rows = sec["settings"]
    base = next((v for k, v in rows.items() if k.startswith("sigma=") and float(k.split("=")[1]) == 1e-5), None)
    out: dict = {"pearson_target": PEARSON_TARGET, "rows_ratio_target": ROWS_TARGET,
                 "rows_sigma_1e-5": base["rows_computed"] if base else None, "adaptive": {}}
    for k, v in rows.items():
        if not k.startswith("adaptive"):
            continue
        ratio = base["rows_computed"] / v["rows_computed"] if base and v["rows_computed"] else None
        met = ratio is not None and v["pearson"] is not None and v["pearson"] >= PEARSON_TARGET and ratio >= ROWS_TARGET
        out["adaptive"][k] = {"pearson": v["pearson"], "rows": v["rows_computed"], "ratio_rows_sigma_1e-5": r4(ratio), "met": met}
    meeting = [k for k, v in out["adaptive"].items() if v["met"]]
    out["default_met"] = out["adaptive"].get("adaptive", {}).get("met")
    out["settings_meeting_target"] = meeting
    out["fewest_rows_meeting_target"] = min(meeting, key=lambda k: out["adaptive"][k]["rows"]) if meeting else None
    return out


def bare_limit(clf, mlm, examples, dists_counts, batch_sizes, repeats) -> dict:
    """Masked-LM forward passes + the same unique candidate rows through predict_proba."""
    variants = list(examples)
    for ex, (dists, counts) in zip(examples, dists_counts):
        for pos, (d, n) in enumerate(zip(dists, counts)):
            for w in d.words[:n]:
                variants.append(ex.with_words(ex.words[:pos] + (w,) + ex.words[pos + 1 :]))
    unique = list({v.key(): v for v in variants}.values())
    lengths = [clf.n_tokens(v) for v in unique]
    order = sorted(range(len(unique)), key=lengths.__getitem__)
    batches = {bs: [[unique[i] for i in order[s : s + bs]] for s in range(0, len(order), bs)] for bs in batch_sizes}
    encs = [mlm._masked_batch(ex, list(range(len(ex.words)))) for ex in examples]
    encs = [({k: v.to(mlm.device) for k, v in enc.items()}, where) for enc, where in encs]
    model = mlm.model
    head = next((getattr(model, n) for n in ("cls", "lm_head") if getattr(model, n, None) is not None), None)
    t_mlm, t_masked, t_clf = [], [], {bs: [] for bs in batch_sizes}
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():  # what HFMaskedLM does: the vocabulary projection at every token
            for enc, _where in encs:
                model(**enc)
        t_mlm.append(time.perf_counter() - start)
        if head is not None:
            start = time.perf_counter()
            with torch.inference_mode():  # the projection at the masked positions only
                for enc, where in encs:
                    hidden = getattr(model, model.base_model_prefix)(**enc).last_hidden_state
                    head(hidden[where[:, 0], where[:, 1]])
            t_masked.append(time.perf_counter() - start)
        for bs in batch_sizes:
            start = time.perf_counter()
            with torch.inference_mode():
                for b in batches[bs]:
                    clf.predict_proba(b)
            t_clf[bs].append(time.perf_counter() - start)
    best_clf = min(min(v) for v in t_clf.values())
    out = {
        "rows": len(unique),
        "mlm_forward_s": round(min(t_mlm), 3),
        **{f"classifier_batch_{bs}_s": round(min(v), 3) for bs, v in t_clf.items()},
        "limit_s": round(min(t_mlm) + best_clf, 3),
    }
    if t_masked:
        out["mlm_masked_positions_only_s"] = round(min(t_masked), 3)
        out["limit_masked_projection_s"] = round(min(t_masked) + best_clf, 3)
    return out


def speed(args, clf, mlm, results: dict, save) -> None:
    dev = load_dataset("sst2", "dev").examples
    sets = {
        "short": short_sentences(args),
        "long": [e for e in dev if len(e.words) == args.speed_words][: args.speed_limit],
    }
    sec: dict = {"sets": {k: {"sentences": len(v), "words": sum(len(e.words) for e in v)} for k, v in sets.items()},
                 "repeats": args.speed_repeats, "batch_sizes": args.speed_batches, "runs": {}}
    results["speed"] = sec
    warm = (sets["short"] or sets["long"])[:2]
    if warm:  # untimed: first calls pay for lazy initialisation
        run_marginalization(clf, mlm, warm, predicted(clf, warm), {"mode": "top-n", "top_n": 8}, ScoringEngine(clf), 2, "warm-up")
    for label, kw in settings_list(args.speed_settings):
        kw = with_cap(kw, args.max_candidates)
        for set_name, exs in sets.items():
            if not exs:
                continue
            targets = predicted(clf, exs)
            run, limit = None, None
            for _ in range(args.speed_repeats):  # engine and limit interleaved; best of each
                engine = ScoringEngine(clf)
                run_r = run_marginalization(clf, mlm, exs, targets, kw, engine, len(exs), label)
                if run is None or run_r["summary"]["seconds"] < run["summary"]["seconds"]:
                    run = run_r
                dists = [(mlm.distributions(e, list(range(len(e.words)))), c) for e, c in zip(exs, run_r["counts"])]
                lim = bare_limit(clf, mlm, exs, dists, args.speed_batches, 1)
                del dists
                limit = lim if limit is None else {k: min(v, lim[k]) if k.endswith("_s") else v for k, v in limit.items()}
            summ = run["summary"]
            entry = {
                "engine_s": summ["seconds"], "engine_lm_s": summ["lm_seconds"], "engine_rows": summ["rows_computed"],
                "mean_candidates_per_word": summ["mean_candidates_per_word"], "batches": summ["batches"],
                "padding_waste": summ["padding_waste"], "limit": limit,
                "ratio_engine_to_limit": round(summ["seconds"] / limit["limit_s"], 3),
                "ratio_engine_to_limit_masked_projection": r4(summ["seconds"] / limit["limit_masked_projection_s"])
                if limit.get("limit_masked_projection_s") else None,
                "seconds_per_sentence": round(summ["seconds"] / len(exs), 3),
            }
            entry["met_1.1x"] = entry["ratio_engine_to_limit"] <= 1.1
            sec["runs"][f"{label} / {set_name}"] = entry
            log(f"speed {label} / {set_name}: {json.dumps(entry)}")
            save()
    # One long sentence per call, sigma = 1e-3 (the naive figure: 13.5 s, 2,334 rows).
    per = []
    for ex in sets["long"]:
        engine = ScoringEngine(clf)
        t = predicted(clf, [ex])
        run = run_marginalization(clf, mlm, [ex], t, with_cap({"mode": "sigma", "sigma": 1e-3}, args.max_candidates), engine, 1, "1e-3")
        per.append({"words": len(ex.words), "seconds": run["summary"]["seconds"], "lm_seconds": run["summary"]["lm_seconds"],
                    "rows": run["summary"]["rows_computed"]})
        log(f"one sentence, sigma=1e-3: {json.dumps(per[-1])}")
    if per:
        sec["per_sentence_sigma_1e-3"] = {
            "sentences": per,
            "mean_seconds": round(sum(p["seconds"] for p in per) / len(per), 3),
            "mean_rows": round(sum(p["rows"] for p in per) / len(per), 1),
            "issue_naive": {"seconds": 13.5, "rows": 2334},
        }
    save()


def test_sentences(args):
    return load_dataset("sst2", "test", limit=args.t2_limit).examples


def table2(args, clf, mlm, results: dict, save, memo: dict) -> None:
    exs = test_sentences(args)
    targets = predicted(clf, exs)
    m_label, m_kw = parse_setting(args.marginalization)
    sec: dict = {"sentences": len(exs), "words": sum(len(e.words) for e in exs), "seed": args.seed,
                 "marginalization_setting": m_label, "methods": {}}
    results["table2"] = sec
    for name in [m.strip() for m in args.methods.split(",") if m.strip()]:
        engine = ScoringEngine(clf)
        start = time.perf_counter()
        if name == "marginalization":
            run = run_marginalization(clf, mlm, exs, targets, with_cap(m_kw, args.max_candidates), engine, args.chunk, name)
            scores, extra = run["scores"], {"marginalization": run["summary"]}
        else:
            method = get_method(name)
            scores, extra = method.scores(clf, exs, targets, engine=engine), {}
        t_scores = time.perf_counter() - start
        memo[name] = {"uids": [e.uid for e in exs], "scores": scores}
        start = time.perf_counter()
        values = auc_rep(exs, scores, targets, mlm, engine, seed=args.seed)
        t_auc = time.perf_counter() - start
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        sec["methods"][name] = {
            "auc_rep": round(sum(values) / len(values), 4), "std": round(sd, 4), "sem": round(sd / math.sqrt(len(values)), 4),
            "n": len(values), "scores_s": round(t_scores, 2), "auc_rep_s": round(t_auc, 2),
            "rows_computed": engine.stats.computed, **extra,
        }
        log(f"table 2 {name}: {json.dumps(sec['methods'][name])}")
        save()


def iot_section(args, clf, mlm, results: dict, save, memo: dict) -> None:
    exs = test_sentences(args)
    targets = predicted(clf, exs)
    positive = len(clf.labels) - 1
    keep = [i for i, e in enumerate(exs) if e.tags is not None and e.label == targets[i] == positive]
    sub, sub_t = [exs[i] for i in keep], [targets[i] for i in keep]
    m_label, m_kw = parse_setting(args.marginalization)
    estimator = (
        f"the adaptive mode of {m_label!r} with head = {args.prior_head} (prior) or 0 (uniform): the most likely "
        f"words exactly, the rest from a stratified sample drawn in proportion to q (unbiased). Seed {args.seed}."
    )
    sec: dict = {
        "sentences": len(sub), "words": sum(len(e.words) for e in sub),
        "from": f"correctly classified positive sentences among the first {len(exs)} SST-2 test sentences",
        "marginalization_setting_for_masked_lms": m_label, "uniform_prior_estimator": estimator, "variants": {},
    }
    results["iot"] = sec
    uids = [e.uid for e in exs]

    def record(label: str, scores, extra: dict) -> None:
        iots = [iot(sc, e.tags) for sc, e in zip(scores, sub)]
        neus = [neutral_score(sc, e.tags) for sc, e in zip(scores, sub)]
        iv, nv = [x for x in iots if x is not None], [x for x in neus if x is not None]
        sec["variants"][label] = {"iot": r4(mean_or_none(iv)), "iot_n": len(iv), "neutral": r4(mean_or_none(nv)),
                                  "neutral_n": len(nv), **extra}
        log(f"iot {label}: {json.dumps(sec['variants'][label])}")
        save()

    def reuse(name: str):
        m = memo.get(name)
        return [m["scores"][i] for i in keep] if m and m["uids"] == uids else None

    wanted = {v.strip() for v in args.iot_variants.split(",") if v.strip()}
    if "erasure-zero" in wanted:
        scores = reuse("erasure-zero")
        extra: dict = {"reused_from_table2": scores is not None}
        if scores is None:
            engine, start = ScoringEngine(clf), time.perf_counter()
            scores = get_method("erasure-zero").scores(clf, sub, sub_t, engine=engine)
            extra.update(seconds=round(time.perf_counter() - start, 2), rows_computed=engine.stats.computed)
        record("erasure-zero", scores, extra)

    lms: list[tuple[str, MaskedWordModel | None, str | None]] = [("masked LM", mlm, args.mlm)]
    if args.mlm_finetuned:
        lms.append(("fine-tuned masked LM", None, args.mlm_finetuned))
    for label, lm, path in lms:
        if label not in wanted:
            continue
        scores = reuse("marginalization") if lm is mlm else None
        extra = {"likelihood": path, "setting": m_label, "reused_from_table2": scores is not None}
        if scores is None:
            if lm is None:
                if not Path(path).is_dir():
                    sec["variants"][label] = {"skipped": f"no masked LM at {path}"}
                    log(f"iot {label}: skipped, no masked LM at {path}")
                    save()
                    continue
                lm = load_mlm(path)
            engine = ScoringEngine(clf)
            run = run_marginalization(clf, lm, sub, sub_t, with_cap(m_kw, args.max_candidates), engine, args.chunk, label)
            scores, extra["marginalization"] = run["scores"], run["summary"]
        record(f"marginalization, {label}", scores, extra)

    vocab = list(getattr(mlm, "words", []))
    train = load_dataset("sst2", "train").examples
    for label, base, head in (
        ("uniform", UniformLM(vocab), 0),
        ("prior", PriorLM([e.words for e in train]), args.prior_head),
    ):
        if label not in wanted:
            continue
        kw = with_cap({**m_kw, "mode": "adaptive", "head": head, "seed": args.seed}, args.max_candidates)
        run = run_marginalization(clf, base, sub, sub_t, kw, ScoringEngine(clf), args.chunk, label)
        extra = {
            "likelihood": f"{label}: {len(base.words)} words"
            + (" (the masked LM's whole-word vocabulary)" if label == "uniform" else " (SST-2 train word frequencies, lowercased)"),
            "head": head, "marginalization": run["summary"],
        }
        if label == "prior":
            extra["head_words"] = list(base.words[: min(head, 20)])
            extra["head_mass"] = r4(float(base.probs[:head].sum()))
        record(f"marginalization, {label}", run["scores"], extra)


def planned_candidates(d: WordDistribution, kw: dict) -> int:
    """Candidates a setting will evaluate for one word (adaptive: at most this many)."""
    defaults = {k: v.default for k, v in inspect.signature(Marginalization.__init__).parameters.items()}
    kw = {**{k: defaults[k] for k in ("sigma", "top_n", "head", "max_draws", "max_candidates")}, **kw}
    V = len(d.probs)
    cap = min(V, kw["max_candidates"]) if kw["max_candidates"] else V
    if kw["mode"] == "sigma":
        return max(1, min(int((d.probs >= kw["sigma"]).sum()), cap))
    if kw["mode"] == "top-n":
        return max(1, min(kw["top_n"], cap))
    # Adaptive: how many draws a word needs depends on the classifier; count the most it may take.
    return max(1, min(cap, kw["head"] + kw["max_draws"]))


def plan(args, tables, clf, mlm) -> dict:
    """Rows each section will compute (from the masked LM alone) and hours at the given rates."""
    out: dict = {"rates_rows_per_s": {"short": args.plan_rate_short, "long": args.plan_rate_long}}

    def rows_for(exs, kw, lm=mlm) -> int:
        return len(exs) + sum(planned_candidates(d, with_cap(kw, args.max_candidates))
                              for e in exs for d in lm.distributions(e, list(range(len(e.words)))))

    def hours(rows, rate) -> float:
        return round(rows / rate / 3600, 2)

    if "3" in tables:
        exs = short_sentences(args)
        rows = {f"sigma={args.reference_sigma:g} (reference)": rows_for(exs, {"mode": "sigma", "sigma": args.reference_sigma})}
        k = exs[: args.full_vocab_limit]
        if k:
            rows["full vocabulary, beyond the reference"] = rows_for(k, {"mode": "sigma", "sigma": 0.0}) - rows_for(
                k, {"mode": "sigma", "sigma": args.reference_sigma})
        for label, kw in settings_list(args.t3_settings):
            rows[label] = rows_for(exs, kw)
        total = sum(rows.values())
        out["3"] = {"rows": rows, "total_rows": total, "hours": hours(total, args.plan_rate_short)}
    if "speed" in tables:
        dev = load_dataset("sst2", "dev").examples
        sets = {"short": (short_sentences(args), args.plan_rate_short),
                "long": ([e for e in dev if len(e.words) == args.speed_words][: args.speed_limit], args.plan_rate_long)}
        rows, secs = {}, 0.0
        n_batches = len(args.speed_batches)
        for label, kw in settings_list(args.speed_settings):
            for name, (exs, rate) in sets.items():
                r = rows_for(exs, kw) * args.speed_repeats * (1 + n_batches)  # engine + limit per batch size
                rows[f"{label} / {name}"] = r
                secs += r / rate
        r = rows_for(sets["long"][0], {"mode": "sigma", "sigma": 1e-3})
        rows["one long sentence per call, sigma=1e-3"] = r
        secs += r / args.plan_rate_long
        out["speed"] = {"rows": rows, "total_rows": sum(rows.values()), "hours": round(secs / 3600, 2)}
    if "2" in tables or "iot" in tables:
        exs = test_sentences(args)
        m_label, m_kw = parse_setting(args.marginalization)
        marg = rows_for(exs, m_kw)
        n_words = sum(len(e.words) for e in exs)
        if "2" in tables:
            other = len([m for m in args.methods.split(",") if m.strip() and m.strip() != "marginalization"]) * (len(exs) + n_words)
            total = marg + other + 5 * len(exs) * 4  # + AUC_rep: about 4 replacement steps per sentence and method
            out["2"] = {"rows": {f"marginalization {m_label}": marg, "other methods": other}, "total_rows": total,
                        "mean_candidates_per_word": round((marg - len(exs)) / n_words, 1), "hours": hours(total, args.plan_rate_long)}
        if "iot" in tables:
            targets = predicted(clf, exs)
            pos = len(clf.labels) - 1
            sub = [e for e, t in zip(exs, targets) if e.tags is not None and e.label == t == pos]
            w = sum(len(e.words) for e in sub)
            draws = with_cap(m_kw, args.max_candidates)
            rows = {"uniform (at most)": rows_for(sub, {**draws, "mode": "adaptive", "head": 0}, UniformLM(list(mlm.words))),
                    "prior (at most)": len(sub) + w * (args.prior_head + draws.get("max_draws", 384))}
            if "2" not in tables:
                rows[f"masked LM {m_label}"] = rows_for(sub, m_kw) + len(sub) + w
            if args.mlm_finetuned and Path(args.mlm_finetuned).is_dir():
                rows[f"fine-tuned masked LM {m_label}"] = rows_for(sub, m_kw, load_mlm(args.mlm_finetuned))
            total = sum(rows.values())
            out["iot"] = {"sentences": len(sub), "words": w, "rows": rows, "total_rows": total, "hours": hours(total, args.plan_rate_long)}
    out["total_hours"] = round(sum(v["hours"] for k, v in out.items() if isinstance(v, dict) and "hours" in v), 2)
    return out


# --- main -------------------------------------------------------------------------------
def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        cpu = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        info["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else None
        mem = [line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")]
        info["memory_gib"] = round(int(mem[0].split()[1]) / 2**20, 1) if mem else None
    except OSError:
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip())
        info["git"] = head + (" (src modified)" if dirty else "")
    except OSError:
        pass
    return info


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/minilm-sst2")
    p.add_argument("--mlm", required=True, help="Masked LM directory (candidates, AUC_rep sampling).")
    p.add_argument("--mlm-finetuned", default=None, help="Task-fine-tuned masked LM, for the IoT likelihood comparison.")
    p.add_argument("--tables", default="3,speed,2,iot", help=f"Comma-separated sections: {', '.join(SECTIONS)}.")
    p.add_argument("--out", default="benchmarks/results/marginalization.json")
    p.add_argument("--merge", action="store_true", help="Keep the sections already in --out that are not run now.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's).")
    p.add_argument("--plan", action="store_true",
                   help="Only predict the classifier rows (and hours) of each section from the masked LM; run nothing heavy.")
    p.add_argument("--plan-rate-short", type=float, default=500.0, help="Rows/s assumed for sentences of <= 10 words.")
    p.add_argument("--plan-rate-long", type=float, default=200.0, help="Rows/s assumed for ~20-word sentences.")
    p.add_argument("--max-candidates", type=int, default=None,
                   help="SMOKE TESTS ONLY: cap every setting at N candidates per word (changes what is measured).")
    g = p.add_argument_group("table 3")
    g.add_argument("--t3-limit", type=int, default=10)
    g.add_argument("--t3-max-words", type=int, default=10)
    g.add_argument("--reference-sigma", type=float, default=1e-6)
    g.add_argument("--full-vocab-limit", type=int, default=3, help="Sentences for full-vocabulary marginalization (0: skip).")
    g.add_argument("--t3-settings", default=DEFAULT_T3, help="';'-separated: sigma=X, top-n=N, adaptive[:head=..,draws=..,tol=..,max_draws=..,growth=..,seed=..].")
    g.add_argument("--chunk-t3", type=int, default=5, help="Sentences per Marginalization call in table 3 (bounds memory).")
    g = p.add_argument_group("speed")
    g.add_argument("--speed-settings", default="sigma=1e-3;adaptive")
    g.add_argument("--speed-words", type=int, default=20)
    g.add_argument("--speed-limit", type=int, default=5)
    g.add_argument("--speed-repeats", type=int, default=2)
    g.add_argument("--speed-batches", default="256", help="Fixed batch sizes for the limit (best is kept), e.g. 64,256.")
    g = p.add_argument_group("table 2 and IoT")
    g.add_argument("--t2-limit", type=int, default=200)
    g.add_argument("--methods", default="erasure-zero,erasure-unk,loo,gradient,marginalization")
    g.add_argument("--marginalization", default="adaptive", help="Setting for marginalization in table 2 and IoT.")
    g.add_argument("--chunk", type=int, default=10, help="Sentences per Marginalization call (bounds memory).")
    g.add_argument("--prior-head", type=int, default=128, help="Prior: most frequent words evaluated exactly.")
    g.add_argument("--iot-variants", default=",".join(IOT_VARIANTS), help="Comma-separated IoT rows to run.")
    args = p.parse_args()
    args.speed_batches = [int(x) for x in str(args.speed_batches).split(",") if x.strip()]
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = [t for t in tables if t not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; known: {', '.join(SECTIONS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    if args.plan:
        clf, mlm = load_classifier(args.model), load_mlm(args.mlm)
        print(json.dumps(plan(args, tables, clf, mlm), indent=2), flush=True)
        return

    out = Path(args.out)
    results: dict = json.loads(out.read_text()) if args.merge and out.is_file() else {}
    this_run = {"started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "tables": tables,
                "machine": machine(), "args": vars(args)}
    results["runs"] = results.get("runs", []) + [this_run]  # with --merge: one entry per run that wrote here
    results.update({"machine": this_run["machine"], "model": args.model, "mlm": args.mlm})
    if args.max_candidates:
        results["WARNING"] = f"--max-candidates {args.max_candidates}: smoke test, every setting capped; not the protocol"
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=2))
        tmp.replace(out)

    start = time.perf_counter()
    clf = load_classifier(args.model)
    mlm = load_mlm(args.mlm)
    log(f"model {args.model}, masked LM {args.mlm} ({len(mlm.words)} whole words), sections {tables}, "
        f"{torch.get_num_threads()} torch threads")
    memo: dict = {}
    sections = {"3": lambda: table3(args, clf, mlm, results, save), "speed": lambda: speed(args, clf, mlm, results, save),
                "2": lambda: table2(args, clf, mlm, results, save, memo), "iot": lambda: iot_section(args, clf, mlm, results, save, memo)}
    for name in SECTIONS:
        if name in tables:
            t0 = time.perf_counter()
            log(f"=== section {name}")
            sections[name]()
            results.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t0, 1)
            this_run["total_s"] = round(time.perf_counter() - start, 1)
            this_run["peak_rss_mib"] = peak_mib()
            save()
            log(f"=== section {name} done in {time.perf_counter() - t0:.1f} s")
    log(f"done in {time.perf_counter() - start:.1f} s -> {out}")


if __name__ == "__main__":
    main()
