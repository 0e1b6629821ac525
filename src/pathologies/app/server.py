"""The app: a small Starlette (ASGI) application served by uvicorn, pages rendered on the server.

Routes (no route takes a path: the app reads only the runs and models it was started with,
addressed by their position)::

    /                              the runs and models
    /run/{run}                     a run's examples: filters, sort, pages
    /run/{run}/example/{index}     heatmaps (a row per method), reduction path step by step, trust card
    /run/{run}/corpus              decisive words and word importance, linked to their examples

A question-answering run (``pathologies qa explain|reduce --out RUN``) is listed beside the
classifier runs; its table filters on the answer being right and the reduced length, and its
example page shows the question heatmaps, the context with the predicted span marked, the gold
answers and the reduction path step by step.
    /live                          a text or pair checked by the models (with an edit: what moved)

A bad request is answered with its reason (400, 404, 405) and the server goes on; an error
inside a page is a 500 with a one-line message, logged, and the server goes on.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ..metrics import METRICS
from ..records import Attribution, Reduction, TrustCard, label_name
from ..qa.records import QAReduction
from ..report.qa_view import QA_REDUCTION_LABELS, qa_provenance_rows, qa_question_view, qa_reduction_view, qa_summary_rows
from ..report.trust_view import card_html
from ..report.views import corpus_view, example_heatmaps, provenance_rows, reduction_view
from ..text import InputError
from .index import PAGE_SIZES, VERDICTS, BadRequest, QARunIndex, Query, RunIndex, open_index
from .live import BEAMS, Live, diff_rows, make_example
from .pages import environment

log = logging.getLogger("pathologies.app")

#: Sent with every page: no scripts at all, nothing from elsewhere, no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: The live form's default methods (where registered).
LIVE_METHODS = ("gradient", "loo")


class App:
    """The state behind the pages: the indexed runs and the live models."""

    def __init__(self, runs: Sequence[str | Path] = (), live: Live | None = None):
        self.runs = [open_index(p, i) for i, p in enumerate(runs)]
        self.live = live if live is not None and live.models else None
        self.env = environment()

    # --- helpers ------------------------------------------------------------------------
    def page(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(live=self.live is not None, **context)
        return HTMLResponse(html, status_code=status_code, headers=HEADERS)

    def error(self, status: int, message: str) -> HTMLResponse:
        titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 500: "Error"}
        return self.page("error", status, title=titles.get(status, "Error"), code=status, message=message)

    def run(self, request: Request) -> RunIndex:
        key = request.path_params["run"]
        if not 0 <= key < len(self.runs):
            raise BadRequest(f"no run {key}; this app was started with {len(self.runs)} run(s)", 404)
        return self.runs[key]

    # --- pages --------------------------------------------------------------------------
    def home(self, request: Request) -> HTMLResponse:
        if request.query_params:
            raise BadRequest("the start page takes no parameters")
        runs = []
        for r in self.runs:
            r.refresh()
            trust = (r.summary() or {}).get("trust") or {}
            spec = r.manifest["spec"]
            qa = r.task == "qa"
            runs.append({
                "key": r.key, "name": r.name, "model": r.manifest["model"]["source"], "task": "question answering" if qa else "classifier",
                "data": r.manifest["data"]["spec"] or "given examples", "examples": r.examples, "indexed": len(r.rows),
                "complete": r.complete, "corpus": not qa,
                "methods": ", ".join(r.methods) if not qa or spec["kind"] == "explain" else f"{spec['reduce']} reduction by {spec['reduce_by']}",
                "trust": ", ".join(f"{k}: {v}" for k, v in (trust.get("verdicts") or {}).items()) or "–",
            })
        models = self.live.models if self.live else []
        return self.page("home", title="pathologies", runs=runs, models=models)

    def _select(self, request: Request, run: RunIndex, sortable: Sequence[str]):
        """The filtered, sorted page of a run's table, with its links."""
        q = Query.parse(request.query_params, run.labels, run.sorts)
        rows, total = run.select(q)
        pages = max(1, -(-total // q.per))
        if q.page > pages:
            raise BadRequest(f"page {q.page}: these filters give {pages} page(s)", 404)
        base = f"/run/{run.key}?"
        link = lambda **kw: base + urlencode(q.params(**kw))  # noqa: E731
        return {
            "q": q, "rows": rows, "total": total, "indexed": len(run.rows), "pages": pages,
            "first": (q.page - 1) * q.per + 1, "last": (q.page - 1) * q.per + len(rows),
            "prev": link(page=q.page - 1) if q.page > 1 else None, "next": link(page=q.page + 1) if q.page < pages else None,
            "sort_links": {s: link(sort=s, order="asc" if q.sort == s and q.order == "desc" else "desc", page=1) for s in sortable},
            "sorts": list(run.sorts), "page_sizes": PAGE_SIZES,
        }

    def _subtitle(self, run: RunIndex) -> str:
        data = run.manifest["data"]
        return (f"{run.manifest['model']['source']} on {data['spec'] or 'given examples'} ({data['examples']} examples)"
                + ("" if run.complete else " — being written: the committed examples so far"))

    def table(self, request: Request) -> HTMLResponse:
        run = self.run(request)
        if isinstance(run, QARunIndex):
            return self.qa_table(request, run)
        summary = run.summary() or {}
        table = summary.get("methods", {})
        return self.page(
            "run", title=f"{run.name}", labels=run.labels, verdicts=VERDICTS, info=METRICS,
            **self._select(request, run, ("confidence", "comprehensiveness", "reduced", "trust")),
            run={
                "key": run.key, "table": table, "provenance": provenance_rows(run.manifest), "metric_names": [k for k in METRICS if any(k in r for r in table.values())],
                "subtitle": self._subtitle(run),
            },
        )

    def qa_table(self, request: Request, run: QARunIndex) -> HTMLResponse:
        """A question-answering run's questions: right or not, reduced length, word; sorted."""
        summary = run.summary() or {}
        rows = qa_summary_rows(summary) + [
            (label, f"{v:.4f}" if isinstance(v, float) else str(v))
            for k, label in QA_REDUCTION_LABELS.items() if k in (summary.get("reduction") or {}) and k != "reduced_length_histogram"
            for v in [summary["reduction"][k]]
        ]
        return self.page(
            "qa_table", title=run.name, **self._select(request, run, ("confidence", "f1", "reduced", "length")),
            run={"key": run.key, "summary_rows": rows, "provenance": qa_provenance_rows(run.manifest), "subtitle": self._subtitle(run)},
        )

    def _step(self, request: Request, path_length: int) -> tuple[int, int]:
        """The reduction step asked for (default: the whole path) and the last step."""
        steps = max(path_length - 1, 0)
        raw = request.query_params.get("step", str(steps))
        if not raw.isdigit() or int(raw) > steps:
            raise BadRequest(f"step: a whole number from 0 to {steps}, not {raw!r}")
        return int(raw), steps

    def _neighbours(self, run: RunIndex, index: int) -> dict[str, int | None]:
        indices = sorted(run.rows)
        pos = indices.index(index)
        return {"prev": indices[pos - 1] if pos else None, "next": indices[pos + 1] if pos + 1 < len(indices) else None}

    def example(self, request: Request) -> HTMLResponse:
        run = self.run(request)
        unknown = set(request.query_params) - {"step"}
        if unknown:
            raise BadRequest(f"unknown parameter {sorted(unknown)[0]!r}; an example page takes: step")
        row = run.row(request.path_params["index"])
        if isinstance(run, QARunIndex):
            return self.qa_example(request, run, row)
        atts = {a.method: a.to_dict() for a in run.attributions(row)}
        reduction = run.reduction(row)
        card = run.card(row)
        context: dict[str, Any] = {
            "key": run.key, "run_name": run.name, "example_index": row.index, "heatmaps": example_heatmaps(atts, run.methods) if atts else None,
            "card": Markup(card_html(card)) if card else None, "reduction": None,
        }
        context["neighbours"] = self._neighbours(run, row.index)
        metric_rows = []
        for m, rec in run.metrics(row).items():
            for k in ("comprehensiveness", "sufficiency", "credibility"):
                if rec.get(k) is not None:
                    metric_rows.append((f"{m}: {METRICS[k].display if k in METRICS else k}", f"{rec[k]:.4f}"))
        context["metric_rows"] = metric_rows
        if reduction is not None:
            step, steps = self._step(request, len(reduction.path))
            view = reduction_view(reduction)
            view["steps"] = view["steps"][: step + 1]
            context.update(
                reduction=view, step=step, steps=steps, reduced_by=reduction.importance, removed=_removed(reduction, step),
            )
        if self.live is not None:
            first = next(iter(atts.values()), None)
            if first is not None:
                words = " ".join(first["words"])
                params = {"premise": " ".join(first["fixed"]), "hypothesis": words, "pair": "yes"} if first.get("fixed") else {"text": words}
                context["live_link"] = "/live?" + urlencode({**params, "edit": words})
        context["others"] = self._same_example_elsewhere(run, row.index)
        title = f"{run.name} · example {row.index}" + (f" ({row.uid})" if row.uid else "")
        return self.page("example", title=title, **context)

    def qa_example(self, request: Request, run: QARunIndex, row) -> HTMLResponse:
        """A question: its heatmaps (a row per method) beside the context with the predicted span
        marked and the gold answers; the reduction path step by step with the random baseline."""
        atts = run.qa_attributions(row)
        stored = run.qa_reduction(row)
        context: dict[str, Any] = {
            "key": run.key, "run_name": run.name, "neighbours": self._neighbours(run, row.index),
            "question": qa_question_view(atts, run.methods) if atts else None, "reduction": None,
        }
        if stored is not None:
            reduction = QAReduction.from_dict(stored)
            step, steps = self._step(request, len(reduction.path))
            context.update(
                reduction=qa_reduction_view(reduction, stored, steps=step), step=step, steps=steps,
                reduced_by=reduction.importance, removed=_removed(reduction, step),
            )
        title = f"{run.name} · question {row.index}" + (f" ({row.uid})" if row.uid else "")
        return self.page("qa_example", title=title, **context)

    def _same_example_elsewhere(self, run: RunIndex, index: int) -> list[dict[str, Any]]:
        """The same example in the other runs made on the same data (the manifests' data hash):
        their heatmaps and cards, for runs side by side (e.g. before and after fine-tuning)."""
        out = []
        for other in self.runs:
            if other is run or other.task != run.task or other.manifest["data"].get("sha256") != run.manifest["data"].get("sha256"):
                continue
            other.refresh()
            row = other.rows.get(index)
            if row is None:
                continue
            atts = {a.method: a.to_dict() for a in other.attributions(row)}
            card = other.card(row)
            out.append({
                "key": other.key, "name": other.name, "model": other.manifest["model"]["source"],
                "heatmaps": example_heatmaps(atts, other.methods) if atts else None,
                "card": Markup(card_html(card)) if card else None,
            })
        return out

    def corpus(self, request: Request) -> HTMLResponse:
        run = self.run(request)
        if run.task == "qa":
            raise BadRequest(f"run {run.name} is a question-answering run: it has no corpus view", 404)
        if request.query_params:
            raise BadRequest("the corpus view takes no parameters")
        c = corpus_view(run, per_class=20)
        for r in c["decisive"]:
            r["link"] = f"/run/{run.key}?" + urlencode({"reduced": r["words"], "pred": r["class"]})
        for r in c["important_words"]:
            r["link"] = f"/run/{run.key}?" + urlencode({"word": r["word"], "pred": r["class"]})
        return self.page("corpus", title=f"{run.name} · corpus view", key=run.key, run_name=run.name, c=c, complete=run.complete)

    def live_page(self, request: Request) -> HTMLResponse:
        if self.live is None:
            raise BadRequest("this app was started without a model: pathologies serve RUN --model DIR for live checks", 404)
        p = request.query_params
        allowed = {"text", "premise", "hypothesis", "edit", "methods", "beam", "model", "pair"}
        unknown = set(p) - allowed
        if unknown:
            raise BadRequest(f"unknown parameter {sorted(unknown)[0]!r}; the live check takes: {', '.join(sorted(allowed))}")
        available = self.live.methods()
        pair = p.get("pair") == "yes"
        methods = p.getlist("methods") or [m for m in LIVE_METHODS if m in available]
        for m in methods:
            if m not in available:
                raise BadRequest(f"methods: {m!r} is not available here; available: {', '.join(available)}")
        beam_raw = p.get("beam", "1")
        if beam_raw not in {str(b) for b, _ in BEAMS}:
            raise BadRequest(f"beam: one of {', '.join(str(b) for b, _ in BEAMS)}, not {beam_raw!r}")
        keys = []
        for raw in p.getlist("model") or ["0"]:
            if not raw.isdigit() or not int(raw) < len(self.live.models):
                raise BadRequest(f"model: a number from 0 to {len(self.live.models) - 1}, not {raw!r}")
            keys.append(int(raw))
        keys = list(dict.fromkeys(keys))
        form = {
            "text": p.get("text", ""), "premise": p.get("premise", ""), "hypothesis": p.get("hypothesis", ""),
            "edit": p.get("edit", ""), "methods": methods, "beam": int(beam_raw), "models": keys,
        }
        example = make_example(form["text"], form["premise"], form["hypothesis"], pair)
        edited = None
        if example is not None and form["edit"].strip() and " ".join(form["edit"].split()) != " ".join(example.words):
            edited = make_example(form["edit"], form["premise"], form["edit"], pair)
        results = []
        if example is not None:
            if not methods:
                raise BadRequest("pick at least one method")
            for k in keys:
                results.append(self._live_result(k, example, edited, methods, form["beam"]))
        return self.page(
            "live", title="Live check", form=form, pair=pair, methods=available, beams=BEAMS, models=self.live.models,
            results=results,
        )

    def _live_result(self, key: int, example, edited, methods: list[str], beam: int) -> dict[str, Any]:
        lm = self.live.model(key)
        records, seconds, cached = self.live.check(key, example, methods, beam)
        atts = {r["method"]: r for r in records["attributions"]}
        out: dict[str, Any] = {
            "key": key, "name": lm.name, "cached": cached, "seconds": f"checked in {seconds:.2f} s",
            "heatmaps": example_heatmaps(atts, methods), "reduction": None, "card": None, "diff": None,
        }
        out["reduction"], out["card"] = _path_and_card(records)
        if edited is not None:
            after, s2, _ = self.live.check(key, edited, methods, beam)
            after_atts = {r["method"]: r for r in after["attributions"]}
            a0, b0 = Attribution.from_dict(atts[methods[0]]), Attribution.from_dict(after_atts[methods[0]])
            toward = after_atts
            if b0.predicted != a0.target:  # the label flipped: compare the scores toward the same class
                toward_records, s3, _ = self.live.check(key, edited, methods, 0, target=a0.target)
                toward = {r["method"]: r for r in toward_records["attributions"]}
                s2 += s3
            rows, gone = diff_rows(atts, toward, methods)
            out["diff"] = {
                "heatmaps": example_heatmaps(after_atts, methods), "rows": rows, "gone": gone,
                "before": f"{label_name(a0.labels, a0.predicted)} ({max(a0.probs):.3f})",
                "after": f"{label_name(b0.labels, b0.predicted)} ({max(b0.probs):.3f})",
                "toward": label_name(a0.labels, a0.target),
            }
            out["diff"]["reduction"], out["diff"]["card"] = _path_and_card(after)
            out["seconds"] += f" + {s2:.2f} s (edit)"
        return out


def _removed(reduction: Reduction | QAReduction, step: int) -> list[dict[str, str]]:
    """The words removed up to ``step``, each with the confidence after its removal."""
    return [{"word": s.removed, "confidence": f"{reduction.path[i + 1].confidence:.3f}"} for i, s in enumerate(reduction.path[:step])]


def _path_and_card(records: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, Any] | None, Markup | None]:
    """The reduction path view and the trust card of a live check's records (None where absent)."""
    path = reduction_view(Reduction.from_dict(records["reductions"][0])) if records["reductions"] else None
    card = Markup(card_html(TrustCard.from_dict(records["trust"][0]))) if records["trust"] else None
    return path, card


def create_app(runs: Sequence[str | Path] = (), live: Live | None = None, *, allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> Starlette:
    """The ASGI application over ``runs`` (folders) and ``live`` models.

    ``allowed_hosts``: the Host headers answered (a page asked for under another name, as in
    DNS rebinding, is refused); ``("*",)`` answers any.
    """
    state = App(runs, live)

    def wrap(handler):
        def endpoint(request: Request) -> HTMLResponse:
            try:
                return handler(request)
            except BadRequest as err:
                return state.error(err.status, str(err))
            except InputError as err:
                return state.error(400, str(err))
            except Exception:  # one page fails; the server goes on
                log.exception("error in %s", request.url.path)
                return state.error(500, "the page failed; the server log has the details")

        return endpoint

    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        message = {404: f"no page at {request.url.path}", 405: f"{request.method} is not allowed here (the app only reads)"}
        return state.error(exc.status_code, message.get(exc.status_code, str(exc.detail)))

    async def server_error(request: Request, exc: Exception) -> HTMLResponse:
        log.exception("error in %s", request.url.path)
        return state.error(500, "the page failed; the server log has the details")

    routes = [
        Route("/", wrap(state.home)),
        Route("/run/{run:int}", wrap(state.table)),
        Route("/run/{run:int}/example/{index:int}", wrap(state.example)),
        Route("/run/{run:int}/corpus", wrap(state.corpus)),
        Route("/live", wrap(state.live_page)),
    ]
    app = Starlette(
        debug=False, routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error},
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
    )
    app.state.pathologies = state
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.listen(128)
    return sock


def hosts_for(host: str) -> tuple[str, ...]:
    """The Host names answered when listening on ``host``."""
    if host in ("0.0.0.0", "::"):
        return ("*",)
    return tuple(dict.fromkeys((host, "127.0.0.1", "localhost")))


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class Server:
    """uvicorn serving an app on a bound socket, in this thread (:meth:`run`) or another (:meth:`start`)."""

    def __init__(self, app: Starlette, sock: socket.socket):
        import uvicorn

        self.sock = sock
        self.url = address(sock)
        config = uvicorn.Config(
            app, http="h11", log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2,
        )  # h11: the pure-Python parser, whatever else is installed
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> "Server":
        self.thread = threading.Thread(target=self.run, name="pathologies-app", daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.sock.close()
