"""Planted shortcuts (Bastings et al. 2022): planting is exact, the scores match a hand
computation, and an end-to-end run on a small TextCNN learns the shortcut and finds it."""

from __future__ import annotations

import json

import pytest

from pathologies.shortcuts import (
    Shortcut, insert, learning_check, mean_rank, method_rows, plant_test, plant_train, precision_at_k, score_records,
)
from pathologies.text import Example, InputError



def _examples(n: int = 50, labels: int = 2) -> list[Example]:
    return [Example(tuple(f"w{i}_{j}" for j in range(3 + i % 5)), label=i % labels, uid=str(i)) for i in range(n)]


# ---------------------------------------------------------------- planting


@pytest.mark.parametrize("share", [0.2, 0.5, 0.33])
def test_single_token_planting_is_exact(share):
    data = _examples(50)
    sc = Shortcut.make("token", 2)
    planted, info = plant_train(data, sc, share, seed=3)
    assert info["planted"] == round(share * 50)
    changed = [i for i, (a, b) in enumerate(zip(data, planted)) if a != b]
    assert changed == info["indices"]
    for i, (a, b) in enumerate(zip(data, planted)):
        pos = sc.positions(b.words)
        if i not in changed:
            assert pos == [] and b.label == a.label
            continue
        assert len(pos) == 1 and len(b.words) == len(a.words) + 1
        token = b.words[pos[0]]
        assert b.label == sc.tokens.index(token) == sc.decides(b.words)
        assert [w for j, w in enumerate(b.words) if j != pos[0]] == list(a.words)  # the rest in order
    # seeded: the same again, another seed another sample
    assert plant_train(data, sc, share, seed=3)[0] == planted
    assert plant_train(data, sc, share, seed=4)[1]["indices"] != info["indices"]


def test_positions_are_uniform_over_the_slots():
    import random

    rng = random.Random(0)
    counts = [0] * 4
    for _ in range(4000):
        words, slots = insert(("a", "b", "c"), ["T"], rng)
        assert words[slots[0]] == "T"
        counts[slots[0]] += 1
    assert all(900 < c < 1100 for c in counts), counts


def test_token_in_context_and_distractors():
    data = _examples(60)
    sc = Shortcut.make("token-in-context", 2)
    assert sc.tokens == ("zeroa", "onea", "synt")
    planted, info = plant_train(data, sc, 0.25, seed=1)
    full = [b for b in planted if sc.decides(b.words) is not None]
    alone = [(a, b) for a, b in zip(data, planted) if len(sc.positions(b.words)) == 1]
    assert len(full) == info["planted"] == 15 and len(alone) == info["distractors"] == 15
    assert all(b.label == sc.decides(b.words) and len(sc.positions(b.words)) == 2 for b in full)
    assert all(b.label == a.label for a, b in alone)  # one token alone decides nothing
    assert sc.decides(("onea", "x")) is None and sc.decides(("synt", "x", "onea")) == 1


def test_ordered_pair():
    sc = Shortcut.make("ordered-pair", 2)
    assert sc.decides(("x", "firsta", "y", "secondb")) == 0 and sc.decides(("secondb", "firsta")) == 1
    planted, info = plant_train(_examples(40), sc, 0.5, seed=2)
    got = [(b.label, sc.decides(b.words)) for b in planted if sc.positions(b.words)]
    assert len(got) == 20 and all(lab == dec for lab, dec in got) and {lab for lab, _ in got} == {0, 1}


def test_contradicting_test_set():
    data = _examples(30, labels=3)
    sc = Shortcut.make("token", 3)
    test = plant_test(data, sc, seed=5)
    for a, b in zip(data, test):
        assert b.label == a.label and sc.decides(b.words) != a.label and len(sc.positions(b.words)) == 1
    assert plant_test(data, sc, seed=5) == test


def test_bad_settings_are_one_line():
    with pytest.raises(InputError, match="takes 2 tokens"):
        Shortcut.make("token", 2, ["a"])
    with pytest.raises(InputError, match="unknown shortcut kind"):
        Shortcut.make("pairs", 2)
    with pytest.raises(InputError, match="occurs in the training data"):
        plant_train([Example(("zeroa", "b"), label=0)] * 10, Shortcut.make("token", 2), 0.5)
    with pytest.raises(InputError, match="--share"):
        plant_train(_examples(), Shortcut.make("token", 2), 0.0)


# ---------------------------------------------------------------- scores against a hand computation


