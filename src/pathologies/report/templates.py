"""The HTML templates: one source for the standalone report and the notebook views.

Jinja2 with autoescaping: every piece of text from the data is escaped.
"""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

STYLE = """
.pth { font-family: system-ui, sans-serif; color: #222; }
.pth h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.pth .cols { display: grid; grid-template-columns: repeat(var(--n, 1), minmax(0, 1fr)); gap: 1.5em; }
.pth table.metrics { border-collapse: collapse; font-size: 0.9em; }
.pth table.metrics td, .pth table.metrics th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
.pth table.metrics th:first-child, .pth table.metrics td:first-child { text-align: left; }
.pth .heat { line-height: 2; margin: 0.2em 0; }
.pth .heat span.w { display: inline-block; padding: 0 3px; border-radius: 3px; margin-right: 2px; color: #111; }
.pth .heat span.m { text-decoration: line-through; outline: 2px solid #333; }
.pth .method { display: inline-block; width: 11em; color: #555; font-size: 0.85em; }
.pth .conf { display: inline-block; width: 4em; color: #555; font-family: monospace; }
.pth .meta { color: #666; font-size: 0.85em; }
.pth img { max-width: 100%; }
.pth dl.prov { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; font-size: 0.85em; }
.pth dl.prov dt { color: #555; } .pth dl.prov dd { margin: 0; font-family: monospace; overflow-wrap: anywhere; }
.pth .ctx { color: #333; margin: 0.3em 0; } .pth mark.span { background: #ffe066; font-weight: 600; }
"""

MACROS = r"""
{% macro heat(cells) -%}
{% for c in cells %}<span class="w{{ ' m' if c.marked else '' }}" style="background: {{ c.color }}" title="{{ c.score }}">{{ c.word }}</span>{% endfor %}
{%- endmacro %}

{% macro attribution(a) -%}
<div class="example">
<p class="meta">{{ a.uid }}: {{ a.method }}, target <b>{{ a.target }}</b> ({{ a.confidence }}){% if a.gold %}, gold {{ a.gold }}{% endif %}{% if a.fixed %}<br>fixed: {{ a.fixed }}{% endif %}</p>
<div class="heat">{{ heat(a.cells) }}</div>
</div>
{%- endmacro %}

{% macro heatmap_rows(h) -%}
<div class="example">
<p class="meta">{{ h.uid }}: predicted <b>{{ h.predicted }}</b> ({{ h.confidence }}){% if h.gold %}, gold {{ h.gold }}{% endif %}{% if h.fixed %}<br>fixed: {{ h.fixed }}{% endif %}</p>
{% for row in h.rows %}<div class="heat"><span class="method">{{ row.method }}</span>{{ heat(row.cells) }}</div>{% endfor %}
</div>
{%- endmacro %}

{% macro reduction(r) -%}
<div class="example"><p class="meta">{{ r.uid }}: label kept <b>{{ r.label }}</b>; {{ r.original_length }} → {{ r.final_length }} words, confidence {{ r.original_confidence }} → {{ r.final_confidence }}; random removal to the same length: “{{ r.random }}” ({{ r.random_confidence }})</p>
{% for st in r.steps %}<div class="heat"><span class="conf">{{ st.confidence }}</span>{{ heat(st.cells) }}</div>{% endfor %}
</div>
{%- endmacro %}

{% macro qa_context(c) -%}
<div class="ctx">{{ c.before }}{% if c.span is not none %}<mark class="span">{{ c.span }}</mark>{% endif %}{{ c.after }}</div>
<p class="meta">answer: {% if c.span is none %}<b>(no answer)</b>{% else %}<b>{{ c.span }}</b>{% endif %}{% if c.gold %}; gold: {{ c.gold }}{% endif %}{% if c.exact is not none %} · {{ 'right (exact match)' if c.exact else 'not an exact match' }}, F1 {{ c.f1 }}{% endif %}</p>
{%- endmacro %}

{% macro qa_question(q) -%}
<div class="example qa">
<p class="meta">{{ q.uid }}: p(span) {{ q.probability }}{% if q.targets %}; the scores explain the {{ q.targets }}{% endif %}</p>
{% for row in q.rows %}<div class="heat"><span class="method">{{ row.method }}</span>{{ heat(row.cells) }}</div>{% endfor %}
{{ qa_context(q.context) }}
</div>
{%- endmacro %}

{% macro qa_reduction(r) -%}
<div class="example qa"><p class="meta">{{ r.uid }}: span kept <b>{{ r.answer or '(no answer)' }}</b>; {{ r.original_length }} → {{ r.final_length }} words, p(span) {{ r.original_confidence }} → {{ r.final_confidence }}; words ranked by {{ r.importance }}</p>
<p>reduced question: <b class="reduced">{{ r.final }}</b></p>
{% for st in r.steps %}<div class="heat"><span class="conf">{{ st.confidence }}</span>{{ heat(st.cells) }}</div>{% endfor %}
{% if r.random is not none %}<p class="meta">random removal to the same length: “{{ r.random }}” (span {{ r.random_kept }}, p(span) {{ r.random_confidence }})</p>{% endif %}
{% if r.context %}{{ qa_context(r.context) }}{% endif %}
</div>
{%- endmacro %}

{% macro metric_table(table, names, info) -%}
<table class="metrics"><tr><th>metric</th>{% for m in table %}<th>{{ m }}</th>{% endfor %}</tr>
{% for k in names %}<tr><td title="{{ info[k].description }}">{{ info[k].display }} {{ '↓' if info[k].lower_is_better else '↑' }}</td>
{% for m, row in table.items() %}<td>{{ '%.4f'|format(row[k]) if k in row else '' }}</td>{% endfor %}</tr>
{% endfor %}</table>
{%- endmacro %}

{% macro kv_table(rows) -%}
<table class="metrics">{% for k, v in rows %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
{%- endmacro %}

{% macro provenance(p) -%}
<dl class="prov">{% for k, v in p %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
{%- endmacro %}
"""

