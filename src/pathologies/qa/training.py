"""Fine-tuning a QA model, with entropy regularization on reduced questions (Feng et al.
2018, §5, eq. 2): maximize the likelihood of the gold spans of the training questions and the
entropy of the start and end distributions on reduced questions,

    loss = CE(start) / 2 + CE(end) / 2  -  λ · (H(p_start | x̃) + H(p_end | x̃)) / 2

with x̃ a batch of reduced questions (each with its context), alternating with every regular
batch, as :class:`pathologies.training.objectives.EntropyRegularizer` does for classifiers.
A reduced question keeps the model's span by construction; the regularizer teaches the model
to be uncertain on it. Entropies are over the window holding the span (context pieces and
[CLS], as the span log-probabilities).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import torch

from ..data.squad import QAItem, exact_match, f1_score
from ..models.qa import NULL_SPAN, QAModel
from ..text import Example, InputError
from .engine import QAEngine
from .explain import as_items
from .reduction import QAReducer


@dataclass
class QATrainConfig:
    epochs: int = 2
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    seed: int = 13
    lam: float = 0.0  # weight of the entropy term (0: plain fine-tuning)


def gold_span(item: QAItem) -> tuple[int, int]:
    """The word span of the first gold answer; the null span for an impossible question."""
    spans = item.gold_spans()
    return spans[0] if spans else NULL_SPAN


def span_loss(model: QAModel, examples: Sequence[Example], spans: Sequence[Sequence[int]]) -> torch.Tensor:
    """Mean cross-entropy of the start and end positions of ``spans`` (HF's QA loss)."""
    ls, le, s, e = model.train_logprobs(examples, spans)
    rows = torch.arange(len(examples), device=ls.device)
    return -(ls[rows, s] + le[rows, e]).mean() / 2


def span_entropy(model: QAModel, examples: Sequence[Example], spans: Sequence[Sequence[int]] | None = None) -> torch.Tensor:
    """Mean entropy (nats) of the start and end distributions, (H_start + H_end) / 2."""
    ls, le, _, _ = model.train_logprobs(examples, spans)

    def h(lp):  # masked positions (-inf) take no part, and pass no NaN gradient back
        finite = torch.isfinite(lp)
        safe = torch.where(finite, lp, torch.zeros_like(lp))
        return -(torch.where(finite, safe.exp(), torch.zeros_like(lp)) * safe).sum(-1)

    return (h(ls) + h(le)).mean() / 2


def reduced_questions_for_training(model: QAModel, items: Any, **reducer) -> list[tuple[Example, tuple[int, int]]]:
    """Reduce the questions (:class:`~pathologies.qa.reduction.QAReducer` settings) and
    return each reduced question with its context and the span it keeps."""
    reds = QAReducer(model, **reducer).reduce(items)
    out = []
    for it, r in zip(as_items(items), reds):
        out.append((Example(tuple(r.final), fixed=it.context_words, fixed_first=False, uid=it.uid), tuple(r.span)))
    return out


def evaluate_qa(model: QAModel, items: Any) -> dict[str, float]:
    """SQuAD exact match and F1 of the model's predictions."""
    items = as_items(items)
    preds = QAEngine(model).scores([it.example() for it in items])
    answers = [it.answer_text(p.span) for it, p in zip(items, preds)]
    golds = [[t for t, _ in it.answers] for it in items]
    n = len(items)
    return {
        "exact_match": sum(exact_match(a, g) for a, g in zip(answers, golds)) / n,
        "f1": sum(f1_score(a, g) for a, g in zip(answers, golds)) / n,
    }


def finetune_qa(
    model: QAModel,
    train: Any,
    *,
    config: QATrainConfig | None = None,
    reduced: Sequence[tuple[Example, Sequence[int]]] | None = None,
    dev: Any = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Fine-tune on the gold spans of ``train`` (SQuAD data or QAItems), with the entropy term
    on ``reduced`` when ``config.lam`` > 0. Returns one row per epoch (loss, entropy term, and
    dev exact match / F1 when ``dev`` is given)."""
    config = config or QATrainConfig()
    items = as_items(train)
    if config.lam and not reduced:
        raise InputError("entropy regularization needs reduced questions (reduced_questions_for_training)")
    examples = [it.example() for it in items]
    spans = [gold_span(it) for it in items]
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    queue: list[int] = []
    history = []
    for epoch in range(1, config.epochs + 1):
        model.module.train()
        order = list(range(len(items)))
        rng.shuffle(order)
        total, total_h, n_batches = 0.0, 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = span_loss(model, [examples[i] for i in batch], [spans[i] for i in batch])
            if config.lam and reduced:
                if len(queue) < config.batch_size:
                    more = list(range(len(reduced)))
                    rng.shuffle(more)
                    queue += more
                pick, queue = queue[: config.batch_size], queue[config.batch_size :]
                h = span_entropy(model, [reduced[i][0] for i in pick], [reduced[i][1] for i in pick])
                loss = loss - config.lam * h
                total_h += float(h.detach())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.module.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach())
            n_batches += 1
        model.module.eval()
        model.mark_changed()
        row: dict[str, Any] = {"epoch": epoch, "loss": total / max(1, n_batches)}
        if config.lam:
            row["reduced_entropy"] = total_h / max(1, n_batches)
        if dev is not None:
            row.update(evaluate_qa(model, dev))
        log(", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        history.append(row)
    return history


def entropy_finetune(
    model: QAModel,
    train: Any,
    *,
    lam: float = 1e-2,
    reduce_items: Any = None,
    config: QATrainConfig | None = None,
    dev: Any = None,
    log: Callable[[str], None] = print,
    **reducer,
) -> dict[str, Any]:
    """Feng et al.'s remedy end to end: reduce the questions of ``reduce_items`` (default:
    ``train``) with the model as it is, then fine-tune with the entropy term on them.

    Returns the settings, the per-epoch history, and the mean entropy of the model on the
    reduced questions before and after (it should rise)."""
    config = config or QATrainConfig()
    config = QATrainConfig(**{**asdict(config), "lam": lam})
    reduced = reduced_questions_for_training(model, reduce_items if reduce_items is not None else train, **reducer)
    with torch.no_grad():
        before = float(span_entropy(model, [e for e, _ in reduced], [s for _, s in reduced]))
    history = finetune_qa(model, train, config=config, reduced=reduced, dev=dev, log=log)
    with torch.no_grad():
        after = float(span_entropy(model, [e for e, _ in reduced], [s for _, s in reduced]))
    return {
        "config": asdict(config),
        "reduced_questions": len(reduced),
        "mean_reduced_length": sum(len(e.words) for e, _ in reduced) / max(1, len(reduced)),
        "reduced_entropy_before": before,
        "reduced_entropy_after": after,
        "history": history,
    }
