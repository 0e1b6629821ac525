"""Provenance of a run (issue 26, item 1): the identity is exactly what changes the records.

Another masked LM, DkNN index or imported-scores file refuses a resume with one line naming
it (whether given as a folder, a hub-style name or a loaded object); the executor is recorded
but a resume on another one is accepted; a manifest of an unknown format is refused by
``Run.load``, ``report`` and a resume; ``report``'s ``--show`` is a view setting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pathologies import Example
from pathologies.audit import AuditSpec, Run, RunMismatch, audit
from pathologies.audit.compute import audit_chunk
from pathologies.text import InputError
from tiny_models import make_bert_dir, make_bow

TEXTS = ["the movie was great fun", "bad boring movie not fun", "great fun", "not bad the movie"]


def examples():
    return [Example.from_text(t, label=i % 2, uid=f"u{i}") for i, t in enumerate(TEXTS)]


def _mlm(root: Path, seed: int):
    """A tiny masked LM (random weights) saved as a folder."""
    from transformers import BertConfig, BertForMaskedLM

    from pathologies.models.hf import load_tokenizer
    from pathologies.models.mlm import HFMaskedLM

    make_bert_dir(root)
    tok = load_tokenizer(str(root))
    torch.manual_seed(seed)
    net = BertForMaskedLM(BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=16, max_position_embeddings=64))
    net.save_pretrained(root)
    return root, HFMaskedLM(net, tok)


@pytest.fixture(scope="module")
def mlms(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlms")
    return _mlm(root / "a", 1), _mlm(root / "b", 2)


def test_another_masked_lm_refuses_the_resume_as_folder_and_as_object(tmp_path, mlms):
    (a_dir, a), (b_dir, b) = mlms
    model = make_bow()
    s = lambda: AuditSpec(methods=["gradient"], metrics=["auc_rep"], reduce=None, chunk=2, curves=False, show=0)
    audit(model, examples(), tmp_path / "run", spec=s(), mlm=str(a_dir), show_progress=False)
    with pytest.raises(RunMismatch, match=r"resources\.mlm\.sha256: \w{12} in the run, \w{12} now"):
        audit(model, examples(), tmp_path / "run", spec=s(), mlm=str(b_dir), show_progress=False)
    audit(model, examples(), tmp_path / "run", spec=s(), mlm=str(a_dir), show_progress=False)  # the same: accepted
    # Loaded objects are hashed by their weights (they used to be named by their type only).
    audit(model, examples(), tmp_path / "obj", spec=s(), mlm=a, show_progress=False)
    with pytest.raises(RunMismatch, match=r"resources\.mlm\.sha256"):
        audit(model, examples(), tmp_path / "obj", spec=s(), mlm=b, show_progress=False)
    manifest = json.loads((tmp_path / "obj" / "manifest.json").read_text())
    assert manifest["resources"]["mlm"]["sha256"] and manifest["resources"]["mlm"]["path"] == "mlm"


def test_another_dknn_index_refuses_the_resume(tmp_path):
    from pathologies.dknn import DkNN

    model = make_bow()
    exs = examples()
    DkNN(k=1).fit(model, exs).calibrate(model, exs).save(tmp_path / "i1")
    DkNN(k=2).fit(model, exs).calibrate(model, exs).save(tmp_path / "i2")
    s = lambda: AuditSpec(methods=["gradient", "conformity"], metrics=[], reduce=None, chunk=2, curves=False, show=0)
    audit(model, exs, tmp_path / "run", spec=s(), index=str(tmp_path / "i1"), show_progress=False)
    with pytest.raises(RunMismatch, match=r"resources\.index\.sha256"):
        audit(model, exs, tmp_path / "run", spec=s(), index=str(tmp_path / "i2"), show_progress=False)
    # An index object in memory (never saved) is hashed by its vectors, labels and settings.
    one, two = DkNN(k=1).fit(model, exs), DkNN(k=2).fit(model, exs)
    audit(model, exs, tmp_path / "mem", spec=s(), index=one, show_progress=False)
    with pytest.raises(RunMismatch, match=r"resources\.index\.sha256"):
        audit(model, exs, tmp_path / "mem", spec=s(), index=two, show_progress=False)


def _scores_file(path: Path, value: float) -> Path:
    path.write_text("".join(
        json.dumps({"uid": e.uid, "words": list(e.words), "scores": [value * (i + 1) for i in range(len(e.words))]}) + "\n"
        for e in examples()
    ))
    return path


def test_another_imported_scores_file_refuses_the_resume_a_moved_one_does_not(tmp_path):
    model = make_bow()
    first = _scores_file(tmp_path / "theirs.jsonl", 1.0)
    s = lambda p: AuditSpec(methods=["gradient", "theirs"], metrics=["comprehensiveness"], reduce=None, chunk=2,
                            curves=False, show=0, imports={"theirs": str(p)})
    audit(model, examples(), tmp_path / "run", spec=s(first), show_progress=False)
    moved = tmp_path / "elsewhere.jsonl"
    moved.write_bytes(first.read_bytes())
    audit(model, examples(), tmp_path / "run", spec=s(moved), show_progress=False)  # same content: the same run
    other = _scores_file(tmp_path / "other.jsonl", -1.0)
    with pytest.raises(RunMismatch, match=r"resources\.imports\.theirs\.sha256"):
        audit(model, examples(), tmp_path / "run", spec=s(other), show_progress=False)


class _Elsewhere:
    """An executor computing the chunks here, but another one (as Ray would be)."""

    def __call__(self, examples, pending, plan, commit, advance):
        for c, pos in pending:
            commit(c, audit_chunk(self.model, [examples[i] for i in pos], pos, plan))

    def describe(self):
        return {"kind": "elsewhere", "workers": 3}


def test_the_executor_is_recorded_but_not_part_of_the_identity(tmp_path):
    model = make_bow()
    s = lambda: AuditSpec(methods=["gradient"], metrics=[], reduce=None, chunk=1, curves=False, show=0)
    whole = audit(model, examples(), tmp_path / "whole", spec=s(), show_progress=False)
    assert whole.manifest["executor"]["kind"] == "local" and whole.manifest["executor"]["threads"] >= 1
    part = tmp_path / "run"  # two chunks committed locally, then stopped (commits cut back)
    audit(model, examples(), part, spec=s(), show_progress=False)
    lines = (part / "commits.jsonl").read_text().splitlines(keepends=True)
    (part / "commits.jsonl").write_text("".join(lines[:2]))
    ex = _Elsewhere()
    ex.model = model
    resumed = audit(model, examples(), part, spec=s(), show_progress=False, executor=ex)
    assert [x["executor"]["kind"] for x in resumed.manifest["sessions"]] == ["local", "elsewhere"]
    assert resumed.manifest["executor"]["kind"] == "local"  # the run's first
    for k in ("attributions",):
        assert (part / "records" / f"{k}.jsonl").read_bytes() == (tmp_path / "whole" / "records" / f"{k}.jsonl").read_bytes()


@pytest.mark.parametrize("fmt", [99, "1.0", None, 0])
def test_a_manifest_of_an_unknown_format_is_refused_by_load_resume_and_report(tmp_path, fmt):
    model = make_bow()
    s = AuditSpec(methods=["gradient"], metrics=[], reduce=None, chunk=2, curves=False, show=0)
    run = tmp_path / "run"
    audit(model, examples(), run, spec=s, show_progress=False)
    manifest = json.loads((run / "manifest.json").read_text())
    if fmt is None:
        del manifest["format"]
    else:
        manifest["format"] = fmt
    (run / "manifest.json").write_text(json.dumps(manifest))
    shown = "no format" if fmt is None else f"format {json.dumps(fmt)}"
    with pytest.raises(InputError, match=f"has {shown}, which pathologies .* does not know"):
        Run.load(run)
    with pytest.raises(InputError, match="does not know"):
        audit(model, examples(), run, spec=s, show_progress=False)
    if fmt == 99:
        exe = Path(sys.executable).parent / "pathologies"
        done = subprocess.run([str(exe), "report", str(run), "--out", str(tmp_path / "r.html")], capture_output=True, text=True)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "format 99" in lines[0] and "does not know" in lines[0], done.stderr
        assert not (tmp_path / "r.html").exists()


def test_report_show_is_a_view_setting_not_part_of_the_audit(tmp_path):
    bert = make_bert_dir(tmp_path / "bert")
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": f"class{i % 2}"}) + "\n" for i, t in enumerate(TEXTS)))
    exe = Path(sys.executable).parent / "pathologies"
    common = [str(exe), "report", str(bert), "--data", str(data), "--runs", str(tmp_path / "runs"),
              "--methods", "gradient", "--metrics", "comprehensiveness", "--reduce", "none", "--device", "cpu"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    first = subprocess.run(common + ["--show", "5", "--out", str(tmp_path / "a.html")], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(common + ["--show", "9", "--out", str(tmp_path / "b.html")], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr  # refused before: spec.show: 5 in the run, 9 now
    assert (tmp_path / "b.html").is_file()


def test_a_run_made_under_another_seed_rule_is_not_resumed(tmp_path):
    """Records of the random baseline depend on how draws are seeded: a run folder from before
    the one seed rule (no seed_rule in its manifest) is refused, not mixed."""
    model = make_bow()
    s = AuditSpec(methods=["gradient"], metrics=[], reduce="greedy", chunk=2, curves=False, show=0)
    run = tmp_path / "run"
    audit(model, examples(), run, spec=s, show_progress=False)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seed_rule"].startswith("sha256(seed, words")
    del manifest["seed_rule"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunMismatch, match=r"seed_rule: null in the run, sha256\(seed, words"):
        audit(model, examples(), run, spec=s, show_progress=False)


def test_a_folder_digest_is_reused_until_a_file_changes(tmp_path):
    """Audits of the same model folder in one process (an app's live checks) hash it once; a
    changed file (size or time) is hashed again."""
    import os

    from pathologies.audit import manifest

    (tmp_path / "model.safetensors").write_bytes(b"a" * 1000)
    first = manifest.path_digest(tmp_path)
    calls = []
    real = manifest._hash_files
    manifest._hash_files = lambda files, root: calls.append(root) or real(files, root)
    try:
        assert manifest.path_digest(tmp_path) == first and calls == []
        (tmp_path / "model.safetensors").write_bytes(b"b" * 1000)
        st = (tmp_path / "model.safetensors").stat()
        os.utime(tmp_path / "model.safetensors", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert manifest.path_digest(tmp_path) != first and len(calls) == 1
    finally:
        manifest._hash_files = real
