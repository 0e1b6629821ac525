"""Issue 6's figures: the metric table (methods × metrics) of one model on a data set.

    python -u benchmarks/metric_table.py --model models/textcnn-sst2 --data sst2:dev --limit 500 \
        --methods "gradient;loo;marginalization:sigma=1e-3" --mlm models/mlm \
        --out benchmarks/results/metrics_textcnn_sst2.json

A method is a name with optional settings (``name:key=value,key=value``). ``--metrics-for
NAME=m1,m2`` gives one method its own metric list (marginalization re-ranked after every
removal for IR#/UR# is out of reach on a CPU for a transformer). Per-example records go to
``--runs/<method>.jsonl``: a rerun resumes. The JSON records the settings, seconds per method
and the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from pathologies.attribution import get_method
from pathologies.data import load_dataset, parse_spec
from pathologies.audit import AuditSpec, audit
from pathologies.models import load_classifier
from pathologies.models.mlm import load_mlm

DEFAULT_METRICS = "comprehensiveness,sufficiency,aopc_comprehensiveness,aopc_sufficiency,ir,ur,i_var,u_var,reduction,iot,neutral,auc_rep"


def parse_method(spec: str, mlm):
    name, _, rest = spec.partition(":")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        settings[key] = float(value) if any(c in value for c in ".e") else int(value) if value.isdigit() else value
    if name.startswith("marginalization"):
        settings["mlm"] = mlm
    return name, get_method(name, **settings), {k: v for k, v in settings.items() if k != "mlm"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="sst2:dev")
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--methods", default="gradient;loo")
    ap.add_argument("--metrics", default=DEFAULT_METRICS)
    ap.add_argument("--metrics-for", action="append", default=[], help="NAME=m1,m2: this method's own metrics")
    ap.add_argument("--mlm", default=None)
    ap.add_argument("--runs", default=None, help="folder for per-example records (default runs/metrics-<model>)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    model = load_classifier(args.model)
    name, split, _ = parse_spec(args.data)
    examples = load_dataset(name, split, limit=args.limit).examples
    mlm = load_mlm(args.mlm) if args.mlm else None
    runs = Path(args.runs or f"runs/metrics-{Path(args.model).name}")
    own = dict(item.split("=", 1) for item in args.metrics_for)
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.is_file() else {}
    result.update(
        machine=f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        model=args.model, data=args.data, mlm=args.mlm,
    )
    table, settings, seconds = result.setdefault("table", {}), result.setdefault("settings", {}), result.setdefault("seconds", {})
    for spec in filter(None, args.methods.split(";")):
        name, method, method_settings = parse_method(spec, mlm)
        metrics = [m for m in own.get(name, args.metrics).split(",") if m]
        if mlm is None:
            metrics = [m for m in metrics if m != "auc_rep"]
        start = time.perf_counter()
        print(f"== {spec}: {', '.join(metrics)}", flush=True)
        spec = AuditSpec(methods=[name], metrics=metrics, reduce=None, curves=False, show=0,
                         method_settings={name: method_settings} if method_settings else {})
        run = audit(model, examples, runs / name, spec=spec, model_source=args.model, data_spec=args.data,
                    mlm=args.mlm, show_progress=False)  # a run folder per method (resumable)
        table[name] = run.table[name]
        settings[name] = {"settings": method_settings, "metrics": metrics, "examples": len(examples)}
        seconds[name] = round(time.perf_counter() - start, 1)
        print(json.dumps(table[name]), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
