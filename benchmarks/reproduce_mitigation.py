"""Reproduction: entropy regularization (Feng et al. 2018) and PCT against plain training.

    python -u benchmarks/reproduce_mitigation.py --families textcnn,bilstm --data sst2 \
        --seeds 13 --reduce-limit 2000 --out benchmarks/results/mitigation.json

For each family, data set and seed: the plain model (``models/<family>-<data>`` for seed 13 when
it exists, else trained here with cross-entropy), then fine-tuned from it for the same number
of epochs with each objective: ``ce`` (more plain training: the control), ``entropy`` (reduced
examples by input reduction of a seeded sample of the training set), ``random-entropy`` (the
same lengths, words removed at random) and ``pct``. Every model is evaluated on the dev split:
accuracy, F(X), Comp, Suff, IR#, UR#, I-Var, U-Var with the gradient, greedy reduced length
(gradient) and confidence, and beam-5 reduced length on the first ``--beam-eval`` examples.
Models go to ``--models-dir``; a rerun skips what is already trained or evaluated.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from pathologies.data import DATASETS, load_dataset
from pathologies.audit import AuditSpec, audit
from pathologies.metrics import PER_EXAMPLE
from pathologies.models import load_classifier
from pathologies.reduction import reduce_inputs, summarize
from pathologies.training import TrainConfig, train_model

SCRATCH = {"textcnn": dict(epochs=5, batch_size=50), "bilstm": dict(epochs=5, batch_size=50), "minilm": dict(epochs=2, batch_size=32)}


def trained(base: str, data: str, out: Path, config: TrainConfig, objective: str = "ce", device: str = "cpu", **settings) -> Path:
    if not (out / "train_metrics.json").is_file():
        print(f"== train {base} -> {out} ({objective})", flush=True)
        train_model(base, data, out_dir=out, config=config, objective=objective, device=device, show_progress=False, **settings)
    return out


def machine(device: str) -> str:
    where = torch.cuda.get_device_name() if device == "cuda" else f"{platform.machine()}, {torch.get_num_threads()} torch threads"
    return f"{where}, torch {torch.__version__}"


def evaluate(path: Path, dev, beam_eval: int, device: str = "cpu") -> dict:
    model = load_classifier(str(path), device=device)
    start = time.perf_counter()
    spec = AuditSpec(methods=["gradient"], metrics=list(PER_EXAMPLE) + ["reduction"], reduce=None, curves=False, show=0)
    row = dict(audit(model, dev, None, spec=spec, show_progress=False).table["gradient"])
    if beam_eval:
        beam = summarize(reduce_inputs(model, dev[:beam_eval], beam=5, k=5))
        row["beam5_reduced_length"] = beam["mean_reduced_length"]
        row["beam5_reduced_confidence"] = beam["mean_confidence_reduced"]
        row["beam5_share_reduced_to_2_or_less"] = beam["share_reduced_to_2_or_less"]
    row["dev_accuracy_when_trained"] = json.loads((path / "train_metrics.json").read_text())["eval_accuracy"]
    row["eval_seconds"] = round(time.perf_counter() - start, 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", default="textcnn,bilstm")
    ap.add_argument("--data", default="sst2")
    ap.add_argument("--seeds", default="13")
    ap.add_argument("--objectives", default="ce;entropy;random-entropy;pct", help="';'-separated, e.g. 'entropy:lam=1;pct:alpha=1'")
    ap.add_argument("--from-scratch", action="store_true", help="train each objective from scratch instead of fine-tuning")
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--reduce-limit", type=int, default=2000, help="training examples reduced for the entropy objectives")
    ap.add_argument("--reduce-beam", type=int, default=5)
    ap.add_argument("--train-limit", type=int, default=None, help="train on the first N examples (smoke tests)")
    ap.add_argument("--eval-limit", type=int, default=None, help="dev examples evaluated (default: all)")
    ap.add_argument("--beam-eval", type=int, default=100, help="dev examples reduced with beam 5")
    ap.add_argument("--models-dir", default="runs/mitigation")
    ap.add_argument("--out", default="benchmarks/results/mitigation.json")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    args = ap.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"

    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results["machine"] = machine_name = machine(args.device)
    results["settings"] = vars(args)
    rows = results.setdefault("rows", {})
    root = Path(args.models_dir)
    for data in args.data.split(","):
        info = DATASETS[data]
        for family in args.families.split(","):
            for seed in map(int, args.seeds.split(",")):
                dev = load_dataset(data, info.eval_split, seed=seed, limit=args.eval_limit).examples
                shipped = Path(f"models/{family}-{data}")
                if seed == 13 and (shipped / "train_metrics.json").is_file():
                    base = shipped
                else:
                    base = trained(family, data, root / f"{family}-{data}-s{seed}-base", TrainConfig(seed=seed, limit=args.train_limit, **SCRATCH[family]), device=args.device)
                runs = {"base": base}
                batch = SCRATCH[family]["batch_size"]
                for spec in args.objectives.split(";"):
                    # "entropy" or, with settings, "entropy:lam=1" (the run is named after the spec)
                    objective, _, extra = spec.partition(":")
                    settings = {k: float(v) for k, v in (kv.split("=") for kv in filter(None, extra.split(",")))}
                    if objective in ("entropy", "random-entropy"):
                        settings |= dict(beam=args.reduce_beam, reduce_limit=args.reduce_limit,
                                        reductions=root / f"{family}-{data}-s{seed}-reductions.jsonl")
                    config = TrainConfig(seed=seed, epochs=args.finetune_epochs, batch_size=batch, limit=args.train_limit)
                    start_from = str(base)
                    if args.from_scratch:  # the objective from the first epoch, as long as the plain model
                        config = TrainConfig(seed=seed, limit=args.train_limit, **SCRATCH[family])
                        start_from, spec = family, f"{spec}:scratch" if ":" not in spec else f"{spec},scratch"
                    start = time.perf_counter()
                    name = spec.replace(":", "-").replace("=", "").replace(",", "-")
                    path = trained(start_from, data, root / f"{family}-{data}-s{seed}-{name}", config, objective, args.device, **settings)
                    runs[spec] = path
                    print(f"   {spec}: {time.perf_counter() - start:.0f} s", flush=True)
                for name, path in runs.items():
                    key = f"{family}/{data}/seed{seed}/{name}"
                    if key in rows:
                        continue
                    print(f"== evaluate {key}", flush=True)
                    rows[key] = {"model": str(path), **evaluate(path, dev, args.beam_eval, args.device),
                                 "machine": machine_name, "eval_limit": args.eval_limit,
                                 "reduce_limit": args.reduce_limit, "beam_eval": args.beam_eval}
                    print(json.dumps(rows[key]), flush=True)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
