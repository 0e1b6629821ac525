"""Analyses of a finished planted-shortcut run (``pathologies.shortcuts``): which faithfulness
metric agrees with the ground truth. (How well the trust card tells a heatmap that found the
planted tokens from one that missed them: :mod:`pathologies.trust_study`.)

Pure reads of the run folders (``shortcut.json``, the runs' summaries and records): no model,
nothing fitted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from .shortcuts import FILE, Shortcut, precision_at_k
from .text import InputError

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




#: The tie-break of :func:`recommend`: signed methods before magnitudes (a heatmap without a
#: sign cannot say whether a word argues for the prediction or against it, and the views
#: colour by sign); then cheapest first (one backward pass; one forward pass per word; tens
#: of passes); within a cost, the log-odds scale before probabilities (it does not flatten
#: when the model is saturated).
COST_ORDER = ("gradient", "loo-log-odds", "loo", "erasure-unk", "erasure-pad", "integrated-gradients", "smoothgrad",
              "gradient-abs", "gradient-l2")

#: Methods whose mean precision@k is within this of the best count as tied.
TIE = 0.01


def recommend(tables: Sequence[dict[str, Any]], subset: str = "follows") -> dict[str, Any]:
    """The method to read for one model family, from its planted-shortcut tables
    (``shortcut.json`` contents): among the methods audited on every learned set, the
    highest mean precision@k (``subset``); methods within :data:`TIE` of it are tied and the
    first of them in :data:`COST_ORDER` wins. ``random`` never does. Sets where the shortcut
    was not learned are left out (they do not measure faithfulness)."""
    learned = [t for t in tables if t.get("learned")]
    if not learned:
        raise InputError("no planted set where the shortcut was learned: nothing to choose a method from")
    common = set.intersection(*(set(t["shortcut"]["methods"]) for t in learned)) - {"random"}
    mean = {m: sum(t["shortcut"]["methods"][m][subset]["precision_at_k"] for t in learned) / len(learned) for m in common}
    best = max(mean.values())
    tied = [m for m in mean if mean[m] >= best - TIE]
    rank = {m: i for i, m in enumerate(COST_ORDER)}
    choice = min(tied, key=lambda m: (rank.get(m, len(COST_ORDER)), m))
    return {"method": choice, "precision_at_k": mean, "tied": sorted(tied, key=lambda m: rank.get(m, len(COST_ORDER))),
            "sets": len(learned)}
