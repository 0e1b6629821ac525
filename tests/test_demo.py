"""The demo tells the story from a run: every section is printed and the report is written;
a second demo reads the same run back instead of computing it again."""

from __future__ import annotations

import io

from rich.console import Console

from pathologies.demo import run_demo
from tiny_models import make_bert_dir


def test_demo_prints_every_part_of_the_story_and_writes_the_report(tmp_path, shared_data):
    bert = make_bert_dir(tmp_path / "bert")
    out = io.StringIO()
    report = run_demo(model=str(bert), n=6, data_dir=shared_data, console=Console(file=out, width=120), out=tmp_path / "run")
    text = out.getvalue()
    for part in ("1. The heatmap", "2. Input reduction", "The model keeps", "random words of the same length keep",
                 "3. Should you trust this heatmap?", "verdict", "4. What the model decides on alone", "5. The report"):
        assert part in text, part
    html = report.read_text()
    assert "Should you trust these heatmaps?" in html and "Corpus view" in html
    commits = (tmp_path / "run" / "commits.jsonl").read_text()
    again = io.StringIO()
    run_demo(model=str(bert), n=6, data_dir=shared_data, console=Console(file=again, width=120), out=tmp_path / "run")
    assert (tmp_path / "run" / "commits.jsonl").read_text() == commits  # read back, nothing computed again
    assert "The model keeps" in again.getvalue()
