"""Metrics against hand computations: ties in the ranking, re-ranking that changes the order,
targets other than the prediction, confidences on bin edges, replacement curves of several
lengths in one call."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from pathologies import Example
from pathologies.attribution import AttributionMethod, get_method
from pathologies.engine import ScoringEngine
from pathologies.metrics import (
    aggregate,
    evaluate_examples,
    expected_calibration_error,
    n_for_share,
    rank_shift_variance,
    ranking,
)
from pathologies.metrics.plausibility import iot, neutral_score
from pathologies.metrics.removal import erasure_metrics, rank_variances, removals_until_flip
from pathologies.metrics.replacement import auc_rep
from pathologies.models.mlm import MaskedWordModel, WordDistribution
from tiny_models import bow_p, make_bow, make_quad, quad_p

# The interaction model of test_oracle_reduction: re-ranking after a removal changes the order.
W = {"a": -1.6, "b": 1.9, "c": 0.5, "d": 1.6, "e": 1.6, "f": -0.7, "g": 0.2}
V = {("a", "f"): -1.1, ("b", "c"): -2.6, ("b", "d"): -1.3, ("b", "e"): -2.5, ("d", "e"): -0.4, ("d", "g"): -2.3}
BIAS = 0.35


def qp(words, target):
    p = quad_p(list(words), W, V, BIAS)
    return p if target == 1 else 1 - p


def q_label(words):
    return int(qp(words, 1) > 0.5)


def loo(words, target):
    full = qp(words, target)
    return [full - qp(words[:i] + words[i + 1 :], target) for i in range(len(words))]


def order(scores):
    """Most important first; ties: the earlier word first."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


@pytest.fixture(scope="module")
def quad():
    return make_quad(W, V, BIAS)


class Fixed(AttributionMethod):
    """Scores given by hand (looked up by the words), for ties and made-up rankings."""

    name = "fixed"

    def __init__(self, table):
        self.table = table

    def scores(self, model, examples, targets, engine=None):
        return [list(self.table[ex.words]) for ex in examples]


# --- comprehensiveness, sufficiency, AOPC -----------------------------------------------------
def test_ranking_and_shares():
    assert ranking([1, 3, 3, 0, 2, 2]) == [1, 2, 4, 5, 0, 3]
    assert [n_for_share(s, 10) for s in (0.01, 0.05, 0.10, 0.20, 0.5, 1.0, 2.0)] == [1, 1, 1, 2, 5, 10, 10]
    assert [n_for_share(0.1, n) for n in (1, 9, 11, 20, 21)] == [1, 1, 2, 2, 3]
    assert n_for_share(0.0, 5) == 1


def test_erasure_metrics_with_ties_and_a_target_that_is_not_the_prediction():
    words = ("great", "fun", "the", "movie", "bad", "not", "boring", "the", "movie", "fun", "great")  # 11 words
    ex = Example(words)
    scores = [0.5, 2.0, 2.0, 0.0, -1.0, 2.0, 0.1, 0.0, 0.0, 0.5, 1.0]  # ties at the top and the bottom
    target = 0  # the model predicts positive
    assert bow_p(words) > 0.5
    got = erasure_metrics([ex], [scores], [target], ScoringEngine(make_bow()))[0]
    rank = order(scores)
    L = len(words)
    p = 1 - bow_p(words)
    without = lambda idx: 1 - bow_p([w for i, w in enumerate(words) if i not in set(idx)])
    n = math.ceil(0.1 * L)  # 2
    assert got["comprehensiveness"] == pytest.approx(p - without(rank[:n]), abs=1e-6)
    assert got["sufficiency"] == pytest.approx(p - without(rank[L - n :]), abs=1e-6)
    comp = [p - without(rank[: n_for_share(b, L)]) for b in (0.01, 0.05, 0.10, 0.20, 0.50)]
    suff = [p - without(rank[n_for_share(b, L) :]) for b in (0.01, 0.05, 0.10, 0.20, 0.50)]
    assert got["aopc_comprehensiveness"] == pytest.approx(sum(comp) / 5, abs=1e-6)
    assert got["aopc_sufficiency"] == pytest.approx(sum(suff) / 5, abs=1e-6)
    # Tie-breaking matters here: the other order of the tied words gives other values.
    assert rank[:3] == [1, 2, 5]


def test_erasure_metrics_of_several_examples_in_one_call_with_other_bins_and_share():
    exs = [Example(("great", "bad", "fun")), Example(("not", "boring", "movie", "great", "the"))]
    scores = [[0.3, -1.0, 0.2], [0.0, 0.5, 0.1, 0.9, 0.2]]
    targets = [1, 0]
    got = erasure_metrics(exs, scores, targets, ScoringEngine(make_bow()), share=0.5, bins=(0.4, 1.0))
    for ex, sc, t, g in zip(exs, scores, targets, got):
        pt = lambda ws: bow_p(ws) if t == 1 else 1 - bow_p(ws)
        p, rank, L = pt(ex.words), order(sc), len(ex.words)
        keep = lambda drop: [w for i, w in enumerate(ex.words) if i not in set(drop)]
        n = math.ceil(0.5 * L)
        assert g["comprehensiveness"] == pytest.approx(p - pt(keep(rank[:n])), abs=1e-6)
        assert g["sufficiency"] == pytest.approx(p - pt(keep(rank[L - n :])), abs=1e-6)
        nb = [min(L, max(1, math.ceil(b * L))) for b in (0.4, 1.0)]
        assert g["aopc_comprehensiveness"] == pytest.approx(sum(p - pt(keep(rank[:k])) for k in nb) / 2, abs=1e-6)
        assert g["aopc_sufficiency"] == pytest.approx(sum(p - pt(keep(rank[k:])) for k in nb) / 2, abs=1e-6)


