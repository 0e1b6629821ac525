"""Views of question-answering records and runs: the question heatmap (a row per method)
beside the context with the predicted answer span marked, the gold answers, reduction paths
with their random baseline, the data-set summary and provenance.

Records only, no model, nothing computed: exact match and F1 are read from what the run
stored with each record. One colour scale (:mod:`pathologies.report.colors`) and the report's
own Jinja macros (``qa_question``, ``qa_context``, ``qa_reduction`` in
:mod:`pathologies.report.templates`), which the app's pages import too. Importing this module
registers the QA records' and QA runs' notebook display (``import pathologies`` does it
inside IPython).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..qa.records import QAAttribution, QAReduction
from ..records import register_html
from .colors import word_cells
from .templates import STYLE, environment
from .views import environment_rows

if TYPE_CHECKING:
    from ..audit.loaded import QARun

#: The summary's lines as a reader reads them (in this order).
QA_SUMMARY_LABELS = {
    "questions": "questions",
    "questions_with_gold": "questions with gold answers",
    "exact_match": "exact match (SQuAD)",
    "f1": "F1 (SQuAD)",
    "mean_span_probability": "mean p(span), original questions",
}
QA_REDUCTION_LABELS = {
    "mean_original_length": "mean question length (words)",
    "mean_reduced_length": "mean reduced length (words)",
    "share_reduced_to_1": "share reduced to 1 word",
    "share_reduced_to_2_or_less": "share reduced to 2 words or fewer",
    "mean_confidence_original": "mean p(span), original questions",
    "mean_confidence_reduced": "mean p(span), reduced questions",
    "random_mean_confidence": "mean p(span), random removal to the same length",
    "random_share_span_kept": "share of random removals that keep the span",
    "mean_model_calls": "mean model rows per question",
    "reduced_length_histogram": "reduced lengths (words: questions)",
}


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {x}" for k, x in v.items())
    return str(v)


def qa_context_view(record: QAAttribution | QAReduction, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """The context cut around the predicted span (``span`` None for the null answer), the gold
    answers, and whether the answer is right as the run stored it (``stored``: the record line)."""
    a, b = record.span_chars
    c = record.context
    gold = " | ".join(record.gold) if record.gold else ("(unanswerable)" if record.is_impossible else "")
    exact = (stored or {}).get("exact_match")
    f1 = (stored or {}).get("f1")
    if a < 0:
        return {"before": c, "span": None, "after": "", "gold": gold, "exact": exact, "f1": _fmt(f1)}
    return {"before": c[:a], "span": c[a:b], "after": c[b:], "gold": gold, "exact": exact, "f1": _fmt(f1)}


def qa_question_view(rows: dict[str, dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """One question's heatmaps, a row per method (stored attribution lines by method), and its
    context with the span marked, for the ``qa_question`` macro."""
    present = [m for m in methods if m in rows]
    first = QAAttribution.from_dict(rows[present[0]])
    targets = sorted({rows[m]["target"] for m in present})
    return {
        "uid": first.uid,
        "probability": f"{first.probability:.3f}",
        "targets": " / ".join(targets),
        "rows": [{"method": m, "cells": word_cells(rows[m]["words"], rows[m]["scores"])} for m in present],
        "context": qa_context_view(first, rows[present[0]]),
    }


def qa_reduction_view(r: QAReduction, stored: dict[str, Any] | None = None, *, steps: int | None = None) -> dict[str, Any]:
    """A reduction path for the ``qa_reduction`` macro (``steps``: only the first states)."""
    rb = r.random_baseline or {}
    path = r.path if steps is None else r.path[: steps + 1]
    return {
        "uid": r.uid,
        "answer": r.answer,
        "original_length": len(r.original),
        "final_length": len(r.final),
        "final": " ".join(r.final),
        "original_confidence": f"{r.original_confidence:.3f}",
        "final_confidence": f"{r.final_confidence:.3f}",
        "importance": f"{r.importance}, {'greedy' if r.beam == 1 else f'beam {r.beam} (k {r.k})'}",
        "steps": [{"confidence": f"{s.confidence:.3f}", "cells": word_cells(s.words, s.scores, s.removed_index)} for s in path],
        "random": " ".join(rb["words"]) if rb else None,
        "random_kept": "kept" if rb.get("kept_span") else "lost",
        "random_confidence": f"{rb['confidence']:.3f}" if "confidence" in rb else "–",
        "context": qa_context_view(r, stored),
    }


def qa_provenance_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """A QA run's manifest in lines: model (with its window settings), data, what was computed."""
    spec, model, data = manifest["spec"], manifest["model"], manifest["data"]
    if spec["kind"] == "explain":
        what = ("methods", ", ".join(spec["methods"]))
    else:
        what = ("reduction", f"{spec['reduce']} by {spec['reduce_by']} (k {spec['k']}), random baseline seed {spec['seed']}")
    return [
        ("task", "extractive question answering"),
        ("model", f"{model['family']} · {model['source']}"),
        ("model sha256", model["sha256"][:16]),
        ("windows", f"max length {model['max_length']}, stride {model['stride']}, answers up to {model['max_answer_words']} words, "
                    f"null answer {'on' if model['null_answer'] else 'off'}"),
        ("data", f"{data['spec'] or 'given questions'} · {data['examples']} questions · sha256 {data['sha256'][:16]}"),
        what,
        ("chunk", str(spec["chunk"])),
    ] + environment_rows(manifest)


