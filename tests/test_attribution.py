"""Attribution methods against analytic values on a model that is a known function of its words."""

from __future__ import annotations

import json
import math

import pytest
import torch

from pathologies import Example, InputError
from pathologies.attribution import get_method
from pathologies.engine import ScoringEngine
from pathologies.audit import explain_to_file
from pathologies.explain import explain
from pathologies.models import load_classifier
from tiny_models import BOW_WEIGHTS, UNK_WEIGHT, bow_p, make_bert_dir, make_bow

WORDS = ["the", "movie", "was", "great", "fun", "not", "boring"]


def log2_odds(p):
    return math.log2(p) - math.log2(1 - p)


@pytest.fixture()
def bow():
    return make_bow()


def test_leave_one_out_equals_the_analytic_difference(bow):
    ex = Example(tuple(WORDS))
    att = explain(bow, ex, "loo", target=1)[0]
    p = bow_p(WORDS)
    expected = [p - bow_p(WORDS[:i] + WORDS[i + 1 :]) for i in range(len(WORDS))]
    assert att.scores == pytest.approx(expected, abs=1e-6)
    assert att.probs[1] == pytest.approx(p, abs=1e-6)


def test_leave_one_out_log_odds_is_the_weight_of_evidence(bow):
    ex = Example(tuple(WORDS))
    att = explain(bow, ex, "loo-log-odds", target=1)[0]
    p = bow_p(WORDS)
    expected = [log2_odds(p) - log2_odds(bow_p(WORDS[:i] + WORDS[i + 1 :])) for i in range(len(WORDS))]
    assert att.scores == pytest.approx(expected, abs=1e-4)
    # For a linear model the weight of evidence of a word is its weight, in bits.
    assert att.scores[3] == pytest.approx(BOW_WEIGHTS["great"] / math.log(2), abs=1e-4)


def test_gradient_equals_embedding_dot_gradient(bow):
    ex = Example(tuple(WORDS))
    signed = explain(bow, ex, "gradient", target=1)[0].scores
    expected = [BOW_WEIGHTS.get(w, UNK_WEIGHT) / 2 for w in WORDS]
    assert signed == pytest.approx(expected, abs=1e-6)
    neg = explain(bow, ex, "gradient", target=0)[0].scores
    assert neg == pytest.approx([-e for e in expected], abs=1e-6)
    assert explain(bow, ex, "gradient-abs", target=1)[0].scores == pytest.approx([abs(e) for e in expected], abs=1e-6)
    # The gradient of the positive logit w.r.t. every embedding is v / 2 = (0.5, 0).
    assert explain(bow, ex, "gradient-l2", target=1)[0].scores == pytest.approx([0.5] * len(WORDS), abs=1e-6)


@pytest.mark.parametrize("baseline, weight", [("zero", 0.0), ("pad", 0.0), ("unk", UNK_WEIGHT)])
def test_erasure_equals_the_analytic_replacement(bow, baseline, weight):
    ex = Example(tuple(WORDS))
    att = explain(bow, ex, f"erasure-{baseline}", target=1)[0]
    p = bow_p(WORDS)
    s = sum(BOW_WEIGHTS.get(w, UNK_WEIGHT) for w in WORDS) + 0.25
    expected = [p - 1 / (1 + math.exp(-(s - BOW_WEIGHTS.get(w, UNK_WEIGHT) + weight))) for w in WORDS]
    assert att.scores == pytest.approx(expected, abs=1e-6)


def test_integrated_gradients_is_complete(bow):
    ex = Example(tuple(WORDS))
    att = explain(bow, ex, "integrated-gradients", target=1, n_steps=300)[0]
    # Baseline: every word at the padding embedding (zero) -> p = sigmoid(bias).
    assert sum(att.scores) == pytest.approx(bow_p(WORDS) - 1 / (1 + math.exp(-0.25)), abs=2e-3)
    assert att.scores[3] > 0 > att.scores[6]


