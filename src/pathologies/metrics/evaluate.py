"""Per-example metric records for an attribution method, and their data-set aggregate.

``evaluate_examples`` / ``metric_records`` need the model; ``aggregate`` needs only the
records, so a run's saved records are summarized offline.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..attribution import AttributionMethod, MethodResult, get_method
from ..engine import ScoringEngine
from ..models import TorchClassifier
from ..text import Example, InputError
from .aggregate import aggregate  # noqa: F401  (re-exported)
from .removal import ERASER_BINS, erasure_metrics, rank_variances, removals_until_flip

from .base import DKNN, EXTRA, KNOWN, PER_EXAMPLE, REDUCTION  # noqa: F401  (re-exported)


def evaluate_examples(
    model: TorchClassifier,
    examples: Sequence[Example],
    method: str | AttributionMethod = "gradient",
    *,
    metrics: Sequence[str] = PER_EXAMPLE,
    share: float = 0.10,
    bins: Sequence[float] = ERASER_BINS,
    engine: ScoringEngine | None = None,
    mlm=None,
    index=None,
) -> list[dict[str, Any]]:
    """One record per example: prediction, confidence, gold label and each requested metric.

    ``auc_rep`` needs ``mlm`` (a masked LM); ``iot`` and ``neutral`` need word tags (SST);
    ``credibility`` and ``conformity`` need ``index`` (a DkNN index folder or a fitted DkNN);
    ``reduction`` stands for the three input-reduction figures.
    """
    metrics = expand_metrics(metrics)
    check_needs(metrics, mlm=mlm is not None, index=index is not None)
    if isinstance(method, str):
        method = get_method(method)
    engine = engine or ScoringEngine(model)
    examples = [model.fit_to_limit(ex) for ex in examples]
    result = method.run(model, examples, None, engine)
    dknn_out = None
    if any(m in metrics for m in DKNN):
        from ..dknn import DkNN

        dknn = index if isinstance(index, DkNN) else DkNN.load(index)
        dknn_out = dknn.predict(model, examples, engine)
    if "auc_rep" in metrics and isinstance(mlm, str):
        from ..models.mlm import load_mlm

        mlm = load_mlm(mlm)
    return metric_records(model, examples, method, result, metrics, engine, share=share, bins=bins, mlm=mlm, dknn_out=dknn_out)


def check_needs(metrics: Sequence[str], *, mlm: bool, index: bool) -> None:
    """A clear error when a metric asks for a resource that was not given."""
    if "auc_rep" in metrics and not mlm:
        raise InputError("auc_rep needs a masked LM: --mlm DIR")
    if any(m in metrics for m in DKNN) and not index:
        raise InputError("credibility and conformity need a DkNN index: --index DIR (pathologies dknn fit)")


def metric_records(
    model: TorchClassifier,
    examples: Sequence[Example],
    method: AttributionMethod,
    result: MethodResult,
    metrics: Sequence[str],
    engine: ScoringEngine,
    *,
    share: float = 0.10,
    bins: Sequence[float] = ERASER_BINS,
    mlm=None,
    dknn_out=None,
    reductions: Sequence[Any] | None = None,
    reranks: bool = True,
) -> list[dict[str, Any]]:
    """Per-example metric values of ``method`` given what it computed (``result``).

    ``dknn_out``: the DkNN prediction of ``examples`` (for credibility and conformity);
    ``reductions``: greedy reductions ranked by this method, when already computed;
    ``reranks`` False: the method cannot score a changed input (imported attributions), so
    I-Var and U-Var are left out.
    """
    scores, probs, targets = result.scores, result.probs, result.targets
    records = [
        {
            "uid": ex.uid,
            "method": method.name,
            "predicted": int(p.argmax()),
            "target": t,
            "confidence": float(p[int(p.argmax())]),
            "label": ex.label,
            "words": len(ex.words),
        }
        for ex, t, p in zip(examples, targets, probs)
    ]
    if any(m in metrics for m in PER_EXAMPLE[:4]):
        for r, m in zip(records, erasure_metrics(examples, scores, targets, engine, share=share, bins=bins)):
            r.update({k: v for k, v in m.items() if k in metrics})
    for name, most in (("ir", True), ("ur", False)):
        if name in metrics:
            counts = removals_until_flip(model, examples, targets, method, engine, most_important=most)
            for r, c in zip(records, counts):
                r[name] = c
    if "auc_rep" in metrics:
        from .replacement import auc_rep

        for r, v in zip(records, auc_rep(examples, scores, targets, mlm, engine)):
            r["auc_rep"] = v
    if "iot" in metrics or "neutral" in metrics:
        from .plausibility import iot, neutral_score

        for r, ex, sc in zip(records, examples, scores):
            if ex.tags is None:
                continue
            if "neutral" in metrics:
                r["neutral"] = neutral_score(sc, ex.tags)
            correct_positive = ex.label == r["predicted"] == len(model.labels) - 1 and len(model.labels) == 2
            if "iot" in metrics and correct_positive:
                r["iot"] = iot(sc, ex.tags)
    if reranks and ("i_var" in metrics or "u_var" in metrics):
        for r, m in zip(records, rank_variances(model, examples, scores, targets, method, engine)):
            r.update({k: v for k, v in m.items() if k in metrics})
    if any(m in metrics for m in REDUCTION):
        if reductions is None:
            from ..reduction import InputReducer

            reductions = InputReducer(model, importance=method, engine=engine).reduce(examples)
        for r, red in zip(records, reductions):
            values = {
                "reduced_length": len(red.final),
                "reduced_confidence": red.final_confidence,
                "random_confidence": red.random_baseline["confidence"],
            }
            r.update({k: v for k, v in values.items() if k in metrics})
    if dknn_out is not None:
        credibility = dknn_out.credibility if dknn_out.p_values is not None else [None] * len(examples)
        for r, cred, conf in zip(records, credibility, dknn_out.conformity):
            if "credibility" in metrics and cred is not None:
                r["credibility"] = float(cred)
            if "conformity" in metrics:
                r["conformity"] = float(conf)
    return records


def expand_metrics(metrics: Sequence[str]) -> list[str]:
    """Check the names; ``reduction`` stands for the input-reduction figures, ``dknn`` for the DkNN ones."""
    out: list[str] = []
    for m in metrics:
        out += list(REDUCTION) if m == "reduction" else list(DKNN) if m == "dknn" else [m]
    unknown = [m for m in out if m not in KNOWN]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(KNOWN)}, reduction, dknn")
    return out


