"""DkNN against a brute-force nearest-neighbour search and the p-value formula written out.

A seeded random TextCNN gives continuous, tie-free representations; the oracle takes them
from ``model.representations``, finds each layer's k nearest training rows with numpy
(cosine or L2), counts the labels, and computes the conformal p-values by definition
(|{a in A : a >= alpha}| / |A|) over integer nonconformity scores, which tie a lot.
"""

from __future__ import annotations

import numpy as np
import pytest

from pathologies import Example
from pathologies.attribution import get_method
from pathologies.dknn import DkNN
from pathologies.engine import ScoringEngine
from pathologies.models import TextCNN

VOCAB = [f"w{i}" for i in range(30)]


def make_examples(rng, n, n_labels):
    out = []
    for _ in range(n):
        idx = rng.integers(0, len(VOCAB), rng.integers(5, 9))
        out.append(Example(tuple(VOCAB[i] for i in idx), label=int(idx.sum() % n_labels)))
    return out


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(7)
    model = TextCNN.create(["a", "b", "c"], ["<pad>", "<unk>", "<sep>"] + VOCAB, glove=False, dim=12, filters=6, seed=3)
    return model, make_examples(rng, 60, 3), make_examples(rng, 25, 3), make_examples(rng, 12, 3)


def oracle_counts(model, train, queries, k, metric, layers):
    tr, q = model.representations(train), model.representations(queries)
    labels = np.array([ex.label for ex in train])
    counts = np.zeros((len(queries), model.n_labels), dtype=int)
    neighbours = {}
    for name in layers:
        get = (lambda r: r.sentence) if name == "sentence" and name not in tr.layers else (lambda r: r.layers[name])
        a, b = get(tr).double().numpy(), get(q).double().numpy()
        if metric == "cosine":
            assert (np.linalg.norm(a, axis=1) > 0).all() and (np.linalg.norm(b, axis=1) > 0).all()
            a = a / np.linalg.norm(a, axis=1, keepdims=True)
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
            dist = -(b @ a.T)
        else:
            dist = ((b[:, None, :] - a[None, :, :]) ** 2).sum(-1)
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
        neighbours[name] = labels[nearest]
        for i in range(len(queries)):
            for j in nearest[i]:
                counts[i, labels[j]] += 1
    return counts, neighbours


def oracle_p_values(calibration_alpha, counts, n_neighbours):
    A = list(calibration_alpha)
    return np.array([[sum(a >= n_neighbours - c for a in A) / len(A) for c in row] for row in counts])


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_counts_conformity_and_credibility_equal_brute_force(setup, metric):
    model, train, calibration, test = setup
    k = 7
    dknn = DkNN(k=k, metric=metric).fit(model, train).calibrate(model, calibration)
    layers = dknn.layers_
    n = k * len(layers)
    counts, neighbours = oracle_counts(model, train, test, k, metric, layers)
    out = dknn.predict(model, test)
    assert out.n_neighbours == dknn.n_neighbours == n
    assert np.array_equal(out.counts, counts)
    for name in layers:
        assert np.array_equal(np.sort(out.neighbour_labels[name], 1), np.sort(neighbours[name], 1))
    # Calibration: alpha = neighbours not labelled with the true label, sorted.
    cal_counts, _ = oracle_counts(model, train, calibration, k, metric, layers)
    alpha = sorted(n - cal_counts[i, ex.label] for i, ex in enumerate(calibration))
    assert dknn.calibration_.tolist() == alpha
    assert len(set(alpha)) < len(alpha)  # ties: the >= in the p-value matters
    p = oracle_p_values(alpha, counts, n)
    assert np.allclose(out.p_values, p)
    pred = counts.argmax(1)
    model_pred = model.predict_proba(test).argmax(1).numpy()
    assert np.array_equal(out.prediction, pred) and np.array_equal(out.model_prediction, model_pred)
    assert np.allclose(out.credibility, p[np.arange(len(test)), pred])
    assert np.allclose(out.conformity, counts[np.arange(len(test)), model_pred] / n)
    assert np.allclose(out.dknn_conformity, counts.max(1) / n)
    second = np.sort(p, 1)[:, -2]
    assert np.allclose(out.confidence, 1 - second)
    for values in (out.conformity, out.dknn_conformity, out.credibility, out.confidence, out.p_values):
        assert (values >= 0).all() and (values <= 1).all()
    for r, c, cred in zip(out.records(), counts, out.credibility):
        assert r["counts"] == c.tolist() and r["credibility"] == pytest.approx(float(cred))
        assert r["prediction"] == int(c.argmax()) and 0 <= r["conformity"] <= 1