#: The opening of a standalone page (no scripts, nothing from elsewhere), with its title.
PAGE_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{ title }}</title>
<style>body { margin: 1.5em; } h1 { font-size: 1.5em; } {{ style }}</style></head>
<body class="pth">{% import 'macros' as m %}
<h1>{{ title }}</h1>
<p class="meta">{{ subtitle }}</p>
"""

ATTRIBUTION = """{% import 'macros' as m %}<div class="pth"><style>{{ style }}</style>{{ m.attribution(a) }}</div>"""

REDUCTION = """{% import 'macros' as m %}<div class="pth"><style>{{ style }}</style>{{ m.reduction(r) }}</div>"""

RUN = """{% import 'macros' as m %}<div class="pth"><style>{{ style }}</style>
<p class="meta">{{ s.name }}: {{ s.subtitle }}</p>
{% if s.table %}{{ m.metric_table(s.table, s.metric_names, info) }}{% endif %}
{% if s.reduction_rows %}<p class="meta">Input reduction ({{ s.reduction_method }})</p>{{ m.kv_table(s.reduction_rows) }}{% endif %}
{% for h in s.heatmaps[:3] %}{{ m.heatmap_rows(h) }}{% endfor %}
{% for r in s.reductions[:2] %}{{ m.reduction(r) }}{% endfor %}
{% if s.decisive %}<p class="meta">Inputs reduced to one or two words</p><table class="metrics"><tr><th>reduced to</th><th>class</th><th>inputs</th><th>confidence</th><th>random</th></tr>
{% for r in s.decisive[:8] %}<tr><td>{{ r.words }}</td><td>{{ r['class'] }}</td><td>{{ r.count }}</td><td>{{ r.confidence }}</td><td>{{ r.random }}</td></tr>{% endfor %}</table>{% endif %}
{% for c in s.cards[:2] %}<div class="example">{{ c }}</div>{% endfor %}
</div>"""

REPORT = PAGE_HEAD + """
{% if sections|selectattr('shortcut')|list %}<h2>Planted shortcut: which method finds it?</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>{% if s.shortcut %}
<p class="meta">{{ s.shortcut.summary }}</p>
<p class="meta"><b>{{ s.shortcut.verdict }}</b></p>
<table class="metrics"><tr>{% for h in s.shortcut.header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for r in s.shortcut.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
<p class="meta">{{ s.shortcut.note }}</p>{% endif %}
</div>{% endfor %}</div>
{% endif %}<h2>Metrics</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
<p class="meta">{{ s.subtitle }}</p>
{% if s.table %}{{ m.metric_table(s.table, metric_names, info) }}{% else %}<p class="meta">No metrics in this run.</p>{% endif %}
</div>{% endfor %}</div>

{% if sections|selectattr('reduction_rows')|list %}
<h2>Input reduction</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% if s.reduction_rows %}<p class="meta">{{ s.reduction_method }}</p>{{ m.kv_table(s.reduction_rows) }}{% else %}<p class="meta">No reduction in this run.</p>{% endif %}
</div>{% endfor %}</div>
{% endif %}

<h2>Heatmaps</h2>
<p class="meta">Blue: evidence for the predicted class; red: against. Hover a word for its score.</p>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% for h in s.heatmaps %}{{ m.heatmap_rows(h) }}{% endfor %}</div>{% endfor %}</div>

{% if sections|selectattr('reductions')|list %}
<h2>Reduction paths</h2>
<p class="meta">Each line: confidence in the kept label and the importance heatmap at that step; the word removed next is struck out.</p>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% for r in s.reductions %}{{ m.reduction(r) }}{% endfor %}</div>{% endfor %}</div>
{% endif %}

