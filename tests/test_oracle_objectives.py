"""The mitigation objectives against hand computations on the BoW model, whose saliency
(|weight| / 2), probabilities and sentence vectors ((mean weight, 1)) are known exactly."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from pathologies import Example, InputError
from pathologies.reduction import InputReducer
from pathologies.training.objectives import (
    PCT_DEFAULTS,
    EntropyRegularizer,
    PCTLoss,
    entropy,
    reduced_training_examples,
    removal_sets,
)
from tiny_models import BOW_WEIGHTS, UNK_WEIGHT, bow_p, make_bow

BATCH = [
    Example(tuple("the movie was great fun".split()), label=1),
    Example(tuple("not boring bad movie".split()), label=0),
    Example(tuple("great bad the fun not boring movie".split()), label=1),
    Example(("great",), label=1),  # one word: nothing to contrast
]


def weight(w):
    return BOW_WEIGHTS.get(w, UNK_WEIGHT)


def sentence_vector(words):
    return torch.tensor([sum(weight(w) for w in words) / len(words), 1.0], dtype=torch.float64)


def oracle_pct(batch, alpha, tau, share, swap=False):
    losses = []
    for ex in batch:
        L = len(ex.words)
        if L < 2:
            continue
        sal = [abs(weight(w)) / 2 for w in ex.words]
        rank = sorted(range(L), key=lambda i: (-sal[i], i))
        n = min(L - 1, max(1, math.ceil(share * L)))
        keep = lambda drop: [w for i, w in enumerate(ex.words) if i not in set(drop)]
        positives = [keep(rank[L - k :]) for k in range(1, n + 1)]
        negatives = [keep(rank[:k]) for k in range(1, n + 1)]
        if swap:
            positives, negatives = negatives, positives
        a = sentence_vector(ex.words)
        cos = lambda v: float(a @ v / (a.norm() * v.norm()))
        sp = [cos(sentence_vector(p)) / tau for p in positives]
        sn = [cos(sentence_vector(q)) / tau for q in negatives]
        log_den = math.log(sum(math.exp(s) for s in sp + sn))
        losses.append(-sum(s - log_den for s in sp) / len(sp))
    return alpha * sum(losses) / len(losses)


@pytest.mark.parametrize("alpha, tau, share", [(0.1, 0.7, 0.10), (1.0, 0.15, 0.5), (0.5, 1.0, 0.34)])
def test_pct_loss_equals_the_hand_computation(alpha, tau, share):
    model = make_bow()
    model.module.train()
    loss = PCTLoss(alpha=alpha, tau=tau, share=share)(model, BATCH, None).detach()
    assert float(loss) == pytest.approx(oracle_pct(BATCH, alpha, tau, share), rel=1e-5)
    assert model.module.training  # back in training mode after the saliency pass
    # Positives and negatives play different parts: swapped, the value would differ.
    assert float(loss) != pytest.approx(oracle_pct(BATCH, alpha, tau, share, swap=True), rel=1e-3)


def test_pct_loss_is_differentiable_and_skips_what_it_cannot_contrast():
    model = make_bow()
    loss = PCTLoss(alpha=0.3, tau=0.5)(model, BATCH[:2], None)
    loss.backward()
    assert model.module.embedding.weight.grad is not None and model.module.embedding.weight.grad.abs().sum() > 0
    assert PCTLoss(alpha=0.3, tau=0.5)(model, [BATCH[3]], None) is None
    assert PCTLoss(alpha=0.0, tau=0.5)(model, BATCH, None) is None
    with pytest.raises(InputError, match="temperature"):
        PCTLoss(alpha=0.1, tau=0.0)
    assert PCT_DEFAULTS == {"textcnn": (0.1, 0.7), "bilstm": (0.1, 0.7), "hf": (0.15, 0.15)}
    pct = PCTLoss(alpha=0.1, tau=0.7)
    assert pct.share == 0.10


def test_removal_sets_with_ties_caps_and_one_word():
    ex = Example(tuple("a b c d".split()))
    pos, neg = removal_sets(ex, [1.0, 2.0, 2.0, 1.0], share=0.5)  # ties: the earlier word ranks first
    assert [p.words for p in pos] == [ex.words, ("a", "b", "c"), ("b", "c")]
    assert [n.words for n in neg] == [("a", "c", "d"), ("a", "d")]
    pos, neg = removal_sets(ex, [4.0, 3.0, 2.0, 1.0], share=1.0)  # at most L - 1 removals
    assert len(neg) == 3 and neg[-1].words == ("d",) and pos[-1].words == ("a",)
    pos, neg = removal_sets(ex, [4.0, 3.0, 2.0, 1.0], share=0.26)  # ceil(1.04) = 2
    assert len(neg) == 2
    pos, neg = removal_sets(Example(("x",)), [1.0], share=0.5)
    assert [p.words for p in pos] == [("x",)] and neg == []


def entropy_of(words):
    p = bow_p(words)
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_entropy_regularizer_is_minus_lambda_times_the_mean_entropy_of_reduced_inputs():
    model = make_bow()
    reduced = [Example(("great",)), Example(("bad", "fun")), Example(("the", "not", "movie"))]
    reg = EntropyRegularizer(reduced, lam=0.25, batch_size=3)
    expected = -0.25 * sum(entropy_of(ex.words) for ex in reduced) / 3
    for _ in range(3):  # every call: a fresh pass over all of them
        assert float(reg(model, BATCH, None).detach()) == pytest.approx(expected, rel=1e-5)
    # Smaller batches: each call draws without replacement until the pass is used up.
    reg = EntropyRegularizer(reduced, lam=1.0, batch_size=2, seed=4)
    values = [float(reg(model, BATCH, None).detach()) for _ in range(3)]
    pairs = {c: -(entropy_of(reduced[c[0]].words) + entropy_of(reduced[c[1]].words)) / 2
             for c in itertools.combinations_with_replacement(range(3), 2)}
    found = [next(c for c, v in pairs.items() if v == pytest.approx(x, rel=1e-5)) for x in values]
    assert found[0][0] != found[0][1]  # the first pair: two different reduced inputs
    first_pass = list(found[0]) + [i for i in found[1] if i not in found[0]][:1]
    assert sorted(first_pass) == [0, 1, 2]
    assert EntropyRegularizer([], lam=0.0)(model, BATCH, None) is None
    with pytest.raises(InputError):
        EntropyRegularizer([], lam=0.1)
    reg = EntropyRegularizer(reduced)
    assert (reg.lam, reg.batch_size) == (1e-3, 32)


def test_entropy_in_nats_for_three_classes():
    logits = torch.tensor([[0.0, math.log(2), math.log(5)], [1.0, 1.0, 1.0]])
    p = [1 / 8, 2 / 8, 5 / 8]
    h = (-sum(x * math.log(x) for x in p) + math.log(3)) / 2
    assert float(entropy(logits)) == pytest.approx(h, rel=1e-6)


def test_reduced_training_examples_are_the_beam_searchs_minimal_inputs():
    model = make_bow()
    train = [Example(tuple(s.split()), label=l, uid=f"u{i}") for i, (s, l) in enumerate(
        [("the movie was not boring great", 1), ("bad boring the movie", 0), ("great fun", 1)])]
    got = reduced_training_examples(model, train, show_progress=False)
    expected = [(r.uid, tuple(w)) for r in InputReducer(model, beam=5, k=5).reduce(train) for w in r.all_minimal]
    assert [(ex.uid, ex.words) for ex in got] == expected
    assert all(ex.label == train[int(ex.uid[1:])].label for ex in got)
    rnd = reduced_training_examples(model, train, random_removal=True, seed=2, show_progress=False)
    assert [(ex.uid, len(ex.words)) for ex in rnd] == [(u, len(w)) for u, w in expected]
    assert rnd == reduced_training_examples(model, train, random_removal=True, seed=2, show_progress=False)
    other = [reduced_training_examples(model, train, random_removal=True, seed=s, show_progress=False) for s in range(3, 8)]
    assert any(o != rnd for o in other)  # the seed is used


# --- settings reaching the reducer, the cache, seeds, messages --------------------------------


@pytest.fixture(scope="module")
def quad():
    from test_oracle_reduction import BIAS, V, W
    from tiny_models import make_quad

    return make_quad(W, V, BIAS)


# On the interaction model beam=2/k=2, beam=2/k=5 and greedy reach different minimal inputs here.
QUAD_TRAIN = [Example(("g", "b", "c", "e", "c"), label=1, uid="q0"), Example(("a", "c", "d", "c"), label=0, uid="q1")]


def minimal(model, train, **kw):
    return [(r.uid, tuple(w)) for r in InputReducer(model, **kw).reduce(train) for w in r.all_minimal]


def test_reduced_training_examples_pass_beam_and_k_with_and_without_a_cache(quad, tmp_path):
    assert minimal(quad, QUAD_TRAIN, beam=2, k=2) != minimal(quad, QUAD_TRAIN, beam=2, k=5)
    assert minimal(quad, QUAD_TRAIN, beam=2, k=2) != minimal(quad, QUAD_TRAIN, beam=1)
    for cache in (None, str(tmp_path / "r.jsonl")):
        got = reduced_training_examples(quad, QUAD_TRAIN, beam=2, cache=cache, show_progress=False)
        assert [(ex.uid, ex.words) for ex in got] == minimal(quad, QUAD_TRAIN, beam=2, k=2), cache


def test_reduced_training_examples_defaults(quad, tmp_path, monkeypatch):
    """Beam search with beam = k = 5 (the paper's setting), random removal seeded with 13."""
    import pathologies.reduction as reduction
    import pathologies.training.objectives as objectives

    built = []

    class Spy(reduction.InputReducer):
        def __init__(self, model, **kw):
            built.append(kw)
            super().__init__(model, **kw)

    monkeypatch.setattr(reduction, "InputReducer", Spy)  # reduce_to_file's (the cached path)
    monkeypatch.setattr(objectives, "InputReducer", Spy)  # the name objectives.py imported
    reduced_training_examples(quad, QUAD_TRAIN[:1], show_progress=False)
    reduced_training_examples(quad, QUAD_TRAIN[:1], cache=str(tmp_path / "c.jsonl"), show_progress=False)
    assert [(kw["beam"], kw["k"]) for kw in built] == [(5, 5), (5, 5)]
    monkeypatch.undo()
    rnd = reduced_training_examples(quad, QUAD_TRAIN, random_removal=True, show_progress=False)
    assert rnd == reduced_training_examples(quad, QUAD_TRAIN, random_removal=True, seed=13, show_progress=False)


def test_reduced_training_examples_progress_only_with_a_cache_and_when_asked(quad, tmp_path, monkeypatch, capsys):
    import re

    monkeypatch.setenv("PATHOLOGIES_PROGRESS", "lines")
    reduced_training_examples(quad, QUAD_TRAIN, cache=str(tmp_path / "a.jsonl"))  # shown by default
    assert re.findall(r"^(reduce: .*), \d+ s$", capsys.readouterr().err, re.M) == ["reduce: 2/2 (100%)"]
    reduced_training_examples(quad, QUAD_TRAIN, cache=str(tmp_path / "b.jsonl"), show_progress=False)
    assert capsys.readouterr().err == ""


def test_a_cache_written_for_other_data_is_skipped_record_by_record(quad, tmp_path):
    from pathologies.reduction import reduce_to_file

    cache = str(tmp_path / "r.jsonl")
    other = [Example(("d", "e", "f"), uid="x0"), Example(("b", "g"), uid="x1")]
    reduce_to_file(quad, other, cache, beam=5, k=5, show_progress=False)  # other data first in the file
    got = reduced_training_examples(quad, QUAD_TRAIN, cache=cache, show_progress=False)
    assert [(ex.uid, ex.words) for ex in got] == minimal(quad, QUAD_TRAIN, beam=5, k=5)


def test_removal_sets_of_two_words():
    ex = Example(("a", "b"))
    pos, neg = removal_sets(ex, [1.0, 2.0], share=0.1)  # n = min(1, max(1, ceil(0.2))) = 1
    assert [p.words for p in pos] == [("a", "b"), ("b",)]
    assert [n.words for n in neg] == [("a",)]


def test_entropy_regularizer_default_seed_and_messages():
    model = make_bow()
    reduced = [Example((w,)) for w in ("great", "bad", "fun", "not", "the")]

    def values(reg, n=6):
        return [float(reg(model, BATCH, None).detach()) for _ in range(n)]

    default = values(EntropyRegularizer(reduced, lam=1.0, batch_size=2))
    assert default == values(EntropyRegularizer(reduced, lam=1.0, batch_size=2, seed=13))
    assert any(values(EntropyRegularizer(reduced, lam=1.0, batch_size=2, seed=s)) != default for s in (14, 15))
    with pytest.raises(InputError, match="^entropy regularization needs reduced examples$"):
        EntropyRegularizer([], lam=0.1)
    with pytest.raises(InputError, match="^the PCT temperature tau must be positive$"):
        PCTLoss(alpha=0.1, tau=-1.0)


def test_pct_loss_goes_on_after_a_one_word_sentence():
    model = make_bow()
    batch = [BATCH[3]] + BATCH[:3]
    loss = PCTLoss(alpha=0.5, tau=0.7, share=0.5)(model, batch, None).detach()
    assert float(loss) == pytest.approx(oracle_pct(batch, 0.5, 0.7, 0.5), rel=1e-5)


def test_pct_saliency_is_taken_for_the_gold_label():
    """On a three-class model the saliency of the gold class differs from that of the predicted
    class: the loss with gold labels is the loss of the sets ranked by the gold class's gradient."""
    from pathologies.attribution.gradient import word_scores
    from pathologies.models import TextCNN
    from pathologies.training.objectives import multi_positive_nt_xent

    vocab = ["<pad>", "<unk>", "<sep>"] + [f"w{i}" for i in range(12)]
    model = TextCNN.create(["a", "b", "c"], vocab, glove=False, dim=8, filters=4, seed=5, dropout=0.0)
    exs = [Example(tuple(f"w{i}" for i in (1, 4, 7, 2, 9, 3)), label=0), Example(tuple(f"w{i}" for i in (5, 0, 11, 6, 8)), label=1)]
    pred = model.predict_proba(exs).argmax(1).tolist()
    gold = [Example(ex.words, label=(p + 1) % 3) for ex, p in zip(exs, pred)]
    as_pred = [Example(ex.words, label=p) for ex, p in zip(exs, pred)]

    def by_hand(batch):
        losses = []
        for ex in batch:
            g = model.embedding_gradients([ex], [ex.label])[0]
            pos, neg = removal_sets(ex, word_scores(g, "abs"), 0.5)
            z = model.representations(pos + neg).sentence
            losses.append(multi_positive_nt_xent(z[0], z[1 : len(pos)], z[len(pos) :], 0.5))
        return float(0.3 * torch.stack(losses).mean())

    pct = PCTLoss(alpha=0.3, tau=0.5, share=0.5)
    with_gold = float(pct(model, gold, None).detach())
    assert with_gold == pytest.approx(by_hand(gold), rel=1e-5)
    assert with_gold != pytest.approx(float(pct(model, as_pred, None).detach()), rel=1e-4)
