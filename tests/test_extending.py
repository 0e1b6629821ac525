"""A new metric and a new method are one file each (README, "Extending"), and the two
built-in worked examples (``random`` scores, ``taucorr_loo``) compute what they say."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pathologies import Example
from pathologies.explain import explain
from pathologies.metrics import METRICS, evaluate_examples
from pathologies.ranks import kendall_tau_b
from tiny_models import bow_p, make_bow

SRC = Path(__file__).resolve().parents[1] / "src" / "pathologies"

METRIC_FILE = '''"""Share of words with a positive score (a toy metric for the test)."""

from ..base import MetricInfo, register


def compute(ctx):
    return [sum(s > 0 for s in sc) / len(sc) for sc in ctx.scores]


register(MetricInfo("positive_share", "share of words scored positive", 0, 1, False, label="pos. share", compute=compute))
'''

METHOD_FILE = '''"""Word length as a score (a toy method for the test)."""

from .base import AttributionMethod
from .registry import register


class WordLength(AttributionMethod):
    name = "word-length"

    def scores(self, model, examples, targets, engine=None):
        return [[float(len(w)) for w in ex.words] for ex in examples]


register("word-length", WordLength, description="the number of characters of each word")
'''


def test_a_metric_and_a_method_are_one_file_each(tmp_path):
    """Copy the package, add one file for a metric and one for a method, touch nothing else:
    the audit computes both, its table and the CLI help list them."""
    pkg = tmp_path / "src" / "pathologies"
    shutil.copytree(SRC, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "metrics" / "catalog" / "positive_share.py").write_text(METRIC_FILE)
    (pkg / "attribution" / "word_length.py").write_text(METHOD_FILE)
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": "positive"}) + "\n" for t in ["a fine film", "great fun !"]))
    model = tmp_path / "m"
    code = f"""
import sys
from pathologies.models import TextCNN
TextCNN.create(["negative", "positive"], ["<pad>", "<unk>", "<sep>", "a", "fine", "film", "great", "fun", "!"],
               glove=False, seed=0).save({str(model)!r})
from pathologies.cli import main
sys.exit(main(["audit", {str(model)!r}, "--data", {str(data)!r}, "--methods", "word-length,gradient",
               "--metrics", "positive_share,comprehensiveness", "--reduce", "none", "--out", {str(tmp_path / "run")!r}]))
"""
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert str(pkg) in subprocess.run(
        [sys.executable, "-c", "import pathologies; print(pathologies.__file__)"], capture_output=True, text=True, env=env
    ).stdout
    table = json.loads((tmp_path / "run" / "summary.json").read_text())["methods"]
    assert table["word-length"]["positive_share"] == 1.0  # every word has a length > 0
    assert "positive_share" in table["gradient"]
    helptext = subprocess.run(
        [sys.executable, "-c", "from pathologies.cli import main; main(['audit', '--help'])"],
        capture_output=True, text=True, env={**env, "COLUMNS": "400"},
    ).stdout
    assert "positive_share" in helptext


def test_random_scores_depend_on_the_example_and_seed_only():
    model = make_bow()
    texts = ["the movie was great fun", "bad", "not very good"]
    alone = explain(model, texts[0], method="random")[0].scores
    batch = explain(model, list(reversed(texts)), method="random")[-1].scores
    assert alone == batch and all(-1 <= s <= 1 for s in alone) and len(set(alone)) == 5
    assert explain(model, texts[0], method="random", seed=1)[0].scores != alone


def test_taucorr_loo_is_kendall_tau_with_leave_one_out_by_hand():
    model = make_bow()
    exs = [Example.from_text("the movie was great fun"), Example.from_text("not very good !"), Example.from_text("bad")]
    rows = evaluate_examples(model, exs, "gradient", metrics=["taucorr_loo"])
    grads = [a.scores for a in explain(model, exs, method="gradient")]
    for ex, g, r in zip(exs, grads, rows):
        if len(ex.words) == 1:
            assert "taucorr_loo" not in r  # undefined for one word
            continue
        def p(words):  # the exact probability of the predicted class (tiny_models.bow_p)
            pos = bow_p(words)
            return pos if bow_p(ex.words) >= 0.5 else 1 - pos

        loo = [p(ex.words) - p(ex.without([i]).words) for i in range(len(ex.words))]
        assert r["taucorr_loo"] == pytest.approx(kendall_tau_b(g, loo))
    assert evaluate_examples(model, exs[:1], "loo", metrics=["taucorr_loo"])[0]["taucorr_loo"] == pytest.approx(1.0)
    assert METRICS["taucorr_loo"].display == "τ with LOO" and not METRICS["taucorr_loo"].lower_is_better
