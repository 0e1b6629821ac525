"""Attribution of question words for the predicted answer span.

**Target.** Perturbation methods (``loo``, ``loo-log-odds``, ``erasure-unk``,
``erasure-pad``) score a word by how the *probability of the predicted span*,
``p(span) = p_start(first word) · p_end(last word)``, changes without it (or with it
replaced): the same span is looked up in the variant's windows, and probabilities of one
span are comparable across inputs, as a class probability is for a classifier. Gradient
methods differentiate the span's *log-probability* ``log p_start + log p_end`` (in the
window that gives the span its value) rather than the raw start and end logits: a softmax
ignores a shift of all logits, so the gradient of the raw logits carries a component that
moves every position's score together and says nothing about this span against the others;
the log-probability is shift-invariant, and it is what the prediction (the argmax) and the
confidence depend on. ``integrated-gradients`` integrates the gradient of the span's
*probability* (as the classifiers' IG does) from a baseline with [PAD] at every question
piece, so a question's scores add up to p(span | question) − p(span | baseline) (midpoint
rule, ``n_steps`` batched passes). For the null answer the target is the null span's
``[CLS]`` start/end log-probability (probability for IG).

All variants of all questions are scored through one :class:`~pathologies.qa.engine.QAEngine`
call per method; gradients run in length-sorted batches.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from ..attribution import get_method
from ..attribution.base import AttributionMethod, PerturbationMethod
from ..attribution.captum_methods import IntegratedGradientsMethod
from ..attribution.gradient import InputGradient, word_scores
from ..data.squad import QAItem, SquadData
from ..engine import token_batches
from ..models.qa import QAModel, SpanScores
from ..text import Example, InputError
from .engine import QAEngine
from .records import QAAttribution

#: The attribution methods that apply to question answering.
QA_METHODS = ("gradient", "gradient-abs", "gradient-l2", "integrated-gradients", "loo", "loo-log-odds", "erasure-unk", "erasure-pad")
TARGET_PROB = "span probability"
TARGET_LOGP = "span log-probability"


def qa_method(method: str | AttributionMethod, **settings) -> AttributionMethod:
    """A method that can explain a QA model, by name (one of :data:`QA_METHODS`) or as given."""
    if not isinstance(method, str):
        if not isinstance(method, (InputGradient, IntegratedGradientsMethod, PerturbationMethod)):
            raise InputError(f"{type(method).__name__} cannot explain a QA model; use one of {', '.join(QA_METHODS)}")
        return method
    if method not in QA_METHODS:
        raise InputError(f"method {method!r} is not available for QA models; use one of {', '.join(QA_METHODS)}")
    return get_method(method, **settings)


def as_items(inputs: Any) -> list[QAItem]:
    """QA inputs in any accepted form: SQuAD data, items, QA examples, or lists of them."""
    if isinstance(inputs, SquadData):
        items = list(inputs.items)
    elif isinstance(inputs, (QAItem, Example)):
        items = [inputs]
    else:
        items = list(inputs)
    out = []
    for n, it in enumerate(items):
        if isinstance(it, Example):
            if it.uid is None:
                from dataclasses import replace

                it = replace(it, uid=f"#{n}")
            it = QAItem.from_example(it)
        elif not isinstance(it, QAItem):
            raise InputError(f"cannot explain a {type(it).__name__}: give SQuAD data, QAItems or QA Examples")
        out.append(it)
    if not out:
        raise InputError("no questions to explain")
    return out


def target_name(method: AttributionMethod) -> str:
    return TARGET_LOGP if isinstance(method, InputGradient) else TARGET_PROB  # IG: the probability, as for classifiers


def span_probability(scores: SpanScores, span: Sequence[int]) -> float:
    value = scores.span_logp(span)
    return 0.0 if value == float("-inf") else math.exp(value)


def word_importance(
    model: QAModel,
    examples: Sequence[Example],
    spans: Sequence[Sequence[int]],
    method: AttributionMethod,
    engine: QAEngine,
) -> tuple[list[list[float]], list[int]]:
    """Scores of every question word for the given span of each example, and model rows spent."""
    if not examples:
        return [], []
    if isinstance(method, InputGradient):
        full = engine.scores(examples)  # cached: which window gives each span its value
        windows = [sc.window_of(span) for sc, span in zip(full, spans)]
        out: list = [None] * len(examples)
        lengths = [model.n_tokens(ex) for ex in examples]
        for batch in token_batches(lengths, method.batch_tokens, method.max_batch):
            grads = model.span_gradients([examples[i] for i in batch], [spans[i] for i in batch], [windows[i] for i in batch])
            for i, g in zip(batch, grads):
                out[i] = word_scores(g, method.variant)
        return out, [1] * len(examples)
    if isinstance(method, IntegratedGradientsMethod):
        full = engine.scores(examples)
        windows = [sc.window_of(span) for sc, span in zip(full, spans)]
        out = [None] * len(examples)
        lengths = [model.n_tokens(ex) for ex in examples]
        for batch in token_batches(lengths, 4096, max(1, method.batch_size)):
            grads = model.span_integrated_gradients([examples[i] for i in batch], [spans[i] for i in batch],
                                                    [windows[i] for i in batch], n_steps=method.n_steps)
            for i, g in zip(batch, grads):
                out[i] = word_scores(g, "signed")
        return out, [method.n_steps] * len(examples)
    if isinstance(method, PerturbationMethod):
        variants, cuts = [], []
        for ex in examples:
            vs = method.variants(ex)
            cuts.append((len(variants), len(variants) + len(vs)))
            variants += vs
        scored = engine.scores(list(examples) + variants)
        full, rest = scored[: len(examples)], scored[len(examples) :]
        out = []
        for n, ((a, b), span) in enumerate(zip(cuts, spans)):
            p_full = span_probability(full[n], span)
            p_var = torch.tensor([span_probability(sc, span) for sc in rest[a:b]], dtype=torch.float64)
            out.append([float(x) for x in method.score(p_full, p_var)])
        return out, [1 + b - a for a, b in cuts]
    raise InputError(f"{type(method).__name__} cannot explain a QA model")


def explain_qa(
    model: QAModel,
    inputs: Any,
    method: str | AttributionMethod = "gradient",
    *,
    engine: QAEngine | None = None,
    **settings,
) -> list[QAAttribution]:
    """Attribute each question's predicted span to its question words.

    ``inputs``: SQuAD data (:func:`pathologies.data.squad.read_squad`), QAItems, or QA
    Examples (:func:`pathologies.models.qa.qa_example`). All questions share the engine's
    batches: one engine call for the predictions, one for every variant of every question.
    """
    items = as_items(inputs)
    method = qa_method(method, **settings)
    engine = engine or QAEngine(model)
    examples = [it.example() for it in items]
    predictions = engine.scores(examples)
    spans = [p.span for p in predictions]
    scores, rows = word_importance(model, examples, spans, method, engine)
    out = []
    for it, ex, pred, sc, r in zip(items, examples, predictions, scores, rows):
        out.append(
            QAAttribution(
                uid=it.uid,
                words=list(ex.words),
                scores=[float(x) for x in sc],
                method=method.name,
                span=list(pred.span),
                span_chars=list(it.char_span(pred.span)),
                answer=it.answer_text(pred.span),
                probability=math.exp(pred.logp),
                target=target_name(method),
                settings=method.settings(),
                context=it.context,
                gold=[t for t, _ in it.answers],
                is_impossible=it.is_impossible,
                rows=r,
            )
        )
    return out


def predict_qa(model: QAModel, inputs: Any, *, engine: QAEngine | None = None) -> list[dict]:
    """Each question's predicted span: uid, span (words), characters, answer text, probability."""
    items = as_items(inputs)
    engine = engine or QAEngine(model)
    preds = engine.scores([it.example() for it in items])
    return [
        {"uid": it.uid, "span": list(p.span), "span_chars": list(it.char_span(p.span)),
         "answer": it.answer_text(p.span), "probability": math.exp(p.logp)}
        for it, p in zip(items, preds)
    ]
