"""Training: a real TextCNN on real SST-2 data, and the training errors."""

from __future__ import annotations

import json

import pytest

from pathologies import Example, InputError
from pathologies.models import TextCNN, load_classifier
from pathologies.training import TrainConfig, accuracy, fit, train_model
from tiny_models import make_bow


@pytest.mark.integration
def test_textcnn_learns_sst2_well_above_chance(shared_data, tmp_path):
    config = TrainConfig(epochs=3, batch_size=50, limit=2000, seed=13)
    model, result = train_model(
        "textcnn", "sst2", out_dir=tmp_path / "cnn", config=config, data_dir=shared_data, show_progress=False
    )
    assert result.n_train == 2000 and result.n_eval == 872
    assert result.eval_accuracy > 0.68, result.history  # chance is about 0.51
    saved = json.loads((tmp_path / "cnn" / "train_metrics.json").read_text())
    assert saved["eval_accuracy"] == result.eval_accuracy
    again = load_classifier(tmp_path / "cnn")
    assert isinstance(again, TextCNN)
    from pathologies.data import load_dataset

    dev = load_dataset("sst2", "dev", data_dir=shared_data).examples
    assert accuracy(again, dev) == pytest.approx(result.eval_accuracy)


def test_training_rejects_a_label_the_model_does_not_have():
    model = make_bow()
    bad = [Example(("great",), label=1), Example(("bad",), label=4)]
    with pytest.raises(InputError, match="label 4, which the model does not have"):
        fit(model, bad, bad[:1], TrainConfig(epochs=1))


def test_training_an_unknown_data_set_is_a_clear_error():
    with pytest.raises(InputError, match="unknown data set"):
        train_model("textcnn", "sst9")


def test_same_seed_same_weights():
    data = [Example(("great", "fun"), label=1), Example(("bad", "boring"), label=0)] * 4
    runs = []
    for _ in range(2):
        model = make_bow()
        fit(model, data, data, TrainConfig(epochs=2, batch_size=2, seed=3), log=lambda s: None, show_progress=False)
        runs.append([p.detach().clone() for p in model.module.parameters()])
    assert all((a == b).all() for a, b in zip(*runs))


def test_compare_cli_prints_each_metric_once_and_writes_the_comparison_report(tmp_path):
    import torch
    from typer.testing import CliRunner

    from pathologies.cli import app

    vocab = ["<pad>", "<unk>", "<sep>", "the", "good", "bad", "film", "fun", "dull"]
    for seed, name in ((0, "before"), (1, "after")):
        torch.manual_seed(seed)
        TextCNN.create(["negative", "positive"], vocab, glove=False, dim=8, filters=4).save(tmp_path / name)
    rows = [("the good film", 1), ("bad dull film", 0), ("fun good fun", 1), ("the bad film", 0)]
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": y}) for t, y in rows))
    report = tmp_path / "cmp.html"
    result = CliRunner().invoke(
        app, ["compare", str(tmp_path / "before"), str(tmp_path / "after"), "--data", str(data), "--report", str(report),
              "--runs", str(tmp_path / "runs")]
    )
    assert result.exit_code == 0, result.output
    for metric in ("accuracy", "Comp.", "UR#", "U-Var", "reduced length", "random-removal confidence"):
        assert sum(line.split("│")[1].strip() == metric for line in result.output.splitlines() if "│" in line) == 1, metric
    for line in result.output.splitlines():  # the change column is after minus before
        cells = [c.strip() for c in line.split("│")[1:-1]] if "│" in line else []
        if cells and cells[0] in ("accuracy", "Comp.", "U-Var"):
            assert abs(float(cells[2]) - float(cells[1]) - float(cells[3])) < 2e-4, cells
    html = report.read_text()
    assert "(comparison)" in html and html.count("data:image/png;base64,") == 6
    # The same runs compared again: read from their folders, nothing recomputed, no model needed.
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    again = CliRunner().invoke(app, ["compare", str(runs[1]), str(runs[0])])  # sorted: after-…, before-…
    assert again.exit_code == 0, again.output
    assert [l for l in again.output.splitlines() if "Comp." in l] == [l for l in result.output.splitlines() if "Comp." in l]
