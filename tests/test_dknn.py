"""Deep k-nearest neighbours: conformity, calibrated p-values, saving, conformity leave-one-out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pathologies import Example, InputError
from pathologies.attribution import get_method
from pathologies.dknn import DkNN
from pathologies.engine import ScoringEngine
from pathologies.explain import explain
from pathologies.models import TextCNN, load_classifier
from tiny_models import make_bert_dir, make_bow

# In the BoW model a sentence's representation is (mean word weight, 1): neighbours are the
# training sentences with the nearest mean weight, under both metrics.
POS, NEG = Example(("fun",), label=1), Example(("boring",), label=0)  # weights 1.0 and -1.5
QUERY = Example(("great", "boring", "not"))  # weights 2, -1.5, -0.5: predicted positive


@pytest.fixture(scope="module")
def bow():
    return make_bow()


def fitted(model, train, k=5, metric="cosine", **kw) -> DkNN:
    return DkNN(k=k, metric=metric, **kw).fit(model, train)


@pytest.fixture(scope="module")
def cnn_data():
    """A tiny random TextCNN and noisy synthetic labels: train, calibration and test thirds."""
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(40)]
    weights = rng.normal(0, 1, len(vocab))

    def make(n):
        out = []
        for _ in range(n):
            idx = rng.integers(0, len(vocab), rng.integers(4, 10))
            y = int(rng.random() < 1 / (1 + np.exp(-weights[idx].sum())))
            out.append(Example(tuple(vocab[i] for i in idx), label=y))
        return out

    model = TextCNN.create(["neg", "pos"], ["<pad>", "<unk>", "<sep>"] + vocab, glove=False, dim=16, filters=8)
    return model, make(400), make(400), make(400)


# --- conformity ---------------------------------------------------------------------------
def test_conformity_is_one_when_every_neighbour_shares_the_predicted_label(bow):
    dknn = fitted(bow, [POS] * 6)
    out = dknn.predict(bow, [QUERY])
    assert dknn.layers_ == ["embedding"]  # the BoW sentence vector is that layer: not added twice
    assert out.model_prediction.tolist() == [1]
    assert out.conformity.tolist() == [1.0] and out.dknn_conformity.tolist() == [1.0]
    assert out.neighbour_labels["embedding"].tolist() == [[1] * 5]


def test_conformity_is_zero_when_no_neighbour_shares_the_predicted_label(bow):
    out = fitted(bow, [NEG] * 6).predict(bow, [QUERY])
    assert out.model_prediction.tolist() == [1]
    assert out.conformity.tolist() == [0.0]
    assert out.prediction.tolist() == [0] and out.dknn_conformity.tolist() == [1.0]


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_both_metrics_find_the_nearest_neighbours(bow, metric):
    dknn = fitted(bow, [POS] * 5 + [NEG] * 5, metric=metric)
    assert type(dknn.indexes_["embedding"]).__name__ == ("IndexFlatIP" if metric == "cosine" else "IndexFlatL2")
    queries = [Example(w) for w in [("great", "not"), ("boring", "not"), ("fun", "movie")]]
    assert fitted(bow, [POS] * 5 + [NEG] * 5, metric=metric).predict(bow, queries).prediction.tolist() == [1, 0, 1]


# --- calibrated p-values ------------------------------------------------------------------
def test_true_label_p_values_are_valid_on_held_out_data(cnn_data):
    model, train, calibration, test = cnn_data
    dknn = DkNN(k=25).fit(model, train).calibrate(model, calibration)
    assert dknn.layers_ == ["embedding", "conv_3", "conv_4", "conv_5", "sentence"]
    out = dknn.predict(model, test)
    y = np.array([ex.label for ex in test])
    p = out.p_value_of(y)
    grid = np.linspace(0.05, 0.95, 19)
    gap = np.array([(p <= t).mean() for t in grid]) - grid
    # Conformal validity: P(p <= t) <= t (up to sampling noise); ties make it a little conservative.
    assert gap.max() <= 0.04 and gap.min() >= -0.08
    correct = out.prediction == y
    assert np.array_equal(out.credibility[correct], p[correct])  # credibility = p of the prediction
    assert 0 <= out.credibility.min() and out.credibility.max() <= 1
    assert ((0 <= out.confidence) & (out.confidence <= 1)).all()
    # Credible predictions are more often right than the others.
    high = out.credibility >= np.median(out.credibility)
    assert correct[high].mean() > correct[~high].mean()


def test_credibility_needs_calibration(bow):
    out = fitted(bow, [POS] * 6).predict(bow, [QUERY])
    assert out.p_values is None
    with pytest.raises(InputError, match="not calibrated"):
        out.credibility


# --- saving -------------------------------------------------------------------------------
def test_a_saved_index_answers_exactly_as_the_one_in_memory(cnn_data, tmp_path):
    model, train, calibration, test = cnn_data
    dknn = DkNN(k=10, metric="l2").fit(model, train[:200]).calibrate(model, calibration[:100])
    dknn.save(tmp_path / "index", meta={"model": "tiny"})
    assert {f.suffix for f in (tmp_path / "index").iterdir()} == {".json", ".npy", ".faiss"}
    loaded = DkNN.load(tmp_path / "index")
    a, b = dknn.predict(model, test), loaded.predict(model, test)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.p_values, b.p_values)
    for name in dknn.layers_:
        assert np.array_equal(a.neighbour_labels[name], b.neighbour_labels[name])
    assert loaded.meta_ == {"model": "tiny"} and loaded.k == 10 and loaded.metric == "l2"
    json.dumps(a.records())


# --- conformity leave-one-out ----------------------------------------------------------
def test_conformity_loo_equals_the_analytic_change(bow, tmp_path):
    dknn = fitted(bow, [POS] * 5 + [NEG] * 5, k=5)
    dknn.save(tmp_path / "index")
    att = explain(bow, QUERY, "conformity", index=str(tmp_path / "index"))[0]
    # Without "great" the neighbours are the negative sentences; otherwise the positive ones.
    assert att.scores == [1.0, 0.0, 0.0] and att.target == 1 and att.method == "conformity"
    assert json.loads(json.dumps(att.settings))["index"] == str(tmp_path / "index")


def test_conformity_loo_scores_every_word_and_never_the_fixed_segment(cnn_data):
    model, train, calibration, _ = cnn_data
    dknn = DkNN(k=10).fit(model, train).calibrate(model, calibration)
    examples = [Example(("w1", "w2", "w3", "w4"), fixed=("w5", "w6")), Example(("w7",)), Example(("w8", "w9"))]
    engine = ScoringEngine(model)
    seen = []
    compute = engine.representations
    engine.representations = lambda variants: seen.extend(variants) or compute(variants)
    for score in ("conformity", "credibility"):
        method = get_method("conformity", index=dknn, score=score)
        scores, _, targets = method.attribute(model, examples, None, engine)
        assert [len(s) for s in scores] == [4, 1, 2]
        out = dknn.predict(model, examples)
        assert targets == out.model_prediction.tolist()
        value = (lambda o, t: o.conformity_of(t)) if score == "conformity" else (lambda o, t: o.p_value_of(t))
        for ex, sc, t in zip(examples, scores, targets):
            drop = dknn.predict(model, [ex.without([i]) for i in range(len(ex.words))])
            full = value(dknn.predict(model, [ex]), [t])[0]
            assert sc == pytest.approx((full - value(drop, [t] * len(ex.words))).tolist())
    pairs = [v for v in seen if v.fixed is not None]
    assert len(pairs) == 2 * 5  # the pair and its 4 deletions, for each score
    assert all(v.fixed == ("w5", "w6") and v.fixed_first for v in pairs)


# --- the engine ---------------------------------------------------------------------------
def test_engine_representations_match_the_model_in_order_and_fill_the_score_cache(cnn_data):
    model, train, *_ = cnn_data
    rows = train[:30] + train[:5]
    engine = ScoringEngine(model, batch_tokens=40)
    reps = engine.representations(rows)
    direct = model.representations(rows)
    for name, v in direct.layers.items():
        assert torch.allclose(reps.layers[name], v, atol=1e-5)
    assert torch.allclose(reps.sentence, direct.sentence, atol=1e-5)
    engine.probabilities(rows)
    assert engine.stats.computed == 0 and engine.stats.cache_hits == 30


def test_hf_models_add_the_cls_vector_as_the_sentence_layer(tmp_path):
    bert = load_classifier(str(make_bert_dir(tmp_path / "bert")))
    train = [Example.from_text(s, label=i % 2) for i, s in enumerate(["the movie was great", "bad film", "a dog runs", "nobody sleeps"])]
    dknn = DkNN(k=2).fit(bert, train)
    assert dknn.layers_ == ["embeddings", "layer_1", "layer_2", "sentence"]
    assert dknn.predict(bert, [Example.pair("a man sleeps", "nobody sleeps")]).counts.sum() == 8


# --- bad input ----------------------------------------------------------------------------
def test_bad_input_is_a_clear_error(bow, cnn_data):
    with pytest.raises(InputError, match="not fitted"):
        DkNN().predict(bow, [QUERY])
    with pytest.raises(InputError, match="larger than the training set"):
        DkNN(k=7).fit(bow, [POS] * 6)
    with pytest.raises(InputError, match="fitted on a model with other layers"):
        fitted(bow, [POS] * 6).predict(cnn_data[0], [QUERY])
    with pytest.raises(InputError, match="metric"):
        DkNN(metric="manhattan")
    with pytest.raises(InputError, match="no label"):
        DkNN(k=1).fit(bow, [QUERY])
    with pytest.raises(InputError, match="unknown layer"):
        DkNN(k=1, layers=["conv_3"]).fit(bow, [POS])
    with pytest.raises(InputError, match="needs a DkNN index"):
        get_method("conformity")
    with pytest.raises(InputError, match="calibrated"):
        get_method("conformity-credibility", index=fitted(bow, [POS] * 6))
    with pytest.raises(InputError, match="not a DkNN index"):
        DkNN.load("/nonexistent/index")


# --- command line -------------------------------------------------------------------------
def test_cli_fit_writes_a_calibrated_index(shared_data, tmp_path):
    from typer.testing import CliRunner

    from pathologies.cli import app

    model = TextCNN.create(["negative", "positive"], ["<pad>", "<unk>", "<sep>", "the", "good", "bad"], glove=False, dim=8, filters=4)
    model.save(tmp_path / "model")
    args = ["dknn", "fit", str(tmp_path / "model"), "--data", "sst2:train:60", "--out", str(tmp_path / "index"), "--k", "5"]
    result = CliRunner().invoke(app, args + ["--calibration", "sst2:dev:40", "--data-dir", str(shared_data)])
    assert result.exit_code == 0, result.output
    dknn = DkNN.load(tmp_path / "index")
    assert len(dknn.train_labels_) == 60 and len(dknn.calibration_) == 40
    assert dknn.meta_["calibration"] == "sst2:dev:40"
    att = explain(model, "the good film", "conformity-credibility", index=str(tmp_path / "index"))[0]
    assert len(att.scores) == 3 and att.settings["score"] == "credibility"
    out = tmp_path / "conformity-run"
    explain_args = ["explain", str(tmp_path / "model"), "the good film", "--method", "conformity"]
    result = CliRunner().invoke(app, explain_args + ["--index", str(tmp_path / "index"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    from pathologies.audit import Run

    record = Run.load(out).records["attributions"][0]
    assert record["method"] == "conformity" and len(record["scores"]) == 3
    assert record["settings"]["index"] == str(tmp_path / "index")
    result = CliRunner().invoke(app, explain_args)
    assert result.exit_code != 0 and "needs a DkNN index" in result.output
    result = CliRunner().invoke(app, args + ["--calibration", "sst2:train", "--data-dir", str(shared_data)])
    assert result.exit_code == 2 and "held-out" in result.output