def test_evaluate_examples_defaults_share_and_bins_by_hand():
    words = tuple("great fun the movie bad not boring the movie fun great".split())
    rec = evaluate_examples(make_bow(), [Example(words, label=1, uid="u")], "loo")[0]
    p = bow_p(words)
    sc = [p - bow_p(words[:i] + words[i + 1 :]) for i in range(len(words))]
    rank = order(sc)
    keep = lambda drop: [w for i, w in enumerate(words) if i not in set(drop)]
    assert rec["comprehensiveness"] == pytest.approx(p - bow_p(keep(rank[:2])), abs=1e-6)  # 10% of 11 -> 2
    aopc = sum(p - bow_p(keep(rank[: n_for_share(b, 11)])) for b in (0.01, 0.05, 0.10, 0.20, 0.50)) / 5
    assert rec["aopc_comprehensiveness"] == pytest.approx(aopc, abs=1e-6)
    assert (rec["uid"], rec["method"], rec["predicted"], rec["label"], rec["words"]) == ("u", "loo", 1, 1, 11)
    assert rec["confidence"] == pytest.approx(p, abs=1e-6)
    assert set(rec) >= {"ir", "ur", "i_var", "u_var", "aopc_sufficiency", "sufficiency"}


# --- IR# and UR# with re-ranking ------------------------------------------------------------
def oracle_removals(words, target, most_important):
    words, count = tuple(words), 0
    while words:
        sc = loo(words, target)
        rank = order(sc)
        i = rank[0] if most_important else rank[-1]
        words = words[:i] + words[i + 1 :]
        count += 1
        if not words or q_label(words) != target:
            break
    return count


SENTENCES = [("d", "b", "c", "a", "f", "g", "e"), ("b", "e", "d", "g", "c"), ("e", "a", "b", "f", "d", "c")]


def test_ir_and_ur_rerank_after_each_removal(quad):
    exs = [Example(s) for s in SENTENCES]
    targets = [q_label(s) for s in SENTENCES]
    engine = ScoringEngine(quad)
    ir = removals_until_flip(quad, exs, targets, get_method("loo"), engine, most_important=True)
    ur = removals_until_flip(quad, exs, targets, get_method("loo"), engine, most_important=False)
    assert ir == [oracle_removals(s, t, True) for s, t in zip(SENTENCES, targets)]
    assert ur == [oracle_removals(s, t, False) for s, t in zip(SENTENCES, targets)]
    # Re-ranking matters: removing by the first ranking alone would give other counts.
    def static(words, target, most):
        rank = order(loo(words, target))
        seq = rank if most else rank[::-1]
        gone = []
        for i in seq:
            gone.append(i)
            rest = tuple(w for j, w in enumerate(words) if j not in gone)
            if not rest or q_label(rest) != target:
                return len(gone)
        return len(words)
    assert [static(s, t, False) for s, t in zip(SENTENCES, targets)] != ur
    recs = evaluate_examples(quad, exs, "loo", metrics=["ir", "ur"])
    assert [r["ir"] for r in recs] == ir and [r["ur"] for r in recs] == ur


def test_removals_until_flip_counts_the_whole_length_when_nothing_flips():
    model = make_bow()
    exs = [Example(("great", "fun", "the")), Example(("bad",))]
    got = removals_until_flip(model, exs, [1, 0], get_method("loo"), ScoringEngine(model), most_important=False)
    # "bad" alone is negative, and the empty input is positive (bias): one removal flips it.
    assert got == [3, 1]


# --- I-Var and U-Var --------------------------------------------------------------------------
def oracle_rank_shift_variance(before, after, removed):
    remaining = [i for i in range(len(before)) if i != removed]
    old = {w: r for r, w in enumerate(i for i in order(before) if i != removed)}
    new = {remaining[j]: r for r, j in enumerate(order(after))}
    shifts = [Fraction(new[i] - old[i]) for i in remaining]
    if len(shifts) < 2:
        return 0.0
    mean = sum(shifts) / len(shifts)
    return float(sum((s - mean) ** 2 for s in shifts) / len(shifts))


def test_rank_shift_variance_with_ties():
    before = [1.0, 3.0, 3.0, 0.5, 2.0]
    after = [2.0, 2.0, 0.1, 2.0]  # words 0, 2, 3, 4 (word 1 removed), ties again
    assert rank_shift_variance(before, after, 1) == pytest.approx(oracle_rank_shift_variance(before, after, 1))
    assert rank_shift_variance(before, after, 1) > 0
    assert rank_shift_variance([1.0, 2.0], [5.0], 0) == 0.0


