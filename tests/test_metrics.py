"""Metrics on a model whose output is a known function of its words, checked by hand."""

from __future__ import annotations

import math

import pytest

from pathologies import Example, InputError
from pathologies.metrics import (
    METRICS,
    aggregate,
    evaluate_examples,
    expected_calibration_error,
    n_for_share,
    rank_shift_variance,
)
from tiny_models import bow_p, make_bow

WORDS = "the movie was not boring great".split()  # p(positive) = sigmoid(0.05)


def test_every_metric_declares_range_and_direction():
    for m in METRICS.values():
        assert m.low < m.high and isinstance(m.lower_is_better, bool)
    assert METRICS["sufficiency"].lower_is_better and not METRICS["comprehensiveness"].lower_is_better


def test_comprehensiveness_and_sufficiency_by_hand():
    model = make_bow()
    r = evaluate_examples(model, [Example(tuple(WORDS), label=1)], "loo", metrics=["comprehensiveness", "sufficiency"])[0]
    p = bow_p(WORDS)
    # 10% of 6 words -> 1 word. Most important by LOO: "great"; least: "boring".
    assert r["comprehensiveness"] == pytest.approx(p - bow_p([w for w in WORDS if w != "great"]), abs=1e-6)
    assert r["sufficiency"] == pytest.approx(p - bow_p([w for w in WORDS if w != "boring"]), abs=1e-6)
    assert r["sufficiency"] < 0 < r["comprehensiveness"]


def test_aopc_by_hand():
    model = make_bow()
    r = evaluate_examples(model, [Example(tuple(WORDS))], "loo", metrics=["aopc_comprehensiveness", "aopc_sufficiency"])[0]
    p = bow_p(WORDS)
    order = ["great", "the", "movie", "was", "not", "boring"]  # LOO ranking, most important first
    comp = sufficiency = 0.0
    for b in (0.01, 0.05, 0.10, 0.20, 0.50):
        n = n_for_share(b, 6)
        comp += p - bow_p([w for w in WORDS if w not in order[:n]])
        sufficiency += p - bow_p([w for w in WORDS if w in order[:n]])
    assert r["aopc_comprehensiveness"] == pytest.approx(comp / 5, abs=1e-6)
    assert r["aopc_sufficiency"] == pytest.approx(sufficiency / 5, abs=1e-6)


def test_ir_and_ur_by_hand():
    model = make_bow()
    r = evaluate_examples(model, [Example(tuple(WORDS))], "loo", metrics=["ir", "ur"])[0]
    assert r["ir"] == 1  # removing "great" flips the label at once
    # Least important first: boring, not, was, ... "great" alone stays positive, and the
    # empty input is positive too (bias 0.25): the label never flips.
    assert r["ur"] == 6


def test_rank_shift_variance_by_hand():
    # Ranks before: a(0) b(1) c(2) d(3); remove a -> old ranks among the rest b0 c1 d2.
    assert rank_shift_variance([4, 3, 2, 1], [3, 2, 1], removed=0) == 0.0
    # After: d first, then c, then b -> shifts b +2, c 0, d -2 -> variance 8/3.
    assert rank_shift_variance([4, 3, 2, 1], [1, 2, 3], removed=0) == pytest.approx(8 / 3)
    model = make_bow()
    r = evaluate_examples(model, [Example(tuple(WORDS))], "gradient", metrics=["i_var", "u_var"])[0]
    # A linear model's word scores do not depend on the other words: nothing shifts.
    assert r["i_var"] == 0.0 and r["u_var"] == 0.0


def test_ece_by_hand():
    assert expected_calibration_error([0.9, 0.9, 0.6, 0.6], [True, False, True, True]) == pytest.approx(0.4)
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0


def test_aggregate_from_records_alone():
    model = make_bow()
    exs = [Example(tuple(WORDS), label=1, uid="a"), Example(("bad", "boring"), label=1, uid="b")]
    records = evaluate_examples(model, exs, "loo")
    agg = aggregate(records)
    assert agg["accuracy"] == 0.5
    assert agg["fx"] == pytest.approx((bow_p(WORDS) + 1 - bow_p(["bad", "boring"])) / 2, abs=1e-6)
    assert agg["ir"] == pytest.approx((records[0]["ir"] + records[1]["ir"]) / 2)
    assert list(agg)[:3] == ["accuracy", "fx", "comprehensiveness"]


