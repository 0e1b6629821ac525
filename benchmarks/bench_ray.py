"""Benchmark: the Ray executor against the local one, and a projection to the IMDB test set.

Scaling (``--modes local,ray1,ray2``): audits the first ``--limit`` SST-2 dev sentences with
``--methods gradient,loo`` and nothing else (``AuditSpec(methods=["gradient", "loo"],
metrics=[], reduce=None, curves=False, show=0)``: the attributions alone), each mode in a
fresh process, one torch thread per worker:

  local   the local executor, torch.set_num_threads(1)
  rayN    RayExecutor(workers=N, threads_per_worker=1) on a local Ray started in that process
          (ray.init timed separately); the audit time includes starting the actors and
          loading the model in each

Every mode writes a run folder; the records of every mode are compared with the local
one's (sorted lines, exact). The 1-minute load average is recorded before each mode; with
``--max-load L`` a mode waits (up to ``--wait`` s) for the load to fall below L first.

Projection (``--project``): gradient on ``--imdb-gradient`` and leave-one-out on
``--imdb-loo`` IMDB test reviews (seeded shuffle), one thread, the local executor; per review
and per model row costs, and the projected wall time of the 25,000-review test set on 1, 8
and 64 workers (marginalization-adaptive from the rows per word and seconds per row recorded
in benchmarks/MARGINALIZATION.md, since no masked LM is trained here).

    python benchmarks/bench_ray.py --model models/minilm-sst2 --limit 400 --chunk 16 --modes local,ray1,ray2
    python benchmarks/bench_ray.py --model models/minilm-sst2 --project --imdb-gradient 24 --imdb-loo 3

Results go to benchmarks/results/ray.json (``--device cuda`` to benchmarks/results/ray_gpu.json),
one key per part, rewritten after every mode.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _spec(methods, chunk):
    from pathologies.audit import AuditSpec

    return AuditSpec(methods=methods, metrics=[], reduce=None, curves=False, show=0, chunk=chunk)


def _digest(folder: Path) -> str:
    from pathologies.audit.folder import KINDS

    h = hashlib.sha256()
    for k in KINDS:
        f = folder / "records" / f"{k}.jsonl"
        for line in sorted(f.read_text().splitlines()) if f.exists() else []:
            h.update(line.encode() + b"\n")
    return h.hexdigest()


def run_mode(args) -> dict:
    """One mode in this process."""
    import torch

    from pathologies.audit import audit
    from pathologies.data import load_dataset
    from pathologies.models import load_classifier

    mode = args.one
    torch.set_num_threads(args.threads)
    examples = load_dataset("sst2", "dev", limit=args.limit).examples
    device = args.device
    executor, init_s = None, 0.0
    if mode.startswith("ray"):
        import ray

        from pathologies.audit.ray_executor import RayExecutor

        workers = int(mode[3:])
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        start = time.perf_counter()
        ray.init(num_cpus=max(workers * args.threads, os.cpu_count() or 1), include_dashboard=False,
                 object_store_memory=256 * 1024**2, logging_level="warning", log_to_driver=False)
        init_s = time.perf_counter() - start
        gpus = 0.0
        if device == "cuda":  # workers share the GPUs there are (0.5 each: two on one GPU)
            gpus = min(args.gpus_per_worker, torch.cuda.device_count() / workers)
        executor = RayExecutor(workers=workers, threads_per_worker=args.threads, gpus_per_worker=gpus)
    model = load_classifier(args.model, device=device)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        start = time.perf_counter()
        run = audit(model, examples, out, spec=_spec(args.methods.split(","), args.chunk), model_source=args.model,
                    show_progress=False, executor=executor)
        seconds = time.perf_counter() - start
        digest = _digest(out)
        rows = sum((r.get("rows") or 1) for r in run.records["attributions"])
    if executor is not None:
        import ray

        ray.shutdown()
    return {
        "mode": mode, "seconds": round(seconds, 2), "ray_init_s": round(init_s, 2), "examples": len(examples),
        "sentences_per_s": round(len(examples) / seconds, 3), "model_rows": rows, "records_sha256": digest,
        "threads_per_worker": args.threads, "device": device,
        "executor_stats": getattr(executor, "stats", None),
    }


def project(args) -> dict:
    """Per-review and per-row costs on IMDB test reviews, one thread, the local executor."""
    import torch

    from pathologies.audit import audit
    from pathologies.data import load_dataset
    from pathologies.models import load_classifier

    torch.set_num_threads(args.threads)
    test = load_dataset("imdb", "test").examples
    random.Random(0).shuffle(test)
    model = load_classifier(args.model, device=args.device)
    out = {}
    for method, n in (("gradient", args.imdb_gradient), ("loo", args.imdb_loo)):
        exs = [model.fit_to_limit(ex) for ex in test[:n]]
        load = os.getloadavg()[0]
        start = time.perf_counter()
        run = audit(model, exs, None, spec=_spec([method], 8), model_source=args.model, show_progress=False)
        seconds = time.perf_counter() - start
        rows = sum((r.get("rows") or 1) for r in run.records["attributions"])
        words = sum(len(ex.words) for ex in exs)
        tokens = sum(model.n_tokens(ex) for ex in exs)
        out[method] = {
            "reviews": n, "seconds": round(seconds, 2), "s_per_review": round(seconds / n, 3),
            "model_rows": rows, "ms_per_row": round(1000 * seconds / rows, 3),
            "words_per_review": round(words / n, 1), "tokens_per_review": round(tokens / n, 1),
            "load_average_before": round(load, 2),
        }
        print(json.dumps({method: out[method]}), flush=True)
    return out


def length_stats(args, measured: dict) -> dict:
    """Lengths over a seeded sample of the IMDB test set and over the measured reviews: a
    review's leave-one-out cost is about (words + 1) rows × its tokens, so costs measured on a
    few reviews are scaled to the data set by these sums (the rows' cost grows about linearly
    with their tokens at these lengths)."""
    from pathologies.data import load_dataset
    from pathologies.models import load_classifier

    test = load_dataset("imdb", "test").examples
    random.Random(0).shuffle(test)
    model = load_classifier(args.model)

    def stats(exs):
        fitted = [model.fit_to_limit(ex) for ex in exs]
        w = [len(ex.words) for ex in fitted]
        t = [model.n_tokens(ex) for ex in fitted]
        n = len(fitted)
        return {"reviews": n, "words": sum(w) / n, "tokens": sum(t) / n,
                "loo_row_tokens": sum((a + 1) * b for a, b in zip(w, t)) / n,
                "marg_row_tokens_per_candidate": sum(a * b for a, b in zip(w, t)) / n}

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "dataset_sample": stats(test[: args.length_sample]),
            "gradient_measured": stats(test[: measured["gradient"]["reviews"]]),
            "loo_measured": stats(test[: measured["loo"]["reviews"]]),
        }


def projection_table(measured: dict, scaling: dict | None, marg: dict, lengths: dict | None = None) -> dict:
    """Projected hours for the IMDB test set on 1, 8 and 64 workers (one thread each)."""
    n = 25_000
    eff = None
    if scaling and scaling.get("ratio_ray2_over_ray1") is not None:
        eff = scaling["ratio_ray2_over_ray1"] / 2
    loo = measured["loo"]
    # marginalization-adaptive: per word, `candidates` classifier rows plus one masked-LM pass,
    # at the seconds per row of leave-one-out rows on the same reviews (same lengths).
    per_row = loo["ms_per_row"] / 1000
    marg_rows = loo["words_per_review"] * (marg["candidates_per_word"] + 1)
    costs = {
        "gradient": measured["gradient"]["s_per_review"],
        "loo": loo["s_per_review"],
        "marginalization-adaptive": marg_rows * per_row,
    }
    if lengths:  # scaled from the measured reviews' lengths to the data set's
        data, g, l = lengths["dataset_sample"], lengths["gradient_measured"], lengths["loo_measured"]
        per_row_token = loo["seconds"] / (l["loo_row_tokens"] * l["reviews"])  # s per (row × token)
        costs = {
            "gradient": measured["gradient"]["s_per_review"] * data["tokens"] / g["tokens"],
            "loo": per_row_token * data["loo_row_tokens"],
            # per word: `candidates` classifier rows + one masked-LM pass of the same length
            "marginalization-adaptive": per_row_token * data["marg_row_tokens_per_candidate"] * (marg["candidates_per_word"] + 1),
        }
    table = {}
    for method, s in costs.items():
        table[method] = {"s_per_review_1_worker": round(s, 2)}
        for w in (1, 8, 64):  # linear in workers (each worker its own core), and at the measured efficiency
            table[method][f"hours_{w}_workers"] = round(n * s / w / 3600, 2)
            if eff and w > 1:
                table[method][f"hours_{w}_workers_at_measured_efficiency"] = round(n * s / (w * eff) / 3600, 2)
    return {"reviews": n, "worker_efficiency_measured": round(eff, 3) if eff else None, "methods": table,
            "marginalization_source": marg, "scaled_to_dataset_lengths": bool(lengths)}


def _wait_for_load(max_load: float | None, wait: float) -> float:
    if max_load is None:
        return os.getloadavg()[0]
    deadline = time.time() + wait
    while os.getloadavg()[0] > max_load and time.time() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/minilm-sst2")
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--methods", default="gradient,loo")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--gpus-per-worker", type=float, default=1.0, help="with --device cuda: at most this many GPUs per worker")
    ap.add_argument("--modes", default="local,ray1,ray2", help="run in this order; a mode may repeat (best time kept)")
    ap.add_argument("--max-load", type=float, default=None)
    ap.add_argument("--wait", type=float, default=900)
    ap.add_argument("--project", action="store_true")
    ap.add_argument("--retable", action="store_true", help="recompute the projection table from stored figures")
    ap.add_argument("--length-sample", type=int, default=0, help="with --retable: scale costs to the lengths of this many test reviews")
    ap.add_argument("--imdb-gradient", type=int, default=24)
    ap.add_argument("--imdb-loo", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None)
    ap.add_argument("--key", default="scaling", help="where the scaling runs go in the results file")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_mode(args)), flush=True)
        return
    import torch

    path = Path(args.out or ROOT / "benchmarks" / "results" / ("ray_gpu.json" if args.device == "cuda" else "ray.json"))
    results = json.loads(path.read_text()) if path.exists() else {}
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}, torch {torch.__version__}, "
               + (torch.cuda.get_device_name(0) if args.device == "cuda" else "no GPU"))
    command = "python benchmarks/bench_ray.py " + " ".join(sys.argv[1:])
    if args.retable:  # the projection again from its stored measurements and the current scaling
        proj = results["projection"]
        if args.length_sample:
            proj["lengths"] = length_stats(args, proj["measured"])
        proj["table"] = projection_table(proj["measured"], results.get("scaling"), proj["table"]["marginalization_source"],
                                         proj.get("lengths"))
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(proj["table"], indent=2))
        return
    if args.project:
        measured = project(args)
        marg = {
            "source": "benchmarks/MARGINALIZATION.md, Table 3 row 'adaptive' (tol 0.05): 241.0 candidates per word, "
                      "16,119 classifier rows, 31.11 s for 10 SST-2 dev sentences (67 words), 2 threads",
            "candidates_per_word": 241.0,
            "sst2_ms_per_row_2_threads": round(31.11 / 16119 * 1000, 3),
        }
        results["projection"] = {
            "command": command, "machine": machine, "measured": measured,
            "table": projection_table(measured, results.get("scaling"), marg),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results["projection"]["table"], indent=2))
        return
    runs = []
    waited = time.time()
    first_load = _wait_for_load(args.max_load, args.wait)  # then every mode back-to-back
    waited = round(time.time() - waited)
    for mode in args.modes.split(","):
        load = os.getloadavg()[0]
        cmd = [sys.executable, __file__, "--one", mode, "--model", args.model, "--limit", str(args.limit), "--chunk",
               str(args.chunk), "--methods", args.methods, "--threads", str(args.threads), "--device", args.device,
               "--gpus-per-worker", str(args.gpus_per_worker)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"{mode} failed:\n{res.stderr[-3000:]}")
        row = json.loads(res.stdout.strip().splitlines()[-1])
        row["load_average_before"] = round(load, 2)
        row["load_average_after"] = round(os.getloadavg()[0], 2)
        runs.append(row)
        print(json.dumps(row), flush=True)
    by = {}
    for r in runs:
        by.setdefault(r["mode"], []).append(r["seconds"])
    best = {m: min(v) for m, v in by.items()}
    local_digest = next((r["records_sha256"] for r in runs if r["mode"] == "local"), None)
    scaling = {
        "command": command, "machine": machine, "runs": runs,
        "waited_for_load_s": waited, "load_average_at_start": round(first_load, 2), "max_load": args.max_load,
        "records_equal_local": None if local_digest is None else all(r["records_sha256"] == local_digest for r in runs),
        "ratio_ray2_over_ray1": round(best["ray1"] / best["ray2"], 3) if {"ray1", "ray2"} <= set(best) else None,
        "ratio_ray1_over_local": round(best["ray1"] / best["local"], 3) if {"ray1", "local"} <= set(best) else None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    results[args.key] = scaling
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: scaling[k] for k in ("records_equal_local", "ratio_ray2_over_ray1", "ratio_ray1_over_local")}))


if __name__ == "__main__":
    main()