def test_p_values_by_hand_with_ties():
    dknn = DkNN(k=2)
    dknn.layers_, dknn.indexes_, dknn.n_labels_ = ["x", "y"], {}, 3
    dknn.calibration_ = np.array([0, 1, 1, 2, 4])
    # n_neighbours = 4; counts (4, 0, 0) -> alpha (0, 4, 4); (2, 1, 1) -> (2, 3, 3).
    p = dknn.p_values(np.array([[4, 0, 0], [2, 1, 1], [1, 3, 0]]))
    assert p.tolist() == [[1.0, 0.2, 0.2], [0.4, 0.2, 0.2], [0.2, 0.8, 0.2]]


def test_conformity_and_credibility_loo_equal_brute_force_for_every_target(setup):
    model, train, calibration, _ = setup
    dknn = DkNN(k=5).fit(model, train).calibrate(model, calibration)
    ex = Example(("w1", "w5", "w9", "w13", "w2"))
    n = dknn.n_neighbours
    for score in ("conformity", "credibility"):
        for t in range(3):  # the prediction and the other classes
            got = get_method("conformity", index=dknn, score=score).scores(model, [ex], [t])[0]
            rows = [ex] + [ex.without([i]) for i in range(len(ex.words))]
            counts, _ = oracle_counts(model, train, rows, 5, "cosine", dknn.layers_)
            if score == "conformity":
                value = counts[:, t] / n
            else:
                value = oracle_p_values(dknn.calibration_.tolist(), counts, n)[:, t]
            assert got == pytest.approx((value[0] - value[1:]).tolist(), abs=1e-9)
            assert all(-1 <= s <= 1 for s in got)


def test_conformity_attribution_targets_default_to_the_prediction(setup):
    model, train, *_ = setup
    dknn = DkNN(k=5).fit(model, train)
    exs = [Example(("w1", "w5", "w9")), Example(("w3", "w4"))]
    method = get_method("conformity", index=dknn)
    scores, probs, targets = method.attribute(model, exs, None, ScoringEngine(model))
    assert targets == model.predict_proba(exs).argmax(1).tolist()
    assert np.allclose(probs.numpy(), model.predict_proba(exs).numpy(), atol=1e-6)
    assert scores == [method.scores(model, [ex], [t])[0] for ex, t in zip(exs, targets)]
    assert method.settings() == {"index": None, "score": "conformity", "k": 5, "metric": "cosine", "layers": dknn.layers_}
    assert method.name == "conformity" and get_method("conformity-credibility", index=dknn.calibrate(model, train[:10])).name == "conformity-credibility"


def test_chosen_layers_only(setup):
    model, train, calibration, test = setup
    dknn = DkNN(k=4, layers=["conv_3", "sentence", "conv_3"]).fit(model, train)
    assert dknn.layers_ == ["conv_3", "sentence"] and dknn.n_neighbours == 8
    counts, _ = oracle_counts(model, train, test, 4, "cosine", ["conv_3", "sentence"])
    assert np.array_equal(dknn.predict(model, test).counts, counts)


