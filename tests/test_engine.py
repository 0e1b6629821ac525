"""The scoring engine: same answers as the bare model, deduplication, cache, OOM, padding."""

from __future__ import annotations

import torch

from pathologies import Example
from pathologies.engine import ScoringEngine
from tiny_models import bow_p, make_bow

SENTENCES = [
    "the movie was great fun",
    "bad",
    "the movie was not great but not boring either , just the movie",
    "great",
    "boring boring boring",
]


def examples():
    return [Example.from_text(s) for s in SENTENCES]


def test_engine_returns_what_the_model_returns_in_order():
    model = make_bow()
    engine = ScoringEngine(model, batch_tokens=16)
    exs = examples()
    probs = engine.probabilities(exs)
    for ex, row in zip(exs, probs):
        assert abs(float(row[1]) - bow_p(ex.words)) < 1e-6
    assert engine.stats.batches > 1  # the small token budget forced several batches


def test_duplicates_are_computed_once_and_the_cache_is_reused():
    model = make_bow()
    engine = ScoringEngine(model)
    exs = examples()
    engine.probabilities(exs + exs + exs[:2])
    assert engine.stats.computed == len(exs)
    engine.probabilities(exs)
    assert engine.stats.computed == len(exs)
    assert engine.stats.cache_hits == len(exs)


def test_cache_never_serves_a_stale_score_after_the_weights_change():
    model = make_bow()
    engine = ScoringEngine(model)
    ex = [Example.from_text("great fun")]
    before = float(engine.probabilities(ex)[0, 1])
    with torch.no_grad():
        model.module.bias.add_(3.0)  # no mark_changed(): the engine must notice anyway
    after = float(engine.probabilities(ex)[0, 1])
    assert after > before + 0.01
    assert engine.stats.computed == 2


def test_cache_is_bounded():
    engine = ScoringEngine(make_bow(), cache_size=3)
    engine.probabilities(examples())
    assert len(engine.cache) == 3


def test_out_of_memory_halves_the_batch_and_retries():
    model = make_bow()
    real = model.predict_proba

    def flaky(batch):
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(batch)

    model.predict_proba = flaky
    engine = ScoringEngine(model)
    exs = examples()
    probs = engine.probabilities(exs)
    assert engine.stats.oom_retries >= 1
    assert engine.max_batch <= 2
    for ex, row in zip(exs, probs):
        assert abs(float(row[1]) - bow_p(ex.words)) < 1e-6


def test_length_sorting_keeps_padding_small():
    model = make_bow()
    engine = ScoringEngine(model, batch_tokens=64)
    exs = [Example(tuple(["great"] * n)) for n in range(1, 60)] * 1
    exs = exs[::2] + exs[1::2]  # shuffled lengths
    engine.probabilities(exs)
    assert engine.stats.padding_waste < 0.05


def test_empty_request():
    assert ScoringEngine(make_bow()).probabilities([]).shape == (0, 2)