def test_smoothgrad_runs_through_captum(bow):
    att = explain(bow, Example(tuple(WORDS)), "smoothgrad", target=1, nt_samples=4)[0]
    assert len(att.scores) == len(WORDS)
    assert att.scores[3] > 0 > att.scores[6]


def test_perturbations_never_touch_the_fixed_segment(bow):
    ex = Example(("great", "fun"), fixed=("boring", "movie"))
    method = get_method("loo")
    for v in method.variants(ex):
        assert v.fixed == ("boring", "movie")
    att = explain(bow, ex, "loo", target=1)[0]
    assert len(att.scores) == 2 and att.fixed == ["boring", "movie"]
    full = ["boring", "movie", "great", "fun"]
    assert att.scores[0] == pytest.approx(bow_p(full) - bow_p(["boring", "movie", "fun"]), abs=1e-6)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return load_classifier(str(make_bert_dir(tmp_path_factory.mktemp("bert"))))


@pytest.mark.parametrize("method", ["gradient", "gradient-l2", "loo", "erasure-unk", "integrated-gradients"])
def test_special_tokens_get_no_score(bert, method):
    ex = Example.pair("a man sleeps outside", "nobody sleeps")
    att = explain(bert, ex, method, **({"n_steps": 8} if method == "integrated-gradients" else {}))[0]
    assert att.words == ["nobody", "sleeps"] and len(att.scores) == 2


def test_one_word_and_over_long_inputs(bert):
    one = explain(bert, "great", "loo")[0]
    assert len(one.scores) == 1  # scored against the empty input
    with pytest.warns(UserWarning, match="dropped the last"):
        long = explain(bert, " ".join(["movie"] * 100), "loo")[0]
    assert len(long.words) == 62


def test_bad_inputs_are_clear_errors(bow):
    with pytest.raises(InputError, match="empty text"):
        explain(bow, "  ", "loo")
    with pytest.raises(InputError, match="not one of the model's labels"):
        explain(bow, "great", "loo", target="neutral")
    with pytest.raises(InputError, match="unknown attribution method"):
        explain(bow, "great", "magic")
    assert explain(bow, "great", "loo", target="negative")[0].target == 0


def test_target_defaults_to_the_predicted_class(bow):
    assert explain(bow, "bad boring", "loo")[0].target == 0
    assert explain(bow, "great fun", "loo")[0].target == 1


def test_many_examples_share_batches(bow):
    exs = [Example.from_text(s) for s in ["great fun", "the movie was bad", "not boring", "great"]]
    engine = ScoringEngine(bow)
    explain(bow, exs, "loo", engine=engine)
    assert engine.stats.batches == 2  # originals in one call, every variant of every example in one


def test_explain_to_file_writes_a_run_that_resumes(bow, tmp_path):
    exs = [Example.from_text(t, uid=f"ex{i}") for i, t in enumerate(["great fun", "bad", "the movie", "not boring", "fun", "great"])]
    whole = explain_to_file(bow, exs, tmp_path / "whole", "loo", chunk=2, show_progress=False)
    assert [a.uid for a in whole] == [f"ex{i}" for i in range(6)]
    assert [a.scores for a in whole] == [a.scores for a in explain(bow, exs, "loo")]
    again = explain_to_file(bow, exs, tmp_path / "whole", "loo", chunk=2, show_progress=False)  # nothing left to do
    assert again == whole
    with pytest.raises(Exception, match="spec.methods"):
        explain_to_file(bow, exs, tmp_path / "whole", "gradient", chunk=2, show_progress=False)


def test_gradient_takes_prediction_and_probabilities_from_its_own_pass(bow):
    exs = [Example.from_text(s) for s in ["bad boring", "great fun", "the movie"]]
    atts = explain(bow, exs, "gradient")
    for ex, att in zip(exs, atts):
        p = bow_p(ex.words)
        assert att.target == int(p > 0.5)
        assert att.probs[1] == pytest.approx(p, abs=1e-6)
        expected = [BOW_WEIGHTS.get(w, UNK_WEIGHT) / 2 * (1 if att.target else -1) for w in ex.words]
        assert att.scores == pytest.approx(expected, abs=1e-6)
