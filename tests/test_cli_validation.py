"""Every verb checks every argument before it writes anything (issue 26, item 2): a bad
argument is one `error:` line, exit 2, and no output folder; the corrected command then runs
into the same folder."""

from __future__ import annotations

import json

import pytest

from pathologies.cli import main
from pathologies.models import TextCNN

VOCAB = ["<pad>", "<unk>", "<sep>", "a", "fine", "film", "dull", "great", "fun", "!"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    TextCNN.create(["negative", "positive"], VOCAB, glove=False, seed=0).save(root / "m")
    (root / "badmlm").mkdir()
    (root / "badmlm" / "config.json").write_text("garbage")
    data = root / "d.jsonl"
    rows = [("a fine film", "positive"), ("dull", "negative"), ("great fun !", "POSITIVE")]
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows))
    return root


BAD = [
    (["explain", "{m}", "--data", "{d}", "--target", "7"], "--target '7' is not one of the model's labels"),
    (["explain", "{m}", "--data", "{d}", "--method", "loo", "--set", "foo=1"], "bad setting for loo"),
    (["explain", "{m}", "--data", "{d}", "--method", "marginalization"], "marginalization needs a masked LM"),
    (["reduce", "{m}", "--data", "{d}", "--importance", "nope"], "unknown attribution method 'nope'"),
    (["reduce", "{m}", "--data", "{d}", "--threshold", "0.5"], "--threshold and --max-steps apply to printed reductions"),
    (["audit", "{m}", "--data", "{d}", "--methods", "loo,bogus"], "unknown attribution method 'bogus'"),
    (["audit", "{m}", "--data", "{d}", "--metrics", "iot,bogus"], "unknown metric(s) bogus"),
    (["audit", "{m}", "--data", "{d}", "--metrics", "auc_rep"], "auc_rep needs a masked LM: --mlm DIR"),
    (["audit", "{m}", "--data", "{d}", "--reduce", "beam:x"], "--reduce takes greedy or beam:K"),
    (["audit", "{m}", "--data", "{d}", "--index", "{root}/none", "--metrics", "dknn"], "not a DkNN index folder"),
    (["audit", "{m}", "--data", "{root}/none.jsonl"], "data file not found"),
    (["audit", "{m}", "--data", "{d}", "--methods", "marginalization", "--mlm", "{root}/badmlm"], "config.json: not valid JSON"),
    (["check", "{m}", "--data", "{d}", "--limit", "0"], "--limit must be a positive integer"),
    (["check", "{m}", "--data", "{d}", "--methods", "gradient,nope"], "unknown attribution method 'nope'"),
    (["check", "{m}", "--data", "{d}", "--beam", "-1"], "--beam must be 0"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a[:1] + a[4:]) for a, _ in BAD])
def test_a_bad_argument_writes_nothing(setup, argv, message, capsys):
    out = setup / "run"
    args = [a.format(m=setup / "m", d=setup / "d.jsonl", root=setup) for a in argv] + ["--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err
    assert not any(line.startswith("device:") for line in err.splitlines()), err  # said only when a run starts
    assert not out.exists()


def test_the_corrected_command_runs_into_the_same_folder(setup):
    out = setup / "again"
    base = ["explain", str(setup / "m"), "--data", str(setup / "d.jsonl"), "--method", "loo", "--out", str(out)]
    assert main(base + ["--target", "7"]) == 2 and not out.exists()
    assert main(base + ["--target", "Positive"]) == 0  # a label name in any case
    assert (out / "manifest.json").is_file()
    assert json.loads((out / "manifest.json").read_text())["spec"]["target"] == 1
