"""``explain``: attributions for one example or a whole data set."""

from __future__ import annotations

from typing import Iterable, Sequence

from .attribution import Attribution, AttributionMethod, get_method
from .models import TorchClassifier
from .text import Example, InputError


def explain(
    model: TorchClassifier,
    examples: Example | str | Iterable[Example],
    method: str | AttributionMethod = "gradient",
    *,
    target: int | str | None = None,
    batch_size: int = 64,
    **settings,
) -> list[Attribution]:
    """Attribute the model's prediction (or ``target``) to the words of each example.

    Inputs longer than the model's limit are truncated first, with a warning.
    """
    if isinstance(examples, str):
        examples = [Example.from_text(examples)]
    elif isinstance(examples, Example):
        examples = [examples]
    examples = [model.fit_to_limit(ex) for ex in examples]
    if not examples:
        raise InputError("no examples to explain")
    for ex in examples:
        if not ex.words:
            raise InputError(f"example {ex.uid or ''} has no words to explain".replace("  ", " "))
    if isinstance(method, str):
        method = get_method(method, **settings)
    probs = predict_in_batches(model, examples, batch_size)
    if target is None:
        targets = probs.argmax(1).tolist()
    else:
        targets = [model.label_index(target)] * len(examples)
    scores = method.scores(model, examples, targets)
    return [
        Attribution(
            words=list(ex.words),
            scores=[float(s) for s in sc],
            target=t,
            probs=p.tolist(),
            method=method.name,
            settings=method.settings(),
            fixed=list(ex.fixed) if ex.fixed is not None else None,
            fixed_first=ex.fixed_first,
            label=ex.label,
            uid=ex.uid,
            labels=list(model.labels),
        )
        for ex, sc, t, p in zip(examples, scores, targets, probs)
    ]


def predict_in_batches(model: TorchClassifier, examples: Sequence[Example], batch_size: int):
    import torch

    parts = [model.predict_proba(examples[i : i + batch_size]) for i in range(0, len(examples), batch_size)]
    return torch.cat(parts) if parts else torch.empty(0, model.n_labels)
