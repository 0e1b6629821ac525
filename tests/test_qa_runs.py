"""Question-answering runs as first-class runs: the run folder (provenance, resume, refusals),
``Run.load``, ``pathologies report`` (HTML and terminal) and ``pathologies serve`` (the run's
table, filters and example pages, in a real browser), on the tiny random QA model of
``test_qa`` and a SQuAD file with hostile text written here.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from pathologies.audit import QARun, Run, audit
from pathologies.audit.checking import check_spec
from pathologies.audit.qa import run_qa
from pathologies.cli import app as main_app
from pathologies.data.squad import read_squad
from pathologies.models.qa import load_qa_model
from pathologies.qa.explain import explain_qa
from pathologies.text import Example, InputError
from test_qa import CONTEXT, make_qa_dir, one_thread  # noqa: F401  (one_thread: autouse, tiny models)
from tiny_models import make_bow

SCRIPT = "<script>document.title='PWNED'</script>"
#: Questions (the last two hostile); gold answers are written from the model's own predictions
#: for the first two (right; the first has a second, different gold answer), from another word
#: for the rest (wrong), one unanswerable.
QUESTIONS = [
    "who was born in paris ?",
    "what river flows through old france ?",
    "what city is the capital of france ?",
    f"who {SCRIPT} was the king ?",
    "where did the {{ 7*7 }} river flow ?",
]
HOSTILE_CONTEXT = CONTEXT + f" {SCRIPT} <b>bold</b>"


def esc(text: str) -> str:
    """Text as the pages escape it (Jinja's autoescape)."""
    return str(escape(text))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A QA model, a SQuAD file whose gold answers make two answers right, an explain run
    (two methods) and a beam reduce run, both with chunks of 2."""
    root = tmp_path_factory.mktemp("qa-runs")
    model_dir = make_qa_dir(root / "model")
    model = load_qa_model(model_dir, null_answer=True)
    from pathologies.models.qa import qa_example

    preds = explain_qa(model, [qa_example(q, HOSTILE_CONTEXT, uid=f"q{i}") for i, q in enumerate(QUESTIONS)], "loo")
    qas = []
    for i, (q, p) in enumerate(zip(QUESTIONS, preds)):
        if i == 2:
            qas.append({"id": f"q{i}", "question": q, "answers": [], "is_impossible": True})
            continue
        word = "seine" if "seine" not in p.answer else "king"  # a word the model did not answer
        other = {"text": word, "answer_start": HOSTILE_CONTEXT.index(word)}
        if i < 2 and p.span_chars[0] >= 0:  # right: the model's own answer (q0: beside another gold answer)
            answers = [{"text": p.answer, "answer_start": p.span_chars[0]}] + ([other] if i == 0 else [])
        else:  # wrong
            answers = [other]
        qas.append({"id": f"q{i}", "question": q, "answers": answers, "is_impossible": False})
    data = root / "dev-v2.0.json"
    data.write_text(json.dumps({"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": HOSTILE_CONTEXT, "qas": qas}]}]}))
    items = read_squad(data)
    explain = run_qa(model, items, root / "qa-explain", kind="explain", method=["gradient", "loo"], chunk=2,
                     model_source=str(model_dir), data_spec=str(data))
    reduce = run_qa(model, items, root / "qa-reduce", kind="reduce", method="loo", beam=2, k=3, chunk=2,
                    model_source=str(model_dir), data_spec=str(data))
    return {"root": root, "model": model, "model_dir": model_dir, "data": data, "items": items,
            "explain": explain, "reduce": reduce}


def lines(run: Path, kind: str) -> list[dict]:
    return [json.loads(line) for line in (run / "records" / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()]


# --- the run folder -------------------------------------------------------------------------------
def test_run_load_opens_a_qa_run_folder_as_a_qa_run(world):
    root = world["root"]
    ex, red = Run.load(root / "qa-explain"), Run.load(root / "qa-reduce")
    assert isinstance(ex, QARun) and ex.task == "qa" and red.task == "qa" and ex.complete and red.complete
    assert ex.manifest["format"] == 1 and ex.manifest["task"] == "qa" and (root / "qa-explain" / "commits.jsonl").is_file()
    assert ex.methods == ["gradient", "loo"] and red.manifest["spec"]["reduce_by"] == "loo"
    assert [a.method for a in ex.attributions()] == ["gradient", "loo"] * len(QUESTIONS)
    assert [a.uid for a in ex.attributions("loo")] == [f"q{i}" for i in range(len(QUESTIONS))]
    assert [r.uid for r in red.reductions()] == [f"q{i}" for i in range(len(QUESTIONS))]
    # every line carries its index and the answer's exact match / F1 against the gold answers
    stored = lines(root / "qa-reduce", "qa_reductions")
    assert [r["index"] for r in stored] == list(range(len(QUESTIONS)))
    assert [r["exact_match"] for r in stored] == [1.0, 1.0, float(stored[2]["answer"] == ""), 0.0, 0.0]
    assert red.summary["exact_match"] == pytest.approx(sum(r["exact_match"] for r in stored) / len(stored))
    red_summary = red.summary["reduction"]
    assert red_summary["mean_reduced_length"] == pytest.approx(sum(len(r["final"]) for r in stored) / len(stored))
    assert "random_share_span_kept" in red_summary and red_summary["method"] == "beam:2"
    # the records are what the library computes, chunk for chunk (a chunk's questions share batches)
    from pathologies.qa.reduction import reduce_questions

    qs = world["items"].items
    direct = [r for i in range(0, len(qs), 2) for r in reduce_questions(world["model"], qs[i : i + 2], importance="loo", beam=2, k=3)]
    assert [r.to_dict() for r in red.reductions()] == [r.to_dict() for r in direct]
    assert Run.load(root / "qa-explain").frame("qa_attributions").shape[0] == 2 * len(QUESTIONS)


def test_a_stopped_qa_run_resumes_into_the_records_of_an_uninterrupted_one(world, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(world["root"] / "qa-reduce", out)
    whole = (out / "records" / "qa_reductions.jsonl").read_bytes()
    commits = (out / "commits.jsonl").read_text().splitlines()
    (out / "commits.jsonl").write_text(commits[0] + "\n" + commits[1][:10])  # killed while committing chunk 2
    with (out / "records" / "qa_reductions.jsonl").open("ab") as fh:
        fh.write(b'{"index": 99, "torn')
    (out / "summary.json").unlink()
    partial = Run.load(out)
    assert partial.task == "qa" and not partial.complete and len(partial.reductions()) == 2
    run_qa(world["model"], world["items"], out, kind="reduce", method="loo", beam=2, k=3, chunk=2,
           model_source=str(world["model_dir"]), data_spec=str(world["data"]))
    assert (out / "records" / "qa_reductions.jsonl").read_bytes() == whole
    assert len(json.loads((out / "manifest.json").read_text())["sessions"]) == 2


def test_a_qa_run_folder_refuses_other_settings_tasks_and_formats_in_one_line(world, tmp_path):
    model, items, root = world["model"], world["items"], world["root"]
    kw = dict(model_source=str(world["model_dir"]), data_spec=str(world["data"]))
    with pytest.raises(InputError, match="spec.beam: 2 in the run, 3 now") as err:
        run_qa(model, items, root / "qa-reduce", kind="reduce", method="loo", beam=3, k=3, chunk=2, **kw)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="data.examples: 5 in the run, 3 now"):
        run_qa(model, items.items[:3], root / "qa-explain", kind="explain", method=["gradient", "loo"], chunk=2, **kw)
    wider = load_qa_model(world["model_dir"], null_answer=True, max_length=48)
    with pytest.raises(InputError, match="model.max_length"):
        run_qa(wider, items, root / "qa-explain", kind="explain", method=["gradient", "loo"], chunk=2, **kw)
    # a classifier audit into a QA run folder, and a QA run into a classifier run folder
    with pytest.raises(InputError, match="task: qa in the run, classify now"):
        audit(make_bow(), [Example.from_text("the movie was great")], root / "qa-explain", spec=check_spec(["gradient"]),
              show_progress=False)
    clf = tmp_path / "clf"
    audit(make_bow(), [Example.from_text("the movie was great")], clf, spec=check_spec(["gradient"]), show_progress=False)
    assert Run.load(clf).task == "classify"
    with pytest.raises(InputError, match="task: classify in the run, qa now"):
        run_qa(model, items, clf, kind="explain", method="gradient", **kw)
    # a manifest format this toolkit does not know (the QA runs' own former format among them)
    old = tmp_path / "old"
    shutil.copytree(root / "qa-explain", old)
    manifest = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "format": "pathologies-qa-run/1"}))
    for call in (lambda: Run.load(old), lambda: run_qa(model, items, old, kind="explain", method=["gradient", "loo"], chunk=2, **kw)):
        with pytest.raises(InputError, match='format "pathologies-qa-run/1", which pathologies .* does not know') as err:
            call()
        assert "\n" not in str(err.value)


# --- the report -------------------------------------------------------------------------------------
def test_report_renders_qa_runs_with_the_span_marked_and_hostile_text_escaped(world, tmp_path):
    root = world["root"]
    out = tmp_path / "qa.html"
    res = CliRunner().invoke(main_app, ["report", str(root / "qa-explain"), str(root / "qa-reduce"), "--out", str(out), "--show", "5"])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    # no markup from the data: the hostile question and context are escaped text
    assert "<script" not in page and "<b>bold</b>" not in page
    assert esc(SCRIPT) in page and "&lt;b&gt;bold&lt;/b&gt;" in page and ">{{</span>" in page and ">7*7</span>" in page
    # the predicted span marked in its context, per question, in both runs
    reductions = Run.load(root / "qa-reduce").reductions()
    assert any(r.span_chars[0] >= 0 for r in reductions)
    for r in reductions:
        a, b = r.span_chars
        if a >= 0:
            marked = f"{esc(HOSTILE_CONTEXT[:a])}<mark class=\"span\">{esc(HOSTILE_CONTEXT[a:b])}</mark>{esc(HOSTILE_CONTEXT[b:])}"
            same = sum(x.span_chars == r.span_chars for x in reductions)
            assert page.count(marked) == 2 * same, r.uid  # each in the explain run's heatmaps and in its reduction
    # a heatmap row per method, the gold answers, the reduction path with its random baseline
    assert page.count('<span class="method">gradient</span>') == len(QUESTIONS)
    assert page.count('<span class="method">loo</span>') == len(QUESTIONS)
    assert "gold: (unanswerable)" in page and ("gold: seine" in page or "gold: king" in page)
    assert page.count("random removal to the same length: “") == len(QUESTIONS)
    assert "right (exact match)" in page and "not an exact match" in page
    for label in ("exact match (SQuAD)", "F1 (SQuAD)", "mean reduced length (words)", "share reduced to 1 word",
                  "share reduced to 2 words or fewer"):
        assert label in page
    red = Run.load(root / "qa-reduce").summary["reduction"]
    assert f"{red['mean_reduced_length']:.4f}" in page and f"{red['share_reduced_to_2_or_less']:.4f}" in page
    # the terminal summary
    assert "question answering" in res.output and "exact match (SQuAD)" in res.output
    assert f"{red['mean_reduced_length']:.4f}" in res.output


def test_a_report_of_classifier_and_qa_runs_together_and_compare_are_refused(world, tmp_path):
    clf = tmp_path / "clf"
    audit(make_bow(), [Example.from_text("the movie was great")], clf, spec=check_spec(["gradient"]), show_progress=False)
    runner = CliRunner()
    res = runner.invoke(main_app, ["report", str(clf), str(world["root"] / "qa-explain"), "--out", str(tmp_path / "x.html")])
    assert res.exit_code == 2 and "classifier runs or question-answering runs, not both" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(main_app, ["compare", str(world["root"] / "qa-explain"), str(world["root"] / "qa-reduce")])
    assert res.exit_code == 2 and "compare reads classifier runs" in res.output


def test_notebook_display_of_a_qa_run(world):
    import pathologies.report.qa_view  # noqa: F401  (registers the displays)

    shown = Run.load(world["root"] / "qa-reduce")._repr_html_()
    assert shown.count('class="example qa"') == 2  # the first two reduction paths, each with its context
    assert "exact match (SQuAD)" in shown and "<script" not in shown and esc(SCRIPT) in shown


# --- the app ------------------------------------------------------------------------------------------
pytest.importorskip("starlette", reason="could not import starlette: pip install 'pathologies[app]'")
pytest.importorskip("uvicorn", reason="could not import uvicorn: pip install 'pathologies[app]'")
from test_app import browser, click  # noqa: E402, F401  (the app tests' headless Chromium; a click that waits for the page)


@pytest.fixture(scope="module")
def server(world):
    from pathologies.app.server import Server, bind, create_app

    clf = world["root"] / "clf"
    if not clf.exists():
        audit(make_bow(), [Example.from_text("the movie was great"), Example.from_text("bad boring movie")], clf,
              spec=check_spec(["gradient"]), show_progress=False)
    srv = Server(create_app([clf, world["root"] / "qa-explain", world["root"] / "qa-reduce"]), bind("127.0.0.1", 0)).start()
    yield srv.url.rstrip("/")
    srv.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_the_app_lists_qa_runs_beside_classifier_runs_and_filters_their_questions(world, server):
    code, home = get(server + "/")
    assert code == 200 and home.count('<td class="task">question answering</td>') == 2 and '<td class="task">classifier</td>' in home
    assert "beam:2 reduction by loo" in home and home.count("corpus view") == 1  # QA runs have no corpus view
    stored = lines(world["root"] / "qa-reduce", "qa_reductions")
    right = [r["index"] for r in stored if r["exact_match"] == 1.0]
    for params, expected in [
        ("", list(range(len(QUESTIONS)))),
        ("?correct=yes", right),
        ("?correct=no", [r["index"] for r in stored if r["exact_match"] == 0.0]),
        ("?max_reduced=2", [r["index"] for r in stored if len(r["final"]) <= 2]),
        ("?sort=reduced&order=desc", [r["index"] for r in sorted(stored, key=lambda r: (len(r["final"]), r["index"]), reverse=True)]),
    ]:
        code, page = get(server + "/run/2" + params)
        assert code == 200, (params, page)
        shown = [int(x.split('"')[0]) for x in page.split('<tr class="ex"><td><a href="/run/2/example/')[1:]]
        assert shown == expected, params
    assert right == [0, 1]
    code, page = get(server + "/run/2?sort=trust")
    assert code == 400 and "sort: one of index, confidence, reduced, length, f1" in page
    code, page = get(server + "/run/1/corpus")
    assert code == 404 and "question-answering run" in page
    code, page = get(server + "/run/0")  # the classifier run's table is as before
    assert code == 200 and "comp.</a>" in page


def test_the_app_shows_a_qa_question_with_its_heatmaps_span_and_reduction_steps(world, server):
    run = Run.load(world["root"] / "qa-reduce")
    r = run.reductions()[3]  # the hostile question
    code, page = get(server + "/run/2/example/3")
    assert code == 200 and "<script" not in page and esc(SCRIPT) in page
    a, b = r.span_chars
    marked = (f'<mark class="span">{esc(HOSTILE_CONTEXT[a:b])}</mark>' if a >= 0 else "<b>(no answer)</b>")
    assert marked in page
    assert f"reduced question: <b class=\"reduced\">{esc(' '.join(r.final))}</b>" in page
    steps = len(r.path) - 1
    assert f"step {steps} of {steps}" in page and page.count('<span class="conf">') == len(r.path)
    code, first = get(server + "/run/2/example/3?step=0")
    assert code == 200 and first.count('<span class="conf">') == 1
    code, bad = get(server + f"/run/2/example/3?step={steps + 1}")
    assert code == 400 and f"step: a whole number from 0 to {steps}" in bad
    code, page = get(server + "/run/1/example/0")  # the explain run: a heatmap row per method
    assert code == 200 and '<span class="method">gradient</span>' in page and '<span class="method">loo</span>' in page
    assert '<mark class="span">' in page or "(no answer)" in page


def test_browse_a_qa_run_in_the_browser(world, server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    click(browser, 'a[href$="/run/2"]')  # qa-reduce
    assert "qa-reduce" in browser.page_source
    assert browser.find_element(By.ID, "count").text.startswith(f"{len(QUESTIONS)} of {len(QUESTIONS)} questions")
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.NAME, "correct")).select_by_visible_text("yes")
    click(browser, "#apply")  # waits for the filtered page (a bare click raced it under load)
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.ex")
    assert len(rows) == 2 and not any("wrong" in (c.get_attribute("class") or "") for r in rows for c in r.find_elements(By.TAG_NAME, "td"))
    browser.get(server + "/run/2/example/3")
    assert browser.title != "PWNED"
    r = Run.load(world["root"] / "qa-reduce").reductions()[3]
    marks = browser.find_elements(By.CSS_SELECTOR, "#reduction mark.span")
    assert [m.text for m in marks] == ([r.answer] if r.span_chars[0] >= 0 else [])
    assert SCRIPT in browser.find_element(By.CSS_SELECTOR, "#reduction .ctx").text  # shown as text, never run
    if len(r.path) > 2:
        click(browser, "#step-back")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#reduction .heat")) == len(r.path) - 1
        assert browser.find_element(By.ID, "removed").text.startswith("Removed so far:")
