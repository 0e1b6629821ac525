"""Mitigation objectives: the contrastive loss by hand, zero weights = plain training, data hygiene."""

from __future__ import annotations

import math

import pytest
import torch

from pathologies import Example
from pathologies.models import TextCNN
from pathologies.training import TrainConfig, fit
from pathologies.training.loop import objective_loss
from pathologies.training.objectives import (
    EntropyRegularizer,
    PCTLoss,
    entropy,
    multi_positive_nt_xent,
    reduced_training_examples,
    removal_sets,
)
from tiny_models import make_bow

VOCAB = ["<pad>", "<unk>", "<sep>"] + "the movie was great fun bad boring not very good awful".split()
TRAIN = [
    Example(tuple(s.split()), label=l, uid=f"t{i}")
    for i, (s, l) in enumerate(
        [("the movie was great fun", 1), ("bad boring movie", 0), ("not very good", 0), ("very good fun movie", 1),
         ("awful the movie was", 0), ("great great fun", 1), ("the movie was not good", 0), ("fun fun movie", 1)]
    )
]


def test_contrastive_loss_equals_a_hand_computation():
    a = torch.tensor([1.0, 0.0])
    pos = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    neg = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    tau = 0.5
    cos = [1 / math.sqrt(2), 1.0, 0.0, -1.0]
    exps = [math.exp(c / tau) for c in cos]
    expected = -0.5 * (math.log(exps[0] / sum(exps)) + math.log(exps[1] / sum(exps)))
    assert float(multi_positive_nt_xent(a, pos, neg, tau)) == pytest.approx(expected, rel=1e-6)


def test_entropy_by_hand():
    logits = torch.tensor([[0.0, 0.0], [math.log(3), 0.0]])
    h = (math.log(2) + -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))) / 2
    assert float(entropy(logits)) == pytest.approx(h, rel=1e-6)


def test_removal_sets_are_cumulative():
    ex = Example(tuple("a b c d e f g h i j k".split()))  # 11 words, 10% -> 2
    saliency = [float(i) for i in range(11)]  # k most salient, a least
    pos, neg = removal_sets(ex, saliency, 0.10)
    assert pos[0] == ex
    assert [p.words for p in pos[1:]] == [tuple("b c d e f g h i j k".split()), tuple("c d e f g h i j k".split())]
    assert [n.words for n in neg] == [tuple("a b c d e f g h i j".split()), tuple("a b c d e f g h i".split())]


def _train(extra):
    model = TextCNN.create(["negative", "positive"], VOCAB, glove=False, seed=0)
    fit(model, TRAIN, TRAIN, TrainConfig(epochs=2, batch_size=4, seed=5), extra_loss=extra,
        log=lambda s: None, show_progress=False)
    return [p.detach().clone() for p in model.module.parameters()]


def test_zero_weight_objectives_are_exactly_plain_training():
    plain = _train(None)
    for extra in (PCTLoss(alpha=0.0, tau=0.7), EntropyRegularizer(TRAIN, lam=0.0)):
        assert all(torch.equal(a, b) for a, b in zip(plain, _train(extra)))
    changed = _train(PCTLoss(alpha=0.5, tau=0.7))
    assert not all(torch.equal(a, b) for a, b in zip(plain, changed))
    changed = _train(EntropyRegularizer(TRAIN, lam=0.5, batch_size=4))
    assert not all(torch.equal(a, b) for a, b in zip(plain, changed))


def test_reduced_examples_come_only_from_training_data(tmp_path):
    model = make_bow()
    for random_removal in (False, True):
        reduced = reduced_training_examples(
            model, TRAIN, cache=str(tmp_path / f"r{random_removal}.jsonl"), random_removal=random_removal, show_progress=False
        )
        by_uid = {ex.uid: ex for ex in TRAIN}
        assert reduced
        for r in reduced:
            source = by_uid[r.uid]
            it = iter(source.words)
            assert all(w in it for w in r.words)  # an ordered subsequence of its own training example
            assert len(r.words) < len(source.words) or len(source.words) == 1


def test_objective_factory():
    model = make_bow()
    assert objective_loss("ce", model, TRAIN, TrainConfig()) is None
    pct = objective_loss("pct", TextCNN.create(["n", "p"], VOCAB, glove=False), TRAIN, TrainConfig())
    assert (pct.alpha, pct.tau) == (0.1, 0.7)
    with pytest.raises(ValueError, match="unknown objective"):
        objective_loss("magic", model, TRAIN, TrainConfig())


def test_entropy_reduces_a_seeded_sample_and_shares_the_reductions(tmp_path):
    model = make_bow()
    shared = tmp_path / "reductions.jsonl"
    config = TrainConfig(seed=3)
    ent = objective_loss("entropy", model, TRAIN, config, reduce_limit=2, reductions=shared, show_progress=False)
    uids = {ex.uid for ex in ent.reduced}
    assert 1 <= len(uids) <= 2 and uids <= {ex.uid for ex in TRAIN}
    assert len(shared.read_text().splitlines()) == 2  # only the sample was reduced
    again = objective_loss("random-entropy", model, TRAIN, config, reduce_limit=2, reductions=shared, show_progress=False)
    assert {ex.uid for ex in again.reduced} == uids  # same sample, reductions reused
    assert sorted(map(len, (ex.words for ex in again.reduced))) == sorted(map(len, (ex.words for ex in ent.reduced)))
