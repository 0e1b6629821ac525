"""Question-answering runs: explain or reduce the questions of a SQuAD-format data set into a
run folder of the same kind as a classifier audit's.

The folder is a :class:`~pathologies.audit.folder.RunFolder` with ``"task": "qa"`` in its
manifest (format 1, the same provenance entries: model source and content hash with the
window settings, data spec and content hash, the spec, environment, sessions)::

    RUN/manifest.json                  provenance; a rerun resumes, another model, data or spec is refused
    RUN/commits.jsonl                  one line per finished chunk (a chunk cut by a kill is dropped)
    RUN/records/qa_attributions.jsonl  one QAAttribution a line per method (explain), with its index
    RUN/records/qa_reductions.jsonl    one QAReduction a line (reduce), with its index
    RUN/records/*.parquet              the same records, columnar (when the run finishes)
    RUN/summary.json                   exact match / F1, span probability, the reduction summary

Every record line also carries the predicted answer's ``exact_match`` and ``f1`` against the
question's gold answers (None for a question without any, such as one given on the command
line), so the views filter and sort on them without computing. ``Run.load`` reads the folder
back as a :class:`~pathologies.audit.loaded.QARun`; ``pathologies report`` and ``pathologies
serve`` render it. Questions are computed ``chunk`` at a time, each chunk with a fresh engine,
so a run stopped between chunks resumes into the records of an uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..data.squad import QAItem, exact_match, f1_score
from ..models.qa import QAModel
from ..progress import progress_bar
from ..qa.engine import QAEngine
from ..qa.explain import as_items, explain_qa, qa_method
from ..qa.reduction import QAReducer
from ..text import InputError
from .folder import QA_KINDS, RunFolder
from .loaded import QARun, summarize_qa_run
from .manifest import FORMAT_VERSION, data_identity, environment, executor_identity, model_identity, now

KINDS = ("explain", "reduce")


def qa_model_identity(model: QAModel, source: str | None) -> dict[str, Any]:
    """The model's family, source and content hash (as a classifier's), with the window
    settings that change its predictions."""
    return {
        **model_identity(source, model), "max_length": model.max_length, "stride": model.stride,
        "max_answer_words": model.max_answer_words, "null_answer": model.null_answer,
    }


def qa_spec(kind: str, methods: Sequence[str], *, beam: int = 1, k: int = 5, seed: int = 0, chunk: int = 32) -> dict[str, Any]:
    """What a QA run computes: ``explain`` (an attribution per method) or ``reduce`` (the first
    method ranks the words; ``beam``, ``k``, the baseline's ``seed``)."""
    if kind not in KINDS:
        raise InputError(f"kind must be explain or reduce, not {kind!r}")
    methods = list(methods)
    if not methods:
        raise InputError("give at least one method")
    for m in methods:
        qa_method(m)
    if chunk < 1:
        raise InputError("chunk must be at least 1")
    if kind == "explain":
        return {"kind": kind, "methods": methods, "chunk": chunk}
    if beam < 1 or k < 1:
        raise InputError("beam and k must be at least 1")
    return {
        "kind": kind, "methods": [], "reduce": "greedy" if beam == 1 else f"beam:{beam}", "reduce_by": methods[0],
        "beam": beam, "k": 1 if beam == 1 else k, "seed": seed, "chunk": chunk,
    }


def build_qa_manifest(model: QAModel, items: Sequence[QAItem], spec: dict[str, Any], *, model_source: str | None,
                      data_spec: str | None) -> dict[str, Any]:
    ran_on = executor_identity(None)
    return {
        "format": FORMAT_VERSION,
        "task": "qa",
        "model": qa_model_identity(model, model_source),
        "data": data_identity(data_spec, items),
        "spec": spec,
        "environment": environment(str(model.device)),
        "created": now(),
        "executor": ran_on,
        "sessions": [{"started": now(), "executor": ran_on}],
    }


def answer_scores(answer: str, gold: Sequence[str], is_impossible: bool) -> dict[str, float | None]:
    """SQuAD exact match and F1 of a predicted answer; None where the question has no gold
    answer and is not marked unanswerable (nothing to compare with)."""
    if not gold and not is_impossible:
        return {"exact_match": None, "f1": None}
    return {"exact_match": exact_match(answer, gold), "f1": f1_score(answer, gold)}


def _row(index: int, record: Any) -> dict[str, Any]:
    return {"index": index, **record.to_dict(), **answer_scores(record.answer, record.gold, record.is_impossible)}


def qa_chunk(model: QAModel, items: Sequence[QAItem], positions: Sequence[int], spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The records of one chunk of questions (a fresh engine: records never depend on where a
    run stopped)."""
    engine = QAEngine(model)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in QA_KINDS}
    for m in spec["methods"]:
        out["qa_attributions"] += [_row(p, r) for p, r in zip(positions, explain_qa(model, items, m, engine=engine))]
    if spec["kind"] == "reduce":
        reducer = QAReducer(model, importance=spec["reduce_by"], beam=spec["beam"], k=spec["k"], engine=engine,
                            random_seed=spec["seed"])
        out["qa_reductions"] += [_row(p, r) for p, r in zip(positions, reducer.reduce(items))]
    return out


def run_qa(
    model: QAModel,
    data: Any,
    out: str | Path,
    *,
    kind: str = "explain",
    method: str | Sequence[str] = "gradient",
    beam: int = 1,
    k: int = 5,
    chunk: int = 32,
    model_source: str | None = None,
    data_spec: str | None = None,
    show_progress: bool = False,
    seed: int = 0,
) -> QARun:
    """Explain (``kind="explain"``, one ``method`` or several) or reduce (``kind="reduce"``,
    importance ``method``, ``beam``, ``k``) every question of ``data`` into the run folder
    ``out``; returns the run as ``Run.load`` reads it."""
    methods = [method] if isinstance(method, str) else list(method)
    spec = qa_spec(kind, methods, beam=beam, k=k, seed=seed, chunk=chunk)
    items = as_items(data)
    manifest = build_qa_manifest(model, items, spec, model_source=model_source, data_spec=data_spec)
    folder = RunFolder(out, QA_KINDS)
    done = folder.start(manifest)
    chunks = [(c, list(range(s, min(s + chunk, len(items))))) for c, s in enumerate(range(0, len(items), chunk))]
    pending = [(c, pos) for c, pos in chunks if c not in done]
    if pending and done:  # a resume that computes: say when
        folder.add_session(manifest["sessions"][0])
    with progress_bar(f"qa {kind}", sum(len(p) for _, p in pending), show_progress) as advance:
        for c, pos in pending:
            folder.commit(c, qa_chunk(model, [items[i] for i in pos], pos, spec))
            advance(len(pos))
    records = {k: sorted(folder.read(k), key=lambda r: r["index"]) for k in QA_KINDS}
    folder.finish(summarize_qa_run(records, manifest))
    return QARun(folder.manifest(), records, folder.summary(), Path(out))
