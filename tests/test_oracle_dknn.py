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
