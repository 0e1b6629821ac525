"""Is the trust card right? Fit its setting on one planted-shortcut run, report it on others.

    python benchmarks/bench_trust_study.py --fit textcnn-sst2-s13=/tmp/bench/sc-token-m \
        --held-out textcnn-sst2-s7=/tmp/study/tc-sst2-s7 bilstm-sst2=/tmp/bench/sc-bilstm ... \
        --out benchmarks/results/trust_study.json

Every run is a ``pathologies shortcut-test`` folder audited with
``--metrics comprehensiveness,sufficiency`` (the card's faithfulness signal). Prints one
markdown table: per set, the AUROC of the card's score for found vs missed heatmaps, the
precision of "trust", the share of found heatmaps called "trust", under the fitted setting
and under the card's former one (``PRIOR``). The fitted setting is what ``pathologies.trust``
uses; the figures on the fit set are marked as such (they are not evidence).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, _, path = item.partition("=")
        if not path:
            sys.exit(f"error: {item!r}: give NAME=RUN_FOLDER")
        out[name] = path
    return out


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def main() -> None:
    from pathologies import trust_study as ts
    from pathologies.text import InputError

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fit", nargs="+", required=True, help="NAME=RUN: the fit set (one).")
    ap.add_argument("--held-out", nargs="+", required=True, help="NAME=RUN: sets reported with the fitted setting.")
    ap.add_argument("--subset", default="follows", choices=["follows", "all"])
    ap.add_argument("--precision", type=float, default=0.95, help="Least precision of 'trust' on the fit set.")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    started = time.perf_counter()
    try:
        res = ts.study(_pairs(args.fit), _pairs(args.held_out), subset=args.subset, precision=args.precision)
    except InputError as err:
        sys.exit(f"error: {err}")
    res["command"] = "python " + " ".join(sys.argv)
    res["machine"] = f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}"
    res["seconds"] = round(time.perf_counter() - started, 1)
    res["card_setting_now"] = ts.setting()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))
    fit = res["fit"]
    print(f"fitted on {', '.join(res['fit_sets'])}: {json.dumps(fit['setting'])}")
    print(f"card setting now: {json.dumps(res['card_setting_now'])}\n")
    print("| set | learned (follows) | heatmaps (found) | AUROC | 'trust' precision | found called 'trust' | prior AUROC | prior precision | prior found 'trust' |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    f = fit["on_fit_set"]
    print(f"| {', '.join(res['fit_sets'])} (**fit set**) | yes | {f['heatmaps']} ({f['found']}) | {_f(f['auroc'])} | "
          f"{_f(f['trust_precision'])} | {_f(f['found_trusted'])} | | | |")
    for name, h in res["held_out"].items():
        a, p = h["fitted"]["all"], h["prior"]
        print(f"| {name} | {'yes' if h['learned'] else '**no**'} ({_f(h['follows'])}) | {a['heatmaps']} ({a['found']}) | "
              f"{_f(a['auroc'])} | {_f(a['trust_precision'])} | {_f(a['found_trusted'])} | {_f(p['auroc'])} | "
              f"{_f(p['trust_precision'])} | {_f(p['found_trusted'])} |")
    print("\nper method (fitted setting): AUROC / 'trust' precision / found called 'trust' (found of heatmaps)")
    for name, h in res["held_out"].items():
        cells = [f"{m} {_f(v['auroc'])}/{_f(v['trust_precision'])}/{_f(v['found_trusted'])} ({v['found']}/{v['heatmaps']})"
                 for m, v in h["fitted"]["methods"].items()]
        print(f"- {name}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
