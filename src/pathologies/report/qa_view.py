"""Views of question-answering records: the question heatmap beside the context with the
answer span marked, reduction paths, and a self-contained page (``pathologies qa report``).

Records only, no model; the one colour scale of :mod:`pathologies.report.colors`. Importing
this module registers the QA records' notebook display (``import pathologies`` does it inside
IPython).
"""

from __future__ import annotations

import html

from ..qa.records import QAAttribution
from ..records import register_html
from .colors import word_cells


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;line-height:1.5}"
    ".qa{border-top:1px solid #ccc;padding:.6em 0}.w{padding:0 .15em;border-radius:3px}"
    "mark{background:#ffe066;font-weight:600}.ctx{color:#333}.meta{color:#666;font-size:90%}"
)


def _heat(words, scores) -> str:
    """The question's heatmap on the one colour scale (blue: raises the span's target, red: lowers it)."""
    return " ".join(
        f'<span class="w" style="background:{c["color"]}" title="{c["score"]}">{html.escape(c["word"])}</span>'
        for c in word_cells(words, scores)
    )


def _context_html(record) -> str:
    a, b = record.span_chars
    c = record.context
    if a < 0:
        return f'<div class="ctx">{html.escape(c)}</div><div class="meta">answer: (no answer)</div>'
    return f'<div class="ctx">{html.escape(c[:a])}<mark>{html.escape(c[a:b])}</mark>{html.escape(c[b:])}</div>'


def _gold_html(record) -> str:
    gold = " | ".join(html.escape(g) for g in record.gold) if record.gold else ("(unanswerable)" if record.is_impossible else "")
    return f'<div class="meta">gold: {gold}</div>' if gold else ""


def qa_attribution_html(a) -> str:
    """One QAAttribution: the question heatmap (blue raises the span's target, red lowers
    it), the context with the predicted span marked, the gold answers."""
    return (
        f'<div class="qa"><div class="meta">{html.escape(a.uid)} · {html.escape(a.method)} · target: '
        f'{html.escape(a.target)} · p(span) = {a.probability:.3f}</div>'
        f"<div>{_heat(a.words, a.scores)}</div>{_context_html(a)}{_gold_html(a)}</div>"
    )


def qa_reduction_html(r) -> str:
    """One QAReduction: the path (each state's heatmap and the word removed), the reduced
    question, the random baseline, the context with the kept span marked."""
    steps = "".join(
        f"<li>{_heat(s.words, s.scores)} <span class='meta'>p = {s.confidence:.3f}"
        + (f"; removed <b>{html.escape(s.removed)}</b>" if s.removed is not None else "")
        + "</span></li>"
        for s in r.path
    )
    b = r.random_baseline or {}
    rand = (
        f"<div class='meta'>random words, same length: {html.escape(' '.join(b['words']))} "
        f"(span {'kept' if b['kept_span'] else 'lost'}, p = {b['confidence']:.3f})</div>" if b else ""
    )
    return (
        f'<div class="qa"><div class="meta">{html.escape(r.uid)} · {html.escape(r.importance)}, beam {r.beam} · '
        f"{len(r.original)} → {len(r.final)} words · p(span) {r.original_confidence:.3f} → {r.final_confidence:.3f}</div>"
        f"<div><b>{html.escape(' '.join(r.final))}</b></div><ol>{steps}</ol>{rand}{_context_html(r)}{_gold_html(r)}</div>"
    )


def qa_report_html(records, title: str = "pathologies: question answering") -> str:
    """A self-contained HTML page of QA records (no scripts, no external files)."""
    body = "".join(qa_attribution_html(r) if isinstance(r, QAAttribution) else qa_reduction_html(r) for r in records)
    return f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style><h1>{html.escape(title)}</h1>{body}"


def _register_views() -> None:
    register_html("QAAttribution", lambda a: f"<style>{_CSS}</style>" + qa_attribution_html(a))
    register_html("QAReduction", lambda r: f"<style>{_CSS}</style>" + qa_reduction_html(r))


_register_views()
