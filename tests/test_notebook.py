"""Notebook views: a notebook executed headless in a real Jupyter kernel shows heatmaps
rendered from a run folder (no model in the notebook)."""

from __future__ import annotations

import os

import pytest

from pathologies import Example
from pathologies.audit import AuditSpec, audit
from tiny_models import make_bow


def test_a_notebook_shows_a_run_and_its_heatmaps(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    exs = [Example.from_text(t, label=i % 2, uid=f"n{i}") for i, t in enumerate(["the movie was great fun", "bad boring <i>film</i>", "not fun"])]
    audit(make_bow(), exs, tmp_path / "run", spec=AuditSpec(methods=["gradient", "loo"], chunk=2), show_progress=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"from pathologies.audit import Run\nrun = Run.load({str(tmp_path / 'run')!r})\nrun"),
        nbformat.v4.new_code_cell("run.attributions('loo')[1]"),
        nbformat.v4.new_code_cell("run.reductions()[0]"),
        nbformat.v4.new_code_cell("run.frame('metrics').groupby('method')['comprehensiveness'].mean().round(6).to_dict()"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}, env=env).execute()
    html = [c.outputs[0]["data"].get("text/html", "") for c in nb.cells[:3]]
    assert "<table class=\"metrics\">" in html[0] and "F(X)" in html[0] and 'class="w"' in html[0]
    assert "bad" in html[1] and "&lt;i&gt;film&lt;/i&gt;" in html[1] and "<i>film" not in html[1]  # escaped
    assert "label kept" in html[2]
    from pathologies.audit import Run

    run = Run.load(tmp_path / "run")
    means = eval(nb.cells[3].outputs[0]["data"]["text/plain"])
    assert means["loo"] == pytest.approx(run.table["loo"]["comprehensiveness"], abs=1e-6)
