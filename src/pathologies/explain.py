"""``explain``: attributions for one example or a whole data set, batched across examples."""

from __future__ import annotations

from typing import Any, Iterable

from .data.labels import resolve_target
from .attribution import Attribution, AttributionMethod, get_method
from .engine import ScoringEngine
from .models import TorchClassifier
from .recommended import recommended_method
from .text import Example, as_examples


def explain(
    model: TorchClassifier,
    examples: Example | str | Iterable[Example | str] | Any,
    method: str | AttributionMethod | None = None,
    *,
    target: int | str | None = None,
    engine: ScoringEngine | None = None,
    **settings,
) -> list[Attribution]:
    """Attribute the model's prediction (or ``target``) to the words of each example.

    ``examples``: a text, an Example, a data set, or many texts / Examples. Target class =
    the predicted class unless ``target`` names one. ``method``: default, the one the
    planted-shortcut results recommend for the model's family (:mod:`pathologies.recommended`).
    Inputs longer than the model's limit are truncated first, with a warning. All examples
    share the engine's batches.
    """
    examples = [model.fit_to_limit(ex) for ex in as_examples(examples)]
    if method is None:
        method = recommended_method(getattr(model, "family", None))
    if isinstance(method, str):
        method = get_method(method, **settings)
    engine = engine or ScoringEngine(model)
    targets = None if target is None else [resolve_target(target, model.labels)] * len(examples)
    res = method.run(model, examples, targets, engine)
    return res.attributions(examples, method.name, method.settings(), model.labels)