def test_save_and_load_keep_calibration_and_its_absence(setup, tmp_path):
    model, train, calibration, test = setup
    dknn = DkNN(k=3).fit(model, train[:20])
    dknn.save(tmp_path / "i")
    assert DkNN.load(tmp_path / "i").calibration_ is None
    dknn.calibrate(model, calibration).save(tmp_path / "i")
    loaded = DkNN.load(tmp_path / "i")
    assert loaded.calibration_.tolist() == dknn.calibration_.tolist()
    dknn.calibration_ = None
    dknn.save(tmp_path / "i")  # an uncalibrated index overwrites the calibrated one
    assert DkNN.load(tmp_path / "i").calibration_ is None
    assert "uncalibrated" in repr(DkNN.load(tmp_path / "i")) and "k=3" in repr(dknn)


# --- the records, the saved folder and the messages, field by field ------------------------------
def test_records_field_by_field(setup):
    model, train, calibration, test = setup
    dknn = DkNN(k=3).fit(model, train)
    out = dknn.predict(model, test[:2])
    r = out.records()[0]
    assert set(r) == {"prediction", "model_prediction", "credibility", "conformity", "dknn_conformity", "counts",
                      "p_values", "neighbour_labels"}
    assert r["credibility"] is None and r["p_values"] is None
    assert r["model_prediction"] == int(out.model_prediction[0])
    assert r["dknn_conformity"] == pytest.approx(float(out.dknn_conformity[0]))
    assert r["neighbour_labels"] == {k: v[0].tolist() for k, v in out.neighbour_labels.items()}
    dknn.calibrate(model, calibration)
    out = dknn.predict(model, test[:2])
    r = out.records()[1]
    assert r["p_values"] == out.p_values[1].tolist() and r["credibility"] == pytest.approx(float(out.credibility[1]))
    assert out.p_value_of(np.array([0.0, 2.0])).tolist() == [out.p_values[0, 0], out.p_values[1, 2]]
    assert out.conformity_of([2.0, 1.0]).tolist() == [out.counts[0, 2] / out.n_neighbours, out.counts[1, 1] / out.n_neighbours]


def test_p_values_with_one_calibration_score_and_the_messages():
    dknn = DkNN(k=1)
    dknn.layers_, dknn.indexes_, dknn.n_labels_ = ["x"], {}, 2
    dknn.calibration_ = np.array([0])
    assert dknn.p_values(np.array([[1, 0]])).tolist() == [[1.0, 0.0]]
    dknn.calibration_ = np.array([], dtype=np.int64)
    message = "the DkNN index is not calibrated: call calibrate() with held-out labelled data"
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        dknn.p_values(np.array([[1, 0]]))
    del dknn.calibration_
    with pytest.raises(Exception, match="not calibrated"):
        dknn.p_values(np.array([[1, 0]]))


def test_calibration_data_errors(setup):
    from pathologies import InputError

    model, train, *_ = setup
    dknn = DkNN(k=3).fit(model, train)
    with pytest.raises(InputError, match="^no calibration examples$"):
        dknn.calibrate(model, [])
    with pytest.raises(InputError, match="^1 of the 2 calibration examples have no label$"):
        dknn.calibrate(model, [train[0], Example(("w1",))])
    with pytest.raises(InputError, match="^1 of the 1 training examples have no label$"):
        DkNN(k=1).fit(model, [Example(("w1",))])