def test_i_var_and_u_var_on_the_interaction_model(quad):
    exs = [Example(s) for s in SENTENCES]
    targets = [q_label(s) for s in SENTENCES]
    scores = [loo(s, t) for s, t in zip(SENTENCES, targets)]
    got = rank_variances(quad, exs, scores, targets, get_method("loo"), ScoringEngine(quad))
    nonzero = 0
    for s, t, sc, g in zip(SENTENCES, targets, scores, got):
        rank = order(sc)
        for key, pos in (("i_var", rank[0]), ("u_var", rank[-1])):
            rest = s[:pos] + s[pos + 1 :]
            expected = oracle_rank_shift_variance(sc, loo(rest, t), pos)
            assert g[key] == pytest.approx(expected, abs=1e-9), (s, key)
            nonzero += expected > 0
    assert nonzero >= 3  # the ranks do shift on this model


# --- ECE --------------------------------------------------------------------------------------
def oracle_ece(conf, correct, n_bins):
    """Bins [k/n, (k+1)/n), the last one closed, in exact arithmetic."""
    bins = {}
    for c, ok in zip(conf, correct):
        k = min(n_bins - 1, math.floor(Fraction(c) * n_bins))
        bins.setdefault(k, []).append((Fraction(c), ok))
    total = Fraction(0)
    for items in bins.values():
        acc = Fraction(sum(ok for _, ok in items), len(items))
        mean = sum(c for c, _ in items) / len(items)
        total += Fraction(len(items), len(conf)) * abs(acc - mean)
    return float(total)


def test_ece_with_confidences_on_the_bin_edges():
    conf = [0.25, 0.25, 0.5, 0.75, 0.75, 1.0, 0.0, 0.5, 0.625]
    correct = [True, False, True, False, False, True, False, True, True]
    got = expected_calibration_error(conf, correct, n_bins=4)
    assert got == pytest.approx(oracle_ece(conf, correct, 4), abs=1e-12)
    # An edge belongs to the bin above it: 0.5 with 0.625 and 0.75 with 1.0.
    assert expected_calibration_error([0.5, 0.75], [True, False], n_bins=4) == pytest.approx(
        oracle_ece([0.5, 0.75], [True, False], 4), abs=1e-12)
    assert expected_calibration_error([0.5, 0.75], [True, False], n_bins=4) == pytest.approx(0.5 * 0.5 + 0.5 * 0.75)
    assert expected_calibration_error([], []) == 0.0


def test_ece_default_has_fifteen_bins():
    conf = [0.5, 0.53, 0.55, 0.9, 0.95]  # 15 bins split the first three; 14 and 16 do not
    correct = [True, False, True, True, False]
    got = expected_calibration_error(conf, correct)
    assert got == pytest.approx(oracle_ece(conf, correct, 15), abs=1e-9)
    assert got != pytest.approx(oracle_ece(conf, correct, 16), abs=1e-9)
    assert got != pytest.approx(oracle_ece(conf, correct, 14), abs=1e-9)


def test_aggregate_by_hand():
    records = [
        {"uid": "a", "predicted": 1, "label": 1, "confidence": 0.9, "ir": 2, "i_var": 0.5},
        {"uid": "b", "predicted": 0, "label": 1, "confidence": 0.6, "ir": 4, "i_var": None},
        {"uid": "c", "predicted": 1, "label": None, "confidence": 0.7, "ir": 3},
    ]
    agg = aggregate(records)
    assert agg["accuracy"] == pytest.approx(0.5)
    assert agg["ece"] == pytest.approx(expected_calibration_error([0.9, 0.6], [True, False]))
    assert agg["fx"] == pytest.approx((0.9 + 0.6 + 0.7) / 3)
    assert agg["ir"] == pytest.approx(3.0) and agg["i_var"] == pytest.approx(0.5)
    assert "accuracy" not in aggregate(records[2:])


# --- AUC_rep ------------------------------------------------------------------------------------
class Always(MaskedWordModel):
    def __init__(self, word):
        self.word = word

    def distributions(self, example, positions):
        return [WordDistribution([self.word, "the"], torch.tensor([1.0, 0.0], dtype=torch.float64)) for _ in positions]


