"""Analyses of a finished planted-shortcut run (``pathologies.shortcuts``): which faithfulness
metric agrees with the ground truth. (How well the trust card tells a heatmap that found the
planted tokens from one that missed them: :mod:`pathologies.trust_study`.)

Pure reads of the run folders (``shortcut.json``, the runs' summaries and records): no model,
nothing fitted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


#: The methods a card compares the judged heatmap with (``pathologies check``'s default).
CARD_METHODS = ("gradient", "loo", "integrated-gradients")
