"""Long inputs: no batch of the scoring engine or the gradient method goes beyond its token
budget, whatever the length of one input (an input longer than the budget alone goes in a
batch of its own)."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from pathologies import Example
from pathologies.attribution.gradient import InputGradient
from pathologies.engine import ScoringEngine, token_batches
from pathologies.models import load_classifier
from tiny_models import WORDS, make_bert_dir


@settings(max_examples=300, deadline=None)
@given(
    lengths=st.lists(st.one_of(st.integers(1, 40), st.integers(1, 20_000)), max_size=200),
    budget=st.integers(1, 8192),
    max_batch=st.integers(1, 300),
)
def test_token_batches_stay_under_the_budget(lengths, budget, max_batch):
    batches = token_batches(lengths, budget, max_batch)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # each input once
    for b in batches:
        assert 1 <= len(b) <= max_batch
        padded = max(lengths[i] for i in b) * len(b)
        assert padded <= budget or len(b) == 1  # only a lone input may exceed the budget


def _watch(model, calls):
    """Record the padded token count of every batch the model is asked for."""
    proba, grads = model.predict_proba, model.embedding_gradients

    def predict_proba(batch):
        calls.append([model.n_tokens(ex) for ex in batch])
        return proba(batch)

    def embedding_gradients(batch, targets=None):
        calls.append([model.n_tokens(ex) for ex in batch])
        return grads(batch, targets)

    model.predict_proba, model.embedding_gradients = predict_proba, embedding_gradients


def test_engine_and_gradient_batches_with_one_input_longer_than_the_budget(tmp_path):
    model = load_classifier(str(make_bert_dir(tmp_path / "bert", max_position_embeddings=512)))
    rng = random.Random(3)
    words = [w for w in WORDS if not w.startswith("#")]
    short = [Example.from_text(" ".join(rng.choice(words) for _ in range(rng.randint(2, 12)))) for _ in range(40)]
    long = Example.from_text(" ".join(rng.choice(words) for _ in range(300)))
    inputs = short[:20] + [long] + short[20:]
    budget = 96
    assert model.n_tokens(long) > budget
    calls: list[list[int]] = []
    _watch(model, calls)
    engine = ScoringEngine(model, batch_tokens=budget, max_batch=256)
    probs = engine.probabilities(inputs)
    assert probs.shape == (len(inputs), 2)
    InputGradient(batch_tokens=budget).run(model, inputs, None, ScoringEngine(model))
    assert len(calls) > 2
    for lengths in calls:
        assert max(lengths) * len(lengths) <= budget or len(lengths) == 1, lengths
    assert [model.n_tokens(long)] in calls  # the long input went alone, in both passes
    assert sum(c == [model.n_tokens(long)] for c in calls) == 2
