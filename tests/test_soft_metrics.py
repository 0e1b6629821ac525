"""Soft-NC / Soft-NS (Zhao & Aletras 2023) and NAOPC (Edin et al. 2025) against hand and
brute-force computations on the bag-of-words
model of ``tiny_models`` (p(positive) = sigmoid(sum of word weights + bias); only the first
embedding element carries a word's weight, so a kept or dropped word is exact)."""

from __future__ import annotations

import math

import pytest

from pathologies.metrics import METRICS
from pathologies.metrics.soft import importance, soft_erasure
from pathologies.text import Example
from tiny_models import BOW_BIAS, BOW_WEIGHTS, make_bow


def sig(x):
    return 1 / (1 + math.exp(-x))


def p_neg(words):
    return 1 - sig(sum(BOW_WEIGHTS[w] for w in words) + BOW_BIAS)


def by_hand(p, ps, pc, p0):
    denom = max(0.0, p - p0)
    s0 = 1 - denom
    return max(0.0, p - pc) / denom, ((1 - max(0.0, p - ps)) - s0) / denom


def test_importance_is_min_max():
    assert importance([2.0, 1.0, 0.0]) == [1.0, 0.5, 0.0]
    assert importance([3.0, 3.0]) == [0.5, 0.5]


def test_soft_metrics_match_the_hand_computation():
    model = make_bow()
    # q = [0, 1, 0]: "bad" is kept for sufficiency and dropped for comprehensiveness, exactly
    ex = Example(("great", "bad", "movie"), label=0)
    (row,) = soft_erasure(model, [ex], [[0.2, 0.9, 0.2]], [0])
    p, p0 = p_neg(["great", "bad", "movie"]), p_neg([])
    nc, ns = by_hand(p, ps=p_neg(["bad"]), pc=p_neg(["great", "movie"]), p0=p0)
    assert row["soft_comprehensiveness"] == pytest.approx(nc, abs=1e-6)
    assert row["soft_sufficiency"] == pytest.approx(ns, abs=1e-6)
    # a word at q = 0.5: its weight is kept with probability 1/2, the expectation by hand
    ex2 = Example(("bad", "boring", "fun"), label=0)
    (row2,) = soft_erasure(model, [ex2], [[1.0, 0.5, 0.0]], [0], samples=1500)
    p = p_neg(["bad", "boring", "fun"])
    ps = 0.5 * p_neg(["bad", "boring"]) + 0.5 * p_neg(["bad"])
    pc = 0.5 * p_neg(["boring", "fun"]) + 0.5 * p_neg(["fun"])
    nc, ns = by_hand(p, ps, pc, p_neg([]))
    assert row2["soft_comprehensiveness"] == pytest.approx(nc, abs=0.03)
    assert row2["soft_sufficiency"] == pytest.approx(ns, abs=0.03)
    # batched with other examples: the same values (draws seeded per example)
    rows = soft_erasure(model, [ex2, ex], [[1.0, 0.5, 0.0], [0.2, 0.9, 0.2]], [0, 0], samples=1500)
    for got, want in ((rows[0], row2), (rows[1], row)):  # float32 sums over padding differ in the last digits
        assert got == {k: pytest.approx(v, abs=1e-4) for k, v in want.items()}


def test_undefined_when_zeroing_every_word_does_not_lower_p():
    model = make_bow()
    ex = Example(("great",), label=1)  # p(negative | nothing) > p(negative | great)
    (row,) = soft_erasure(model, [ex], [[1.0]], [0])
    assert row == {"soft_comprehensiveness": None, "soft_sufficiency": None}


def test_registered_with_their_paper():
    for name in ("soft_comprehensiveness", "soft_sufficiency"):
        assert "Zhao & Aletras 2023" in METRICS[name].paper and METRICS[name].compute is not None


# ---------------------------------------------------------------- normalized AOPC (Edin et al. 2025)


def _brute_aopc(words, target, order):
    from tiny_models import bow_p

    def p(ws):
        q = bow_p(ws)
        return q if target == 1 else 1 - q

    full = p(words)
    drops = [0.0]
    for k in range(1, len(words) + 1):
        gone = set(order[:k])
        drops.append(full - p([w for i, w in enumerate(words) if i not in gone]))
    return sum(drops) / len(drops)


def test_naopc_against_brute_force():
    from itertools import permutations

    from pathologies.engine import ScoringEngine
    from pathologies.metrics.naopc import naopc

    model = make_bow()
    engine = ScoringEngine(model)
    examples = [Example(("great", "bad", "not", "fun"), label=0), Example(("boring", "the", "great"), label=1)]
    scores = [[0.1, 0.9, 0.3, -0.2], [0.5, 0.0, -1.0]]
    targets = [0, 1]
    rows = naopc(examples, scores, targets, engine, beam=6)  # 6 = C(4, 2): exact
    for ex, sc, t, row in zip(examples, scores, targets, rows):
        words = list(ex.words)
        all_orders = [_brute_aopc(words, t, list(o)) for o in permutations(range(len(words)))]
        own = _brute_aopc(words, t, sorted(range(len(sc)), key=lambda i: (-sc[i], i)))
        assert row["aopc"] == pytest.approx(own, abs=1e-5)
        assert row["aopc_max"] == pytest.approx(max(all_orders), abs=1e-5)
        assert row["aopc_min"] == pytest.approx(min(all_orders), abs=1e-5)
        assert row["naopc"] == pytest.approx((own - min(all_orders)) / (max(all_orders) - min(all_orders)), abs=1e-4)
    # a narrower beam stays within the true bounds, and NAOPC in [0, 1]
    for row in naopc(examples, scores, targets, engine, beam=1):
        assert 0.0 <= row["naopc"] <= 1.0


def test_naopc_registered_with_its_paper():
    assert "Edin et al. 2025" in METRICS["naopc"].paper
    assert METRICS["naopc"].high == 1 and not METRICS["naopc"].lower_is_better


# ---------------------------------------------------------------- plausibility against SST tags


def test_plausibility_auprc_by_hand():
    from pathologies.metrics.catalog.plausibility_auprc import average_precision, compute

    # ranking: 2, 0, 3, 1; relevant {0, 1}: hits at ranks 2 and 4 -> (1/2 + 2/4) / 2
    assert average_precision([0.5, 0.1, 0.9, 0.2], {0, 1}) == pytest.approx(0.5)
    assert average_precision([0.5, 0.1], set()) is None

    class Ctx:
        class model:
            labels = ["negative", "positive"]
        examples = [Example(("a", "b", "c"), label=1, tags=(3, 2, 0)), Example(("a", "b"), label=0, tags=(2, 1)),
                    Example(("a",), label=0)]
        scores = [[0.1, 0.9, 0.5], [0.3, 0.2], [1.0]]
        records = [{"predicted": 1}, {"predicted": 0}, {"predicted": 0}]

    # sentence 1 predicted positive: rationale {0} at rank 3 -> 1/3; sentence 2 negative: {1} at rank 2 -> 1/2
    assert compute(Ctx) == [pytest.approx(1 / 3), pytest.approx(0.5), None]