def test_saved_folder_by_hand(setup, tmp_path):
    import json

    model, train, calibration, _ = setup
    dknn = DkNN(k=4, metric="l2", layers=["conv_3", "sentence"]).fit(model, train).calibrate(model, calibration)
    dknn.save(tmp_path / "i", meta={"m": 1})
    config = json.loads((tmp_path / "i" / "dknn.json").read_text())
    assert config == {
        "format": 1, "k": 4, "metric": "l2", "layers": ["conv_3", "sentence"], "fitted_layers": ["conv_3", "sentence"],
        "dims": dknn.dims_, "files": {"conv_3": "layer_0.faiss", "sentence": "layer_1.faiss"}, "n_labels": 3,
        "label_names": ["a", "b", "c"], "n_train": len(train), "n_calibration": len(calibration), "meta": {"m": 1},
    }
    assert sorted(p.name for p in (tmp_path / "i").iterdir()) == [
        "calibration.npy", "dknn.json", "layer_0.faiss", "layer_1.faiss", "train_labels.npy"]
    loaded = DkNN.load(tmp_path / "i")
    assert (loaded.k, loaded.metric, loaded.layers, loaded.layers_, loaded.n_labels_, loaded.label_names_) == (
        4, "l2", ["conv_3", "sentence"], ["conv_3", "sentence"], 3, ["a", "b", "c"])
    assert loaded.dims_ == dknn.dims_ and loaded.meta_ == {"m": 1} and loaded.path_ == str(tmp_path / "i")
    assert loaded.train_labels_.tolist() == dknn.train_labels_.tolist()
    dknn.save(tmp_path / "j")  # no meta given: the index's own
    assert json.loads((tmp_path / "j" / "dknn.json").read_text())["meta"] == {"m": 1}
    assert repr(loaded) == (f"DkNN(k=4, metric='l2', layers=['conv_3', 'sentence']; {len(train)} training examples, "
                            f"layers conv_3, sentence, {len(calibration)} calibration scores)")
    assert repr(DkNN(k=2)) == "DkNN(k=2, metric='cosine', layers=None)"
    config["format"] = 2
    (tmp_path / "i" / "dknn.json").write_text(json.dumps(config))
    with pytest.raises(Exception, match="DkNN index format 2 is not supported"):
        DkNN.load(tmp_path / "i")


def test_conformity_method_settings_and_messages(setup, tmp_path):
    from pathologies import InputError
    from pathologies.attribution.conformity import ConformityLOO

    model, train, calibration, _ = setup
    dknn = DkNN(k=3).fit(model, train)
    dknn.save(tmp_path / "i")
    method = ConformityLOO(str(tmp_path / "i"))
    assert method.settings() == {"index": str(tmp_path / "i"), "score": "conformity", "k": 3, "metric": "cosine",
                                 "layers": dknn.layers_}
    assert ConformityLOO(DkNN.load(tmp_path / "i")).index == str(tmp_path / "i")
    assert method.rows_spent(Example(("w1", "w2", "w3"))) == 4
    with pytest.raises(InputError, match="^conformity score must be one of conformity, credibility, not 'votes'$"):
        ConformityLOO(dknn, score="votes")
    with pytest.raises(InputError, match=r"^the conformity method needs a DkNN index: index=PATH \(build one with `pathologies dknn fit`\) or index=a fitted DkNN$"):
        ConformityLOO(None)
    with pytest.raises(InputError, match=r"^score='credibility' needs a calibrated DkNN index \(dknn fit --calibration \.\.\.\)$"):
        ConformityLOO(dknn, score="credibility")
    with pytest.raises(InputError, match="not fitted"):
        ConformityLOO(DkNN(k=3))


def test_save_into_a_folder_whose_parents_are_missing(setup, tmp_path):
    model, train, *_ = setup
    dknn = DkNN(k=2).fit(model, train[:15])
    dknn.save(tmp_path / "a" / "b" / "i")
    assert DkNN.load(tmp_path / "a" / "b" / "i").train_labels_.tolist() == dknn.train_labels_.tolist()


