"""Corpus-level views: word importance and decisive words, against hand computations."""

from __future__ import annotations

import math

import pytest

from pathologies.attribution import Attribution
from pathologies.corpus import decisive_words, decisive_words_frame, to_frame, word_importance, word_importance_frame
from pathologies.reduction import Reduction, ReductionStep

LABELS = ["negative", "positive"]


def att(words, scores, probs=(0.1, 0.9), method="gradient"):
    return Attribution(words=words.split(), scores=scores, target=max(range(2), key=list(probs).__getitem__), probs=list(probs), method=method, labels=LABELS)


def rows_by(rows, **key):
    return [r for r in rows if all(r[k] == v for k, v in key.items())]


def test_word_importance_by_hand():
    atts = [
        att("Great fun", [2.0, 1.0]),
        att("great bad", [-1.0, 3.0], probs=(0.8, 0.2)),
        att("great great", [4.0, 0.0]),
    ]
    rows = word_importance(atts)
    (great,) = rows_by(rows, word="great", **{"class": "all"})
    xs = [2.0, -1.0, 4.0, 0.0]
    mean = sum(xs) / 4
    assert great["count"] == 4 and great["examples"] == 3
    assert great["mean"] == pytest.approx(mean)
    assert great["std"] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in xs) / 4))
    assert great["mean_abs"] == pytest.approx(7 / 4)
    assert great["positive_share"] == 0.5 and great["negative_share"] == 0.25
    assert great["sign_consistency"] == 0.5
    (pos,) = rows_by(rows, word="great", **{"class": "positive"})
    assert pos["count"] == 3 and pos["mean"] == pytest.approx(2.0) and pos["sign_consistency"] == pytest.approx(2 / 3)
    (neg,) = rows_by(rows, word="great", **{"class": "negative"})
    assert neg["count"] == 1 and neg["mean"] == -1.0 and neg["sign_consistency"] == 1.0
    # all-class rows first, then by mean |score|
    assert rows[0]["class"] == "all" and rows[0]["word"] == "bad"
    assert not rows_by(word_importance(atts, lower=False), word="great", count=4)
    assert not any(r["class"] != "all" for r in word_importance(atts, by_class=False))
    assert {r["word"] for r in word_importance(atts, min_count=2)} == {"great"}


def test_word_importance_max_normalization_and_dicts():
    atts = [att("a b", [2.0, -1.0]).to_dict(), att("a c", [0.5, 0.25])]
    rows = word_importance(atts, normalize="max", by_class=False)
    (a,) = rows_by(rows, word="a")
    assert a["mean"] == pytest.approx(1.0)
    (b,) = rows_by(rows, word="b")
    assert b["mean"] == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        word_importance(atts, normalize="sum")


def red(original, final, conf, predicted=1, random_conf=0.5, kept=False):
    return Reduction(
        uid=None, original=original.split(), final=final.split(), predicted=predicted, original_confidence=0.9,
        final_confidence=conf, path=[ReductionStep(original.split(), 0.9, [])], all_minimal=[final.split()],
        model_calls=3, importance="gradient", beam=5, k=5, labels=LABELS,
        random_baseline={"words": [], "predicted": 0, "confidence": random_conf, "kept_prediction": kept, "seed": 0},
    )


def test_decisive_words_by_hand():
    reds = [
        red("a great movie", "great", 0.95, random_conf=0.4),
        red("so great", "Great", 0.85, random_conf=0.6, kept=True),
        red("a bad movie", "bad", 0.9, predicted=0, random_conf=0.3),
        red("not good at all", "not good", 0.8, predicted=0, random_conf=0.7, kept=True),
    ]
    rows = decisive_words(reds)
    (g,) = rows_by(rows, words="great", **{"class": "positive"})
    assert g["count"] == 2 and g["share"] == 1.0
    assert g["mean_confidence"] == pytest.approx(0.9) and g["mean_random_confidence"] == pytest.approx(0.5)
    assert g["random_kept_share"] == 0.5 and g["mean_original_length"] == 2.5
    (ga,) = rows_by(rows, words="great", **{"class": "all"})
    assert ga["share"] == 0.5
    assert rows[0]["words"] == "great" and rows[0]["class"] == "all"
    one = decisive_words(reds, max_length=1)
    assert not rows_by(one, words="not good")
    assert rows_by(one, words="bad", **{"class": "negative"})[0]["share"] == 0.5  # share of all negative reductions
    words = decisive_words(reds, unit="word")
    assert {r["words"] for r in rows_by(words, **{"class": "negative"})} == {"bad", "not", "good"}
    assert decisive_words([r.to_dict() for r in reds]) == rows


def test_frames():
    pytest.importorskip("pandas")
    reds = [red("a great movie", "great", 0.95)]
    frame = decisive_words_frame(reds)
    assert list(frame["words"]) == ["great", "great"] and "mean_random_confidence" in frame.columns
    assert len(word_importance_frame([att("a b", [1.0, 2.0])])) == 4
    assert to_frame([]).empty


def test_views_import_no_torch():
    """trust_card, the corpus views and the card rendering read records: no torch import."""
    import subprocess
    import sys

    code = (
        "import sys; import pathologies.trust, pathologies.corpus, pathologies.report.trust_view; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