def test_auc_rep_of_examples_of_different_lengths_in_one_call_and_other_targets():
    model = make_bow()
    short = Example(("great", "fun", "movie"), uid="s")  # 20% of 3 -> max(1, 0): one word
    mid = Example(tuple("great fun the movie was not boring".split()), uid="m")  # 20% of 7 -> 1 (floor)
    long = Example(tuple("fun great the movie was not boring the movie great".split()), uid="l")  # 10 -> 2
    exs = [short, mid, long]
    scores = [[0.1, 0.9, 0.0], [5, 1, 0, 0, 0, 0, 9], [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]]  # ties: earlier first
    targets = [0, 1, 0]
    got = auc_rep(exs, scores, targets, Always("bad"), ScoringEngine(model))

    def curve(ex, sc, t, steps):
        pt = lambda ws: bow_p(ws) if t == 1 else 1 - bow_p(ws)
        words, out = list(ex.words), [pt(ex.words)]
        for pos in order(sc)[:steps]:
            words[pos] = "bad"
            out.append(pt(words))
        return sum((a + b) / 2 for a, b in zip(out, out[1:])) / (len(out) - 1)

    assert got == pytest.approx([curve(e, s, t, n) for e, s, t, n in zip(exs, scores, targets, (1, 1, 2))], abs=1e-6)
    half = auc_rep(exs[2:], scores[2:], targets[2:], Always("bad"), ScoringEngine(model), share=0.5)[0]
    assert half == pytest.approx(curve(long, scores[2], 0, 5), abs=1e-6)


def test_auc_rep_samples_from_the_distribution_given_earlier_replacements():
    """Each replacement is drawn given the sentence with the earlier replacements in place."""
    seen = []

    class Context(MaskedWordModel):
        def distributions(self, example, positions):
            seen.append(example.words)
            return [WordDistribution(["bad", "fun"], torch.tensor([0.5, 0.5], dtype=torch.float64)) for _ in positions]

    ex = Example(tuple("great fun the movie was not boring the movie great".split()), uid="x")
    a = auc_rep([ex], [[9, 8] + [0] * 8], [1], Context(), ScoringEngine(make_bow()), seed=3)
    b = auc_rep([ex], [[9, 8] + [0] * 8], [1], Context(), ScoringEngine(make_bow()), seed=3)
    assert a == b and len(seen) == 4
    assert seen[0] == ex.words and seen[1][0] in ("bad", "fun") and seen[1][1:] == ex.words[1:]


# --- IoT and the neutral score ----------------------------------------------------------------
def test_iot_with_ties_and_the_default_top_ten():
    tags = [4, 2, 3, 2, 1, 2, 2, 2, 2, 2, 2, 3]  # positives at 0, 2 and 11
    scores = [0.5, 0.5, 0.5, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.5]
    # Ranking: 3, 4, 5, 6, 7, 8, 9, 10, then the tied 0.5s in word order: 0, 1, 2, 11.
    assert iot(scores, tags) == pytest.approx(1 / 3)  # top 10 holds 0 and 1, not 2 or 11
    assert iot(scores, tags, top_k=11) == pytest.approx(2 / 3)
    assert iot(scores, [2] * 12) is None


def test_neutral_score_scales_by_the_largest_magnitude():
    scores = [-2.0, 0.5, 1.0, -0.5]
    tags = [1, 2, 3, 2]
    assert neutral_score(scores, tags) == pytest.approx((0.5 / 2 - 0.5 / 2) / 2)
    assert neutral_score([-4.0, 1.0], [1, 2]) == pytest.approx(0.25)
    assert neutral_score([0.0, 0.0], [2, 2]) == 0.0
    assert neutral_score([1.0], [3]) is None


def test_iot_and_neutral_through_evaluate_only_on_correct_positive_sentences():
    model = make_bow()
    pos = Example(("great", "the", "fun"), label=1, tags=(4, 2, 3))
    wrong = Example(("bad", "the"), label=1, tags=(3, 2))
    neg = Example(("bad", "boring"), label=0, tags=(0, 2))
    recs = evaluate_examples(model, [pos, wrong, neg], "loo", metrics=["iot", "neutral"])
    p = bow_p(pos.words)
    loo_pos = [p - bow_p(pos.words[:i] + pos.words[i + 1 :]) for i in range(3)]
    assert recs[0]["iot"] == iot(loo_pos, pos.tags) == 1.0
    assert "iot" not in recs[1] and "iot" not in recs[2]
    assert recs[0]["neutral"] == pytest.approx(neutral_score(loo_pos, pos.tags), abs=1e-6)
    pn = 1 - bow_p(neg.words)
    loo_neg = [pn - (1 - bow_p(neg.words[:i] + neg.words[i + 1 :])) for i in range(2)]
    assert recs[2]["neutral"] == pytest.approx(neutral_score(loo_neg, neg.tags), abs=1e-6)


