"""The app's pages: Jinja templates over the report's own macros (heatmap rows, reduction path,
metric table, provenance) and its trust card, so the app draws nothing twice.

Autoescaping is on for every template (as in the report): text from runs, models and requests
is escaped. The pages carry no scripts: links and GET forms only, so every view has an address
and the Content-Security-Policy can forbid scripts outright.
"""

from __future__ import annotations

from jinja2 import ChoiceLoader, DictLoader, Environment, select_autoescape

from ..report.templates import STYLE, environment as report_environment

APP_STYLE = STYLE + """
body { margin: 1.2em 2em; }
nav { margin-bottom: 1em; font-size: .9em; } nav a { margin-right: 1.2em; }
.pth table.rows { border-collapse: collapse; font-size: .88em; width: 100%; }
.pth table.rows td, .pth table.rows th { border-bottom: 1px solid #e4e4e4; padding: 3px 6px; text-align: left; vertical-align: top; }
.pth table.rows td.num { text-align: right; font-family: monospace; }
.pth form.filters { display: flex; flex-wrap: wrap; gap: .6em 1.2em; align-items: end; margin: .8em 0; font-size: .9em; }
.pth form.filters label { display: flex; flex-direction: column; color: #555; }
.pth form.filters input { width: 5em; } .pth form.filters input[name=word], .pth form.filters input[name=reduced] { width: 9em; }
.pth .error { border: 1px solid #cf222e; background: #fff1f0; padding: .8em 1em; }
.pth .verdict-trust { color: #1a7f37; } .pth .verdict-caution { color: #9a6700; } .pth .verdict-do-not-trust { color: #cf222e; }
.pth textarea { width: 100%; font-size: 1em; }
.pth .pager a, .pth .pager span { margin-right: 1em; }
.pth .wrong { color: #cf222e; }
.pth .diff span.m { text-decoration: none; }
"""

