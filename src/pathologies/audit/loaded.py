"""A run read back from its folder: records, summary and provenance, for every view.

Loading a run needs no model and no torch: the records are plain JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..corpus import decisive_words, to_frame, word_importance
from ..metrics.aggregate import aggregate
from ..qa.records import QAAttribution, QAReduction, summarize_qa
from ..records import Attribution, Displayable, Reduction, TrustCard, summarize
from ..text import InputError
from .folder import KINDS, QA_KINDS, RunFolder, task_of
from .manifest import now


def summarize_run(records: dict[str, list[dict[str, Any]]], manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's tables from its records alone: methods × metrics, and the reduction summary."""
    table: dict[str, dict[str, float]] = {}
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in records.get("metrics", []):
        by_method.setdefault(r["method"], []).append(r)
    for m in manifest["spec"]["methods"]:
        if by_method.get(m):
            table[m] = aggregate(by_method[m])
    out: dict[str, Any] = {
        "examples": manifest["data"]["examples"],
        "finished": now(),
        "methods": table,
    }
    reds = records.get("reductions", [])
    if reds:
        red = summarize(reds)
        creds = [r["final_credibility"] for r in reds if r.get("final_credibility") is not None]
        if creds:
            red["mean_credibility_reduced"] = sum(creds) / len(creds)
            originals = [r["credibility"] for r in records.get("metrics", []) if r.get("credibility") is not None]
            if originals:
                red["mean_credibility_original"] = sum(originals) / len(originals)
        red["method"] = manifest["spec"]["reduce"]
        out["reduction"] = red
    cards = records.get("trust", [])
    if cards:
        verdicts: dict[str, int] = {}
        for c in cards:
            verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
        out["trust"] = {"examples": len(cards), "verdicts": verdicts, "mean_score": sum(c["score"] for c in cards) / len(cards)}
    return out


def corpus_tables(records: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Corpus-level tables from a run's records: word importance per method (each record's
    scores scaled by its largest |score|, so sentences weigh alike) and the decisive words
    (the final words of the reductions)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in records.get("attributions", []):
        by_method.setdefault(r["method"], []).append(r)
    rows = []
    for method, atts in by_method.items():
        rows += [{**row, "method": method} for row in word_importance(atts, normalize="max")]
    if rows:
        tables["word_importance"] = rows
    if records.get("reductions"):
        tables["decisive_words"] = decisive_words(records["reductions"])
    return tables


def of_method(rows: list[dict[str, Any]], method: str | None, methods: list[str]) -> list[dict[str, Any]]:
    """The attribution records of one method (all for None); a method the run lacks is an error."""
    if method is None:
        return rows
    if method not in methods:
        raise InputError(f"no method {method!r} in this run; it has: {', '.join(methods) or 'none'}")
    return [r for r in rows if r["method"] == method]


#: The corpus-level tables a finished run stores beside its records.
CORPUS_TABLES = ("word_importance", "decisive_words")


class Run(Displayable):
    """A run's manifest, records and summary; loaded from a folder without any model.

    ``attributions()``, ``reductions()`` give records as objects; ``frame(kind)`` as a
    pandas DataFrame; ``table`` is the methods × metrics summary. ``Run.load`` of a
    question-answering run folder gives a :class:`QARun` (``run.task == "qa"``).
    """

    #: What the records are about: a classifier's labels (``"qa"``: :class:`QARun`).
    task = "classify"

    def __init__(self, manifest: dict[str, Any], records: dict[str, list[dict[str, Any]]], summary: dict[str, Any] | None, path: Path | None = None):
        self.manifest = manifest
        self.records = records
        self.summary = summary or summarize_run(records, manifest)
        self.path = path
        self._corpus: dict[str, list[dict[str, Any]]] = {}

    def corpus(self, name: str) -> list[dict[str, Any]]:
        """A corpus table (``word_importance``, ``decisive_words``) as the run stored it when it
        finished; for an unfinished run, as it would store it from the records so far."""
        if name not in CORPUS_TABLES:
            raise InputError(f"unknown corpus table {name!r}; tables: {', '.join(CORPUS_TABLES)}")
        if name not in self._corpus:
            stored = RunFolder(self.path).read_table(name) if self.path is not None and self.complete else None
            self._corpus[name] = stored if stored is not None else corpus_tables(self.records).get(name, [])
        return self._corpus[name]

    @classmethod
    def load(cls, path: str | Path) -> "Run":
        """Read a run folder (finished or not; an unfinished run is summarized from its records)."""
        folder = RunFolder(path)
        manifest = folder.manifest()
        if task_of(manifest) == "qa":
            return QARun.load(path)  # type: ignore[return-value]
        records = {k: sorted(folder.read(k), key=lambda r: r.get("index", 0)) for k in KINDS}
        return cls(manifest, records, folder.summary(), Path(path))

    @property
    def name(self) -> str:
        return self.path.name if self.path else "run"

    @property
    def methods(self) -> list[str]:
        return list(self.manifest["spec"]["methods"])

    @property
    def table(self) -> dict[str, dict[str, float]]:
        return self.summary.get("methods", {})

    @property
    def complete(self) -> bool:
        done = {r["index"] for r in self.records["attributions"]} | {r["index"] for r in self.records["reductions"]}
        return len(done) >= self.manifest["data"]["examples"]

    def attributions(self, method: str | None = None) -> list[Attribution]:
        return [Attribution.from_dict(r) for r in of_method(self.records["attributions"], method, self.methods)]

    def reductions(self) -> list[Reduction]:
        return [Reduction.from_dict(r) for r in self.records["reductions"]]

    def trust_cards(self) -> list[TrustCard]:
        """The run's trust cards (``AuditSpec(trust=True)``), as ``TrustCard`` objects."""
        return [TrustCard.from_dict(r) for r in self.records["trust"]]

    def word_importance(self, method: str | None = None, min_count: int = 1):
        """Corpus-level word importance (per word type and predicted class) as a DataFrame."""
        method = method or (self.methods[0] if self.methods else None)
        rows = [r for r in self.records["attributions"] if r["method"] == method]
        return to_frame(word_importance(rows, normalize="max", min_count=min_count))

    def decisive_words(self, max_length: int | None = None):
        """The final words of the run's reductions, per class, with the random baseline, as a DataFrame."""
        return to_frame(decisive_words(self.records["reductions"], max_length=max_length))

    def metric_records(self, method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records["metrics"] if method is None or r["method"] == method]

    def frame(self, kind: str = "metrics"):
        """Records of one kind (attributions, metrics, reductions, curves, projections) as a DataFrame."""
        import pandas as pd

        if kind not in KINDS:
            raise InputError(f"unknown record kind {kind!r}; kinds: {', '.join(KINDS)}")
        return pd.DataFrame(self.records[kind])

    def table_frame(self):
        """The methods × metrics summary as a DataFrame (metrics as rows)."""
        import pandas as pd

        return pd.DataFrame(self.table)

    def __repr__(self) -> str:
        return f"Run({self.path or 'in memory'}: {self.manifest['data']['examples']} examples, methods {', '.join(self.methods)})"


