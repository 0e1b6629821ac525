"""Which faithfulness metric agrees with the planted ground truth, across planted sets?

    python benchmarks/bench_metric_agreement.py NAME=RUN [NAME=RUN ...] --out benchmarks/results/metric_agreement.json

Each RUN is a ``pathologies shortcut-test`` folder audited with ``--metrics ...``. Per metric
and set: Spearman's rho, over the run's methods (``random`` included), between the methods'
mean metric value (negated where lower is better) and their precision@k on the planted
tokens (``pathologies.shortcut_analysis.metric_agreement``); then the mean over the sets
where the metric was audited and the methods' precision@k was not constant. Nothing is
fitted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    from pathologies.metrics import METRICS
    from pathologies.shortcut_analysis import load_table, metric_agreement

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="NAME=RUN_FOLDER")
    ap.add_argument("--subset", default="all", choices=["all", "follows"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sets: dict[str, dict] = {}
    for item in args.runs:
        name, _, path = item.partition("=")
        if not path:
            sys.exit(f"error: {item!r}: give NAME=RUN_FOLDER")
        table = load_table(path)
        if table is None:
            sys.exit(f"error: {path} holds no shortcut.json: run pathologies shortcut-test first")
        sets[name] = {"run": path, "learned": table["learned"],
                      "precision_at_k": {m: r[args.subset]["precision_at_k"] for m, r in table["shortcut"]["methods"].items()},
                      "metrics": metric_agreement(path, args.subset)}
    metrics = sorted({k for s in sets.values() for k in s["metrics"]}, key=lambda k: METRICS[k].order)
    summary = {}
    for k in metrics:
        rhos = {n: s["metrics"][k]["rho"] for n, s in sets.items() if k in s["metrics"] and s["learned"]}
        defined = [r for r in rhos.values() if r is not None]
        summary[k] = {"rho": rhos, "mean": sum(defined) / len(defined) if defined else None, "sets": len(defined)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"command": "python " + " ".join(sys.argv), "subset": args.subset, "sets": sets,
                                          "summary": summary}, indent=2))
    names = [n for n, s in sets.items() if s["learned"]]
    print("| metric | " + " | ".join(names) + " | mean rho |")
    print("|---|" + "---:|" * (len(names) + 1))
    for k in sorted(metrics, key=lambda k: -(summary[k]["mean"] if summary[k]["mean"] is not None else -9)):
        cells = [("–" if summary[k]["rho"].get(n) is None else f"{summary[k]['rho'][n]:.3f}") for n in names]
        mean = summary[k]["mean"]
        print(f"| {METRICS[k].label} (`{k}`) | " + " | ".join(cells) + f" | {'–' if mean is None else f'{mean:.3f}'} |")
    print("\nprecision@k per method and set:")
    for n in names:
        print(f"- {n}: " + ", ".join(f"{m} {v:.3f}" for m, v in sets[n]["precision_at_k"].items() if v is not None))


if __name__ == "__main__":
    main()