def test_precision_and_rank_by_hand():
    #          0     1     2     3     4
    scores = [0.1, 0.9, -0.5, 0.3, 0.9]
    assert precision_at_k(scores, [1]) == 0.5  # tied with word 4 for the top: found half the time
    assert precision_at_k(scores, [1, 4]) == 1.0
    assert precision_at_k(scores, [3]) == 0.0
    assert precision_at_k(scores, [3, 1]) == 0.5  # top 2 = {1, 4}
    assert precision_at_k(scores, [2]) == 0.0
    assert mean_rank(scores, [1]) == 1.5 and mean_rank(scores, [3]) == 3 and mean_rank(scores, [2]) == 5
    assert mean_rank(scores, [1, 2]) == (1.5 + 5) / 2
    assert precision_at_k([0.0] * 4, [2]) == 0.25  # all tied: chance, k / L
    assert mean_rank([0.0] * 4, [2]) == 2.5  # (L + 1) / 2


def test_corpus_importance_ranks_frequent_evidence_over_one_offs():
    from pathologies.corpus import shrunk_importance, word_importance

    recs = [{"words": ["zeroa", "w", f"x{i}"], "scores": [0.9, 0.1, 1.0 if i == 0 else 0.0], "probs": [0.9, 0.1],
             "labels": ["negative", "positive"], "method": "loo"} for i in range(20)]
    rows = [r for r in word_importance(recs) if r["class"] == "negative"]
    assert rows[0]["word"] == "zeroa" and rows[0]["count"] == 20  # x0 (one score of 1.0) does not win
    one = next(r for r in rows if r["word"] == "x0")
    assert one["mean_abs"] > rows[0]["mean_abs"] and one["importance"] < rows[0]["importance"]
    # by hand: one score 1.0, prior variance 0.25, one pseudo-observation at 0
    shrunk, se = shrunk_importance([1.0], 0.25)
    assert shrunk == 0.5 and se == pytest.approx((0.25 / 2 / 2) ** 0.5)


def test_auroc_by_hand():
    from pathologies.ranks import auroc

    assert auroc([0.9, 0.8], [0.1, 0.8]) == (1 + 1 + 1 + 0.5) / 4
    assert auroc([], [0.1]) is None and auroc([1.0], [0.0]) == 1.0


def test_method_rows_by_hand():
    sc = Shortcut.make("token", 2)
    words = ["a", "onea", "b", "c"]
    recs = [
        # prediction 1 follows the shortcut (onea -> 1), the label is 0
        {"method": "m", "index": 0, "words": words, "scores": [0.1, 0.8, 0.2, 0.0], "probs": [0.1, 0.9], "label": 0},
        {"method": "m", "index": 1, "words": ["zeroa", "x"], "scores": [0.1, 0.5], "probs": [0.3, 0.7], "label": 1},
        {"method": "r", "index": 0, "words": words, "scores": [0.5, 0.1, 0.2, 0.3], "probs": [0.1, 0.9], "label": 0},
    ]
    scored = score_records(recs, sc)
    rows = method_rows(scored, ["m", "r"])
    assert rows["m"]["follows"] == {"n": 1, "precision_at_k": 1.0, "mean_rank": 1.0, "found": 1.0,
                                    "expected_precision": 0.25, "expected_rank": 2.5}
    assert rows["m"]["all"]["n"] == 2 and rows["m"]["all"]["precision_at_k"] == 0.5
    assert rows["m"]["all"]["mean_rank"] == 1.5 and rows["m"]["all"]["expected_precision"] == (0.25 + 0.5) / 2
    assert rows["r"]["follows"]["mean_rank"] == 4.0 and rows["r"]["follows"]["precision_at_k"] == 0.0
    check = learning_check(recs, sc)
    assert check == {"n": 2, "accuracy": 0.5, "follows": 0.5}


# ---------------------------------------------------------------- end to end on a small TextCNN