{% if sections|selectattr('cards')|list %}
<h2>Should you trust these heatmaps?</h2>
<p class="meta">Per prediction: agreement between methods, faithfulness of the heatmap, saturation, the reduction test, DkNN credibility and estimation noise, with a verdict.</p>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% if s.trust_rows %}{{ m.kv_table(s.trust_rows) }}{% endif %}
{% for c in s.cards %}<div class="example">{{ c }}</div>{% endfor %}</div>{% endfor %}</div>
{% endif %}

{% if sections|selectattr('decisive')|list or sections|selectattr('important_words')|list %}
<h2>Corpus view</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% if s.decisive %}<p class="meta">What the model decides on alone: inputs reduced to one or two words, per class (how many, mean confidence in the kept label, and random words of the same length).</p>
<table class="metrics"><tr><th>reduced to</th><th>class</th><th>inputs</th><th>share</th><th>confidence</th><th>random</th></tr>
{% for r in s.decisive %}<tr><td>{{ r.words }}</td><td>{{ r['class'] }}</td><td>{{ r.count }}</td><td>{{ r.share }}</td><td>{{ r.confidence }}</td><td>{{ r.random }}</td></tr>{% endfor %}</table>{% endif %}
{% if s.important_words %}<p class="meta">Most important words per predicted class ({{ s.important_method }}, scores scaled per sentence; words seen 3 times or more): mean, spread and how often the sign agrees.</p>
<table class="metrics"><tr><th>word</th><th>class</th><th>count</th><th>mean</th><th>s.d.</th><th>sign agreement</th></tr>
{% for r in s.important_words %}<tr><td>{{ r.word }}</td><td>{{ r['class'] }}</td><td>{{ r.count }}</td><td>{{ r.mean }}</td><td>{{ r.std }}</td><td>{{ r.sign }}</td></tr>{% endfor %}</table>{% endif %}
</div>{% endfor %}</div>
{% endif %}

{% for key, heading in figure_headings %}{% if sections|selectattr('figures.' ~ key)|list %}
<h2>{{ heading }}</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div>{% if s.figures[key] %}<img alt="{{ key }} {{ s.name }}" src="{{ s.figures[key] }}">{% endif %}</div>{% endfor %}</div>
{% endif %}{% endfor %}

<h2>Provenance</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>{{ m.provenance(s.provenance) }}</div>{% endfor %}</div>
</body></html>
"""


QA_RECORD = """{% import 'macros' as m %}<div class="pth"><style>{{ style }}</style>{% if q %}{{ m.qa_question(q) }}{% else %}{{ m.qa_reduction(r) }}{% endif %}</div>"""

QA_RUN = """{% import 'macros' as m %}<div class="pth"><style>{{ style }}</style>
<p class="meta">{{ s.name }}: {{ s.subtitle }}</p>{{ m.kv_table(s.summary_rows) }}
{% for q in s.questions[:3] %}{{ m.qa_question(q) }}{% endfor %}{% for r in s.reductions[:2] %}{{ m.qa_reduction(r) }}{% endfor %}
</div>"""

QA_REPORT = PAGE_HEAD + """<h2>Question answering</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
<p class="meta">{{ s.subtitle }}</p>{{ m.kv_table(s.summary_rows) }}</div>{% endfor %}</div>
{% if sections|selectattr('questions')|list %}
<h2>Question heatmaps</h2>
<p class="meta">One row per method: blue raises the predicted span's target, red lowers it; the context below with the predicted span marked. Hover a word for its score.</p>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% for q in s.questions %}{{ m.qa_question(q) }}{% endfor %}</div>{% endfor %}</div>
{% endif %}
{% if sections|selectattr('reductions')|list %}
<h2>Question reduction</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>
{% if s.reduction_rows %}<p class="meta">{{ s.reduction_method }}</p>{{ m.kv_table(s.reduction_rows) }}{% endif %}
<p class="meta">Each line: the span's probability and the importance heatmap at that step; the word removed next is struck out. The span stays exactly the same all along.</p>
{% for r in s.reductions %}{{ m.qa_reduction(r) }}{% endfor %}</div>{% endfor %}</div>
{% endif %}
<h2>Provenance</h2>
<div class="cols" style="--n: {{ sections|length }}">{% for s in sections %}<div><h3>{{ s.name }}</h3>{{ m.provenance(s.provenance) }}</div>{% endfor %}</div>
</body></html>
"""


def environment() -> Environment:
    env = Environment(
        loader=DictLoader({
            "macros": MACROS, "attribution": ATTRIBUTION, "reduction": REDUCTION, "run": RUN, "report": REPORT,
            "qa_record": QA_RECORD, "qa_run": QA_RUN, "qa_report": QA_REPORT,
        }),
        autoescape=select_autoescape(default_for_string=True, default=True),
    )
    return env
