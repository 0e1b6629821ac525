"""Per-example metric records for an attribution method, and their data-set aggregate.

``evaluate_examples`` / ``metric_records`` need the model; ``aggregate`` needs only the
records, so a run's saved records are summarized offline.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..attribution import AttributionMethod, MethodResult, get_method
from ..engine import ScoringEngine
from ..models import TorchClassifier
from ..text import Example
from .base import METRICS, MetricContext, check_needs, defaults, expand_metrics
from .removal import ERASER_BINS


def evaluate_examples(
    model: TorchClassifier,
    examples: Sequence[Example],
    method: str | AttributionMethod = "gradient",
    *,
    metrics: Sequence[str] | None = None,
    share: float = 0.10,
    bins: Sequence[float] = ERASER_BINS,
    engine: ScoringEngine | None = None,
    mlm=None,
    index=None,
) -> list[dict[str, Any]]:
    """One record per example: prediction, confidence, gold label and each requested metric.

    ``auc_rep`` needs ``mlm`` (a masked LM); ``iot`` and ``neutral`` need word tags (SST);
    ``credibility`` and ``conformity`` need ``index`` (a DkNN index folder or a fitted DkNN);
    ``reduction`` stands for the three input-reduction figures (``pathologies.metrics.groups()``).
    """
    metrics = expand_metrics(defaults() if metrics is None else metrics)
    check_needs(metrics, mlm=mlm is not None, index=index is not None)
    if isinstance(method, str):
        method = get_method(method)
    engine = engine or ScoringEngine(model)
    examples = [model.fit_to_limit(ex) for ex in examples]
    result = method.run(model, examples, None, engine)
    dknn_out = None
    if any("index" in METRICS[m].needs for m in metrics):
        from ..dknn import DkNN  # lazy: faiss, only for the DkNN metrics

        dknn = index if isinstance(index, DkNN) else DkNN.load(index)
        dknn_out = dknn.predict(model, examples, engine)
    if isinstance(mlm, str) and any("mlm" in METRICS[m].needs for m in metrics):
        from ..models.mlm import load_mlm  # lazy: only for the metrics that need a masked LM

        mlm = load_mlm(mlm)
    return metric_records(model, examples, method, result, metrics, engine, share=share, bins=bins, mlm=mlm, dknn_out=dknn_out)


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
        for ex, t, p in zip(examples, result.targets, result.probs)
    ]
    ctx = MetricContext(
        model=model, examples=examples, method=method, result=result, engine=engine, records=records, share=share,
        bins=bins, mlm=mlm, dknn_out=dknn_out, given_reductions=reductions,
    )
    for name, info in METRICS.items():
        if info.per != "example" or name not in metrics or (info.reranks and not reranks):
            continue
        for r, value in zip(records, info.compute(ctx)):
            if value is not None:
                r[name] = value
    return records