def test_conformity_attribute_with_targets_that_are_not_the_prediction(setup):
    """attribute() with explicit targets scores those targets (here every non-predicted class),
    returns them as ints, and the probabilities of the full inputs."""
    model, train, calibration, _ = setup
    dknn = DkNN(k=5).fit(model, train).calibrate(model, calibration)
    exs = [Example(("w1", "w5", "w9", "w13")), Example(("w3", "w4", "w20"))]
    engine = ScoringEngine(model)
    pred = model.predict_proba(exs).argmax(1).tolist()
    targets = [np.int64((p + 1) % 3) for p in pred]
    for score in ("conformity", "credibility"):
        method = get_method("conformity", index=dknn, score=score)
        scores, probs, got = method.attribute(model, exs, targets, engine)
        assert got == [int(t) for t in targets] and all(type(t) is int for t in got)
        assert np.allclose(probs.numpy(), model.predict_proba(exs).numpy(), atol=1e-6)
        assert scores == [method.scores(model, [ex], [int(t)])[0] for ex, t in zip(exs, targets)]
        n = dknn.n_neighbours
        for ex, t, sc in zip(exs, targets, scores):
            rows = [ex] + [ex.without([i]) for i in range(len(ex.words))]
            counts, _ = oracle_counts(model, train, rows, 5, "cosine", dknn.layers_)
            if score == "conformity":
                value = counts[:, t] / n
            else:
                value = oracle_p_values(dknn.calibration_.tolist(), counts, n)[:, t]
            assert sc == pytest.approx((value[0] - value[1:]).tolist(), abs=1e-9)
    with pytest.raises(Exception):
        get_method("conformity", index=dknn).attribute(model, exs, [0, 3], engine)  # target out of range


def test_the_given_engine_is_used_and_progress_is_off_unless_asked(setup, monkeypatch, capsys):
    import re

    model, train, calibration, test = setup
    monkeypatch.setenv("PATHOLOGIES_PROGRESS", "lines")
    engine = ScoringEngine(model)
    batches = lambda: engine.stats.batches  # noqa: E731  (model batches run by this engine)
    dknn = DkNN(k=3, layers=["conv_3", "sentence"]).fit(model, train, engine)
    assert batches() == 1
    dknn.calibrate(model, calibration, engine)
    assert batches() == 2
    dknn.predict(model, test, engine)
    assert batches() == 3 and engine.stats.cache_hits == len(test)  # probabilities from the cache
    get_method("conformity", index=dknn).scores(model, [Example(("w1", "w2"))], [0], engine=engine)
    assert batches() == 4 and engine.stats.cache_hits == len(test) + 3  # the input and its two deletions
    DkNN(k=3).fit(model, train).calibrate(model, calibration).predict(model, test)
    assert capsys.readouterr().err == ""  # no progress by default
    DkNN(k=3, layers=["conv_3", "sentence"]).fit(model, train, show_progress=True)
    err = capsys.readouterr().err
    assert re.search(rf"^representations: \d+/{len(train)} ", err, re.M)
    assert re.findall(r"^(indexing layers: .*), \d+ s$", err, re.M) == ["indexing layers: 1/2 (50%)", "indexing layers: 2/2 (100%)"]
    dknn.calibrate(model, calibration, show_progress=True)
    assert re.search(rf"^representations: \d+/{len(calibration)} ", capsys.readouterr().err, re.M)
    dknn.predict(model, test, show_progress=True)
    assert re.search(rf"^representations: \d+/{len(test)} ", capsys.readouterr().err, re.M)


