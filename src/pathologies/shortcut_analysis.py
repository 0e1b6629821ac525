"""Analyses of a finished planted-shortcut run (``pathologies.shortcuts``): which faithfulness
metric agrees with the ground truth, and how well the trust card tells a heatmap that found
the planted tokens from one that missed them.

Pure reads of the run folders (``shortcut.json``, the runs' summaries and records): no model,
nothing fitted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from .shortcuts import FILE, Shortcut, precision_at_k

def load_table(run_path: str | Path) -> dict[str, Any] | None:
    """The shortcut table stored in a run folder, or None."""
    p = Path(run_path) / FILE
    return json.loads(p.read_text()) if p.is_file() else None


def metric_agreement(run_path: str | Path, subset: str = "all") -> dict[str, dict[str, Any]]:
    """Which faithfulness metric agrees with the ground truth: per metric audited in the
    shortcut run (``--metrics``), Spearman's rho between the methods' mean metric values
    (negated where lower is better) and their precision@k on the planted tokens (``subset``:
    ``all`` or ``follows``), over the methods of the run, ``random`` included. Reads the run's
    stored summary and ``shortcut.json``; computes nothing with a model."""
    from .audit import Run
    from .metrics import METRICS
    from .ranks import spearman

    table = load_table(run_path)
    if table is None:
        raise InputError(f"{run_path} holds no {FILE}: run pathologies shortcut-test first")
    run = Run.load(run_path)
    truth = {m: row[subset]["precision_at_k"] for m, row in table["shortcut"]["methods"].items()}
    metrics = sorted({k for row in run.table.values() for k in row if k in METRICS and METRICS[k].per == "example"},
                     key=lambda k: METRICS[k].order)  # per-data-set ones (accuracy, ECE) do not depend on the method
    out: dict[str, dict[str, Any]] = {}
    for k in metrics:
        methods = [m for m in truth if truth[m] is not None and run.table.get(m, {}).get(k) is not None]
        sign = -1.0 if METRICS[k].lower_is_better else 1.0
        values = [sign * run.table[m][k] for m in methods]
        out[k] = {"rho": spearman(values, [truth[m] for m in methods]), "methods": len(methods),
                  "values": {m: run.table[m][k] for m in methods}}
    return out


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(a positive scores above a negative), ties counting half (Mann–Whitney); None if a side is empty."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


#: The methods a card compares the judged heatmap with (``pathologies check``'s default).
CARD_METHODS = ("gradient", "loo", "integrated-gradients")


def trust_agreement(run_path: str | Path, subset: str = "follows", methods: Sequence[str] | None = None) -> dict[str, Any]:
    """Does the trust card tell a heatmap that found the planted tokens from one that missed
    them? For every sentence (``follows``: those whose prediction follows the shortcut; or
    ``all``) and every method of the run, the card judging that method's heatmap
    (``trust.trust_card`` with it as primary, compared with gradient, LOO and integrated
    gradients where the run has them, its comprehensiveness and sufficiency from the run's
    metric records; no reduction, no DkNN) against whether the heatmap found the tokens
    (precision@k = 1). Returns the AUROC of the card's score, and per verdict how many found
    and missed heatmaps it got, overall and per method (``methods``: only these; default all,
    ``random`` included). Uses the card's fixed thresholds: nothing is fitted."""
    from .audit import Run
    from .records import Attribution
    from .trust import trust_card

    table = load_table(run_path)
    if table is None:
        raise InputError(f"{run_path} holds no {FILE}: run pathologies shortcut-test first")
    d = table["definition"]
    sc = Shortcut(d["kind"], tuple(d["tokens"]), len(table["labels"]))
    run = Run.load(run_path)
    by_index: dict[int, dict[str, dict]] = {}
    for r in run.records["attributions"]:
        by_index.setdefault(r["index"], {})[r["method"]] = r
    faith: dict[tuple[int, str], dict[str, float]] = {}
    for r in run.records["metrics"]:
        if r.get("comprehensiveness") is not None and r.get("sufficiency") is not None:
            faith[(r["index"], r["method"])] = {"comprehensiveness": r["comprehensiveness"], "sufficiency": r["sufficiency"]}
    rows = []
    for idx, recs in sorted(by_index.items()):
        for m, rec in recs.items():
            if methods is not None and m not in methods:
                continue
            pos = sc.positions(rec["words"])
            if not pos:
                continue
            probs = rec["probs"]
            decided = sc.decides(rec["words"])
            if subset == "follows" and not (decided is not None and max(range(len(probs)), key=probs.__getitem__) == decided):
                continue
            names = [m] + [c for c in CARD_METHODS if c in recs and c != m]
            atts = {n: Attribution.from_dict(recs[n]) for n in names}
            fa = {n: faith[(idx, n)] for n in names if (idx, n) in faith} or None
            card = trust_card(atts, fa, None, None, primary=m)
            rows.append({"method": m, "found": precision_at_k(rec["scores"], pos) == 1.0, "score": card.score,
                         "verdict": card.verdict})

    def summary(sel):
        found = [r["score"] for r in sel if r["found"]]
        missed = [r["score"] for r in sel if not r["found"]]
        verdicts = {}
        for r in sel:
            v = verdicts.setdefault(r["verdict"], {"found": 0, "missed": 0})
            v["found" if r["found"] else "missed"] += 1
        return {"heatmaps": len(sel), "found": len(found), "auroc": auroc(found, missed), "verdicts": verdicts}

    methods = sorted({r["method"] for r in rows})
    return {"subset": subset, "all": summary(rows), "methods": {m: summary([r for r in rows if r["method"] == m]) for m in methods}}