def qa_summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(label, _fmt(summary.get(k))) for k, label in QA_SUMMARY_LABELS.items() if k in summary]


def qa_run_section(run: "QARun", n_show: int | None = 5) -> dict[str, Any]:
    """Everything a report or a notebook shows of one QA run, from its records."""
    by_index: dict[int, dict[str, dict]] = {}
    for r in run.records["qa_attributions"]:
        by_index.setdefault(r["index"], {})[r["method"]] = r
    shown = sorted(by_index) if n_show is None else sorted(by_index)[:n_show]
    reds = run.records["qa_reductions"] if n_show is None else run.records["qa_reductions"][:n_show]
    red = run.summary.get("reduction") or {}
    spec, data = run.manifest["spec"], run.manifest["data"]
    return {
        "name": run.name,
        "subtitle": f"{run.manifest['model']['source']} on {data['spec'] or 'given questions'} ({data['examples']} questions)"
        + ("" if run.complete else " — unfinished run: the records so far"),
        "summary_rows": qa_summary_rows(run.summary),
        "questions": [qa_question_view(by_index[i], run.methods) for i in shown],
        "reductions": [qa_reduction_view(QAReduction.from_dict(r), r) for r in reds],
        "reduction_method": (f"{spec['reduce']} search, words ranked by {spec['reduce_by']}, re-ranked after every removal"
                             if spec["kind"] == "reduce" else ""),
        "reduction_rows": [(QA_REDUCTION_LABELS.get(k, k), _fmt(v)) for k, v in red.items() if k in QA_REDUCTION_LABELS],
        "provenance": qa_provenance_rows(run.manifest),
    }


def render_qa_report(runs: Sequence["QARun"], title: str, subtitle: str = "", n_show: int = 5) -> str:
    """The self-contained HTML page of one or more QA runs (side by side; no scripts)."""
    return environment().get_template("qa_report").render(
        title=title, subtitle=subtitle, sections=[qa_run_section(r, n_show) for r in runs], style=STYLE,
    )


def qa_attribution_html(a: QAAttribution) -> str:
    """One QAAttribution: the question heatmap and the context with the predicted span marked."""
    return environment().get_template("qa_record").render(q=qa_question_view({a.method: a.to_dict()}, [a.method]), style=STYLE)


def qa_reduction_html(r: QAReduction) -> str:
    """One QAReduction: the path, the reduced question, the random baseline, the context."""
    return environment().get_template("qa_record").render(q=None, r=qa_reduction_view(r), style=STYLE)


def qa_run_html(run: "QARun") -> str:
    return environment().get_template("qa_run").render(s=qa_run_section(run, n_show=3), style=STYLE)


register_html("QAAttribution", qa_attribution_html)
register_html("QAReduction", qa_reduction_html)
register_html("QARun", qa_run_html)
