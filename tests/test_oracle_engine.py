"""The scoring engine against the bare model: cache invalidation, LRU order, batching budgets."""

from __future__ import annotations

import itertools

import pytest
import torch

from pathologies import Example
from pathologies.engine import EngineStats, ScoreCache, ScoringEngine, token_batches
from tiny_models import bow_p, make_bow

EXS = [Example.from_text(s) for s in ["great fun", "bad", "the movie was not boring", "great", "fun fun fun"]]


def test_mark_changed_invalidates_the_cache_where_pytorch_cannot_see_the_change():
    model = make_bow()
    engine = ScoringEngine(model)
    before = engine.probabilities(EXS)
    # Writing through .data bypasses PyTorch's version counter and keeps the storage:
    # only mark_changed() tells the engine.
    model.module.bias.data.add_(2.0)
    model.mark_changed()
    after = engine.probabilities(EXS)
    assert engine.stats.computed == 2 * len(EXS)
    for ex, row in zip(EXS, after):
        s = sum({"great": 2.0, "fun": 1.0, "bad": -2.5, "boring": -1.5, "not": -0.5, "the": 0.1, "movie": 0.0}.get(w, -0.3) for w in ex.words)
        assert float(row[1]) == pytest.approx(1 / (1 + torch.exp(torch.tensor(-(s + 2.25))).item()), abs=1e-6)
    # And the new weights' scores are cached in turn.
    engine.probabilities(EXS)
    assert engine.stats.computed == 2 * len(EXS) and engine.stats.cache_hits == len(EXS)


def test_new_weights_by_load_state_dict_are_never_served_stale():
    model, other = make_bow(), make_bow()
    with torch.no_grad():
        other.module.bias.fill_(-3.0)
    engine = ScoringEngine(model)
    engine.probabilities(EXS)
    model.module.load_state_dict(other.module.state_dict())
    got = engine.probabilities(EXS)
    assert torch.allclose(got, other.predict_proba(EXS), atol=1e-7)
    assert engine.stats.computed == 2 * len(EXS)


def test_statistics_by_hand():
    model = make_bow()
    engine = ScoringEngine(model, batch_tokens=6, max_batch=2)
    rows = EXS + EXS[:2]
    engine.probabilities(rows)
    lengths = sorted(len(ex.words) for ex in EXS)  # 1, 1, 2, 3, 5
    st = engine.stats
    assert (st.requested, st.unique, st.cache_hits, st.computed) == (7, 5, 0, 5)
    assert st.real_tokens == sum(lengths)
    batches = token_batches([len(ex.words) for ex in EXS], 6, 2)
    assert st.batches == len(batches) == engine.model_calls
    assert st.padded_tokens == sum(max(len(EXS[i].words) for i in b) * len(b) for b in batches)
    assert st.padding_waste == pytest.approx(1 - st.real_tokens / st.padded_tokens)
    engine.probabilities(EXS[:3])
    assert (st.requested, st.unique, st.cache_hits, st.computed) == (10, 8, 3, 5)
    assert EngineStats().padding_waste == 0.0


def test_cache_is_least_recently_used():
    cache = ScoreCache(max_entries=2)
    a, b, c = torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([3.0])
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # "a" is now the most recent: "b" goes first
    cache.put("c", c)
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c and len(cache) == 2
    cache.put("a", b)  # overwriting refreshes too
    cache.put("d", c)
    assert cache.get("c") is None and torch.equal(cache.get("a"), b)
    cache.clear()
    assert len(cache) == 0