# --- evaluate_examples wiring: each metric only when asked, with the given settings ------------
def test_aggregate_accuracy_with_an_odd_share_and_no_records():
    from pathologies import InputError

    records = [{"predicted": p, "label": l, "confidence": 0.8} for p, l in ((1, 1), (0, 0), (1, 0))]
    assert aggregate(records)["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(InputError, match="no records to aggregate"):
        aggregate([])


def test_evaluate_passes_share_and_bins_and_records_the_target():
    words = tuple("great fun the movie bad not boring the movie fun great".split())
    ex = Example(words, label=1)
    rec = evaluate_examples(make_bow(), [ex], "loo", metrics=["comprehensiveness", "aopc_sufficiency"], share=0.5, bins=(0.3,))[0]
    p = bow_p(words)
    sc = [p - bow_p(words[:i] + words[i + 1 :]) for i in range(11)]
    rank = order(sc)
    keep = lambda drop: [w for i, w in enumerate(words) if i not in set(drop)]
    assert rec["comprehensiveness"] == pytest.approx(p - bow_p(keep(rank[:6])), abs=1e-6)
    assert rec["aopc_sufficiency"] == pytest.approx(p - bow_p(keep(rank[4:])), abs=1e-6)
    assert set(rec) & {"sufficiency", "aopc_comprehensiveness", "ir", "i_var"} == set()
    assert rec["target"] == 1 and rec["method"] == "loo"
    assert evaluate_examples(make_bow(), [ex], metrics=["ir"])[0]["method"] == "gradient"  # the default method


def test_each_rank_variance_and_plausibility_metric_alone(quad):
    exs = [Example(SENTENCES[0])]
    only_i = evaluate_examples(quad, exs, "loo", metrics=["i_var"])[0]
    only_u = evaluate_examples(quad, exs, "loo", metrics=["u_var"])[0]
    both = rank_variances(quad, exs, [loo(SENTENCES[0], q_label(SENTENCES[0]))], [q_label(SENTENCES[0])], get_method("loo"), ScoringEngine(quad))[0]
    assert only_i["i_var"] == pytest.approx(both["i_var"]) and "u_var" not in only_i
    assert only_u["u_var"] == pytest.approx(both["u_var"]) and "i_var" not in only_u
    model = make_bow()
    untagged = Example(("great", "fun"), label=1)
    tagged = Example(("great", "the", "fun"), label=1, tags=(4, 2, 3))
    only_iot = evaluate_examples(model, [untagged, tagged], "loo", metrics=["iot"])
    only_neutral = evaluate_examples(model, [untagged, tagged], "loo", metrics=["neutral"])
    assert "iot" not in only_iot[0] and only_iot[1]["iot"] == 1.0 and "neutral" not in only_iot[1]
    assert "neutral" not in only_neutral[0] and "iot" not in only_neutral[1]
    assert only_neutral[1]["neutral"] == pytest.approx(
        neutral_score([bow_p(tagged.words) - bow_p(tagged.words[:i] + tagged.words[i + 1 :]) for i in range(3)], tagged.tags), abs=1e-6)
    assert neutral_score([], []) is None


def test_auc_rep_through_evaluate_with_a_masked_lm_object_or_folder(monkeypatch):
    import pathologies.models.mlm as mlm_module
    from pathologies import InputError

    model = make_bow()
    exs = [Example(tuple("great fun the movie was not boring".split()), uid="a")]
    with pytest.raises(InputError, match="auc_rep needs a masked LM"):
        evaluate_examples(model, exs, "loo", metrics=["auc_rep"])
    direct = auc_rep(exs, [loo_bow(exs[0].words)], [1], Always("bad"), ScoringEngine(model))
    rec = evaluate_examples(model, exs, "loo", metrics=["auc_rep"], mlm=Always("bad"))[0]
    assert rec["auc_rep"] == pytest.approx(direct[0], abs=1e-6)
    monkeypatch.setattr(mlm_module, "load_mlm", lambda path: Always("bad") if path == "mlm-dir" else None)
    rec = evaluate_examples(model, exs, "loo", metrics=["auc_rep"], mlm="mlm-dir")[0]
    assert rec["auc_rep"] == pytest.approx(direct[0], abs=1e-6)
    assert auc_rep([], [], [], Always("bad"), ScoringEngine(model)) == []


def loo_bow(words):
    p = bow_p(words)
    return [p - bow_p(words[:i] + words[i + 1 :]) for i in range(len(words))]


def test_dknn_metrics_through_evaluate_from_a_folder_and_uncalibrated(tmp_path):
    from pathologies.dknn import DkNN

    model = make_bow()
    train = [Example(("fun",), label=1)] * 3 + [Example(("boring",), label=0)] * 3
    exs = [Example(("great", "fun"), label=1), Example(("bad",), label=0)]
    dknn = DkNN(k=3).fit(model, train)
    dknn.save(tmp_path / "index")
    only_conf = evaluate_examples(model, exs, "loo", metrics=["conformity"], index=str(tmp_path / "index"))
    assert [r["conformity"] for r in only_conf] == [1.0, 1.0] and all("credibility" not in r for r in only_conf)
    uncal = evaluate_examples(model, exs, "loo", metrics=["dknn"], index=dknn)
    assert all("credibility" not in r for r in uncal)
    dknn.calibrate(model, train)
    cal = evaluate_examples(model, exs, "loo", metrics=["credibility"], index=dknn)
    assert [r["credibility"] for r in cal] == pytest.approx(dknn.predict(model, exs).credibility.tolist())
    assert all("conformity" not in r for r in cal)


def test_unknown_metrics_are_listed():
    from pathologies import InputError

    with pytest.raises(InputError, match=r"unknown metric\(s\) magic, foo; known: accuracy|unknown metric\(s\) magic, foo; known: comprehensiveness"):
        evaluate_examples(make_bow(), [Example(("great",))], "loo", metrics=["ir", "magic", "foo"])


def test_metric_stages_share_the_callers_engine(quad):
    """IR#, UR#, I-Var, U-Var and the reduction score every row through the engine they are given:
    a second run with the same engine runs the model on nothing."""
    exs = [Example(s) for s in SENTENCES]
    engine = ScoringEngine(quad)
    metrics = ["ir", "ur", "i_var", "u_var", "reduction"]
    first = evaluate_examples(quad, exs, "loo", metrics=metrics, engine=engine)
    calls = []
    real = quad.predict_proba
    quad.predict_proba = lambda batch: calls.append(len(batch)) or real(batch)
    try:
        again = evaluate_examples(quad, exs, "loo", metrics=metrics, engine=engine)
    finally:
        del quad.predict_proba
    assert again == first and calls == []


def test_ir_and_ur_with_gradient_importance_on_the_interaction_model(quad):
    from test_oracle_reduction import gradient_scores

    exs = [Example(s) for s in SENTENCES]
    targets = [q_label(s) for s in SENTENCES]

    def oracle(words, target, most):
        words, count = tuple(words), 0
        while words:
            rank = order(gradient_scores(words, target))
            i = rank[0] if most else rank[-1]
            words, count = words[:i] + words[i + 1 :], count + 1
            if not words or q_label(words) != target:
                break
        return count

    for most in (True, False):
        got = removals_until_flip(quad, exs, targets, get_method("gradient"), ScoringEngine(quad), most_important=most)
        assert got == [oracle(s, t, most) for s, t in zip(SENTENCES, targets)]


def test_rank_shift_variance_of_two_remaining_words():
    # Remove word 0; words 1 and 2 swap places: shifts +1 and -1, variance 1.
    assert rank_shift_variance([3.0, 2.0, 1.0], [1.0, 2.0], 0) == pytest.approx(1.0)
    assert rank_shift_variance([3.0, 2.0, 1.0], [2.0, 1.0], 0) == 0.0


# --- metrics/figures.py, metrics/base.py and the lazy package attributes ---------------------


def test_removal_curves_by_hand_with_ties_other_targets_and_a_cap():
    """Confidence in the target with k = 0..min(cap, L-1) most / least important words removed
    (ranked once; ties: the earlier word first); k = 0 is the original for both curves; one
    engine call for every variant of every example."""
    from pathologies.metrics.figures import MAX_REMOVED, removal_curves

    model = make_bow()
    engine = ScoringEngine(model)
    calls = []
    real = engine.probabilities
    engine.probabilities = lambda exs: calls.append(len(exs)) or real(exs)
    a = ("great", "bad", "fun", "the", "boring")
    b = ("not", "fun")
    scores = [[0.5, 2.0, 0.5, -1.0, 0.1], [1.0, 1.0]]  # a: ties 0/2; b: tie 0/1
    targets = [1, 0]  # neither is the prediction (a: p(pos) = 0.34, b: 0.68)

    def p(words, t):
        q = bow_p(words)
        return q if t == 1 else 1 - q

    def curve(words, sc, t, cap, most):
        rank = order(sc)
        out = []
        for k in range(0, min(cap, len(words) - 1) + 1):
            gone = set(rank[:k]) if most else set(rank[len(rank) - k :])
            out.append(p([w for i, w in enumerate(words) if i not in gone], t))
        return out

    got = removal_curves([Example(a), Example(b)], scores, targets, engine)
    assert MAX_REMOVED == 15 and calls == [(5 + 4) + (2 + 1)]
    for g, words, sc, t in zip(got, (a, b), scores, targets):
        assert set(g) == {"important", "unimportant"}
        assert g["important"] == pytest.approx(curve(words, sc, t, 15, True), abs=1e-6)
        assert g["unimportant"] == pytest.approx(curve(words, sc, t, 15, False), abs=1e-6)
    capped = removal_curves([Example(a)], scores[:1], [0], ScoringEngine(model), max_removed=2)[0]
    assert capped["important"] == pytest.approx(curve(a, scores[0], 0, 2, True), abs=1e-6)
    assert capped["unimportant"] == pytest.approx(curve(a, scores[0], 0, 2, False), abs=1e-6)
    assert len(capped["important"]) == len(capped["unimportant"]) == 3


class _Reps:
    def __init__(self, sentence):
        self.sentence = sentence


class _StubEngine:
    """Returns chosen sentence representations, one row per input, and records the inputs."""

    def __init__(self, rows):
        self.rows, self.seen = rows, []

    def representations(self, examples):
        self.seen.append([ex.words for ex in examples])
        import numpy as np

        return _Reps(torch.tensor(np.array(self.rows(examples)), dtype=torch.float32))


def test_representation_projection_is_the_top_two_principal_components():
    """Gram matrix of the 2-D points = that of the centred representations projected on their
    top-2 principal subspace (sign- and rotation-free); variants: the original, then 1..n least
    important removed, then 1..n most important removed (n = min(cap, L-1))."""
    import numpy as np

    from pathologies.metrics.figures import MAX_PROJECTED, representation_projection

    rng = np.random.default_rng(0)
    table = {w: rng.normal(size=5) * (i + 1) for i, w in enumerate("abcdefg")}
    engine = _StubEngine(lambda exs: [np.mean([table[w] for w in ex.words], 0) for ex in exs])
    words = tuple("abcde")
    scores = [0.1, 0.9, -0.3, 0.9, 0.0]  # order: 1, 3 (tie), 0, 4, 2
    out = representation_projection(engine, Example(words), scores)
    rank = [1, 3, 0, 4, 2]
    n = 4
    expect_words = [words]
    expect_words += [tuple(w for i, w in enumerate(words) if i not in rank[5 - k :]) for k in range(1, n + 1)]
    expect_words += [tuple(w for i, w in enumerate(words) if i not in rank[:k]) for k in range(1, n + 1)]
    assert engine.seen == [expect_words]
    assert MAX_PROJECTED == 8
    assert out["kind"] == ["original"] + ["unimportant removed"] * n + ["important removed"] * n
    assert out["k"] == [0, 1, 2, 3, 4, 1, 2, 3, 4]
    reps = np.array([np.mean([table[w] for w in ws], 0) for ws in expect_words])
    c = reps - reps.mean(0)
    vals, vecs = np.linalg.eigh(c.T @ c)
    top = vecs[:, np.argsort(vals)[::-1][:2]]
    xy = np.array(out["points"])
    assert xy.shape == (9, 2) and all(type(v) is float for pt in out["points"] for v in pt)
    assert xy @ xy.T == pytest.approx((c @ top) @ (c @ top).T, abs=1e-4)
    assert np.abs(xy).max() > 0.1
    # a cap below L - 1
    engine.seen.clear()
    capped = representation_projection(engine, Example(words), scores, max_removed=1)
    assert engine.seen == [[words, expect_words[1], expect_words[5]]] and capped["k"] == [0, 1, 1]


def test_representation_projection_degenerate_cases():
    from pathologies.metrics.figures import representation_projection

    # one-dimensional representations: the second coordinate is padded with zeros
    one = _StubEngine(lambda exs: [[float(len(ex.words))] for ex in exs])
    out = representation_projection(one, Example(("a", "b")), [1.0, 0.0])
    assert [abs(x) for x, _ in out["points"]] == pytest.approx([2 / 3, 1 / 3, 1 / 3])
    assert [y for _, y in out["points"]] == [0.0, 0.0, 0.0]
    # identical representations, and a one-word input: all points at the origin
    same = _StubEngine(lambda exs: [[1.0, 2.0, 3.0] for _ in exs])
    assert representation_projection(same, Example(("a", "b", "c")), [1.0, 2.0, 3.0])["points"] == [[0.0, 0.0]] * 5
    single = _StubEngine(lambda exs: [[1.0, 2.0, 3.0] for _ in exs])
    assert representation_projection(single, Example(("a",)), [1.0]) == {"points": [[0.0, 0.0]], "kind": ["original"], "k": [0]}


def test_metric_info_display_and_dict():
    from pathologies.metrics import METRICS, MetricInfo

    info = MetricInfo("x", "what x is", -1, 2, True, label="X!", needs=("mlm", "tags"))
    assert info.display == "X!" and MetricInfo("y", "d", 0, 1, False).display == "y"
    assert info.to_dict() == {
        "name": "x", "label": "X!", "needs": ["mlm", "tags"], "description": "what x is",
        "range": [-1, 2], "lower_is_better": True,
    }
    assert METRICS["auc_rep"].to_dict()["needs"] == ["mlm"] and METRICS["ece"].to_dict()["label"] == "ECE"


def test_lazy_metric_attributes():
    import pathologies.metrics as m
    from pathologies.metrics import removal

    assert m.ranking is removal.ranking and m.ERASER_BINS == (0.01, 0.05, 0.10, 0.20, 0.50)
    assert m.metric_records.__module__ == "pathologies.metrics.evaluate"
    with pytest.raises(AttributeError, match=r"^module 'pathologies.metrics' has no attribute 'nothing'$"):
        m.nothing


# --- survivors of the metrics run of cb0e18f ---------------------------------------------------


def test_exact_messages_of_aggregate_needs_and_unknown_metrics():
    from pathologies import InputError
    from pathologies.metrics import KNOWN, check_needs

    with pytest.raises(InputError, match="^no records to aggregate$"):
        aggregate([])
    with pytest.raises(InputError, match="^auc_rep needs a masked LM: --mlm DIR$"):
        check_needs(["auc_rep"], mlm=False, index=True)
    with pytest.raises(InputError, match=r"^conformity needs a DkNN index: --index DIR \(pathologies dknn fit\)$"):
        check_needs(["conformity"], mlm=True, index=False)
    with pytest.raises(InputError) as err:
        evaluate_examples(make_bow(), [Example(("great",))], "loo", metrics=["ir", "magic", "foo"])
    assert str(err.value) == f"unknown metric(s) magic, foo; known: {', '.join(KNOWN)}, reduction, dknn"


def test_dknn_prediction_in_evaluate_uses_the_callers_engine(monkeypatch):
    from pathologies.dknn import DkNN

    model = make_bow()
    train = [Example(s, label=int(bow_p(s) > 0.5)) for s in [("great",), ("bad",), ("fun", "the"), ("boring", "not")]]
    dknn = DkNN(k=2).fit(model, train)
    seen = []
    real = DkNN.predict
    monkeypatch.setattr(DkNN, "predict", lambda self, model, examples, engine=None, **kw: seen.append(engine) or real(self, model, examples, engine, **kw))
    engine = ScoringEngine(model)
    evaluate_examples(model, [Example(("great", "movie"))], "loo", metrics=["conformity"], index=dknn, engine=engine)
    assert seen == [engine]


def test_metric_records_default_share_is_ten_percent():
    from pathologies.metrics import metric_records

    model = make_bow()
    words = ("great", "fun", "bad", "the", "movie", "not", "boring", "great", "fun", "bad", "the", "movie")  # 12 words
    ex = Example(words)
    engine = ScoringEngine(model)
    method = get_method("loo")
    result = method.run(model, [ex], None, engine)
    got = metric_records(model, [ex], method, result, ["comprehensiveness"], engine)[0]["comprehensiveness"]
    assert got == metric_records(model, [ex], method, result, ["comprehensiveness"], engine, share=0.10)[0]["comprehensiveness"]
    t = result.targets[0]
    top = order(result.scores[0])[:2]  # ceil(0.1 * 12) = 2 words
    p = lambda ws: bow_p(ws) if t == 1 else 1 - bow_p(ws)  # noqa: E731
    assert got == pytest.approx(p(words) - p([w for i, w in enumerate(words) if i not in top]), abs=1e-6)


def test_reduction_metrics_rank_with_the_method_evaluated(quad):
    """On ("f", "d", "g", "b") greedy reduction ranked by LOO stops at two words, ranked by the
    gradient at one (test_oracle_reduction's closed forms)."""
    from test_oracle_reduction import gradient_scores, loo_scores, oracle_greedy

    s = ("f", "d", "g", "b")
    by_loo, by_gradient = oracle_greedy(s, scorer=loo_scores)[1], oracle_greedy(s, scorer=gradient_scores)[1]
    assert len(by_loo) != len(by_gradient)
    for name, final in (("loo", by_loo), ("gradient", by_gradient)):
        rec = evaluate_examples(quad, [Example(s)], name, metrics=["reduced_length", "reduced_confidence"])[0]
        assert rec["reduced_length"] == len(final)
        assert rec["reduced_confidence"] == pytest.approx(qp(final, q_label(s)), abs=1e-6)


def test_rank_variances_with_a_different_target_per_example(quad):
    """Targets that are not the predictions and differ between examples: each example's
    reduced inputs are scored for its own target."""
    exs = [Example(s) for s in SENTENCES]
    targets = [1 - q_label(s) if i % 2 else q_label(s) for i, s in enumerate(SENTENCES)]
    assert len(set(targets)) == 2
    scores = [loo(s, t) for s, t in zip(SENTENCES, targets)]
    got = rank_variances(quad, exs, scores, targets, get_method("loo"), ScoringEngine(quad))
    for s, t, sc, g in zip(SENTENCES, targets, scores, got):
        rank = order(sc)
        for key, pos in (("i_var", rank[0]), ("u_var", rank[-1])):
            expected = oracle_rank_shift_variance(sc, loo(s[:pos] + s[pos + 1 :], t), pos)
            assert g[key] == pytest.approx(expected, abs=1e-9), (s, key)


def test_auc_rep_is_seeded_per_example_and_defaults_to_seed_zero():
    """Each example's draws depend on the seed and its words only (the one seed rule of
    issue 26: not its uid, nor its place in a batch), and seed 0 by default."""

    class Spread(MaskedWordModel):
        def distributions(self, example, positions):
            return [WordDistribution(["great", "bad", "fun", "boring", "the"], torch.tensor([0.3, 0.3, 0.2, 0.1, 0.1])) for _ in positions]

    model = make_bow()
    texts = ["the movie not fun movie", "movie the not fun movie", "the movie fun not movie", "not the movie fun movie",
             "fun movie not the movie", "the not movie movie fun"]
    exs = [Example(tuple(t.split()), uid=f"u{i}") for i, t in enumerate(texts)]
    scores = [[5, 4, 3, 2, 1]] * 6  # one word replaced (20% of 5)
    engine = ScoringEngine(model)
    together = auc_rep(exs, scores, [1] * 6, Spread(), engine)
    alone = [auc_rep([ex], [sc], [1], Spread(), engine)[0] for ex, sc in zip(exs, scores)]
    assert together == alone and len(set(together)) > 1  # the draws differ between sentences
    renamed = [Example(ex.words, uid=f"other{i}") for i, ex in enumerate(exs)]
    assert auc_rep(renamed, scores, [1] * 6, Spread(), engine) == together  # a uid is not part of the seed
    assert together == auc_rep(exs, scores, [1] * 6, Spread(), engine, seed=0)
    assert together != auc_rep(exs, scores, [1] * 6, Spread(), engine, seed=1)