def test_unknown_metric_is_a_clear_error():
    with pytest.raises(InputError, match="unknown metric"):
        evaluate_examples(make_bow(), [Example(("great",))], "loo", metrics=["magic"])


def test_iot_and_neutral_score_by_hand():
    from pathologies.metrics.plausibility import iot, neutral_score

    scores = [0.9, 0.1, 0.5, -0.2, 0.3]
    tags = [4, 2, 3, 2, 1]
    assert iot(scores, tags, top_k=2) == 1.0  # positives {0, 2} are the top two
    assert iot(scores, tags, top_k=1) == 0.5
    assert iot(scores, [2, 2, 2, 2, 2]) is None
    assert neutral_score(scores, tags) == pytest.approx((0.1 / 0.9 - 0.2 / 0.9) / 2)


def test_auc_rep_by_hand():
    from pathologies.engine import ScoringEngine
    from pathologies.models.mlm import MaskedWordModel, WordDistribution
    from pathologies.metrics.replacement import auc_rep
    import torch

    class Always(MaskedWordModel):
        def __init__(self, word):
            self.word = word

        def distributions(self, example, positions):
            return [WordDistribution([self.word, "the"], torch.tensor([1.0, 0.0], dtype=torch.float64)) for _ in positions]

    model = make_bow()
    words = "great fun the movie was not boring the movie great".split()  # 10 words -> 2 replaced
    ex = Example(tuple(words), uid="a")
    scores = [5, 4, 0, 0, 0, 0, 0, 0, 0, 3]  # great(0), fun(1) first
    engine = ScoringEngine(model)
    p = [bow_p(words), bow_p(["bad"] + words[1:]), bow_p(["bad", "bad"] + words[2:])]
    got = auc_rep([ex], [scores], [1], Always("bad"), engine)[0]
    assert got == pytest.approx(((p[0] + p[1]) / 2 + (p[1] + p[2]) / 2) / 2, abs=1e-6)

    class Identity(MaskedWordModel):
        def distributions(self, example, positions):
            return [WordDistribution([example.words[q], "bad"], torch.tensor([1.0, 0.0], dtype=torch.float64)) for q in positions]

    # Replacing each word by itself leaves the curve flat at p(y|x).
    assert auc_rep([ex], [scores], [1], Identity(), engine)[0] == pytest.approx(p[0], abs=1e-6)


def test_reduction_metrics_by_hand():
    model = make_bow()
    r = evaluate_examples(model, [Example(tuple(WORDS), uid="a")], "loo", metrics=["reduction"])[0]
    # Input reduction keeps only "great" (the one decisive word), at sigmoid(0.25 + 2).
    assert r["reduced_length"] == 1
    assert r["reduced_confidence"] == pytest.approx(bow_p(["great"]), abs=1e-6)
    # The random baseline keeps one word at random: its confidence is that word's alone.
    assert any(r["random_confidence"] == pytest.approx(bow_p([w]), abs=1e-6) for w in WORDS)
    assert set(aggregate([r])) >= {"reduced_length", "reduced_confidence", "random_confidence"}


def test_dknn_metrics_need_an_index_and_match_the_dknn():
    from pathologies.dknn import DkNN

    model = make_bow()
    pos = Example(("fun",), label=1)
    dknn = DkNN(k=3).fit(model, [pos] * 4).calibrate(model, [pos, pos])
    exs = [Example(("great", "fun"), label=1), Example(("boring", "bad"), label=0)]
    with pytest.raises(InputError, match="DkNN index"):
        evaluate_examples(model, exs, "gradient", metrics=["dknn"])
    records = evaluate_examples(model, exs, "gradient", metrics=["dknn"], index=dknn)
    # Every neighbour is positive: conformity 1 with the positive prediction, 0 with the negative one.
    assert [r["conformity"] for r in records] == [1.0, 0.0]
    out = dknn.predict(model, exs)
    assert [r["credibility"] for r in records] == pytest.approx(out.credibility.tolist())