def summarize_qa_run(records: dict[str, list[dict[str, Any]]], manifest: dict[str, Any]) -> dict[str, Any]:
    """A QA run's summary from its records alone: SQuAD exact match and F1 of the predicted
    answers (over the questions with gold answers, as each record stored them), the mean span
    probability, each method's target, and the reduction summary (:func:`summarize_qa`)."""
    first: dict[int, dict[str, Any]] = {}
    for r in records.get("qa_reductions", []) + records.get("qa_attributions", []):
        first.setdefault(r["index"], r)
    scored = [r for r in first.values() if r.get("exact_match") is not None]
    out: dict[str, Any] = {
        "task": "qa",
        "examples": manifest["data"]["examples"],
        "finished": now(),
        "questions": len(first),
        "questions_with_gold": len(scored),
        "exact_match": sum(r["exact_match"] for r in scored) / len(scored) if scored else None,
        "f1": sum(r["f1"] for r in scored) / len(scored) if scored else None,
        "mean_span_probability": (
            sum(r.get("probability", r.get("original_confidence", 0.0)) for r in first.values()) / len(first) if first else None
        ),
        "targets": {r["method"]: r["target"] for r in records.get("qa_attributions", [])},
    }
    reds = records.get("qa_reductions", [])
    if reds:
        out["reduction"] = {**summarize_qa(reds), "method": manifest["spec"].get("reduce")}
    return out


class QARun(Displayable):
    """A question-answering run (``pathologies qa explain|reduce --out RUN``), read from its
    folder without any model: ``attributions()`` and ``reductions()`` as ``QAAttribution`` /
    ``QAReduction`` records, ``summary`` (exact match, F1, the reduction summary),
    ``frame(kind)`` as a DataFrame. Each stored record line also has its ``index`` and the
    answer's ``exact_match`` / ``f1``.
    """

    task = "qa"

    def __init__(self, manifest: dict[str, Any], records: dict[str, list[dict[str, Any]]], summary: dict[str, Any] | None, path: Path | None = None):
        self.manifest = manifest
        self.records = {k: records.get(k, []) for k in QA_KINDS}
        self.summary = summary or summarize_qa_run(self.records, manifest)
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> "QARun":
        folder = RunFolder(path, QA_KINDS)
        manifest = folder.manifest()
        if task_of(manifest) != "qa":
            raise InputError(f"{path} holds a classifier run, not a QA run; open it with Run.load")
        records = {k: sorted(folder.read(k), key=lambda r: r["index"]) for k in QA_KINDS}
        return cls(manifest, records, folder.summary(), Path(path))

    @property
    def name(self) -> str:
        return self.path.name if self.path else "qa run"

    @property
    def methods(self) -> list[str]:
        """The methods of the run's heatmaps (an explain run's methods; none for a reduce run,
        whose paths carry the heatmaps of ``manifest["spec"]["reduce_by"]``)."""
        return list(self.manifest["spec"]["methods"])

    @property
    def complete(self) -> bool:
        done = {r["index"] for k in QA_KINDS for r in self.records[k]}
        return len(done) >= self.manifest["data"]["examples"]

    def attributions(self, method: str | None = None) -> list[QAAttribution]:
        return [QAAttribution.from_dict(r) for r in of_method(self.records["qa_attributions"], method, self.methods)]

    def reductions(self) -> list[QAReduction]:
        return [QAReduction.from_dict(r) for r in self.records["qa_reductions"]]

    def frame(self, kind: str = "qa_reductions"):
        """Records of one kind (qa_attributions, qa_reductions) as a DataFrame."""
        import pandas as pd

        if kind not in QA_KINDS:
            raise InputError(f"unknown record kind {kind!r}; a QA run has: {', '.join(QA_KINDS)}")
        return pd.DataFrame(self.records[kind])

    def __repr__(self) -> str:
        spec = self.manifest["spec"]
        what = ", ".join(self.methods) if spec["kind"] == "explain" else f"{spec['reduce']} reduction by {spec['reduce_by']}"
        return f"QARun({self.path or 'in memory'}: {self.manifest['data']['examples']} questions, {what})"