def test_textcnn_learns_the_shortcut_and_loo_finds_it(shared_data, tmp_path, monkeypatch):
    DATA = shared_data  # the shared data folder (conftest: a missing folder fails under CI)
    from pathologies.audit import Run
    from pathologies.shortcuts import shortcut_test

    monkeypatch.setenv("PATHOLOGIES_DATA", str(DATA))
    monkeypatch.setenv("PATHOLOGIES_PROGRESS", "off")
    out = tmp_path / "run"
    table = shortcut_test(
        "textcnn", "sst2", out, train_limit=500, limit=40, epochs=2, share=0.25, lr=3e-3, methods=["loo", "gradient"],
        metrics=["comprehensiveness"], log=lambda s: None, show_progress=False,
    )
    s, c = table["shortcut"]["check"], table["control"]["check"]
    assert s["follows"] >= 0.9 and s["accuracy"] < c["accuracy"] - 0.3, (s, c)
    assert table["learned"]
    loo = table["shortcut"]["methods"]["loo"]["follows"]
    assert loo["precision_at_k"] >= 0.9 and loo["mean_rank"] < 1.5
    rnd = table["shortcut"]["methods"]["random"]["all"]
    assert rnd["precision_at_k"] < 0.5
    # the control model reads the tokens as words it learned nothing about: near chance
    assert table["control"]["methods"]["loo"]["all"]["precision_at_k"] < 0.5
    # the corpus view ranks the planted token first in its class (count-aware importance)
    run = Run.load(out)
    for cls, token in (("negative", "zeroa"), ("positive", "onea")):
        rows = [r for r in run.corpus("word_importance") if r["method"] == "loo" and r["class"] == cls]
        assert rows[0]["word"] == token, rows[:3]
    # stored, and the run folders load; a rerun reuses the models and the audits
    assert json.loads((out / "shortcut.json").read_text())["learned"] is True
    assert Run.load(out).complete and Run.load(out / "control").complete
    again = shortcut_test(
        "textcnn", "sst2", out, train_limit=500, limit=40, epochs=2, share=0.25, lr=3e-3, methods=["loo", "gradient"],
        metrics=["comprehensiveness"], log=lambda s: None, show_progress=False,
    )
    assert again["shortcut"] == table["shortcut"]
    # which metric agrees with the ground truth: from the stored summary and table, by hand
    from pathologies.ranks import spearman
    from pathologies.shortcut_analysis import metric_agreement

    agree = metric_agreement(out)["comprehensiveness"]
    methods = ["loo", "gradient", "random"]
    comp = [run.table[m]["comprehensiveness"] for m in methods]
    truth = [table["shortcut"]["methods"][m]["all"]["precision_at_k"] for m in methods]
    assert agree["methods"] == 3 and agree["rho"] == pytest.approx(spearman(comp, truth))
    # the trust card against the ground truth: one card per (following sentence, method)
    from pathologies import trust_study

    hs = trust_study.heatmaps(out)
    ta = trust_study.evaluate(hs)
    follows = table["shortcut"]["methods"]["loo"]["follows"]["n"]
    assert ta["all"]["heatmaps"] == 3 * follows
    assert sum(v["found"] + v["missed"] for v in ta["all"]["verdicts"].values()) == 3 * follows
    assert ta["methods"]["loo"]["found"] == round(table["shortcut"]["methods"]["loo"]["follows"]["found"] * follows)
    assert set(trust_study.evaluate(trust_study.heatmaps(out, methods=["random"]))["methods"]) == {"random"}
    # judge() re-derives every card's score and verdict with the card's own rules
    for h in hs:
        assert trust_study.judge(h, trust_study.setting()) == (pytest.approx(h.score), h.verdict)
    # a story: the first following sentence where LOO finds the token and random misses it
    told = trust_study.story(out, "loo", "random")
    by = {(h.index, h.method): h for h in trust_study.heatmaps(out, methods=["loo", "random"])}
    first = min(i for (i, m), h in by.items() if m == "loo" and h.found and not by[(i, "random")].found)
    assert told["index"] == first and told["cards"]["loo"].primary == "loo" and told["cards"]["random"].primary == "random"
    assert told["cards"]["loo"].verdict == by[(first, "loo")].verdict and told["precision"]["random"] < 1.0
    with pytest.raises(InputError, match="trained differently"):
        shortcut_test("textcnn", "sst2", out, train_limit=500, limit=40, epochs=2, share=0.3, lr=3e-3, methods=["loo"],
                      log=lambda s: None, show_progress=False)


def test_wordpiece_tokens_are_added_as_single_pieces(tmp_path):
    from pathologies.models import load_classifier
    from pathologies.models.hf import HFClassifier
    from pathologies.shortcuts import check_tokens
    from tiny_models import make_bert_dir

    model = HFClassifier.load(str(make_bert_dir(tmp_path / "bert")), labels=["negative", "positive"])
    sc = Shortcut.make("token", 2)
    with pytest.raises(InputError, match="splits the shortcut token"):
        check_tokens(model, sc, add=False)
    assert check_tokens(model, sc) == ["zeroa", "onea"]
    assert check_tokens(model, sc) == []  # one piece each now
    ex = Example(("the", "zeroa", "movie"), label=0)
    assert model.predict_proba([ex]).shape == (1, 2)
    model.save(str(tmp_path / "saved"))
    again = load_classifier(str(tmp_path / "saved"))
    assert check_tokens(again, sc, add=False) == []
    assert again.predict_proba([ex])[0].tolist() == pytest.approx(model.predict_proba([ex])[0].tolist(), abs=1e-5)


def test_cli_refuses_bad_settings_with_one_line(tmp_path, capsys):
    from pathologies.cli import main

    for args, msg in ((["--kind", "pairs"], "error: unknown shortcut kind 'pairs'"),
                      (["--share", "0"], "error: --share must be in (0, 1]"),
                      (["--methods", "gradient,nope"], "error: unknown attribution method 'nope'")):
        rc = main(["shortcut-test", "textcnn", "--data", "sst2", "--out", str(tmp_path / "run"), "--device", "cpu", *args])
        err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("device:")]
        assert rc == 2 and len(err) == 1 and err[0].startswith(msg), err
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.models").exists()