def brute_force_batches(lengths, batch_tokens, max_batch):
    """The same greedy packing, written out: sorted by length, a batch closes when one more
    sequence would break either budget."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    out, cur = [], []
    for i in order:
        trial = cur + [i]
        if cur and (max(lengths[j] for j in trial) * len(trial) > batch_tokens or len(cur) >= max_batch):
            out.append(cur)
            cur = [i]
        else:
            cur = trial
    return out + ([cur] if cur else [])


@pytest.mark.parametrize("budget, max_batch", [(1, 8), (6, 2), (10, 3), (12, 100), (100, 4)])
def test_token_batches_equal_the_written_out_packing(budget, max_batch):
    lengths = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 1]
    batches = token_batches(lengths, budget, max_batch)
    assert batches == brute_force_batches(lengths, budget, max_batch)
    assert sorted(itertools.chain(*batches)) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= max_batch
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= budget


def test_representations_keep_order_with_duplicates_and_a_small_budget():
    model = make_bow()
    engine = ScoringEngine(model, batch_tokens=3, max_batch=2)
    rows = [EXS[2], EXS[0], EXS[2], EXS[3], EXS[0]]
    reps = engine.representations(rows)
    direct = model.representations(rows)
    assert torch.allclose(reps.sentence, direct.sentence, atol=1e-7)
    for k in direct.layers:
        assert torch.allclose(reps.layers[k], direct.layers[k], atol=1e-7)
    probs = engine.probabilities(rows)
    assert engine.stats.computed == 0 and engine.stats.cache_hits == 3
    assert [float(p[1]) for p in probs] == pytest.approx([bow_p(ex.words) for ex in rows], abs=1e-6)
    assert engine.representations([]).sentence.numel() == 0


def test_out_of_memory_in_representations_halves_the_batch():
    model = make_bow()
    real = model.encode

    def flaky(batch):
        if len(batch) > 1:
            raise RuntimeError("CUDA out of memory.")
        return real(batch)

    model.encode = flaky
    engine = ScoringEngine(model)
    reps = engine.representations(EXS)
    model.encode = real
    assert engine.stats.oom_retries >= 1 and engine.max_batch == 1
    assert torch.allclose(reps.sentence, model.representations(EXS).sentence, atol=1e-7)


def test_errors_that_are_not_out_of_memory_are_raised():
    model = make_bow()

    def broken(batch):
        raise RuntimeError("shape mismatch")

    model.predict_proba = broken
    with pytest.raises(RuntimeError, match="shape mismatch"):
        ScoringEngine(model).probabilities(EXS)
    model.predict_proba = lambda batch: (_ for _ in ()).throw(RuntimeError("CUDA out of memory."))
    with pytest.raises(RuntimeError, match="out of memory"):
        ScoringEngine(model).probabilities(EXS[:1])  # one row left: nothing to halve


def test_out_of_memory_halving_by_hand():
    model = make_bow()
    real = model.predict_proba
    sizes = []

    def flaky(batch):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(batch)

    model.predict_proba = flaky
    engine = ScoringEngine(model, batch_tokens=8192, max_batch=256)
    probs = engine.probabilities(EXS)
    # 5 rows fail -> halves of 2 and 3; the 3 fail -> 1 and 2. Budgets halve at each failure.
    assert sizes == [5, 2, 3, 1, 2]
    assert engine.stats.oom_retries == 2 and engine.stats.batches == 3
    assert engine.batch_tokens == 8192 // 4 and isinstance(engine.batch_tokens, int)
    assert engine.max_batch == 1 and isinstance(engine.max_batch, int)
    assert [float(p[1]) for p in probs] == pytest.approx([bow_p(ex.words) for ex in EXS], abs=1e-6)


def test_defaults_and_progress_reporting(monkeypatch):
    import contextlib

    import pathologies.engine as engine_module

    engine = ScoringEngine(make_bow())  # a CPU model: the CPU budget
    assert (engine.batch_tokens, engine.max_batch, engine.cache.max_entries, engine.show_progress) == (8192, 256, 500_000, False)
    assert engine_module.default_budget("cpu") == engine_module.BUDGETS["cpu"] == (8192, 256)
    assert engine_module.default_budget("cuda") == engine_module.default_budget("cuda:1") == (8192, 256)
    assert (ScoringEngine(make_bow(), batch_tokens=100).batch_tokens, ScoringEngine(make_bow(), max_batch=3).max_batch) == (100, 3)
    assert ScoreCache().max_entries == 500_000
    calls, advanced = [], []

    @contextlib.contextmanager
    def spy(description, total, enabled=True):
        calls.append((description, total, enabled))
        yield advanced.append

    monkeypatch.setattr(engine_module, "progress_bar", spy)
    shown = ScoringEngine(make_bow(), show_progress=True, batch_tokens=4)
    shown.probabilities(EXS)
    shown.representations(EXS[:3] + EXS[:1])
    assert calls == [("scoring", 5, True), ("representations", 3, True)]
    assert sum(advanced) == 5 + 3 and all(isinstance(n, int) for n in advanced)


def test_representations_without_duplicates_and_of_nothing():
    model = make_bow()
    engine = ScoringEngine(model, batch_tokens=4)
    reps = engine.representations(EXS)
    direct = model.representations(EXS)
    assert set(reps.layers) == set(direct.layers)
    for k in direct.layers:
        assert torch.allclose(reps.layers[k], direct.layers[k], atol=1e-7)
    assert torch.allclose(reps.sentence, direct.sentence, atol=1e-7)
    empty = engine.representations([])
    assert empty.layers == {} and tuple(empty.sentence.shape) == (0, 0)



def test_progress_is_off_unless_asked(monkeypatch):
    import contextlib

    import pathologies.engine as engine_module

    calls = []

    @contextlib.contextmanager
    def spy(description, total, enabled=True):
        calls.append(enabled)
        yield lambda n=1: None

    monkeypatch.setattr(engine_module, "progress_bar", spy)
    engine = ScoringEngine(make_bow())
    engine.probabilities(EXS)
    engine.representations(EXS[:2])
    assert calls == [False, False]


def flaky_bow(limit):
    model = make_bow()
    real = model.predict_proba

    def flaky(batch):
        if len(batch) > limit:
            raise RuntimeError("CUDA out of memory.")
        return real(batch)

    model.predict_proba = flaky
    return model


def test_one_out_of_memory_halves_both_budgets():
    rows = [Example((w,)) for w in ("great", "fun", "bad", "the", "movie")]
    engine = ScoringEngine(flaky_bow(4), batch_tokens=100, max_batch=8)
    engine.probabilities(rows)
    assert engine.stats.oom_retries == 1
    assert (engine.batch_tokens, engine.max_batch) == (50, 2)  # 5 rows failed: 5 // 2
    small = ScoringEngine(flaky_bow(2), batch_tokens=3, max_batch=8)
    small.probabilities(rows[:3])  # three one-token rows fit the budget of 3, then fail
    assert small.stats.oom_retries == 1 and small.batch_tokens == 1


def test_token_batches_with_zero_length_inputs():
    # Two empty inputs pad to 0 tokens: they share one batch even under a budget of 1 token.
    assert token_batches([0, 0], 1, 10) == [[0, 1]]
    assert token_batches([0, 0, 1], 1, 10) == [[0, 1], [2]]


def test_sentence_vectors_of_a_model_without_intermediate_layers_survive_several_batches():
    model = make_bow()
    real = model.module.layers

    def no_layers(embeds, lengths):
        logits, _, pooled = real(embeds, lengths)
        return logits, {}, pooled

    model.module.layers = no_layers
    exs = [Example(("great",)), Example(("bad", "fun")), Example(("the", "movie", "not"))]
    got = ScoringEngine(model, batch_tokens=2, max_batch=1).representations(exs).sentence
    # BoW sentence vector: (mean word weight, 1)
    want = [[2.0, 1.0], [-0.75, 1.0], [(0.1 + 0.0 - 0.5) / 3, 1.0]]
    assert [x for row in got.tolist() for x in row] == pytest.approx([x for row in want for x in row], abs=1e-6)