def test_dtypes_empty_inputs_and_the_layer_and_label_messages(setup, tmp_path, monkeypatch):
    import json
    import sys

    import torch

    from pathologies import InputError
    from pathologies.models import Representations

    model, train, calibration, test = setup
    dknn = DkNN(k=3).fit(model, train)
    out = dknn.predict(model, test[:3])
    assert out.counts.dtype == np.int64 and out.model_probs.dtype == np.float64
    message = "^the DkNN index is not calibrated: call calibrate\\(\\) with held-out labelled data$"
    with pytest.raises(InputError, match=message):
        out.p_value_of([0, 0, 0])
    with pytest.raises(InputError, match=message):
        dknn.p_values(out.counts)
    assert repr(dknn) == f"DkNN(k=3, metric='cosine', layers=None; 60 training examples, layers {', '.join(dknn.layers_)}, uncalibrated)"
    dknn.save(tmp_path / "plain")
    assert dknn.path_ == str(tmp_path / "plain")
    assert json.loads((tmp_path / "plain" / "dknn.json").read_text())["meta"] == {}
    assert dknn.calibrate(model, calibration).calibration_.dtype == np.int64
    # No rows: empty counts and neighbour labels of the right shapes, whatever the layers given.
    empty = dknn.from_representations(ScoringEngine(model).representations([]), torch.empty(0, 3))
    assert empty.counts.shape == (0, 3) and empty.counts.dtype == np.int64
    assert {k: (v.shape, v.dtype) for k, v in empty.neighbour_labels.items()} == {n: ((0, 3), np.int64) for n in dknn.layers_}
    flat = Representations(layers={n: torch.empty(0, 5) for n in dknn.layers_ if n != "sentence"}, sentence=torch.empty(0))
    assert dknn.from_representations(flat, torch.empty(0, 3)).counts.shape == (0, 3)
    # Another model: other layer sizes, other labels.
    other = TextCNN.create(["a", "b", "c"], ["<pad>", "<unk>", "<sep>"] + VOCAB, glove=False, dim=8, filters=4, seed=1)
    reps = other.representations(test[:1])
    have = {n: v.shape[1] for n, v in reps.layers.items()}
    have.setdefault("sentence", reps.sentence.shape[1])
    fitted = ", ".join(f"{n} ({dknn.dims_[n]})" for n in dknn.layers_)
    given = ", ".join(f"{n} ({d})" for n, d in have.items())
    with pytest.raises(InputError) as err:
        dknn.predict(other, test[:1])
    assert str(err.value) == (f"the DkNN index was fitted on a model with other layers: index layers (dims) {fitted}; "
                              f"this model has {given}")
    two = TextCNN.create(["a", "b"], ["<pad>", "<unk>", "<sep>"] + VOCAB, glove=False, dim=12, filters=6, seed=3)
    with pytest.raises(InputError, match="^the DkNN index was fitted on a model with 3 labels; this one has 2$"):
        dknn.predict(two, test[:1])
    available = list(model.representations(test[:1]).layers) + ["sentence"]
    with pytest.raises(InputError, match=f"^unknown layer\\(s\\) nope, gone; this model has: {', '.join(available)}$"):
        DkNN(k=3, layers=["nope", "sentence", "gone"]).fit(model, train)
    with pytest.raises(InputError, match=f"^unknown layer\\(s\\) \\(none given\\); this model has: {', '.join(available)}$"):
        DkNN(k=3, layers=[]).fit(model, train)
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` fails
    with pytest.raises(InputError, match=r"^DkNN needs the package faiss-cpu \(pip install faiss-cpu\)$"):
        DkNN(k=3).fit(model, train)


def test_defaults_and_the_remaining_messages(setup):
    from pathologies import InputError

    model, train, *_ = setup
    assert (DkNN().k, DkNN().metric, DkNN().layers) == (75, "cosine", None)
    with pytest.raises(InputError, match="^k must be at least 1, not 0$"):
        DkNN(k=0)
    with pytest.raises(InputError, match="^DkNN metric must be one of cosine, l2, not 'dot'$"):
        DkNN(metric="dot")
    with pytest.raises(InputError, match=r"^the DkNN index is not fitted: call fit\(model, training_examples\) first$"):
        DkNN(k=3).predict(model, train[:1])
    other = TextCNN.create(["a", "b", "c"], ["<pad>", "<unk>", "<sep>"] + VOCAB, glove=False, dim=12, filters=6, seed=3)
    with pytest.raises(InputError, match="^the scoring engine belongs to another model$"):
        DkNN(k=3).fit(model, train, ScoringEngine(other))
