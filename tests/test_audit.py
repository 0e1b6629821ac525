"""Audit run folders: records, provenance guards, exact resume (also after kill -9), views
rendered without the model, imported attributions, pandas / pyarrow access."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pathologies import Example
from pathologies.audit import AuditSpec, Run, RunFolder, RunMismatch, audit
from pathologies.explain import explain
from pathologies.models import load_classifier
from pathologies.reduction import reduce_inputs
from pathologies.text import InputError
from tiny_models import bow_p, make_bert_dir, make_bow

TEXTS = [
    "the movie was great fun",
    "bad boring movie not fun",
    "the movie was not boring great",
    "great",
    "not bad the movie",
    "boring boring the movie was great",
    "fun fun not great movie",
]
KINDS = ("attributions", "metrics", "reductions", "curves", "projections")


def examples():
    return [Example.from_text(t, label=i % 2, uid=f"u{i}") for i, t in enumerate(TEXTS)]


def spec(**kw):
    base = dict(methods=["gradient", "loo"], metrics=["comprehensiveness", "sufficiency", "ir", "ur", "i_var", "u_var", "reduction"], chunk=2, show=2)
    base.update(kw)
    return AuditSpec(**base)


def records(path):
    return {k: RunFolder(path).read(k) for k in KINDS}


def test_audit_records_match_the_methods_and_the_exact_model(tmp_path):
    model = make_bow()
    run = audit(model, examples(), tmp_path / "run", spec=spec(), show_progress=False)
    loo = run.attributions("loo")
    for a, ex in zip(loo, examples()):
        t = a.target
        p = bow_p(ex.words) if t == 1 else 1 - bow_p(ex.words)
        drop = [bow_p(ex.without([i]).words) if t == 1 else 1 - bow_p(ex.without([i]).words) for i in range(len(ex.words))]
        assert a.scores == pytest.approx([p - d for d in drop], abs=1e-6)
        assert a.rows == len(ex.words) + 1
    # The same numbers as the library calls one at a time.
    again = explain(model, examples(), "loo")
    assert [a.scores for a in again] == [a.scores for a in loo]
    reds = reduce_inputs(model, examples())
    assert [r.final for r in run.reductions()] == [r.final for r in reds]
    # Every example has a record of every kind it should have, once.
    assert sorted(r["index"] for r in run.records["attributions"]) == sorted(list(range(7)) * 2)
    assert [r["index"] for r in run.records["reductions"]] == list(range(7))
    assert {r["index"] for r in run.records["projections"]} == {0, 1}
    # The summary is computed from the records.
    acc = sum(int(bow_p(ex.words) > 0.5) == ex.label for ex in examples()) / 7
    assert run.table["loo"]["accuracy"] == pytest.approx(acc)
    assert run.summary["reduction"]["examples"] == 7


def test_in_memory_run_equals_folder_run(tmp_path):
    model = make_bow()
    a = audit(model, examples(), None, spec=spec(), show_progress=False)
    b = audit(model, examples(), tmp_path / "run", spec=spec(), show_progress=False)
    for k in KINDS:
        assert a.records[k] == b.records[k], k


def _truncate_to_commit(src: Path, dst: Path, commits: int, torn: bool) -> None:
    """The folder as a kill after ``commits`` chunks would leave it (optionally with the next
    chunk half-written and its commit line torn)."""
    shutil.copytree(src, dst)
    lines = (src / "commits.jsonl").read_text().splitlines(keepends=True)
    keep = json.loads(lines[commits - 1])["sizes"] if commits else {}
    nxt = json.loads(lines[commits])["sizes"] if torn else None
    for kind in KINDS:
        f = dst / "records" / f"{kind}.jsonl"
        if not f.exists():
            continue
        data = f.read_bytes()
        size = keep.get(kind, 0)
        if torn and nxt:
            size = size + (nxt.get(kind, 0) - size) // 2  # half of the next chunk, a torn line
        f.write_bytes(data[:size])
    text = "".join(lines[:commits]) + (lines[commits][:9] if torn else "")
    (dst / "commits.jsonl").write_text(text)
    for p in list(dst.glob("summary.json")) + list((dst / "records").glob("*.parquet")):
        p.unlink()


@pytest.mark.parametrize("commits,torn", [(0, True), (1, False), (2, True), (3, True)])
def test_resume_after_a_kill_gives_the_records_of_an_uninterrupted_run(tmp_path, commits, torn):
    model = make_bow()
    whole = audit(model, examples(), tmp_path / "whole", spec=spec(), show_progress=False)
    _truncate_to_commit(tmp_path / "whole", tmp_path / "cut", commits, torn)
    partial = Run.load(tmp_path / "cut")  # a view of a cut run never shows the torn chunk
    assert len(partial.records["reductions"]) == 2 * commits
    resumed = audit(model, examples(), tmp_path / "cut", spec=spec(), show_progress=False)
    for k in KINDS:
        assert resumed.records[k] == whole.records[k], k
        assert (tmp_path / "cut" / "records" / f"{k}.jsonl").read_bytes() == (tmp_path / "whole" / "records" / f"{k}.jsonl").read_bytes()
    assert resumed.table == whole.table


def test_resume_refuses_other_settings_data_and_model(tmp_path):
    model = make_bow()
    out = tmp_path / "run"
    audit(model, examples(), out, spec=spec(), show_progress=False)
    with pytest.raises(RunMismatch, match=r"spec.share: 0.1 in the run, 0.2 now"):
        audit(model, examples(), out, spec=spec(share=0.2), show_progress=False)
    with pytest.raises(RunMismatch, match=r"spec.methods"):
        audit(model, examples(), out, spec=spec(methods=["gradient"]), show_progress=False)
    with pytest.raises(RunMismatch, match=r"data.examples: 7 in the run, 5 now"):
        audit(model, examples()[:5], out, spec=spec(), show_progress=False)
    changed = make_bow()
    with __import__("torch").no_grad():
        changed.module.embedding.weight[3, 0] += 0.5  # "great" weighs more: retrained
    with pytest.raises(RunMismatch, match=r"model.sha256"):
        audit(changed, examples(), out, spec=spec(), show_progress=False)
    with pytest.raises(InputError, match="not a run folder"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        audit(model, examples(), tmp_path / "other", spec=spec(), show_progress=False)


def test_names_are_checked_before_anything_is_computed(tmp_path):
    model = make_bow()
    for bad, msg in [
        (dict(methods=["gradient", "nosuch"]), "unknown attribution method 'nosuch'"),
        (dict(metrics=["comprehensiveness", "magic"]), "unknown metric"),
        (dict(reduce="beam:x"), "--reduce takes greedy or beam:K"),
        (dict(methods=["marginalization"]), "needs a masked LM"),
        (dict(metrics=["auc_rep"]), "auc_rep needs a masked LM: --mlm DIR"),
        (dict(methods=["conformity"]), "needs a DkNN index"),
    ]:
        with pytest.raises(InputError, match=msg):
            audit(model, examples(), tmp_path / "bad", spec=spec(**bad), show_progress=False)
        assert not (tmp_path / "bad").exists()


def test_beam_reduction_is_recorded_as_asked(tmp_path):
    model = make_bow()
    run = audit(model, examples(), tmp_path / "run", spec=spec(reduce="beam:3", reduce_by="loo", metrics=[]), show_progress=False)
    assert {r.beam for r in run.reductions()} == {3}
    assert {r.importance for r in run.reductions()} == {"loo"}
    assert run.manifest["spec"]["reduce"] == "beam:3"
    assert run.records["metrics"] == []


def test_imported_attributions_are_scored_next_to_the_toolkits(tmp_path):
    model = make_bow()
    own = audit(model, examples(), None, spec=spec(methods=["loo"]), show_progress=False)
    scores = tmp_path / "scores.jsonl"
    scores.write_text("".join(json.dumps({"uid": a.uid, "words": a.words, "scores": a.scores}) + "\n" for a in own.attributions("loo")))
    run = audit(model, examples(), tmp_path / "run", spec=spec(methods=["loo", "other"], imports={"other": str(scores)}), show_progress=False)
    mine, theirs = run.table["loo"], run.table["other"]
    for k in ("comprehensiveness", "sufficiency", "reduced_length"):
        assert theirs[k] == pytest.approx(mine[k]), k
    assert "i_var" in mine and "i_var" not in theirs  # imported scores cannot rank a changed input
    assert all(r["not_computed"] == ["i_var", "u_var"] for r in run.metric_records("other"))
    # Words that differ from the data: one clear error naming the line and the word.
    bad = tmp_path / "bad.jsonl"
    rows = [json.loads(l) for l in scores.read_text().splitlines()]
    rows[2]["words"][1] = "awful"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match=r"line 3: words of uid 'u2' differ from the data at word 2 \('awful' in the file, 'movie' in the data\)"):
        audit(model, examples(), tmp_path / "run2", spec=spec(methods=["other"], imports={"other": str(bad)}), show_progress=False)
    missing = tmp_path / "missing.jsonl"
    missing.write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    with pytest.raises(InputError, match="no scores for 4 of 7 examples"):
        audit(model, examples(), tmp_path / "run3", spec=spec(methods=["other"], imports={"other": str(missing)}), show_progress=False)


def test_records_are_readable_by_pandas_and_pyarrow_alone(tmp_path):
    import pyarrow.parquet as pq

    model = make_bow()
    run = audit(model, examples(), tmp_path / "run", spec=spec(), show_progress=False)
    table = pq.read_table(tmp_path / "run" / "records" / "metrics.parquet").to_pandas()
    assert len(table) == 14 and set(table["method"]) == {"gradient", "loo"}
    assert table.groupby("method")["comprehensiveness"].mean()["loo"] == pytest.approx(run.table["loo"]["comprehensiveness"])
    atts = pq.read_table(tmp_path / "run" / "records" / "attributions.parquet").to_pandas()
    assert list(atts["scores"].iloc[0]) == pytest.approx(run.records["attributions"][0]["scores"])
    reds = pq.read_table(tmp_path / "run" / "records" / "reductions.parquet").to_pylist()
    assert reds[0]["path"][0]["words"] == run.records["reductions"][0]["path"][0]["words"]
    frame = Run.load(tmp_path / "run").frame("metrics")
    assert frame.shape[0] == 14


def test_views_render_from_records_without_the_model(tmp_path):
    from pathologies.report.html import write_report

    bert = make_bert_dir(tmp_path / "bert")
    model = load_classifier(str(bert))
    exs = [Example.from_text(t, uid=f"x<b>{i}</b>") for i, t in enumerate(["the movie was unbelievably great fun", "a boring film , not good"])]
    audit(model, exs, tmp_path / "run", spec=spec(chunk=1), model_source=str(bert), show_progress=False)
    shutil.rmtree(bert)  # the report needs no model
    out = write_report([tmp_path / "run", tmp_path / "run"], tmp_path / "r.html")
    html = out.read_text()
    for text in ("F(X)", "IR#", "UR#", "I-Var", "Comp.", "Suff.", "Provenance", "greedy search, words ranked by gradient",
                 "mean reduced length (words)", "sha256", "x&lt;b&gt;0&lt;/b&gt;"):
        assert text in html, text
    assert "<script" not in html.lower()
    assert html.count("data:image/png;base64,") == 6  # 3 figures × 2 runs side by side
    run = Run.load(tmp_path / "run")
    import pathologies.report.views  # noqa: F401  (the view layer registers the records' HTML renderers)

    assert "<span class=\"w\"" in run._repr_html_()
    assert "unbelievably" in run.attributions("gradient")[0]._repr_html_()
    assert "label kept" in run.reductions()[0]._repr_html_()


def test_explain_and_reduce_accept_the_same_inputs():
    from pathologies.data.dataset import Dataset

    model = make_bow()
    for given in ("great fun", ["great fun", "bad"], [Example.from_text("great fun")]):
        assert explain(model, given)[0].words == ["great", "fun"]
        assert reduce_inputs(model, given)[0].original == ["great", "fun"]
    ds = Dataset(name="mine", split="x", labels=["negative", "positive"], examples=[Example.from_text("great fun")])
    assert explain(model, ds)[0].words == reduce_inputs(model, ds)[0].original == ["great", "fun"]
    assert reduce_inputs(model, "great")[0].final == ["great"]  # one word: nothing to remove
    with pytest.raises(InputError):
        reduce_inputs(model, [3])


def _cli(*args, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    exe = Path(sys.executable).parent / "pathologies"
    return subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_records(tmp_path):
    bert = make_bert_dir(tmp_path / "bert")
    words = "the a movie film was is great fun bad boring not very good awful".split()
    rng = random.Random(7)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(
        json.dumps({"text": " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))), "label": i % 2}) + "\n" for i in range(48)
    ))
    args = ["audit", str(bert), "--data", str(data), "--methods", "gradient,loo", "--chunk", "4", "--device", "cpu",
            "--metrics", "comprehensiveness,sufficiency,ir,ur"]
    start = time.perf_counter()
    whole = _cli(*args, "--out", str(tmp_path / "whole"))
    assert whole.wait(timeout=300) == 0, whole.stderr.read().decode()[-2000:]
    took = time.perf_counter() - start
    kills = 0
    for attempt in range(3):  # killed at random moments of a run's length, then left to finish
        p = _cli(*args, "--out", str(tmp_path / "killed"))
        try:
            p.wait(timeout=rng.uniform(0.3, 0.9) * took)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
    p = _cli(*args, "--out", str(tmp_path / "killed"))
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]
    assert kills >= 1
    assert len(RunFolder(tmp_path / "killed").commits()) == 12  # every chunk committed once
    for k in KINDS:
        a = (tmp_path / "whole" / "records" / f"{k}.jsonl").read_text().splitlines()
        b = (tmp_path / "killed" / "records" / f"{k}.jsonl").read_text().splitlines()
        assert sorted(a) == sorted(b), k


def test_trust_cards_and_corpus_tables_are_records_of_the_run(tmp_path):
    import pyarrow.parquet as pq

    from pathologies.report.html import write_report
    from pathologies.trust import trust_card

    model = make_bow()
    run = audit(model, examples(), tmp_path / "run", spec=spec(reduce="beam:3", trust=True), show_progress=False)
    cards = run.trust_cards()
    assert len(cards) == 7 and sum(run.summary["trust"]["verdicts"].values()) == 7
    # A card in the run is the pure function of that example's records.
    atts = {m: next(a for a in run.attributions(m) if a.uid == "u0") for m in ("gradient", "loo")}
    faith = {m: {k: r[k] for k in ("comprehensiveness", "sufficiency")} for m in ("gradient", "loo")
             for r in run.metric_records(m) if r["uid"] == "u0"}
    again = trust_card(atts, faith, run.reductions()[0], None)
    assert cards[0].to_dict() == again.to_dict()
    words = pq.read_table(tmp_path / "run" / "records" / "word_importance.parquet").to_pandas()
    great = words[(words.word == "great") & (words["class"] == "all") & (words.method == "loo")]
    assert int(great["count"].iloc[0]) == sum(t.split().count("great") for t in TEXTS)
    decisive = pq.read_table(tmp_path / "run" / "records" / "decisive_words.parquet").to_pandas()
    assert decisive[decisive["class"] == "all"]["count"].sum() == 7  # every reduction ends somewhere
    html = write_report([run], tmp_path / "r.html").read_text()
    assert "Should you trust these heatmaps?" in html and "Corpus view" in html and "trust score" in html


def test_audit_cli_with_trust_prints_the_verdicts(tmp_path):
    from typer.testing import CliRunner

    from pathologies.cli import app

    bert = make_bert_dir(tmp_path / "bert")
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": i % 2}) + "\n" for i, t in enumerate(TEXTS[:4])))
    result = CliRunner().invoke(app, ["audit", str(bert), "--data", str(data), "--methods", "gradient,loo", "--metrics", "",
                                      "--trust", "--device", "cpu", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "trust checks:" in result.output
    assert len(Run.load(tmp_path / "run").trust_cards()) == 4


def test_a_moved_model_folder_resumes_a_changed_one_does_not(tmp_path):
    bert = make_bert_dir(tmp_path / "bert")
    exs = examples()[:4]
    s = spec(metrics=[], reduce=None)
    audit(load_classifier(str(bert)), exs, tmp_path / "run", spec=s, model_source=str(bert), show_progress=False)
    moved = tmp_path / "elsewhere"
    shutil.move(str(bert), moved)
    again = audit(load_classifier(str(moved)), exs, tmp_path / "run", spec=s, model_source=str(moved), show_progress=False)
    assert len(again.attributions()) == 8  # same content hash: the run is the same
    config = json.loads((moved / "config.json").read_text())
    config["id2label"] = {"0": "neg", "1": "pos"}
    config["label2id"] = {"neg": 0, "pos": 1}
    (moved / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunMismatch, match="model"):
        audit(load_classifier(str(moved)), exs, tmp_path / "run", spec=s, model_source=str(moved), show_progress=False)


def test_cuts_and_pieceless_words_are_counted_apart_once(tmp_path):
    import warnings

    bert = make_bert_dir(tmp_path / "bert", max_position_embeddings=16)
    model = load_classifier(str(bert))
    long = " ".join(["great"] * 30)
    exs = [Example.from_text(t, uid=f"c{i}") for i, t in enumerate([long, "fun \u200b movie", long, "the movie"])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = audit(model, exs, tmp_path / "run", spec=spec(metrics=[], reduce=None), show_progress=False)
    texts = [str(w.message) for w in caught]
    assert sum("inputs cut to the model's limit of 16 tokens" in t for t in texts) == 1
    assert sum("lost words the model turns into no token" in t for t in texts) == 1
    cut = run.manifest["cut"]
    assert cut["truncated"] == 2 and [c["uid"] for c in cut["inputs"]] == ["c0", "c2"]
    assert cut["pieceless_dropped"] == 1 and cut["pieceless_inputs"][0]["uid"] == "c1"


def test_audit_maps_file_labels_onto_the_models_by_name(tmp_path):
    from typer.testing import CliRunner

    from pathologies.cli import app

    bert = make_bert_dir(tmp_path / "bert")  # labels class0, class1
    good = tmp_path / "good.csv"
    good.write_text("text,label\nthe movie was great,class1\nbad boring film,CLASS0\nnot fun,class1\n")
    result = CliRunner().invoke(app, ["audit", str(bert), "--data", str(good), "--methods", "gradient", "--metrics", "",
                                      "--reduce", "none", "--device", "cpu", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in Run.load(tmp_path / "run").records["attributions"]] == [1, 0, 1]
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nthe movie was great,class1\nmeh,neutral\n")
    result = CliRunner().invoke(app, ["audit", str(bert), "--data", str(bad), "--methods", "gradient", "--device", "cpu",
                                      "--out", str(tmp_path / "run2")])
    assert result.exit_code == 2 and "neutral" in result.output and "class0" in result.output
    assert not (tmp_path / "run2").exists()
    for limit in ("0", "-1"):
        result = CliRunner().invoke(app, ["audit", str(bert), "--data", str(good), "--limit", limit, "--out", str(tmp_path / "r3")])
        assert result.exit_code == 2 and "--limit" in result.output