PAGES = {
    "layout": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · pathologies</title>
<style>{{ style }}</style></head>
<body class="pth"><nav><a href="/">runs and models</a>{% if live %}<a href="/live">live check</a>{% endif %}</nav>
<h1>{{ title }}</h1>
{% block body %}{% endblock %}
</body></html>""",

    "error": """{% extends 'layout' %}{% block body %}<div class="error" id="error"><b>{{ code }}</b> {{ message }}</div>
<p><a href="/">back to the start page</a></p>{% endblock %}""",

    "home": """{% extends 'layout' %}{% import 'macros' as m %}{% block body %}
{% if runs %}<h2>Runs</h2>
<table class="rows" id="runs"><tr><th>run</th><th>task</th><th>model</th><th>data</th><th>examples</th><th>methods</th><th>trust</th><th></th></tr>
{% for r in runs %}<tr><td><a href="/run/{{ r.key }}">{{ r.name }}</a></td><td class="task">{{ r.task }}</td><td>{{ r.model }}</td><td>{{ r.data }}</td>
<td class="num">{{ r.indexed }}{% if not r.complete %} of {{ r.examples }} (being written){% endif %}</td><td>{{ r.methods }}</td><td>{{ r.trust }}</td>
<td>{% if r.corpus %}<a href="/run/{{ r.key }}/corpus">corpus view</a>{% endif %}</td></tr>{% endfor %}</table>
{% else %}<p class="meta">No runs given (pathologies serve RUN ...).</p>{% endif %}
{% if models %}<h2>Models</h2><ul>{% for mo in models %}<li>{{ mo.name }} <span class="meta">{{ mo.family }} · labels {{ mo.labels }}</span></li>{% endfor %}</ul>
<p><a href="/live">Check a sentence live</a></p>{% else %}<p class="meta">No model given: browse only (pathologies serve RUN --model DIR for live checks).</p>{% endif %}
{% endblock %}""",

    "run": """{% extends 'layout' %}{% import 'macros' as m %}{% block body %}
<p class="meta">{{ run.subtitle }} · <a href="/run/{{ run.key }}/corpus">corpus view</a></p>
{% if run.table %}{{ m.metric_table(run.table, run.metric_names, info) }}{% endif %}
<form class="filters" method="get" action="/run/{{ run.key }}">
<label>gold label<select name="label"><option value="">any</option>{% for c in labels %}<option{% if q.label == c %} selected{% endif %}>{{ c }}</option>{% endfor %}</select></label>
<label>predicted<select name="pred"><option value="">any</option>{% for c in labels %}<option{% if q.pred == c %} selected{% endif %}>{{ c }}</option>{% endfor %}</select></label>
<label>verdict<select name="verdict"><option value="">any</option>{% for v in verdicts %}<option{% if q.verdict == v %} selected{% endif %}>{{ v }}</option>{% endfor %}</select></label>
<label>correct<select name="correct"><option value="">any</option>{% for v in ['yes', 'no'] %}<option{% if q.correct == v %} selected{% endif %}>{{ v }}</option>{% endfor %}</select></label>
<label>methods disagree<select name="disagree"><option value="">any</option>{% for v in ['yes', 'no'] %}<option{% if q.disagree == v %} selected{% endif %}>{{ v }}</option>{% endfor %}</select></label>
<label>reduced length ≥<input name="min_reduced" size="3" value="{{ q.min_reduced if q.min_reduced is not none else '' }}"></label>
<label>≤<input name="max_reduced" size="3" value="{{ q.max_reduced if q.max_reduced is not none else '' }}"></label>
<label>word<input name="word" size="10" value="{{ q.word }}"></label>
{% if q.reduced %}<label>reduced to<input name="reduced" size="10" value="{{ q.reduced }}"></label>{% endif %}
<label>sort<select name="sort">{% for s in sorts %}<option{% if q.sort == s %} selected{% endif %}>{{ s }}</option>{% endfor %}</select></label>
<label>order<select name="order">{% for o in ['asc', 'desc'] %}<option{% if q.order == o %} selected{% endif %}>{{ o }}</option>{% endfor %}</select></label>
<label>per page<select name="per">{% for n in page_sizes %}<option{% if q.per == n %} selected{% endif %}>{{ n }}</option>{% endfor %}</select></label>
<button type="submit" id="apply">apply</button> <a href="/run/{{ run.key }}">clear</a></form>
<p class="meta" id="count">{{ total }} of {{ indexed }} examples{% if total %}; {{ first }}–{{ last }} shown{% endif %}</p>
<table class="rows" id="examples"><tr><th>#</th><th>text</th><th>gold</th><th>predicted</th>
<th><a href="{{ sort_links.confidence }}">confidence</a></th><th><a href="{{ sort_links.comprehensiveness }}">comp.</a></th>
<th><a href="{{ sort_links.reduced }}">reduced</a></th><th>verdict</th><th><a href="{{ sort_links.trust }}">trust score</a></th></tr>
{% for r in rows %}<tr class="ex"><td><a href="/run/{{ run.key }}/example/{{ r.index }}">{{ r.index }}</a></td>
<td><a href="/run/{{ run.key }}/example/{{ r.index }}">{{ r.text|truncate(140) }}</a></td><td>{{ r.label or '–' }}</td>
<td{% if r.correct is false %} class="wrong"{% endif %}>{{ r.predicted or '–' }}</td>
<td class="num">{{ fmt(r.confidence) }}</td><td class="num">{{ fmt(r.comprehensiveness) }}</td><td class="num">{{ r.reduced if r.reduced is not none else '–' }}</td>
<td class="verdict-{{ (r.verdict or '')|replace(' ', '-') }}">{{ r.verdict or '–' }}</td><td class="num">{{ fmt(r.score) }}</td></tr>{% endfor %}</table>
<p class="pager">{% if prev %}<a href="{{ prev }}" id="prev">← previous</a>{% endif %}<span>page {{ q.page }} of {{ pages }}</span>{% if next %}<a href="{{ next }}" id="next">next →</a>{% endif %}</p>
<details><summary>Provenance</summary>{{ m.provenance(run.provenance) }}</details>
{% endblock %}""",

    "example": """{% extends 'layout' %}{% import 'macros' as m %}{% block body %}
<p class="meta"><a href="/run/{{ key }}">← {{ run_name }}</a>{% if neighbours.prev is not none %} · <a href="/run/{{ key }}/example/{{ neighbours.prev }}">previous example</a>{% endif %}{% if neighbours.next is not none %} · <a href="/run/{{ key }}/example/{{ neighbours.next }}">next example</a>{% endif %}
{% if live_link %} · <a href="{{ live_link }}" id="open-live">edit this input live</a>{% endif %}</p>
<h2>Heatmaps</h2>
<p class="meta">Blue: evidence for the predicted class; red: against (each row scaled to its largest |score|). Hover a word for its score.</p>
{% if heatmaps %}{{ m.heatmap_rows(heatmaps) }}{% else %}<p class="meta">No attributions for this example.</p>{% endif %}
{% if metric_rows %}{{ m.kv_table(metric_rows) }}{% endif %}
{% if reduction %}<h2>Input reduction, step {{ step }} of {{ steps }}</h2>
<p class="meta">Words ranked by {{ reduced_by }}; each line: confidence in the kept label, the heatmap of that step, the word removed next struck out.</p>
<p class="pager" id="steps">{% if step > 0 %}<a href="?step={{ step - 1 }}" id="step-back">← step back</a>{% endif %}
{% if step < steps %}<a href="?step={{ step + 1 }}" id="step-next">next step →</a>{% endif %}<a href="?step={{ steps }}">whole path</a></p>
{% if removed %}<p class="meta" id="removed">Removed so far: {% for w in removed %}<b>{{ w.word }}</b> (then {{ w.confidence }}){% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
<div id="reduction">{{ m.reduction(reduction) }}</div>{% endif %}
{% if card %}<h2>Should you trust this heatmap?</h2><div id="card">{{ card }}</div>{% endif %}
{% if others %}<h2>The same example in the other runs on this data</h2>
<div class="cols" id="others" style="--n: {{ others|length + 1 }}"><div><h3>{{ run_name }}</h3>{% if heatmaps %}{{ m.heatmap_rows(heatmaps) }}{% endif %}{{ card or '' }}</div>
{% for o in others %}<div class="other-run"><h3><a href="/run/{{ o.key }}/example/{{ example_index }}">{{ o.name }}</a></h3><p class="meta">{{ o.model }}</p>
{% if o.heatmaps %}{{ m.heatmap_rows(o.heatmaps) }}{% endif %}{{ o.card or '' }}</div>{% endfor %}</div>{% endif %}
{% endblock %}""",

    "qa_table": """{% extends 'layout' %}{% import 'macros' as m %}{% block body %}
<p class="meta">{{ run.subtitle }} · extractive question answering</p>
{{ m.kv_table(run.summary_rows) }}
<form class="filters" method="get" action="/run/{{ run.key }}">
<label>answer right (exact match)<select name="correct"><option value="">any</option>{% for v in ['yes', 'no'] %}<option{% if q.correct == v %} selected{% endif %}>{{ v }}</option>{% endfor %}</select></label>
<label>reduced length ≥<input name="min_reduced" size="3" value="{{ q.min_reduced if q.min_reduced is not none else '' }}"></label>
<label>≤<input name="max_reduced" size="3" value="{{ q.max_reduced if q.max_reduced is not none else '' }}"></label>
<label>question word<input name="word" size="10" value="{{ q.word }}"></label>
<label>sort<select name="sort">{% for s in sorts %}<option{% if q.sort == s %} selected{% endif %}>{{ s }}</option>{% endfor %}</select></label>
<label>order<select name="order">{% for o in ['asc', 'desc'] %}<option{% if q.order == o %} selected{% endif %}>{{ o }}</option>{% endfor %}</select></label>
<label>per page<select name="per">{% for n in page_sizes %}<option{% if q.per == n %} selected{% endif %}>{{ n }}</option>{% endfor %}</select></label>
<button type="submit" id="apply">apply</button> <a href="/run/{{ run.key }}">clear</a></form>
<p class="meta" id="count">{{ total }} of {{ indexed }} questions{% if total %}; {{ first }}–{{ last }} shown{% endif %}</p>
<table class="rows" id="examples"><tr><th>#</th><th>question</th><th>predicted answer</th><th>gold</th>
<th><a href="{{ sort_links.confidence }}">p(span)</a></th><th><a href="{{ sort_links.f1 }}">F1</a></th>
<th><a href="{{ sort_links.length }}">words</a></th><th><a href="{{ sort_links.reduced }}">reduced</a></th><th>reduced to</th></tr>
{% for r in rows %}<tr class="ex"><td><a href="/run/{{ run.key }}/example/{{ r.index }}">{{ r.index }}</a></td>
<td><a href="/run/{{ run.key }}/example/{{ r.index }}">{{ r.text|truncate(140) }}</a></td>
<td{% if r.correct is false %} class="wrong"{% endif %}>{{ r.predicted|truncate(80) }}</td><td>{{ (r.label or '–')|truncate(80) }}</td>
<td class="num">{{ fmt(r.confidence) }}</td><td class="num">{{ fmt(r.f1) }}</td><td class="num">{{ r.length }}</td>
<td class="num">{{ r.reduced if r.reduced is not none else '–' }}</td><td>{{ r.reduced_to or '–' }}</td></tr>{% endfor %}</table>
<p class="pager">{% if prev %}<a href="{{ prev }}" id="prev">← previous</a>{% endif %}<span>page {{ q.page }} of {{ pages }}</span>{% if next %}<a href="{{ next }}" id="next">next →</a>{% endif %}</p>
<details><summary>Provenance</summary>{{ m.provenance(run.provenance) }}</details>
{% endblock %}""",

    "qa_example": """{% extends 'layout' %}{% import 'macros' as m %}{% block body %}
<p class="meta"><a href="/run/{{ key }}">← {{ run_name }}</a>{% if neighbours.prev is not none %} · <a href="/run/{{ key }}/example/{{ neighbours.prev }}">previous question</a>{% endif %}{% if neighbours.next is not none %} · <a href="/run/{{ key }}/example/{{ neighbours.next }}">next question</a>{% endif %}</p>
{% if question %}<h2>Question heatmaps</h2>
<p class="meta">One row per method: blue raises the predicted span's target, red lowers it (each row scaled to its largest |score|); below, the context with the predicted span marked. Hover a word for its score.</p>
<div id="question">{{ m.qa_question(question) }}</div>{% endif %}
{% if reduction %}<h2>Question reduction, step {{ step }} of {{ steps }}</h2>
<p class="meta">Words ranked by {{ reduced_by }}; each line: the span's probability, the heatmap of that step, the word removed next struck out. The span stays exactly the same.</p>
<p class="pager" id="steps">{% if step > 0 %}<a href="?step={{ step - 1 }}" id="step-back">← step back</a>{% endif %}
{% if step < steps %}<a href="?step={{ step + 1 }}" id="step-next">next step →</a>{% endif %}<a href="?step={{ steps }}">whole path</a></p>
{% if removed %}<p class="meta" id="removed">Removed so far: {% for w in removed %}<b>{{ w.word }}</b> (then {{ w.confidence }}){% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
<div id="reduction">{{ m.qa_reduction(reduction) }}</div>{% endif %}
{% if not question and not reduction %}<p class="meta">No records for this question.</p>{% endif %}
{% endblock %}""",

    "corpus": """{% extends 'layout' %}{% block body %}
<p class="meta"><a href="/run/{{ key }}">← {{ run_name }}</a></p>
{% if not complete %}<p class="meta">The run is still being written: its corpus tables are stored when it finishes.</p>{% endif %}
{% if c.decisive %}<h2>What the model decides on alone</h2><p class="meta">Inputs reduced to one or two words, per class; follow a row to the examples behind it.</p>
<table class="metrics" id="decisive"><tr><th>reduced to</th><th>class</th><th>inputs</th><th>share</th><th>confidence</th><th>random</th></tr>
{% for r in c.decisive %}<tr><td><a href="{{ r.link }}">{{ r.words }}</a></td><td>{{ r['class'] }}</td><td>{{ r.count }}</td><td>{{ r.share }}</td><td>{{ r.confidence }}</td><td>{{ r.random }}</td></tr>{% endfor %}</table>{% endif %}
{% if c.important_words %}<h2>Most important words per predicted class</h2><p class="meta">{{ c.important_method }}, scores scaled per sentence, words seen 3 times or more; follow a word to the examples that contain it.</p>
<table class="metrics" id="important"><tr><th>word</th><th>class</th><th>count</th><th>mean</th><th>s.d.</th><th>sign agreement</th></tr>
{% for r in c.important_words %}<tr><td><a href="{{ r.link }}">{{ r.word }}</a></td><td>{{ r['class'] }}</td><td>{{ r.count }}</td><td>{{ r.mean }}</td><td>{{ r.std }}</td><td>{{ r.sign }}</td></tr>{% endfor %}</table>{% endif %}
{% if complete and not c.decisive and not c.important_words %}<p class="meta">No corpus rows (no word seen 3 times, no reductions).</p>{% endif %}
{% endblock %}""",

    "live": """{% extends 'layout' %}{% import 'macros' as m %}{% block body %}
<form method="get" action="/live" id="live-form">
{% if pair %}<label>premise (kept)<textarea name="premise" rows="2">{{ form.premise }}</textarea></label>
<label>hypothesis (perturbed)<textarea name="hypothesis" rows="2" id="text">{{ form.hypothesis }}</textarea></label>
<label>edited hypothesis (optional: what moved?)<textarea name="edit" rows="2" id="edit">{{ form.edit }}</textarea></label>
{% else %}<label>text<textarea name="text" rows="3" id="text">{{ form.text }}</textarea></label>
<label>edited text (optional: change a word and see what moved)<textarea name="edit" rows="3" id="edit">{{ form.edit }}</textarea></label>{% endif %}
<input type="hidden" name="pair" value="{{ 'yes' if pair else '' }}">
<p>methods: {% for name in methods %}<label><input type="checkbox" name="methods" value="{{ name }}"{% if name in form.methods %} checked{% endif %}> {{ name }}</label> {% endfor %}</p>
<p>reduction: <select name="beam">{% for b, what in beams %}<option value="{{ b }}"{% if form.beam == b %} selected{% endif %}>{{ what }}</option>{% endfor %}</select>
{% if models|length > 1 %} models: {% for mo in models %}<label><input type="checkbox" name="model" value="{{ mo.key }}"{% if mo.key in form.models %} checked{% endif %}> {{ mo.name }}</label> {% endfor %}{% else %}<input type="hidden" name="model" value="0">{% endif %}
<button type="submit" id="run">check</button> <a href="/live?pair={{ '' if pair else 'yes' }}">{{ 'a single text' if pair else 'a sentence pair' }} instead</a></p>
</form>
{% if results %}<div class="cols" style="--n: {{ results|length }}">{% for res in results %}<div class="model-result" id="model-{{ res.key }}">
<h2>{{ res.name }}</h2><p class="meta">{{ res.seconds }}{% if res.cached %} (cached){% endif %}</p>
<div class="heatmaps">{{ m.heatmap_rows(res.heatmaps) }}</div>
{% if res.diff %}<h3>After the edit</h3><div class="edited">{{ m.heatmap_rows(res.diff.heatmaps) }}</div>
<h3>What moved</h3><p class="meta" id="moved">predicted {{ res.diff.before }} → {{ res.diff.after }}. Each row: the edited words, coloured by the change of their score toward {{ res.diff.toward }} (blue up, red down); new or changed words are outlined, with their whole score{% if res.diff.gone %}; gone: {{ res.diff.gone }}{% endif %}.</p>
<div class="diff">{% for row in res.diff.rows %}<div class="heat"><span class="method">{{ row.method }} Δ</span>{{ m.heat(row.cells) }}</div>{% endfor %}</div>
{% if res.diff.reduction or res.diff.card %}<details class="edited-more"><summary>input reduction and trust card of the edited text</summary>
{% if res.diff.reduction %}{{ m.reduction(res.diff.reduction) }}{% endif %}{% if res.diff.card %}{{ res.diff.card }}{% endif %}</details>{% endif %}{% endif %}
{% if res.reduction %}<h3>Input reduction{% if res.diff %} (the text before the edit){% endif %}</h3><div class="path">{{ m.reduction(res.reduction) }}</div>{% endif %}
{% if res.card %}<h3>Should you trust this heatmap?{% if res.diff %} (the text before the edit){% endif %}</h3>{{ res.card }}{% endif %}
</div>{% endfor %}</div>{% endif %}
{% endblock %}""",
}


def environment() -> Environment:
    """The app's templates over the report's (``{% import 'macros' as m %}``), autoescaped."""
    base = report_environment()
    env = Environment(
        loader=ChoiceLoader([DictLoader(PAGES), base.loader]),
        autoescape=select_autoescape(default_for_string=True, default=True),
    )
    env.globals["style"] = APP_STYLE
    env.globals["fmt"] = lambda v: "–" if v is None else f"{v:.3f}"
    return env
